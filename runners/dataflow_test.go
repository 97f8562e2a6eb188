package runners

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/apache/beam/sdks/v2/go/pkg/beam/options/jobopts"
)

// TestDataflowDryRun builds a Dataflow job offline (--dry_run): the options
// reach Beam's dataflow runner, which translates the pipeline into a job
// without contacting Google Cloud, and Run puts Beam's global flags back.
func TestDataflowDryRun(t *testing.T) {
	endpoint := *jobopts.Endpoint
	res, err := Run(context.Background(), testPipeline(3, 0, filepath.Join(t.TempDir(), "out.txt")), Options{
		Runner: Dataflow, Project: "vindex-test", Region: "europe-west1",
		StagingLocation: "gs://vindex-test/staging", DryRun: true, JobName: "vindex-dry-run",
		NumWorkers: 2, MaxNumWorkers: 4, WorkerMachineType: "n2-standard-4",
	})
	if err != nil {
		t.Fatalf("dataflow dry run: %v", err)
	}
	if res.JobID() != "dry-run" || len(res.Counters()) != 0 {
		t.Errorf("dry run result: job %q, counters %v", res.JobID(), res.Counters())
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
