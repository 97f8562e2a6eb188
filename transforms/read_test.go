package transforms

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/passert"

	"github.com/vindex/vindex/runners"
	"github.com/vindex/vindex/schema"
)

func init() {
	register.Function1x1(songPlace)
	register.Function1x1(rejectReason)
	register.Function1x1(namesLostRows)
	register.Function1x1(saysUnknown)
}

// namesLostRows: a reject of bad.parquet's first row group names its rows.
func namesLostRows(r string) bool {
	return strings.Contains(r, "bad.parquet: row group 0: rows ") && strings.Contains(r, " songs) unreadable")
}

func saysUnknown(r string) bool {
	return strings.Contains(r, "c.parquet: number of songs lost unknown")
}

// songPlace is "song_id@row".
func songPlace(s schema.Song) string { return fmt.Sprintf("%s@%d", s.SongID, s.Row) }

func rejectReason(r schema.Reject) string { return r.Reason }

func TestCutRowGroup(t *testing.T) {
	for _, c := range []struct {
		n, bytes, maxRows, maxBytes int64
		parts                       int
	}{
		{300, 0, 16, 0, 19},               // no size in the footer: by rows
		{300, 300 << 20, 16, 4 << 20, 75}, // 1 MiB songs: 4 a range
		{5, 1 << 40, 16, 1, 5},            // huge rows: one a range, never none
		{16, 1 << 10, 16, 4 << 20, 1},
		{0, 0, 16, 0, 0},
	} {
		got := cutRowGroup(c.n, c.bytes, c.maxRows, c.maxBytes)
		if len(got) != c.parts {
			t.Errorf("cutRowGroup(%d, %d, %d, %d): %d ranges, want %d", c.n, c.bytes, c.maxRows, c.maxBytes, len(got), c.parts)
			continue
		}
		next := int64(0)
		for _, r := range got {
			if r[0] != next || r[1] <= r[0] || r[1]-r[0] > c.maxRows {
				t.Errorf("cutRowGroup(%d, …): bad range %v after %d", c.n, r, next)
			}
			next = r[1]
		}
		if next != c.n {
			t.Errorf("cutRowGroup(%d, …) covers %d rows", c.n, next)
		}
	}
}

// TestReadSongsOneRowGroup reads a file written as one row group (as DuckDB
// and pyarrow write them) in ranges: every song exactly once, with its row.
func TestReadSongsOneRowGroup(t *testing.T) {
	dir := t.TempDir()
	songs := makeSongs("s", 20, 5)
	if err := schema.WriteSongsFile(filepath.Join(dir, "one.parquet"), songs, schema.WriterOptions{RowGroupRows: 1000}); err != nil {
		t.Fatal(err)
	}
	var want []any
	for i, s := range songs {
		want = append(want, fmt.Sprintf("%s@%d", s.SongID, i))
	}
	p, s := beam.NewPipelineWithRoot()
	got, rejects := ReadSongsWith(s, dir, ReadOptions{MaxRows: 3})
	passert.Equals(s, beam.ParDo(s, songPlace, got), want...)
	passert.Empty(s, rejects)
	res, err := runners.Run(context.Background(), p, runners.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if n := res.Counter("vindex.read.ranges"); n != 7 {
		t.Errorf("ranges = %d, want 7 (20 rows in ranges of at most 3)", n)
	}
	if n := res.Counter("vindex." + SongsRead); n != 20 {
		t.Errorf("songs read = %d, want 20", n)
	}
}

// TestReadSongsCorruptRowGroup: a row group whose pages are garbage counts
// every song it held, and each reject names the file and its rows.
func TestReadSongsCorruptRowGroup(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "bad.parquet")
	if err := schema.WriteSongsFile(path, makeSongs("s", 20, 5), schema.WriterOptions{RowGroupRows: 10}); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for i := 4; i < 64; i++ { // the first column chunk's page header, after "PAR1"
		b[i] = 0xff
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	p, s := beam.NewPipelineWithRoot()
	_, rejects := ReadSongsWith(s, dir, ReadOptions{MaxRows: 4})
	reasons := beam.ParDo(s, rejectReason, rejects)
	passert.True(s, reasons, namesLostRows)
	res, err := runners.Run(context.Background(), p, runners.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if n := res.Counter("vindex." + SongsRejected); n != 10 {
		t.Errorf("songs rejected = %d, want 10 (the corrupt row group's songs)", n)
	}
	if n := res.Counter("vindex." + SongsRead); n != 20 {
		t.Errorf("songs read = %d, want 20 (lost songs count as read and rejected, so progress reaches the total)", n)
	}
}

// TestReadSongsUnreadableFile: a file without footer or manifest says that
// its number of songs is unknown.
func TestReadSongsUnreadableFile(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "c.parquet"), []byte("not parquet at all"), 0o644); err != nil {
		t.Fatal(err)
	}
	p, s := beam.NewPipelineWithRoot()
	_, rejects := ReadSongs(s, dir)
	passert.True(s, beam.ParDo(s, rejectReason, rejects), saysUnknown)
	passert.Count(s, rejects, "rejects", 1)
	if _, err := runners.Run(context.Background(), p, runners.Options{}); err != nil {
		t.Fatal(err)
	}
}

// BenchmarkReadRanges measures what cutting a row group into ranges costs
// the reader: 300 songs of 2,281 frames (Da-TACOS's mean) in one row group,
// read as ranges of 16, 32, 64 and 300 songs, each range through its own
// SongRange as readSongsFn reads it (reported as process CPU time: cpu-s/op
// for the whole pass, cpu-µs/song). It is why DefaultRangeSongs is 64.
func BenchmarkReadRanges(b *testing.B) {
	const n, frames = 300, 2281
	path := filepath.Join(b.TempDir(), "one.parquet")
	songs := makeSongs("s", 1, frames)
	all := make([]schema.Song, n)
	for i := range all {
		all[i] = songs[0]
		all[i].SongID = fmt.Sprint("s", i)
	}
	if err := schema.WriteSongsFile(path, all, schema.WriterOptions{RowGroupRows: n}); err != nil {
		b.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		b.Fatal(err)
	}
	pf, err := schema.OpenFile(path, f, st.Size())
	if err != nil {
		b.Fatal(err)
	}
	for _, per := range []int64{16, 32, 64, n} {
		b.Run(fmt.Sprintf("range=%d", per), func(b *testing.B) {
			b.ReportAllocs()
			cpu0 := cpuSeconds()
			for b.Loop() {
				k := 0
				for lo := int64(0); lo < n; lo += per {
					for _, err := range pf.SongRange(0, lo, min(lo+per, n)) {
						if err != nil {
							b.Fatal(err)
						}
						k++
					}
				}
				if k != n {
					b.Fatalf("read %d songs, want %d", k, n)
				}
			}
			b.ReportMetric((cpuSeconds()-cpu0)/float64(b.N), "cpu-s/op")
			b.ReportMetric((cpuSeconds()-cpu0)/float64(b.N)/n*1e6, "cpu-µs/song")
		})
	}
}
