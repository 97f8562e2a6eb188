package model

import "golang.org/x/sys/cpu"

//go:noescape
func kernelAVX2(k int, a, b, c *float32)

//go:noescape
func kernelAVX512(k int, a, b, c *float32)

var (
	kernAVX2 = microKernel{"avx2", 16, func(k int, a, b, c []float32) {
		_, _, _ = a[k*mr-1], b[k*16-1], c[mr*16-1]
		kernelAVX2(k, &a[0], &b[0], &c[0])
	}}
	kernAVX512 = microKernel{"avx512", 32, func(k int, a, b, c []float32) {
		_, _, _ = a[k*mr-1], b[k*32-1], c[mr*32-1]
		kernelAVX512(k, &a[0], &b[0], &c[0])
	}}
)

func init() {
	switch {
	case cpu.X86.HasAVX512F:
		kern = kernAVX512
	case cpu.X86.HasAVX2 && cpu.X86.HasFMA:
		kern = kernAVX2
	}
}
