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
	// FFT conv1 (fft.go), FLOPs actually done per block: the forward
	// time FFTs of the 7 pitch bins (5·N·log2 N each), the products with
	// the kernel spectra (6 FLOPs per complex product, 7 per channel and
	// frequency, plus the add of the paired u = 6), 6 inverse FFTs per
	// channel (N/2·log2 N butterflies of 10 FLOPs), and the epilogue per
	// valid output and channel: the 12×12 matrix (288) and max/min (22),
	// or with the AVX-512 kernel its symmetric form (2 per nonzero E or O
	// coefficient, then |O|, E ± |O| and max/min: 3·5 + 2·12); bias and
	// PReLU 8. FLOPs, not MACs: conv1Flops/2 is reported as GMAC.
	epi := 2.0*PitchClasses*specBlocks + 22
	if fftKern.name == "avx512" {
		nz := 0
		for i := fftSym; i < fftInvLen; i += fftLanes {
			if w.fft.inv[i] != 0 {
				nz++
			}
		}
		epi = float64(2*nz + 3*5 + 2*PitchClasses)
	}
	blocks := (t1 + fftValid - 1) / fftValid
	conv1Flops := float64(blocks)*(fftBins*5*fftLen*fftLog+
		channels*fftLen*(fftBins*6+2)+
		fftXfs*channels*fftLen/2*fftLog*10) +
		float64(t1)*channels*(epi+8)
	// The direct convolution it replaces: 12 pitch positions × 2160 taps.
	directMACs := float64(t1) * channels * PitchClasses * k1Len
	stages := []struct {
		name string
		macs float64
		run  func()
	}{
		{"conv1", conv1Flops / 2, func() { n.conv1FFT(a1, tx, t1) }},
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
			if st.name == "conv1" && cpu > 0 {
				b.ReportMetric(2*directMACs/cpu/1e9, "direct-GFLOP/s")
			}
		})
	}
}
