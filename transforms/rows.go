package transforms

import (
	"fmt"
	"strconv"

	"github.com/vindex/vindex/model/metrics"
	"github.com/vindex/vindex/model/search"
	"github.com/vindex/vindex/schema"
)

// This file turns schema rows into the inputs of the numeric packages
// (model/metrics, model/search) and their results back into rows: those
// packages know nothing of Parquet.

// MetricRow projects an embedding row for model/metrics, extracting the
// group-by columns (GroupValue) in groupBy's order.
func MetricRow(e *schema.Embedding, groupBy []string) metrics.Row {
	r := metrics.Row{SongID: e.SongID, WorkID: e.WorkID, Embedding: e.Embedding, Model: e.Model, Reducer: e.Reducer, File: e.File}
	if len(groupBy) > 0 {
		r.GroupValues = make([]string, len(groupBy))
		for i, g := range groupBy {
			r.GroupValues[i] = GroupValue(e, g)
		}
	}
	return r
}

// MetricRows projects embedding rows for metrics.Evaluate.
func MetricRows(embs []schema.Embedding, groupBy []string) []metrics.Row {
	rows := make([]metrics.Row, len(embs))
	for i := range embs {
		rows[i] = MetricRow(&embs[i], groupBy)
	}
	return rows
}

// GroupValue is the value of column col of e as a group key; "" when unset.
func GroupValue(e *schema.Embedding, col string) string {
	switch col {
	case "year":
		if e.Year == 0 {
			return ""
		}
		return strconv.Itoa(int(e.Year))
	case "instrumental":
		return e.Instrumental
	case "artist":
		return e.Artist
	case "title":
		return e.Title
	case "duration_s":
		if e.DurationS == 0 {
			return ""
		}
		// 60-second buckets: a duration is continuous.
		b := int(e.DurationS) / 60 * 60
		return fmt.Sprintf("%d-%ds", b, b+60)
	case "model":
		return e.Model
	case "reducer":
		return e.Reducer
	}
	return e.Extra[col]
}

// RejectRow is a metrics reject as a schema.Reject row.
func RejectRow(r metrics.Reject) schema.Reject {
	return schema.Reject{SongID: r.SongID, File: r.File, Stage: r.Stage, Reason: r.Reason}
}

// SearchMatrix gathers embedding rows (one model, one dimension) into a
// search.Matrix, keeping ids, work ids, titles and artists.
func SearchMatrix(embs []schema.Embedding) (*search.Matrix, error) {
	if len(embs) == 0 {
		return nil, fmt.Errorf("transforms: no embeddings")
	}
	m := search.NewMatrix(len(embs[0].Embedding), len(embs))
	for i := range embs {
		e := &embs[i]
		if err := m.Append(e.SongID, e.WorkID, e.Title, e.Artist, e.Embedding); err != nil {
			return nil, fmt.Errorf("transforms: %w (song %q has %d values, song %q has %d)", err, e.SongID, len(e.Embedding), embs[0].SongID, m.Dim)
		}
	}
	return m, nil
}
