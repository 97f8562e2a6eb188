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
	syrkAVX2 = syrkKernels{"avx2", 8,
		func(k int, a, b, c []float64) { tileAsm(kernel64AVX2, 8, k, a, b, c) },
		func(cuts []int, a, b []float64, dst []int64, offs [syrkMR]int) {
			accAsm(kernel64AccAVX2, 8, cuts, a, b, dst, offs)
		}}
	syrkAVX512 = syrkKernels{"avx512", 16,
		func(k int, a, b, c []float64) { tileAsm(kernel64AVX512, 16, k, a, b, c) },
		func(cuts []int, a, b []float64, dst []int64, offs [syrkMR]int) {
			accAsm(kernel64AccAVX512, 16, cuts, a, b, dst, offs)
		}}
)

func tileAsm(kern func(k int, a, b, c *float64), nr, k int, a, b, c []float64) {
	if k <= 0 {
		clear(c[:syrkMR*nr])
		return
	}
	_, _, _ = a[k*syrkMR-1], b[k*nr-1], c[syrkMR*nr-1]
	kern(k, &a[0], &b[0], &c[0])
}

func accAsm(kern func(cuts *int, ncuts int, a, b *float64, dst *int64, offs *[syrkMR]int), nr int,
	cuts []int, a, b []float64, dst []int64, offs [syrkMR]int) {
	n := cuts[len(cuts)-1]
	if n == 0 {
		return
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
	kern(&cuts[0], len(cuts), &a[0], &b[0], &dst[0], &offs)
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
