package runners

import (
	"expvar"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"time"
)

// TallyVar is the name of the expvar.Map that holds the process-wide
// progress tally: one expvar.Int per counter name without namespace
// ("songs_read", "songs_embedded", "songs_rejected", …). The transforms
// package publishes it and bumps it alongside its Beam counters; Run only
// reads it, so runners does not import transforms (whose tests import
// runners). The map is also served by expvar's /debug/vars handler when the
// process runs an HTTP server.
const TallyVar = "vindex"

// Tally names that give the progress line its rate and time left: songs are
// done when they are embedded, carried over from a previous index version,
// or rejected (rows of embedding datasets: when they are read).
const (
	tallyRead     = "songs_read"
	tallyEmbedded = "songs_embedded"
	tallyCarried  = "songs_carried"
	tallyRejected = "songs_rejected"
	tallyEmbRead  = "read.embeddings_read"
)

// Tally returns a snapshot of the process-wide progress tally (see
// TallyVar); empty when nothing published it.
func Tally() map[string]int64 {
	m := map[string]int64{}
	v, ok := expvar.Get(TallyVar).(*expvar.Map)
	if !ok {
		return m
	}
	v.Do(func(kv expvar.KeyValue) {
		if n, ok := kv.Value.(*expvar.Int); ok {
			m[kv.Key] = n.Value()
		}
	})
	return m
}

// progress prints progress lines while a pipeline runs.
//
// What it sees: the tally is process-wide and cumulative, so progress
// reports the change since Run started. On prism, direct and flink with
// LOOPBACK the DoFns run in this process and the tally is live; on dataflow
// and flink DOCKER/EXTERNAL they run on remote workers and the tally stays
// at zero, so progress prints one line pointing at the runner's UI instead
// (the Beam counters still arrive in the final summary). Two pipelines
// running at once in one process mix their tallies.
type progress struct {
	w        io.Writer
	start    time.Time
	base     map[string]int64
	expected int64
	live     bool // printing lines from a live tally

	done chan struct{}
	wg   sync.WaitGroup
}

// startProgress starts printing progress lines to o.Progress; it does
// nothing when o.Progress is nil.
func startProgress(o Options, start time.Time) *progress {
	p := &progress{w: o.Progress, start: start, base: Tally(), expected: o.Expected, done: make(chan struct{})}
	if p.w == nil {
		return p
	}
	if !o.inProcess() {
		fmt.Fprintf(p.w, "vindex: runner %s runs the DoFns on remote workers: follow progress in its UI (counters vindex.*); the counter summary follows at the end\n", o.runner())
		return p
	}
	every := o.ProgressInterval
	if every == 0 {
		every = DefaultProgressInterval
	}
	p.live = true
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-p.done:
				return
			case now := <-t.C:
				fmt.Fprintln(p.w, p.line(now, Tally()))
			}
		}
	}()
	return p
}

// stop ends the progress lines and, for an in-process run, prints the last one.
func (p *progress) stop() {
	close(p.done)
	p.wg.Wait()
	if p.live {
		fmt.Fprintln(p.w, p.line(time.Now(), Tally()))
	}
}

// line formats one progress line from the tally now.
func (p *progress) line(now time.Time, tally map[string]int64) string {
	d := map[string]int64{}
	for k, v := range tally {
		if dv := v - p.base[k]; dv != 0 {
			d[k] = dv
		}
	}
	elapsed := now.Sub(p.start)
	var b strings.Builder
	fmt.Fprintf(&b, "vindex: %s: %d read, %d embedded, %d rejected",
		formatDuration(elapsed), d[tallyRead], d[tallyEmbedded], d[tallyRejected])
	var others []string
	for k := range d {
		if k != tallyRead && k != tallyEmbedded && k != tallyRejected {
			others = append(others, k)
		}
	}
	sort.Strings(others)
	for _, k := range others {
		fmt.Fprintf(&b, ", %d %s", d[k], k)
	}
	done := d[tallyEmbedded] + d[tallyCarried] + d[tallyRejected]
	if done == 0 {
		done = d[tallyRead] + d[tallyEmbRead]
	}
	if elapsed <= 0 || done == 0 {
		return b.String()
	}
	rate := float64(done) / elapsed.Seconds()
	fmt.Fprintf(&b, ", %.1f songs/s", rate)
	if p.expected > 0 {
		if left := p.expected - done; left > 0 {
			fmt.Fprintf(&b, ", ~%s left", formatDuration(time.Duration(float64(left)/rate*float64(time.Second))))
		} else {
			b.WriteString(", finishing")
		}
	}
	return b.String()
}

// formatDuration prints d as h:mm:ss or m:ss.
func formatDuration(d time.Duration) string {
	s := int64(d.Round(time.Second) / time.Second)
	if s >= 3600 {
		return fmt.Sprintf("%d:%02d:%02d", s/3600, s/60%60, s%60)
	}
	return fmt.Sprintf("%d:%02d", s/60, s%60)
}
