package transforms

import (
	"context"
	"fmt"
	"reflect"
	"sort"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/vindex/vindex/model/metrics"
	"github.com/vindex/vindex/schema"
)

func init() {
	beam.RegisterType(reflect.TypeOf((*metrics.Row)(nil)).Elem())
	beam.RegisterType(reflect.TypeOf((*metrics.Catalog)(nil)).Elem())
	beam.RegisterType(reflect.TypeOf((*metrics.QueryResult)(nil)).Elem())
	beam.RegisterType(reflect.TypeOf((*evalRows)(nil)).Elem())
	beam.RegisterType(reflect.TypeOf((*blockPair)(nil)).Elem())
	beam.RegisterType(reflect.TypeOf((*rankCounts)(nil)).Elem())
	beam.RegisterType(reflect.TypeOf((*evalRowFn)(nil)).Elem())
	beam.RegisterType(reflect.TypeOf((*collectRowsFn)(nil)).Elem())
	beam.RegisterType(reflect.TypeOf((*buildCatalogFn)(nil)).Elem())
	beam.RegisterType(reflect.TypeOf((*blockPairsFn)(nil)).Elem())
	beam.RegisterType(reflect.TypeOf((*countRanksFn)(nil)).Elem())
	register.Iter1[metrics.Catalog]()
	beam.RegisterType(reflect.TypeOf((*sumCountsFn)(nil)).Elem())
	beam.RegisterType(reflect.TypeOf((*queryResultFn)(nil)).Elem())
	beam.RegisterType(reflect.TypeOf((*noVersionsFn)(nil)).Elem())
	register.Emitter1[metrics.Row]()
	register.Emitter1[metrics.Catalog]()
	register.Emitter1[blockPair]()
	register.Emitter2[int64, rankCounts]()
	register.Emitter1[metrics.QueryResult]()
}

var (
	evalQueries    = beam.NewCounter(CounterNamespace, "evaluate.queries")
	evalBlockPairs = beam.NewCounter(CounterNamespace, "evaluate.block_pairs")
	evalRejects    = beam.NewCounter(CounterNamespace, "evaluate.rejects")
)

// EvaluateConfig configures Evaluate.
type EvaluateConfig struct {
	Metrics metrics.Config // distance (must be set), group-by, tile sizes, goroutines per element
	// PairQueries and PairCatalog are the sizes of a (query block, catalog
	// block) element; 0 means 1024 and 32768.
	PairQueries, PairCatalog int
}

// Evaluate computes per-query version-retrieval results of a
// PCollection<schema.Embedding> (one model/reducer and dimension). It returns
// a PCollection<metrics.QueryResult> (one per scored song), a
// PCollection<schema.Reject> (stage "evaluate": songs the distance cannot
// score) and the singleton PCollection<metrics.Catalog>.
//
// The catalog (O(N·d)) is gathered once and used as a side input; the work
// is split into (query block, catalog block) pairs, each computing the
// partial rank counts of its queries against its catalog block with
// goroutines on every core (metrics.Catalog.PartialCounts); a CombinePerKey
// sums them per query, and the sums become ranks, AP and top-k. No N×N
// matrix exists anywhere. Duplicate song_ids, mixed dimensions or models and
// a catalog without work_id fail the pipeline with an error naming the songs.
func Evaluate(s beam.Scope, cfg EvaluateConfig, embs beam.PCollection) (results, rejects, catalog beam.PCollection) {
	s = s.Scope("transforms.Evaluate")
	if _, err := metrics.ParseDistance(string(cfg.Metrics.Distance)); err != nil {
		panic("transforms: Evaluate: " + err.Error())
	}
	rows, rowRejects := beam.ParDo2(s, &evalRowFn{Distance: string(cfg.Metrics.Distance), GroupBy: cfg.Metrics.GroupBy}, embs)
	all := beam.Combine(s, &collectRowsFn{}, rows)
	catalog, catRejects := beam.ParDo2(s, &buildCatalogFn{Distance: string(cfg.Metrics.Distance), GroupBy: cfg.Metrics.GroupBy}, all)
	pq, pc := cfg.PairQueries, cfg.PairCatalog
	if pq <= 0 {
		pq = 1024
	}
	if pc <= 0 {
		pc = 32768
	}
	pairs := beam.ParDo(s, &blockPairsFn{Queries: pq, Catalog: pc}, catalog)
	pairs = beam.Reshuffle(s, pairs)
	m := cfg.Metrics
	counts := beam.ParDo(s, &countRanksFn{Distance: string(m.Distance), BlockQueries: m.BlockQueries, BlockCatalog: m.BlockCatalog, Workers: m.Workers},
		pairs, beam.SideInput{Input: catalog})
	summed := beam.CombinePerKey(s, &sumCountsFn{}, counts)
	withVersions := beam.ParDo(s, &queryResultFn{}, summed, beam.SideInput{Input: catalog})
	noVersions := beam.ParDo(s, &noVersionsFn{}, catalog)
	return beam.Flatten(s, withVersions, noVersions), beam.Flatten(s, rowRejects, catRejects), catalog
}

// evalRowFn projects an embedding to a metrics.Row and rejects rows the
// distance cannot score.
type evalRowFn struct {
	Distance string
	GroupBy  []string
}

func (f *evalRowFn) ProcessElement(e schema.Embedding, emit func(metrics.Row), reject func(schema.Reject)) {
	r := MetricRow(&e, f.GroupBy)
	if why := metrics.CheckRow(&r, metrics.Distance(f.Distance)); why != "" {
		reject(schema.Reject{SongID: e.SongID, Stage: schema.StageEvaluate, Reason: why})
		return
	}
	emit(r)
}

// evalRows is the catalog gathered as flat slices (a Beam accumulator:
// exported flat slices only).
type evalRows struct {
	SongIDs, WorkIDs, Models, Reducers, Files []string
	Dims                                      []int32
	Vecs                                      []float32
	Groups                                    []string
	NGroups                                   int
}

type collectRowsFn struct{}

func (collectRowsFn) CreateAccumulator() evalRows { return evalRows{} }

func (collectRowsFn) AddInput(a evalRows, r metrics.Row) evalRows {
	a.SongIDs = append(a.SongIDs, r.SongID)
	a.WorkIDs = append(a.WorkIDs, r.WorkID)
	a.Models = append(a.Models, r.Model)
	a.Reducers = append(a.Reducers, r.Reducer)
	a.Files = append(a.Files, r.File)
	a.Dims = append(a.Dims, int32(len(r.Embedding)))
	a.Vecs = append(a.Vecs, r.Embedding...)
	a.Groups = append(a.Groups, r.GroupValues...)
	a.NGroups = len(r.GroupValues)
	return a
}

func (collectRowsFn) MergeAccumulators(a, b evalRows) evalRows {
	if len(a.SongIDs) == 0 {
		return b
	}
	a.SongIDs = append(a.SongIDs, b.SongIDs...)
	a.WorkIDs = append(a.WorkIDs, b.WorkIDs...)
	a.Models = append(a.Models, b.Models...)
	a.Reducers = append(a.Reducers, b.Reducers...)
	a.Files = append(a.Files, b.Files...)
	a.Dims = append(a.Dims, b.Dims...)
	a.Vecs = append(a.Vecs, b.Vecs...)
	a.Groups = append(a.Groups, b.Groups...)
	if b.NGroups > 0 {
		a.NGroups = b.NGroups
	}
	return a
}

// buildCatalogFn validates and prepares the gathered rows.
type buildCatalogFn struct {
	Distance string
	GroupBy  []string
}

func (f *buildCatalogFn) ProcessElement(a evalRows, emit func(metrics.Catalog), reject func(schema.Reject)) error {
	rows := make([]metrics.Row, len(a.SongIDs))
	off := 0
	g := len(f.GroupBy)
	for i := range rows {
		d := int(a.Dims[i])
		rows[i] = metrics.Row{SongID: a.SongIDs[i], WorkID: a.WorkIDs[i], Model: a.Models[i], Reducer: a.Reducers[i],
			File: a.Files[i], Embedding: a.Vecs[off : off+d : off+d], GroupValues: make([]string, g)}
		if g > 0 {
			copy(rows[i].GroupValues, a.Groups[i*g:(i+1)*g])
		}
		off += d
	}
	cat, rejects, err := metrics.NewCatalog(rows, metrics.Distance(f.Distance), f.GroupBy)
	if err != nil {
		return fmt.Errorf("transforms: Evaluate: %w", err)
	}
	for _, r := range rejects {
		reject(RejectRow(r))
	}
	emit(*cat)
	return nil
}

// blockPair is one (query block, catalog block) element.
type blockPair struct {
	QLo, QHi, CLo, CHi int
}

type blockPairsFn struct {
	Queries, Catalog int
}

func (f *blockPairsFn) ProcessElement(cat metrics.Catalog, emit func(blockPair)) {
	n := cat.Len()
	for q := 0; q < n; q += f.Queries {
		for c := 0; c < n; c += f.Catalog {
			emit(blockPair{QLo: q, QHi: min(q+f.Queries, n), CLo: c, CHi: min(c+f.Catalog, n)})
		}
	}
}

// rankCounts are a query's partial rank counts (metrics.PartialCounts).
type rankCounts struct {
	Counts []int64
}

// countRanksFn computes the partial counts of one block pair, with
// goroutines over its query block (prism runs a stage's elements in one
// bundle: parallelism comes from inside the DoFn).
type countRanksFn struct {
	Distance                   string
	BlockQueries, BlockCatalog int
	Workers                    int

	cat *metrics.Catalog // the decoded side input, kept for the instance's life
}

// catalogOf decodes the catalog side input once per DoFn instance: a
// singleton side input taken by value would be decoded again for every
// element (≈100 MB at 100,000 × 256). The catalog is one singleton in the
// global window, the same for every bundle.
func catalogOf(cache **metrics.Catalog, side func(*metrics.Catalog) bool) (*metrics.Catalog, error) {
	if *cache == nil {
		var c metrics.Catalog
		if !side(&c) {
			return nil, fmt.Errorf("transforms: Evaluate: no catalog side input")
		}
		*cache = &c
	}
	return *cache, nil
}

func (f *countRanksFn) ProcessElement(ctx context.Context, p blockPair, side func(*metrics.Catalog) bool, emit func(int64, rankCounts)) error {
	cat, err := catalogOf(&f.cat, side)
	if err != nil {
		return err
	}
	evalBlockPairs.Inc(ctx, 1)
	dst := make([][]int64, p.QHi-p.QLo)
	for q := p.QLo; q < p.QHi; q++ {
		if m := cat.NumVersions(q); m > 0 {
			dst[q-p.QLo] = make([]int64, m)
		}
	}
	cfg := metrics.Config{Distance: metrics.Distance(f.Distance), BlockQueries: f.BlockQueries, BlockCatalog: f.BlockCatalog, Workers: f.Workers}
	cat.PartialCounts(p.QLo, p.QHi, p.CLo, p.CHi, cfg, dst)
	for i, c := range dst {
		if c != nil {
			emit(int64(p.QLo+i), rankCounts{Counts: c})
		}
	}
	return nil
}

// sumCountsFn sums partial counts element-wise.
type sumCountsFn struct{}

func (sumCountsFn) MergeAccumulators(a, b rankCounts) rankCounts {
	if len(a.Counts) != len(b.Counts) {
		panic(fmt.Sprintf("transforms: partial rank counts of lengths %d and %d", len(a.Counts), len(b.Counts)))
	}
	out := rankCounts{Counts: make([]int64, len(a.Counts))}
	for i := range a.Counts {
		out.Counts[i] = a.Counts[i] + b.Counts[i]
	}
	return out
}

type queryResultFn struct {
	cat *metrics.Catalog
}

func (f *queryResultFn) ProcessElement(ctx context.Context, q int64, c rankCounts, side func(*metrics.Catalog) bool, emit func(metrics.QueryResult)) error {
	cat, err := catalogOf(&f.cat, side)
	if err != nil {
		return err
	}
	if q < 0 || int(q) >= cat.Len() || cat.NumVersions(int(q)) != len(c.Counts) {
		return fmt.Errorf("transforms: Evaluate: counts of query %d do not fit the catalog", q)
	}
	evalQueries.Inc(ctx, 1)
	emit(cat.Result(int(q), c.Counts))
	return nil
}

// noVersionsFn emits the results of the queries without versions (which
// get no counts).
type noVersionsFn struct{}

func (f *noVersionsFn) ProcessElement(cat metrics.Catalog, emit func(metrics.QueryResult)) {
	for q := 0; q < cat.Len(); q++ {
		if cat.NumVersions(q) == 0 {
			emit(cat.Result(q, nil))
		}
	}
}

func sortResults(r []metrics.QueryResult) {
	sort.Slice(r, func(i, j int) bool { return r[i].SongID < r[j].SongID })
}
