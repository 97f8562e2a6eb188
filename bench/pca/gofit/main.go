// Command gofit times vindex's PCA fit (reduce.Moments + reduce.FitPCA) on a
// raw little-endian float32 matrix, for bench/pca/bench.py. It prints one
// JSON line: the seconds spent accumulating moments, in the eigendecomposition
// and in total, and the explained variance ratios.
package main

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math"
	"os"
	"runtime/pprof"
	"syscall"
	"time"

	"github.com/vindex/vindex/model/reduce"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "gofit:", err)
		os.Exit(1)
	}
}

func run() error {
	in := flag.String("in", "", "raw float32 little-endian matrix, row-major")
	n := flag.Int("n", 0, "rows")
	d := flag.Int("d", 0, "columns")
	k := flag.Int("k", 0, "components")
	solver := flag.String("solver", "", "PCA solver: full, subspace or empty for automatic")
	compare := flag.Bool("compare", false, "also fit with the full eigensolver and report the largest differences")
	prof := flag.String("cpuprofile", "", "write a CPU profile of the fit to this file")
	flag.Parse()
	if *in == "" || *n < 2 || *d < 1 || *k < 1 || *k > *d {
		return errors.New("need --in, --n ≥ 2, --d ≥ 1 and 1 ≤ --k ≤ d")
	}
	b, err := os.ReadFile(*in)
	if err != nil {
		return err
	}
	if len(b) != 4**n**d {
		return fmt.Errorf("%s has %d bytes, want %d", *in, len(b), 4**n**d)
	}
	x := make([]float32, *n**d)
	for i := range x {
		x[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	if *prof != "" {
		f, err := os.Create(*prof)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	t0, c0 := time.Now(), cpuSeconds()
	var m reduce.Moments
	for i := range *n {
		if err := m.Add(x[i**d : (i+1)**d]); err != nil {
			return err
		}
	}
	m.Flush()
	t1, c1 := time.Now(), cpuSeconds()
	r, err := reduce.FitPCA(&m, reduce.PCAConfig{K: *k, Solver: reduce.PCASolver(*solver)})
	if err != nil {
		return err
	}
	t2, c2 := time.Now(), cpuSeconds()
	out := map[string]any{
		"moments_s": t1.Sub(t0).Seconds(),
		"eigen_s":   t2.Sub(t1).Seconds(),
		"total_s":   t2.Sub(t0).Seconds(),
		// CPU seconds (user+system, all threads): on a shared machine the
		// wall times above include waiting for a core.
		"moments_cpu_s": c1 - c0,
		"eigen_cpu_s":   c2 - c1,
		"evr":           r.Info().ExplainedVarianceRatio,
	}
	if *compare {
		full, err := reduce.FitPCA(&m, reduce.PCAConfig{K: *k, Solver: reduce.SolverFull})
		if err != nil {
			return err
		}
		out["full_max_abs_diff_evr"] = maxAbsDiff(r.Info().ExplainedVarianceRatio, full.Info().ExplainedVarianceRatio)
		out["full_max_abs_diff_components"] = maxAbsDiff(r.Matrix(), full.Matrix())
	}
	return json.NewEncoder(os.Stdout).Encode(out)
}

// cpuSeconds returns the process's user+system CPU time.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return math.NaN()
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}

func maxAbsDiff(a, b []float64) float64 {
	m := 0.0
	for i := range a {
		m = max(m, math.Abs(a[i]-b[i]))
	}
	return m
}
