// Package reindex is the nightly job: it brings an index folder up to date
// with a catalog, embedding only the songs whose content hash (features,
// preprocessing, model id) the current version does not hold, and publishes
// the result as a new version.
//
//	INDEX/v0001/ …         complete index versions (pipelines/index layout)
//	INDEX/v0002/ …
//	INDEX/CURRENT          the name of the current version, switched only after a
//	                       version is complete, by a conditional write
//	INDEX/LOCK             while a run works: owner, host, pid, start time
//
// INDEX is any URI storage accepts (a local folder, gs://bucket/path).
//
// A run is Prepare (take the lock, remove incomplete versions, choose the
// version, list what can be carried over), Build (the index pipeline with
// incremental embedding), a runner, Publish (index.json, reindex.json, the
// CURRENT switch, retention) and Plan.Close (release the lock).
//
// Concurrency: the lock (see AcquireLock) keeps a second run from starting
// work at all; should two runs nevertheless both reach Publish (a lock
// broken as stale while its run was alive), CURRENT is replaced only if it
// still names the version the run started from (a rename under an O_EXCL
// lock file locally, a generation precondition on GCS), so exactly one
// publishes and the other fails with a *ConflictError naming the winner.
//
// A version folder without index.json is an interrupted run: never current,
// and removed by the next run (which holds the lock, so no live run writes
// it). CURRENT must name a vNNNN folder of the index; anything else (such as
// "..") is refused.
//
// Each version holds its own copy of every embedding, carried-over ones
// included: versions stay independent, so retention can remove any of them
// and a rollback needs nothing from a removed version (docs/deploy.md
// measures the cost).
package reindex

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"

	"github.com/vindex/vindex/model"
	"github.com/vindex/vindex/model/metrics"
	"github.com/vindex/vindex/pipelines/index"
	"github.com/vindex/vindex/schema"
	"github.com/vindex/vindex/storage"
	"github.com/vindex/vindex/transforms"
)

// CurrentFile names the pointer to the current version.
const CurrentFile = index.CurrentFile

// SummaryFile is the reindex summary written into each version.
const SummaryFile = "reindex.json"

// Config is the reindex job's configuration.
type Config struct {
	Catalog string // glob of the catalog's feature Parquet files
	Index   string // index folder (a local path or URI)
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

	// Keep is how many complete versions to keep after a successful switch
	// (the current one always); ≤ 0 keeps all. The CLI's default is DefaultKeep.
	Keep int
	// Wait is how long to wait for another run's lock; LockStale the age
	// after which a lock is broken (≤ 0: DefaultLockStale).
	Wait, LockStale time.Duration
}

// Plan is a prepared reindex run.
type Plan struct {
	Index    index.Config // the pipeline to run into the new version
	Version  string       // e.g. "v0002"
	Previous string       // previous version's name, "" for the first
	// Removed lists the incomplete versions removed before this run.
	Removed []string

	dir      string
	keep     int
	lock     *Lock
	prevRaw  []byte // CURRENT's bytes when the run started
	prevInfo *index.Info
	prev     map[string]string // previous song_id → content hash
}

// Close releases the plan's lock; call it whether or not the run succeeded.
// A failed run's incomplete version is removed by the next run.
func (p *Plan) Close() error {
	if p == nil {
		return nil
	}
	err := p.lock.Release(context.Background())
	p.lock = nil
	return err
}

// Current returns the name of the current version of the index folder dir,
// or "" when it has none. CURRENT must name a version (vNNNN).
func Current(dir string) (string, error) {
	v, _, err := readCurrent(context.Background(), dir)
	return v, err
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
		if ok, _ := storage.Exists(context.Background(), storage.Join(dir, index.InfoFile)); ok {
			return dir, nil
		}
		return "", fmt.Errorf("reindex: %s has no current version (no %s): run 'vindex reindex' or 'vindex index' first", dir, CurrentFile)
	}
	return storage.Join(dir, v), nil
}

// Prepare takes the index's lock, removes incomplete versions, chooses the
// new version, reads what the current one holds and returns the plan; it
// validates the configuration before anything runs. On success the caller
// must Close the plan.
func Prepare(ctx context.Context, cfg Config) (plan *Plan, err error) {
	if cfg.Catalog == "" || cfg.Index == "" {
		return nil, errors.New("reindex: --catalog GLOB and --index DIR are required")
	}
	for _, u := range []string{cfg.Catalog, cfg.Index, cfg.Weights} {
		if u != "" {
			if err := storage.Check(u); err != nil {
				return nil, fmt.Errorf("reindex: %w", err)
			}
		}
	}
	lock, err := AcquireLock(ctx, cfg.Index, cfg.LockStale, cfg.Wait, cfg.Command)
	if err != nil {
		return nil, err
	}
	plan = &Plan{dir: cfg.Index, keep: cfg.Keep, lock: lock}
	defer func() {
		if err != nil {
			plan.Close()
			plan = nil
		}
	}()
	cur, raw, err := readCurrent(ctx, cfg.Index)
	if err != nil {
		return nil, err
	}
	plan.prevRaw = raw
	if plan.Removed, err = removeIncomplete(ctx, cfg.Index, cur); err != nil {
		return nil, err
	}
	if cur != "" {
		plan.Previous = cur
		plan.prevInfo, err = index.ReadInfo(storage.Join(cfg.Index, cur))
		if err == nil {
			err = plan.prevInfo.Verify(storage.Join(cfg.Index, cur))
		}
		if err != nil {
			return nil, fmt.Errorf("reindex: current version: %w", err)
		}
	}
	if plan.Version, err = nextVersion(ctx, cfg.Index); err != nil {
		return nil, err
	}
	if plan.Index, err = plan.indexConfig(ctx, cfg); err != nil {
		return nil, err
	}
	return plan, nil
}

// indexConfig is the index pipeline's configuration for the new version.
func (plan *Plan) indexConfig(ctx context.Context, cfg Config) (index.Config, error) {
	out := storage.Join(cfg.Index, plan.Version)
	weights := cfg.Weights
	if weights == "" {
		if plan.prevInfo == nil {
			return index.Config{}, errors.New("reindex: no weights given and no current version to take them from (--weights FILE)")
		}
		weights = plan.prevInfo.Weights
	}
	labels, err := hasLabels(cfg.Catalog)
	if err != nil {
		return index.Config{}, err
	}
	ic := index.Config{Weights: weights, Model: cfg.Model, In: cfg.Catalog, Out: out, Fit: cfg.Fit,
		Normalize: cfg.Normalize, Evaluate: labels, Distance: cfg.Distance, GroupBy: cfg.GroupBy,
		Shards: cfg.Shards, Command: cfg.Command}
	if err := ic.Validate(ctx); err != nil {
		return index.Config{}, fmt.Errorf("reindex: %w", err)
	}
	p := plan.prevInfo
	if p == nil {
		return ic, nil
	}
	if p.Model != ic.ModelID() {
		plan.prev = map[string]string{} // a new model: every song is embedded again
		return ic, nil
	}
	prevDir := storage.Join(cfg.Index, plan.Previous)
	embs, err := schema.ReadEmbeddingsFiles(storage.Join(prevDir, index.EmbeddingsDir))
	if err != nil {
		return index.Config{}, fmt.Errorf("reindex: previous version: %w", err)
	}
	plan.prev = make(map[string]string, len(embs))
	var skip bytes.Buffer
	for _, e := range embs {
		plan.prev[e.SongID] = e.ContentHash
		fmt.Fprintf(&skip, "%s\t%s\n", e.SongID, e.ContentHash)
	}
	ic.Skip = storage.Join(out, "carry.tsv")
	if err := storage.WriteFile(ctx, ic.Skip, skip.Bytes()); err != nil {
		return index.Config{}, fmt.Errorf("reindex: %w", err)
	}
	ic.Previous = storage.Join(prevDir, index.EmbeddingsDir)
	if !cfg.Refit && p.Reducer != "" {
		ic.Reducer = storage.Join(prevDir, index.ReducerFile)
	}
	return ic, nil
}

// Discard removes what Prepare wrote into the new version (a dry run) and
// releases the lock.
func (p *Plan) Discard(ctx context.Context) error {
	err := storage.RemoveAll(ctx, p.Index.Out)
	if cerr := p.Close(); err == nil {
		err = cerr
	}
	return err
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
	// Pruned lists the old versions retention removed after the switch.
	Pruned []string `json:"-"`
	// LockBroken: another run broke this run's lock as stale while it worked.
	LockBroken bool `json:"-"`
}

// Publish completes the new version after the pipeline ran: index.json,
// reindex.json, then the conditional switch of CURRENT (a *ConflictError if
// another run switched it meanwhile), then retention (Config.Keep).
func Publish(plan *Plan, counters map[string]int64) (*Summary, error) {
	ctx := context.Background()
	info, err := index.Finish(plan.Index, counters)
	if err != nil {
		return nil, err
	}
	out := plan.Index.Out
	embs, err := schema.ReadEmbeddingsFiles(storage.Join(out, index.EmbeddingsDir))
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
		if m, ok := headlineMAP(storage.Join(plan.dir, plan.Previous), plan.prevInfo); ok {
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
	if err := storage.WriteFile(ctx, storage.Join(out, SummaryFile), append(b, '\n')); err != nil {
		return nil, fmt.Errorf("reindex: %w", err)
	}
	// A lock broken as stale means another run may be working; the
	// conditional switch below still decides which run publishes.
	sum.LockBroken = plan.lock != nil && !plan.lock.Held(ctx)
	if err := switchCurrent(ctx, plan.dir, plan.prevRaw, plan.Version); err != nil {
		return nil, err
	}
	if sum.Pruned, err = Prune(ctx, plan.dir, plan.keep); err != nil {
		return sum, err
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

// nextVersion names the version after every version folder in dir
// (incomplete ones were removed by Prepare).
func nextVersion(ctx context.Context, dir string) (string, error) {
	names, err := versionNames(ctx, dir)
	if err != nil {
		return "", err
	}
	next := 1
	if len(names) > 0 {
		if _, err := fmt.Sscanf(names[len(names)-1][1:], "%d", &next); err != nil {
			return "", fmt.Errorf("reindex: %w", err)
		}
		next++
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
