// Package reindex is the nightly job: it brings an index folder up to date
// with a catalog, embedding only the songs whose content hash (features,
// preprocessing, model id) the current version does not hold, and publishes
// the result as a new version.
//
//	INDEX/v0001/ …         complete index versions (pipelines/index layout)
//	INDEX/v0002/ …
//	INDEX/CURRENT          the name of the current version, switched atomically
//	                       (temporary file + rename) only after a version is complete
//
// A run is Prepare (choose the version, list what can be carried over),
// Build (the index pipeline with incremental embedding), a runner, and
// Publish (index.json, reindex.json, the CURRENT switch). A version folder
// without index.json is an interrupted run: never current, never reused.
package reindex

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"

	"github.com/vindex/vindex/model"
	"github.com/vindex/vindex/model/metrics"
	"github.com/vindex/vindex/pipelines/index"
	"github.com/vindex/vindex/schema"
	"github.com/vindex/vindex/storage"
	"github.com/vindex/vindex/transforms"
)

// CurrentFile names the pointer to the current version.
const CurrentFile = "CURRENT"

// SummaryFile is the reindex summary written into each version.
const SummaryFile = "reindex.json"

// Config is the reindex job's configuration.
type Config struct {
	Catalog string // glob of the catalog's feature Parquet files
	Index   string // index folder (local)
	// Weights is the checkpoint; "" reuses the current version's.
	Weights string
	Model   model.Config
	// Refit fits a new reducer; otherwise the current version's reducer is
	// reused (when the model did not change), so unchanged songs keep
	// identical reduced embeddings. Fit says what to fit (first version,
	// --refit, or a new model).
	Refit     bool
	Fit       transforms.FitConfig
	Normalize bool
	Distance  metrics.Distance
	GroupBy   []string
	Shards    int
	Command   string
}

// Plan is a prepared reindex run.
type Plan struct {
	Index    index.Config // the pipeline to run into the new version
	Version  string       // e.g. "v0002"
	Previous string       // previous version's name, "" for the first
	prevInfo *index.Info
	prev     map[string]string // previous song_id → content hash
}

// Current returns the name of the current version of the index folder dir,
// or "" when it has none.
func Current(dir string) (string, error) {
	b, err := os.ReadFile(filepath.Join(dir, CurrentFile))
	if errors.Is(err, os.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("reindex: %w", err)
	}
	v := strings.TrimSpace(string(b))
	if v == "" || strings.ContainsAny(v, `/\`) {
		return "", fmt.Errorf("reindex: %s: bad version name %q", filepath.Join(dir, CurrentFile), v)
	}
	return v, nil
}

// CurrentDir returns the folder of the current version of the index dir. A
// plain index folder (with index.json and no CURRENT) is its own current
// version.
func CurrentDir(dir string) (string, error) {
	v, err := Current(dir)
	if err != nil {
		return "", err
	}
	if v == "" {
		if _, err := os.Stat(filepath.Join(dir, index.InfoFile)); err == nil {
			return dir, nil
		}
		return "", fmt.Errorf("reindex: %s has no current version (no %s): run 'vindex reindex' or 'vindex index' first", dir, CurrentFile)
	}
	return filepath.Join(dir, v), nil
}

// Prepare chooses the new version, reads what the current one holds and
// returns the plan; it validates the configuration before anything runs.
func Prepare(ctx context.Context, cfg Config) (*Plan, error) {
	if cfg.Catalog == "" || cfg.Index == "" {
		return nil, errors.New("reindex: --catalog GLOB and --index DIR are required")
	}
	if err := os.MkdirAll(cfg.Index, 0o755); err != nil {
		return nil, fmt.Errorf("reindex: %w", err)
	}
	plan := &Plan{}
	cur, err := Current(cfg.Index)
	if err != nil {
		return nil, err
	}
	if cur != "" {
		plan.Previous = cur
		plan.prevInfo, err = index.ReadInfo(filepath.Join(cfg.Index, cur))
		if err != nil {
			return nil, fmt.Errorf("reindex: current version: %w", err)
		}
	}
	plan.Version, err = nextVersion(cfg.Index)
	if err != nil {
		return nil, err
	}
	out := filepath.Join(cfg.Index, plan.Version)
	weights := cfg.Weights
	if weights == "" {
		if plan.prevInfo == nil {
			return nil, errors.New("reindex: no weights given and no current version to take them from (--weights FILE)")
		}
		weights = plan.prevInfo.Weights
	}
	labels, err := hasLabels(cfg.Catalog)
	if err != nil {
		return nil, err
	}
	ic := index.Config{Weights: weights, Model: cfg.Model, In: cfg.Catalog, Out: out, Fit: cfg.Fit,
		Normalize: cfg.Normalize, Evaluate: labels, Distance: cfg.Distance, GroupBy: cfg.GroupBy,
		Shards: cfg.Shards, Command: cfg.Command}
	if err := ic.Validate(ctx); err != nil {
		return nil, fmt.Errorf("reindex: %w", err)
	}
	if p := plan.prevInfo; p != nil && p.Model == ic.ModelID() {
		prevDir := filepath.Join(cfg.Index, plan.Previous)
		embs, err := schema.ReadEmbeddingsFiles(filepath.Join(prevDir, index.EmbeddingsDir, "*.parquet"))
		if err != nil {
			return nil, fmt.Errorf("reindex: previous version: %w", err)
		}
		plan.prev = make(map[string]string, len(embs))
		var skip bytes.Buffer
		for _, e := range embs {
			plan.prev[e.SongID] = e.ContentHash
			fmt.Fprintf(&skip, "%s\t%s\n", e.SongID, e.ContentHash)
		}
		if err := os.MkdirAll(out, 0o755); err != nil {
			return nil, fmt.Errorf("reindex: %w", err)
		}
		ic.Skip = filepath.Join(out, "carry.tsv")
		if err := os.WriteFile(ic.Skip, skip.Bytes(), 0o644); err != nil {
			return nil, fmt.Errorf("reindex: %w", err)
		}
		ic.Previous = filepath.Join(prevDir, index.EmbeddingsDir, "*.parquet")
		if !cfg.Refit && p.Reducer != "" {
			ic.Reducer = filepath.Join(prevDir, index.ReducerFile)
		}
	} else if p != nil {
		plan.prev = map[string]string{} // a new model: every song is embedded again
	}
	plan.Index = ic
	return plan, nil
}

// Build adds the reindex pipeline to s.
func Build(s beam.Scope, plan *Plan) {
	index.Build(s.Scope("pipelines.reindex"), plan.Index)
}

// Summary is reindex.json: what a reindex run changed.
type Summary struct {
	Version  string   `json:"version"`
	Previous string   `json:"previous,omitempty"`
	Added    int      `json:"added"`    // song ids not in the previous version
	Changed  int      `json:"changed"`  // song ids whose content hash changed
	Removed  int      `json:"removed"`  // previous song ids not in the catalog (or now rejected)
	Carried  int      `json:"carried"`  // songs whose embeddings were carried over
	Embedded int64    `json:"embedded"` // songs the network ran on
	Rejected int64    `json:"rejected"`
	Refit    bool     `json:"refit"`   // a reducer was fitted in this run
	Reducer  string   `json:"reducer"` // the reducer id in use
	MAP      *float64 `json:"map,omitempty"`
	PrevMAP  *float64 `json:"previous_map,omitempty"`
	DeltaMAP *float64 `json:"delta_map,omitempty"`
}

// Publish completes the new version after the pipeline ran: index.json,
// reindex.json, then the atomic switch of CURRENT.
func Publish(plan *Plan, counters map[string]int64) (*Summary, error) {
	info, err := index.Finish(plan.Index, counters)
	if err != nil {
		return nil, err
	}
	out := plan.Index.Out
	embs, err := schema.ReadEmbeddingsFiles(filepath.Join(out, index.EmbeddingsDir, "*.parquet"))
	if err != nil {
		return nil, err
	}
	sum := &Summary{Version: plan.Version, Previous: plan.Previous, Embedded: info.Embedded, Rejected: info.Rejected,
		Refit: plan.Index.Reducer == "" && plan.Index.Reducing(), Reducer: info.Reducer}
	seen := make(map[string]bool, len(embs))
	for _, e := range embs {
		seen[e.SongID] = true
		h, ok := plan.prev[e.SongID]
		switch {
		case !ok:
			sum.Added++
		case h != e.ContentHash:
			sum.Changed++
		default:
			sum.Carried++
		}
	}
	for id := range plan.prev {
		if !seen[id] {
			sum.Removed++
		}
	}
	if m, ok := headlineMAP(out, info); ok {
		sum.MAP = &m
	}
	if plan.prevInfo != nil {
		if m, ok := headlineMAP(filepath.Join(filepath.Dir(out), plan.Previous), plan.prevInfo); ok {
			sum.PrevMAP = &m
			if sum.MAP != nil {
				d := *sum.MAP - m
				sum.DeltaMAP = &d
			}
		}
	}
	b, err := json.MarshalIndent(sum, "", "  ")
	if err != nil {
		return nil, err
	}
	if err := storage.WriteFile(context.Background(), filepath.Join(out, SummaryFile), append(b, '\n')); err != nil {
		return nil, fmt.Errorf("reindex: %w", err)
	}
	if err := switchCurrent(filepath.Dir(out), plan.Version); err != nil {
		return nil, err
	}
	return sum, nil
}

// headlineMAP is the MAP of the embeddings an index searches (the reduced
// set when there is one).
func headlineMAP(dir string, info *index.Info) (float64, bool) {
	reports, err := info.ReadReports(dir)
	if err != nil || len(reports) == 0 {
		return 0, false
	}
	r := reports[len(reports)-1] // "reduced" follows "full"
	return r.Overall.MAP, r.Overall.Queries > 0
}

// switchCurrent points dir/CURRENT at version, atomically.
func switchCurrent(dir, version string) error {
	if err := storage.WriteFile(context.Background(), filepath.Join(dir, CurrentFile), []byte(version+"\n")); err != nil {
		return fmt.Errorf("reindex: %w", err)
	}
	return nil
}

// nextVersion names the version after every folder vNNNN in dir, complete
// or not (an interrupted run's folder is never reused).
func nextVersion(dir string) (string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return "", fmt.Errorf("reindex: %w", err)
	}
	var nums []int
	for _, e := range ents {
		var n int
		if e.IsDir() && len(e.Name()) == 5 && e.Name()[0] == 'v' {
			if _, err := fmt.Sscanf(e.Name()[1:], "%04d", &n); err == nil {
				nums = append(nums, n)
			}
		}
	}
	sort.Ints(nums)
	next := 1
	if len(nums) > 0 {
		next = nums[len(nums)-1] + 1
	}
	return fmt.Sprintf("v%04d", next), nil
}

// hasLabels reports whether the catalog carries work_ids (its first song
// has one): only then is a version evaluated.
func hasLabels(pattern string) (bool, error) {
	files, err := schema.ListDataset(pattern)
	if err != nil {
		return false, fmt.Errorf("reindex: catalog %s: %w", pattern, err)
	}
	if len(files) == 0 {
		return false, fmt.Errorf("reindex: catalog %s matches no Parquet file", pattern)
	}
	f, err := schema.Open(files[0])
	if err != nil {
		return false, fmt.Errorf("reindex: %w", err)
	}
	defer f.Close()
	for rg := 0; rg < f.NumRowGroups(); rg++ {
		for s, err := range f.Songs(rg) {
			if err != nil {
				continue
			}
			return s.WorkID != "", nil
		}
	}
	return false, nil
}
