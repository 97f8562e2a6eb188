package synth

import (
	"math"
	"path/filepath"
	"slices"
	"strconv"
	"testing"

	"github.com/vindex/vindex/schema"
)

func tiny() Config {
	c := Small()
	c.Works, c.Versions, c.Noise = 6, 3, 4
	c.MeanDurationS, c.SDDurationS, c.MinDurationS, c.MaxDurationS = 32, 1, 30, 34
	c.SongsPerFile, c.RowGroupRows = 8, 3
	return c
}

func TestDeterministic(t *testing.T) {
	c := Small()
	for _, i := range []int{0, 5, c.Total() - 1} {
		a, b := Song(c, i), Song(c, i)
		if !slices.Equal(a.Crema, b.Crema) || a.SongID != b.SongID || a.WorkID != b.WorkID {
			t.Fatalf("song %d differs between two calls", i)
		}
		if err := schema.ValidateSong(&a); err != nil {
			t.Fatalf("song %d: %v", i, err)
		}
	}
	d := c
	d.Seed++
	if slices.Equal(Song(c, 3).Crema, Song(d, 3).Crema) {
		t.Fatal("seeds 1 and 2 give the same song 3")
	}
	// Generate in parallel and compare with Song, row by row.
	tc := tiny()
	dir := t.TempDir()
	sum, err := Generate(tc, dir)
	if err != nil {
		t.Fatal(err)
	}
	got := readAll(t, dir)
	if len(got) != tc.Total() || sum.Songs != tc.Total() {
		t.Fatalf("%d songs read, summary %d, want %d", len(got), sum.Songs, tc.Total())
	}
	for i, s := range got {
		want := Song(tc, i)
		if s.SongID != want.SongID || s.WorkID != want.WorkID || !slices.Equal(s.Crema, want.Crema) ||
			s.Extra[ExtraTranspose] != want.Extra[ExtraTranspose] || s.Hop != schema.ModelHop {
			t.Fatalf("row %d (%s) differs from Song(cfg, %d)", i, s.SongID, i)
		}
	}
}

func readAll(t *testing.T, dir string) []schema.Song {
	t.Helper()
	songs, err := schema.ReadSongsFiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	return songs
}

// TestFilesAndRowGroups checks that Generate streams: several files, each of
// several row groups of RowGroupRows songs, listed by the manifest.
func TestFilesAndRowGroups(t *testing.T) {
	c := tiny() // 22 songs, 8 per file, 3 per row group
	dir := t.TempDir()
	sum, err := Generate(c, dir)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Files != 3 || len(sum.Manifest.Files) != 3 || sum.Manifest.Rows != 22 {
		t.Fatalf("summary %+v: want 3 files, 22 rows", sum)
	}
	wantRows := []int64{8, 8, 6}
	for k, mf := range sum.Manifest.Files {
		f, err := schema.Open(filepath.Join(dir, mf.Name))
		if err != nil {
			t.Fatal(err)
		}
		if f.NumRows() != wantRows[k] || f.NumRowGroups() != int((wantRows[k]+2)/3) {
			t.Errorf("%s: %d rows in %d row groups, want %d rows in groups of 3", mf.Name, f.NumRows(), f.NumRowGroups(), wantRows[k])
		}
		if f.SchemaVersion() != schema.SongSchemaVersion {
			t.Errorf("%s: schema %q", mf.Name, f.SchemaVersion())
		}
		f.Close()
	}
	// A second run into the same folder is refused.
	if _, err := Generate(c, dir); err == nil {
		t.Fatal("Generate into a complete dataset succeeded")
	}
}

func TestDurations(t *testing.T) {
	c := Default()
	var sum, sq float64
	mn := math.Inf(1)
	n := 0
	for i := 0; i < c.Total(); i += 37 { // 406 songs spread over works and noise
		s := Song(c, i)
		d := float64(s.DurationS)
		sum += d
		sq += d * d
		mn = min(mn, d)
		n++
		if s.Frames() < 320 {
			t.Fatalf("song %d has %d frames (< 320)", i, s.Frames())
		}
	}
	mean := sum / float64(n)
	sd := math.Sqrt(sq/float64(n) - mean*mean)
	if math.Abs(mean-218) > 15 || math.Abs(sd-69) > 12 || mn < 30 {
		t.Errorf("durations mean %.1f sd %.1f min %.1f, want ≈218 ± 69, min ≥ 30", mean, sd, mn)
	}
}

func profile(s schema.Song) [12]float64 {
	var p [12]float64
	for f := 0; f < len(s.Crema); f += 12 {
		for k := range 12 {
			p[k] += float64(s.Crema[f+k])
		}
	}
	return p
}

// TestRollDetection recovers each version's transposition from the mean
// chroma of the version and of the original (best circular correlation).
func TestRollDetection(t *testing.T) {
	c := Small()
	c.Works, c.Versions, c.Noise = 15, 5, 0
	hits, total := 0, 0
	for w := range c.Works {
		orig := profile(Song(c, w*c.Versions))
		for v := 1; v < c.Versions; v++ {
			s, tr := SongTransform(c, w*c.Versions+v)
			if s.Extra[ExtraTranspose] != strconv.Itoa(tr.Transpose) {
				t.Fatalf("Extra %q vs Transform %d", s.Extra[ExtraTranspose], tr.Transpose)
			}
			p := profile(s)
			best, bestS := math.Inf(-1), -1
			for sh := range 12 {
				dot := 0.0
				for k := range 12 {
					dot += p[(k+sh)%12] * orig[k]
				}
				if dot > best {
					best, bestS = dot, sh
				}
			}
			total++
			if bestS == tr.Transpose {
				hits++
			}
		}
	}
	if hits < total*9/10 {
		t.Errorf("transposition recovered for %d of %d versions, want ≥ 90%%", hits, total)
	}
}

func TestTransforms(t *testing.T) {
	x := make([]float32, 12*10)
	for f := range 10 {
		x[12*f+f%12] = float32(f + 1)
	}
	// Roll: pitch class p moves to p+s.
	y := slices.Clone(x)
	Roll(y, 5)
	for f := range 10 {
		if y[12*f+(f+5)%12] != float32(f+1) {
			t.Fatalf("Roll: frame %d", f)
		}
	}
	Roll(y, 7)
	if !slices.Equal(x, y) {
		t.Fatal("Roll by 5 then 7 is not the identity")
	}
	// Resample: faster (2×) keeps every other frame; slower (0.5×) doubles.
	fast := Resample(x, 2)
	if len(fast) != 12*5 || fast[12*1+2] != 3 {
		t.Fatalf("Resample(2): %d frames", len(fast)/12)
	}
	slow := Resample(x, 0.5)
	if len(slow) != 12*20 || slow[12*3+1] != 2 {
		t.Fatalf("Resample(0.5): %d frames", len(slow)/12)
	}
	// Tempo of generated versions is within 0.7–1.4 and shows in the length.
	c := Small()
	for i := range 40 {
		_, tr := SongTransform(c, i)
		if tr.Tempo < 0.7 || tr.Tempo > 1.4 {
			t.Fatalf("song %d: tempo %v", i, tr.Tempo)
		}
	}
}

// TestHop512 checks that the hop-512 variant decimates ([::8]) to the
// hop-4096 song exactly.
func TestHop512(t *testing.T) {
	c := Small()
	c512 := c
	c512.Hop = DaTacosHop
	for _, i := range []int{0, 7, 121} {
		a, b := Song(c, i), Song(c512, i)
		if b.Hop != 512 || b.Frames() != 8*a.Frames() {
			t.Fatalf("song %d: hop %d, %d frames vs %d", i, b.Hop, b.Frames(), a.Frames())
		}
		var dec []float32
		for f := 0; f < b.Frames(); f += 8 {
			dec = append(dec, b.Crema[12*f:12*f+12]...)
		}
		if !slices.Equal(dec, a.Crema) {
			t.Fatalf("song %d: [::8] of the hop-512 song differs from the hop-4096 song", i)
		}
		if math.Abs(float64(a.DurationS-b.DurationS)) > 1e-3 {
			t.Fatalf("durations %v vs %v", a.DurationS, b.DurationS)
		}
	}
}

// cooc is a transposition-normalised chord-transition statistic: the 12×12
// co-occurrence of chroma at lag 8 frames (≈0.75 s).
func cooc(s schema.Song) []float64 {
	const lag = 8
	m := make([]float64, 144)
	x := s.Crema
	for f := 0; f+12*lag+12 <= len(x); f += 12 {
		for a := range 12 {
			if x[f+a] < 0.3 {
				continue
			}
			for b := range 12 {
				m[12*a+b] += float64(x[f+a] * x[f+12*lag+b])
			}
		}
	}
	return m
}

func simRolled(a, b []float64) float64 {
	best := math.Inf(-1)
	for s := range 12 {
		var dot, na, nb float64
		for i := range 12 {
			for j := range 12 {
				u := a[12*i+j]
				v := b[12*((i+s)%12)+(j+s)%12]
				dot += u * v
				na += u * u
				nb += v * v
			}
		}
		best = max(best, dot/math.Sqrt(na*nb))
	}
	return best
}

// TestVersionsCloser: with a transposition-invariant statistic (no network),
// the nearest other song of a version is usually a version of the same work.
func TestVersionsCloser(t *testing.T) {
	c := Small()
	c.Works, c.Versions, c.Noise = 12, 4, 12
	n := c.Total()
	feats := make([][]float64, n)
	for i := range n {
		feats[i] = cooc(Song(c, i))
	}
	hits, queries := 0, 0
	for i := range c.Works * c.Versions {
		best, bi := math.Inf(-1), -1
		for j := range n {
			if j == i {
				continue
			}
			if s := simRolled(feats[i], feats[j]); s > best {
				best, bi = s, j
			}
		}
		queries++
		if bi < c.Works*c.Versions && bi/c.Versions == i/c.Versions {
			hits++
		}
	}
	// Chance is 3/59 ≈ 5%.
	t.Logf("top-1 same work: %d of %d", hits, queries)
	if hits < queries/2 {
		t.Errorf("nearest neighbour is a version of the same work for %d of %d queries, want ≥ 50%%", hits, queries)
	}
}

func TestValidate(t *testing.T) {
	for _, c := range []Config{
		{},
		func() Config { c := Small(); c.MinDurationS = 20; return c }(),
		func() Config { c := Small(); c.Hop = 1024; return c }(),
		func() Config { c := Small(); c.Versions = 0; return c }(),
	} {
		if err := c.Validate(); err == nil {
			t.Errorf("Validate(%+v) = nil", c)
		}
	}
	if err := Default().Validate(); err != nil {
		t.Error(err)
	}
	if _, err := Generate(Config{}, filepath.Join(t.TempDir(), "x")); err == nil {
		t.Error("Generate accepted the zero Config")
	}
}

func BenchmarkSong(b *testing.B) {
	c := Default()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		Song(c, i%c.Total())
		i += 97
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "songs/s")
}
