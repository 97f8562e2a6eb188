package model

import "golang.org/x/sys/cpu"

//go:noescape
func kernelAVX2(k int, a, b, c *float32)

func kernelAVX2Slices(k int, a, b, c []float32) {
	_ = a[k*mr-1]
	_ = b[k*nr-1]
	_ = c[mr*nr-1]
	kernelAVX2(k, &a[0], &b[0], &c[0])
}

func init() {
	if cpu.X86.HasAVX2 && cpu.X86.HasFMA {
		kernel = kernelAVX2Slices
	}
}
