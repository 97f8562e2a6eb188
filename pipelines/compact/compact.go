// Package compact is the reduction pipeline: apply a fitted reducer file to
// embedding rows and write the reduced rows and the rejects.
//
//	embeddings → ReadEmbeddings → Reduce (reducer as side input) → WriteEmbeddings → OUT/embeddings/
//	                   └────────────────┴──→ WriteRejects → OUT/rejects/
//
// Reduced rows keep every column; Embedding is the reduced vector and Reducer
// the reducer's id. Rows of another model or dimension than the reducer's are
// rejects naming the song.
package compact

import (
	"context"
	"errors"
	"fmt"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"

	"github.com/vindex/vindex/schema"
	"github.com/vindex/vindex/storage"
	"github.com/vindex/vindex/transforms"
)

// Config is the reduction pipeline's configuration.
type Config struct {
	Reducer   string // reducer file (path or URI)
	In        string // glob of embedding Parquet files
	Out       string // output folder: Out/embeddings and Out/rejects
	Normalize bool   // scale reduced embeddings to unit length
	Shards    int    // output shards; 0 picks a default
	Command   string // the command line, recorded in the manifests

	reducer []byte // the reducer file, read by Validate
}

// Validate checks the configuration before anything runs: the reducer file
// decodes and the input glob names files.
func (c *Config) Validate() error {
	if c.Reducer == "" {
		return errors.New("reduce: no reducer given (--reducer FILE written by 'vindex fit')")
	}
	if c.In == "" {
		return errors.New("reduce: no input given (--in GLOB of embedding Parquet files)")
	}
	if c.Out == "" {
		return errors.New("reduce: no output folder given (--out DIR)")
	}
	if err := storage.CheckAll(c.In, c.Out, c.Reducer); err != nil {
		return fmt.Errorf("reduce: %w", err)
	}
	if c.Shards < 0 {
		return fmt.Errorf("reduce: shards %d: want 0 (default) or more", c.Shards)
	}
	_, b, err := transforms.ReadReducer(context.Background(), c.Reducer)
	if err != nil {
		return fmt.Errorf("reduce: %w", err)
	}
	files, err := schema.ListDataset(c.In)
	if err != nil {
		return fmt.Errorf("reduce: input %s: %w", c.In, err)
	}
	if len(files) == 0 {
		return fmt.Errorf("reduce: input %s matches no Parquet file", c.In)
	}
	c.reducer = b
	return nil
}

// EmbeddingsDir and RejectsDir are the output folders of a run into out.
func EmbeddingsDir(out string) string { return storage.Join(out, "embeddings") }
func RejectsDir(out string) string    { return storage.Join(out, "rejects") }

// Build adds the reduction pipeline to s and returns the reduced embeddings
// (PCollection<schema.Embedding>). It panics unless cfg was validated.
func Build(s beam.Scope, cfg Config) beam.PCollection {
	if cfg.reducer == nil {
		panic("reduce: Build with a Config that was not validated")
	}
	s = s.Scope("pipelines.reduce")
	embs, readRejects := transforms.ReadEmbeddings(s, cfg.In)
	side := beam.Create(s, transforms.FittedReducer{File: cfg.reducer})
	opt := transforms.WriteOptions{Shards: cfg.Shards, Command: cfg.Command}
	out, rejects := Reduce(s, side, embs, cfg.Normalize, EmbeddingsDir(cfg.Out), opt)
	transforms.WriteRejects(s, RejectsDir(cfg.Out), opt, readRejects, rejects)
	return out
}

// Reduce applies the singleton fitted reducer (PCollection<transforms.FittedReducer>)
// to embs and writes the reduced embeddings as a dataset into dir. It returns
// them and the reduce stage's rejects; writing rejects is the caller's.
func Reduce(s beam.Scope, fitted, embs beam.PCollection, normalize bool, dir string, opt transforms.WriteOptions) (reduced, rejects beam.PCollection) {
	reduced, rejects = transforms.Reduce(s, fitted, embs, normalize)
	transforms.WriteEmbeddings(s, dir, reduced, opt)
	return reduced, rejects
}
