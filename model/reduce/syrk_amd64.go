package reduce

import "golang.org/x/sys/cpu"

// kernel64AVX2 is syrkKernel for AVX2+FMA (syrk_amd64.s).
//
//go:noescape
func kernel64AVX2(k int, a, b, c *float64)

func kernel64Asm(k int, a, b, c []float64) {
	_, _, _ = a[k*syrkMR-1], b[k*syrkNR-1], c[syrkMR*syrkNR-1]
	kernel64AVX2(k, &a[0], &b[0], &c[0])
}

func init() {
	if cpu.X86.HasAVX2 && cpu.X86.HasFMA {
		syrkKernel = kernel64Asm
	}
}
