// Package embed is the embedding pipeline: read a catalog's feature rows,
// apply the MOVE / Re-MOVE network, write embedding rows and rejects.
//
//	features (Parquet, schema.Song) → ReadSongs → Embed → WriteEmbeddings → OUT/embeddings/
//	                                      └──────────┴──→ WriteRejects    → OUT/rejects/
//
// Read and Embed fuse into one stage: features never cross a stage boundary.
package embed

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"

	"github.com/vindex/vindex/model"
	"github.com/vindex/vindex/schema"
	"github.com/vindex/vindex/transforms"
)

// Config is the embedding pipeline's configuration.
type Config struct {
	Weights string       // checkpoint path or URI
	Model   model.Config // variant choices the checkpoint's shapes leave open
	In      string       // glob of feature Parquet files (or dataset folders' files)
	Out     string       // output folder: Out/embeddings and Out/rejects
	Shards  int          // output shards; 0 picks a default
	Command string       // the command line, recorded in the manifests
}

// Validate checks the configuration before anything runs: the input glob
// names files and the weights load as a network.
func (c *Config) Validate(ctx context.Context) error {
	if c.Weights == "" {
		return errors.New("embed: no weights given (--weights FILE: a PyTorch .pt state_dict or a .safetensors file)")
	}
	if c.In == "" {
		return errors.New("embed: no input given (--in GLOB of feature Parquet files)")
	}
	if c.Out == "" {
		return errors.New("embed: no output folder given (--out DIR)")
	}
	files, err := schema.ListDataset(c.In)
	if err != nil {
		return fmt.Errorf("embed: input %s: %w", c.In, err)
	}
	if len(files) == 0 {
		return fmt.Errorf("embed: input %s matches no Parquet file", c.In)
	}
	if c.Shards < 0 {
		return fmt.Errorf("embed: shards %d: want 0 (default) or more", c.Shards)
	}
	if _, err := transforms.LoadWeights(ctx, c.Weights, c.Model); err != nil {
		return fmt.Errorf("embed: %w", err)
	}
	return nil
}

// EmbeddingsDir and RejectsDir are the output folders of a run into out.
func EmbeddingsDir(out string) string { return filepath.Join(out, "embeddings") }
func RejectsDir(out string) string    { return filepath.Join(out, "rejects") }

// Build adds the embedding pipeline to s and returns the embeddings
// (PCollection<schema.Embedding>) so that a longer pipeline can go on from them.
func Build(s beam.Scope, cfg Config) beam.PCollection {
	s = s.Scope("pipelines.embed")
	songs, readRejects := transforms.ReadSongs(s, cfg.In)
	embs, embedRejects := transforms.Embed(s, transforms.EmbedConfig{Weights: cfg.Weights, Model: cfg.Model}, songs)
	opt := transforms.WriteOptions{Shards: cfg.Shards, Command: cfg.Command}
	transforms.WriteEmbeddings(s, EmbeddingsDir(cfg.Out), embs, opt)
	transforms.WriteRejects(s, RejectsDir(cfg.Out), opt, readRejects, embedRejects)
	return embs
}
