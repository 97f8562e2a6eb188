package runners

import (
	"errors"
	"strings"
	"testing"
)

func TestValidate(t *testing.T) {
	df := Options{Runner: Dataflow, Project: "p", Region: "europe-west1", StagingLocation: "gs://b/staging"}
	tests := []struct {
		name string
		o    Options
		bad  string // substring of the error; "" for valid options
	}{
		{"zero value is prism", Options{}, ""},
		{"prism", Options{Runner: "prism"}, ""},
		{"direct", Options{Runner: "direct"}, ""},
		{"case-insensitive", Options{Runner: "Flink", Endpoint: "localhost:8099"}, ""},
		{"unknown runner", Options{Runner: "spark"}, `unknown runner "spark"`},
		{"prism with endpoint", Options{Endpoint: "localhost:8099"}, "only for the flink runner"},
		{"flink without endpoint", Options{Runner: Flink}, "job server endpoint"},
		{"flink loopback by default", Options{Runner: Flink, Endpoint: "h:1"}, ""},
		{"flink docker", Options{Runner: Flink, Endpoint: "h:1", EnvironmentType: "docker"}, ""},
		{"flink external needs pool", Options{Runner: Flink, Endpoint: "h:1", EnvironmentType: External}, "worker pool address"},
		{"flink external", Options{Runner: Flink, Endpoint: "h:1", EnvironmentType: External, EnvironmentConfig: "localhost:50000"}, ""},
		{"flink process", Options{Runner: Flink, Endpoint: "h:1", EnvironmentType: "PROCESS"}, "unknown environment type"},
		{"dataflow", df, ""},
		{"dataflow no project", with(df, func(o *Options) { o.Project = "" }), "project"},
		{"dataflow no region", with(df, func(o *Options) { o.Region = "" }), "region"},
		{"dataflow local staging", with(df, func(o *Options) { o.StagingLocation = "/tmp/x" }), "staging location"},
		{"dataflow local temp", with(df, func(o *Options) { o.TempLocation = "/tmp/x" }), "temp location"},
		{"dataflow max below num", with(df, func(o *Options) { o.NumWorkers, o.MaxNumWorkers = 5, 2 }), "max workers"},
		{"dataflow bad job name", with(df, func(o *Options) { o.JobName = "Vindex_Job" }), "job name"},
		{"dataflow good job name", with(df, func(o *Options) { o.JobName = "vindex-2026-11" }), ""},
		{"dataflow with endpoint", with(df, func(o *Options) { o.Endpoint = "h:1" }), "only for the flink runner"},
		{"negative workers", Options{NumWorkers: -1}, "negative worker count"},
		{"negative expected", Options{Expected: -1}, "negative expected"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.o.Validate()
			if tc.bad == "" {
				if err != nil {
					t.Fatalf("Validate: %v, want nil", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.bad) || !errors.Is(err, ErrOptions) {
				t.Fatalf("Validate: %v, want an ErrOptions mentioning %q", err, tc.bad)
			}
			if !strings.HasPrefix(err.Error(), "runners: ") {
				t.Errorf("error %q lacks the runners: prefix", err)
			}
		})
	}
}

func with(o Options, f func(*Options)) Options {
	f(&o)
	return o
}

func TestFlagsFromOptions(t *testing.T) {
	f := flinkFlags(Options{Runner: Flink, Endpoint: "h:1", EnvironmentType: "docker"})
	if f["environment_type"] != Docker || f["environment_config"] != DefaultSDKImage || f["endpoint"] != "h:1" {
		t.Errorf("flink DOCKER flags = %v", f)
	}
	d := dataflowFlags(Options{Runner: Dataflow, Project: "p", Region: "r", StagingLocation: "gs://b/s", NumWorkers: 3})
	if d["temp_location"] != "gs://b/s/tmp" || d["sdk_container_image"] != DefaultSDKImage || d["num_workers"] != "3" || d["endpoint"] != "" {
		t.Errorf("dataflow flags = %v", d)
	}
}
