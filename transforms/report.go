package transforms

import (
	"context"
	"fmt"
	"io"
	"reflect"
	"strings"

	"github.com/vindex/vindex/model/metrics"
	"github.com/vindex/vindex/model/metrics/plot"
	"github.com/vindex/vindex/schema"
	"github.com/vindex/vindex/storage"
)

// The files of an evaluation report folder.
const (
	ReportFile   = "report.json"
	MarkdownFile = "report.md"
	// QueriesFile is the per-query drill-down (metrics.QueryResult rows).
	QueriesFile = "queries.parquet"
)

// QuerySchemaVersion is the schema version of the per-query Parquet rows.
const QuerySchemaVersion = "vindex.query/v1"

// maxReportBytes bounds a report.json read back.
const maxReportBytes = 256 << 20

// WriteReport publishes rep into dir: report.json, report.md, the per-query
// Parquet (rep.Queries) and the three plots, each atomically (storage).
func WriteReport(ctx context.Context, dir string, rep *metrics.Report, groupBy []string) error {
	for _, f := range []struct {
		name  string
		write func(io.Writer) error
	}{{ReportFile, rep.WriteJSON}, {MarkdownFile, rep.WriteMarkdown}} {
		if err := storage.WriteTo(ctx, storage.Join(dir, f.name), f.write); err != nil {
			return fmt.Errorf("transforms: %w", err)
		}
	}
	if err := WriteQueries(storage.Join(dir, QueriesFile), rep.Queries, groupBy); err != nil {
		return err
	}
	figs, err := plot.Draw(rep)
	if err != nil {
		return fmt.Errorf("transforms: %w", err)
	}
	for _, f := range figs {
		if err := storage.WriteFile(ctx, storage.Join(dir, f.Name), f.PNG); err != nil {
			return fmt.Errorf("transforms: %w", err)
		}
	}
	return nil
}

// ReadReport reads a report.json at uri.
func ReadReport(ctx context.Context, uri string) (*metrics.Report, error) {
	b, err := storage.ReadFile(ctx, uri, maxReportBytes)
	if err != nil {
		return nil, fmt.Errorf("transforms: %w", err)
	}
	r, err := metrics.ParseReport(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", uri, err)
	}
	return r, nil
}

// WriteQueries publishes the per-query results (metrics.QueryResult rows:
// song_id, work_id, versions, first_rank, ap, top10, groups) as a Parquet
// file at uri.
func WriteQueries(uri string, results []metrics.QueryResult, groupBy []string) error {
	meta := map[string]string{"vindex.group_by": strings.Join(groupBy, ",")}
	w, err := schema.CreateFile(uri, reflect.TypeFor[metrics.QueryResult](), QuerySchemaVersion, schema.WriterOptions{Metadata: meta})
	if err != nil {
		return fmt.Errorf("transforms: %w", err)
	}
	for i := range results {
		if err := w.Write(&results[i]); err != nil {
			w.Abort()
			return fmt.Errorf("transforms: %s: %w", uri, err)
		}
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("transforms: %s: %w", uri, err)
	}
	return nil
}
