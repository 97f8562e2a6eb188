package storage

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var testMarkers = []string{"_manifest.json", "*/_manifest.json", "index.json"}

func writeOutput(t *testing.T, dir, run string) {
	t.Helper()
	for _, f := range []string{"index.json", "embeddings/_manifest.json", "embeddings/part-0.parquet"} {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, f)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), []byte(run), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// readRun returns the run every file of an output folder names, or "mixed".
func readRun(t *testing.T, dir string) string {
	t.Helper()
	run := ""
	for _, f := range []string{"index.json", "embeddings/_manifest.json", "embeddings/part-0.parquet"} {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			return "missing"
		}
		if run != "" && string(b) != run {
			return "mixed"
		}
		run = string(b)
	}
	return run
}

func siblings(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(filepath.Dir(dir))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	return out
}

func TestOutputSwitch(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	out := filepath.Join(root, "idx")

	// A new folder: staged beside, renamed into place.
	o, err := StartOutput(ctx, out, OutputOptions{Markers: testMarkers})
	if err != nil {
		t.Fatal(err)
	}
	if o.Dir == out || filepath.Dir(o.Dir) != root || !strings.HasPrefix(filepath.Base(o.Dir), TempPrefix) {
		t.Fatalf("staging folder %s, want a temporary name beside %s", o.Dir, out)
	}
	writeOutput(t, o.Dir, "run1")
	if err := o.Commit(); err != nil {
		t.Fatal(err)
	}
	if got := readRun(t, out); got != "run1" {
		t.Fatalf("after the first run: %s", got)
	}

	// An existing output is refused without Overwrite, and left alone.
	if _, err := StartOutput(ctx, out, OutputOptions{Markers: testMarkers}); !errors.Is(err, ErrOutputExists) {
		t.Fatalf("existing output without overwrite: %v, want ErrOutputExists", err)
	}

	// A run killed part-way (never committed) leaves the old output whole.
	o, err = StartOutput(ctx, out, OutputOptions{Markers: testMarkers, Overwrite: true})
	if err != nil {
		t.Fatal(err)
	}
	writeOutput(t, o.Dir, "run2")
	os.Remove(filepath.Join(o.Dir, "index.json")) // killed before index.json
	if got := readRun(t, out); got != "run1" {
		t.Fatalf("during an uncommitted run: %s, want run1 whole", got)
	}

	// The next run removes the killed run's staging folder, and its commit
	// switches the whole new output in.
	o, err = StartOutput(ctx, out, OutputOptions{Markers: testMarkers, Overwrite: true})
	if err != nil {
		t.Fatal(err)
	}
	writeOutput(t, o.Dir, "run3")
	if err := o.Commit(); err != nil {
		t.Fatal(err)
	}
	if got := readRun(t, out); got != "run3" {
		t.Fatalf("after overwrite: %s, want run3", got)
	}
	if s := siblings(t, out); len(s) != 1 || s[0] != "idx" {
		t.Errorf("beside the output: %v, want only idx (no staging or replaced folders)", s)
	}

	// Abort leaves nothing.
	o, err = StartOutput(ctx, out, OutputOptions{Markers: testMarkers, Overwrite: true})
	if err != nil {
		t.Fatal(err)
	}
	o.Abort()
	if s := siblings(t, out); len(s) != 1 {
		t.Errorf("after Abort: %v", s)
	}
}

func TestOutputRefusals(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	other := filepath.Join(root, "mine")
	if err := os.MkdirAll(other, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(other, "notes.txt"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := StartOutput(ctx, other, OutputOptions{Markers: testMarkers, Overwrite: true}); !errors.Is(err, ErrOutputExists) {
		t.Errorf("folder of other files with overwrite: %v, want ErrOutputExists", err)
	}
	out := filepath.Join(root, "idx")
	writeOutput(t, out, "run1")
	_, err := StartOutput(ctx, out, OutputOptions{Markers: testMarkers, Overwrite: true, Inputs: []string{filepath.Join(out, "embeddings", "*.parquet")}})
	if err == nil || !strings.Contains(err.Error(), "contains the input") {
		t.Errorf("output containing an input: %v, want a refusal", err)
	}
	empty := filepath.Join(root, "empty")
	if err := os.Mkdir(empty, 0o755); err != nil {
		t.Fatal(err)
	}
	o, err := StartOutput(ctx, empty, OutputOptions{Markers: testMarkers})
	if err != nil {
		t.Fatalf("empty folder: %v", err)
	}
	writeOutput(t, o.Dir, "run1")
	if err := o.Commit(); err != nil {
		t.Fatal(err)
	}
	if got := readRun(t, empty); got != "run1" {
		t.Errorf("empty folder after commit: %s", got)
	}
}
