// Package evaluate is the evaluation pipeline: read one or more embedding
// datasets, compute the version-retrieval metrics of each (MAP, MR1, MRR,
// Top-k, exactly as the original code defines them; see model/metrics), and
// write, per dataset, report.json, report.md, PNG plots and a per-query
// Parquet file for drill-down.
//
//	embeddings (Parquet, schema.Embedding) → ReadEmbeddings → DedupeEmbeddings → Evaluate → WriteEvaluationReport → OUT/<set>/
//
// Several datasets (e.g. a model's 2048-d embeddings and their PCA to 512,
// 256, 128) are evaluated as independent branches of one pipeline; the
// command then prints metrics.ComparisonTable of their reports.
package evaluate

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"

	"github.com/vindex/vindex/model/metrics"
	"github.com/vindex/vindex/schema"
	"github.com/vindex/vindex/storage"
	"github.com/vindex/vindex/transforms"
)

// Config is the evaluation pipeline's configuration.
type Config struct {
	// In holds one pattern (glob, file or dataset folder) per embedding set.
	In []string
	// Out is the output folder; set i's report goes to SetDir(Out, i, In[i]).
	Out string
	// Distance is the similarity; empty picks, per set, the default recorded
	// for its model id (metrics.DefaultDistance: cosine unless the id names a
	// triplet or Group-loss model), read from the set's first row.
	Distance metrics.Distance
	// GroupBy names columns to group MAP/MR1 by, besides clique size.
	GroupBy []string
	// PairQueries: queries per block (0: default, see
	// transforms.EvaluateConfig). Workers: goroutines per element (0:
	// GOMAXPROCS).
	PairQueries, Workers int

	// distances holds the resolved distance of each set (set by Validate).
	distances []metrics.Distance
}

// Validate checks the configuration and resolves each set's distance.
// Only local datasets can be inspected for the default distance; a remote
// set (gs://) needs an explicit Distance.
func (c *Config) Validate() error {
	if len(c.In) == 0 {
		return errors.New("evaluate: no input given (--in GLOB of embedding Parquet files; repeat or comma-separate for several sets)")
	}
	if c.Out == "" {
		return errors.New("evaluate: no output folder given (--out DIR)")
	}
	if err := storage.CheckAll(append([]string{c.Out}, c.In...)...); err != nil {
		return fmt.Errorf("evaluate: %w", err)
	}
	mc := metrics.Config{Distance: c.Distance, GroupBy: c.GroupBy}
	if err := mc.Validate(); err != nil {
		return fmt.Errorf("evaluate: %w", err)
	}
	if c.PairQueries < 0 || c.Workers < 0 {
		return errors.New("evaluate: negative block size or worker count")
	}
	c.distances = make([]metrics.Distance, len(c.In))
	for i, in := range c.In {
		if c.Distance != "" {
			c.distances[i] = c.Distance
			continue
		}
		model, err := firstModel(in)
		if err != nil {
			return err
		}
		c.distances[i] = metrics.DefaultDistance(model)
	}
	return nil
}

// Distances returns the distance of each set (after Validate).
func (c *Config) Distances() []metrics.Distance { return c.distances }

// firstModel reads the model id of the first row of a local dataset.
func firstModel(pattern string) (string, error) {
	files, err := schema.ListDataset(pattern)
	if err != nil {
		return "", fmt.Errorf("evaluate: input %s: %w", pattern, err)
	}
	if len(files) == 0 {
		return "", fmt.Errorf("evaluate: input %s matches no Parquet file", pattern)
	}
	f, err := schema.Open(files[0])
	if err != nil {
		return "", fmt.Errorf("evaluate: %w", err)
	}
	defer f.Close()
	for rg := range f.NumRowGroups() {
		for e, err := range f.Embeddings(rg) {
			if err != nil {
				return "", fmt.Errorf("evaluate: %w", err)
			}
			return e.Model, nil
		}
	}
	return "", fmt.Errorf("evaluate: %s has no rows", files[0])
}

// SetDir is the output folder of set i whose pattern is in.
func SetDir(out string, i int, in string) string {
	base := strings.TrimSuffix(in, "/")
	for strings.ContainsAny(storage.Base(base), "*?[") || strings.HasSuffix(base, ".parquet") {
		base = storage.Dir(base)
	}
	name := storage.Base(base)
	if name == "." || name == "/" || name == "" || strings.HasSuffix(name, ":") {
		name = "set"
	}
	return storage.Join(out, strconv.Itoa(i)+"-"+name)
}

// Build adds the evaluation of every set to s. It returns, per set, the
// singleton PCollection<string> holding the path of its report.json.
func Build(s beam.Scope, cfg Config) []beam.PCollection {
	s = s.Scope("pipelines.evaluate")
	if len(cfg.distances) != len(cfg.In) {
		panic("evaluate: Build before Config.Validate")
	}
	var out []beam.PCollection
	for i, in := range cfg.In {
		ss := s.Scope("set" + strconv.Itoa(i))
		embs, readRejects := transforms.ReadEmbeddings(ss, in)
		embs, dupRejects := transforms.DedupeEmbeddings(ss, embs)
		readRejects = beam.Flatten(ss, readRejects, dupRejects)
		ec := transforms.EvaluateConfig{
			Metrics:     metrics.Config{Distance: cfg.distances[i], GroupBy: cfg.GroupBy, Workers: cfg.Workers},
			PairQueries: cfg.PairQueries,
		}
		out = append(out, Set(ss, ec, embs, SetDir(cfg.Out, i, in), readRejects))
	}
	return out
}

// Set evaluates one embedding set (PCollection<schema.Embedding>) and writes
// its report into dir; rejects of earlier stages (PCollection<schema.Reject>)
// are listed in the report with the evaluation's own. It returns the
// singleton PCollection<string> holding the path of report.json. The
// catalog's temporary block files go under ec.TempDir or, for a report on an
// object store (where a cluster's workers share nothing else), under
// dir/_tmp; they are removed once the report is written.
func Set(s beam.Scope, ec transforms.EvaluateConfig, embs beam.PCollection, dir string, rejects ...beam.PCollection) beam.PCollection {
	if ec.TempDir == "" && !storage.IsLocal(dir) {
		ec.TempDir = storage.Join(dir, "_tmp")
	}
	results, evalRejects, catalog := transforms.Evaluate(s, ec, embs)
	all := append([]beam.PCollection{evalRejects}, rejects...)
	if len(all) > 1 {
		all = []beam.PCollection{beam.Flatten(s, all...)}
	}
	return transforms.WriteEvaluationReport(s, dir, results, all[0], catalog)
}
