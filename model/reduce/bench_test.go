package reduce

import (
	"math"
	"math/rand/v2"
	"sync"
	"testing"
)

func benchData(n, d int) [][]float32 {
	rng := rand.New(rand.NewPCG(1, 1))
	rows := make([][]float32, n)
	for i := range rows {
		rows[i] = make([]float32, d)
		for j := range rows[i] {
			rows[i][j] = float32(rng.NormFloat64() / float64(1+j%17))
		}
	}
	return rows
}

// BenchmarkMomentsAdd measures folding embeddings into PCA moments (the
// per-song cost of transforms.FitPCA), 2048-d as MOVE's, 1024 rows per
// accumulator.
func BenchmarkMomentsAdd(b *testing.B) {
	const n, d = 1024, 2048
	rows := benchData(n, d)
	b.ReportAllocs()
	cpu0 := cpuSeconds()
	for b.Loop() {
		var m Moments
		for _, r := range rows {
			if err := m.Add(r); err != nil {
				b.Fatal(err)
			}
		}
		m.Flush()
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "songs/s")
	if cpu0 >= 0 {
		// All goroutines' CPU time: robust to a loaded machine.
		b.ReportMetric((cpuSeconds()-cpu0)/float64(b.N), "cpu-s/op")
	}
}

// BenchmarkApply measures reducing one 2048-d embedding to 256 dimensions.
func BenchmarkApply(b *testing.B) {
	r, err := NewGRP(GRPConfig{InDim: 2048, OutDim: 256, Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	src := benchData(1, 2048)[0]
	dst := make([]float32, 256)
	b.ReportAllocs()
	for b.Loop() {
		r.Apply(dst, src)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "songs/s")
}

// lowRankData is bench/pca/bench.py's kind of catalog: a rank-r signal with
// linearly decaying scales, isotropic noise and a non-zero mean.
func lowRankData(n, d int) [][]float32 {
	rng := rand.New(rand.NewPCG(2, 3))
	r := min(d, 512)
	basis := make([]float64, r*d)
	for i := range basis {
		basis[i] = rng.NormFloat64() / math.Sqrt(float64(r))
	}
	rows := make([][]float32, n)
	z := make([]float64, r)
	for i := range rows {
		for a := range z {
			z[a] = rng.NormFloat64() * (3 - 2.9*float64(a)/float64(r-1))
		}
		row := make([]float32, d)
		for j := range row {
			s := 0.5 + 0.05*rng.NormFloat64()
			for a := range z {
				s += z[a] * basis[a*d+j]
			}
			row[j] = float32(s)
		}
		rows[i] = row
	}
	return rows
}

// BenchmarkFitPCA measures the eigen step of a PCA fit, 512 → 64, from
// moments of 4096 rows.
func BenchmarkFitPCA(b *testing.B) {
	const n, d, k = 4096, 512, 64
	var m Moments
	for _, r := range lowRankData(n, d) {
		if err := m.Add(r); err != nil {
			b.Fatal(err)
		}
	}
	m.Flush()
	b.ReportAllocs()
	cpu0 := cpuSeconds()
	for b.Loop() {
		if _, err := FitPCA(&m, PCAConfig{K: k}); err != nil {
			b.Fatal(err)
		}
	}
	if cpu0 >= 0 {
		b.ReportMetric((cpuSeconds()-cpu0)/float64(b.N), "cpu-s/op")
	}
}

// moments2048 holds the moments of 4,096 rows of lowRankData(·, 2048),
// built once per test binary (generating them takes seconds).
var moments2048 = sync.OnceValue(func() *Moments {
	var m Moments
	for _, r := range lowRankData(4096, 2048) {
		if err := m.Add(r); err != nil {
			panic(err)
		}
	}
	m.Flush()
	return &m
})

// BenchmarkFitPCA2048 measures the eigen step of bench/pca's shape, 2048 →
// 256 (SolverAuto: the subspace solver), from moments of 4,096 rows of the
// same kind of data.
func BenchmarkFitPCA2048(b *testing.B) {
	m := moments2048()
	b.ReportAllocs()
	cpu0 := cpuSeconds()
	for b.Loop() {
		if _, err := FitPCA(m, PCAConfig{K: 256}); err != nil {
			b.Fatal(err)
		}
	}
	if cpu0 >= 0 {
		b.ReportMetric((cpuSeconds()-cpu0)/float64(b.N), "cpu-s/op")
	}
}

// BenchmarkMomentsSteady measures folding 4,096 2048-d rows into an
// accumulator that already holds rows (its bins allocated): the steady
// state of a Beam accumulator or of bench/pca's loop.
func BenchmarkMomentsSteady(b *testing.B) {
	const n, d = 4096, 2048
	rows := benchData(n, d)
	var m Moments
	for _, r := range rows[:256] {
		if err := m.Add(r); err != nil {
			b.Fatal(err)
		}
	}
	m.Flush()
	b.ReportAllocs()
	cpu0 := cpuSeconds()
	for b.Loop() {
		for _, r := range rows {
			if err := m.Add(r); err != nil {
				b.Fatal(err)
			}
		}
		m.Flush()
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "songs/s")
	if cpu0 >= 0 {
		b.ReportMetric((cpuSeconds()-cpu0)/float64(b.N), "cpu-s/op")
	}
}
