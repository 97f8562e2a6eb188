package synth

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"strconv"
	"strings"
	"sync"

	"github.com/vindex/vindex/importer"
	"github.com/vindex/vindex/schema"
)

// FrameRate is the number of frames per second at the model's hop (44100/4096).
const FrameRate = 44100.0 / schema.ModelHop

// DaTacosHop is the hop at which Da-TACOS stores cremaPCP: 8 frames per model frame.
const DaTacosHop = 512

// Config describes a synthetic catalog. The zero value is not usable: start
// from Default (Da-TACOS-shaped) or Small (a quick demo catalog).
type Config struct {
	Works    int    // works with Versions versions each
	Versions int    // versions per work (the first is the "original")
	Noise    int    // single-version works (distractors), after the works
	Seed     uint64 // every value follows from it

	MeanDurationS float64 // mean of the works' durations (normal, truncated)
	SDDurationS   float64 // standard deviation of the works' durations
	MinDurationS  float64 // no song is shorter (the network needs ≥ 29.7 s)
	MaxDurationS  float64 // works' durations are drawn below this

	// Hop is schema.ModelHop (4096, the default when 0) or DaTacosHop (512:
	// every frame repeated 8 times, so [::8] decimation recovers it exactly).
	Hop int

	// NoiseLevel scales the per-version additive noise (1 = default; 0 = none).
	NoiseLevel float64

	SongsPerFile int   // songs per Parquet file (0: importer.DefaultSongsPerFile)
	RowGroupRows int64 // songs per row group (0: the schema default)
}

// Default returns the Da-TACOS benchmark shape: 1,000 works × 13 versions +
// 2,000 noise songs, durations 218 s ± 69 s (none under 30 s), at the model's
// hop, seed 1.
func Default() Config {
	return Config{Works: 1000, Versions: 13, Noise: 2000, Seed: 1,
		MeanDurationS: 218, SDDurationS: 69, MinDurationS: 30, MaxDurationS: 600,
		Hop: schema.ModelHop, NoiseLevel: 1}
}

// Small returns a catalog the demo and tests generate in well under a second:
// 30 works × 4 versions + 20 noise songs of about 40–60 s.
func Small() Config {
	c := Default()
	c.Works, c.Versions, c.Noise = 30, 4, 20
	c.MeanDurationS, c.SDDurationS, c.MinDurationS, c.MaxDurationS = 50, 6, 35, 60
	c.SongsPerFile, c.RowGroupRows = 50, 16
	return c
}

// ErrConfig marks an invalid Config.
var ErrConfig = errors.New("synth: invalid config")

// Validate reports whether c is usable.
func (c Config) Validate() error {
	bad := func(f string, a ...any) error { return fmt.Errorf("%w: %s", ErrConfig, fmt.Sprintf(f, a...)) }
	switch {
	case c.Works < 0 || c.Noise < 0 || c.Works+c.Noise == 0:
		return bad("works %d and noise %d: need at least one song", c.Works, c.Noise)
	case c.Works > 0 && c.Versions < 1:
		return bad("versions %d: need at least 1", c.Versions)
	case c.Works > 1<<24 || c.Versions > 1<<12 || c.Noise > 1<<26:
		return bad("catalog too large (%d works × %d versions + %d noise)", c.Works, c.Versions, c.Noise)
	case c.MinDurationS < 30:
		return bad("min duration %g s is below 30 s (the network needs 320 frames ≈ 29.7 s)", c.MinDurationS)
	case !(c.MeanDurationS >= c.MinDurationS) || !(c.MaxDurationS >= c.MeanDurationS) || c.MaxDurationS > 7200:
		return bad("durations: need min %g ≤ mean %g ≤ max %g ≤ 7200 s", c.MinDurationS, c.MeanDurationS, c.MaxDurationS)
	case !(c.SDDurationS >= 0):
		return bad("duration sd %g", c.SDDurationS)
	case c.Hop != 0 && c.Hop != schema.ModelHop && c.Hop != DaTacosHop:
		return bad("hop %d: want %d or %d", c.Hop, schema.ModelHop, DaTacosHop)
	case !(c.NoiseLevel >= 0) || c.NoiseLevel > 10:
		return bad("noise level %g: want 0..10", c.NoiseLevel)
	case c.SongsPerFile < 0 || c.RowGroupRows < 0:
		return bad("songs per file %d / row group rows %d", c.SongsPerFile, c.RowGroupRows)
	}
	return nil
}

// Total returns the number of songs of the catalog.
func (c Config) Total() int { return c.Works*c.Versions + c.Noise }

// Locate returns the work index and version of song i: songs 0..Works·Versions−1
// are work i/Versions, version i%Versions; the noise songs that follow are
// works Works, Works+1, … with one version each.
func (c Config) Locate(i int) (work, version int) {
	if n := c.Works * c.Versions; i < n {
		return i / c.Versions, i % c.Versions
	} else {
		return c.Works + (i - n), 0
	}
}

// SongID and WorkID are the ids of song i and of work w, shaped like
// Da-TACOS's ("P_…", "W_…").
func SongID(i int) string { return fmt.Sprintf("P_%07d", i) }

// WorkID returns the id of work w.
func WorkID(w int) string { return fmt.Sprintf("W_%06d", w) }

// Transform records how a version differs from its work's original.
type Transform struct {
	Transpose int     // pitch classes rolled up by this many (0–11)
	Tempo     float64 // playback speed factor: frames are resampled by 1/Tempo
	Dropped   int     // sections left out
	Repeated  int     // sections played twice
	Noise     float64 // standard deviation of the additive noise
	Smoothing float64 // coefficient of the exponential smoothing (0: none)
}

// Extra keys of Song.Extra written by Song.
const (
	ExtraTranspose = "synth.transpose"
	ExtraTempo     = "synth.tempo"
	ExtraEdits     = "synth.edits"
)

// --- musical material ---

// chord is a set of pitch classes with weights, relative to its root.
type chord struct {
	root    int
	quality int // index into qualities
}

var qualities = [][]struct {
	pc int
	w  float32
}{
	{{0, 1}, {4, 0.85}, {7, 0.9}},             // major
	{{0, 1}, {3, 0.85}, {7, 0.9}},             // minor
	{{0, 1}, {4, 0.8}, {7, 0.85}, {10, 0.6}},  // dominant 7th
	{{0, 1}, {3, 0.8}, {7, 0.85}, {10, 0.6}},  // minor 7th
	{{0, 1}, {5, 0.8}, {7, 0.9}},              // sus4
	{{0, 1}, {4, 0.8}, {7, 0.85}, {11, 0.55}}, // major 7th
}

// Diatonic degrees (semitones above the key) with their usual quality, major and minor keys.
var (
	majorDegrees = []chord{{0, 0}, {2, 1}, {4, 1}, {5, 0}, {7, 0}, {9, 1}, {7, 2}, {0, 5}, {2, 3}, {5, 5}}
	minorDegrees = []chord{{0, 1}, {3, 0}, {5, 1}, {7, 1}, {8, 0}, {10, 0}, {7, 2}, {0, 3}, {5, 3}, {10, 2}}
)

type event struct {
	c     chord // absolute root
	beats float64
}

// work is the material every version of a work shares.
type work struct {
	sections [][]event
	form     []int // section indices of the original, one cycle of its form
	bpm      float64
	z        float64 // the work's share of its versions' durations (standard normal)
}

func newRand(seed uint64, parts ...uint64) *rand.Rand {
	// Per-object seeds: a splitmix64 chain over the parts, so each song's
	// values depend on (seed, kind, work, version) only.
	h := uint64(0x9e3779b97f4a7c15)
	for _, p := range parts {
		h = splitmix(h ^ p)
	}
	return rand.New(rand.NewPCG(seed, h))
}

func splitmix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

const (
	kindWork    = 1
	kindVersion = 2
)

func (c Config) work(w int) work {
	r := newRand(c.Seed, kindWork, uint64(w))
	key := r.IntN(12)
	degrees := majorDegrees
	if r.IntN(3) == 0 {
		degrees = minorDegrees
	}
	var wk work
	wk.bpm = 70 + 80*r.Float64()
	nsec := 2 + r.IntN(3)
	for range nsec {
		n := 4 + r.IntN(5)
		sec := make([]event, n)
		for j := range sec {
			d := degrees[r.IntN(len(degrees))]
			if j == 0 && r.IntN(2) == 0 {
				d = degrees[0]
			}
			if r.IntN(12) == 0 { // a borrowed, non-diatonic chord
				d = chord{r.IntN(12), r.IntN(2)}
			}
			beats := []float64{2, 4, 4, 4, 8}[r.IntN(5)]
			sec[j] = event{chord{(key + d.root) % 12, d.quality}, beats}
		}
		wk.sections = append(wk.sections, sec)
	}
	// The form is a pattern over the sections; every version cycles through
	// it (with its own edits) until its duration is reached.
	wk.form = make([]int, 3+r.IntN(5))
	for j := range wk.form {
		wk.form[j] = r.IntN(nsec)
	}
	wk.form[0] = 0
	wk.z = r.NormFloat64()
	return wk
}

// Song returns song i (0 ≤ i < cfg.Total()) of the catalog, with its
// transformation recorded in Extra. It depends only on cfg and i, so songs
// can be generated in any order or in parallel. It panics if cfg is invalid
// or i is out of range (programmer errors).
func Song(cfg Config, i int) schema.Song {
	s, _ := song(cfg, i)
	return s
}

// SongTransform returns song i with the Transform that made it from its
// work's original (the zero Transform, with Tempo 1, for originals).
func SongTransform(cfg Config, i int) (schema.Song, Transform) { return song(cfg, i) }

func song(cfg Config, i int) (schema.Song, Transform) {
	if err := cfg.Validate(); err != nil {
		panic(err)
	}
	if i < 0 || i >= cfg.Total() {
		panic(fmt.Sprintf("synth: song %d out of range [0, %d)", i, cfg.Total()))
	}
	w, v := cfg.Locate(i)
	wk := cfg.work(w)
	r := newRand(cfg.Seed, kindVersion, uint64(w), uint64(v))
	tr := Transform{Tempo: 1}
	form := wk.form
	var edits []string
	if v > 0 {
		if r.Float64() < 0.6 {
			tr.Transpose = 1 + r.IntN(11)
		}
		tr.Tempo = math.Exp(math.Log(0.7) + (math.Log(1.4)-math.Log(0.7))*r.Float64())
		form = nil
		for j, s := range wk.form {
			switch u := r.Float64(); {
			case u < 0.12 && len(wk.form) > 2:
				tr.Dropped++
				edits = append(edits, "drop:"+strconv.Itoa(j))
				continue
			case u < 0.24:
				tr.Repeated++
				edits = append(edits, "repeat:"+strconv.Itoa(j))
				form = append(form, s)
			}
			form = append(form, s)
		}
		if len(form) == 0 {
			form = wk.form[:1]
		}
	}
	tr.Noise = cfg.NoiseLevel * (0.04 + 0.1*r.Float64())
	tr.Smoothing = 0.2 + 0.6*r.Float64()

	// Events of this version, with occasional chord substitutions.
	var evs []event
	for _, s := range form {
		for _, e := range wk.sections[s] {
			if v > 0 && r.IntN(10) == 0 {
				e.c.quality = (e.c.quality + 1 + r.IntN(len(qualities)-1)) % len(qualities)
			}
			evs = append(evs, e)
		}
	}
	// Duration: normal with the configured mean and sd, correlated (0.7)
	// between versions of a work, truncated to [min, max].
	dur := cfg.MeanDurationS
	for range 100 {
		d := cfg.MeanDurationS + cfg.SDDurationS*(0.7*wk.z+0.714*r.NormFloat64())
		if d >= cfg.MinDurationS && d <= cfg.MaxDurationS {
			dur = d
			break
		}
	}
	frames := int(math.Ceil(dur * FrameRate))
	// Render at the original's tempo, cycling through the form until the
	// resampled song is long enough, then cut it (a fade-out).
	fpb := FrameRate * 60 / wk.bpm
	base := render(evs, fpb, int(math.Ceil(float64(frames)*tr.Tempo))+1)
	x := Resample(base, tr.Tempo)[:frames*schema.PitchClasses]
	Roll(x, tr.Transpose)
	perturb(x, tr, r)

	if cfg.Hop == DaTacosHop {
		x = Upsample(x, schema.ModelHop/DaTacosHop)
	}
	hop := cfg.Hop
	if hop == 0 {
		hop = schema.ModelHop
	}
	frames = len(x) / schema.PitchClasses
	s := schema.Song{
		SongID:       SongID(i),
		WorkID:       WorkID(w),
		Hop:          int32(hop),
		Crema:        x,
		Title:        fmt.Sprintf("Work %d", w),
		Artist:       fmt.Sprintf("Artist %d", newRand(cfg.Seed, 3, uint64(w), uint64(v)).IntN(5000)),
		Year:         int32(1950 + newRand(cfg.Seed, 4, uint64(w), uint64(v)).IntN(70)),
		Instrumental: []string{"No", "No", "No", "Yes"}[newRand(cfg.Seed, 5, uint64(w), uint64(v)).IntN(4)],
		DurationS:    float32(float64(frames*hop) / 44100),
		Extra: map[string]string{
			ExtraTranspose: strconv.Itoa(tr.Transpose),
			ExtraTempo:     strconv.FormatFloat(tr.Tempo, 'f', 4, 64),
			ExtraEdits:     strings.Join(edits, ","),
		},
	}
	if v > 0 {
		s.Title = fmt.Sprintf("Work %d (version %d)", w, v)
	}
	return s, tr
}

// render turns chord events into frames (frame-major, 12 values each) at
// fpb frames per beat, cycling through evs until at least minFrames frames.
func render(evs []event, fpb float64, minFrames int) []float32 {
	var out []float32
	t := 0.0
	for frames := 0; frames < minFrames; {
		for _, e := range evs {
			end := t + e.beats*fpb
			n := int(math.Round(end)) - int(math.Round(t))
			t = end
			var tmpl [12]float32
			for _, q := range qualities[e.c.quality] {
				tmpl[(e.c.root+q.pc)%12] = q.w
			}
			for range n {
				out = append(out, tmpl[:]...)
			}
			frames += n
		}
	}
	return out
}

// Resample changes the tempo of frames x by factor f (f > 1 is faster: fewer
// frames) with nearest-neighbour interpolation: output frame j is input frame
// floor(j·f). It returns a new slice of round(T/f) frames (at least 1).
func Resample(x []float32, f float64) []float32 {
	if !(f > 0) {
		panic("synth: Resample factor must be positive")
	}
	t := len(x) / 12
	n := max(1, int(math.Round(float64(t)/f)))
	out := make([]float32, 0, n*12)
	for j := range n {
		k := min(t-1, int(float64(j)*f))
		out = append(out, x[12*k:12*k+12]...)
	}
	return out
}

// Roll transposes frames x in place by s semitones: pitch class p moves to
// (p+s) mod 12, as np.roll(x, s, axis=1) does on a T×12 array.
func Roll(x []float32, s int) {
	s = ((s % 12) + 12) % 12
	if s == 0 {
		return
	}
	var tmp [12]float32
	for f := 0; f+12 <= len(x); f += 12 {
		for p := range 12 {
			tmp[(p+s)%12] = x[f+p]
		}
		copy(x[f:f+12], tmp[:])
	}
}

// Upsample repeats every frame k times (nearest-neighbour upsampling, as
// acoss resamples crema to the hop-512 grid).
func Upsample(x []float32, k int) []float32 {
	out := make([]float32, 0, len(x)*k)
	for f := 0; f+12 <= len(x); f += 12 {
		for range k {
			out = append(out, x[f:f+12]...)
		}
	}
	return out
}

// perturb applies a version's timbre, smoothing and noise, and clamps to [0, 1].
func perturb(x []float32, tr Transform, r *rand.Rand) {
	var gain [12]float32
	for p := range gain {
		gain[p] = float32(0.75 + 0.25*r.Float64())
	}
	var prev [12]float32
	a := float32(tr.Smoothing)
	for f := 0; f+12 <= len(x); f += 12 {
		for p := range 12 {
			v := x[f+p] * gain[p]
			if f > 0 {
				v = a*prev[p] + (1-a)*v
			}
			prev[p] = v
			v += float32(tr.Noise * r.NormFloat64())
			x[f+p] = min(1, max(0, v))
		}
	}
}

// Summary describes a generated catalog.
type Summary struct {
	Songs, Works, Files int
	Frames              int64 // at the output hop
	MeanDurationS       float64
	SDDurationS         float64
	MinDurationS        float64
	MaxDurationS        float64
	Manifest            schema.Manifest
}

// Generate writes the catalog cfg describes into the folder out (a features
// dataset: Parquet part files of songs and a manifest). Songs are generated
// in parallel in small batches and written in order, so memory does not grow
// with the catalog's size and the output depends only on cfg.
func Generate(cfg Config, out string) (Summary, error) {
	if err := cfg.Validate(); err != nil {
		return Summary{}, err
	}
	w, err := importer.NewDatasetWriter(out, importer.DatasetOptions{
		SongsPerFile: cfg.SongsPerFile, RowGroupRows: cfg.RowGroupRows,
		Command:  "vindex synth",
		Metadata: map[string]string{"vindex.synth.seed": strconv.FormatUint(cfg.Seed, 10)},
	})
	if err != nil {
		return Summary{}, fmt.Errorf("synth: %w", err)
	}
	sum := Summary{Works: cfg.Works + cfg.Noise, MinDurationS: math.Inf(1)}
	var m2 float64
	batch := make([]schema.Song, max(8, 4*runtime.GOMAXPROCS(0)))
	total := cfg.Total()
	for start := 0; start < total; start += len(batch) {
		n := min(len(batch), total-start)
		var wg sync.WaitGroup
		next := make(chan int, n)
		for k := range n {
			next <- k
		}
		close(next)
		for range min(n, runtime.GOMAXPROCS(0)) {
			wg.Go(func() {
				for k := range next {
					batch[k] = Song(cfg, start+k)
				}
			})
		}
		wg.Wait()
		for k := range n {
			s := &batch[k]
			if err := w.Write(s); err != nil {
				w.Abort()
				return sum, fmt.Errorf("synth: %w", err)
			}
			sum.Songs++
			sum.Frames += int64(s.Frames())
			d := float64(s.DurationS)
			delta := d - sum.MeanDurationS
			sum.MeanDurationS += delta / float64(sum.Songs)
			m2 += delta * (d - sum.MeanDurationS)
			sum.MinDurationS = min(sum.MinDurationS, d)
			sum.MaxDurationS = max(sum.MaxDurationS, d)
			batch[k] = schema.Song{}
		}
	}
	if sum.Songs > 1 {
		sum.SDDurationS = math.Sqrt(m2 / float64(sum.Songs-1))
	}
	man, err := w.Close()
	if err != nil {
		return sum, fmt.Errorf("synth: %w", err)
	}
	sum.Manifest = man
	sum.Files = len(man.Files)
	return sum, nil
}
