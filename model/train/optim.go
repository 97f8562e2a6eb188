package train

import "math"

// Optimizer updates parameter slices in place from their gradients.
type Optimizer interface {
	// Step applies one update with learning rate lr; params[i] and grads[i]
	// have the same length, and the same slices are passed at every step.
	Step(params, grads [][]float32, lr float64)
}

// SGD is plain stochastic gradient descent (momentum 0, weight decay 0), the
// reference's optimiser for triplet training and pruning (spec §4.2).
type SGD struct{}

// Step sets p ← p − lr·g.
func (SGD) Step(params, grads [][]float32, lr float64) {
	for i, p := range params {
		for j, g := range grads[i] {
			p[j] -= float32(lr * float64(g))
		}
	}
}

// Ranger is RAdam wrapped in Lookahead, with the reference's settings
// (re-move utils/ranger.py as remove-spec.md §4.1 records them): alpha 0.5,
// k 6, N_sma_threshhold 5, betas (0.95, 0.999), eps 1e-5, weight decay 0.
// Its state is kept in float64.
type Ranger struct {
	Alpha        float64
	K            int
	Beta1, Beta2 float64
	Eps          float64
	SMAThreshold float64

	step       int
	m, v, slow [][]float64
}

// NewRanger returns a Ranger with the reference's settings.
func NewRanger() *Ranger {
	return &Ranger{Alpha: 0.5, K: 6, Beta1: 0.95, Beta2: 0.999, Eps: 1e-5, SMAThreshold: 5}
}

// Step applies one RAdam update, and every K steps pulls the parameters
// half way (Alpha) back towards the slow weights, which then take their
// place (Lookahead).
func (r *Ranger) Step(params, grads [][]float32, lr float64) {
	if r.m == nil {
		for _, p := range params {
			r.m = append(r.m, make([]float64, len(p)))
			r.v = append(r.v, make([]float64, len(p)))
			s := make([]float64, len(p))
			for j, x := range p {
				s[j] = float64(x)
			}
			r.slow = append(r.slow, s)
		}
	}
	r.step++
	t := float64(r.step)
	b1, b2 := r.Beta1, r.Beta2
	b2t := math.Pow(b2, t)
	smaMax := 2/(1-b2) - 1
	sma := smaMax - 2*t*b2t/(1-b2t)
	rect := sma > r.SMAThreshold
	var stepSize float64
	if rect {
		stepSize = math.Sqrt((1-b2t)*(sma-4)/(smaMax-4)*(sma-2)/sma*smaMax/(smaMax-2)) / (1 - math.Pow(b1, t))
	} else {
		stepSize = 1 / (1 - math.Pow(b1, t))
	}
	for i, p := range params {
		m, v, g := r.m[i], r.v[i], grads[i]
		for j := range p {
			gj := float64(g[j])
			v[j] = b2*v[j] + (1-b2)*gj*gj
			m[j] = b1*m[j] + (1-b1)*gj
			var u float64
			if rect {
				u = m[j] / (math.Sqrt(v[j]) + r.Eps)
			} else {
				u = m[j]
			}
			p[j] = float32(float64(p[j]) - stepSize*lr*u)
		}
		if r.step%r.K == 0 {
			s := r.slow[i]
			for j := range p {
				s[j] += r.Alpha * (float64(p[j]) - s[j])
				p[j] = float32(s[j])
			}
		}
	}
}
