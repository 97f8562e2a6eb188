package query

import (
	"context"
	"fmt"
	"sync"

	"github.com/vindex/vindex/model"
	"github.com/vindex/vindex/model/reduce"
	"github.com/vindex/vindex/pipelines/index"
	"github.com/vindex/vindex/schema"
	"github.com/vindex/vindex/storage"
	"github.com/vindex/vindex/transforms"
)

// Embedder turns feature rows into vectors of an index's space, as the index
// embedded its own songs: the index's weights, then (for a compact index)
// its reducer and, when the index was built so, unit length. It is safe for
// concurrent use: each call borrows a network (model.Net owns its scratch
// buffers) from a pool.
type Embedder struct {
	weights   *model.Weights
	reducer   *reduce.Reducer
	normalize bool
	dim       int
	nets      sync.Pool // of *netBuf
}

type netBuf struct {
	net  *model.Net
	full []float32
}

// NewEmbedder loads the weights index.json names (through the process's
// weights cache) and, for an index that searches its compact set, the
// reducer of the version folder dir; dim is the dimension the index
// searches, which the embedder's output must have.
func NewEmbedder(ctx context.Context, dir string, info *index.Info, dim int) (*Embedder, error) {
	w, err := transforms.LoadWeights(ctx, info.Weights, model.Config{})
	if err != nil {
		return nil, fmt.Errorf("query: %w", err)
	}
	if info.Model != "" && w.ID() != info.Model {
		return nil, fmt.Errorf("query: weights %s are model %s, the index was built with %s", info.Weights, w.ID(), info.Model)
	}
	e := &Embedder{weights: w, dim: w.Dim()}
	if info.Search == index.CompactDir {
		p := storage.Join(dir, index.ReducerFile)
		b, err := storage.ReadFile(ctx, p, maxDataFile)
		if err != nil {
			return nil, fmt.Errorf("query: %w", err)
		}
		r, err := reduce.Unmarshal(b)
		if err != nil {
			return nil, fmt.Errorf("query: %s: %w", p, err)
		}
		if r.InDim() != w.Dim() {
			return nil, fmt.Errorf("query: reducer takes %d-d embeddings, the weights give %d-d", r.InDim(), w.Dim())
		}
		e.reducer, e.normalize, e.dim = r, info.Normalize, r.OutDim()
	}
	if e.dim != dim {
		return nil, fmt.Errorf("query: queries would be %d-d, the index searches %d-d vectors", e.dim, dim)
	}
	e.nets.New = func() any { return &netBuf{net: w.NewNet(), full: make([]float32, w.Dim())} }
	return e, nil
}

// Dim is the dimension of the vectors Embed returns.
func (e *Embedder) Dim() int { return e.dim }

// Model is the id of the weights.
func (e *Embedder) Model() string { return e.weights.ID() }

// Reducer is the reducer's id, "" when the index searches full embeddings.
func (e *Embedder) Reducer() string {
	if e.reducer == nil {
		return ""
	}
	return e.reducer.ID()
}

// Embed validates s (schema.ValidateSong) and returns its vector. Errors
// wrap schema.ErrInvalid, or model.ErrTooShort / model.ErrHop / model.ErrInput.
func (e *Embedder) Embed(s *schema.Song) ([]float32, error) {
	if err := schema.ValidateSong(s); err != nil {
		return nil, err
	}
	nb := e.nets.Get().(*netBuf)
	defer e.nets.Put(nb)
	if err := nb.net.Embed(nb.full, s.Crema, int(s.EffectiveHop())); err != nil {
		return nil, err
	}
	if e.reducer == nil {
		return append([]float32(nil), nb.full...), nil
	}
	v := make([]float32, e.reducer.OutDim())
	e.reducer.Apply(v, nb.full)
	if e.normalize {
		reduce.Normalize(v)
	}
	return v, nil
}
