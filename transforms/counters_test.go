package transforms

import (
	"context"
	"testing"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/vindex/vindex/runners"
)

func init() {
	register.DoFn2x0[context.Context, int](&countingTestFn{})
}

// countingTestFn counts each element as two songs read, one embedded and, for
// odd elements, one rejected.
type countingTestFn struct{}

func (*countingTestFn) ProcessElement(ctx context.Context, x int) {
	CountRead(ctx, 2)
	CountEmbedded(ctx, 1)
	if x%2 == 1 {
		CountRejected(ctx, 1)
	}
}

// TestProgressCounters checks that the progress counters are real Beam
// counters (they reach runners.Result on prism) and bump the process-wide
// tally runners.Run prints progress from, under the name runners reads.
func TestProgressCounters(t *testing.T) {
	if tallyVar != runners.TallyVar {
		t.Fatalf("transforms publishes the tally as %q, runners reads %q", tallyVar, runners.TallyVar)
	}
	if !beam.Initialized() {
		beam.Init()
	}
	before := runners.Tally()
	p, s := beam.NewPipelineWithRoot()
	beam.ParDo0(s, &countingTestFn{}, beam.Create(s, 1, 2, 3, 4, 5))
	res, err := runners.Run(context.Background(), p, runners.Options{})
	if err != nil {
		t.Fatal(err)
	}
	after := runners.Tally()
	for _, tc := range []struct {
		c    ProgressCounter
		want int64
	}{{songsRead, 10}, {songsEmbedded, 5}, {songsRejected, 3}} {
		if got := res.Counter(tc.c.Name()); got != tc.want {
			t.Errorf("Beam counter %s = %d, want %d", tc.c.Name(), got, tc.want)
		}
		if got := after[tc.c.name] - before[tc.c.name]; got != tc.want {
			t.Errorf("tally %s grew by %d, want %d", tc.c.name, got, tc.want)
		}
	}
	if got := NewProgressCounter(SongsRead).Name(); got != "vindex.songs_read" {
		t.Errorf("Name() = %q, want vindex.songs_read", got)
	}
}
