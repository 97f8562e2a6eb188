package runners

import (
	"context"
	"testing"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/passert"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/transforms/stats"
)

func TestMain(m *testing.M) {
	ptest.MainWithDefault(m, "prism")
}

func TestRunPrism(t *testing.T) {
	p, s := beam.NewPipelineWithRoot()
	sum := stats.Sum(s, beam.Create(s, 1, 2, 3, 4))
	passert.Equals(s, sum, 10)
	if _, err := Run(context.Background(), p, Options{}); err != nil {
		t.Fatal(err)
	}
}

func TestRunUnknownRunner(t *testing.T) {
	p, _ := beam.NewPipelineWithRoot()
	if _, err := Run(context.Background(), p, Options{Runner: "spark"}); err == nil {
		t.Fatal("Run with runner spark: want an error, got nil")
	}
}

// noMetricsResult is what a failed portable run returns: its Metrics
// method dereferences a nil pointer.
type noMetricsResult struct{ beam.PipelineResult }

func (noMetricsResult) JobID() string { return "failed-job" }

func TestResultOfRunWithoutMetrics(t *testing.T) {
	r := newResult(Flink, noMetricsResult{}, 0)
	if r.Counter("vindex.songs_read") != 0 || len(r.Counters()) != 0 {
		t.Errorf("counters of a run without metrics: %v", r.Counters())
	}
}
