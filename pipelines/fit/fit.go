// Package fit is the reducer-fitting pipeline: read embedding rows, fit a
// PCA, FastICA or Gaussian random projection reducer, write the reducer file.
//
//	embeddings (Parquet, schema.Embedding) → ReadEmbeddings → Fit{PCA,ICA,GRP} → WriteReducer → OUT
//	                                              └──→ WriteRejects → Rejects (if set)
//
// PCA and GRP see every embedding (PCA through mergeable moments); FastICA is
// not mergeable and is fitted on a seeded sample of FitConfig.Sample
// embeddings, held by one worker.
package fit

import (
	"errors"
	"fmt"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"

	"github.com/vindex/vindex/schema"
	"github.com/vindex/vindex/storage"
	"github.com/vindex/vindex/transforms"
)

// Config is the fitting pipeline's configuration.
type Config struct {
	In      string // glob of embedding Parquet files (or dataset folders' files)
	Out     string // reducer file to write
	Rejects string // folder for rows that could not be read; "" drops them
	Fit     transforms.FitConfig
	Command string // the command line, recorded in the rejects' manifest
}

// Validate checks the configuration before anything runs.
func (c *Config) Validate() error {
	if c.In == "" {
		return errors.New("fit: no input given (--in GLOB of embedding Parquet files)")
	}
	if c.Out == "" {
		return errors.New("fit: no output given (--out FILE for the reducer)")
	}
	if err := storage.CheckAll(c.In, c.Out); err != nil {
		return fmt.Errorf("fit: %w", err)
	}
	if err := c.Fit.Validate(); err != nil {
		return fmt.Errorf("fit: %w", err)
	}
	files, err := schema.ListDataset(c.In)
	if err != nil {
		return fmt.Errorf("fit: input %s: %w", c.In, err)
	}
	if len(files) == 0 {
		return fmt.Errorf("fit: input %s matches no Parquet file", c.In)
	}
	return nil
}

// Build adds the fitting pipeline to s and returns the fitted reducer, a
// singleton PCollection<transforms.FittedReducer>, so that a longer pipeline
// can reduce with it as a side input. cfg must be valid.
func Build(s beam.Scope, cfg Config) beam.PCollection {
	s = s.Scope("pipelines.fit")
	embs, rejects := transforms.ReadEmbeddings(s, cfg.In)
	fitted := Fit(s, embs, cfg.Fit, cfg.Out)
	if cfg.Rejects != "" {
		transforms.WriteRejects(s, cfg.Rejects, transforms.WriteOptions{Shards: 1, Command: cfg.Command}, rejects)
	}
	return fitted
}

// Fit fits a reducer on embs (PCollection<schema.Embedding>) and writes it
// to out. It returns the singleton PCollection<transforms.FittedReducer>.
func Fit(s beam.Scope, embs beam.PCollection, fc transforms.FitConfig, out string) beam.PCollection {
	fitted := transforms.Fit(s, embs, fc)
	transforms.WriteReducer(s, out, fitted)
	return fitted
}
