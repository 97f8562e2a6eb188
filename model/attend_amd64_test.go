package model

import (
	"math"
	"math/rand/v2"
	"testing"

	"golang.org/x/sys/cpu"
)

// The vector softmax sums agree with the portable loop, whatever the
// length, scale sign and range of the logits.
func TestAttendAsm(t *testing.T) {
	saved := attendVec
	defer func() { attendVec = saved }()
	if !cpu.X86.HasAVX2 || !cpu.X86.HasFMA {
		t.Skip("needs AVX2+FMA")
	}
	kernels := map[string]func(val, logit []float32, scale, zmax float64) (float64, float64){"avx2": attendSumsAVX2}
	if cpu.X86.HasAVX512F {
		kernels["avx512"] = attendSumsAVX512
	}
	rng := rand.New(rand.NewPCG(5, 6))
	for name, k := range kernels {
		for _, n := range []int{1, 7, 8, 9, 100, 2150} {
			for _, scale := range []float64{1, 3.5, -2} {
				val, logit := make([]float32, n), make([]float32, n)
				for i := range val {
					val[i] = float32(rng.NormFloat64())
					logit[i] = float32(rng.NormFloat64() * 200)
				}
				attendVec = nil
				want := attend(val, logit, scale)
				attendVec = k
				got := attend(val, logit, scale)
				if d := math.Abs(float64(got - want)); !(d <= 1e-6*(1+math.Abs(float64(want)))) {
					t.Errorf("%s n=%d scale=%v: got %v, want %v", name, n, scale, got, want)
				}
			}
		}
	}
	// The embeddings still match PyTorch without the vector path.
	attendVec = nil
	testKernelParity(t, readManifest(t))
}
