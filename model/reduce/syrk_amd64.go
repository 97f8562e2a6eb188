package reduce

import "golang.org/x/sys/cpu"

//go:noescape
func kernel64AVX2(k int, a, b, c *float64)

//go:noescape
func kernel64AccAVX2(cuts *int, ncuts int, a, b *float64, dst *int64, offs *[syrkMR]int)

//go:noescape
func kernel64AVX512(k int, a, b, c *float64)

//go:noescape
func kernel64AccAVX512(cuts *int, ncuts int, a, b *float64, dst *int64, offs *[syrkMR]int)

// Micro-kernels in syrk_amd64.s: 6×8 tiles with AVX2+FMA, 6×16 with
// AVX-512 (F and DQ, for the exact float64 → int64 conversion).
var (
	syrkAVX2   = syrkKernels{"avx2", 8, 1 << 51, tileAVX2, accAVX2}
	syrkAVX512 = syrkKernels{"avx512", 16, 1 << 53, tileAVX512, accAVX512}
)

// The wrappers check bounds, then call the assembly directly (not through a
// func value, which would make offs escape: one allocation per tile).

func tileAVX2(k int, a, b, c []float64) {
	if tileOK(8, k, a, b, c) {
		kernel64AVX2(k, &a[0], &b[0], &c[0])
	}
}

func tileAVX512(k int, a, b, c []float64) {
	if tileOK(16, k, a, b, c) {
		kernel64AVX512(k, &a[0], &b[0], &c[0])
	}
}

func accAVX2(cuts []int, a, b []float64, dst []int64, offs [syrkMR]int) {
	if accOK(8, cuts, a, b, dst, &offs) {
		kernel64AccAVX2(&cuts[0], len(cuts), &a[0], &b[0], &dst[0], &offs)
	}
}

func accAVX512(cuts []int, a, b []float64, dst []int64, offs [syrkMR]int) {
	if accOK(16, cuts, a, b, dst, &offs) {
		kernel64AccAVX512(&cuts[0], len(cuts), &a[0], &b[0], &dst[0], &offs)
	}
}

// tileOK checks a tile call's bounds; it clears c and reports false for k = 0.
func tileOK(nr, k int, a, b, c []float64) bool {
	if k <= 0 {
		clear(c[:syrkMR*nr])
		return false
	}
	_, _, _ = a[k*syrkMR-1], b[k*nr-1], c[syrkMR*nr-1]
	return true
}

// accOK checks an accumulating call's bounds; false means no rows.
func accOK(nr int, cuts []int, a, b []float64, dst []int64, offs *[syrkMR]int) bool {
	n := cuts[len(cuts)-1]
	if n == 0 {
		return false
	}
	_, _ = a[n*syrkMR-1], b[n*nr-1]
	prev := 0
	for _, c := range cuts {
		if c < prev {
			panic("reduce: syrk kernel: decreasing cuts")
		}
		prev = c
	}
	for _, o := range offs {
		_ = dst[o+nr-1]
	}
	return true
}

func init() {
	switch {
	case cpu.X86.HasAVX512F && cpu.X86.HasAVX512DQ:
		syrkK = syrkAVX512
	case cpu.X86.HasAVX2 && cpu.X86.HasFMA:
		syrkK = syrkAVX2
	}
}

// syrkAvailable returns the kernel sets this CPU can run (for tests).
func syrkAvailable() []syrkKernels {
	out := []syrkKernels{syrkGo}
	if cpu.X86.HasAVX2 && cpu.X86.HasFMA {
		out = append(out, syrkAVX2)
	}
	if cpu.X86.HasAVX512F && cpu.X86.HasAVX512DQ {
		out = append(out, syrkAVX512)
	}
	return out
}
