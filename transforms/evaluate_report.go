package transforms

import (
	"cmp"
	"context"
	"reflect"
	"slices"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/vindex/vindex/model/metrics"
	"github.com/vindex/vindex/schema"
	"github.com/vindex/vindex/storage"
)

func init() {
	beam.RegisterType(reflect.TypeOf((*queryRows)(nil)).Elem())
	beam.RegisterType(reflect.TypeOf((*evalInfo)(nil)).Elem())
	beam.RegisterType(reflect.TypeOf((*dropCatalogFn)(nil)).Elem())
	beam.RegisterType(reflect.TypeOf((*collectQueriesFn)(nil)).Elem())
	beam.RegisterType(reflect.TypeOf((*evalInfoFn)(nil)).Elem())
	beam.RegisterType(reflect.TypeOf((*writeReportFn)(nil)).Elem())
	register.Iter1[schema.Reject]()
	register.Emitter1[evalInfo]()
	register.Emitter1[string]()
}

// WriteEvaluationReport gathers the per-query results (PCollection<metrics.QueryResult>)
// and rejects (PCollection<schema.Reject>) of Evaluate and writes, into the
// local folder dir, report.json, report.md, the PNG plots and
// queries.parquet. It returns a singleton PCollection<string>: the path of
// report.json. The per-query rows (~100 bytes each) are gathered on one
// worker: fine for millions of songs.
func WriteEvaluationReport(s beam.Scope, dir string, results, rejects, catalog beam.PCollection) beam.PCollection {
	s = s.Scope("transforms.WriteEvaluationReport")
	rows := beam.Combine(s, &collectQueriesFn{}, results)
	info := beam.ParDo(s, &evalInfoFn{}, catalog)
	report := beam.ParDo(s, &writeReportFn{Dir: dir}, rows, beam.SideInput{Input: info}, beam.SideInput{Input: rejects})
	return beam.ParDo(s, &dropCatalogFn{}, report, beam.SideInput{Input: catalog})
}

// dropCatalogFn removes the catalog's block files once the report is
// written, and passes the report's path on.
type dropCatalogFn struct{}

func (dropCatalogFn) ProcessElement(ctx context.Context, report string, info catalogInfo, emit func(string)) error {
	if err := dropCatalog(ctx, info); err != nil {
		return err
	}
	emit(report)
	return nil
}

// queryRows holds QueryResults as flat slices (a Beam accumulator).
type queryRows struct {
	SongIDs, WorkIDs         []string
	Versions, FirstRank, Top []int32
	AP                       []float64
	Groups                   []string
	NGroups                  int
}

type collectQueriesFn struct{}

func (collectQueriesFn) CreateAccumulator() queryRows { return queryRows{} }

func (collectQueriesFn) AddInput(a queryRows, q metrics.QueryResult) queryRows {
	a.SongIDs = append(a.SongIDs, q.SongID)
	a.WorkIDs = append(a.WorkIDs, q.WorkID)
	a.Versions = append(a.Versions, q.Versions)
	a.FirstRank = append(a.FirstRank, q.FirstRank)
	a.Top = append(a.Top, q.Top10)
	a.AP = append(a.AP, q.AP)
	a.Groups = append(a.Groups, q.Groups...)
	a.NGroups = len(q.Groups)
	return a
}

func (collectQueriesFn) MergeAccumulators(a, b queryRows) queryRows {
	if len(a.SongIDs) == 0 {
		return b
	}
	a.SongIDs = append(a.SongIDs, b.SongIDs...)
	a.WorkIDs = append(a.WorkIDs, b.WorkIDs...)
	a.Versions = append(a.Versions, b.Versions...)
	a.FirstRank = append(a.FirstRank, b.FirstRank...)
	a.Top = append(a.Top, b.Top...)
	a.AP = append(a.AP, b.AP...)
	a.Groups = append(a.Groups, b.Groups...)
	if b.NGroups > 0 {
		a.NGroups = b.NGroups
	}
	return a
}

func (a *queryRows) results() []metrics.QueryResult {
	out := make([]metrics.QueryResult, len(a.SongIDs))
	for i := range out {
		out[i] = metrics.QueryResult{SongID: a.SongIDs[i], WorkID: a.WorkIDs[i], Versions: a.Versions[i],
			FirstRank: a.FirstRank[i], Top10: a.Top[i], AP: a.AP[i]}
		if g := a.NGroups; g > 0 {
			out[i].Groups = a.Groups[i*g : (i+1)*g : (i+1)*g]
		}
	}
	return out
}

// evalInfo is what the report needs of the catalog (not its vectors).
type evalInfo struct {
	Distance, Model, Reducer string
	Dim                      int
	GroupBy                  []string
}

type evalInfoFn struct{}

func (evalInfoFn) ProcessElement(c catalogInfo, emit func(evalInfo)) {
	emit(evalInfo{Distance: c.Distance, Model: c.Model, Reducer: c.Reducer, Dim: c.Dim, GroupBy: c.GroupBy})
}

type writeReportFn struct {
	Dir string
}

// ProcessElement writes the report. The rejects come as an iterable side
// input: a global Combine of an empty PCollection yields no value at all.
func (f *writeReportFn) ProcessElement(ctx context.Context, rows queryRows, info evalInfo, nextReject func(*schema.Reject) bool, emit func(string)) error {
	results := rows.results()
	// Catalog order, as metrics.Evaluate returns them.
	sortResults(results)
	var rejects []metrics.Reject
	var r schema.Reject
	for nextReject(&r) {
		rejects = append(rejects, metrics.Reject{SongID: r.SongID, File: r.File, Stage: r.Stage, Reason: r.Reason})
	}
	// A side input's order is the runner's: sort, so that reports are reproducible.
	slices.SortFunc(rejects, func(a, b metrics.Reject) int {
		return cmp.Or(cmp.Compare(a.SongID, b.SongID), cmp.Compare(a.File, b.File), cmp.Compare(a.Stage, b.Stage), cmp.Compare(a.Reason, b.Reason))
	})
	rep := metrics.Summarize(results, metrics.Info{Distance: metrics.Distance(info.Distance), Model: info.Model,
		Reducer: info.Reducer, Dim: info.Dim, GroupBy: info.GroupBy, Rejects: rejects})
	if err := WriteReport(ctx, f.Dir, rep, info.GroupBy); err != nil {
		return err
	}
	emit(storage.Join(f.Dir, ReportFile))
	return nil
}
