package train

import (
	"cmp"
	"math"
	"slices"
)

// lsr trains a new lin1 (In → D) and one proxy per training work with the
// NormalizedSoftmax loss on instance batches, with Ranger (§4.3).
func (r *run) lsr() (*Student, error) {
	cfg, in, d := r.cfg, r.tr.In, r.cfg.Dim
	w := r.initLinear(d, in)
	c := r.tr.Works
	p := make([]float32, c*d) // torch.randn(classes, d)
	for i := range p {
		p[i] = float32(r.rng.NormFloat64())
	}
	h := NewHead(w, in, d)
	dW, dP := make([]float32, d*in), make([]float32, c*d)
	dz := []float32(nil)
	opt := NewRanger()
	var best keeper
	for e := 0; e < cfg.Epochs; e++ {
		lr := cfg.lr(e)
		var sum float64
		batches := instanceBatches(len(r.tr.Songs), cfg.BatchSize, r.rng)
		for _, idx := range batches {
			x, labels := r.batch(idx)
			b := len(idx)
			z := h.Forward(x, b)
			dz = grow(dz, b*d)
			sum += r.loss.NormSoftmax(dz, dP, z, b, d, p, c, labels, cfg.Temperature)
			h.Backward(dW, dz, x)
			opt.Step([][]float32{w, p}, [][]float32{dW, dP}, lr)
		}
		if err := r.epochEnd(Progress{Rows: d, Epoch: e, LR: lr, Loss: sum / float64(max(len(batches), 1))}, w, d, &best); err != nil {
			return nil, err
		}
	}
	return r.student(w, d, &best), nil
}

// teacherEmbed writes the teacher's eval-mode embeddings of x (b×In) into dst.
func (r *run) teacherEmbed(dst, x []float32, b int) {
	EvalEmbed(dst, r.t.W, r.tr.In, r.t.D, x, b, r.t.Mean, r.t.Var)
}

// kd trains a randomly initialised lin1 (In → D) with the distance loss
// against the teacher's embeddings of the same batch plus the hard-mining
// triplet loss (margin, emb_size D), on clique batches, with Ranger (§4.5).
func (r *run) kd() (*Student, error) {
	cfg, in, d := r.cfg, r.tr.In, r.cfg.Dim
	w := r.initLinear(d, in)
	h := NewHead(w, in, d)
	dW := make([]float32, d*in)
	var dz, dz2, te []float32
	opt := NewRanger()
	var best keeper
	for e := 0; e < cfg.Epochs; e++ {
		lr := cfg.lr(e)
		var sum float64
		batches := cliqueBatches(r.tr, cfg.BatchSize, r.rng)
		if len(batches) == 0 {
			return nil, ErrNoPairs
		}
		for _, idx := range batches {
			x, labels := r.batch(idx)
			b := len(idx)
			te = grow(te, b*r.t.D)
			r.teacherEmbed(te, x, b)
			z := h.Forward(x, b)
			dz, dz2 = grow(dz, b*d), grow(dz2, b*d)
			sum += r.loss.KDDistance(dz, z, b, d, te, r.t.D)
			sum += r.loss.Triplet(dz2, z, b, d, labels, cfg.Margin, float64(d))
			for i := range dz {
				dz[i] += dz2[i]
			}
			h.Backward(dW, dz, x)
			opt.Step([][]float32{w}, [][]float32{dW}, lr)
		}
		if err := r.epochEnd(Progress{Rows: d, Epoch: e, LR: lr, Loss: sum / float64(len(batches))}, w, d, &best); err != nil {
			return nil, err
		}
	}
	return r.student(w, d, &best), nil
}

// PruneSchedule returns the live row counts of iterative pruning from the
// teacher's D rows to dim: halving, as the reference's schedule does (16000,
// 8000, 4000, 2048, …), then dim. The first entry is the teacher's D.
func PruneSchedule(teacherD, dim int) []int {
	s := []int{teacherD}
	for k := teacherD / 2; k > dim; k /= 2 {
		s = append(s, k)
	}
	if dim < teacherD {
		s = append(s, dim)
	}
	return s
}

// prune runs iterative magnitude pruning (§4.6): each iteration rewinds the
// live rows of lin1 to the teacher's weights, trains them with the triplet
// loss (emb_size = the teacher's D, as the reference keeps the full-width
// tensor) on clique batches with SGD, then keeps the rows with the largest
// mean |w| for the next iteration. The last iteration trains exactly Dim
// rows; its weights are the student.
func (r *run) prune() (*Student, error) {
	cfg, in := r.cfg, r.tr.In
	sched := PruneSchedule(r.t.D, cfg.Dim)
	live := make([]int, r.t.D)
	for i := range live {
		live[i] = i
	}
	var w []float32
	var best keeper
	for it, rows := range sched {
		if it > 0 {
			live = keepLargest(w, in, live, rows)
		}
		// Rewind: the live rows start again from the teacher's weights.
		w = make([]float32, len(live)*in)
		for k, row := range live {
			copy(w[k*in:(k+1)*in], r.t.W[row*in:(row+1)*in])
		}
		last := it == len(sched)-1
		best = keeper{}
		if err := r.triplet(w, len(live), it, last, &best); err != nil {
			return nil, err
		}
	}
	s := r.student(w, cfg.Dim, &best)
	s.Kept = live
	return s, nil
}

// triplet trains head w (d×In) with the triplet loss and SGD for cfg.Epochs.
// Only the last pruning iteration validates (the student is its output).
func (r *run) triplet(w []float32, d, it int, validate bool, best *keeper) error {
	cfg, in := r.cfg, r.tr.In
	h := NewHead(w, in, d)
	dW := make([]float32, d*in)
	var dz []float32
	for e := 0; e < cfg.Epochs; e++ {
		lr := cfg.lr(e)
		var sum float64
		batches := cliqueBatches(r.tr, cfg.BatchSize, r.rng)
		if len(batches) == 0 {
			return ErrNoPairs
		}
		for _, idx := range batches {
			x, labels := r.batch(idx)
			b := len(idx)
			z := h.Forward(x, b)
			dz = grow(dz, b*d)
			sum += r.loss.Triplet(dz, z, b, d, labels, cfg.Margin, float64(r.t.D))
			h.Backward(dW, dz, x)
			SGD{}.Step([][]float32{w}, [][]float32{dW}, lr)
		}
		p := Progress{Iteration: it, Rows: d, Epoch: e, LR: lr, Loss: sum / float64(len(batches)), ValMAP: math.NaN()}
		if validate {
			if err := r.epochEnd(p, w, d, best); err != nil {
				return err
			}
			continue
		}
		r.history = append(r.history, p)
		if cfg.Progress != nil {
			cfg.Progress(p)
		}
	}
	return nil
}

// keepLargest returns the k teacher rows (of live, whose weights are the
// rows of w) with the largest mean |w|, in ascending row order; ties keep
// the lower row.
func keepLargest(w []float32, in int, live []int, k int) []int {
	type scored struct {
		row int
		m   float64
	}
	s := make([]scored, len(live))
	for i, row := range live {
		var a float64
		for _, v := range w[i*in : (i+1)*in] {
			a += math.Abs(float64(v))
		}
		s[i] = scored{row, a / float64(in)}
	}
	slices.SortStableFunc(s, func(a, b scored) int { return cmp.Compare(b.m, a.m) })
	out := make([]int, k)
	for i := range out {
		out[i] = s[i].row
	}
	slices.Sort(out)
	return out
}
