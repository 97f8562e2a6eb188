package runners

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/beam/sdks/v2/go/pkg/beam/options/jobopts"
)

// TestDataflowDryRun builds a Dataflow job offline (--dry_run): the options
// reach Beam's dataflow runner, which translates the pipeline into a job
// without contacting Google Cloud, and Run puts Beam's global flags back.
func TestDataflowDryRun(t *testing.T) {
	endpoint := *jobopts.Endpoint
	var out bytes.Buffer
	res, err := Run(context.Background(), testPipeline(3, 0, filepath.Join(t.TempDir(), "out.txt")), Options{
		DryRunOut: &out,
		Runner:    Dataflow, Project: "vindex-test", Region: "europe-west1",
		StagingLocation: "gs://vindex-test/staging", DryRun: true, JobName: "vindex-dry-run",
		NumWorkers: 2, MaxNumWorkers: 4, WorkerMachineType: "n2-standard-4",
	})
	if err != nil {
		t.Fatalf("dataflow dry run: %v", err)
	}
	if res.JobID() != "dry-run" || len(res.Counters()) != 0 {
		t.Errorf("dry run result: job %q, counters %v", res.JobID(), res.Counters())
	}
	// The stage listing, then the job Beam translated (its JSON names the
	// project and the worker machine type).
	for _, want := range []string{"job graph:", "squareFn", `"projectId": "vindex-test"`, "n2-standard-4"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("dry run output lacks %q:\n%.2000s", want, out.String())
		}
	}
	if *jobopts.Endpoint != endpoint || *jobopts.JobName != "" || *jobopts.EnvironmentType == "DOCKER" {
		t.Errorf("Beam flags not restored: endpoint %q (was %q), job name %q, environment %q",
			*jobopts.Endpoint, endpoint, *jobopts.JobName, *jobopts.EnvironmentType)
	}
}

func TestRunDirect(t *testing.T) {
	res, err := Run(context.Background(), testPipeline(10, 0, filepath.Join(t.TempDir(), "out.txt")), Options{Runner: Direct})
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Counter("vindex.songs_read"); got != 10 {
		t.Errorf("direct: Counter(vindex.songs_read) = %d, want 10", got)
	}
}

// TestPrismDryRun: a dry run on prism prints the stages and runs nothing.
func TestPrismDryRun(t *testing.T) {
	var out bytes.Buffer
	file := filepath.Join(t.TempDir(), "out.txt")
	res, err := Run(context.Background(), testPipeline(3, 0, file), Options{DryRun: true, DryRunOut: &out})
	if err != nil {
		t.Fatal(err)
	}
	if res.JobID() != "dry-run" || !strings.Contains(out.String(), "squareFn") || !strings.Contains(out.String(), "job graph:") {
		t.Errorf("prism dry run: job %q, output:\n%s", res.JobID(), out.String())
	}
	if _, err := os.Stat(file); !os.IsNotExist(err) {
		t.Errorf("a dry run wrote its output: %v", err)
	}
}
