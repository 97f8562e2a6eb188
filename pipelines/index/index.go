// Package index is vindex's whole indexing pipeline, embed → fit → reduce →
// evaluate in one Beam pipeline, and the layout of an index folder:
//
//	OUT/embeddings/          full-size embeddings (schema.Embedding dataset, _manifest.json last)
//	OUT/reducer.vxr          the reducer fitted (or reused) for this index, if any
//	OUT/compact/             reduced embeddings (dataset), if a reducer was used
//	OUT/rejects/             every refused song, with stage and reason (dataset)
//	OUT/evaluation/<set>/    report.json, report.md, plots, queries.parquet per embedding set, if labelled
//	OUT/search.vxs           the searched embeddings in model/search's compact file, for 'vindex query'
//	OUT/index.json           written last: what the index holds and how it was made, and the
//	                         size, SHA-256 and id of each part (Verify checks them)
//
// A folder without index.json is not an index (an interrupted run). A
// command writes a new index beside OUT and switches it into place when it
// is complete (storage.StartOutput), so OUT never mixes two runs; readers
// call Verify to refuse a folder whose parts are not the ones index.json
// records.
package index

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"

	"github.com/vindex/vindex/model"
	"github.com/vindex/vindex/model/metrics"
	"github.com/vindex/vindex/pipelines/compact"
	"github.com/vindex/vindex/pipelines/embed"
	"github.com/vindex/vindex/pipelines/evaluate"
	"github.com/vindex/vindex/pipelines/fit"
	"github.com/vindex/vindex/schema"
	"github.com/vindex/vindex/storage"
	"github.com/vindex/vindex/transforms"
)

// Names of the parts of an index folder.
const (
	EmbeddingsDir = "embeddings"
	CompactDir    = "compact"
	RejectsDir    = "rejects"
	EvaluationDir = "evaluation"
	ReducerFile   = "reducer.vxr"
	InfoFile      = "index.json"
	// FormatVersion is the version of the index layout, in index.json.
	FormatVersion = "vindex.index/v1"
)

// Config is the indexing pipeline's configuration.
type Config struct {
	Weights string       // checkpoint path or URI
	Model   model.Config // variant choices the checkpoint leaves open
	In      string       // glob of feature Parquet files
	Out     string       // index folder (local)

	// Fit says how to fit a reducer; Fit.Method "" (or "none") means no
	// reduction. Reducer, if set, is a reducer file applied instead of fitting.
	Fit       transforms.FitConfig
	Reducer   string
	Normalize bool // scale reduced embeddings to unit length

	// Evaluate scores the full and the reduced embeddings (the catalog
	// must carry work_ids). Distance "" is the model's default.
	Evaluate bool
	Distance metrics.Distance
	GroupBy  []string

	Shards  int
	Command string

	// Previous, if set, is the glob of a previous index's embeddings and
	// Skip a file of "song_id<TAB>content_hash" lines of songs whose
	// embeddings are carried over from it instead of embedded again (see
	// transforms.EmbedIncremental). Set by the nightly reindex.
	Previous, Skip string

	modelID string
	reducer []byte // the reducer file given as Reducer (set by Validate)
}

// Reducing reports whether the index reduces its embeddings.
func (c *Config) Reducing() bool {
	return c.Reducer != "" || (c.Fit.Method != "" && c.Fit.Method != "none")
}

// Validate checks the configuration before anything runs: inputs exist,
// the weights load, the reducer settings are consistent.
func (c *Config) Validate(ctx context.Context) error {
	switch {
	case c.Weights == "":
		return errors.New("index: no weights given (--weights FILE: a PyTorch .pt state_dict or .safetensors)")
	case c.In == "":
		return errors.New("index: no input given (--in GLOB of feature Parquet files)")
	case c.Out == "":
		return errors.New("index: no output folder given (--out DIR)")
	}
	if err := storage.CheckAll(c.In, c.Out, c.Weights, c.Reducer, c.Previous, c.Skip); err != nil {
		return fmt.Errorf("index: %w", err)
	}
	files, err := schema.ListDataset(c.In)
	if err != nil {
		return fmt.Errorf("index: input %s: %w", c.In, err)
	}
	if len(files) == 0 {
		return fmt.Errorf("index: input %s matches no Parquet file", c.In)
	}
	w, err := transforms.LoadWeights(ctx, c.Weights, c.Model)
	if err != nil {
		return fmt.Errorf("index: %w", err)
	}
	c.modelID = w.ID()
	if c.Reducer != "" {
		r, b, err := transforms.ReadReducer(ctx, c.Reducer)
		if err != nil {
			return fmt.Errorf("index: %w", err)
		}
		c.reducer = b
		if r.InDim() != w.Dim() {
			return fmt.Errorf("index: reducer %s takes %d-d embeddings, the weights give %d-d", c.Reducer, r.InDim(), w.Dim())
		}
		if r.Model() != "" && r.Model() != w.ID() {
			return fmt.Errorf("index: reducer %s was fitted on embeddings of model %s, not %s", c.Reducer, r.Model(), w.ID())
		}
	} else if c.Reducing() {
		if err := c.Fit.Validate(); err != nil {
			return fmt.Errorf("index: %w", err)
		}
		if c.Fit.K > w.Dim() {
			return fmt.Errorf("index: reduce to %d dimensions: the weights give only %d", c.Fit.K, w.Dim())
		}
	}
	if c.Distance != "" {
		if _, err := metrics.ParseDistance(string(c.Distance)); err != nil {
			return fmt.Errorf("index: %w", err)
		}
	}
	return nil
}

// ModelID is the id of the model the index uses (set by Validate).
func (c *Config) ModelID() string { return c.modelID }

// Build adds the indexing pipeline to s, composing the embed, evaluate,
// fit and reduce pipelines' stages. cfg must have been validated.
func Build(s beam.Scope, cfg Config) {
	s = s.Scope("pipelines.index")
	opt := transforms.WriteOptions{Shards: cfg.Shards, Command: cfg.Command}
	songs, readRejects := transforms.ReadSongs(s, cfg.In)
	done, embedRejects := embed.Embed(s, embed.Config{Weights: cfg.Weights, Model: cfg.Model, Out: cfg.Out,
		Shards: cfg.Shards, Command: cfg.Command, Previous: cfg.Previous, Skip: cfg.Skip}, songs)
	// Later stages read the published embeddings back: the embedding stage
	// holds no embeddings, whatever the catalog's size.
	embs, backRejects := embed.Written(s, done)
	rejects := []beam.PCollection{readRejects, embedRejects, backRejects}

	distance := cfg.Distance
	if distance == "" {
		distance = metrics.DefaultDistance(cfg.modelID)
	}
	ecfg := transforms.EvaluateConfig{Metrics: metrics.Config{Distance: distance, GroupBy: cfg.GroupBy}}
	if cfg.Evaluate {
		evaluate.Set(s, ecfg, embs, storage.Join(cfg.Out, EvaluationDir, "full"))
	}
	if cfg.Reducing() {
		var fitted beam.PCollection
		if cfg.Reducer != "" {
			b := cfg.reducer
			if b == nil { // set after Validate (the nightly reindex reuses its previous reducer)
				var err error
				if _, b, err = transforms.ReadReducer(context.Background(), cfg.Reducer); err != nil {
					panic(fmt.Sprintf("index: %v", err))
				}
			}
			fitted = beam.Create(s, transforms.FittedReducer{File: b})
			transforms.WriteReducer(s, storage.Join(cfg.Out, ReducerFile), fitted)
		} else {
			fitted = fit.Fit(s, embs, cfg.Fit, storage.Join(cfg.Out, ReducerFile))
		}
		reduced, reduceRejects := compact.Reduce(s, fitted, embs, cfg.Normalize, storage.Join(cfg.Out, CompactDir), opt)
		rejects = append(rejects, reduceRejects)
		if cfg.Evaluate {
			evaluate.Set(s, ecfg, reduced, storage.Join(cfg.Out, EvaluationDir, "reduced"))
		}
	}
	transforms.WriteRejects(s, storage.Join(cfg.Out, RejectsDir), opt, rejects...)
}

// Info is index.json: what an index folder holds and how it was made.
type Info struct {
	Format    string           `json:"format"`
	Created   time.Time        `json:"created"`
	Command   string           `json:"command"`
	Weights   string           `json:"weights"`
	Model     string           `json:"model"`
	Dim       int              `json:"dim"`
	Reducer   string           `json:"reducer,omitempty"`   // reducer id
	OutDim    int              `json:"out_dim,omitempty"`   // reduced dimension
	Normalize bool             `json:"normalize,omitempty"` // reduced embeddings at unit length
	Distance  string           `json:"distance"`            // the similarity queries and evaluation use
	Search    string           `json:"search"`              // the dataset queries search: "compact" or "embeddings"
	Songs     int64            `json:"songs"`               // embedding rows
	Rejected  int64            `json:"rejected"`            // reject rows
	Embedded  int64            `json:"embedded"`            // songs the network ran on in this run
	Carried   int64            `json:"carried,omitempty"`   // songs carried over from a previous version
	Reports   []string         `json:"reports,omitempty"`   // evaluation report.json paths, relative to the folder
	Counters  map[string]int64 `json:"counters,omitempty"`
	// Parts are the files this index.json vouches for (dataset manifests,
	// reducer, search file, reports) with their sizes, SHA-256 and ids;
	// Verify checks them.
	Parts []Part `json:"parts"`
}

// Finish writes index.json into cfg.Out after a successful run, from the
// manifests of the outputs; it is the last file written, so a folder with
// index.json is a complete index.
func Finish(cfg Config, counters map[string]int64) (*Info, error) {
	ctx := context.Background()
	w, err := transforms.LoadWeights(ctx, cfg.Weights, cfg.Model)
	if err != nil {
		return nil, err
	}
	distance := cfg.Distance
	if distance == "" {
		distance = metrics.DefaultDistance(w.ID())
	}
	weights := cfg.Weights
	if !strings.Contains(weights, "://") {
		if abs, err := filepath.Abs(weights); err == nil {
			weights = abs // a nightly reindex may run from another folder
		}
	}
	info := &Info{Format: FormatVersion, Created: time.Now().UTC(), Command: cfg.Command, Weights: weights,
		Model: w.ID(), Dim: w.Dim(), Normalize: cfg.Normalize, Distance: string(distance), Search: EmbeddingsDir,
		Embedded: counters["vindex."+transforms.SongsEmbedded], Carried: counters["vindex."+transforms.SongsCarried],
		Counters: counters}
	m, err := schema.ReadManifest(storage.Join(cfg.Out, EmbeddingsDir))
	if err != nil {
		return nil, fmt.Errorf("index: %w", err)
	}
	info.Songs = m.Rows
	if rm, err := schema.ReadManifest(storage.Join(cfg.Out, RejectsDir)); err == nil {
		info.Rejected = rm.Rows
	}
	if cfg.Reducing() {
		r, _, err := transforms.ReadReducer(ctx, storage.Join(cfg.Out, ReducerFile))
		if err != nil {
			return nil, fmt.Errorf("index: %w", err)
		}
		info.Reducer, info.OutDim, info.Search = r.ID(), r.OutDim(), CompactDir
	}
	if err := transforms.WriteSearchFile(ctx, storage.Join(cfg.Out, info.Search, "*.parquet"), storage.Join(cfg.Out, transforms.SearchFile)); err != nil {
		return nil, fmt.Errorf("index: %w", err)
	}
	for _, set := range []string{"full", "reduced"} {
		rel := EvaluationDir + "/" + set + "/" + transforms.ReportFile
		if ok, _ := storage.Exists(ctx, storage.Join(cfg.Out, rel)); ok {
			info.Reports = append(info.Reports, rel)
		}
	}
	if err := info.recordParts(ctx, cfg.Out, info.Reducer); err != nil {
		return nil, err
	}
	b, err := json.MarshalIndent(info, "", "  ")
	if err != nil {
		return nil, err
	}
	// Every part was published durably (file and folder fsynced) before it
	// was hashed; index.json comes last.
	if err := storage.WriteFile(ctx, storage.Join(cfg.Out, InfoFile), append(b, '\n')); err != nil {
		return nil, err
	}
	return info, nil
}

// ReadInfo reads the index.json of an index folder.
func ReadInfo(dir string) (*Info, error) {
	b, err := storage.ReadFile(context.Background(), storage.Join(dir, InfoFile), maxInfoBytes)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("index: %s is not a complete index (no %s)", dir, InfoFile)
		}
		return nil, fmt.Errorf("index: %w", err)
	}
	var info Info
	if err := json.Unmarshal(b, &info); err != nil {
		return nil, fmt.Errorf("index: %s: %w", storage.Join(dir, InfoFile), err)
	}
	if info.Format != FormatVersion {
		return nil, fmt.Errorf("index: %s: format %q, want %q", storage.Join(dir, InfoFile), info.Format, FormatVersion)
	}
	return &info, nil
}

// Reports reads the evaluation reports an index holds.
func (info *Info) ReadReports(dir string) ([]*metrics.Report, error) {
	var out []*metrics.Report
	for _, rel := range info.Reports {
		r, err := transforms.ReadReport(context.Background(), storage.Join(dir, rel))
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// maxInfoBytes bounds an index.json read back.
const maxInfoBytes = 64 << 20
