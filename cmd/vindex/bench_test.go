package main

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"
)

// TestBenchModelJSON: `vindex bench model --json` prints the figures the
// capacity question needs, for the threads and frames asked.
func TestBenchModelJSON(t *testing.T) {
	var out, errs bytes.Buffer
	args := []string{"bench", "model", "--frames", "400", "--threads", "2", "--seconds", "0.3", "--json", "--catalog", "1000", "--window", "1s"}
	if err := run(context.Background(), args, &out, &errs); err != nil {
		t.Fatalf("%v\n%s", err, errs.String())
	}
	var r struct {
		SongsPerS float64 `json:"songs_per_s"`
		Frames    int     `json:"frames"`
		Threads   int     `json:"threads"`
		Songs     int64   `json:"songs"`
		Workers   int64   `json:"workers_needed"`
	}
	if err := json.Unmarshal(out.Bytes(), &r); err != nil {
		t.Fatalf("%v: %s", err, out.String())
	}
	if r.Frames != 400 || r.Threads != 2 || r.Songs < 1 || !(r.SongsPerS > 0) {
		t.Errorf("bench model = %+v", r)
	}
	// 1000 songs within 1 s at songs_per_s per worker.
	if want := int64(1000/r.SongsPerS) + 1; r.Workers < want-1 || r.Workers > want {
		t.Errorf("workers needed = %d, want about %d", r.Workers, want)
	}
}
