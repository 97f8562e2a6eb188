package transforms

import (
	"context"
	"expvar"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
)

// CounterNamespace is the Beam metrics namespace of vindex's counters. A
// counter shows as "vindex.<name>" in runners.Result, and under that
// namespace and name in the Flink and Dataflow UIs.
const CounterNamespace = "vindex"

// Names of the progress counters. They are unique across the pipeline's
// steps: a counter bumped by several steps (e.g. rejects from validation and
// from the network) is summed by runners.Result.Counter.
const (
	SongsRead     = "songs_read"     // songs decoded from the feature files
	SongsEmbedded = "songs_embedded" // embeddings emitted by the network
	SongsRejected = "songs_rejected" // songs turned into schema.Reject rows, at any stage
	// EmbeddingsRead counts rows read from embedding datasets (fit, reduce,
	// evaluate, reindex's previous version).
	EmbeddingsRead = "read.embeddings_read"
)

// A ProgressCounter is a Beam counter (a real Beam metric: runner UIs and
// the run's final metrics show it) that also bumps the process-wide progress
// tally runners.Run prints while a pipeline runs in this process (see
// progress.go). Create ProgressCounters at package level, like beam.Counter;
// the zero value is not usable.
type ProgressCounter struct {
	name  string
	beam  beam.Counter
	tally *expvar.Int
}

// NewProgressCounter returns the counter vindex.<name>. Calling it twice with
// the same name returns counters that share one Beam metric and one tally
// entry.
func NewProgressCounter(name string) ProgressCounter {
	return ProgressCounter{name: name, beam: beam.NewCounter(CounterNamespace, name), tally: tallyEntry(name)}
}

// Inc adds n to the counter; ctx is the DoFn's context (Beam attributes the
// metric to the running bundle's step through it).
func (c ProgressCounter) Inc(ctx context.Context, n int64) {
	c.beam.Inc(ctx, n)
	c.tally.Add(n)
}

// Name returns "vindex.<name>", the key runners.Result.Counter takes.
func (c ProgressCounter) Name() string { return CounterNamespace + "." + c.name }

// The progress counters DoFns bump. They are counters, not state: DoFns only
// add to them.
var (
	songsRead     = NewProgressCounter(SongsRead)
	songsEmbedded = NewProgressCounter(SongsEmbedded)
	songsRejected = NewProgressCounter(SongsRejected)
)

// CountRead records n songs read from feature files. Call it from the reading
// DoFn (ctx is its context), once per song or once per row group.
func CountRead(ctx context.Context, n int64) { songsRead.Inc(ctx, n) }

// CountEmbedded records n songs embedded by the network.
func CountEmbedded(ctx context.Context, n int64) { songsEmbedded.Inc(ctx, n) }

// CountRejected records n songs rejected, whatever the stage: one
// schema.Reject each, except a range or file that could not be read, whose
// one reject counts every song it held.
func CountRejected(ctx context.Context, n int64) { songsRejected.Inc(ctx, n) }
