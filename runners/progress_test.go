package runners

import (
	"context"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestProgressLine(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	p := &progress{start: start, base: map[string]int64{tallyRead: 100, tallyEmbedded: 90}, expected: 1000}
	tests := []struct {
		after time.Duration
		tally map[string]int64
		want  string
	}{
		{5 * time.Second, map[string]int64{tallyRead: 100, tallyEmbedded: 90},
			"vindex: 0:05: 0 read, 0 embedded, 0 rejected"},
		// 200 done (180 embedded + 20 rejected) in 20 s: 10 songs/s, 800 left: 80 s.
		{20 * time.Second, map[string]int64{tallyRead: 310, tallyEmbedded: 270, tallyRejected: 20, "rows_written": 7},
			"vindex: 0:20: 210 read, 180 embedded, 20 rejected, 7 rows_written, 10.0 songs/s, ~1:20 left"},
		// Nothing embedded yet (e.g. a read-only pipeline): the rate counts reads.
		{2 * time.Hour, map[string]int64{tallyRead: 7300, tallyEmbedded: 90},
			"vindex: 2:00:00: 7200 read, 0 embedded, 0 rejected, 1.0 songs/s"},
		{100 * time.Second, map[string]int64{tallyRead: 1100, tallyEmbedded: 1090},
			"vindex: 1:40: 1000 read, 1000 embedded, 0 rejected, 10.0 songs/s, finishing"},
	}
	for _, tc := range tests {
		if tc.after == 2*time.Hour {
			p.expected = 0 // unknown: no time left
		} else {
			p.expected = 1000
		}
		if got := p.line(start.Add(tc.after), tc.tally); got != tc.want {
			t.Errorf("line after %v:\n got %q\nwant %q", tc.after, got, tc.want)
		}
	}
}

// TestRunPrismProgress checks that a prism run prints live progress lines
// from the tally and ends with the counter summary.
func TestRunPrismProgress(t *testing.T) {
	var out strings.Builder
	const n = 30
	res, err := Run(context.Background(), testPipeline(n, 20*time.Millisecond, filepath.Join(t.TempDir(), "out.txt")),
		Options{Progress: &out, ProgressInterval: 50 * time.Millisecond, Expected: n})
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Counter("vindex.songs_read"); got != n {
		t.Errorf("Counter(vindex.songs_read) = %d, want %d", got, n)
	}
	if got := res.Counter("songs_read"); got != n {
		t.Errorf("Counter(songs_read) = %d, want %d", got, n)
	}
	if got := res.Counter("vindex.no_such_counter"); got != 0 {
		t.Errorf("Counter(vindex.no_such_counter) = %d, want 0", got)
	}
	text := out.String()
	lines := strings.Split(strings.TrimSpace(text), "\n")
	progressLine := regexp.MustCompile(`^vindex: \d+:\d\d: \d+ read, 0 embedded, 0 rejected`)
	nProgress := 0
	for _, l := range lines {
		if progressLine.MatchString(l) {
			nProgress++
		}
	}
	if nProgress < 2 {
		t.Errorf("want at least 2 progress lines (one per 50 ms over a run of 30 × 20 ms sleeps, and the last), got:\n%s", text)
	}
	// The live tally counts work as it happens: a bundle prism splits and
	// re-runs may count a song twice there, never in the committed counters.
	var last int
	for _, l := range lines {
		if m := regexp.MustCompile(`^vindex: \d+:\d\d: (\d+) read`).FindStringSubmatch(l); m != nil {
			last, _ = strconv.Atoi(m[1])
		}
	}
	if last < n || !regexp.MustCompile(`vindex\.songs_read +30\n`).MatchString(text) {
		t.Errorf("output lacks the final tally (≥ %d read) or the counter summary:\n%s", n, text)
	}
	if !strings.HasPrefix(res.Summary(), "counters (runner prism, job ") {
		t.Errorf("Summary() = %q", res.Summary())
	}
}

func TestRemoteRunnerProgressNote(t *testing.T) {
	var out strings.Builder
	p := startProgress(Options{Runner: Dataflow, Progress: &out}, time.Now())
	p.stop()
	if !strings.Contains(out.String(), "remote workers") {
		t.Errorf("dataflow progress = %q, want a note about remote workers", out.String())
	}
}
