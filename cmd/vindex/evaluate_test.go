package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"

	"github.com/vindex/vindex/schema"
)

// TestEvaluateTwoSets runs `vindex evaluate` on prism over two embedding
// sets (the metrics parity data at d = 24 and its first 8 columns standing
// for a reduction) and checks the comparison table and the reports.
func TestEvaluateTwoSets(t *testing.T) {
	beam.Init()
	var in struct {
		SongIDs    []string    `json:"song_ids"`
		WorkIDs    []string    `json:"work_ids"`
		Embeddings [][]float32 `json:"embeddings"`
	}
	b, err := os.ReadFile("../../model/metrics/testdata/clustered.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &in); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	var full, reduced []schema.Embedding
	for i, id := range in.SongIDs {
		e := schema.Embedding{SongID: id, WorkID: in.WorkIDs[i], Embedding: in.Embeddings[i], Model: "move-sum4-fa3-d24-abc", ContentHash: "h"}
		full = append(full, e)
		e.Embedding = e.Embedding[:8]
		e.Reducer = "pca-8-xyz"
		reduced = append(reduced, e)
	}
	for name, embs := range map[string][]schema.Embedding{"full": full, "pca8": reduced} {
		if err := os.MkdirAll(filepath.Join(dir, name), 0o755); err != nil {
			t.Fatal(err)
		}
		half := len(embs) / 2
		for k, part := range [][]schema.Embedding{embs[:half], embs[half:]} {
			p := filepath.Join(dir, name, "emb"+string(rune('0'+k))+".parquet")
			if err := schema.WriteEmbeddingsFile(p, part, schema.WriterOptions{}); err != nil {
				t.Fatal(err)
			}
		}
	}
	out := filepath.Join(dir, "out")
	var stdout, stderr bytes.Buffer
	args := []string{"evaluate", "--in", filepath.Join(dir, "full", "*.parquet") + "," + filepath.Join(dir, "pca8", "*.parquet"),
		"--out", out, "--quiet"}
	if err := run(context.Background(), args, &stdout, &stderr); err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	got := stdout.String()
	for _, want := range []string{"| method (MAP / MR1) | d=24 | d=8 |", "| move-sum4-fa3 | 0.598 / ", "| move-sum4-fa3 + pca | – |"} {
		if !strings.Contains(got, want) {
			t.Errorf("stdout lacks %q:\n%s", want, got)
		}
	}
	for _, f := range []string{"0-full/report.json", "0-full/report.md", "0-full/queries.parquet", "1-pca8/map_by_clique_size.png"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Error(err)
		}
	}
}

func TestEvaluateBadFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"evaluate", "--out", "x"}, "no input"},
		{[]string{"evaluate", "--in", "a.parquet"}, "no output"},
		{[]string{"evaluate", "--in", "a.parquet", "--out", "x", "--distance", "l1"}, "unknown distance"},
		{[]string{"evaluate", "--in", "/nonexistent/*.parquet", "--out", "x"}, "nonexistent"},
	} {
		var stdout, stderr bytes.Buffer
		err := run(context.Background(), tc.args, &stdout, &stderr)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: error %v, want one containing %q", tc.args, err, tc.want)
		}
	}
}
