package model

import "math"

// conv1 (1→256 channels, kernel 12×180, circular over the 12 pitch classes)
// followed by PReLU and the max over the 12 pitch positions, in two ways
// besides the default of fft.go (which builds on the second):
//
// Direct: for each pitch position j, a GEMM of the 256×2160 weights with the
// implicit im2col of rows (j+r) mod 12: 12·2160 MACs per output (c, t).
//
// Pitch-spectral: a circular correlation over pitch is a product in the
// pitch-DFT domain. With ω = e^{2πi/12},
// X̂_u[t] = Σ_p X[p,t] ω^{−up}, Ŵ_u[c,k] = Σ_r W[c,r,k] ω^{−ur},
//
//	Ĉ_u[c,t] = Σ_k conj(Ŵ_u[c,k]) · X̂_u[t+k]          (u = 0..6)
//	y[c,j,t] = (1/12)·(Ĉ_0 + (−1)^j Ĉ_6 + 2·Σ_{u=1..5} Re(Ĉ_u ω^{uj}))
//
// Ĉ_0 and Ĉ_6 are real GEMMs with K = 180; each Ĉ_u (u = 1..5) is one real
// GEMM of [[Re Ŵ, Im Ŵ], [−Im Ŵ, Re Ŵ]] (512×360) with [Re X̂; Im X̂]. That
// is 2·180 + 5·4·180 = 3960 MACs per (c, t) instead of 25,920, plus a 12×12
// inverse DFT. The result equals the direct one up to float32 rounding
// (the parity goldens hold both to 1e-4). Rounding alone would make rolled
// inputs differ by ~1e-7; Embed reads the input at a canonical pitch
// rotation (canonicalRotation), which keeps pitch-roll invariance exact.

const (
	pitchBins  = PitchClasses/2 + 1 // u = 0..6
	specRows   = 2 * pitchBins      // Re and Im rows of X̂ (Im of u=0, 6 is 0)
	specCols   = 256                // time columns per chunk of the spectral conv1
	specBlocks = PitchClasses       // Ĉ blocks: u0, u6, (Re, Im) of u=1..5
	specGroup  = 32                 // channels per inverse-DFT GEMM
)

// spectralConv1 is conv1's weights in the pitch-DFT domain.
type spectralConv1 struct {
	a0, a6 []float32                        // Re Ŵ_0, Re Ŵ_6: [256][180], packed
	au     [pitchBins - 2][]float32         // u=1..5: [512][360], packed
	inv    []float32                        // [12][12] packed: y[j] = Σ_q inv[j][q]·Ĉ block q
	cos    [pitchBins][PitchClasses]float64 // cos(2π u p / 12)
	sin    [pitchBins][PitchClasses]float64
	zeros  []float32 // [512] zero bias
}

func newSpectralConv1(W []float32) *spectralConv1 {
	s := &spectralConv1{zeros: make([]float32, 2*channels)}
	for u := 0; u < pitchBins; u++ {
		for p := 0; p < PitchClasses; p++ {
			th := 2 * math.Pi * float64(u*p%PitchClasses) / PitchClasses
			s.cos[u][p], s.sin[u][p] = math.Cos(th), math.Sin(th)
		}
	}
	// Ŵ_u[c,k] = Σ_r W[c,r,k] (cos − i sin)(2π u r/12)
	re := make([]float32, channels*k1)
	im := make([]float32, channels*k1)
	dft := func(u int) {
		for c := 0; c < channels; c++ {
			for k := 0; k < k1; k++ {
				var sr, si float64
				for r := 0; r < PitchClasses; r++ {
					v := float64(W[c*k1Len+r*k1+k])
					sr += v * s.cos[u][r]
					si -= v * s.sin[u][r]
				}
				re[c*k1+k], im[c*k1+k] = float32(sr), float32(si)
			}
		}
	}
	dft(0)
	s.a0 = packA(re, channels, k1)
	dft(PitchClasses / 2)
	s.a6 = packA(re, channels, k1)
	a := make([]float32, 2*channels*2*k1)
	for u := 1; u < pitchBins-1; u++ {
		dft(u)
		// conj(Ŵ)·X̂: Re = Wr·Xr + Wi·Xi, Im = Wr·Xi − Wi·Xr.
		for c := 0; c < channels; c++ {
			top := a[c*2*k1 : (c+1)*2*k1]
			bot := a[(channels+c)*2*k1 : (channels+c+1)*2*k1]
			for k := 0; k < k1; k++ {
				wr, wi := re[c*k1+k], im[c*k1+k]
				top[k], top[k1+k] = wr, wi
				bot[k], bot[k1+k] = -wi, wr
			}
		}
		s.au[u-1] = packA(a, 2*channels, 2*k1)
	}
	inv := make([]float32, PitchClasses*specBlocks)
	for j := 0; j < PitchClasses; j++ {
		g := inv[j*specBlocks : (j+1)*specBlocks]
		g[0] = 1.0 / 12
		g[1] = float32(1-2*(j%2)) / 12
		for u := 1; u < pitchBins-1; u++ {
			th := 2 * math.Pi * float64(u*j%PitchClasses) / PitchClasses
			g[2+2*(u-1)] = float32(2 * math.Cos(th) / 12)
			g[3+2*(u-1)] = float32(-2 * math.Sin(th) / 12)
		}
	}
	s.inv = packA(inv, PitchClasses, specBlocks)
	return s
}

// conv1Direct computes a1 [256][t1] from n.x [12][tx].
func (n *Net) conv1Direct(a1 []float32, tx, t1 int) {
	w := n.w
	for j := 0; j < PitchClasses; j++ {
		for r := 0; r < PitchClasses; r++ {
			base := ((j + r + n.rot) % PitchClasses) * tx
			for k := 0; k < k1; k++ {
				n.boff[r*k1+k] = base + k
			}
		}
		mode := maxPReLU
		if j == 0 {
			mode = storePReLU
		}
		convGEMM(a1, t1, w.conv1, channels, k1Len, w.bias[0], w.slopes[0], n.x, n.boff, t1, mode, n.tile, n.bpack)
	}
}

// conv1Spectral computes a1 [256][t1] from n.x [12][tx] in the pitch-DFT
// domain, specCols time columns at a time.
func (n *Net) conv1Spectral(a1 []float32, tx, t1 int) {
	s := n.w.spec
	xs := n.pitchDFT(tx)
	n.cbuf = grow(n.cbuf, specBlocks*channels*specCols)
	n.ybuf = grow(n.ybuf, PitchClasses*specGroup*specCols)
	n.lo = grow(n.lo, specCols)
	cb := n.cbuf // [specBlocks][256][specCols]
	blk := channels * specCols
	bias, slope := n.w.bias[0], n.w.slopes[0]
	boff := n.boff[:2*k1]
	for t0 := 0; t0 < t1; t0 += specCols {
		nb := min(specCols, t1-t0)
		for k := 0; k < k1; k++ {
			boff[k] = t0 + k
		}
		convGEMM(cb[0:], specCols, s.a0, channels, k1, s.zeros, 1, xs, boff, nb, storePReLU, n.tile, n.bpack)
		for k := 0; k < k1; k++ {
			boff[k] = 2*(pitchBins-1)*tx + t0 + k
		}
		convGEMM(cb[blk:], specCols, s.a6, channels, k1, s.zeros, 1, xs, boff, nb, storePReLU, n.tile, n.bpack)
		for u := 1; u < pitchBins-1; u++ {
			for k := 0; k < k1; k++ {
				boff[k] = 2*u*tx + t0 + k
				boff[k1+k] = (2*u+1)*tx + t0 + k
			}
			convGEMM(cb[(2+2*(u-1))*blk:], specCols, s.au[u-1], 2*channels, 2*k1, s.zeros, 1, xs, boff, nb, storePReLU, n.tile, n.bpack)
		}
		// Inverse pitch DFT (a 12×12 GEMM over the blocks, specGroup
		// channels at a time), then bias, PReLU, max over the 12 positions.
		for q := 0; q < specBlocks; q++ {
			n.boff[q] = q * blk
		}
		y := n.ybuf
		for c0 := 0; c0 < channels; c0 += specGroup {
			convGEMM(y, specGroup*specCols, s.inv, PitchClasses, specBlocks, s.zeros, 1,
				cb[c0*specCols:], n.boff[:specBlocks], specGroup*specCols, storePReLU, n.tile, n.bpack)
			for c := c0; c < c0+specGroup; c++ {
				out := a1[c*t1+t0 : c*t1+t0+nb]
				preluMaxRows(out, n.lo[:nb], y[(c-c0)*specCols:], specGroup*specCols, bias[c], slope)
			}
		}
	}
}

// preluMaxRows sets out[t] = max_j prelu(y[j·stride+t] + b) over the 12 rows
// j, computed as prelu(max_j y + b) when the slope a ≥ 0 (PReLU is then
// non-decreasing, and so is rounding x+b) and as the larger of prelu(max+b)
// and prelu(min+b) when a < 0 (PReLU is then convex, so its maximum over a
// set is at an end). Both are exactly the reference's max of PReLUs. lo is
// scratch of len(out).
func preluMaxRows(out, lo, y []float32, stride int, b, a float32) {
	n := len(out)
	copy(out, y[:n])
	copy(lo, y[:n])
	for j := 1; j < PitchClasses; j++ {
		row := y[j*stride:][:n]
		for t, v := range row {
			if v > out[t] {
				out[t] = v
			}
		}
		if a < 0 {
			for t, v := range row {
				if v < lo[t] {
					lo[t] = v
				}
			}
		}
	}
	for t, v := range out {
		v += b
		if v < 0 {
			v *= a
		}
		if a < 0 {
			if w := (lo[t] + b) * a; w > v && lo[t]+b < 0 {
				v = w
			}
		}
		out[t] = v
	}
}

// pitchDFT returns X̂ ([14][tx]: row 2u = Re X̂_u, 2u+1 = Im X̂_u, u = 0..6),
// the pitch DFT of n.x read at rotation n.rot, in n.xs.
func (n *Net) pitchDFT(tx int) []float32 {
	var cs, sn [pitchBins][PitchClasses]float64
	for u := 0; u < pitchBins; u++ {
		for p := 0; p < PitchClasses; p++ {
			th := 2 * math.Pi * float64(u*p%PitchClasses) / PitchClasses
			cs[u][p], sn[u][p] = math.Cos(th), math.Sin(th)
		}
	}
	n.xs = grow(n.xs, specRows*tx)
	xs := n.xs
	var rows [PitchClasses][]float32
	for p := range rows {
		rows[p] = n.x[(p+n.rot)%PitchClasses*tx:][:tx]
	}
	for u := 0; u < pitchBins; u++ {
		re, im := xs[2*u*tx:(2*u+1)*tx], xs[(2*u+1)*tx:(2*u+2)*tx]
		for t := range re {
			var sr, si float64
			for p := 0; p < PitchClasses; p++ {
				v := float64(rows[p][t])
				sr += v * cs[u][p]
				si -= v * sn[u][p]
			}
			re[t], im[t] = float32(sr), float32(si)
		}
	}
	return xs
}
