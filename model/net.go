package model

import (
	"fmt"
	"math"
)

// Net runs the MOVE forward pass for one song at a time. It owns scratch
// buffers that grow to the longest song seen, so Embed allocates nothing in
// steady state. A Net is not safe for concurrent use; make one per goroutine
// with Weights.NewNet (the weights are shared read-only).
type Net struct {
	w *Weights

	x   []float32 // input, pitch-major [12][tx]
	rot int       // canonical pitch rotation of x: row p is read as row (p+rot) mod 12
	// Layer outputs ping-pong between two buffers: even holds conv1
	// (max-pooled over pitch), conv3 and conv5 ([c][T] each), odd holds
	// conv2 and conv4. About 3 KB per model frame in all.
	even, odd []float32
	summary   []float32    // [256]
	boff      []int        // implicit im2col row offsets (K ≤ 2160)
	tile      []float32    // GEMM accumulators (gemmScratch)
	bpack     []float32    // packed B panels (gemmScratch)
	xs        []float32    // pitch-DFT of x, [14][tx] (spectral and FFT conv1)
	cbuf      []float32    // spectral conv1 products, [12][256][specCols]
	ybuf      []float32    // [12][specGroup·specCols]
	lo        []float32    // [specCols]
	fbuf      []float32    // FFT conv1: six transforms, [6][fftLen][32]
	xf        []float32    // FFT conv1: the block's Xf_u, [7][fftLen][2]
	xc        []complex128 // FFT conv1: [fftLen]
	etmp      []float32    // FFT conv1: epilogue output, [fftValid][16]
}

// NewNet returns a Net embedding with w.
func (w *Weights) NewNet() *Net {
	tile, bpack := gemmScratch(max(w.variant.conv5Channels(), 2*channels))
	return &Net{
		w:       w,
		summary: make([]float32, channels),
		boff:    make([]int, k1Len),
		tile:    make([]float32, tile),
		bpack:   make([]float32, bpack),
	}
}

// Dim returns the embedding size d: the length Embed's dst must have.
func (n *Net) Dim() int { return n.w.variant.Dim }

// Weights returns the weights n embeds with.
func (n *Net) Weights() *Weights { return n.w }

// ModelFrames returns the number of frames a song of T frames at hop has at
// the model rate (hop ModelHop): songs at a hop h dividing ModelHop are
// decimated by plain slicing [::ModelHop/h], giving ⌈T/(ModelHop/h)⌉ frames
// (remove-spec.md §2.2). Other hops are an error wrapping ErrHop.
func ModelFrames(T, hop int) (int, error) {
	if hop <= 0 || hop > ModelHop || ModelHop%hop != 0 {
		return 0, fmt.Errorf("%w: %d (must divide %d)", ErrHop, hop, ModelHop)
	}
	if T < 0 {
		return 0, fmt.Errorf("%w: %d frames", ErrInput, T)
	}
	f := ModelHop / hop
	return (T + f - 1) / f, nil
}

// Embed writes the embedding of one song into dst (len Dim()). crema holds
// the song's cremaPCP frame-major (12·T values: frame 0's 12 pitch classes,
// then frame 1's, ...) at hop samples per frame (44.1 kHz); hop must divide
// ModelHop. Errors wrap ErrHop, ErrInput or ErrTooShort (with the frame
// count) and leave dst unchanged.
func (n *Net) Embed(dst, crema []float32, hop int) error {
	if len(dst) != n.Dim() {
		return fmt.Errorf("%w: dst has %d values, the model embeds in %d", ErrInput, len(dst), n.Dim())
	}
	return n.run(dst, crema, hop)
}

// run is Embed after the check of dst; a nil dst stops after pooling,
// leaving the pooled vector in n.summary (Pooled, pooled.go).
func (n *Net) run(dst, crema []float32, hop int) error {
	if len(crema) == 0 || len(crema)%PitchClasses != 0 {
		return fmt.Errorf("%w: crema has %d values, not a positive multiple of %d", ErrInput, len(crema), PitchClasses)
	}
	T := len(crema) / PitchClasses
	tm, err := ModelFrames(T, hop)
	if err != nil {
		return err
	}
	tx := tm
	if tm < MinFrames {
		if !n.w.padShort {
			return fmt.Errorf("%w: %d frames at the model rate (%d at hop %d), need %d", ErrTooShort, tm, T, hop, MinFrames)
		}
		tx = MinFrames
	}
	// Decimate and transpose to pitch-major; zero-pad to tx.
	f := ModelHop / hop
	n.x = grow(n.x, PitchClasses*tx)
	x := n.x
	for t := 0; t < tm; t++ {
		fr := crema[t*f*PitchClasses : t*f*PitchClasses+PitchClasses]
		for p, v := range fr {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				return fmt.Errorf("%w: crema[%d][%d] = %v", ErrInput, t*f, p, v)
			}
			x[p*tx+t] = v
		}
	}
	for p := 0; p < PitchClasses; p++ {
		clear(x[p*tx+tm : p*tx+tx])
	}
	n.rot = canonicalRotation(x, tx)
	n.forward(dst, tx)
	return nil
}

// canonicalRotation returns the rotation s of the 12 pitch rows of x
// ([12][tx]) that makes the sequence of rows (p+s) mod 12, p = 0..11, the
// smallest: compared by row sums, then, on a tie, element by element. The
// network is invariant to rotating the pitch classes, so reading x rotated
// by s does not change the embedding mathematically; it makes the
// computation identical, bit for bit, for every roll of the same song (the
// pitch-spectral conv1 alone would round differently per roll).
func canonicalRotation(x []float32, tx int) int {
	var sums [PitchClasses]float64
	for p := range sums {
		var s float64
		for _, v := range x[p*tx : (p+1)*tx] {
			s += float64(v)
		}
		sums[p] = s
	}
	less := func(a, b int) bool {
		for i := 0; i < PitchClasses; i++ {
			if sa, sb := sums[(i+a)%PitchClasses], sums[(i+b)%PitchClasses]; sa != sb {
				return sa < sb
			}
		}
		for i := 0; i < PitchClasses; i++ {
			ra := x[(i+a)%PitchClasses*tx:][:tx]
			rb := x[(i+b)%PitchClasses*tx:][:tx]
			for t := range ra {
				if ra[t] != rb[t] {
					return ra[t] < rb[t]
				}
			}
		}
		return false
	}
	best := 0
	for s := 1; s < PitchClasses; s++ {
		if less(s, best) {
			best = s
		}
	}
	return best
}

func grow(s []float32, n int) []float32 {
	if cap(s) < n {
		return make([]float32, n)
	}
	return s[:n]
}

// ReserveFrames is the song length, in frames at the model rate (≈ 380 s),
// that a long-lived embedder reserves its networks' scratch for up front
// (see Reserve).
const ReserveFrames = 4096

// Reserve sizes n's scratch for songs of up to frames frames at the model
// rate, so that embedding them allocates nothing. A Net otherwise grows its
// scratch to the longest song it has seen, which makes a worker's memory
// creep up with the catalog: the longest of 20,000 songs is longer than the
// longest of 2,000. Longer songs still grow it. Reserve keeps what is
// already larger.
func (n *Net) Reserve(frames int) {
	tx := max(frames, MinFrames)
	if cap(n.x) < PitchClasses*tx {
		n.x = make([]float32, PitchClasses*tx)
	}
	n.sizeActivations(tx)
}

// sizeActivations grows the activation buffers for an input of tx frames
// and returns the layers' lengths.
func (n *Net) sizeActivations(tx int) (t1, t2, t3, t4, t5 int) {
	c5 := n.w.variant.conv5Channels()
	t1 = tx - k1 + 1
	t2 = t1 - (kTime - 1)
	t3 = t2 - (kTime-1)*dil3
	t4 = t3 - (kTime - 1)
	t5 = t4 - (kTime-1)*dil5
	n.even = grow(n.even, max(channels*t1, c5*t5))
	n.odd = grow(n.odd, channels*t2)
	return
}

// forward runs the network on n.x ([12][tx], tx ≥ MinFrames).
func (n *Net) forward(dst []float32, tx int) {
	w := n.w
	c5 := w.variant.conv5Channels()
	t1, t2, t3, t4, t5 := n.sizeActivations(tx)
	a1, a2, a3, a4, a5 := n.even[:channels*t1], n.odd[:channels*t2], n.even[:channels*t3], n.odd[:channels*t4], n.even[:c5*t5]

	// conv1 + PReLU + max over the 12 pitch positions (fft.go, conv1.go).
	switch {
	case w.fft != nil:
		n.conv1FFT(a1, tx, t1)
	case w.spec != nil:
		n.conv1Spectral(a1, tx, t1)
	default:
		n.conv1Direct(a1, tx, t1)
	}
	n.conv(a2, t2, w.conv2, channels, w.bias[1], w.slopes[1], a1, t1, 1)
	n.conv(a3, t3, w.conv3, channels, w.bias[2], w.slopes[2], a2, t2, dil3)
	n.conv(a4, t4, w.conv4, channels, w.bias[3], w.slopes[3], a3, t3, 1)
	n.conv(a5, t5, w.conv5, c5, w.bias[4], w.slopes[4], a4, t4, dil5)

	n.summarize(a5, t5)
	if dst != nil {
		n.head(dst)
	}
}

// conv runs a (1,5) convolution with dilation dil over src [256][tin] into
// dst [m][tout], then PReLU.
func (n *Net) conv(dst []float32, tout int, ap []float32, m int, bias []float32, slope float32, src []float32, tin, dil int) {
	boff := n.boff[:channels*kTime]
	for ci := 0; ci < channels; ci++ {
		for q := 0; q < kTime; q++ {
			boff[ci*kTime+q] = ci*tin + q*dil
		}
	}
	convGEMM(dst, tout, ap, m, channels*kTime, bias, slope, src, boff, tout, storePReLU, n.tile, n.bpack)
}

// summarize pools conv5's output [c5][t] over time into n.summary
// (remove-spec.md §1.2, sum_method).
func (n *Net) summarize(a []float32, t int) {
	s := n.summary
	p := float64(n.w.p)
	switch n.w.variant.SumMethod {
	case 0:
		for c := range s {
			s[c] = maxOf(a[c*t : (c+1)*t])
		}
	case 1:
		for c := range s {
			var sum float64
			for _, v := range a[c*t : (c+1)*t] {
				sum += float64(v)
			}
			s[c] = float32(sum / float64(t))
		}
	case 2:
		for c := range s {
			row := a[c*t : (c+1)*t]
			s[c] = attend(row, row, p)
		}
	case 3:
		// values: first half; softmax logits: second half (scale 1).
		for c := range s {
			s[c] = attend(a[c*t:(c+1)*t], a[(c+channels)*t:(c+channels+1)*t], 1)
		}
	case 4:
		// attention: first half scaled by p; values: second half.
		for c := range s {
			s[c] = attend(a[(c+channels)*t:(c+channels+1)*t], a[c*t:(c+1)*t], p)
		}
	}
}

// attend returns Σ_t val[t]·softmax_t(scale·logit[t]), the softmax
// max-subtracted as autopool_weights does; sums in float64.
func attend(val, logit []float32, scale float64) float32 {
	// max_t scale·logit[t]: rounding the product is monotone, so it is
	// the product of scale and the largest (scale ≥ 0) or smallest logit.
	lo, hi := logit[0], logit[0]
	for _, v := range logit[1:] {
		if v > hi {
			hi = v
		}
		if v < lo {
			lo = v
		}
	}
	zmax := max(scale*float64(hi), scale*float64(lo))
	val = val[:len(logit)]
	var num, den float64
	if attendVec != nil && len(logit) >= 8 {
		n8 := len(logit) &^ 7
		num, den = attendVec(val[:n8], logit[:n8], scale, zmax)
		val, logit = val[n8:], logit[n8:]
	}
	for i, v := range logit {
		e := expNonPos(scale*float64(v) - zmax)
		den += e
		num += e * float64(val[i])
	}
	return float32(num / den)
}

// attendVec, when not nil, returns attend's sums Σ e_t·val[t] and Σ e_t
// over len(logit) (a multiple of 8) terms, e_t = e^{scale·logit[t]−zmax}
// (attend_amd64.s, chosen in init; tests swap it to check the Go loop).
var attendVec func(val, logit []float32, scale, zmax float64) (num, den float64)

// expNonPos returns e^x for x ≤ 0 to a relative error below 1e-9 (far
// below float32's rounding, which is all attend needs), faster than
// math.Exp: x = k·ln 2 + r with |r| ≤ ln 2/2 (k = ⌈x·log2 e − ½⌉, the
// conversion truncating toward zero), e^r by its Taylor polynomial of
// degree 9 (Estrin's scheme, for a short dependency chain), 2^k by the
// exponent bits. Below −700 it returns 0 (math.Exp: < 1e-304, nothing next
// to the softmax's largest term, 1).
func expNonPos(x float64) float64 {
	if !(x >= -700) {
		return 0
	}
	k := int64(x*math.Log2E - 0.5)
	r := x - float64(k)*math.Ln2
	r2 := r * r
	r4 := r2 * r2
	p01 := 1 + r
	p23 := 1.0/2 + r*(1.0/6)
	p45 := 1.0/24 + r*(1.0/120)
	p67 := 1.0/720 + r*(1.0/5040)
	p89 := 1.0/40320 + r*(1.0/362880)
	p := (p01 + r2*p23) + r4*((p45+r2*p67)+r4*p89)
	return p * math.Float64frombits(uint64(k+1023)<<52)
}

func maxOf(s []float32) float32 {
	m := s[0]
	for _, v := range s[1:] {
		m = max(m, v)
	}
	return m
}

// head applies lin1 and the final activation.
func (n *Net) head(dst []float32) {
	w := n.w
	s := n.summary
	for i := range dst {
		row := w.lin1[i*channels : (i+1)*channels : (i+1)*channels]
		var acc float64
		for c, v := range row {
			acc += float64(v) * float64(s[c])
		}
		y := float32(acc)
		switch w.variant.FinalActivation {
		case 0:
			y += w.lin1b[i]
		case 1:
			y = float32(1 / (1 + math.Exp(-float64(y+w.lin1b[i]))))
		case 2:
			y = float32(math.Tanh(float64(y + w.lin1b[i])))
		case 3:
			y = (y - w.bnMean[i]) * w.bnScale[i]
		}
		dst[i] = y
	}
}
