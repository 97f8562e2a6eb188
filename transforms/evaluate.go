package transforms

import (
	"context"
	"fmt"
	"os"
	"reflect"
	"sort"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/vindex/vindex/model/metrics"
	"github.com/vindex/vindex/schema"
	"github.com/vindex/vindex/storage"
)

func init() {
	beam.RegisterType(reflect.TypeOf((*metrics.Row)(nil)).Elem())
	beam.RegisterType(reflect.TypeOf((*metrics.QueryResult)(nil)).Elem())
	beam.RegisterType(reflect.TypeOf((*catalogBlock)(nil)).Elem())
	beam.RegisterType(reflect.TypeOf((*catalogIndex)(nil)).Elem())
	beam.RegisterType(reflect.TypeOf((*catalogInfo)(nil)).Elem())
	beam.RegisterType(reflect.TypeOf((*pairTask)(nil)).Elem())
	beam.RegisterType(reflect.TypeOf((*countChunk)(nil)).Elem())
	beam.RegisterType(reflect.TypeOf((*evalRowFn)(nil)).Elem())
	beam.RegisterType(reflect.TypeOf((*writeBlocksFn)(nil)).Elem())
	beam.RegisterType(reflect.TypeOf((*collectBlocksFn)(nil)).Elem())
	beam.RegisterType(reflect.TypeOf((*planQueriesFn)(nil)).Elem())
	beam.RegisterType(reflect.TypeOf((*scorePairsFn)(nil)).Elem())
	beam.RegisterType(reflect.TypeOf((*sumCountsFn)(nil)).Elem())
	beam.RegisterType(reflect.TypeOf((*resultsFn)(nil)).Elem())
	register.Emitter1[metrics.Row]()
	register.Emitter1[catalogBlock]()
	register.Emitter1[catalogInfo]()
	register.Emitter1[pairTask]()
	register.Emitter2[int, countChunk]()
	register.Emitter1[metrics.QueryResult]()
}

var (
	evalQueries = beam.NewCounter(CounterNamespace, "evaluate.queries")
	evalBlocks  = beam.NewCounter(CounterNamespace, "evaluate.block_pairs")
	evalRejects = beam.NewCounter(CounterNamespace, "evaluate.rejects")
)

// EvaluateConfig configures Evaluate.
type EvaluateConfig struct {
	Metrics metrics.Config // distance (must be set), group-by, tile sizes, goroutines per element
	// PairQueries is the number of queries of a block (0: 1024); an element
	// scores one block against itself and against half the other blocks.
	PairQueries int
	// TempDir is the folder (path or URI) under which the catalog's block
	// files are written, in a new sub-folder removed when the report is
	// written; "" means the machine's temporary folder, which only a local
	// runner's workers share: set it (e.g. gs://bucket/tmp) on a cluster.
	TempDir string
	// BlockRows is the number of songs per block file (0: 8192).
	BlockRows int
}

// Evaluate computes per-query version-retrieval results of a
// PCollection<schema.Embedding> (one model/reducer and dimension). It returns
// a PCollection<metrics.QueryResult> (one per scored song), a
// PCollection<schema.Reject> (stage "evaluate": songs the distance cannot
// score) and a singleton describing the catalog (for WriteEvaluationReport).
//
// No stage gathers the catalog. The rows are written, in the stage that
// reads them, as block files of at most BlockRows songs (a bundle's rows,
// never more than a block in memory); only the block names (a few bytes
// each) are combined into an index. The catalog is cut into query blocks of
// PairQueries songs and every unordered pair of blocks is scored once
// (metrics.Catalog.PairCounts: one tile of scores counts both directions,
// as metrics.Evaluate does), planned as one element per block (the block
// with itself and the next half of the blocks, cyclically: the same work
// per element). A worker process loads the catalog from the block files
// once (a process-wide cache: one copy of the vectors however many DoFn
// instances score), prepared exactly as metrics.Evaluate prepares it; a DoFn
// instance adds its bundle's counts into one dense array (8 bytes per
// relevant item of the catalog) and emits them at the end of the bundle,
// keyed by query block; a combine per block sums them and each block's
// totals become its QueryResults, so every figure equals
// metrics.Evaluate's. No N×N matrix exists anywhere. Duplicate song_ids,
// mixed dimensions or models and a catalog without work_id fail the
// pipeline with an error naming the songs. docs/scale.md gives the memory per worker and the shuffle volume.
func Evaluate(s beam.Scope, cfg EvaluateConfig, embs beam.PCollection) (results, rejects, catalog beam.PCollection) {
	s = s.Scope("transforms.Evaluate")
	if _, err := metrics.ParseDistance(string(cfg.Metrics.Distance)); err != nil {
		panic("transforms: Evaluate: " + err.Error())
	}
	dir := cfg.TempDir
	if dir == "" {
		dir = os.TempDir()
	}
	dir = storage.Join(dir, "vindex-catalog-"+storage.RandomHex(8))
	m := cfg.Metrics
	rows, rowRejects := beam.ParDo2(s, &evalRowFn{Distance: string(m.Distance), GroupBy: m.GroupBy}, embs)
	blocks := beam.ParDo(s, &writeBlocksFn{Dir: dir, MaxRows: cmpOr(cfg.BlockRows, 8192)}, rows)
	index := beam.Combine(s, &collectBlocksFn{}, blocks)
	info, queries := beam.ParDo2(s, &planQueriesFn{Distance: string(m.Distance), GroupBy: m.GroupBy, Dir: dir,
		Queries: cmpOr(cfg.PairQueries, 1024)}, index)
	queries = beam.Reshuffle(s, queries)
	partial := beam.ParDo(s, &scorePairsFn{Distance: string(m.Distance), GroupBy: m.GroupBy,
		BlockQueries: m.BlockQueries, BlockCatalog: m.BlockCatalog, Workers: m.Workers}, queries)
	counts := beam.CombinePerKey(s, sumCountsFn{}, partial)
	results = beam.ParDo(s, &resultsFn{Distance: string(m.Distance), GroupBy: m.GroupBy}, counts, beam.SideInput{Input: info})
	return results, rowRejects, info
}

func cmpOr(v, def int) int {
	if v > 0 {
		return v
	}
	return def
}

// evalRowFn projects an embedding to a metrics.Row and rejects rows the
// distance cannot score.
type evalRowFn struct {
	Distance string
	GroupBy  []string
}

func (f *evalRowFn) ProcessElement(ctx context.Context, e schema.Embedding, emit func(metrics.Row), reject func(schema.Reject)) {
	r := MetricRow(&e, f.GroupBy)
	if why := metrics.CheckRow(&r, metrics.Distance(f.Distance)); why != "" {
		evalRejects.Inc(ctx, 1)
		reject(schema.Reject{SongID: e.SongID, File: e.File, Stage: schema.StageEvaluate, Reason: why})
		return
	}
	emit(r)
}

// catalogBlock is one block file of the catalog.
type catalogBlock struct {
	URI  string
	Rows int64
}

// catalogIndex lists a catalog's block files, sorted by URI.
type catalogIndex struct {
	URIs []string
	Rows []int64
}

// writeBlocksFn writes its bundle's rows as block files of at most MaxRows
// rows and emits their names.
type writeBlocksFn struct {
	Dir     string
	MaxRows int

	buf []metrics.Row
}

func (f *writeBlocksFn) StartBundle(emit func(catalogBlock)) { f.buf = f.buf[:0] }

func (f *writeBlocksFn) ProcessElement(ctx context.Context, r metrics.Row, emit func(catalogBlock)) error {
	f.buf = append(f.buf, r)
	if len(f.buf) >= f.MaxRows {
		return f.flush(ctx, emit)
	}
	return nil
}

func (f *writeBlocksFn) FinishBundle(ctx context.Context, emit func(catalogBlock)) error {
	return f.flush(ctx, emit)
}

func (f *writeBlocksFn) flush(ctx context.Context, emit func(catalogBlock)) error {
	if len(f.buf) == 0 {
		return nil
	}
	// A retried bundle writes under new names; only the names a committed
	// bundle emitted are read, and the cleanup removes the folder.
	uri := storage.Join(f.Dir, "block-"+storage.RandomHex(8)+blockExt)
	if err := storage.WriteFile(ctx, uri, encodeBlock(f.buf)); err != nil {
		return fmt.Errorf("transforms: Evaluate: %w", err)
	}
	emit(catalogBlock{URI: uri, Rows: int64(len(f.buf))})
	clear(f.buf)
	f.buf = f.buf[:0]
	return nil
}

// collectBlocksFn gathers the block names (not their rows) into the index.
type collectBlocksFn struct{}

func (collectBlocksFn) CreateAccumulator() catalogIndex { return catalogIndex{} }

func (collectBlocksFn) AddInput(a catalogIndex, b catalogBlock) catalogIndex {
	a.URIs = append(a.URIs, b.URI)
	a.Rows = append(a.Rows, b.Rows)
	return a
}

func (collectBlocksFn) MergeAccumulators(a, b catalogIndex) catalogIndex {
	a.URIs = append(a.URIs, b.URIs...)
	a.Rows = append(a.Rows, b.Rows...)
	return a
}

func (collectBlocksFn) ExtractOutput(a catalogIndex) catalogIndex {
	sort.Sort(byURI(a))
	return a
}

type byURI catalogIndex

func (b byURI) Len() int           { return len(b.URIs) }
func (b byURI) Less(i, j int) bool { return b.URIs[i] < b.URIs[j] }
func (b byURI) Swap(i, j int) {
	b.URIs[i], b.URIs[j] = b.URIs[j], b.URIs[i]
	b.Rows[i], b.Rows[j] = b.Rows[j], b.Rows[i]
}

// catalogInfo is what the report needs of the catalog (not its vectors), and
// where its block files are (for the cleanup).
type catalogInfo struct {
	Distance, Model, Reducer string
	Dim, Len                 int
	GroupBy                  []string
	Dir                      string
	Index                    catalogIndex
}

// pairTask is one element of scoring: query block Block (queries
// [Block·Size, (Block+1)·Size) of the catalog in catalog order) against
// itself and against the Others blocks that follow it, cyclically, so that
// every pair of blocks is scored once over the whole plan and every element
// has about the same work (half the blocks).
type pairTask struct {
	Block, Others, Size int
	Index               catalogIndex
}

// countChunk is the counts of the queries [Lo, Hi) (their versions' counts,
// concatenated in catalog order): one bundle's partial counts, then their
// sum. A count is a number of catalog songs, so it fits an int32 (metrics
// indexes songs by int32): half the bytes of int64 in the shuffle.
type countChunk struct {
	Lo, Hi int
	Counts []int32
}

// planQueriesFn loads (and so validates) the catalog, emits its description
// and plans the pairs of query blocks.
type planQueriesFn struct {
	Distance string
	GroupBy  []string
	Dir      string
	Queries  int
}

func (f *planQueriesFn) ProcessElement(ctx context.Context, idx catalogIndex, emitInfo func(catalogInfo), emit func(pairTask)) error {
	cat, err := loadCatalog(ctx, idx, f.Distance, f.GroupBy)
	if err != nil {
		return err
	}
	emitInfo(catalogInfo{Distance: cat.Distance, Model: cat.Model, Reducer: cat.Reducer, Dim: cat.Dim, Len: cat.Len(),
		GroupBy: f.GroupBy, Dir: f.Dir, Index: idx})
	for _, t := range planPairs(cat.Len(), f.Queries) {
		t.Index = idx
		emit(t)
	}
	return nil
}

// planPairs cuts n queries into blocks of size and pairs block i with
// blocks i, i+1, …, i+⌊(nb−1)/2⌋ (mod nb), and, when nb is even, the first
// half of the blocks with block i+nb/2 too: each unordered pair once.
func planPairs(n, size int) []pairTask {
	nb := (n + size - 1) / size
	tasks := make([]pairTask, nb)
	for i := range tasks {
		tasks[i] = pairTask{Block: i, Others: (nb - 1) / 2, Size: size}
		if nb%2 == 0 && i < nb/2 {
			tasks[i].Others++
		}
	}
	return tasks
}

// scorePairsFn counts the pairs of query blocks of its elements
// (metrics.PairCounter: PairCounts with each block's relevant items
// prepared once per process; goroutines on every core, as prism runs a
// stage's elements in few bundles) into one dense counts array per DoFn
// instance (the catalog's total versions, int64), and emits at the end of
// a bundle the counts of every block it touched, keyed by block.
type scorePairsFn struct {
	Distance     string
	GroupBy      []string
	BlockQueries int
	BlockCatalog int
	Workers      int

	cat     *metrics.Catalog
	size    int
	pairs   *metrics.PairCounter // the catalog's blocks, prepared once per process
	off     []int                // off[q]: where query q's counts start in flat
	flat    []int64              // the bundle's counts
	dst     [][]int64            // flat, by query (nil: no versions)
	touched []bool               // blocks with counts in flat
}

func (f *scorePairsFn) ProcessElement(ctx context.Context, t pairTask, emit func(int, countChunk)) error {
	if t.Size <= 0 {
		return fmt.Errorf("transforms: Evaluate: pair element of block size %d", t.Size)
	}
	cat, pairs, err := loadPairCounter(ctx, t.Index, f.Distance, f.GroupBy, t.Size)
	if err != nil {
		return err
	}
	n := cat.Len()
	nb := pairs.NumBlocks()
	if t.Block < 0 || t.Block >= nb || t.Others < 0 || t.Others >= nb {
		return fmt.Errorf("transforms: Evaluate: pair element (block %d, %d others, size %d) does not fit a catalog of %d songs",
			t.Block, t.Others, t.Size, n)
	}
	if f.cat != cat || f.size != t.Size {
		if err := f.flush(emit); err != nil {
			return err
		}
		f.prepare(cat, pairs, t.Size)
	}
	cfg := metrics.Config{Distance: metrics.Distance(f.Distance), BlockQueries: f.BlockQueries, BlockCatalog: f.BlockCatalog, Workers: f.Workers}
	for k := 0; k <= t.Others; k++ {
		j := (t.Block + k) % nb
		f.pairs.Count(t.Block, j, cfg, f.dst)
		f.touched[j] = true
		evalBlocks.Inc(ctx, 1)
	}
	f.touched[t.Block] = true
	return nil
}

// prepare sizes the counts array for cat in blocks of size.
func (f *scorePairsFn) prepare(cat *metrics.Catalog, pairs *metrics.PairCounter, size int) {
	n := cat.Len()
	f.cat, f.size = cat, size
	f.pairs = pairs
	f.off = make([]int, n+1)
	for q := range n {
		f.off[q+1] = f.off[q] + cat.NumVersions(q)
	}
	f.flat = make([]int64, f.off[n])
	f.dst = make([][]int64, n)
	for q := range n {
		if f.off[q+1] > f.off[q] {
			f.dst[q] = f.flat[f.off[q]:f.off[q+1]:f.off[q+1]]
		}
	}
	f.touched = make([]bool, (n+size-1)/size)
}

// StartBundle starts from zero (a bundle that failed in this instance left
// its counts behind).
func (f *scorePairsFn) StartBundle(emit func(int, countChunk)) { f.release() }

// FinishBundle emits the bundle's counts and lets go of the catalog and the
// counts array, so that an idle instance holds nothing (a catalog is
// dropped from the process cache once its report is written).
func (f *scorePairsFn) FinishBundle(emit func(int, countChunk)) error {
	err := f.flush(emit)
	f.release()
	return err
}

func (f *scorePairsFn) release() {
	f.cat, f.pairs, f.size = nil, nil, 0
	f.off, f.flat, f.dst, f.touched = nil, nil, nil, nil
}

// flush emits (a copy of) the counts of every touched block and clears them.
func (f *scorePairsFn) flush(emit func(int, countChunk)) error {
	if f.cat == nil {
		return nil
	}
	for b, ok := range f.touched {
		if !ok {
			continue
		}
		lo, hi := f.pairs.Range(b)
		c := f.flat[f.off[lo]:f.off[hi]]
		out := make([]int32, len(c))
		for i, v := range c {
			out[i] = int32(v) // 0 ≤ v < Len() ≤ MaxInt32
		}
		emit(b, countChunk{Lo: lo, Hi: hi, Counts: out})
		clear(c)
		f.touched[b] = false
	}
	return nil
}

// sumCountsFn sums the partial counts of one query block.
type sumCountsFn struct{}

func (sumCountsFn) CreateAccumulator() countChunk { return countChunk{} }

func (sumCountsFn) AddInput(a, b countChunk) (countChunk, error) {
	return sumCountsFn{}.MergeAccumulators(a, b)
}

func (sumCountsFn) MergeAccumulators(a, b countChunk) (countChunk, error) {
	if a.Counts == nil {
		return b, nil
	}
	if b.Counts == nil {
		return a, nil
	}
	if a.Lo != b.Lo || a.Hi != b.Hi || len(a.Counts) != len(b.Counts) {
		return a, fmt.Errorf("transforms: Evaluate: counts of queries [%d, %d) and [%d, %d) summed together", a.Lo, a.Hi, b.Lo, b.Hi)
	}
	for i, v := range b.Counts {
		a.Counts[i] += v
	}
	return a, nil
}

// resultsFn turns a query block's total counts into its QueryResults.
type resultsFn struct {
	Distance string
	GroupBy  []string
}

func (f *resultsFn) ProcessElement(ctx context.Context, _ int, c countChunk, info catalogInfo, emit func(metrics.QueryResult)) error {
	cat, err := loadCatalog(ctx, info.Index, f.Distance, f.GroupBy)
	if err != nil {
		return err
	}
	if c.Lo < 0 || c.Hi > cat.Len() || c.Lo > c.Hi {
		return fmt.Errorf("transforms: Evaluate: counts of queries [%d, %d) do not fit a catalog of %d songs", c.Lo, c.Hi, cat.Len())
	}
	rest := c.Counts
	for q := c.Lo; q < c.Hi; q++ {
		m := cat.NumVersions(q)
		if m > len(rest) {
			return fmt.Errorf("transforms: Evaluate: counts of queries [%d, %d): %d values, too few", c.Lo, c.Hi, len(c.Counts))
		}
		var counts []int64
		if m > 0 {
			counts = make([]int64, m)
			for k, v := range rest[:m] {
				counts[k] = int64(v)
			}
		}
		rest = rest[m:]
		evalQueries.Inc(ctx, 1)
		emit(cat.Result(q, counts))
	}
	if len(rest) != 0 {
		return fmt.Errorf("transforms: Evaluate: counts of queries [%d, %d): %d values too many", c.Lo, c.Hi, len(rest))
	}
	return nil
}

func sortResults(r []metrics.QueryResult) {
	sort.Slice(r, func(i, j int) bool { return r[i].SongID < r[j].SongID })
}
