package main

import (
	"flag"
	"io"
	"os"
	"strings"

	"github.com/vindex/vindex/runners"
	"github.com/vindex/vindex/schema"
)

// runnerFlags are the flags every pipeline command takes to choose and
// configure its Beam runner.
type runnerFlags struct {
	runner, endpoint, envType, envConfig          string
	project, region, staging, temp, image, binary string
	numWorkers, maxWorkers                        int
	machineType, jobName                          string
	dryRun, quiet                                 bool
}

// isRunnerFlag reports whether name is one of addRunnerFlags' Beam flags
// (printed in a section of their own; --quiet is vindex's).
func isRunnerFlag(name string) bool {
	switch name {
	case "runner", "endpoint", "environment_type", "environment_config", "project", "region",
		"staging_location", "temp_location", "worker_image", "worker_binary", "num_workers",
		"max_num_workers", "worker_machine_type", "job_name", "dry_run":
		return true
	}
	return false
}

func addRunnerFlags(fs *flag.FlagSet) *runnerFlags {
	r := &runnerFlags{}
	fs.StringVar(&r.runner, "runner", "prism", "Beam runner: prism (embedded, default), direct, flink or dataflow")
	fs.StringVar(&r.endpoint, "endpoint", "", "flink: job server address, e.g. localhost:8099")
	fs.StringVar(&r.envType, "environment_type", "", "flink: LOOPBACK (local job server, default), DOCKER or EXTERNAL (cluster)")
	fs.StringVar(&r.envConfig, "environment_config", "", "flink: the SDK container image (DOCKER) or worker pool address (EXTERNAL)")
	fs.StringVar(&r.project, "project", "", "dataflow: Google Cloud project")
	fs.StringVar(&r.region, "region", "", "dataflow: region, e.g. europe-west1")
	fs.StringVar(&r.staging, "staging_location", "", "dataflow: gs:// folder for staged binaries")
	fs.StringVar(&r.temp, "temp_location", "", "dataflow: gs:// folder for temporary files")
	fs.StringVar(&r.image, "worker_image", "", "dataflow/flink: SDK container image for workers")
	fs.StringVar(&r.binary, "worker_binary", "", "dataflow/flink: a prebuilt linux/amd64 vindex binary for workers (else cross-compiled)")
	fs.IntVar(&r.numWorkers, "num_workers", 0, "dataflow: initial number of workers")
	fs.IntVar(&r.maxWorkers, "max_num_workers", 0, "dataflow: maximum number of workers")
	fs.StringVar(&r.machineType, "worker_machine_type", "", "dataflow: worker machine type")
	fs.StringVar(&r.jobName, "job_name", "", "job name on flink/dataflow")
	fs.BoolVar(&r.dryRun, "dry_run", false, "print the job graph (dataflow: also the job Beam translates, offline) and run nothing")
	fs.BoolVar(&r.quiet, "quiet", false, "no progress lines on stderr")
	return r
}

func (r *runnerFlags) options(stderr io.Writer, expected int64) runners.Options {
	o := runners.Options{
		Runner:            r.runner,
		Endpoint:          r.endpoint,
		EnvironmentType:   r.envType,
		EnvironmentConfig: r.envConfig,
		Project:           r.project,
		Region:            r.region,
		StagingLocation:   r.staging,
		TempLocation:      r.temp,
		WorkerImage:       r.image,
		WorkerBinary:      r.binary,
		NumWorkers:        r.numWorkers,
		MaxNumWorkers:     r.maxWorkers,
		WorkerMachineType: r.machineType,
		DryRun:            r.dryRun,
		JobName:           r.jobName,
		Expected:          expected,
		DryRunOut:         os.Stdout,
	}
	if !r.quiet {
		o.Progress = stderr
	}
	return o
}

// commandLine is the command as typed, recorded in output manifests.
func commandLine() string {
	return strings.Join(append([]string{"vindex"}, os.Args[1:]...), " ")
}

// expectedRows is the number of rows the datasets patterns name hold, from
// their manifests or footers (no row is read), for the progress line's time
// left; 0 (unknown) if a pattern cannot be listed, which Validate reports.
func expectedRows(patterns ...string) int64 {
	var n int64
	for _, p := range patterns {
		c, err := schema.CountRows(p)
		if err != nil {
			return 0
		}
		n += c
	}
	return n
}
