package model

import (
	"testing"
)

// BenchmarkStages times each stage of the forward pass on the 2,350-frame
// golden input (sum4-fa3-d256 checkpoint) and reports its arithmetic rate,
// GFLOP/s = 2·MACs / CPU seconds (process CPU time, so a loaded machine's
// waiting is not counted; run with GOMAXPROCS=1). bench/RESULTS.md compares
// the rates with the core's peak.
func BenchmarkStages(b *testing.B) {
	m := readManifest(b)
	n := mainWeights(b).NewNet()
	x := readF32(b, m.Inputs["t2350"].File)
	dst := make([]float32, n.Dim())
	if err := n.Embed(dst, x, ModelHop); err != nil { // sets n.x, n.rot and the buffers
		b.Fatal(err)
	}
	w := n.w
	tx := len(n.x) / PitchClasses
	c5 := w.variant.conv5Channels()
	t1 := tx - k1 + 1
	t2 := t1 - (kTime - 1)
	t3 := t2 - (kTime-1)*dil3
	t4 := t3 - (kTime - 1)
	t5 := t4 - (kTime-1)*dil5
	a1, a2, a3, a4, a5 := n.even[:channels*t1], n.odd[:channels*t2], n.even[:channels*t3], n.odd[:channels*t4], n.even[:c5*t5]
	convMACs := func(m, t int) float64 { return float64(m) * float64(channels*kTime) * float64(t) }
	// Spectral conv1: Ĉ_0, Ĉ_6 (256×180), Ĉ_1..5 (512×360), the 12×12
	// inverse DFT per channel and column.
	conv1MACs := float64(t1) * (2*channels*k1 + (pitchBins-2)*2*channels*2*k1 + PitchClasses*specBlocks*channels)
	stages := []struct {
		name string
		macs float64
		run  func()
	}{
		{"conv1", conv1MACs, func() { n.conv1Spectral(a1, tx, t1) }},
		{"conv2", convMACs(channels, t2), func() { n.conv(a2, t2, w.conv2, channels, w.bias[1], w.slopes[1], a1, t1, 1) }},
		{"conv3", convMACs(channels, t3), func() { n.conv(a3, t3, w.conv3, channels, w.bias[2], w.slopes[2], a2, t2, dil3) }},
		{"conv4", convMACs(channels, t4), func() { n.conv(a4, t4, w.conv4, channels, w.bias[3], w.slopes[3], a3, t3, 1) }},
		{"conv5", convMACs(c5, t5), func() { n.conv(a5, t5, w.conv5, c5, w.bias[4], w.slopes[4], a4, t4, dil5) }},
		{"pool+head", 0, func() { n.summarize(a5, t5); n.head(dst) }},
	}
	for _, st := range stages {
		b.Run(st.name, func(b *testing.B) {
			b.ReportAllocs()
			cpu0 := cpuSeconds()
			for b.Loop() {
				st.run()
			}
			cpu := (cpuSeconds() - cpu0) / float64(b.N)
			b.ReportMetric(cpu, "cpu-s/op")
			if st.macs > 0 && cpu > 0 {
				b.ReportMetric(2*st.macs/cpu/1e9, "GFLOP/s")
			}
			b.ReportMetric(st.macs/1e9, "GMAC")
		})
	}
}
