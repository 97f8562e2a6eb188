package metrics

import (
	"errors"
	"fmt"
	"math"
	"runtime"
	"sort"
	"strings"
	"sync"
)

// Sentinel errors; the returned errors wrap them and name the song at fault.
var (
	ErrDuplicateSong = errors.New("metrics: duplicate song_id")
	ErrMixedDims     = errors.New("metrics: embeddings of mixed dimensions")
	ErrMixedModels   = errors.New("metrics: embeddings of mixed models or reducers")
	ErrNoWorkID      = errors.New("metrics: no row has a work_id (missing work_id column?)")
	ErrEmpty         = errors.New("metrics: no embeddings to evaluate")
	ErrBadConfig     = errors.New("metrics: bad config")
)

// Distance names a similarity of remove-spec.md §3.1.
type Distance string

// The distances of the original code.
const (
	Cosine      Distance = "cosine"      // Re-MOVE (NormalizedSoftmax, loss 2)
	SqEuclidean Distance = "sqeuclidean" // triplet / ProxyNCA models and MOVE, ÷ d, eps 1e-12
	Pearson     Distance = "pearson"     // Group loss (loss 3)
)

// ParseDistance returns the Distance named s.
func ParseDistance(s string) (Distance, error) {
	switch d := Distance(strings.ToLower(s)); d {
	case Cosine, SqEuclidean, Pearson:
		return d, nil
	}
	return "", fmt.Errorf("%w: unknown distance %q (want cosine, sqeuclidean or pearson)", ErrBadConfig, s)
}

// DefaultDistance is the distance recorded for a model id. The rule: cosine
// (the released Re-MOVE model's, the reference default) unless the id names
// a triplet-trained model ("-triplet", "-loss0", "-loss1", or the original
// MOVE "-d16000"/"-d4000" sizes), which use sqeuclidean, or a Group-loss one
// ("-group", "-loss3"), which uses pearson.
func DefaultDistance(model string) Distance {
	m := "-" + strings.ToLower(model) + "-"
	switch {
	case strings.Contains(m, "-triplet-"), strings.Contains(m, "-loss0-"), strings.Contains(m, "-loss1-"),
		strings.Contains(m, "-d16000-"), strings.Contains(m, "-d4000-"):
		return SqEuclidean
	case strings.Contains(m, "-group-"), strings.Contains(m, "-loss3-"):
		return Pearson
	}
	return Cosine
}

// Config configures an evaluation.
type Config struct {
	// Distance is the similarity; empty means DefaultDistance of the model.
	Distance Distance
	// GroupBy names columns to group MAP/MR1 by, besides clique size:
	// "year", "instrumental", "artist", "title", "duration_s" or a key of
	// the Extra map.
	GroupBy []string
	// BlockQueries and BlockCatalog are PartialCounts' tile sizes (0: 64
	// and 1024, so that a catalog block of d = 256 stays in L2). Evaluate's
	// tiles are squares of BlockQueries songs rounded up to a multiple of 16
	// (0: 256, so that a row block, a column block and the tile of d = 256
	// stay in L2).
	BlockQueries, BlockCatalog int
	// Workers is the number of goroutines (0: GOMAXPROCS).
	Workers int
}

// Validate checks the config.
func (c Config) Validate() error {
	if c.Distance != "" {
		if _, err := ParseDistance(string(c.Distance)); err != nil {
			return err
		}
	}
	if c.BlockQueries < 0 || c.BlockCatalog < 0 || c.Workers < 0 {
		return fmt.Errorf("%w: negative block size or worker count", ErrBadConfig)
	}
	for _, g := range c.GroupBy {
		if g == "" || g == "clique_size" {
			return fmt.Errorf("%w: group-by column %q (clique_size is always reported)", ErrBadConfig, g)
		}
	}
	return nil
}

func (c Config) blocks() (int, int) {
	bq, bc := c.BlockQueries, c.BlockCatalog
	if bq == 0 {
		bq = 64
	}
	if bc == 0 {
		bc = 1024
	}
	return bq, bc
}

// Catalog is a validated, prepared catalog in catalog order (ascending
// song_id). Its fields are exported flat slices so that it can cross a Beam
// stage boundary as a side input; build it only with NewCatalog.
type Catalog struct {
	Distance string
	Dim      int
	Model    string
	Reducer  string
	GroupBy  []string
	SongIDs  []string
	WorkIDs  []string
	// Vecs holds the prepared vectors, row-major N×Dim; Bias one term per
	// song: score(q, x) = Vecs[q]·Vecs[x] + Bias[x].
	Vecs []float32
	Bias []float32
	// Work is each song's work index, -1 for a song without work_id.
	Work []int32
	// Members lists song indices grouped by work (ascending inside a work);
	// work w's members are Members[WorkStart[w]:WorkStart[w+1]].
	Members   []int32
	WorkStart []int32
	// GroupValues is N×len(GroupBy), row-major.
	GroupValues []string
}

// Len is the number of songs.
func (c *Catalog) Len() int { return len(c.SongIDs) }

// NumVersions is the number of relevant items of query q.
func (c *Catalog) NumVersions(q int) int {
	w := c.Work[q]
	if w < 0 {
		return 0
	}
	return int(c.WorkStart[w+1]-c.WorkStart[w]) - 1
}

// Row is one song as NewCatalog takes it: an embedding row reduced to what
// the metrics need, its values of the group-by columns (in Config.GroupBy's
// order), and the file it came from (for messages).
type Row struct {
	SongID      string
	WorkID      string
	Embedding   []float32
	Model       string
	Reducer     string
	GroupValues []string
	File        string
}

// Reject is a row that cannot be scored, and why. Its fields (and their
// JSON names in report.json) are those of the reject rows vindex writes.
type Reject struct {
	SongID string
	File   string
	Stage  string
	Reason string
}

// RejectStage is the stage of every Reject of this package (schema.StageEvaluate
// for the rows transforms writes; a transforms test checks they agree).
const RejectStage = "evaluate"

// CheckRow returns why a row cannot be scored under distance d, or "" if it can.
func CheckRow(r *Row, d Distance) string {
	if r.SongID == "" {
		return "empty song_id"
	}
	if len(r.Embedding) == 0 {
		return "empty embedding"
	}
	var sum, sq float64
	for i, v := range r.Embedding {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return fmt.Sprintf("embedding[%d] = %v", i, v)
		}
		sum += float64(v)
		sq += float64(v) * float64(v)
	}
	if sq > math.MaxFloat32/4 {
		return "embedding norm overflows float32"
	}
	switch d {
	case Cosine:
		if sq == 0 {
			return "zero embedding: cosine similarity undefined (the reference gives NaN)"
		}
	case Pearson:
		mean := sum / float64(len(r.Embedding))
		var v float64
		for _, x := range r.Embedding {
			v += (float64(x) - mean) * (float64(x) - mean)
		}
		if v == 0 || len(r.Embedding) < 2 {
			return "constant embedding: pearson correlation undefined (the reference gives NaN)"
		}
	}
	return ""
}

func where(r *Row) string {
	if r.File != "" {
		return fmt.Sprintf("song %q (%s)", r.SongID, r.File)
	}
	return fmt.Sprintf("song %q", r.SongID)
}

// NewCatalog validates rows and prepares them for distance d (which must be
// set). Rows that cannot be scored are returned as rejects (stage
// "evaluate"); duplicate song_ids, mixed dimensions, mixed model/reducer ids
// and a catalog where no row has a work_id are errors naming the songs. rows
// is sorted in place.
func NewCatalog(rows []Row, d Distance, groupBy []string) (*Catalog, []Reject, error) {
	if _, err := ParseDistance(string(d)); err != nil {
		return nil, nil, err
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].SongID < rows[j].SongID })
	why := make([]string, len(rows))
	parallelRows(len(rows), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			why[i] = CheckRow(&rows[i], d)
		}
	})
	var rejects []Reject
	good := rows[:0:0]
	for i := range rows {
		r := &rows[i]
		if i > 0 && rows[i-1].SongID == r.SongID && r.SongID != "" {
			return nil, nil, fmt.Errorf("%w: %s and %s", ErrDuplicateSong, where(&rows[i-1]), where(r))
		}
		if len(r.GroupValues) != len(groupBy) {
			panic(fmt.Sprintf("metrics: row %q has %d group values for %d group-by columns", r.SongID, len(r.GroupValues), len(groupBy)))
		}
		if why[i] != "" {
			rejects = append(rejects, Reject{SongID: r.SongID, File: r.File, Stage: RejectStage, Reason: why[i]})
			continue
		}
		good = append(good, *r)
	}
	if len(good) == 0 {
		return nil, rejects, ErrEmpty
	}
	dim := len(good[0].Embedding)
	c := &Catalog{Distance: string(d), Dim: dim, Model: good[0].Model, Reducer: good[0].Reducer, GroupBy: groupBy}
	n := len(good)
	c.SongIDs = make([]string, n)
	c.WorkIDs = make([]string, n)
	c.Vecs = make([]float32, n*dim)
	c.Bias = make([]float32, n)
	c.Work = make([]int32, n)
	c.GroupValues = make([]string, 0, n*len(groupBy))
	works := map[string]int32{}
	var counts []int32
	for i := range good {
		r := &good[i]
		if len(r.Embedding) != dim {
			return nil, nil, fmt.Errorf("%w: %s has %d, %s has %d", ErrMixedDims, where(&good[0]), dim, where(r), len(r.Embedding))
		}
		if r.Model != c.Model || r.Reducer != c.Reducer {
			return nil, nil, fmt.Errorf("%w: %s is %q/%q, %s is %q/%q", ErrMixedModels,
				where(&good[0]), c.Model, c.Reducer, where(r), r.Model, r.Reducer)
		}
		c.SongIDs[i], c.WorkIDs[i] = r.SongID, r.WorkID
		c.GroupValues = append(c.GroupValues, r.GroupValues...)
		c.Work[i] = -1
		if r.WorkID != "" {
			w, ok := works[r.WorkID]
			if !ok {
				w = int32(len(counts))
				works[r.WorkID] = w
				counts = append(counts, 0)
			}
			c.Work[i] = w
			counts[w]++
		}
	}
	if len(works) == 0 {
		return nil, nil, ErrNoWorkID
	}
	parallelRows(n, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			Prepare(c.Vecs[i*dim:(i+1)*dim], &c.Bias[i], good[i].Embedding, d)
		}
	})
	c.WorkStart = make([]int32, len(counts)+1)
	for w, k := range counts {
		c.WorkStart[w+1] = c.WorkStart[w] + k
	}
	c.Members = make([]int32, c.WorkStart[len(counts)])
	fill := append([]int32(nil), c.WorkStart[:len(counts)]...)
	for i, w := range c.Work {
		if w >= 0 {
			c.Members[fill[w]] = int32(i)
			fill[w]++
		}
	}
	return c, rejects, nil
}

// parallelRows runs f over [0, n) in GOMAXPROCS contiguous parts, or in
// one below 2,048 rows.
func parallelRows(n int, f func(lo, hi int)) {
	p := min(runtime.GOMAXPROCS(0), n/1024)
	if p <= 1 {
		f(0, n)
		return
	}
	var wg sync.WaitGroup
	for k := range p {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f(n*k/p, n*(k+1)/p)
		}()
	}
	wg.Wait()
}

// Prepare writes the prepared vector of e into dst and its bias into b, so
// that the score q'·x' + b_x ranks catalog items as distance d does (cosine:
// e/‖e‖; pearson: (e−mean)/‖e−mean‖; sqeuclidean: e with bias −‖e‖²/2), and
// returns ‖e‖² in float64. A zero (cosine) or constant (pearson) e gives NaN
// values, which callers treat as unscorable.
func Prepare(dst []float32, b *float32, e []float32, d Distance) float64 {
	if len(dst) < len(e) {
		panic("metrics: Prepare: short dst")
	}
	var sq float64
	for _, v := range e {
		sq += float64(v) * float64(v)
	}
	switch d {
	case Cosine:
		inv := 1 / math.Sqrt(sq)
		for i, v := range e {
			dst[i] = float32(float64(v) * inv)
		}
		*b = 0
	case Pearson:
		var sum float64
		for _, v := range e {
			sum += float64(v)
		}
		mean := sum / float64(len(e))
		var c float64
		for _, v := range e {
			c += (float64(v) - mean) * (float64(v) - mean)
		}
		inv := 1 / math.Sqrt(c)
		for i, v := range e {
			dst[i] = float32((float64(v) - mean) * inv)
		}
		*b = 0
	case SqEuclidean:
		copy(dst, e)
		*b = float32(-sq / 2)
	default:
		panic("metrics: unknown distance " + string(d))
	}
	return sq
}
