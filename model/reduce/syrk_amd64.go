package reduce

import "golang.org/x/sys/cpu"

// kernel64AVX2 is syrkKernel for AVX2+FMA (syrk_amd64.s).
//
//go:noescape
func kernel64AVX2(k int, a, b, c *float64)

// kernel64AccAVX2 is syrkAccKernel for AVX2+FMA (syrk_amd64.s).
//
//go:noescape
func kernel64AccAVX2(cuts *int, ncuts int, a, b *float64, dst *int64, offs *[syrkMR]int)

func kernel64Asm(k int, a, b, c []float64) {
	_, _, _ = a[k*syrkMR-1], b[k*syrkNR-1], c[syrkMR*syrkNR-1]
	kernel64AVX2(k, &a[0], &b[0], &c[0])
}

func kernel64AccAsm(cuts []int, a, b []float64, dst []int64, offs [syrkMR]int) {
	n := cuts[len(cuts)-1]
	_, _ = a[n*syrkMR-1], b[n*syrkNR-1]
	prev := 0
	for _, c := range cuts {
		if c < prev {
			panic("reduce: kernel64AccAsm: decreasing cuts")
		}
		prev = c
	}
	for _, o := range offs {
		_ = dst[o+syrkNR-1]
	}
	kernel64AccAVX2(&cuts[0], len(cuts), &a[0], &b[0], &dst[0], &offs)
}

func init() {
	if cpu.X86.HasAVX2 && cpu.X86.HasFMA {
		syrkKernel = kernel64Asm
		syrkAccKernel = kernel64AccAsm
	}
}
