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
	beam.RegisterType(reflect.TypeOf((*queryBlock)(nil)).Elem())
	beam.RegisterType(reflect.TypeOf((*evalRowFn)(nil)).Elem())
	beam.RegisterType(reflect.TypeOf((*writeBlocksFn)(nil)).Elem())
	beam.RegisterType(reflect.TypeOf((*collectBlocksFn)(nil)).Elem())
	beam.RegisterType(reflect.TypeOf((*planQueriesFn)(nil)).Elem())
	beam.RegisterType(reflect.TypeOf((*scoreQueriesFn)(nil)).Elem())
	register.Emitter1[metrics.Row]()
	register.Emitter1[catalogBlock]()
	register.Emitter1[catalogInfo]()
	register.Emitter1[queryBlock]()
	register.Emitter1[metrics.QueryResult]()
}

var (
	evalQueries = beam.NewCounter(CounterNamespace, "evaluate.queries")
	evalBlocks  = beam.NewCounter(CounterNamespace, "evaluate.query_blocks")
	evalRejects = beam.NewCounter(CounterNamespace, "evaluate.rejects")
)

// EvaluateConfig configures Evaluate.
type EvaluateConfig struct {
	Metrics metrics.Config // distance (must be set), group-by, tile sizes, goroutines per element
	// PairQueries is the number of queries of one element (0: 1024); each
	// element scores its queries against the catalog PairCatalog songs at a
	// time (0: the whole catalog at once), summing the partial counts.
	PairQueries, PairCatalog int
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
// each) are combined into an index. Work is split into query blocks of
// PairQueries songs; a worker process loads the catalog from the block files
// once (a process-wide cache: one copy of the vectors however many DoFn
// instances score), prepared exactly as metrics.Evaluate prepares it, and
// counts each query block against it with goroutines on every core
// (metrics.Catalog.PartialCounts), so every figure equals metrics.Evaluate's.
// No N×N matrix exists anywhere. Duplicate song_ids, mixed dimensions or
// models and a catalog without work_id fail the pipeline with an error naming
// the songs. docs/scale.md gives the memory per worker and the shuffle volume.
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
	results = beam.ParDo(s, &scoreQueriesFn{Distance: string(m.Distance), GroupBy: m.GroupBy, PairCatalog: cfg.PairCatalog,
		BlockQueries: m.BlockQueries, BlockCatalog: m.BlockCatalog, Workers: m.Workers}, queries)
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

// queryBlock is one element of scoring: queries [QLo, QHi) of the catalog
// (in catalog order) against the whole catalog the index lists.
type queryBlock struct {
	QLo, QHi int
	Index    catalogIndex
}

// planQueriesFn loads (and so validates) the catalog, emits its description
// and cuts it into query blocks.
type planQueriesFn struct {
	Distance string
	GroupBy  []string
	Dir      string
	Queries  int
}

func (f *planQueriesFn) ProcessElement(ctx context.Context, idx catalogIndex, emitInfo func(catalogInfo), emit func(queryBlock)) error {
	cat, err := loadCatalog(ctx, idx, f.Distance, f.GroupBy)
	if err != nil {
		return err
	}
	emitInfo(catalogInfo{Distance: cat.Distance, Model: cat.Model, Reducer: cat.Reducer, Dim: cat.Dim, Len: cat.Len(),
		GroupBy: f.GroupBy, Dir: f.Dir, Index: idx})
	for q := 0; q < cat.Len(); q += f.Queries {
		emit(queryBlock{QLo: q, QHi: min(q+f.Queries, cat.Len()), Index: idx})
	}
	return nil
}

// scoreQueriesFn computes the results of one query block, with goroutines
// over its queries (prism runs a stage's elements in few bundles:
// parallelism comes from inside the DoFn too).
type scoreQueriesFn struct {
	Distance                   string
	GroupBy                    []string
	PairCatalog                int
	BlockQueries, BlockCatalog int
	Workers                    int
}

func (f *scoreQueriesFn) ProcessElement(ctx context.Context, b queryBlock, emit func(metrics.QueryResult)) error {
	cat, err := loadCatalog(ctx, b.Index, f.Distance, f.GroupBy)
	if err != nil {
		return err
	}
	n := cat.Len()
	if b.QLo < 0 || b.QHi > n || b.QLo >= b.QHi {
		return fmt.Errorf("transforms: Evaluate: query block [%d, %d) does not fit a catalog of %d songs", b.QLo, b.QHi, n)
	}
	evalBlocks.Inc(ctx, 1)
	dst := make([][]int64, b.QHi-b.QLo)
	for q := b.QLo; q < b.QHi; q++ {
		if m := cat.NumVersions(q); m > 0 {
			dst[q-b.QLo] = make([]int64, m)
		}
	}
	cfg := metrics.Config{Distance: metrics.Distance(f.Distance), BlockQueries: f.BlockQueries, BlockCatalog: f.BlockCatalog, Workers: f.Workers}
	step := cmpOr(f.PairCatalog, n)
	for c := 0; c < n; c += step { // counts are additive over catalog ranges
		cat.PartialCounts(b.QLo, b.QHi, c, min(c+step, n), cfg, dst)
	}
	for i, c := range dst {
		evalQueries.Inc(ctx, 1)
		emit(cat.Result(b.QLo+i, c))
	}
	return nil
}

func sortResults(r []metrics.QueryResult) {
	sort.Slice(r, func(i, j int) bool { return r[i].SongID < r[j].SongID })
}
