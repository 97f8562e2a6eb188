package search

import (
	"container/heap"
	"errors"
	"fmt"
	"math"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"

	"github.com/vindex/vindex/model/metrics"
)

// Sentinel errors; returned errors wrap them and name the song at fault.
var (
	ErrDuplicateSong = errors.New("search: duplicate song_id")
	ErrShape         = errors.New("search: vectors do not match the ids and dimension")
	ErrUnscorable    = errors.New("search: vector cannot be scored")
	ErrNotFound      = errors.New("search: song not in the index")
)

// Matrix is a set of raw (unprepared) vectors with their songs: row i is
// song IDs[i] with vector Vecs[i*Dim:(i+1)*Dim]. WorkIDs, Titles and Artists
// are optional (nil, or one per row).
type Matrix struct {
	Dim     int
	IDs     []string
	WorkIDs []string
	Titles  []string
	Artists []string
	Vecs    []float32
}

// Len is the number of rows.
func (m *Matrix) Len() int { return len(m.IDs) }

func (m *Matrix) check() error {
	n := len(m.IDs)
	if m.Dim <= 0 || len(m.Vecs) != n*m.Dim {
		return fmt.Errorf("%w: %d ids, dim %d, %d values", ErrShape, n, m.Dim, len(m.Vecs))
	}
	for _, col := range [][]string{m.WorkIDs, m.Titles, m.Artists} {
		if col != nil && len(col) != n {
			return fmt.Errorf("%w: %d ids but a metadata column of %d", ErrShape, n, len(col))
		}
	}
	return nil
}

// Index is an exact k-NN index: the prepared vectors of a Matrix in
// ascending song_id order. It is immutable and safe for concurrent use.
type Index struct {
	Distance metrics.Distance
	Dim      int
	IDs      []string // ascending
	WorkIDs  []string // "" when absent
	Titles   []string
	Artists  []string
	// Skipped lists the songs left out because the distance cannot score
	// them (NaN/Inf values, a zero vector under cosine, a constant vector
	// under pearson), with the reason; metrics rejects the same songs.
	Skipped []Skip

	vecs []float32 // prepared, row-major len(IDs)×Dim
	bias []float32 // score(q, x) = q'·vecs[x] + bias[x]
	sq   []float64 // ‖e_x‖², for sqeuclidean distances
}

// Skip is a song left out of an Index.
type Skip struct{ SongID, Reason string }

// New prepares m for distance d (cosine, sqeuclidean or pearson) exactly as
// model/metrics prepares a catalog. Rows are sorted by song_id; m is not
// modified. Duplicate song_ids are an error.
func New(m *Matrix, d metrics.Distance) (*Index, error) {
	if _, err := metrics.ParseDistance(string(d)); err != nil {
		return nil, fmt.Errorf("search: %w", err)
	}
	if err := m.check(); err != nil {
		return nil, err
	}
	n, dim := m.Len(), m.Dim
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	sort.Slice(order, func(a, b int) bool { return m.IDs[order[a]] < m.IDs[order[b]] })
	ix := &Index{Distance: d, Dim: dim}
	ix.vecs = make([]float32, 0, n*dim)
	ix.bias = make([]float32, 0, n)
	ix.sq = make([]float64, 0, n)
	ix.IDs = make([]string, 0, n)
	ix.WorkIDs = make([]string, 0, n)
	ix.Titles = make([]string, 0, n)
	ix.Artists = make([]string, 0, n)
	col := func(c []string, i int) string {
		if c == nil {
			return ""
		}
		return c[i]
	}
	for k, i := range order {
		id := m.IDs[i]
		if k > 0 && m.IDs[order[k-1]] == id {
			return nil, fmt.Errorf("%w: %q", ErrDuplicateSong, id)
		}
		e := m.Vecs[i*dim : (i+1)*dim]
		r := len(ix.IDs)
		ix.vecs = ix.vecs[:(r+1)*dim]
		var b float32
		sq := metrics.Prepare(ix.vecs[r*dim:], &b, e, d)
		if why := unscorable(ix.vecs[r*dim:(r+1)*dim], b, sq, d); why != "" {
			ix.vecs = ix.vecs[:r*dim]
			ix.Skipped = append(ix.Skipped, Skip{id, why})
			continue
		}
		ix.bias = append(ix.bias, b)
		ix.sq = append(ix.sq, sq)
		ix.IDs = append(ix.IDs, id)
		ix.WorkIDs = append(ix.WorkIDs, col(m.WorkIDs, i))
		ix.Titles = append(ix.Titles, col(m.Titles, i))
		ix.Artists = append(ix.Artists, col(m.Artists, i))
	}
	return ix, nil
}

// NewInPlace is New for a Matrix the caller gives up: when m's ids are
// already ascending (as FromEmbeddings and search files keep them) the
// vectors are prepared in m's own memory instead of a copy. m must not be
// used afterwards.
func NewInPlace(m *Matrix, d metrics.Distance) (*Index, error) {
	if _, err := metrics.ParseDistance(string(d)); err != nil {
		return nil, fmt.Errorf("search: %w", err)
	}
	if err := m.check(); err != nil {
		return nil, err
	}
	for i := 1; i < m.Len(); i++ {
		if m.IDs[i-1] >= m.IDs[i] {
			return New(m, d) // unsorted or duplicate: New sorts and reports
		}
	}
	n, dim := m.Len(), m.Dim
	ix := &Index{Distance: d, Dim: dim, IDs: m.IDs[:0], WorkIDs: m.WorkIDs, Titles: m.Titles, Artists: m.Artists,
		vecs: m.Vecs[:0], bias: make([]float32, 0, n), sq: make([]float64, 0, n)}
	for _, c := range []*[]string{&ix.WorkIDs, &ix.Titles, &ix.Artists} {
		if *c == nil {
			*c = make([]string, n)
		}
	}
	r := 0
	for i := range n {
		e := m.Vecs[i*dim : (i+1)*dim] // r ≤ i: writing row r never clobbers rows > i
		var b float32
		tmp := e
		if r != i {
			tmp = m.Vecs[r*dim : (r+1)*dim]
			copy(tmp, e)
			e = tmp
		}
		sq := metrics.Prepare(tmp, &b, e, d)
		if why := unscorable(tmp, b, sq, d); why != "" {
			ix.Skipped = append(ix.Skipped, Skip{m.IDs[i], why})
			continue
		}
		ix.IDs = append(ix.IDs, m.IDs[i])
		ix.WorkIDs[r], ix.Titles[r], ix.Artists[r] = ix.WorkIDs[i], ix.Titles[i], ix.Artists[i]
		ix.bias = append(ix.bias, b)
		ix.sq = append(ix.sq, sq)
		r++
	}
	ix.vecs = m.Vecs[:r*dim]
	ix.WorkIDs, ix.Titles, ix.Artists = ix.WorkIDs[:r], ix.Titles[:r], ix.Artists[:r]
	return ix, nil
}

// Len is the number of songs in the index.
func (ix *Index) Len() int { return len(ix.IDs) }

// Find returns the row of song id, or -1.
func (ix *Index) Find(id string) int {
	r := sort.SearchStrings(ix.IDs, id)
	if r < len(ix.IDs) && ix.IDs[r] == id {
		return r
	}
	return -1
}

// Row returns the prepared vector of row r (read only).
func (ix *Index) Row(r int) []float32 { return ix.vecs[r*ix.Dim : (r+1)*ix.Dim] }

// Unscorable returns why distance d cannot score e ("" when it can), with
// model/metrics' rules: NaN/Inf values, a zero vector under cosine, a
// constant vector under pearson.
func Unscorable(e []float32, d metrics.Distance) string {
	dst := make([]float32, len(e))
	var b float32
	sq := metrics.Prepare(dst, &b, e, d)
	return unscorable(dst, b, sq, d)
}

// unscorable judges a vector from its prepared vector dst, bias b and raw
// squared norm sq (NaN or Inf exactly when a raw value is: finite float32
// squares cannot overflow a float64 sum).
func unscorable(dst []float32, b float32, sq float64, d metrics.Distance) string {
	bad := math.IsInf(float64(b), 0) || math.IsNaN(float64(b))
	for _, v := range dst {
		if v != v || v > math.MaxFloat32 || v < -math.MaxFloat32 {
			bad = true
			break
		}
	}
	if !bad {
		return ""
	}
	if math.IsNaN(sq) || math.IsInf(sq, 0) {
		return "embedding has NaN or Inf values"
	}
	switch d {
	case metrics.Cosine:
		return "zero embedding: cosine undefined"
	case metrics.Pearson:
		return "constant embedding: pearson undefined"
	}
	return "embedding overflows"
}

// Neighbor is one result: a row of the index and its ranking score
// (q'·x' + bias; higher is nearer).
type Neighbor struct {
	Row   int
	Score float32
}

// Query is a prepared query vector. Exclude is a row never returned (the
// query song itself), or -1.
type Query struct {
	Vec     []float32 // prepared (Index.Row, or PrepareQuery)
	SqNorm  float64   // ‖e_q‖², for sqeuclidean distances
	Exclude int
}

// QueryOf returns the query of row r of the index, excluding r itself.
func (ix *Index) QueryOf(r int) Query {
	return Query{Vec: ix.Row(r), SqNorm: ix.sq[r], Exclude: r}
}

// PrepareQuery prepares a raw vector e (not in the index) as a query.
func (ix *Index) PrepareQuery(e []float32) (Query, error) {
	if len(e) != ix.Dim {
		return Query{}, fmt.Errorf("%w: query of %d values, index of dim %d", ErrShape, len(e), ix.Dim)
	}
	v := make([]float32, ix.Dim)
	var b float32
	sq := metrics.Prepare(v, &b, e, ix.Distance)
	if why := unscorable(v, b, sq, ix.Distance); why != "" {
		return Query{}, fmt.Errorf("%w: %s", ErrUnscorable, why)
	}
	return Query{Vec: v, SqNorm: sq, Exclude: -1}, nil
}

// Similarity turns a neighbour's score into the value the distance defines
// (remove-spec.md §3.1): the cosine similarity, the Pearson correlation, or
// for sqeuclidean the distance (‖q‖² + ‖x‖² − 2 q·x + 1e-12)/d ≥ 0 (lower
// is nearer); isDistance says which.
func (ix *Index) Similarity(q Query, n Neighbor) (v float64, isDistance bool) {
	if ix.Distance == metrics.SqEuclidean {
		// score = q·x − ‖x‖²/2, so ‖q‖² + ‖x‖² − 2q·x = ‖q‖² − 2·score.
		return (q.SqNorm - 2*float64(n.Score) + 1e-12) / float64(ix.Dim), true
	}
	return float64(n.Score), false
}

// Options tune Search; the zero value is good.
type Options struct {
	Block   int // catalog rows per block (0: 4096)
	Workers int // goroutines (0: GOMAXPROCS)
}

// Search returns, for each query, its k nearest rows, best first: by
// descending score, ties by ascending row (ascending song_id). It is exact:
// every row is scored, in blocks of the catalog spread over goroutines, each
// keeping a bounded heap per query; the heaps are merged at the end.
func (ix *Index) Search(queries []Query, k int, opt Options) [][]Neighbor {
	n, d := ix.Len(), ix.Dim
	for _, q := range queries {
		if len(q.Vec) != d {
			panic(fmt.Sprintf("search: query of %d values for an index of dim %d", len(q.Vec), d))
		}
	}
	out := make([][]Neighbor, len(queries))
	if k <= 0 || n == 0 || len(queries) == 0 {
		return out
	}
	bs := opt.Block
	if bs <= 0 {
		bs = 4096
	}
	nb := (n + bs - 1) / bs
	workers := opt.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	workers = min(workers, nb)
	heaps := make([][]topK, workers)
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := range workers {
		hs := make([]topK, len(queries))
		for i := range hs {
			hs[i].k = k
		}
		heaps[w] = hs
		wg.Add(1)
		go func() {
			defer wg.Done()
			scores := make([]float32, bs)
			for {
				b := int(next.Add(1) - 1)
				if b >= nb {
					return
				}
				lo, hi := b*bs, min((b+1)*bs, n)
				s := scores[:hi-lo]
				x := ix.vecs[lo*d : hi*d]
				bias := ix.bias[lo:hi]
				for qi := range queries {
					q := &queries[qi]
					dotRow(s, q.Vec, x, hi-lo, d)
					h := &hs[qi]
					for j, v := range s {
						r := lo + j
						if r == q.Exclude {
							continue
						}
						h.offer(Neighbor{r, v + bias[j]})
					}
				}
			}
		}()
	}
	wg.Wait()
	for qi := range queries {
		all := heaps[0][qi]
		for w := 1; w < workers; w++ {
			for _, nb := range heaps[w][qi].items {
				all.offer(nb)
			}
		}
		res := all.items
		sort.Slice(res, func(a, b int) bool { return better(res[a], res[b]) })
		out[qi] = res
	}
	return out
}

// better reports whether a ranks before b.
func better(a, b Neighbor) bool {
	return a.Score > b.Score || (a.Score == b.Score && a.Row < b.Row)
}

// topK keeps the k best neighbours offered, the worst at items[0].
type topK struct {
	k     int
	items []Neighbor
}

func (h *topK) Len() int           { return len(h.items) }
func (h *topK) Less(i, j int) bool { return better(h.items[j], h.items[i]) }
func (h *topK) Swap(i, j int)      { h.items[i], h.items[j] = h.items[j], h.items[i] }
func (h *topK) Push(x any)         { h.items = append(h.items, x.(Neighbor)) }
func (h *topK) Pop() any {
	n := h.items[len(h.items)-1]
	h.items = h.items[:len(h.items)-1]
	return n
}

func (h *topK) offer(n Neighbor) {
	if len(h.items) < h.k {
		heap.Push(h, n)
		return
	}
	if better(n, h.items[0]) {
		h.items[0] = n
		heap.Fix(h, 0)
	}
}

// dotRow writes dst[j] = q·x_j for the nx rows of x, with the same
// arithmetic as model/metrics' tile kernel for every pair.
func dotRow(dst, q, x []float32, nx, d int) { metrics.DotRow(dst, q, x, nx, d) }
