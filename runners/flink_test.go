package runners

import (
	"context"
	"expvar"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem/local"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/io/textio"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/vindex/vindex/runners/flinktest"
)

// The test pipeline's DoFn bumps a Beam counter and the progress tally, as
// the transforms package's ProgressCounters do (runners tests cannot import
// transforms, which publishes the real tally).
var (
	testTally   = expvar.NewMap(TallyVar)
	itemsRead   = beam.NewCounter("vindex", "songs_read")
	itemsFanned = beam.NewCounter("vindex", "test_fanned")
)

func init() {
	register.DoFn3x0[context.Context, int, func(string)](&squareFn{})
	register.Emitter1[string]()
}

// squareFn turns x into the line "x,x²" and counts it; every seventh x is
// also emitted as "x,fanned" (a second output line per element, so the
// comparison notices lost or duplicated elements).
type squareFn struct {
	// Delay is slept per element, so progress lines have something to show.
	Delay time.Duration
}

func (f *squareFn) ProcessElement(ctx context.Context, x int, emit func(string)) {
	if f.Delay > 0 {
		time.Sleep(f.Delay)
	}
	itemsRead.Inc(ctx, 1)
	testTally.Add(tallyRead, 1)
	emit(fmt.Sprintf("%d,%d", x, x*x))
	if x%7 == 0 {
		itemsFanned.Inc(ctx, 1)
		emit(fmt.Sprintf("%d,fanned", x))
	}
}

// testPipeline reads n numbers, maps them through squareFn and writes the
// lines to out.
func testPipeline(n int, delay time.Duration, out string) *beam.Pipeline {
	p, s := beam.NewPipelineWithRoot()
	xs := make([]int, n)
	for i := range xs {
		xs[i] = i
	}
	lines := beam.ParDo(s, &squareFn{Delay: delay}, beam.CreateList(s, xs))
	textio.Write(s, out, lines)
	return p
}

func readLines(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	slices.Sort(lines)
	return lines
}

// TestFlinkMatchesPrism runs the same pipeline on prism and on a real Flink
// (a Beam Flink job server with an embedded mini cluster, LOOPBACK
// environment) and compares outputs and counters.
func TestFlinkMatchesPrism(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a JVM: skipped with -short")
	}
	js := flinktest.Start(t)
	t.Logf("flink job server %s at %s", js.Version, js.Endpoint)
	const n = 500
	dir := t.TempDir()
	ctx := context.Background()

	prismOut := filepath.Join(dir, "prism.txt")
	want, err := Run(ctx, testPipeline(n, 0, prismOut), Options{})
	if err != nil {
		t.Fatalf("prism: %v", err)
	}

	flinkOut := filepath.Join(dir, "flink.txt")
	var progress strings.Builder
	start := time.Now()
	got, err := Run(ctx, testPipeline(n, 0, flinkOut), Options{
		Runner: Flink, Endpoint: js.Endpoint, JobName: "vindex-flinktest",
		Progress: &progress, Expected: n,
	})
	if err != nil {
		t.Fatalf("flink: %v\njob server log:\n%s", err, js.LogTail())
	}
	t.Logf("flink run took %v; output:\n%s", time.Since(start).Round(time.Millisecond), progress.String())

	if p, f := readLines(t, prismOut), readLines(t, flinkOut); !slices.Equal(p, f) {
		t.Errorf("flink output (%d lines) differs from prism's (%d lines)", len(f), len(p))
	} else if len(p) != n+(n+6)/7 {
		t.Errorf("prism output has %d lines, want %d", len(p), n+(n+6)/7)
	}
	for _, name := range []string{"vindex.songs_read", "vindex.test_fanned"} {
		if w, g := want.Counter(name), got.Counter(name); w != g || w == 0 {
			t.Errorf("counter %s: flink %d, prism %d (want equal, non-zero)", name, g, w)
		}
	}
	if !strings.Contains(progress.String(), fmt.Sprintf("%d read", n)) {
		t.Errorf("flink LOOPBACK progress does not show %d songs read from the in-process tally:\n%s", n, progress.String())
	}
	// A deadline ends the wait for a job that does not finish (what bounds
	// the Flink tests' time if a run hangs): 200 elements of 1 s each, 3 s.
	slow, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	start = time.Now()
	_, err = Run(slow, testPipeline(200, time.Second, filepath.Join(dir, "slow.txt")), Options{
		Runner: Flink, Endpoint: js.Endpoint, JobName: "vindex-flinktest-slow",
	})
	if err == nil || time.Since(start) > 90*time.Second {
		t.Errorf("a run past its deadline returned %v after %v; want an error soon after 3 s", err, time.Since(start).Round(time.Second))
	}
	if dump := js.ThreadDump(); !strings.Contains(dump, "Full thread dump") || !strings.Contains(dump, `"main"`) {
		t.Errorf("ThreadDump returned no Java thread dump:\n%s", dump)
	}
	if !strings.Contains(progress.String(), "vindex.songs_read") {
		t.Errorf("flink run's summary lacks vindex.songs_read:\n%s", progress.String())
	}
}
