package model

import "golang.org/x/sys/cpu"

//go:generate sh -c "python3 fft_amd64_gen.py > fft_amd64.s"

//go:noescape
func fftCmulAVX2(dst, w, x *float32, add bool)

//go:noescape
func fftPassAVX2(d, tw *float32, h int)

//go:noescape
func fftPass2AVX2(d, tw, tw2 *float32, h int)

//go:noescape
func fftEpilogueAVX2(out, d *float32, rows *int32, nt int, inv, bias *float32, a float32)

//go:noescape
func fftCmulAVX512(dst, w, x *float32, add bool)

//go:noescape
func fftPassAVX512(d, tw *float32, h int)

//go:noescape
func fftPass2AVX512(d, tw, tw2 *float32, h int)

//go:noescape
func fftEpilogueSymAVX512(out, d *float32, rows *int32, nt int, inv, bias *float32, a float32)

//go:noescape
func fftEpilogueAVX512(out, d *float32, rows *int32, nt int, inv, bias *float32, a float32)

// fftAsm wraps the assembly kernels with the bounds checks they rely on.
func fftAsm(name string,
	cmul func(dst, w, x *float32, add bool),
	pass func(d, tw *float32, h int),
	pass2 func(d, tw, tw2 *float32, h int),
	epi func(out, d *float32, rows *int32, nt int, inv, bias *float32, a float32)) fftKernels {
	return fftKernels{
		name: name,
		cmul: func(dst, g, x []float32, add bool) {
			_, _, _ = dst[fftSlab-1], g[fftSlab-1], x[2*fftLen-1]
			cmul(&dst[0], &g[0], &x[0], add)
		},
		pass: func(d, tw []float32, h int) {
			if h < 1 || h > fftLen/2 || fftLen%(2*h) != 0 {
				panic("model: fft pass span")
			}
			_, _ = d[fftSlab-1], tw[2*h-1]
			pass(&d[0], &tw[0], h)
		},
		pass2: func(d, tw, tw2 []float32, h int) {
			if h < 2 || h > fftLen/2 || fftLen%(2*h) != 0 {
				panic("model: fft pass span")
			}
			_, _, _ = d[fftSlab-1], tw[2*h-1], tw2[h-1]
			pass2(&d[0], &tw[0], &tw2[0], h)
		},
		epilogue: func(out, d []float32, rows []int32, inv, bias []float32, a float32) {
			if len(rows) == 0 {
				return
			}
			_, _, _, _ = out[len(rows)*fftLanes-1], d[fftXfs*fftSlab-1], inv[fftInvLen-1], bias[fftLanes-1]
			for _, r := range rows {
				if r < 0 || r >= fftLen {
					panic("model: fft epilogue row")
				}
			}
			epi(&out[0], &d[0], &rows[0], len(rows), &inv[0], &bias[0], a)
		},
	}
}

var (
	fftKernelsAVX2   = fftAsm("avx2", fftCmulAVX2, fftPassAVX2, fftPass2AVX2, fftEpilogueAVX2)
	fftKernelsAVX512 = fftAsm("avx512", fftCmulAVX512, fftPassAVX512, fftPass2AVX512, fftEpilogueSymAVX512)
)

func init() {
	switch {
	case cpu.X86.HasAVX512F:
		fftKern = fftKernelsAVX512
	case cpu.X86.HasAVX2 && cpu.X86.HasFMA:
		fftKern = fftKernelsAVX2
	}
}
