// Package demo prepares vindex's demonstration: a small Da-TACOS-shaped
// synthetic catalog and seeded, untrained MOVE weights, indexed by the
// pipelines/index pipeline (embed → fit PCA → reduce → evaluate).
//
// The weights are untrained: the demo shows the pipeline working end to end,
// not MOVE's accuracy. Bring the released Re-MOVE / MOVE checkpoints with
// --weights for real results.
package demo

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/vindex/vindex/importer/synth"
	"github.com/vindex/vindex/model"
	"github.com/vindex/vindex/pipelines/index"
	"github.com/vindex/vindex/storage"
	"github.com/vindex/vindex/transforms"
)

// Config is the demo's configuration.
type Config struct {
	Dir     string // working folder: features/, weights, index/
	Weights string // a checkpoint to use instead of seeded untrained weights
	Seed    uint64
	Dim     int // embedding size of the seeded weights (default 256)
	PCA     int // PCA output dimension (default 64)
	Catalog synth.Config
}

// DefaultConfig is the demo run by 'vindex demo' with no arguments: 30 works
// × 4 versions + 20 noise songs of 35–60 s, seeded weights of d = 256, PCA
// to 64 dimensions.
func DefaultConfig(dir string) Config {
	c := synth.Small()
	c.Seed = 1
	return Config{Dir: dir, Seed: 1, Dim: 256, PCA: 64, Catalog: c}
}

// Prepared is what Prepare made.
type Prepared struct {
	Index     index.Config // the index pipeline to run (not yet validated)
	Untrained bool         // the weights are seeded, not trained
	Songs     int
}

// Prepare synthesises the catalog and the weights into cfg.Dir and returns
// the index pipeline's configuration.
func Prepare(cfg Config) (*Prepared, error) {
	if cfg.Dim <= 0 || cfg.PCA <= 0 || cfg.PCA > cfg.Dim {
		return nil, fmt.Errorf("demo: dimensions %d → %d: want 0 < PCA ≤ d", cfg.Dim, cfg.PCA)
	}
	if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	features := filepath.Join(cfg.Dir, "features")
	if err := os.RemoveAll(features); err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	sum, err := synth.Generate(cfg.Catalog, features)
	if err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	p := &Prepared{Songs: sum.Songs}
	weights := cfg.Weights
	if weights == "" {
		p.Untrained = true
		weights = filepath.Join(cfg.Dir, fmt.Sprintf("move-untrained-seed%d-d%d.safetensors", cfg.Seed, cfg.Dim))
		if err := writeSeeded(weights, cfg.Dim, cfg.Seed); err != nil {
			return nil, err
		}
	}
	out := filepath.Join(cfg.Dir, "index")
	if err := os.RemoveAll(out); err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	p.Index = index.Config{
		Weights:  weights,
		In:       filepath.Join(features, "*.parquet"),
		Out:      out,
		Fit:      transforms.FitConfig{Method: "pca", K: cfg.PCA},
		Evaluate: true,
		GroupBy:  []string{"instrumental"},
		Shards:   2,
		Command:  "vindex demo",
	}
	return p, nil
}

func writeSeeded(path string, d int, seed uint64) error {
	err := storage.WriteTo(context.Background(), path, func(w io.Writer) error { return model.WriteSeededCheckpoint(w, d, seed) })
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	return nil
}
