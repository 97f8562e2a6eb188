package reduce

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// GRPConfig configures NewGRP.
type GRPConfig struct {
	InDim, OutDim int
	Seed          uint64
	// Model is the model id of the embeddings, recorded in the reducer.
	Model string
	// FitCount is the number of embeddings seen, recorded in the reducer.
	FitCount int64
}

// NewGRP returns a Gaussian random projection with N(0, 1/OutDim) entries
// drawn from a PCG generator seeded with Seed (sklearn's
// GaussianRandomProjection; the stream differs from numpy's).
func NewGRP(cfg GRPConfig) (*Reducer, error) {
	info := Info{Method: GRP, InDim: cfg.InDim, OutDim: cfg.OutDim, Model: cfg.Model, Seed: cfg.Seed, FitCount: cfg.FitCount}
	if err := info.validate(); err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewPCG(cfg.Seed, seedStream))
	s := 1 / math.Sqrt(float64(cfg.OutDim))
	m := make([]float64, cfg.InDim*cfg.OutDim)
	for i := range m {
		m[i] = rng.NormFloat64() * s
	}
	return New(info, nil, m)
}

// JLMinDim returns the smallest dimension that, by the Johnson–Lindenstrauss
// lemma, keeps the pairwise distances of nSamples points within a factor
// (1 ± eps) with good probability: ⌊4·ln(n) / (eps²/2 − eps³/3)⌋, as
// sklearn.random_projection.johnson_lindenstrauss_min_dim.
func JLMinDim(nSamples int64, eps float64) (int64, error) {
	if nSamples < 1 {
		return 0, fmt.Errorf("reduce: JL dimension of %d samples", nSamples)
	}
	if !(eps > 0 && eps < 1) {
		return 0, fmt.Errorf("reduce: JL eps %g outside (0, 1)", eps)
	}
	den := eps*eps/2 - eps*eps*eps/3
	return int64(4 * math.Log(float64(nSamples)) / den), nil
}
