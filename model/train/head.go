package train

import "math"

// BNEps is BatchNorm1d's epsilon (remove-spec.md §1.1).
const BNEps = 1e-5

// Head is MOVEModel's head as the reference trains it: lin1 (In → D, no
// bias) followed by lin_bn (BatchNorm1d(D, affine=False)) in training mode,
// which standardises each output with the batch's mean and biased variance.
// It owns its scratch buffers, reused across batches of the same size.
type Head struct {
	In, D int
	W     []float32 // "lin1.weight" [D][In], row-major

	// Forward state for Backward.
	b           int
	y           []float32 // lin1 output, B×D
	z           []float32 // BN output, B×D
	invStd      []float32 // 1/sqrt(var+eps), D
	dy, dyT, xT []float32
}

// NewHead returns a head with weights w ([d][in], not copied).
func NewHead(w []float32, in, d int) *Head {
	if len(w) != in*d {
		panic("train: NewHead: weights are not d×in")
	}
	return &Head{In: in, D: d, W: w}
}

// Forward computes the head's output for the batch x (B×In) into the
// returned slice (B×D, owned by the head until the next Forward): lin1, then
// BatchNorm with the batch statistics (mean and biased variance, eps 1e-5).
// B must be at least 2.
func (h *Head) Forward(x []float32, b int) []float32 {
	if b < 2 || len(x) != b*h.In {
		panic("train: Head.Forward: need a batch of at least 2 rows of In values")
	}
	h.b = b
	h.y = grow(h.y, b*h.D)
	h.z = grow(h.z, b*h.D)
	h.invStd = grow(h.invStd, h.D)
	mulT(h.y, x, b, h.In, h.W, h.D)
	for k := 0; k < h.D; k++ {
		var s float64
		for i := 0; i < b; i++ {
			s += float64(h.y[i*h.D+k])
		}
		mean := s / float64(b)
		var v float64
		for i := 0; i < b; i++ {
			d := float64(h.y[i*h.D+k]) - mean
			v += d * d
		}
		inv := 1 / math.Sqrt(v/float64(b)+BNEps)
		h.invStd[k] = float32(inv)
		for i := 0; i < b; i++ {
			h.z[i*h.D+k] = float32((float64(h.y[i*h.D+k]) - mean) * inv)
		}
	}
	return h.z
}

// Backward writes into dW (D×In) the gradient of the loss with respect to
// lin1.weight, given dz (B×D), the loss's gradient with respect to the last
// Forward's output, and that Forward's input x:
//
//	dy = invStd·(dz − mean_i dz − z·mean_i(dz⊙z)),  dW = dyᵀ·x.
func (h *Head) Backward(dW, dz, x []float32) {
	b, d := h.b, h.D
	if len(dW) != d*h.In || len(dz) != b*d || len(x) != b*h.In {
		panic("train: Head.Backward: shapes do not match the last Forward")
	}
	h.dy = grow(h.dy, b*d)
	for k := 0; k < d; k++ {
		var sg, sgz float64
		for i := 0; i < b; i++ {
			g := float64(dz[i*d+k])
			sg += g
			sgz += g * float64(h.z[i*d+k])
		}
		mg, mgz := sg/float64(b), sgz/float64(b)
		inv := float64(h.invStd[k])
		for i := 0; i < b; i++ {
			h.dy[i*d+k] = float32(inv * (float64(dz[i*d+k]) - mg - float64(h.z[i*d+k])*mgz))
		}
	}
	h.dyT = grow(h.dyT, d*b)
	h.xT = grow(h.xT, h.In*b)
	transpose(h.dyT, h.dy, b, d)
	transpose(h.xT, x, b, h.In)
	mulT(dW, h.dyT, d, b, h.xT, h.In)
}

// Stats returns the running statistics the reference's lin_bn would hold in
// eval mode if it had seen the whole of x (N×In) as one batch: the mean and
// the unbiased variance of each lin1 output, computed in float64.
func Stats(w []float32, in, d int, x []float32, n int) (mean, variance []float32) {
	y := make([]float32, n*d)
	mulT(y, x, n, in, w, d)
	mean = make([]float32, d)
	variance = make([]float32, d)
	for k := 0; k < d; k++ {
		var s float64
		for i := 0; i < n; i++ {
			s += float64(y[i*d+k])
		}
		m := s / float64(n)
		var v float64
		for i := 0; i < n; i++ {
			e := float64(y[i*d+k]) - m
			v += e * e
		}
		mean[k] = float32(m)
		if n > 1 {
			variance[k] = float32(v / float64(n-1))
		}
	}
	return mean, variance
}

// EvalEmbed writes dst (N×D) = (x·Wᵀ − mean)/sqrt(var+eps): the head in eval
// mode, as model.Net's head computes it.
func EvalEmbed(dst, w []float32, in, d int, x []float32, n int, mean, variance []float32) {
	mulT(dst, x, n, in, w, d)
	for k := 0; k < d; k++ {
		inv := float32(1 / math.Sqrt(float64(variance[k])+BNEps))
		for i := 0; i < n; i++ {
			dst[i*d+k] = (dst[i*d+k] - mean[k]) * inv
		}
	}
}
