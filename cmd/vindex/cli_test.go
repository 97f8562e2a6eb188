package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
)

// TestDemo runs 'vindex demo' as a new user would (no arguments but the
// output folder) and checks what it prints and writes.
func TestDemo(t *testing.T) {
	beam.Init()
	dir := filepath.Join(t.TempDir(), "demo")
	var stdout, stderr bytes.Buffer
	if err := run(context.Background(), []string{"demo", "--out", dir, "--quiet"}, &stdout, &stderr); err != nil {
		t.Fatalf("vindex demo: %v\nstderr:\n%s", err, stderr.String())
	}
	out := stdout.String()
	for _, want := range []string{
		"UNTRAINED",
		"140 songs embedded",
		"| method (MAP / MR1) | d=256 | d=64 |",
		"move-sum4-fa3 + pca64",
		filepath.Join(dir, "index", "index.json"),
	} {
		if !strings.Contains(out, want) {
			t.Errorf("demo output lacks %q:\n%s", want, out)
		}
	}
	for _, f := range []string{"index/index.json", "index/reducer.vxr", "index/embeddings/_manifest.json",
		"index/compact/_manifest.json", "index/rejects/_manifest.json", "index/evaluation/full/report.json",
		"index/evaluation/reduced/report.md"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("demo did not write %s: %v", f, err)
		}
	}
}

// TestBadInvocations checks that unknown commands and flags, missing inputs
// and bad values fail before anything runs, saying what to do.
func TestBadInvocations(t *testing.T) {
	dir := t.TempDir()
	feat := filepath.Join(dir, "songs.parquet")
	if err := os.WriteFile(feat, []byte("PAR1"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"indx"}, "unknown command"},
		{[]string{"index", "--weigths", "w.pt"}, "usage"},
		{[]string{"index", "--in", feat, "--out", dir}, "no weights given"},
		{[]string{"index", "--weights", "w.pt", "--out", dir}, "no input given"},
		{[]string{"index", "--weights", "w.pt", "--in", feat}, "no output folder"},
		{[]string{"index", "--weights", "w.pt", "--in", filepath.Join(dir, "none-*.parquet"), "--out", dir}, "no"},
		{[]string{"index", "--weights", filepath.Join(dir, "missing.pt"), "--in", feat, "--out", dir}, "missing.pt"},
		{[]string{"index", "--method", "lda", "--weights", "w.pt", "--in", feat, "--out", dir}, "method"},
		{[]string{"embed", "--weights", feat, "--in", feat, "--out", dir}, "checkpoint"},
		{[]string{"reindex", "--catalog", feat}, "--index"},
		{[]string{"reindex", "--catalog", feat, "--index", filepath.Join(dir, "idx")}, "no weights given"},
		{[]string{"demo", "extra"}, "unexpected argument"},
	} {
		var stdout, stderr bytes.Buffer
		err := run(context.Background(), tc.args, &stdout, &stderr)
		if err == nil {
			t.Errorf("vindex %s: no error", strings.Join(tc.args, " "))
			continue
		}
		msg := err.Error()
		if errors.Is(err, errUsage) {
			msg = "usage: " + stderr.String()
		}
		if !strings.Contains(msg, tc.want) {
			t.Errorf("vindex %s: %q, want it to contain %q", strings.Join(tc.args, " "), msg, tc.want)
		}
	}
	var stderr bytes.Buffer
	if err := run(context.Background(), []string{"index", "--help"}, &bytes.Buffer{}, &stderr); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("index --help: %v, want flag.ErrHelp", err)
	}
	if !strings.Contains(stderr.String(), "embed → fit") && !strings.Contains(stderr.String(), "--weights FILE") {
		t.Errorf("index --help does not explain the command:\n%s", stderr.String())
	}
}
