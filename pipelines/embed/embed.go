// Package embed is the embedding pipeline: read a catalog's feature rows,
// apply the MOVE / Re-MOVE network, write embedding rows and rejects.
//
//	features (Parquet, schema.Song) → ReadSongs → Embed → WriteUniqueEmbeddings → OUT/embeddings/
//	                                      └──────────┴──────────┴──→ WriteRejects → OUT/rejects/
//
// Read, Embed and the writing of the embeddings' part files fuse into one
// stage: features never cross a stage boundary, and embeddings neither (only
// each row's origin does, to find duplicate song ids), so memory does not
// grow with the catalog.
package embed

import (
	"context"
	"errors"
	"fmt"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"

	"github.com/vindex/vindex/model"
	"github.com/vindex/vindex/schema"
	"github.com/vindex/vindex/storage"
	"github.com/vindex/vindex/transforms"
)

// Config is the embedding pipeline's configuration.
type Config struct {
	Weights string       // checkpoint path or URI
	Model   model.Config // variant choices the checkpoint's shapes leave open
	In      string       // glob of feature Parquet files (or dataset folders' files)
	Out     string       // output folder: Out/embeddings and Out/rejects
	Shards  int          // rejects' output shards; 0 picks a default
	// Read bounds the ranges the catalog is read in (zero: ReadSongs'
	// defaults).
	Read    transforms.ReadOptions
	Command string // the command line, recorded in the manifests

	// Previous, if set, is the glob of a previous index's embeddings and
	// Skip a file of "song_id<TAB>content_hash" lines of songs whose
	// embeddings are carried over from it instead of embedded again (see
	// transforms.EmbedIncremental). Set by the nightly reindex.
	Previous, Skip string
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
	if err := storage.CheckAll(c.In, c.Out, c.Weights, c.Previous, c.Skip); err != nil {
		return fmt.Errorf("embed: %w", err)
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
func EmbeddingsDir(out string) string { return storage.Join(out, "embeddings") }
func RejectsDir(out string) string    { return storage.Join(out, "rejects") }

// Build adds the embedding pipeline to s and returns done, a
// PCollection<string> holding EmbeddingsDir(cfg.Out) once the embeddings
// dataset is published (see Written). cfg must have been validated.
func Build(s beam.Scope, cfg Config) beam.PCollection {
	s = s.Scope("pipelines.embed")
	songs, readRejects := transforms.ReadSongsWith(s, cfg.In, cfg.Read)
	done, embedRejects := Embed(s, cfg, songs)
	transforms.WriteRejects(s, RejectsDir(cfg.Out), cfg.writeOptions(), readRejects, embedRejects)
	return done
}

// Embed embeds songs (PCollection<schema.Song>) and writes the embeddings
// dataset into EmbeddingsDir(cfg.Out), one row per song_id
// (transforms.WriteUniqueEmbeddings: part files written by the fused
// embedding stage itself, the first copy of a song_id by file path, then
// row, kept; the others are rejects of stage "dedupe"); cfg.In is not read.
// Embeddings never cross a stage boundary, so memory does not grow with the
// catalog. It returns done (PCollection<string>: the embeddings folder, once
// published) and the rejects of the embed and dedupe stages (and of the
// previous embeddings' read, when cfg.Previous is set); writing rejects is
// the caller's. Written reads the embeddings back for later stages.
func Embed(s beam.Scope, cfg Config, songs beam.PCollection) (done, rejects beam.PCollection) {
	ecfg := transforms.EmbedConfig{Weights: cfg.Weights, Model: cfg.Model, Skip: cfg.Skip}
	var embs beam.PCollection
	if cfg.Previous != "" {
		prev, prevRejects := transforms.ReadEmbeddings(s, cfg.Previous)
		embs, _, rejects = transforms.EmbedIncremental(s, ecfg, songs, prev)
		rejects = beam.Flatten(s, rejects, prevRejects)
	} else {
		embs, rejects = transforms.Embed(s, ecfg, songs)
	}
	done, dupRejects := transforms.WriteUniqueEmbeddings(s, EmbeddingsDir(cfg.Out), embs, cfg.writeOptions())
	return done, beam.Flatten(s, rejects, dupRejects)
}

// Written reads back the embeddings Embed published (done is its first
// result): a PCollection<schema.Embedding> with one row per song_id, and a
// PCollection<schema.Reject> of rows that could not be read back (none
// unless the folder was changed while the pipeline ran).
func Written(s beam.Scope, done beam.PCollection) (embs, rejects beam.PCollection) {
	return transforms.ReadEmbeddingsFrom(s.Scope("pipelines.embed.Written"), done)
}

func (c *Config) writeOptions() transforms.WriteOptions {
	return transforms.WriteOptions{Shards: c.Shards, Command: c.Command}
}
