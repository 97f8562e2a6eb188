package train

import (
	"math/rand/v2"
	"testing"
)

// BenchmarkStep measures one training step of each method's head on a batch
// of 64 pooled vectors (forward, loss, backward; no optimiser), at the
// paper's sizes: D = 256 students, a 2048-wide teacher for KD, the full
// 2048 rows for the first pruning iteration.
func BenchmarkStep(b *testing.B) {
	const batch, in = 64, 256
	rng := rand.New(rand.NewPCG(1, 2))
	vec := func(n int) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(rng.NormFloat64())
		}
		return v
	}
	x := vec(batch * in)
	labels := make([]int32, batch)
	for i := range labels {
		labels[i] = int32(i / 4)
	}
	for _, c := range []struct {
		name string
		d    int
		step func(l *Losses, dz, z []float32, d int)
	}{
		{"lsr-d256-C1000", 256, func() func(*Losses, []float32, []float32, int) {
			p := vec(1000 * 256)
			dp := make([]float32, len(p))
			lab := make([]int32, batch)
			for i := range lab {
				lab[i] = int32(rng.IntN(1000))
			}
			return func(l *Losses, dz, z []float32, d int) { l.NormSoftmax(dz, dp, z, batch, d, p, 1000, lab, 0.05) }
		}()},
		{"kd-d256-teacher2048", 256, func() func(*Losses, []float32, []float32, int) {
			tw := vec(2048 * in)
			te := make([]float32, batch*2048)
			return func(l *Losses, dz, z []float32, d int) {
				mulT(te, x, batch, in, tw, 2048)
				l.KDDistance(dz, z, batch, d, te, 2048)
			}
		}()},
		{"prune-rows2048", 2048, func(l *Losses, dz, z []float32, d int) { l.Triplet(dz, z, batch, d, labels, 1, 2048) }},
	} {
		b.Run(c.name, func(b *testing.B) {
			h := NewHead(vec(c.d*in), in, c.d)
			dW := make([]float32, c.d*in)
			dz := make([]float32, batch*c.d)
			var l Losses
			b.ReportAllocs()
			for b.Loop() {
				z := h.Forward(x, batch)
				c.step(&l, dz, z, c.d)
				h.Backward(dW, dz, x)
			}
			b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}
