package reduce

import (
	"fmt"
	"math"
)

// SignVotes is the accumulator of an optional second pass over the fitted
// rows that signs a PCA reducer's components as scikit-learn 1.2's PCA does
// (svd_flip with u_based_decision=True): component c is negated unless the
// row whose projection (x−μ)·a_c is largest in magnitude projects positively.
// FitPCA alone cannot do this, since it depends on the rows and not only on
// their moments; a reducer re-signed with WithSklearn12Signs agrees with
// sklearn 1.2's components_ element-wise. Like Moments, SignVotes is
// mergeable and does not depend on the order of rows or merges; where two
// rows have exactly equal magnitudes and opposite signs (sklearn takes the
// first in sample order), the positive one wins. Its fields are exported for
// Beam's coder; treat them as read-only.
type SignVotes struct {
	// Best holds, per component, the largest |(x−μ)·a_c| seen.
	Best []float64
	// Neg holds, per component, 1 if that projection is negative, else 0.
	Neg []int64
}

// Add folds one row into v for the reducer r. It returns an error wrapping
// ErrDim if the row's length is not r.InDim().
func (v *SignVotes) Add(r *Reducer, x []float32) error {
	if len(x) != r.InDim() {
		return fmt.Errorf("%w: vector has %d values, reducer takes %d", ErrDim, len(x), r.InDim())
	}
	k, d := r.OutDim(), r.InDim()
	if v.Best == nil {
		v.Best = make([]float64, k)
		v.Neg = make([]int64, k)
	}
	if len(v.Best) != k {
		return fmt.Errorf("%w: sign votes for %d components, reducer has %d", ErrDim, len(v.Best), k)
	}
	for c := range k {
		row := r.matrix[c*d : (c+1)*d]
		p := 0.0
		for j, a := range row {
			p += a * float64(x[j])
		}
		if r.bias != nil {
			p -= r.bias[c]
		}
		v.vote(c, math.Abs(p), p < 0)
	}
	return nil
}

func (v *SignVotes) vote(c int, best float64, neg bool) {
	n := int64(0)
	if neg {
		n = 1
	}
	switch {
	case best > v.Best[c]:
		v.Best[c], v.Neg[c] = best, n
	case best == v.Best[c]:
		v.Neg[c] = min(v.Neg[c], n)
	}
}

// Merge folds o into v. It returns an error wrapping ErrDim if they count
// different numbers of components.
func (v *SignVotes) Merge(o *SignVotes) error {
	if o.Best == nil {
		return nil
	}
	if v.Best == nil {
		v.Best = make([]float64, len(o.Best))
		v.Neg = make([]int64, len(o.Neg))
	}
	if len(o.Best) != len(v.Best) || len(o.Neg) != len(o.Best) {
		return fmt.Errorf("%w: merging sign votes for %d components into %d", ErrDim, len(o.Best), len(v.Best))
	}
	for c, b := range o.Best {
		v.vote(c, b, o.Neg[c] != 0)
	}
	return nil
}

// WithSklearn12Signs returns r with each component negated where v says its
// extreme row projects negatively (see SignVotes), and the explained
// variances unchanged. r must be a PCA reducer and v must have seen at least
// one row.
func (r *Reducer) WithSklearn12Signs(v *SignVotes) (*Reducer, error) {
	if r.info.Method != PCA {
		return nil, fmt.Errorf("reduce: sklearn 1.2 signs apply to PCA, not %s", r.info.Method)
	}
	k, d := r.OutDim(), r.InDim()
	if len(v.Best) != k || len(v.Neg) != k {
		return nil, fmt.Errorf("%w: sign votes for %d components, reducer has %d", ErrDim, len(v.Best), k)
	}
	matrix := append([]float64(nil), r.matrix...)
	for c := range k {
		if v.Neg[c] != 0 {
			for j := range d {
				matrix[c*d+j] = -matrix[c*d+j]
			}
		}
	}
	info := r.info
	return New(info, r.mean, matrix)
}
