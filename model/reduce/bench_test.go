package reduce

import (
	"math/rand/v2"
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
// per-song cost of transforms.FitPCA), 2048-d as MOVE's.
func BenchmarkMomentsAdd(b *testing.B) {
	const n, d = 256, 2048
	rows := benchData(n, d)
	b.ReportAllocs()
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
