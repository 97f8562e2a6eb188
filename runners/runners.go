package runners

import (
	"context"
	"fmt"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/runners/prism"
)

// Options selects a runner and carries its settings.
type Options struct {
	// Runner is "prism" (default), "direct", "flink" or "dataflow".
	Runner string
}

// Validate reports whether the options name a runner this package can use.
func (o Options) Validate() error {
	switch o.Runner {
	case "", "prism":
		return nil
	}
	return fmt.Errorf("runners: unknown runner %q (want prism, direct, flink or dataflow)", o.Runner)
}

// Run executes p on the runner the options select and returns its result,
// whose Metrics hold the pipeline's counters.
func Run(ctx context.Context, p *beam.Pipeline, o Options) (beam.PipelineResult, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	return prism.Execute(ctx, p)
}
