package model

import (
	"math"
	"math/bits"
)

// conv1 by FFT along time as well as along pitch (the default).
//
// In the pitch-DFT domain (conv1.go) conv1 is, for each output channel c and
// pitch bin u = 0..6, a 180-tap linear correlation along time:
//
//	Ĉ_u[c,t] = Σ_k conj(Ŵ_u[c,k]) · X̂_u[t+k]
//
// fftConv1 evaluates it by overlap-save: the input is cut into blocks of
// fftLen frames that overlap by k1−1, so each block yields fftValid outputs.
// With Xf_u the block's DFT of X̂_u and Hc_u[c,f] = conj(DFT(Ŵ_u[c,·]))[f]
// (computed once, at load), Ĉ_u on the block is the inverse DFT of
// Xf_u·Hc_u; its first fftValid values are the linear correlation.
// Ĉ_0 and Ĉ_6 are real, so one inverse transform of Xf_0·Hc_0 + i·Xf_6·Hc_6
// gives both (real and imaginary parts): six inverse FFTs per channel and
// block in all.
//
// The inverse FFTs run on fftLanes (16) channels at once: a transform's data
// is [fftLen][32] float32, row f holding the 16 channels' real parts and then
// their imaginary parts, so every radix-2 butterfly is a vector operation
// with a broadcast twiddle (fft_amd64.s; fftKernelsGo is the portable
// version). The butterflies are decimation in frequency, so the outputs come
// out in bit-reversed order; the epilogue reads them through fftConv1.rows.
// The epilogue applies the inverse 12-point pitch DFT (a 12×12 matrix), the
// bias, PReLU and the max over the 12 pitch positions, 16 channels at a time.
//
// The scale factors 1/fftLen (inverse time DFT) and 1/12 (inverse pitch DFT)
// are folded into Hc and the epilogue's matrix.

const (
	fftLen    = 512             // time-FFT length of a block
	fftLog    = 9               // log2(fftLen)
	fftValid  = fftLen - k1 + 1 // outputs per block (333)
	fftLanes  = 16              // channels per vector transform
	fftRow    = 2 * fftLanes    // float32s in one row (re[16], im[16])
	fftSlab   = fftLen * fftRow // float32s in one transform
	fftXfs    = 6               // inverse transforms per channel group
	fftBins   = pitchBins       // kernel spectra per channel group (u = 0..6)
	fftGroup  = channels / fftLanes
	fftSym    = PitchClasses * specBlocks * fftLanes // offset of sym in fftConv1.inv
	fftInvLen = fftSym + 2*(PitchClasses/2+1)*specBlocks*fftLanes
)

// fftConv1 is conv1's weights transformed along pitch and time.
type fftConv1 struct {
	g    []float32 // Hc_u/(12·fftLen)·… : [group][u][fftLen][32], see newFFTConv1
	tw   []float32 // inverse twiddles per stage h = fftLen/2..1: h (cos, sin) pairs each
	rows []int32   // rows[t] = bit-reversed t: where output t of a block lies
	inv  []float32 // [12][12][16]: inv[j][q] broadcast over 16 lanes, then sym
	// sym, in inv after the matrix: [2][7][12][16], the inverse pitch DFT
	// split by its symmetry (y_j = E_j − O_j, y_{12−j} = E_j + O_j): E's
	// coefficients, then O's, for j = 0..6 (fftEpilogueSymAVX512).
	ftw []complex128 // forward twiddles e^{−2πik/fftLen}, k < fftLen/2
}

// newFFTConv1 transforms W ("conv1.weight" [256][12][180]).
func newFFTConv1(W []float32) *fftConv1 {
	s := &fftConv1{
		g:    make([]float32, fftGroup*fftBins*fftSlab),
		rows: make([]int32, fftValid),
		inv:  make([]float32, fftInvLen),
		ftw:  make([]complex128, fftLen/2),
	}
	for k := range s.ftw {
		th := -2 * math.Pi * float64(k) / fftLen
		s.ftw[k] = complex(math.Cos(th), math.Sin(th))
	}
	for h := fftLen / 2; h >= 1; h /= 2 {
		for k := 0; k < h; k++ {
			th := math.Pi * float64(k) / float64(h)
			s.tw = append(s.tw, float32(math.Cos(th)), float32(math.Sin(th)))
		}
	}
	for t := range s.rows {
		s.rows[t] = int32(bits.Reverse32(uint32(t)) >> (32 - fftLog))
	}
	for j := 0; j < PitchClasses; j++ {
		var g [specBlocks]float64
		g[0] = 1
		g[1] = float64(1 - 2*(j%2))
		for u := 1; u < pitchBins-1; u++ {
			th := 2 * math.Pi * float64(u*j%PitchClasses) / PitchClasses
			g[2*u] = 2 * math.Cos(th)
			g[2*u+1] = -2 * math.Sin(th)
		}
		for q, v := range g {
			for l := 0; l < fftLanes; l++ {
				s.inv[(j*specBlocks+q)*fftLanes+l] = float32(v / PitchClasses)
			}
		}
	}
	for j := 0; j <= PitchClasses/2; j++ {
		var e, o [specBlocks]float64
		e[0] = 1
		e[1] = float64(1 - 2*(j%2))
		for u := 1; u < pitchBins-1; u++ {
			// exact zeros where uj is an odd multiple of 3 (cos) or of 6 (sin)
			if u*j%6 != 3 {
				e[2*u] = 2 * math.Cos(2*math.Pi*float64(u*j%PitchClasses)/PitchClasses)
			}
			if u*j%6 != 0 {
				o[2*u+1] = 2 * math.Sin(2*math.Pi*float64(u*j%PitchClasses)/PitchClasses)
			}
		}
		for q := 0; q < specBlocks; q++ {
			for l := 0; l < fftLanes; l++ {
				s.inv[fftSym+(j*specBlocks+q)*fftLanes+l] = float32(e[q] / PitchClasses)
				s.inv[fftSym+((PitchClasses/2+1+j)*specBlocks+q)*fftLanes+l] = float32(o[q] / PitchClasses)
			}
		}
	}
	// Hc_u[c,f] = conj(Σ_k Ŵ_u[c,k] e^{−2πifk/N}) / N, Ŵ_u[c,k] = Σ_r W[c,r,k] e^{−2πiur/12}.
	var e [PitchClasses]complex128 // e^{−2πip/12}
	for p := range e {
		th := -2 * math.Pi * float64(p) / PitchClasses
		e[p] = complex(math.Cos(th), math.Sin(th))
	}
	wu := make([]complex128, fftLen)
	for c := 0; c < channels; c++ {
		for u := 0; u < fftBins; u++ {
			clear(wu)
			for k := 0; k < k1; k++ {
				var z complex128
				for r := 0; r < PitchClasses; r++ {
					z += complex(float64(W[c*k1Len+r*k1+k]), 0) * e[u*r%PitchClasses]
				}
				wu[k] = z
			}
			fftForward(wu, s.ftw)
			slab := s.g[((c/fftLanes)*fftBins+u)*fftSlab:][:fftSlab]
			l := c % fftLanes
			for f, z := range wu {
				slab[f*fftRow+l] = float32(real(z) / fftLen)
				slab[f*fftRow+fftLanes+l] = float32(-imag(z) / fftLen)
			}
		}
	}
	return s
}

// fftForward replaces a (len a power of two, ≤ 2·len(tw)) by its DFT
// Σ_m a[m] e^{−2πifm/len(a)}: iterative radix-2, decimation in time.
func fftForward(a []complex128, tw []complex128) {
	n := len(a)
	shift := 64 - bits.TrailingZeros(uint(n))
	for i := range a {
		if j := int(bits.Reverse64(uint64(i)) >> shift); j > i {
			a[i], a[j] = a[j], a[i]
		}
	}
	for h := 1; h < n; h *= 2 {
		step := len(tw) / h
		for g := 0; g < n; g += 2 * h {
			for k := 0; k < h; k++ {
				b := a[g+k+h] * tw[k*step]
				a[g+k+h] = a[g+k] - b
				a[g+k] += b
			}
		}
	}
}

// fftKernels are the vector kernels of conv1FFT; fftKern is chosen in init
// (fft_amd64.go), tests swap it to check the portable ones.
type fftKernels struct {
	name string
	// cmul sets (add=false) or adds to dst[f] the product x[f]·g[f]: x[f]
	// is one complex number (x[2f], x[2f+1]), g[f] and dst[f] rows of 16.
	cmul func(dst, g, x []float32, add bool)
	// pass runs the radix-2 DIF stage of span h on d ([fftLen][32]) with
	// twiddles tw[k] = (cos, sin)(πk/h), k < h.
	pass func(d, tw []float32, h int)
	// pass2 runs the stages of span h and h/2 (h ≥ 2) in one sweep over d,
	// as pass(d, tw, h) then pass(d, tw2, h/2) would.
	pass2 func(d, tw, tw2 []float32, h int)
	// epilogue: for t < len(rows), reads the 12 real rows of the six
	// transforms in d at row rows[t], applies inv, adds bias, PReLU with
	// slope a, the max over the 12 pitches; writes out[t*16:][:16].
	epilogue func(out, d []float32, rows []int32, inv, bias []float32, a float32)
}

var fftKernelsGo = fftKernels{"go", cmulGo, passGo, pass2Go, epilogueGo}

var fftKern = fftKernelsGo

func cmulGo(dst, g, x []float32, add bool) {
	for f := 0; f < fftLen; f++ {
		xr, xi := x[2*f], x[2*f+1]
		gr, gi := g[f*fftRow:][:fftLanes], g[f*fftRow+fftLanes:][:fftLanes]
		dr, di := dst[f*fftRow:][:fftLanes], dst[f*fftRow+fftLanes:][:fftLanes]
		for l := range dr {
			re := xr*gr[l] - xi*gi[l]
			im := xr*gi[l] + xi*gr[l]
			if add {
				re += dr[l]
				im += di[l]
			}
			dr[l], di[l] = re, im
		}
	}
}

func passGo(d, tw []float32, h int) {
	for g := 0; g < fftLen; g += 2 * h {
		for k := 0; k < h; k++ {
			c, s := tw[2*k], tw[2*k+1]
			a, b := d[(g+k)*fftRow:][:fftRow], d[(g+k+h)*fftRow:][:fftRow]
			for l := 0; l < fftLanes; l++ {
				ar, ai, br, bi := a[l], a[fftLanes+l], b[l], b[fftLanes+l]
				a[l], a[fftLanes+l] = ar+br, ai+bi
				dr, di := ar-br, ai-bi
				b[l], b[fftLanes+l] = dr*c-di*s, dr*s+di*c
			}
		}
	}
}

func pass2Go(d, tw, tw2 []float32, h int) {
	passGo(d, tw, h)
	passGo(d, tw2, h/2)
}

func epilogueGo(out, d []float32, rows []int32, inv, bias []float32, a float32) {
	var v [specBlocks]float32
	for t, r := range rows {
		o := out[t*fftLanes:][:fftLanes]
		for l := 0; l < fftLanes; l++ {
			for q := 0; q < fftXfs; q++ {
				row := d[q*fftSlab+int(r)*fftRow:][:fftRow]
				v[2*q], v[2*q+1] = row[l], row[fftLanes+l]
			}
			var mx, mn float32
			for j := 0; j < PitchClasses; j++ {
				y := inv[j*specBlocks*fftLanes+l] * v[0]
				for q := 1; q < specBlocks; q++ {
					y += inv[(j*specBlocks+q)*fftLanes+l] * v[q]
				}
				if j == 0 || y > mx {
					mx = y
				}
				if j == 0 || y < mn {
					mn = y
				}
			}
			o[l] = max(preluOne(mx+bias[l], a), preluOne(mn+bias[l], a))
		}
	}
}

// preluOne is PReLU as the epilogues compute it: max(v,0) + a·min(v,0).
func preluOne(v, a float32) float32 {
	return max(v, 0) + a*min(v, 0)
}

// conv1FFT computes a1 [256][t1] from n.x [12][tx].
func (n *Net) conv1FFT(a1 []float32, tx, t1 int) {
	s := n.w.fft
	k := fftKern
	xs := n.pitchDFT(tx)
	n.fbuf = grow(n.fbuf, fftXfs*fftSlab)
	n.xf = grow(n.xf, fftBins*2*fftLen)
	n.etmp = grow(n.etmp, fftValid*fftLanes)
	if cap(n.xc) < fftLen {
		n.xc = make([]complex128, fftLen)
	}
	xc := n.xc[:fftLen]
	bias, slope := n.w.bias[0], n.w.slopes[0]
	for t0 := 0; t0 < t1; t0 += fftValid {
		nv := min(fftValid, t1-t0)
		// Xf_u for u = 0..6; for u = 6 store i·Xf_6.
		for u := 0; u < fftBins; u++ {
			re, im := xs[2*u*tx:(2*u+1)*tx], xs[(2*u+1)*tx:(2*u+2)*tx]
			m := min(fftLen, tx-t0)
			for i := 0; i < m; i++ {
				xc[i] = complex(float64(re[t0+i]), float64(im[t0+i]))
			}
			clear(xc[m:])
			fftForward(xc, s.ftw)
			xf := n.xf[u*2*fftLen:][:2*fftLen]
			for f, z := range xc {
				if u == fftBins-1 {
					z *= 1i
				}
				xf[2*f], xf[2*f+1] = float32(real(z)), float32(imag(z))
			}
		}
		for gi := 0; gi < fftGroup; gi++ {
			g := s.g[gi*fftBins*fftSlab:]
			for q := 0; q < fftXfs; q++ {
				d := n.fbuf[q*fftSlab:][:fftSlab]
				k.cmul(d, g[q*fftSlab:], n.xf[q*2*fftLen:], false)
				if q == 0 {
					k.cmul(d, g[(fftBins-1)*fftSlab:], n.xf[(fftBins-1)*2*fftLen:], true)
				}
				tw := s.tw
				h := fftLen / 2
				for ; h >= 2; h /= 4 {
					k.pass2(d, tw[:2*h], tw[2*h:3*h], h)
					tw = tw[3*h:]
				}
				if h == 1 {
					k.pass(d, tw[:2], 1)
				}
			}
			c0 := gi * fftLanes
			k.epilogue(n.etmp, n.fbuf, s.rows[:nv], s.inv, bias[c0:c0+fftLanes], slope)
			for l := 0; l < fftLanes; l++ {
				out := a1[(c0+l)*t1+t0:][:nv]
				for t := range out {
					out[t] = n.etmp[t*fftLanes+l]
				}
			}
		}
	}
}
