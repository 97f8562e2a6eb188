package runners

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/metrics"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/options/jobopts"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/runners/dataflow"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/runners/direct"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/runners/flink"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/runners/prism"
)

// ErrNotInitialized is returned by Run when beam.Init has not been called:
// the portable runners need it to tell a submitting process from a worker.
var ErrNotInitialized = errors.New("runners: beam.Init() was not called before Run")

// globals guards Beam's global option flags (jobopts, gcpopts, dataflow),
// which Beam's runners read and which Run sets from Options. Prism and direct
// runs share it for reading; flink and dataflow runs hold it exclusively
// while they set the flags, run, and put the old values back.
var globals sync.RWMutex

// Run executes p on the runner o selects and waits for it to finish.
//
// While the pipeline runs, and if o.Progress is not nil, Run prints a
// progress line every o.ProgressInterval from the process-wide tally that
// the transforms package's counters bump (see Progress for what it can and
// cannot see), and at the end the counter summary (Result.Summary).
//
// When the job fails Run returns the error and, if the runner gave one, the
// result (its counters may say how far the job got); otherwise nil.
// A dry run (o.DryRun, any runner) prints the job graph to o.DryRunOut
// (for Dataflow also the job Beam translates offline), runs nothing and
// returns a Result with no counters and JobID "dry-run".
// Concurrent flink and dataflow runs in one process are serialised.
func Run(ctx context.Context, p *beam.Pipeline, o Options) (*Result, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	if !beam.Initialized() {
		return nil, ErrNotInitialized
	}
	if o.DryRun {
		if err := dryRun(ctx, p, o); err != nil {
			return nil, fmt.Errorf("runners: %s dry run: %w", o.runner(), err)
		}
		return &Result{PipelineResult: dryRunResult{}, Runner: o.runner(), counters: map[string]int64{}}, nil
	}
	start := time.Now()
	pr := startProgress(o, start)
	res, err := execute(ctx, p, o)
	pr.stop()
	r := newResult(o.runner(), res, time.Since(start))
	if o.Progress != nil && (err == nil || res != nil) {
		fmt.Fprint(o.Progress, r.Summary())
	}
	if err != nil {
		if res == nil {
			r = nil
		}
		return r, fmt.Errorf("runners: %s: %w", o.runner(), err)
	}
	return r, nil
}

func execute(ctx context.Context, p *beam.Pipeline, o Options) (beam.PipelineResult, error) {
	switch o.runner() {
	case Prism:
		return runPrism(ctx, p)
	case Direct:
		globals.RLock()
		defer globals.RUnlock()
		return direct.Execute(ctx, p)
	case Flink:
		globals.Lock()
		defer globals.Unlock()
		restore, err := setFlags(flinkFlags(o))
		defer restore()
		if err != nil {
			return nil, err
		}
		return flink.Execute(ctx, p)
	case Dataflow:
		globals.Lock()
		defer globals.Unlock()
		restore, err := setFlags(dataflowFlags(o))
		defer restore()
		if err != nil {
			return nil, err
		}
		return dataflow.Execute(ctx, p)
	}
	panic("runners: execute called with unvalidated runner " + o.Runner)
}

// runPrism runs p on the embedded prism runner. The first prism run of the
// process starts prism's in-process job server and stores its address in
// jobopts.Endpoint, so it holds globals exclusively; later runs share it.
func runPrism(ctx context.Context, p *beam.Pipeline) (beam.PipelineResult, error) {
	globals.Lock()
	if *jobopts.Endpoint == "" {
		defer globals.Unlock()
		return prism.Execute(ctx, p)
	}
	globals.Unlock()
	globals.RLock()
	defer globals.RUnlock()
	return prism.Execute(ctx, p)
}

// flag names Beam's runners read, with the values o gives them.
func flinkFlags(o Options) map[string]string {
	env := o.environmentType()
	cfg := o.EnvironmentConfig
	if env == Docker && cfg == "" {
		cfg = DefaultSDKImage
	}
	return map[string]string{
		"endpoint":           o.Endpoint,
		"environment_type":   env,
		"environment_config": cfg,
		"job_name":           o.JobName,
		"worker_binary":      o.WorkerBinary,
	}
}

func dataflowFlags(o Options) map[string]string {
	image := o.WorkerImage
	if image == "" {
		image = DefaultSDKImage
	}
	temp := o.TempLocation
	if temp == "" {
		temp = o.StagingLocation + "/tmp"
	}
	return map[string]string{
		"endpoint":            "",
		"environment_type":    "DOCKER",
		"environment_config":  "",
		"project":             o.Project,
		"region":              o.Region,
		"staging_location":    o.StagingLocation,
		"temp_location":       temp,
		"sdk_container_image": image,
		"worker_binary":       o.WorkerBinary,
		"num_workers":         strconv.Itoa(o.NumWorkers),
		"max_num_workers":     strconv.Itoa(o.MaxNumWorkers),
		"worker_machine_type": o.WorkerMachineType,
		"dry_run":             strconv.FormatBool(o.DryRun),
		"job_name":            o.JobName,
	}
}

// setFlags sets Beam's global flags and returns a function that puts the
// previous values back. Flags are set through the flag package because some
// (dataflow's) are unexported variables.
func setFlags(values map[string]string) (restore func(), err error) {
	old := make(map[string]string, len(values))
	restore = func() {
		for name, v := range old {
			// Setting a value a flag printed itself cannot fail.
			_ = flag.Set(name, v)
		}
	}
	for name, v := range values {
		f := flag.Lookup(name)
		if f == nil {
			return restore, fmt.Errorf("runners: Beam flag --%s not registered (Beam version changed?)", name)
		}
		old[name] = f.Value.String()
		if err := flag.Set(name, v); err != nil {
			return restore, fmt.Errorf("runners: setting --%s=%q: %w", name, v, err)
		}
	}
	return restore, nil
}

// dryRunResult stands in for the result a dry run does not return.
type dryRunResult struct{}

func (dryRunResult) Metrics() metrics.Results { return metrics.Results{} }
func (dryRunResult) JobID() string            { return "dry-run" }
