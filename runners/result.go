package runners

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/metrics"
)

// Result is a finished pipeline run: Beam's result (embedded, so a *Result
// is itself a beam.PipelineResult) and the run's user counters summed over
// the steps that bumped them.
type Result struct {
	beam.PipelineResult
	// Runner is the runner's name ("prism", "direct", "flink", "dataflow").
	Runner string
	// Elapsed is the wall time from submission to the end of the run.
	Elapsed time.Duration

	counters map[string]int64
}

func newResult(runner string, res beam.PipelineResult, elapsed time.Duration) *Result {
	r := &Result{PipelineResult: res, Runner: runner, Elapsed: elapsed, counters: map[string]int64{}}
	if res == nil {
		return r
	}
	if m, ok := metricsOf(res); ok {
		for _, c := range m.AllMetrics().Counters() {
			r.counters[c.Namespace()+"."+c.Name()] += c.Result()
		}
	}
	return r
}

// metricsOf returns res's metrics, or false when it has none: a portable
// (flink) run that failed or was cancelled before its metrics were fetched
// returns a result whose Metrics method dereferences a nil pointer (Beam Go
// 2.77.0, runnerlib.universalPipelineResult).
func metricsOf(res beam.PipelineResult) (m metrics.Results, ok bool) {
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	return res.Metrics(), true
}

// Counter returns the value of the counter name, "namespace.name" (for
// example "vindex.songs_read"), summed over the steps that bumped it; a name
// without a namespace matches that name in any namespace. An unknown
// counter is 0.
func (r *Result) Counter(name string) int64 {
	if v, ok := r.counters[name]; ok {
		return v
	}
	var sum int64
	for k, v := range r.counters {
		if _, n, _ := strings.Cut(k, "."); n == name && !strings.Contains(name, ".") {
			sum += v
		}
	}
	return sum
}

// Counters returns a copy of all user counters by "namespace.name".
func (r *Result) Counters() map[string]int64 {
	m := make(map[string]int64, len(r.counters))
	for k, v := range r.counters {
		m[k] = v
	}
	return m
}

// Summary returns a printable table of the run's counters, sorted by name,
// headed by the runner, job id and elapsed time.
func (r *Result) Summary() string {
	var b strings.Builder
	job := ""
	if r.PipelineResult != nil && r.JobID() != "" {
		job = " job " + r.JobID() + ","
	}
	fmt.Fprintf(&b, "counters (runner %s,%s %s):\n", r.Runner, job, r.Elapsed.Round(time.Millisecond))
	if len(r.counters) == 0 {
		b.WriteString("  (none)\n")
		return b.String()
	}
	names := make([]string, 0, len(r.counters))
	for k := range r.counters {
		names = append(names, k)
	}
	sort.Strings(names)
	width := 0
	for _, k := range names {
		width = max(width, len(k))
	}
	for _, k := range names {
		fmt.Fprintf(&b, "  %-*s %12d\n", width, k, r.counters[k])
	}
	return b.String()
}
