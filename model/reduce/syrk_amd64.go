package reduce

import "golang.org/x/sys/cpu"

// kernel64AVX2 is syrkKernel for AVX2+FMA (syrk_amd64.s).
//
//go:noescape
func kernel64AVX2(k int, a, b, c *float64)

// kernel64AccAVX2 is syrkAccKernel for AVX2+FMA (syrk_amd64.s).
//
//go:noescape
func kernel64AccAVX2(k int, a, b *float64, dst *int64, offs *[syrkMR]int)

func kernel64Asm(k int, a, b, c []float64) {
	_, _, _ = a[k*syrkMR-1], b[k*syrkNR-1], c[syrkMR*syrkNR-1]
	kernel64AVX2(k, &a[0], &b[0], &c[0])
}

func kernel64AccAsm(k int, a, b []float64, dst []int64, offs [syrkMR]int) {
	_, _ = a[k*syrkMR-1], b[k*syrkNR-1]
	for _, o := range offs {
		_ = dst[o+syrkNR-1]
	}
	kernel64AccAVX2(k, &a[0], &b[0], &dst[0], &offs)
}

func init() {
	if cpu.X86.HasAVX2 && cpu.X86.HasFMA {
		syrkKernel = kernel64Asm
		syrkAccKernel = kernel64AccAsm
	}
}
