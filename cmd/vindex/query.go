package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"text/tabwriter"

	"github.com/vindex/vindex/model"
	"github.com/vindex/vindex/model/metrics"
	"github.com/vindex/vindex/model/reduce"
	"github.com/vindex/vindex/model/search"
	"github.com/vindex/vindex/pipelines/index"
	"github.com/vindex/vindex/pipelines/reindex"
	"github.com/vindex/vindex/schema"
	"github.com/vindex/vindex/transforms"
)

func init() {
	register(command{name: "query", summary: "the k nearest songs of an index for a song id or a features file", run: runQuery})
}

const queryHelp = `Finds the k nearest songs of the current version of an index, exactly (every
song is scored), with the similarity the index was built for (index.json
"distance": cosine, pearson, or the sqeuclidean distance, lower is nearer).
Ties go to the smaller song_id, as in the evaluation.

A query is a song of the index (--song ID), or the songs of a features file
(--features FILE: a Parquet of feature rows, each embedded with the index's
weights, reduced with its reducer and normalised as its songs were; --song
picks one of them). A query song that is in the index is never its own
neighbour.

The index's search file (search.vxs) is used when present; otherwise the
embeddings are read from Parquet.`

// queryConfig is the validated configuration of vindex query.
type queryConfig struct {
	Index    string
	Song     string
	Features string
	K        int
	JSON     bool
}

func runQuery(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("query", "--index DIR (--song ID | --features FILE [--song ID]) [--k 10] [--json]", queryHelp, stderr)
	var cfg queryConfig
	fs.StringVar(&cfg.Index, "index", "", "index folder (a reindexed folder's CURRENT version is used)")
	fs.StringVar(&cfg.Song, "song", "", "song_id to query: of the index, or of --features")
	fs.StringVar(&cfg.Features, "features", "", "Parquet file of feature rows to query")
	fs.IntVar(&cfg.K, "k", 10, "neighbours per query")
	fs.BoolVar(&cfg.JSON, "json", false, "print JSON instead of a table")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	switch {
	case cfg.Index == "":
		return errors.New("query: no index given (--index DIR)")
	case cfg.Song == "" && cfg.Features == "":
		return errors.New("query: nothing to query (--song ID, or --features FILE)")
	case cfg.K <= 0:
		return fmt.Errorf("query: --k %d: want at least 1", cfg.K)
	}
	res, err := query(ctx, cfg)
	if err != nil {
		return err
	}
	if cfg.JSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(res)
	}
	return res.writeTable(stdout)
}

// queryResult is vindex query's output (its JSON form with --json).
type queryResult struct {
	Index    string        `json:"index"` // the version folder searched
	Distance string        `json:"distance"`
	Songs    int           `json:"songs"` // songs searched
	Queries  []queryAnswer `json:"queries"`
}

type queryAnswer struct {
	SongID    string     `json:"song_id"`
	WorkID    string     `json:"work_id,omitempty"`
	Title     string     `json:"title,omitempty"`
	Artist    string     `json:"artist,omitempty"`
	InIndex   bool       `json:"in_index"`
	Neighbors []neighbor `json:"neighbors"`
}

type neighbor struct {
	Rank       int      `json:"rank"`
	SongID     string   `json:"song_id"`
	WorkID     string   `json:"work_id,omitempty"`
	Similarity *float64 `json:"similarity,omitempty"`
	Distance   *float64 `json:"distance,omitempty"`
	Title      string   `json:"title,omitempty"`
	Artist     string   `json:"artist,omitempty"`
}

func query(ctx context.Context, cfg queryConfig) (*queryResult, error) {
	dir, err := reindex.CurrentDir(cfg.Index)
	if err != nil {
		return nil, fmt.Errorf("query: %w", err)
	}
	info, err := index.ReadInfo(dir)
	if err != nil {
		return nil, fmt.Errorf("query: %w", err)
	}
	dist, err := metrics.ParseDistance(info.Distance)
	if err != nil {
		return nil, fmt.Errorf("query: %s: %w", filepath.Join(dir, index.InfoFile), err)
	}
	ix, err := loadSearchIndex(dir, info, dist)
	if err != nil {
		return nil, err
	}
	res := &queryResult{Index: dir, Distance: string(dist), Songs: ix.Len()}
	var qs []search.Query
	if cfg.Features == "" {
		r := ix.Find(cfg.Song)
		if r < 0 {
			return nil, fmt.Errorf("query: %w: song %q is not in %s (use --features for a new song)", search.ErrNotFound, cfg.Song, dir)
		}
		qs = append(qs, ix.QueryOf(r))
		res.Queries = append(res.Queries, queryAnswer{SongID: ix.IDs[r], WorkID: ix.WorkIDs[r], Title: ix.Titles[r],
			Artist: ix.Artists[r], InIndex: true})
	} else {
		songs, err := schema.ReadSongsFile(cfg.Features)
		if err != nil {
			return nil, fmt.Errorf("query: %w", err)
		}
		if cfg.Song != "" {
			var one []schema.Song
			for i := range songs {
				if songs[i].SongID == cfg.Song {
					one = append(one, songs[i])
				}
			}
			if len(one) == 0 {
				return nil, fmt.Errorf("query: %w: song %q is not in %s", search.ErrNotFound, cfg.Song, cfg.Features)
			}
			songs = one
		}
		emb, err := newQueryEmbedder(ctx, dir, info, ix.Dim)
		if err != nil {
			return nil, err
		}
		for i := range songs {
			s := &songs[i]
			vec, err := emb.embed(s)
			if err != nil {
				return nil, fmt.Errorf("query: %s: song %q: %w", cfg.Features, s.SongID, err)
			}
			q, err := ix.PrepareQuery(vec)
			if err != nil {
				return nil, fmt.Errorf("query: %s: song %q: %w", cfg.Features, s.SongID, err)
			}
			q.Exclude = ix.Find(s.SongID)
			qs = append(qs, q)
			res.Queries = append(res.Queries, queryAnswer{SongID: s.SongID, WorkID: s.WorkID, Title: s.Title,
				Artist: s.Artist, InIndex: q.Exclude >= 0})
		}
	}
	found := ix.Search(qs, cfg.K, search.Options{})
	for i, nbs := range found {
		a := &res.Queries[i]
		a.Neighbors = make([]neighbor, 0, len(nbs))
		for j, nb := range nbs {
			v, isDist := ix.Similarity(qs[i], nb)
			n := neighbor{Rank: j + 1, SongID: ix.IDs[nb.Row], WorkID: ix.WorkIDs[nb.Row],
				Title: ix.Titles[nb.Row], Artist: ix.Artists[nb.Row]}
			if isDist {
				n.Distance = &v
			} else {
				n.Similarity = &v
			}
			a.Neighbors = append(a.Neighbors, n)
		}
	}
	return res, nil
}

// loadSearchIndex loads the vectors an index searches: its search file when
// present, else the Parquet dataset index.json names.
func loadSearchIndex(dir string, info *index.Info, dist metrics.Distance) (*search.Index, error) {
	var m *search.Matrix
	sf := filepath.Join(dir, search.FileName)
	if _, err := os.Stat(sf); err == nil {
		if m, err = search.ReadFile(sf); err != nil {
			return nil, fmt.Errorf("query: %w", err)
		}
	} else {
		set := info.Search
		if set == "" {
			set = index.EmbeddingsDir
		}
		if set != index.EmbeddingsDir && set != index.CompactDir {
			return nil, fmt.Errorf("query: %s: unknown search dataset %q", filepath.Join(dir, index.InfoFile), set)
		}
		embs, err := schema.ReadEmbeddingsFiles(filepath.Join(dir, set))
		if err != nil {
			return nil, fmt.Errorf("query: %w", err)
		}
		if m, err = transforms.SearchMatrix(embs); err != nil {
			return nil, fmt.Errorf("query: %s: %w", filepath.Join(dir, set), err)
		}
	}
	ix, err := search.NewInPlace(m, dist)
	if err != nil {
		return nil, fmt.Errorf("query: %s: %w", dir, err)
	}
	if ix.Len() == 0 {
		return nil, fmt.Errorf("query: %s: no song can be searched", dir)
	}
	return ix, nil
}

// queryEmbedder turns a feature row into a vector of the index's space.
type queryEmbedder struct {
	net       *model.Net
	reducer   *reduce.Reducer
	normalize bool
	full      []float32
}

func newQueryEmbedder(ctx context.Context, dir string, info *index.Info, dim int) (*queryEmbedder, error) {
	w, err := transforms.LoadWeights(ctx, info.Weights, model.Config{})
	if err != nil {
		return nil, fmt.Errorf("query: %w", err)
	}
	if info.Model != "" && w.ID() != info.Model {
		return nil, fmt.Errorf("query: weights %s are model %s, the index was built with %s", info.Weights, w.ID(), info.Model)
	}
	e := &queryEmbedder{net: w.NewNet(), full: make([]float32, w.Dim())}
	if info.Search == index.CompactDir {
		r, err := reduce.ReadFile(filepath.Join(dir, index.ReducerFile))
		if err != nil {
			return nil, fmt.Errorf("query: %w", err)
		}
		if r.InDim() != w.Dim() {
			return nil, fmt.Errorf("query: reducer takes %d-d embeddings, the weights give %d-d", r.InDim(), w.Dim())
		}
		e.reducer, e.normalize = r, info.Normalize
	}
	out := w.Dim()
	if e.reducer != nil {
		out = e.reducer.OutDim()
	}
	if out != dim {
		return nil, fmt.Errorf("query: queries would be %d-d, the index searches %d-d vectors", out, dim)
	}
	return e, nil
}

func (e *queryEmbedder) embed(s *schema.Song) ([]float32, error) {
	if err := schema.ValidateSong(s); err != nil {
		return nil, err
	}
	if err := e.net.Embed(e.full, s.Crema, int(s.EffectiveHop())); err != nil {
		return nil, err
	}
	if e.reducer == nil {
		return append([]float32(nil), e.full...), nil
	}
	v := make([]float32, e.reducer.OutDim())
	e.reducer.Apply(v, e.full)
	if e.normalize { // as transforms.Reduce: unit length in float64, zero stays zero
		var sq float64
		for _, x := range v {
			sq += float64(x) * float64(x)
		}
		if sq != 0 {
			inv := 1 / math.Sqrt(sq)
			for i, x := range v {
				v[i] = float32(float64(x) * inv)
			}
		}
	}
	return v, nil
}

func (r *queryResult) writeTable(w io.Writer) error {
	measure := r.Distance + " similarity"
	if r.Distance == string(metrics.SqEuclidean) {
		measure = "sqeuclidean distance"
	}
	for qi, a := range r.Queries {
		if qi > 0 {
			fmt.Fprintln(w)
		}
		where := "not in the index"
		if a.InIndex {
			where = "in the index, excluded"
		}
		fmt.Fprintf(w, "query %s", a.SongID)
		if a.WorkID != "" {
			fmt.Fprintf(w, " (work %s)", a.WorkID)
		}
		fmt.Fprintf(w, ": %s; %d nearest of %d songs by %s\n", where, len(a.Neighbors), r.Songs, measure)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "rank\tsong_id\twork_id\t"+map[bool]string{true: "distance", false: "similarity"}[r.Distance == string(metrics.SqEuclidean)]+"\ttitle / artist\t")
		for _, n := range a.Neighbors {
			v := n.Similarity
			if v == nil {
				v = n.Distance
			}
			ta := n.Title
			if n.Artist != "" {
				ta += " / " + n.Artist
			}
			same := ""
			if a.WorkID != "" && n.WorkID == a.WorkID {
				same = " *"
			}
			fmt.Fprintf(tw, "%d\t%s\t%s%s\t%.6f\t%s\t\n", n.Rank, n.SongID, n.WorkID, same, *v, ta)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	return nil
}
