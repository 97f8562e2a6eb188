package model

import (
	"testing"

	"golang.org/x/sys/cpu"
)

// Every FFT kernel set the CPU can run gives PyTorch's embedding and, kernel
// by kernel, the portable kernels' results.
func TestFFTKernelsAsm(t *testing.T) {
	m := readManifest(t)
	saved := fftKern
	defer func() { fftKern = saved }()
	if !cpu.X86.HasAVX2 || !cpu.X86.HasFMA {
		t.Skip("needs AVX2+FMA: this CPU runs the portable FFT kernels")
	}
	sets := []fftKernels{fftKernelsAVX2}
	if cpu.X86.HasAVX512F {
		sets = append(sets, fftKernelsAVX512)
	}
	for _, k := range sets {
		t.Run(k.name, func(t *testing.T) {
			compareFFTKernels(t, k, fftKernelsGo)
			fftKern = k
			testKernelParity(t, m)
		})
	}
}
