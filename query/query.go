package query

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/vindex/vindex/model/search"
	"github.com/vindex/vindex/schema"
)

// Errors of Neighbors; returned errors wrap them.
var (
	// ErrNoEmbedder: feature rows were given to a Version loaded without
	// Options.Embedder.
	ErrNoEmbedder = errors.New("query: version loaded without its model")
	// ErrK: k is below 1.
	ErrK = errors.New("query: k must be at least 1")
)

// Request is a batch of queries: songs of the index by id, then feature
// rows to embed, answered in that order.
type Request struct {
	SongIDs []string
	Songs   []schema.Song
	K       int // neighbours per query, ≥ 1
}

// SongError is the error of one query song: unknown (wraps
// search.ErrNotFound), or features that cannot be embedded (wraps
// schema.ErrInvalid or a model error) or searched (search.ErrUnscorable).
type SongError struct {
	SongID string
	Index  int // position in Request.SongIDs, or in Request.Songs
	Err    error
}

func (e *SongError) Error() string { return fmt.Sprintf("song %q: %v", e.SongID, e.Err) }
func (e *SongError) Unwrap() error { return e.Err }

// Answer is the answer to one query.
type Answer struct {
	SongID    string     `json:"song_id"`
	WorkID    string     `json:"work_id,omitempty"`
	Title     string     `json:"title,omitempty"`
	Artist    string     `json:"artist,omitempty"`
	InIndex   bool       `json:"in_index"`
	Neighbors []Neighbor `json:"neighbors"`
}

// Neighbor is one of a query's nearest songs. Exactly one of Similarity
// (cosine, pearson: higher is nearer) and Distance (sqeuclidean: lower is
// nearer) is set.
type Neighbor struct {
	Rank       int      `json:"rank"`
	SongID     string   `json:"song_id"`
	WorkID     string   `json:"work_id,omitempty"`
	Similarity *float64 `json:"similarity,omitempty"`
	Distance   *float64 `json:"distance,omitempty"`
	Title      string   `json:"title,omitempty"`
	Artist     string   `json:"artist,omitempty"`
}

// Neighbors answers a request exactly: every song of the index is scored
// (model/search, parallel over catalog blocks on all cores), ties go to the
// smaller song_id, and a query song that is in the index is never its own
// neighbour. The first song that cannot be queried is a *SongError.
//
// Feature rows are embedded in parallel (one network per core); ctx is
// checked before each (a run of the network): a cancelled request stops
// early with ctx's error.
func (v *Version) Neighbors(ctx context.Context, req Request) ([]Answer, error) {
	if req.K < 1 {
		return nil, fmt.Errorf("%w (got %d)", ErrK, req.K)
	}
	if len(req.Songs) > 0 && v.emb == nil {
		return nil, ErrNoEmbedder
	}
	ix := v.Index
	qs := make([]search.Query, 0, len(req.SongIDs)+len(req.Songs))
	out := make([]Answer, 0, cap(qs))
	for i, id := range req.SongIDs {
		r := ix.Find(id)
		if r < 0 {
			return nil, &SongError{SongID: id, Index: i, Err: search.ErrNotFound}
		}
		qs = append(qs, ix.QueryOf(r))
		out = append(out, Answer{SongID: ix.IDs[r], WorkID: ix.WorkIDs[r], Title: ix.Titles[r], Artist: ix.Artists[r], InIndex: true})
	}
	vecs, err := v.embedAll(ctx, req.Songs)
	if err != nil {
		return nil, err
	}
	for i := range req.Songs {
		s := &req.Songs[i]
		q, err := ix.PrepareQuery(vecs[i])
		if err != nil {
			return nil, &SongError{SongID: s.SongID, Index: i, Err: err}
		}
		q.Exclude = ix.Find(s.SongID)
		qs = append(qs, q)
		out = append(out, Answer{SongID: s.SongID, WorkID: s.WorkID, Title: s.Title, Artist: s.Artist, InIndex: q.Exclude >= 0})
	}
	found := ix.Search(qs, req.K, search.Options{})
	for i, nbs := range found {
		a := &out[i]
		a.Neighbors = make([]Neighbor, 0, len(nbs))
		for j, nb := range nbs {
			val, isDist := ix.Similarity(qs[i], nb)
			n := Neighbor{Rank: j + 1, SongID: ix.IDs[nb.Row], WorkID: ix.WorkIDs[nb.Row],
				Title: ix.Titles[nb.Row], Artist: ix.Artists[nb.Row]}
			if isDist {
				n.Distance = &val
			} else {
				n.Similarity = &val
			}
			a.Neighbors = append(a.Neighbors, n)
		}
	}
	return out, nil
}

// Embedder returns the version's embedder, nil when it was loaded without
// Options.Embedder.
func (v *Version) Embedder() *Embedder { return v.emb }

// embedAll embeds songs on up to GOMAXPROCS goroutines; the error of the
// first song (in request order) that fails is returned.
func (v *Version) embedAll(ctx context.Context, songs []schema.Song) ([][]float32, error) {
	vecs := make([][]float32, len(songs))
	errs := make([]error, len(songs))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(songs)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1) - 1); i < len(songs); i = int(next.Add(1) - 1) {
				if errs[i] = ctx.Err(); errs[i] == nil {
					vecs[i], errs[i] = v.emb.Embed(&songs[i])
				}
			}
		}()
	}
	wg.Wait()
	for i, err := range errs {
		switch {
		case err == nil:
		case ctx.Err() != nil && errors.Is(err, ctx.Err()):
			return nil, err
		default:
			return nil, &SongError{SongID: songs[i].SongID, Index: i, Err: err}
		}
	}
	return vecs, nil
}
