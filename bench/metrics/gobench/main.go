// Command gobench times metrics.Evaluate (or the Beam pipeline on prism) on
// embeddings from a .npy file and a labels JSON (written by
// bench/metrics/bench.py), or on a synthetic catalog, and prints one JSON
// line: seconds, peak RSS (VmHWM) and the figures.
//
//	go run ./bench/metrics/gobench -bench_npy emb.npy -bench_labels labels.json
//	go run ./bench/metrics/gobench -bench_synthetic 100000 -bench_dim 256 [-bench_beam]
//
// For the scale figures (bench/scale/evaluate.sh), the catalog is written once
// as Parquet and the Beam pipeline reads it as vindex evaluate does, so that
// the process's peak RSS is the pipeline's own:
//
//	gobench -bench_synthetic 100000 -bench_write DIR      # write DIR/embeddings.parquet, exit
//	gobench -bench_beam -bench_parquet DIR                 # ReadEmbeddings → Evaluate → report on prism
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"

	"github.com/vindex/vindex/importer/npy"
	"github.com/vindex/vindex/model/metrics"
	"github.com/vindex/vindex/runners"
	"github.com/vindex/vindex/schema"
	"github.com/vindex/vindex/storage"
	"github.com/vindex/vindex/transforms"
)

func main() {
	npyPath := flag.String("bench_npy", "", "N×d float32 .npy")
	labels := flag.String("bench_labels", "", "JSON list of N work ids (\"\" = noise)")
	synth := flag.Int("bench_synthetic", 0, "synthetic catalog size (instead of -npy)")
	dim := flag.Int("bench_dim", 256, "synthetic dimension")
	useBeam := flag.Bool("bench_beam", false, "run the Beam pipeline on prism instead of metrics.Evaluate")
	out := flag.String("bench_out", "", "report folder for -beam (default: a temp folder)")
	prof := flag.String("bench_cpuprofile", "", "write a CPU profile to this file")
	write := flag.String("bench_write", "", "write the catalog as Parquet into this folder and exit")
	parquet := flag.String("bench_parquet", "", "with -bench_beam: read the catalog from this Parquet folder")
	flag.Parse()
	if *prof != "" {
		f, err := os.Create(*prof)
		if err != nil {
			fmt.Fprintln(os.Stderr, "gobench:", err)
			os.Exit(1)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(os.Stderr, "gobench:", err)
			os.Exit(1)
		}
		defer f.Close()
		defer pprof.StopCPUProfile()
	}
	beam.Init()
	var err error
	switch {
	case *write != "":
		err = writeParquet(*write, *synth, *dim)
	case *parquet != "":
		err = runParquet(*parquet, *out)
	default:
		err = run(*npyPath, *labels, *synth, *dim, *useBeam, *out)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "gobench:", err)
		os.Exit(1)
	}
}

func run(npyPath, labels string, synth, dim int, useBeam bool, out string) error {
	var embs []schema.Embedding
	var err error
	if synth > 0 {
		embs = synthetic(synth, dim)
	} else if embs, err = load(npyPath, labels); err != nil {
		return err
	}
	loadRSS := peakRSS()
	start, cpu0 := time.Now(), cpuSeconds()
	var f metrics.Figures
	cfg := metrics.Config{Distance: metrics.Cosine}
	if useBeam {
		if out == "" {
			if out, err = os.MkdirTemp("", "gobench"); err != nil {
				return err
			}
			defer os.RemoveAll(out)
		}
		p, s := beam.NewPipelineWithRoot()
		res, rej, cat := transforms.Evaluate(s, transforms.EvaluateConfig{Metrics: cfg}, beam.CreateList(s, embs))
		transforms.WriteEvaluationReport(s, out, res, rej, cat)
		if _, err := runners.Run(context.Background(), p, runners.Options{}); err != nil {
			return err
		}
		rep, err := transforms.ReadReport(context.Background(), out+"/"+transforms.ReportFile)
		if err != nil {
			return err
		}
		f = rep.Overall
	} else {
		rep, err := metrics.Evaluate(transforms.MetricRows(embs, cfg.GroupBy), cfg)
		if err != nil {
			return err
		}
		f = rep.Overall
	}
	secs := time.Since(start).Seconds()
	b, _ := json.Marshal(map[string]any{"seconds": secs, "cpu_seconds": cpuSeconds() - cpu0, "peak_rss_mb": peakRSS(), "rss_after_load_mb": loadRSS,
		"n": len(embs), "map": f.MAP, "mrr": f.RefMRR, "mr": f.RefMR, "mr1": f.MR1, "top1": f.Top1, "top10": f.Top10, "beam": useBeam})
	fmt.Println(string(b))
	return nil
}

func writeParquet(dir string, n, d int) error {
	embs := synthetic(n, d)
	for i := range embs {
		embs[i].ContentHash = "h"
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	return schema.WriteEmbeddingsFile(storage.Join(dir, "embeddings.parquet"), embs, schema.WriterOptions{})
}

// runParquet runs ReadEmbeddings → Evaluate → WriteEvaluationReport on prism.
func runParquet(in, out string) error {
	if out == "" {
		var err error
		if out, err = os.MkdirTemp("", "gobench"); err != nil {
			return err
		}
		defer os.RemoveAll(out)
	}
	start, cpu0 := time.Now(), cpuSeconds()
	p, s := beam.NewPipelineWithRoot()
	embs, readRejects := transforms.ReadEmbeddings(s, in)
	res, rej, cat := transforms.Evaluate(s, transforms.EvaluateConfig{Metrics: metrics.Config{Distance: metrics.Cosine}}, embs)
	transforms.WriteEvaluationReport(s, out, res, beam.Flatten(s, rej, readRejects), cat)
	if _, err := runners.Run(context.Background(), p, runners.Options{}); err != nil {
		return err
	}
	rep, err := transforms.ReadReport(context.Background(), storage.Join(out, transforms.ReportFile))
	if err != nil {
		return err
	}
	f := rep.Overall
	b, _ := json.Marshal(map[string]any{"seconds": time.Since(start).Seconds(), "cpu_seconds": cpuSeconds() - cpu0, "peak_rss_mb": peakRSS(),
		"n": rep.QueriesWithVersions + rep.QueriesNoVersions, "map": f.MAP, "mrr": f.RefMRR, "mr": f.RefMR, "mr1": f.MR1, "top1": f.Top1, "top10": f.Top10, "beam": true, "parquet": true})
	fmt.Println(string(b))
	return nil
}

func load(npyPath, labels string) ([]schema.Embedding, error) {
	a, err := npy.ReadFile(npyPath, npy.Options{})
	if err != nil {
		return nil, err
	}
	var works []string
	b, err := os.ReadFile(labels)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, &works); err != nil {
		return nil, fmt.Errorf("%s: %w", labels, err)
	}
	if len(a.Shape) != 2 || a.Shape[0] != len(works) {
		return nil, fmt.Errorf("%s: shape %v for %d labels", npyPath, a.Shape, len(works))
	}
	d := a.Shape[1]
	embs := make([]schema.Embedding, len(works))
	for i := range embs {
		embs[i] = schema.Embedding{SongID: fmt.Sprintf("s%07d", i), WorkID: works[i], Embedding: a.Data[i*d : (i+1)*d], Model: "bench"}
	}
	return embs, nil
}

// synthetic: Da-TACOS-shaped, cliques of 13 and 2/15 noise songs.
func synthetic(n, d int) []schema.Embedding {
	rng := rand.New(rand.NewPCG(42, 1))
	embs := make([]schema.Embedding, 0, n)
	centre := make([]float64, d)
	for w := 0; len(embs) < n; w++ {
		for i := range centre {
			centre[i] = rng.NormFloat64()
		}
		for v := 0; v < 13 && len(embs) < n; v++ {
			e := make([]float32, d)
			for i := range e {
				e[i] = float32(centre[i] + 2.5*rng.NormFloat64())
			}
			work := "w" + strconv.Itoa(w)
			if w%7 == 6 {
				work = "" // noise
			}
			embs = append(embs, schema.Embedding{SongID: fmt.Sprintf("s%07d", len(embs)), WorkID: work, Embedding: e, Model: "synthetic"})
		}
	}
	return embs
}

// peakRSS is the process's VmHWM in MB (Linux), or -1.
func peakRSS() float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return -1
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "VmHWM:") {
			f := strings.Fields(l)
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb / 1024
		}
	}
	return -1
}

// cpuSeconds returns the process's user+system CPU time (all threads), -1 if
// unknown: on a shared machine wall time includes waiting for a core.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return -1
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}
