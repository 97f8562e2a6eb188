package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime/pprof"
	"sync"
	"sync/atomic"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"

	"github.com/vindex/vindex/importer/synth"
	"github.com/vindex/vindex/model"
	"github.com/vindex/vindex/pipelines/embed"
	"github.com/vindex/vindex/runners"
	"github.com/vindex/vindex/schema"
	"github.com/vindex/vindex/storage"
	"github.com/vindex/vindex/transforms"
)

func init() {
	register(command{name: "bench", summary: "measure songs/s on this machine and the workers a catalog needs", run: runBench})
	// Examples for --help (examples.go's map, filled before main runs).
	examples["bench model"] = benchModelExamples
	examples["bench embed"] = benchEmbedExamples
	examples["bench"] = benchModelExamples + "\n" + benchEmbedExamples
}

const (
	benchModelExamples = `  vindex bench model --frames 2350 --threads 4 --json
  vindex bench model --in features/ --threads 1 --catalog 2000000 --window 6h`
	benchEmbedExamples = `  vindex bench embed --songs 300
  vindex bench embed --songs 2000 --mean-duration 40 --json --quiet`
)

const benchHelp = `
Answers a capacity question on this machine.

  vindex bench model --frames 2350 --threads N [--json]
      runs N networks in parallel (one per thread) on songs of the given length (2350 frames ≈ 218 s,
      Da-TACOS's mean) or on the songs of --in, for --seconds, and prints songs/s.
  vindex bench embed --songs N [--mean-duration 40] [--json] [runner flags]
      writes a synthetic catalog of N songs (or takes --in), runs the real embed pipeline on it and prints
      songs/s, CPU use (CPU-seconds per wall second) and peak memory.

Both say how many such workers a catalog of --catalog songs needs to be embedded within --window.
Without --weights, an untrained seeded MOVE (d = 256) stands in: its cost is the trained network's.`

func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || (args[0] != "model" && args[0] != "embed") {
		fmt.Fprintf(stderr, "Usage: vindex bench model|embed [flags]\n%s\n\nExamples:\n%s\n", benchHelp, examples["bench"])
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
			return nil
		}
		return errUsage
	}
	if args[0] == "model" {
		return runBenchModel(ctx, args[1:], stdout, stderr)
	}
	return runBenchEmbed(ctx, args[1:], stdout, stderr)
}

// capacity is the answer both benchmarks end with.
type capacity struct {
	Catalog int64   `json:"catalog"`
	WindowS float64 `json:"window_s"`
	Workers int64   `json:"workers_needed"`
}

func newCapacity(catalog int64, window time.Duration, songsPerS float64) capacity {
	c := capacity{Catalog: catalog, WindowS: window.Seconds()}
	if songsPerS > 0 && window > 0 {
		c.Workers = int64(math.Ceil(float64(catalog) / (songsPerS * window.Seconds())))
	}
	return c
}

func (c capacity) sentence(what string) string {
	return fmt.Sprintf("a catalog of %d songs within %s needs %d %s", c.Catalog, time.Duration(c.WindowS*float64(time.Second)), c.Workers, what)
}

type modelBench struct {
	SongsPerS  float64 `json:"songs_per_s"`
	Frames     int     `json:"frames"`
	Threads    int     `json:"threads"`
	Songs      int64   `json:"songs"`
	Seconds    float64 `json:"seconds"`
	CPUPerWall float64 `json:"cpu_per_wall"`
	CPUPerSong float64 `json:"cpu_s_per_song"` // process CPU seconds per song embedded
	Weights    string  `json:"weights"`
	capacity
}

func runBenchModel(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("bench model", "--frames T --threads N [--json]", benchHelp, stderr)
	frames := fs.Int("frames", 2350, "frames per song at the model's hop (4096 samples at 44.1 kHz); 2350 ≈ 218 s")
	threads := fs.Int("threads", 1, "networks run in parallel, one per goroutine")
	in := fs.String("in", "", "embed the songs of this features dataset (folder or glob) instead of random songs of --frames")
	weights := fs.String("weights", "", "checkpoint (default: an untrained seeded MOVE, d = 256)")
	seconds := fs.Float64("seconds", 10, "how long to measure")
	asJSON := fs.Bool("json", false, "print one JSON object")
	catalog := fs.Int64("catalog", 1_000_000, "catalog size for the capacity answer")
	window := fs.Duration("window", 8*time.Hour, "time window for the capacity answer")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *threads < 1 || *frames < 1 || !(*seconds > 0) {
		return fmt.Errorf("bench: --threads, --frames and --seconds must be positive")
	}
	w, name, err := benchWeights(ctx, *weights)
	if err != nil {
		return err
	}
	songs, err := benchSongs(*in, *frames)
	if err != nil {
		return err
	}
	// One warm-up embedding per song length grows the scratch buffers.
	r := modelBench{Frames: *frames, Threads: *threads, Weights: name}
	if *in != "" {
		r.Frames = meanFrames(songs)
	}
	n, wall, cpu, err := embedFor(w, songs, *threads, time.Duration(*seconds*float64(time.Second)))
	if err != nil {
		return err
	}
	r.Songs, r.Seconds = n, wall
	r.SongsPerS = float64(n) / wall
	r.CPUPerWall = cpu / wall
	r.CPUPerSong = cpu / max(float64(n), 1)
	r.capacity = newCapacity(*catalog, *window, r.SongsPerS)
	if *asJSON {
		return json.NewEncoder(stdout).Encode(r)
	}
	fmt.Fprintf(stdout, "%.2f songs/s with %d threads (%d songs of %d frames on average in %.1f s, %.2f CPU-s per wall second; weights %s)\n",
		r.SongsPerS, r.Threads, r.Songs, r.Frames, r.Seconds, r.CPUPerWall, r.Weights)
	fmt.Fprintln(stdout, r.sentence(fmt.Sprintf("workers of %d threads like this machine's", r.Threads)))
	return nil
}

func benchWeights(ctx context.Context, uri string) (*model.Weights, string, error) {
	if uri != "" {
		w, err := transforms.LoadWeights(ctx, uri, model.Config{})
		return w, uri, err
	}
	w, err := model.NewWeights(model.SeededCheckpoint(256, 1), model.Config{})
	return w, "seeded untrained MOVE d=256", err
}

// benchSongs returns the songs of a dataset, or one random song of frames.
func benchSongs(in string, frames int) ([][]float32, error) {
	if in == "" {
		rng := rand.New(rand.NewPCG(1, 2))
		x := make([]float32, frames*schema.PitchClasses)
		for i := range x {
			x[i] = rng.Float32()
		}
		return [][]float32{x}, nil
	}
	files, err := schema.ListDataset(in)
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	var out [][]float32
	for _, f := range files {
		songs, err := schema.ReadSongsFile(f)
		if err != nil {
			return nil, fmt.Errorf("bench: %w", err)
		}
		for i := range songs {
			if songs[i].EffectiveHop() != schema.ModelHop {
				return nil, fmt.Errorf("bench: %s: song %q has hop %d; --in takes songs at the model's hop (%d)", f, songs[i].SongID, songs[i].EffectiveHop(), schema.ModelHop)
			}
			out = append(out, songs[i].Crema)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("bench: %s holds no songs", in)
	}
	return out, nil
}

func meanFrames(songs [][]float32) int {
	var t int
	for _, s := range songs {
		t += len(s) / schema.PitchClasses
	}
	return t / len(songs)
}

// embedFor runs threads networks over songs (each thread cycling through
// them from its own offset) for at least d, and returns the songs embedded,
// the wall time and the process's CPU time.
func embedFor(w *model.Weights, songs [][]float32, threads int, d time.Duration) (int64, float64, float64, error) {
	nets := make([]*model.Net, threads)
	for i := range nets {
		nets[i] = w.NewNet()
		dst := make([]float32, nets[i].Dim())
		if err := nets[i].Embed(dst, songs[0], schema.ModelHop); err != nil {
			return 0, 0, 0, fmt.Errorf("bench: %w", err)
		}
	}
	var done atomic.Int64
	var stop atomic.Bool
	errs := make([]error, threads)
	var wg sync.WaitGroup
	cpu0, start := cpuSeconds(), time.Now()
	for i, net := range nets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			dst := make([]float32, net.Dim())
			for k := i; !stop.Load(); k++ {
				if err := net.Embed(dst, songs[k%len(songs)], schema.ModelHop); err != nil {
					errs[i] = err
					return
				}
				done.Add(1)
			}
		}()
	}
	time.Sleep(d)
	stop.Store(true)
	wg.Wait()
	wall, cpu := time.Since(start).Seconds(), cpuSeconds()-cpu0
	for _, err := range errs {
		if err != nil {
			return 0, 0, 0, fmt.Errorf("bench: %w", err)
		}
	}
	return done.Load(), wall, cpu, nil
}

type embedBench struct {
	SongsPerS  float64 `json:"songs_per_s"`
	Songs      int64   `json:"songs"`
	Rejected   int64   `json:"rejected"`
	Seconds    float64 `json:"seconds"`
	CPUPerWall float64 `json:"cpu_per_wall"`
	CPUPerSong float64 `json:"cpu_s_per_song"` // process CPU seconds per song embedded, start-up included
	PeakRSSMB  float64 `json:"peak_rss_mb"`
	Cores      int     `json:"cores"`
	Ranges     int64   `json:"read_ranges"`  // units of reading work (bounded row ranges)
	Bundles    int64   `json:"read_bundles"` // bundles that read at least one range
	In         string  `json:"in"`
	capacity
}

func runBenchEmbed(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("bench embed", "--songs N [--mean-duration S] [--json] [runner flags]", benchHelp, stderr)
	n := fs.Int("songs", 300, "songs of the synthetic catalog")
	mean := fs.Float64("mean-duration", synth.Default().MeanDurationS, "mean duration of the synthetic songs, seconds")
	rowGroup := fs.Int64("row-group-rows", 0, "songs per row group of the synthetic catalog (0: 256)")
	in := fs.String("in", "", "embed this features dataset (folder or glob) instead of a synthetic catalog")
	weights := fs.String("weights", "", "checkpoint (default: an untrained seeded MOVE, d = 256)")
	keep := fs.String("work", "", "folder for the catalog and outputs (default: a temporary folder, removed)")
	asJSON := fs.Bool("json", false, "print one JSON object")
	catalog := fs.Int64("catalog", 1_000_000, "catalog size for the capacity answer")
	window := fs.Duration("window", 8*time.Hour, "time window for the capacity answer")
	cpuProfile := fs.String("cpuprofile", "", "write a pprof CPU profile of the whole process during the pipeline's run to this file")
	rf := addRunnerFlags(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	work := *keep
	if !storage.IsLocal(work) { // the catalog and weights are written with the os package
		return fmt.Errorf("bench: --work %s: the working folder must be a local path", work)
	}
	if work == "" {
		var err error
		if work, err = os.MkdirTemp("", "vindex-bench"); err != nil {
			return fmt.Errorf("bench: %w", err)
		}
		defer os.RemoveAll(work)
	}
	cfg := embed.Config{Weights: *weights, In: *in, Out: filepath.Join(work, "out"), Command: commandLine()}
	if err := benchInputs(&cfg, work, *n, *mean, *rowGroup); err != nil {
		return err
	}
	if err := cfg.Validate(ctx); err != nil {
		return err
	}
	p, s := beam.NewPipelineWithRoot()
	embed.Build(s, cfg)
	stopProfile, err := startCPUProfile(*cpuProfile)
	if err != nil {
		return err
	}
	cpu0, start := cpuSeconds(), time.Now()
	res, err := runners.Run(ctx, p, rf.options(stderr, 0))
	wall, cpu := time.Since(start).Seconds(), cpuSeconds()-cpu0
	if perr := stopProfile(); err == nil {
		err = perr
	}
	if err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	r := embedBench{Songs: res.Counter("vindex." + transforms.SongsEmbedded), Rejected: res.Counter("vindex." + transforms.SongsRejected),
		Seconds: wall, CPUPerWall: cpu / wall, PeakRSSMB: peakRSSMB(), Cores: runtimeCores(), In: cfg.In,
		Ranges: res.Counter("vindex.read.ranges"), Bundles: res.Counter("vindex.read.bundles")}
	r.SongsPerS = float64(r.Songs) / wall
	r.CPUPerSong = cpu / max(float64(r.Songs), 1)
	r.capacity = newCapacity(*catalog, *window, r.SongsPerS)
	if *asJSON {
		return json.NewEncoder(stdout).Encode(r)
	}
	fmt.Fprintf(stdout, "%.2f songs/s: %d songs embedded (%d rejected) in %.1f s, %.2f CPU-s per wall second on %d cores (%.4f CPU-s a song), peak RSS %.0f MB; read as %d ranges in %d bundles\n",
		r.SongsPerS, r.Songs, r.Rejected, r.Seconds, r.CPUPerWall, r.Cores, r.CPUPerSong, r.PeakRSSMB, r.Ranges, r.Bundles)
	fmt.Fprintln(stdout, r.sentence("machines like this one"))
	return nil
}

// startCPUProfile starts a pprof CPU profile of the process into path ("":
// none) and returns the function that stops it and closes the file.
func startCPUProfile(path string) (stop func() error, err error) {
	if path == "" {
		return func() error { return nil }, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("bench: %w", err)
	}
	return func() error {
		pprof.StopCPUProfile()
		if err := f.Close(); err != nil {
			return fmt.Errorf("bench: %w", err)
		}
		return nil
	}, nil
}

// benchInputs fills in the weights and the synthetic catalog the flags leave
// to the benchmark.
func benchInputs(cfg *embed.Config, work string, n int, mean float64, rowGroup int64) error {
	if cfg.Weights == "" {
		cfg.Weights = filepath.Join(work, "seeded.safetensors")
		f, err := os.Create(cfg.Weights)
		if err != nil {
			return fmt.Errorf("bench: %w", err)
		}
		err = model.WriteSeededCheckpoint(f, 256, 1)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("bench: %w", err)
		}
	}
	if cfg.In != "" {
		return nil
	}
	sc := synth.Default()
	sc.Works = n / 15
	sc.Noise = n - sc.Works*sc.Versions
	sc.MeanDurationS = mean
	sc.SDDurationS = min(sc.SDDurationS, mean/2)
	sc.RowGroupRows = rowGroup
	if sc.Noise < 0 {
		sc.Works, sc.Noise = 0, n
	}
	cfg.In = filepath.Join(work, "features")
	if _, err := synth.Generate(sc, cfg.In); err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	return nil
}
