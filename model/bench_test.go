package model

import (
	"fmt"
	"runtime"
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

// BenchmarkEmbedParallel embeds songs on GOMAXPROCS goroutines at once, one
// Net each (sharing one Weights), as a worker with several cores does; run
// with GOMAXPROCS=2 for the two-core comparison of bench/embed/bench.py.
// s/song is wall time divided by the songs embedded (the inverse of the
// throughput), cpu-s/song the process CPU time per song.
func BenchmarkEmbedParallel(b *testing.B) {
	m := readManifest(b)
	w := mainWeights(b)
	for _, T := range []int{400, 2350} {
		b.Run(fmt.Sprintf("frames=%d", T), func(b *testing.B) {
			x := readF32(b, m.Inputs[fmt.Sprintf("t%d", T)].File)
			// One warmed-up Net per goroutine, handed out by a channel.
			p := runtime.GOMAXPROCS(0)
			nets := make(chan *Net, p)
			for range p {
				n := w.NewNet()
				if err := n.Embed(make([]float32, n.Dim()), x, ModelHop); err != nil {
					b.Fatal(err)
				}
				nets <- n
			}
			b.ReportAllocs()
			b.ResetTimer()
			cpu0 := cpuSeconds()
			b.RunParallel(func(pb *testing.PB) {
				n := <-nets
				dst := make([]float32, n.Dim())
				for pb.Next() {
					if err := n.Embed(dst, x, ModelHop); err != nil {
						b.Error(err)
						return
					}
				}
			})
			s := b.Elapsed().Seconds() / float64(b.N)
			b.ReportMetric(1/s, "songs/s")
			b.ReportMetric(s, "s/song")
			if cpu0 >= 0 {
				b.ReportMetric((cpuSeconds()-cpu0)/float64(b.N), "cpu-s/song")
			}
		})
	}
}
