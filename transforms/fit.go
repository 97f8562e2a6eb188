package transforms

import (
	"context"
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"io"
	"reflect"
	"slices"
	"sort"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"

	"github.com/vindex/vindex/model/reduce"
	"github.com/vindex/vindex/schema"
	"github.com/vindex/vindex/storage"
)

func init() {
	beam.RegisterType(reflect.TypeOf((*pcaFitFn)(nil)).Elem())
	beam.RegisterType(reflect.TypeOf((*icaFitFn)(nil)).Elem())
	beam.RegisterType(reflect.TypeOf((*grpFitFn)(nil)).Elem())
	beam.RegisterType(reflect.TypeOf((*writeReducerFn)(nil)).Elem())
}

// FittedReducer is a fitted reducer as a PCollection element or side input:
// its reducer-file encoding (model/reduce), a compact binary form that Beam
// codes as one byte string.
type FittedReducer struct {
	File []byte
}

// Reducer decodes the reducer.
func (f FittedReducer) Reducer() (*reduce.Reducer, error) { return reduce.Unmarshal(f.File) }

// FitConfig configures the Fit transforms. Validate checks it.
type FitConfig struct {
	// Method is the reduction method.
	Method reduce.Method
	// K is the output dimension.
	K int
	// Whiten scales PCA outputs to unit variance (PCA only; ICA always
	// whitens).
	Whiten bool
	// Sample is the number of embeddings FastICA is fitted on: the ones with
	// the smallest seeded hash of their song id (ICA only; FastICA is not
	// mergeable).
	Sample int
	// Seed seeds the ICA sample and initial matrix and the GRP matrix.
	Seed uint64
	// MaxIter and Tol are FastICA's (0: sklearn's defaults 200 and 1e-4).
	MaxIter int
	Tol     float64
}

// DefaultICASample is the ICA sample size when FitConfig.Sample is 0.
const DefaultICASample = 10000

// Validate reports whether the configuration is usable.
func (c FitConfig) Validate() error {
	if _, err := reduce.ParseMethod(string(c.Method)); err != nil {
		return fmt.Errorf("transforms: fit: %w", err)
	}
	if c.K < 1 || c.K > reduce.MaxDim {
		return fmt.Errorf("transforms: fit: output dimension %d outside 1..%d", c.K, reduce.MaxDim)
	}
	if c.Whiten && c.Method != reduce.PCA {
		return fmt.Errorf("transforms: fit: whitening is a PCA option (ICA always whitens), not %s", c.Method)
	}
	if c.Sample < 0 || c.Sample != 0 && c.Method != reduce.ICA {
		return fmt.Errorf("transforms: fit: sample %d: a sample size is for ICA only, and positive", c.Sample)
	}
	if c.Method == reduce.ICA && c.Sample != 0 && c.Sample < c.K {
		return fmt.Errorf("transforms: fit: ICA sample %d smaller than the output dimension %d", c.Sample, c.K)
	}
	if c.MaxIter < 0 || c.Tol < 0 {
		return fmt.Errorf("transforms: fit: max_iter %d and tol %g must not be negative", c.MaxIter, c.Tol)
	}
	return nil
}

// Fit fits the reducer cfg names to embs (PCollection<schema.Embedding>) and
// returns a singleton PCollection<FittedReducer>, usable as the side input
// of Reduce and writable with WriteReducer. It panics if cfg is invalid
// (validate it first). The pipeline fails, naming the song, if the
// embeddings mix models or dimensions; an empty input yields no reducer.
func Fit(s beam.Scope, embs beam.PCollection, cfg FitConfig) beam.PCollection {
	if err := cfg.Validate(); err != nil {
		panic(err)
	}
	switch cfg.Method {
	case reduce.ICA:
		return FitICA(s, embs, cfg)
	case reduce.GRP:
		return FitGRP(s, embs, cfg)
	}
	return FitPCA(s, embs, cfg)
}

// FitPCA fits PCA with a CombineFn whose accumulator holds exact integer
// sums of the quantised embeddings and their outer products (reduce.Moments),
// so the fitted reducer's bytes, hence its id, do not depend on the bundle
// split, the shard count or the merge order. It takes
// PCollection<schema.Embedding> and returns a singleton
// PCollection<FittedReducer>.
func FitPCA(s beam.Scope, embs beam.PCollection, cfg FitConfig) beam.PCollection {
	s = s.Scope("transforms.FitPCA")
	return beam.Combine(s, &pcaFitFn{K: cfg.K, Whiten: cfg.Whiten}, embs)
}

// FitICA fits FastICA on a seeded sample of cfg.Sample embeddings (default
// DefaultICASample): those whose song ids have the smallest 64-bit hash
// under cfg.Seed, so the sample does not depend on bundling. It takes
// PCollection<schema.Embedding> and returns a singleton
// PCollection<FittedReducer>.
func FitICA(s beam.Scope, embs beam.PCollection, cfg FitConfig) beam.PCollection {
	s = s.Scope("transforms.FitICA")
	n := cfg.Sample
	if n == 0 {
		n = DefaultICASample
	}
	return beam.Combine(s, &icaFitFn{K: cfg.K, Sample: n, Seed: cfg.Seed, MaxIter: cfg.MaxIter, Tol: cfg.Tol}, embs)
}

// FitGRP creates a Gaussian random projection for the embeddings' dimension
// and model (it reads only those and the count). It takes
// PCollection<schema.Embedding> and returns a singleton
// PCollection<FittedReducer>.
func FitGRP(s beam.Scope, embs beam.PCollection, cfg FitConfig) beam.PCollection {
	s = s.Scope("transforms.FitGRP")
	return beam.Combine(s, &grpFitFn{K: cfg.K, Seed: cfg.Seed}, embs)
}

// checkSource reports an error naming the song if e is of another model or
// dimension than the embeddings an accumulator already saw.
func checkSource(seen bool, model string, dim int, e *schema.Embedding, what string) error {
	if !seen {
		return nil
	}
	if e.Model != model {
		return fmt.Errorf("transforms: %s: song %s has model %q, earlier embeddings %q: fit one model at a time", what, e.SongID, e.Model, model)
	}
	if len(e.Embedding) != dim {
		return fmt.Errorf("transforms: %s: song %s has %d values, earlier embeddings %d", what, e.SongID, len(e.Embedding), dim)
	}
	return nil
}

func mergeSource(aSeen bool, aModel string, aDim int, bSeen bool, bModel string, bDim int, what string) error {
	if aSeen && bSeen && (aModel != bModel || aDim != bDim) {
		return fmt.Errorf("transforms: %s: embeddings of model %q (%d values) and %q (%d values): fit one model at a time", what, aModel, aDim, bModel, bDim)
	}
	return nil
}

// momentsAccum is pcaFitFn's accumulator: reduce.Moments as flat exported
// fields (the schema coder drops unexported ones), plus the embeddings'
// model id.
type momentsAccum struct {
	Model   string
	Dim     int64
	Pending []float32
	Exp     []int64
	Count   []int64
	Sum     []int64
	Lo      []int64
	Hi      []int64
	Adds    []int64
}

func (a *momentsAccum) moments() *reduce.Moments {
	return &reduce.Moments{Dim: int(a.Dim), Pending: a.Pending, Exp: a.Exp, Count: a.Count, Sum: a.Sum,
		Lo: a.Lo, Hi: a.Hi, Adds: a.Adds}
}

func accumOf(m *reduce.Moments, model string) momentsAccum {
	return momentsAccum{Model: model, Dim: int64(m.Dim), Pending: m.Pending, Exp: m.Exp, Count: m.Count, Sum: m.Sum,
		Lo: m.Lo, Hi: m.Hi, Adds: m.Adds}
}

type pcaFitFn struct {
	K      int
	Whiten bool
}

func (f *pcaFitFn) CreateAccumulator() momentsAccum { return momentsAccum{} }

func (f *pcaFitFn) AddInput(a momentsAccum, e schema.Embedding) (momentsAccum, error) {
	m := a.moments()
	if err := checkSource(m.Rows() > 0, a.Model, m.Dim, &e, "FitPCA"); err != nil {
		return a, err
	}
	if err := m.Add(e.Embedding); err != nil {
		return a, fmt.Errorf("transforms: FitPCA: song %s: %w", e.SongID, err)
	}
	return accumOf(m, e.Model), nil
}

func (f *pcaFitFn) MergeAccumulators(a, b momentsAccum) (momentsAccum, error) {
	ma, mb := a.moments(), b.moments()
	if err := mergeSource(ma.Rows() > 0, a.Model, ma.Dim, mb.Rows() > 0, b.Model, mb.Dim, "FitPCA"); err != nil {
		return a, err
	}
	if ma.Rows() == 0 {
		return b, nil
	}
	if err := ma.Merge(mb); err != nil {
		return a, fmt.Errorf("transforms: FitPCA: %w", err)
	}
	return accumOf(ma, a.Model), nil
}

func (f *pcaFitFn) ExtractOutput(a momentsAccum) (FittedReducer, error) {
	r, err := reduce.FitPCA(a.moments(), reduce.PCAConfig{K: f.K, Whiten: f.Whiten, Model: a.Model})
	if err != nil {
		return FittedReducer{}, fmt.Errorf("transforms: FitPCA: %w", err)
	}
	return encodeReducer(r)
}

func encodeReducer(r *reduce.Reducer) (FittedReducer, error) {
	b, err := r.MarshalBinary()
	if err != nil {
		return FittedReducer{}, err
	}
	return FittedReducer{File: b}, nil
}

// sampleAccum is icaFitFn's accumulator: up to 2·Sample candidate rows with
// their hash keys, pruned to the Sample smallest keys.
type sampleAccum struct {
	Model string
	Dim   int64
	Count int64 // embeddings seen
	Keys  []uint64
	Rows  []float64 // len(Keys)×Dim
}

type icaFitFn struct {
	K       int
	Sample  int
	Seed    uint64
	MaxIter int
	Tol     float64
}

// sampleKey is the seeded 64-bit hash that orders songs for sampling.
func sampleKey(seed uint64, songID string) uint64 {
	h := fnv.New64a()
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], seed)
	h.Write(b[:])
	io.WriteString(h, songID)
	// splitmix64 finaliser: FNV's low bits mix poorly.
	z := h.Sum64()
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

func (f *icaFitFn) CreateAccumulator() sampleAccum { return sampleAccum{} }

func (f *icaFitFn) AddInput(a sampleAccum, e schema.Embedding) (sampleAccum, error) {
	if err := checkSource(a.Count > 0, a.Model, int(a.Dim), &e, "FitICA"); err != nil {
		return a, err
	}
	if len(e.Embedding) == 0 {
		return a, fmt.Errorf("transforms: FitICA: song %s has an empty embedding", e.SongID)
	}
	if a.Count == 0 {
		a.Model, a.Dim = e.Model, int64(len(e.Embedding))
	}
	a.Count++
	a.Keys = append(a.Keys, sampleKey(f.Seed, e.SongID))
	for _, v := range e.Embedding {
		a.Rows = append(a.Rows, float64(v))
	}
	if len(a.Keys) >= 2*f.Sample {
		a = f.prune(a)
	}
	return a, nil
}

// prune keeps the Sample rows with the smallest keys, in key order (ties
// broken by the rows' values, so the result is independent of input order).
func (f *icaFitFn) prune(a sampleAccum) sampleAccum {
	d := int(a.Dim)
	idx := make([]int, len(a.Keys))
	for i := range idx {
		idx[i] = i
	}
	sort.Slice(idx, func(i, j int) bool {
		ki, kj := a.Keys[idx[i]], a.Keys[idx[j]]
		if ki != kj {
			return ki < kj
		}
		return slices.Compare(a.Rows[idx[i]*d:(idx[i]+1)*d], a.Rows[idx[j]*d:(idx[j]+1)*d]) < 0
	})
	n := min(len(idx), f.Sample)
	keys := make([]uint64, n)
	rows := make([]float64, n*d)
	for i := range n {
		keys[i] = a.Keys[idx[i]]
		copy(rows[i*d:(i+1)*d], a.Rows[idx[i]*d:(idx[i]+1)*d])
	}
	a.Keys, a.Rows = keys, rows
	return a
}

func (f *icaFitFn) MergeAccumulators(a, b sampleAccum) (sampleAccum, error) {
	if err := mergeSource(a.Count > 0, a.Model, int(a.Dim), b.Count > 0, b.Model, int(b.Dim), "FitICA"); err != nil {
		return a, err
	}
	if a.Count == 0 {
		return b, nil
	}
	a.Count += b.Count
	a.Keys = append(a.Keys, b.Keys...)
	a.Rows = append(a.Rows, b.Rows...)
	if len(a.Keys) > f.Sample {
		a = f.prune(a)
	}
	return a, nil
}

func (f *icaFitFn) ExtractOutput(a sampleAccum) (FittedReducer, error) {
	a = f.prune(a)
	r, err := reduce.FitICA(a.Rows, len(a.Keys), int(a.Dim), reduce.ICAConfig{
		K: f.K, MaxIter: f.MaxIter, Tol: f.Tol, Seed: f.Seed, Model: a.Model,
	})
	if err != nil {
		return FittedReducer{}, fmt.Errorf("transforms: FitICA on a sample of %d of %d embeddings: %w", len(a.Keys), a.Count, err)
	}
	return encodeReducer(r)
}

// countAccum is grpFitFn's accumulator.
type countAccum struct {
	Model string
	Dim   int64
	Count int64
}

type grpFitFn struct {
	K    int
	Seed uint64
}

func (f *grpFitFn) CreateAccumulator() countAccum { return countAccum{} }

func (f *grpFitFn) AddInput(a countAccum, e schema.Embedding) (countAccum, error) {
	if err := checkSource(a.Count > 0, a.Model, int(a.Dim), &e, "FitGRP"); err != nil {
		return a, err
	}
	if a.Count == 0 {
		a.Model, a.Dim = e.Model, int64(len(e.Embedding))
	}
	a.Count++
	return a, nil
}

func (f *grpFitFn) MergeAccumulators(a, b countAccum) (countAccum, error) {
	if err := mergeSource(a.Count > 0, a.Model, int(a.Dim), b.Count > 0, b.Model, int(b.Dim), "FitGRP"); err != nil {
		return a, err
	}
	if a.Count == 0 {
		return b, nil
	}
	a.Count += b.Count
	return a, nil
}

func (f *grpFitFn) ExtractOutput(a countAccum) (FittedReducer, error) {
	r, err := reduce.NewGRP(reduce.GRPConfig{InDim: int(a.Dim), OutDim: f.K, Seed: f.Seed, Model: a.Model, FitCount: a.Count})
	if err != nil {
		return FittedReducer{}, fmt.Errorf("transforms: FitGRP: %w", err)
	}
	return encodeReducer(r)
}

// WriteReducer writes the singleton fitted (PCollection<FittedReducer>) to
// path (any URI storage knows), atomically (storage.WriteFile).
func WriteReducer(s beam.Scope, path string, fitted beam.PCollection) {
	s = s.Scope("transforms.WriteReducer")
	beam.ParDo0(s, &writeReducerFn{Path: path}, fitted)
}

type writeReducerFn struct {
	Path string
}

func (f *writeReducerFn) ProcessElement(ctx context.Context, fr FittedReducer) error {
	if _, err := fr.Reducer(); err != nil {
		return fmt.Errorf("transforms: WriteReducer %s: %w", f.Path, err)
	}
	if err := storage.WriteFile(ctx, f.Path, fr.File); err != nil {
		return fmt.Errorf("transforms: WriteReducer: %w", err)
	}
	return nil
}
