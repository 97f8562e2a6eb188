package model

import (
	"testing"

	"golang.org/x/sys/cpu"
)

// Every assembly kernel the CPU can run matches PyTorch, whichever init
// chose.
func TestKernelAsmParity(t *testing.T) {
	m := readManifest(t)
	saved := kern
	defer func() { kern = saved }()
	if !cpu.X86.HasAVX2 || !cpu.X86.HasFMA {
		t.Skip("needs AVX2+FMA: this CPU runs the portable kernel")
	}
	kern = kernAVX2
	testKernelParity(t, m)
	if !cpu.X86.HasAVX512F {
		t.Skip("needs AVX-512F for the avx512 kernel")
	}
	kern = kernAVX512
	testKernelParity(t, m)
}
