package model

import (
	"math"
	"math/rand/v2"
	"testing"
)

// The portable FFT kernels give PyTorch's embedding.
func TestFFTKernelsGoParity(t *testing.T) {
	m := readManifest(t)
	saved := fftKern
	defer func() { fftKern = saved }()
	fftKern = fftKernelsGo
	testKernelParity(t, m)
}

// With every portable kernel at once (GEMM, FFT, softmax), as on a CPU
// without AVX2, the embedding still matches PyTorch.
func TestAllPortableKernelsParity(t *testing.T) {
	m := readManifest(t)
	k, f, a := kern, fftKern, attendVec
	defer func() { kern, fftKern, attendVec = k, f, a }()
	kern, fftKern, attendVec = microKernel{"go16", 16, kernelGo16}, fftKernelsGo, nil
	testKernelParity(t, m)
}

// fftForward matches the DFT's definition.
func TestFFTForward(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	s := &fftConv1{ftw: make([]complex128, fftLen/2)}
	for k := range s.ftw {
		th := -2 * math.Pi * float64(k) / fftLen
		s.ftw[k] = complex(math.Cos(th), math.Sin(th))
	}
	for _, n := range []int{1, 2, 8, fftLen} {
		a := make([]complex128, n)
		for i := range a {
			a[i] = complex(rng.NormFloat64(), rng.NormFloat64())
		}
		want := make([]complex128, n)
		for f := range want {
			for m, v := range a {
				th := -2 * math.Pi * float64(f*m%n) / float64(n)
				want[f] += v * complex(math.Cos(th), math.Sin(th))
			}
		}
		fftForward(a, s.ftw)
		for f := range a {
			if d := cmplxAbs(a[f] - want[f]); d > 1e-9*float64(n) {
				t.Fatalf("n=%d f=%d: got %v, want %v", n, f, a[f], want[f])
			}
		}
	}
}

func cmplxAbs(z complex128) float64 { return math.Hypot(real(z), imag(z)) }

// compareFFTKernels runs k and ref on the same random data, kernel by
// kernel, and checks they agree to float32 rounding.
func compareFFTKernels(t *testing.T, k, ref fftKernels) {
	rng := rand.New(rand.NewPCG(3, 4))
	fill := func(n int) []float32 {
		s := make([]float32, n)
		for i := range s {
			s[i] = float32(rng.NormFloat64())
		}
		return s
	}
	check := func(what string, got, want []float32, tol float64) {
		t.Helper()
		for i := range want {
			if d := math.Abs(float64(got[i] - want[i])); !(d <= tol*(1+math.Abs(float64(want[i])))) {
				t.Fatalf("%s %s [%d]: got %v, want %v", k.name, what, i, got[i], want[i])
			}
		}
	}
	g, x := fill(fftSlab), fill(2*fftLen)
	for _, add := range []bool{false, true} {
		d0 := fill(fftSlab)
		d1 := append([]float32(nil), d0...)
		k.cmul(d0, g, x, add)
		ref.cmul(d1, g, x, add)
		check("cmul", d0, d1, 1e-5)
	}
	s := newFFTConv1(fill(channels * k1Len))
	tw := s.tw
	d0 := fill(fftSlab)
	d1 := append([]float32(nil), d0...)
	for h := fftLen / 2; h >= 1; h /= 2 {
		d0 = fill(fftSlab)
		d1 = append(d1[:0], d0...)
		k.pass(d0, tw[:2*h], h)
		ref.pass(d1, tw[:2*h], h)
		check("pass", d0, d1, 1e-5)
		tw = tw[2*h:]
	}
	tw = s.tw
	for h := fftLen / 2; h >= 2; h /= 2 {
		d0 = fill(fftSlab)
		d1 = append(d1[:0], d0...)
		k.pass2(d0, tw[:2*h], tw[2*h:3*h], h)
		ref.pass2(d1, tw[:2*h], tw[2*h:3*h], h)
		check("pass2", d0, d1, 1e-5)
		tw = tw[2*h:]
	}
	d := fill(fftXfs * fftSlab)
	bias := fill(fftLanes)
	for _, a := range []float32{0.25, -0.5} {
		o0, o1 := make([]float32, fftValid*fftLanes), make([]float32, fftValid*fftLanes)
		k.epilogue(o0, d, s.rows, s.inv, bias, a)
		ref.epilogue(o1, d, s.rows, s.inv, bias, a)
		check("epilogue", o0, o1, 1e-5)
	}
}

// conv1 by FFT equals the direct conv1 (the reference's computation) on
// conv1's own output, for PReLU slopes of either sign (the max over pitch
// is taken after PReLU), several blocks and a partial last block, with the
// default and the portable FFT kernels.
func TestFFTConv1MatchesDirect(t *testing.T) {
	w := mainWeights(t)
	saved := fftKern
	defer func() { fftKern = saved }()
	n := w.NewNet()
	for _, T := range []int{320, 1000} {
		x := randomCrema(T, uint64(T))
		if err := n.Embed(make([]float32, n.Dim()), x, ModelHop); err != nil { // sets n.x, n.rot
			t.Fatal(err)
		}
		tx := len(n.x) / PitchClasses
		t1 := tx - k1 + 1
		for _, slope := range []float32{0.25, -0.6, 1.5} {
			wa := *w
			wa.slopes[0] = slope
			n.w = &wa
			want := make([]float32, channels*t1)
			n.conv1Direct(want, tx, t1)
			neg := 0
			for _, v := range want {
				if v < 0 {
					neg++
				}
			}
			// With a > 0, negative outputs are (c, t) whose 12 pre-activations
			// are all negative: with a < 0 those take the min path.
			if slope > 0 && (neg == 0 || neg == len(want)) {
				t.Fatalf("T=%d slope=%v: %d of %d outputs negative; the test needs both signs", T, slope, neg, len(want))
			}
			for _, k := range []fftKernels{saved, fftKernelsGo} {
				fftKern = k
				got := make([]float32, channels*t1)
				n.conv1FFT(got, tx, t1)
				worst := 0.0
				for i := range want {
					worst = max(worst, math.Abs(float64(got[i]-want[i])))
					if d := math.Abs(float64(got[i] - want[i])); !(d <= 1e-4*(1+math.Abs(float64(want[i])))) {
						t.Fatalf("T=%d slope=%v %s: a1[%d] = %v, direct %v", T, slope, k.name, i, got[i], want[i])
					}
				}
				t.Logf("T=%d slope=%v %s: max |Δ| = %.2g", T, slope, k.name, worst)
			}
		}
		n.w = w
	}
}
