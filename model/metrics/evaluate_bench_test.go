package metrics

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// daTACOS returns a catalog shaped like bench/metrics/bench.py's: n songs of
// dimension d, cliques of 13 around Gaussian centres (noise σ 2.5) and 2/15
// of noise songs, in random order.
func daTACOS(n, d int) []Row {
	rng := rand.New(rand.NewPCG(7, 8))
	noise := 2 * n / 15
	rows := make([]Row, 0, n)
	centre := make([]float64, d)
	for w := 0; len(rows) < n-noise; w++ {
		for i := range centre {
			centre[i] = rng.NormFloat64()
		}
		for v := 0; v < 13 && len(rows) < n-noise; v++ {
			e := make([]float32, d)
			for i := range e {
				e[i] = float32(centre[i] + 2.5*rng.NormFloat64())
			}
			rows = append(rows, Row{WorkID: fmt.Sprintf("w%d", w), Embedding: e, Model: "bench"})
		}
	}
	for len(rows) < n {
		e := make([]float32, d)
		for i := range e {
			e[i] = float32(2.5 * rng.NormFloat64())
		}
		rows = append(rows, Row{Embedding: e, Model: "bench"})
	}
	for i, p := range rng.Perm(n) {
		rows[i], rows[p] = rows[p], rows[i]
	}
	for i := range rows {
		rows[i].SongID = fmt.Sprintf("s%07d", i)
	}
	return rows
}

// BenchmarkEvaluateDaTACOS: the whole evaluation of bench/metrics/bench.py's
// shape, 15,000 × 256, cosine (cpu-s/op: process CPU time, all threads).
func BenchmarkEvaluateDaTACOS(b *testing.B) {
	rows := daTACOS(15000, 256)
	b.ReportAllocs()
	cpu0 := cpuSeconds()
	for b.Loop() {
		if _, err := Evaluate(rows, Config{Distance: Cosine}); err != nil {
			b.Fatal(err)
		}
	}
	if cpu0 >= 0 {
		b.ReportMetric((cpuSeconds()-cpu0)/float64(b.N), "cpu-s/op")
	}
}

// BenchmarkPartialCountsDaTACOS: PartialCounts of the whole 15,000 × 256
// catalog against itself in one call (the Beam pipeline's kernel, one
// direction; cpu-s/op: process CPU time, all threads).
func BenchmarkPartialCountsDaTACOS(b *testing.B) {
	cat, _, err := NewCatalog(daTACOS(15000, 256), Cosine, nil)
	if err != nil {
		b.Fatal(err)
	}
	n := cat.Len()
	counts := make([][]int64, n)
	for q := range counts {
		counts[q] = make([]int64, cat.NumVersions(q))
	}
	b.ReportAllocs()
	cpu0 := cpuSeconds()
	for b.Loop() {
		cat.PartialCounts(0, n, 0, n, Config{}, counts)
	}
	if cpu0 >= 0 {
		b.ReportMetric((cpuSeconds()-cpu0)/float64(b.N), "cpu-s/op")
	}
}
