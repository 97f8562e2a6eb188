package distill

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

// PoolConfig configures the pooled-features pipeline.
type PoolConfig struct {
	Teacher string       // teacher checkpoint path or URI
	Model   model.Config // variant choices the checkpoint's shapes leave open
	In      string       // glob of feature Parquet files (labelled: work_id)
	Out     string       // output folder: Out/pooled and Out/rejects
	Patches int          // random training-length patches per song, besides the whole song
	Seed    uint64       // patch positions
	Shards  int          // output shards; 0 picks a default
	Command string       // the command line, recorded in the manifests
}

// Validate checks the configuration before anything runs.
func (c *PoolConfig) Validate(ctx context.Context) error {
	if c.Teacher == "" {
		return errors.New("distill: no teacher given (--teacher FILE)")
	}
	if c.In == "" || c.Out == "" {
		return errors.New("distill: pool needs --in GLOB (labelled features) and --out DIR")
	}
	if c.Patches < 0 || c.Patches > 1000 {
		return fmt.Errorf("distill: %d patches per song: want 0..1000", c.Patches)
	}
	if c.Shards < 0 {
		return fmt.Errorf("distill: shards %d: want 0 (default) or more", c.Shards)
	}
	files, err := schema.ListDataset(c.In)
	if err != nil {
		return fmt.Errorf("distill: input %s: %w", c.In, err)
	}
	if len(files) == 0 {
		return fmt.Errorf("distill: input %s matches no Parquet file", c.In)
	}
	if _, err := transforms.LoadWeights(ctx, c.Teacher, c.Model); err != nil {
		return fmt.Errorf("distill: %w", err)
	}
	return nil
}

// PooledDir and RejectsDir are the output folders of a pooling run into out.
func PooledDir(out string) string  { return storage.Join(out, "pooled") }
func RejectsDir(out string) string { return storage.Join(out, "rejects") }

// BuildPool adds the pooled-features pipeline to s and returns the pooled
// rows (PCollection<schema.Pooled>).
func BuildPool(s beam.Scope, cfg PoolConfig) beam.PCollection {
	s = s.Scope("pipelines.distill.pool")
	songs, readRejects := transforms.ReadSongs(s, cfg.In)
	pooled, rejects := transforms.Pool(s, transforms.PoolConfig{Weights: cfg.Teacher, Model: cfg.Model,
		Patches: cfg.Patches, Seed: cfg.Seed}, songs)
	opt := transforms.WriteOptions{Shards: cfg.Shards, Command: cfg.Command}
	transforms.WritePooled(s, PooledDir(cfg.Out), pooled, opt)
	transforms.WriteRejects(s, RejectsDir(cfg.Out), opt, readRejects, rejects)
	return pooled
}
