package model

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math"
)

// PooledDim is the length of a pooled vector: the 256 values after the
// summarisation (autopooling for sum_method 4), before lin1.
const PooledDim = channels

// Pooled writes into dst (len PooledDim) the song's pooled features: the
// forward pass of Embed up to and including the summarisation over time
// (autopool for sum_method 3 and 4), before lin1 and the final activation.
// Embed's output is lin1 and the final activation applied to this vector.
// Input conventions, errors and the allocation contract are Embed's: after
// the Net has seen a song at least as long, Pooled allocates nothing.
//
// Distillation (model/train) trains new heads on these vectors: they are
// what a frozen feature extractor hands to lin1.
func (n *Net) Pooled(dst, crema []float32, hop int) error {
	if len(dst) != PooledDim {
		return fmt.Errorf("%w: dst has %d values, pooled features have %d", ErrInput, len(dst), PooledDim)
	}
	if err := n.run(nil, crema, hop); err != nil {
		return err
	}
	copy(dst, n.summary)
	return nil
}

// Head returns copies of the weights' head: lin1.weight ([d][256]
// row-major), lin1.bias (nil for final_activation 3) and the BatchNorm
// running mean and 1/sqrt(running_var+1e-5) (nil unless final_activation 3).
func (w *Weights) Head() (lin1, bias, bnMean, bnScale []float32) {
	return clone(w.lin1), cloneOrNil(w.lin1b), cloneOrNil(w.bnMean), cloneOrNil(w.bnScale)
}

func cloneOrNil(s []float32) []float32 {
	if s == nil {
		return nil
	}
	return clone(s)
}

// ExtractorID identifies the feature extractor of w, everything before lin1
// (convolutions, PReLU slopes, autopool parameter, summarisation): e.g.
// "move-sum4-extractor-3f2a9c1b7d4e", from a SHA-256 of those parameters.
// Checkpoints that differ only in their heads (a teacher and its distilled
// students, or teachers of several sizes drawn from one seed) share it, and
// so share their pooled features. It hashes about 9 MB: call it once.
func (w *Weights) ExtractorID() string {
	h := sha256.New()
	var b [4]byte
	put := func(vs ...float32) {
		for _, v := range vs {
			binary.LittleEndian.PutUint32(b[:], math.Float32bits(v))
			h.Write(b[:])
		}
	}
	fmt.Fprintf(h, "sum%d;", w.variant.SumMethod)
	put(w.p)
	put(w.slopes[:]...)
	for _, c := range [][]float32{w.conv1, w.conv2, w.conv3, w.conv4, w.conv5} {
		put(c...)
	}
	for _, c := range w.bias {
		put(c...)
	}
	return fmt.Sprintf("move-sum%d-extractor-%x", w.variant.SumMethod, h.Sum(nil)[:6])
}
