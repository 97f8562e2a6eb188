package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/vindex/vindex/model/metrics"
	"github.com/vindex/vindex/model/search"
	"github.com/vindex/vindex/query"
	"github.com/vindex/vindex/schema"
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
		return usageErr(errors.New("query: no index given (--index DIR)"))
	case cfg.Song == "" && cfg.Features == "":
		return usageErr(errors.New("query: nothing to query (--song ID, or --features FILE)"))
	case cfg.K <= 0:
		return usageErr(fmt.Errorf("query: --k %d: want at least 1", cfg.K))
	}
	res, err := runQueryConfig(ctx, cfg)
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
	Index    string         `json:"index"` // the version folder searched
	Distance string         `json:"distance"`
	Songs    int            `json:"songs"` // songs searched
	Queries  []query.Answer `json:"queries"`
}

func runQueryConfig(ctx context.Context, cfg queryConfig) (*queryResult, error) {
	v, err := query.Load(ctx, cfg.Index, query.Options{Embedder: cfg.Features != ""})
	if err != nil {
		return nil, err
	}
	req := query.Request{K: cfg.K}
	if cfg.Features == "" {
		req.SongIDs = []string{cfg.Song}
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
		req.Songs = songs
	}
	answers, err := v.Neighbors(ctx, req)
	var se *query.SongError
	switch {
	case errors.As(err, &se) && cfg.Features == "":
		return nil, fmt.Errorf("query: %w: song %q is not in %s (use --features for a new song)", search.ErrNotFound, se.SongID, v.Dir)
	case errors.As(err, &se):
		return nil, fmt.Errorf("query: %s: song %q: %w", cfg.Features, se.SongID, se.Err)
	case err != nil:
		return nil, err
	}
	return &queryResult{Index: v.Dir, Distance: string(v.Index.Distance), Songs: v.Index.Len(), Queries: answers}, nil
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
