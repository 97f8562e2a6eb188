package model

import (
	"fmt"
	"testing"
)

// BenchmarkEmbed embeds one song of the given length (hop 4096) with the
// sum4-fa3-d256 golden checkpoint and the golden inputs
// (testdata/parity/in_t<T>.f32). bench/embed/bench.py times PyTorch on the
// same checkpoint and inputs and prints the ratio.
func BenchmarkEmbed(b *testing.B) {
	m := readManifest(b)
	n := mainWeights(b).NewNet()
	for _, T := range []int{400, 2350} {
		b.Run(fmt.Sprintf("frames=%d", T), func(b *testing.B) {
			x := readF32(b, m.Inputs[fmt.Sprintf("t%d", T)].File)
			dst := make([]float32, n.Dim())
			if err := n.Embed(dst, x, ModelHop); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			cpu0 := cpuSeconds()
			for b.Loop() {
				if err := n.Embed(dst, x, ModelHop); err != nil {
					b.Fatal(err)
				}
			}
			s := b.Elapsed().Seconds() / float64(b.N)
			b.ReportMetric(1/s, "songs/s")
			b.ReportMetric(s, "s/song")
			if cpu0 >= 0 {
				// CPU time of the whole process (GC included): with
				// GOMAXPROCS=1 it is the cost without the neighbours' load.
				b.ReportMetric((cpuSeconds()-cpu0)/float64(b.N), "cpu-s/song")
			}
		})
	}
}
