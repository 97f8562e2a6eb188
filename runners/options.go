package runners

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// Runner names accepted in Options.Runner.
const (
	Prism    = "prism"
	Direct   = "direct"
	Flink    = "flink"
	Dataflow = "dataflow"
)

// Environment types for the flink runner (Options.EnvironmentType).
const (
	// Loopback runs the SDK harness inside the submitting process: the
	// default for flink, and only usable when the Flink task managers can
	// reach this process (a local job server with --flink-master=[local]).
	Loopback = "LOOPBACK"
	// Docker starts the SDK harness container EnvironmentConfig (default
	// DefaultSDKImage) on every task manager.
	Docker = "DOCKER"
	// External uses a worker pool already running at EnvironmentConfig
	// (host:port), e.g. a Beam Go worker-pool side car next to each task
	// manager.
	External = "EXTERNAL"
)

// DefaultSDKImage is the Beam Go SDK harness image matching the SDK in go.mod,
// used for Flink DOCKER environments and as the Dataflow worker image when
// none is given.
const DefaultSDKImage = "apache/beam_go_sdk:2.77.0"

// DefaultProgressInterval is how often Run prints a progress line when
// Options.ProgressInterval is zero.
const DefaultProgressInterval = 5 * time.Second

// ErrOptions is wrapped by every error Options.Validate returns.
var ErrOptions = errors.New("invalid runner options")

// Options selects a runner and carries its settings. The zero value runs on
// prism. Runner-specific fields are ignored by the other runners, except
// that Validate rejects fields that only make sense elsewhere when they are
// clearly a mistake (e.g. Endpoint for prism).
type Options struct {
	// Runner is "prism" (default), "direct", "flink" or "dataflow".
	Runner string

	// Endpoint is the flink job server's job port, e.g. localhost:8099.
	Endpoint string
	// EnvironmentType is LOOPBACK (default for flink), DOCKER or EXTERNAL.
	EnvironmentType string
	// EnvironmentConfig is the docker image (DOCKER; default DefaultSDKImage)
	// or the worker pool address (EXTERNAL; required).
	EnvironmentConfig string

	// Project, Region and StagingLocation (gs://bucket/path) are required
	// for dataflow; TempLocation defaults to StagingLocation/tmp.
	Project, Region, StagingLocation, TempLocation string
	// WorkerImage is the SDK container image Dataflow workers run
	// (default DefaultSDKImage).
	WorkerImage string
	// WorkerBinary is a linux/amd64 build of the submitting program used as
	// the worker (dataflow; flink DOCKER/EXTERNAL). Empty: Beam cross-compiles
	// the running program's main package (GOOS=linux GOARCH=amd64), which
	// needs the Go toolchain and takes a couple of minutes.
	WorkerBinary string
	// NumWorkers and MaxNumWorkers size the Dataflow job (0: Dataflow's
	// default); WorkerMachineType is a GCE machine type, e.g. n2-standard-4.
	NumWorkers, MaxNumWorkers int
	WorkerMachineType         string
	// DryRun prints the job graph (and for dataflow the translated job,
	// offline) to DryRunOut and runs nothing, on every runner.
	DryRun    bool
	DryRunOut io.Writer

	// JobName names the job on flink and dataflow (default: generated).
	// Dataflow requires [a-z]([-a-z0-9]*[a-z0-9])?.
	JobName string

	// Progress receives a progress line every ProgressInterval while the
	// pipeline runs, and the counter summary when it ends. nil: silent.
	Progress io.Writer
	// ProgressInterval is the time between progress lines
	// (0: DefaultProgressInterval).
	ProgressInterval time.Duration
	// Expected is the number of songs the pipeline will process, used to
	// estimate the time left (0: unknown, no estimate).
	Expected int64
}

// Validate reports whether the options name a runner this package can use
// with the settings that runner needs. Errors wrap ErrOptions and name the
// field at fault.
func (o Options) Validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("runners: %w: %s", ErrOptions, fmt.Sprintf(format, args...))
	}
	if o.NumWorkers < 0 || o.MaxNumWorkers < 0 {
		return bad("negative worker count (num workers %d, max %d)", o.NumWorkers, o.MaxNumWorkers)
	}
	if o.Expected < 0 {
		return bad("negative expected song count %d", o.Expected)
	}
	if o.ProgressInterval < 0 {
		return bad("negative progress interval %v", o.ProgressInterval)
	}
	switch o.runner() {
	case Prism, Direct:
		if o.Endpoint != "" {
			return bad("endpoint %q is only for the flink runner (runner is %s)", o.Endpoint, o.runner())
		}
		if o.EnvironmentType != "" {
			return bad("environment type %q is only for the flink runner (runner is %s)", o.EnvironmentType, o.runner())
		}
		return nil
	case Flink:
		if o.Endpoint == "" {
			return bad("runner flink needs the job server endpoint, e.g. localhost:8099")
		}
		switch o.environmentType() {
		case Loopback, Docker:
		case External:
			if o.EnvironmentConfig == "" {
				return bad("environment EXTERNAL needs the worker pool address (environment config), e.g. localhost:50000")
			}
		default:
			return bad("unknown environment type %q (want LOOPBACK, DOCKER or EXTERNAL)", o.EnvironmentType)
		}
		return nil
	case Dataflow:
		switch {
		case o.Project == "":
			return bad("runner dataflow needs a Google Cloud project")
		case o.Region == "":
			return bad("runner dataflow needs a region, e.g. us-central1")
		case !strings.HasPrefix(o.StagingLocation, "gs://"):
			return bad("runner dataflow needs a staging location gs://bucket/path, got %q", o.StagingLocation)
		case o.TempLocation != "" && !strings.HasPrefix(o.TempLocation, "gs://"):
			return bad("temp location must be gs://bucket/path, got %q", o.TempLocation)
		case o.MaxNumWorkers != 0 && o.MaxNumWorkers < o.NumWorkers:
			return bad("max workers %d below workers %d", o.MaxNumWorkers, o.NumWorkers)
		case o.JobName != "" && !validDataflowJobName(o.JobName):
			return bad("dataflow job name %q must match [a-z]([-a-z0-9]*[a-z0-9])?", o.JobName)
		case o.EnvironmentType != "" || o.Endpoint != "":
			return bad("endpoint and environment type are only for the flink runner")
		}
		return nil
	}
	return bad("unknown runner %q (want prism, direct, flink or dataflow)", o.Runner)
}

// runner returns the runner's canonical name ("" means prism).
func (o Options) runner() string {
	r := strings.ToLower(o.Runner)
	if r == "" {
		return Prism
	}
	return r
}

// environmentType returns the canonical environment type (LOOPBACK when unset).
func (o Options) environmentType() string {
	if o.EnvironmentType == "" {
		return Loopback
	}
	return strings.ToUpper(o.EnvironmentType)
}

// inProcess reports whether the pipeline's DoFns run in this process, so
// that the process-wide progress tally sees them.
func (o Options) inProcess() bool {
	switch o.runner() {
	case Prism, Direct:
		return true
	case Flink:
		return o.environmentType() == Loopback
	}
	return false
}

func validDataflowJobName(s string) bool {
	for i, c := range s {
		switch {
		case c >= 'a' && c <= 'z':
		case (c >= '0' && c <= '9') || c == '-':
			if i == 0 {
				return false
			}
		default:
			return false
		}
	}
	return s != "" && s[len(s)-1] != '-'
}
