package reduce

import (
	"errors"
	"fmt"
	"math"
)

// Method names a reduction method.
type Method string

// The reduction methods.
const (
	PCA Method = "pca"
	ICA Method = "ica"
	GRP Method = "grp"
)

// ParseMethod returns the Method named s.
func ParseMethod(s string) (Method, error) {
	switch m := Method(s); m {
	case PCA, ICA, GRP:
		return m, nil
	}
	return "", fmt.Errorf("reduce: unknown method %q (want pca, ica or grp)", s)
}

// Limits on reducer shapes, checked by New and by the file parser.
const (
	MaxDim      = 1 << 20 // largest InDim or OutDim
	MaxElements = 1 << 28 // largest OutDim·InDim (2 GiB of float64)
)

// Sentinel errors.
var (
	ErrDim        = errors.New("reduce: dimension mismatch")
	ErrNotFinite  = errors.New("reduce: value is not finite")
	ErrTooFew     = errors.New("reduce: too few samples")
	ErrDegenerate = errors.New("reduce: degenerate data")
	ErrFormat     = errors.New("reduce: malformed reducer file")
	ErrConverge   = errors.New("reduce: eigendecomposition did not converge")
)

// Info describes a fitted reducer: everything but its mean and matrix.
type Info struct {
	Method Method
	InDim  int
	OutDim int
	// Model is the model id of the embeddings the reducer was fitted on (for
	// GRP: the embeddings it was created for).
	Model string
	// Seed is the seed of the random generator (GRP matrix, ICA initial matrix
	// and sample); 0 for PCA.
	Seed uint64
	// FitCount is the number of embeddings the reducer was fitted on (for ICA
	// the sample size, for GRP the number of embeddings seen).
	FitCount int64
	// Whiten reports whether outputs are scaled to unit variance (PCA; ICA is
	// always unit-variance).
	Whiten bool
	// ExplainedVariance is the variance of each PCA component (ddof=1) and
	// ExplainedVarianceRatio its share of the total variance; nil for ICA and
	// GRP.
	ExplainedVariance      []float64
	ExplainedVarianceRatio []float64
	// Iterations is the number of FastICA iterations run, Converged whether
	// they reached the tolerance.
	Iterations int
	Converged  bool
}

// Reducer is a fitted affine reducer y = A·(x − μ). It is immutable and safe
// for concurrent use.
type Reducer struct {
	info   Info
	mean   []float64 // InDim values or nil (zero mean)
	matrix []float64 // OutDim×InDim, row-major
	bias   []float64 // A·μ, OutDim values or nil
	id     string
}

// New returns a reducer with the given description, mean (InDim values, or
// nil for none) and matrix (OutDim×InDim, row-major). It keeps the slices.
func New(info Info, mean, matrix []float64) (*Reducer, error) {
	if err := info.validate(); err != nil {
		return nil, err
	}
	if mean != nil && len(mean) != info.InDim {
		return nil, fmt.Errorf("%w: mean has %d values, want %d", ErrDim, len(mean), info.InDim)
	}
	if len(matrix) != info.InDim*info.OutDim {
		return nil, fmt.Errorf("%w: matrix has %d values, want %d×%d", ErrDim, len(matrix), info.OutDim, info.InDim)
	}
	if !allFinite(mean) || !allFinite(matrix) {
		return nil, fmt.Errorf("%w: in the reducer's mean or matrix", ErrNotFinite)
	}
	r := &Reducer{info: info, mean: mean, matrix: matrix}
	if mean != nil {
		r.bias = make([]float64, info.OutDim)
		for i := range r.bias {
			row := matrix[i*info.InDim : (i+1)*info.InDim]
			s := 0.0
			for j, a := range row {
				s += a * mean[j]
			}
			r.bias[i] = s
		}
	}
	b, err := r.MarshalBinary()
	if err != nil {
		return nil, err
	}
	r.id = idOf(info, b)
	return r, nil
}

func (in Info) validate() error {
	if _, err := ParseMethod(string(in.Method)); err != nil {
		return err
	}
	if in.InDim < 1 || in.InDim > MaxDim || in.OutDim < 1 || in.OutDim > MaxDim {
		return fmt.Errorf("%w: dims %d→%d outside 1..%d", ErrDim, in.InDim, in.OutDim, MaxDim)
	}
	if in.InDim*in.OutDim > MaxElements {
		return fmt.Errorf("%w: %d×%d matrix exceeds %d values", ErrDim, in.OutDim, in.InDim, MaxElements)
	}
	if in.FitCount < 0 {
		return fmt.Errorf("reduce: negative fit count %d", in.FitCount)
	}
	if in.ExplainedVariance != nil && len(in.ExplainedVariance) != in.OutDim ||
		in.ExplainedVarianceRatio != nil && len(in.ExplainedVarianceRatio) != in.OutDim {
		return fmt.Errorf("%w: explained variance has %d values and ratio %d, want %d",
			ErrDim, len(in.ExplainedVariance), len(in.ExplainedVarianceRatio), in.OutDim)
	}
	if !allFinite(in.ExplainedVariance) || !allFinite(in.ExplainedVarianceRatio) {
		return fmt.Errorf("%w: in the explained variance", ErrNotFinite)
	}
	return nil
}

// Method returns the reduction method.
func (r *Reducer) Method() Method { return r.info.Method }

// InDim returns the input dimension.
func (r *Reducer) InDim() int { return r.info.InDim }

// OutDim returns the output dimension.
func (r *Reducer) OutDim() int { return r.info.OutDim }

// Model returns the model id of the embeddings the reducer was fitted on.
func (r *Reducer) Model() string { return r.info.Model }

// ID returns the reducer's id: method, output dimension and a prefix of the
// SHA-256 of its file encoding, e.g. "pca256-1f2e3d4c5b6a".
func (r *Reducer) ID() string { return r.id }

// Info returns a copy of the reducer's description.
func (r *Reducer) Info() Info {
	in := r.info
	in.ExplainedVariance = append([]float64(nil), in.ExplainedVariance...)
	in.ExplainedVarianceRatio = append([]float64(nil), in.ExplainedVarianceRatio...)
	if r.info.ExplainedVariance == nil {
		in.ExplainedVariance, in.ExplainedVarianceRatio = nil, nil
	}
	return in
}

// Mean returns the mean subtracted before projecting (nil for none). The
// caller must not modify it.
func (r *Reducer) Mean() []float64 { return r.mean }

// Matrix returns the OutDim×InDim row-major projection matrix. The caller must
// not modify it.
func (r *Reducer) Matrix() []float64 { return r.matrix }

// Apply writes the reduced src to dst, computing in float64. It panics unless
// len(src) == InDim and len(dst) == OutDim. It does not allocate.
func (r *Reducer) Apply(dst, src []float32) {
	in, out := r.info.InDim, r.info.OutDim
	if len(src) != in || len(dst) != out {
		panic(fmt.Sprintf("reduce: Apply: got src %d dst %d, want %d and %d", len(src), len(dst), in, out))
	}
	for i := range out {
		row := r.matrix[i*in : (i+1)*in : (i+1)*in]
		var s0, s1, s2, s3 float64
		j := 0
		for ; j+4 <= in; j += 4 {
			s0 += row[j] * float64(src[j])
			s1 += row[j+1] * float64(src[j+1])
			s2 += row[j+2] * float64(src[j+2])
			s3 += row[j+3] * float64(src[j+3])
		}
		for ; j < in; j++ {
			s0 += row[j] * float64(src[j])
		}
		s := (s0 + s1) + (s2 + s3)
		if r.bias != nil {
			s -= r.bias[i]
		}
		dst[i] = float32(s)
	}
}

func allFinite(v []float64) bool {
	for _, x := range v {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return false
		}
	}
	return true
}

// Normalize scales v to unit Euclidean length (computed in float64), as
// reduced embeddings are with --normalize; a zero vector stays zero.
func Normalize(v []float32) {
	s := 0.0
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	if s == 0 {
		return
	}
	inv := 1 / math.Sqrt(s)
	for i, x := range v {
		v[i] = float32(float64(x) * inv)
	}
}
