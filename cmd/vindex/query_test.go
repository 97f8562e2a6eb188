package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vindex/vindex/model"
	"github.com/vindex/vindex/model/search"
	"github.com/vindex/vindex/pipelines/index"
	"github.com/vindex/vindex/pipelines/reindex"
	"github.com/vindex/vindex/query"
	"github.com/vindex/vindex/schema"
	"github.com/vindex/vindex/transforms"
)

// writeTinyIndex writes an index folder by hand: embeddings (with manifest)
// and index.json recording the manifest's hash.
func writeTinyIndex(t *testing.T, dir string, embs []schema.Embedding, info index.Info) {
	t.Helper()
	set := filepath.Join(dir, info.Search)
	if err := schema.WriteEmbeddingsDataset(set, embs, schema.WriterOptions{}); err != nil {
		t.Fatal(err)
	}
	mb, err := os.ReadFile(filepath.Join(set, schema.ManifestName))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(mb)
	info.Parts = []index.Part{{Path: info.Search + "/" + schema.ManifestName, Bytes: int64(len(mb)), SHA256: hex.EncodeToString(sum[:])}}
	info.Format = index.FormatVersion
	b, err := json.Marshal(info)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, index.InfoFile), b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func queryJSON(t *testing.T, args ...string) queryResult {
	t.Helper()
	out, errOut, err := runCLI(append([]string{"query", "--json"}, args...)...)
	if err != nil {
		t.Fatalf("query %v: %v\n%s", args, err, errOut)
	}
	var r queryResult
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("query output: %v\n%s", err, out)
	}
	return r
}

func TestQuerySong(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "v0001") // a reindexed folder: CURRENT → v0001
	if err := os.WriteFile(filepath.Join(root, reindex.CurrentFile), []byte("v0001\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// Cosine similarities to "a" = (1,0,0): b 0.8, c 0.8 (tie: b first), d 0, e -1.
	embs := []schema.Embedding{
		{SongID: "e", WorkID: "w2", Embedding: []float32{-1, 0, 0}, Model: "m", Title: "E"},
		{SongID: "c", WorkID: "w1", Embedding: []float32{4, 3, 0}, Model: "m", Title: "C", Artist: "X"},
		{SongID: "a", WorkID: "w1", Embedding: []float32{1, 0, 0}, Model: "m"},
		{SongID: "b", WorkID: "w2", Embedding: []float32{0.8, 0, 0.6}, Model: "m"},
		{SongID: "d", Embedding: []float32{0, 0, 5}, Model: "m"},
	}
	writeTinyIndex(t, dir, embs, index.Info{Model: "m", Dim: 3, Distance: "cosine", Search: index.EmbeddingsDir})

	check := func(r queryResult) {
		t.Helper()
		if r.Songs != 5 || len(r.Queries) != 1 || !r.Queries[0].InIndex {
			t.Fatalf("result %+v", r)
		}
		var ids []string
		var sims []float64
		for _, n := range r.Queries[0].Neighbors {
			ids = append(ids, n.SongID)
			sims = append(sims, *n.Similarity)
		}
		want := []float64{0.8, 0.8, 0, -1}
		if strings.Join(ids, ",") != "b,c,d,e" {
			t.Fatalf("neighbours %v, want b,c,d,e", ids)
		}
		for i := range want {
			if math.Abs(sims[i]-want[i]) > 1e-6 {
				t.Fatalf("similarities %v, want %v", sims, want)
			}
		}
	}
	check(queryJSON(t, "--index", root, "--song", "a"))

	// With a search file the answer is the same.
	m, err := transforms.SearchMatrix(embs)
	if err != nil {
		t.Fatal(err)
	}
	b, err := search.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, search.FileName), b, 0o644); err != nil {
		t.Fatal(err)
	}
	check(queryJSON(t, "--index", root, "--song", "a", "--k", "10"))

	out, _, err := runCLI("query", "--index", root, "--song", "a", "--k", "2")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"query a (work w1): in the index, excluded; 2 nearest of 5 songs by cosine similarity",
		"rank", "1     b", "2     c        w1 *", "0.800000", "C / X"} {
		if !strings.Contains(out, s) {
			t.Errorf("table lacks %q:\n%s", s, out)
		}
	}
	if strings.Contains(out, "\n3 ") {
		t.Errorf("--k 2 printed a third row:\n%s", out)
	}
}

func TestQuerySqEuclidean(t *testing.T) {
	dir := t.TempDir()
	embs := []schema.Embedding{
		{SongID: "a", Embedding: []float32{0, 0}, Model: "m"},
		{SongID: "b", Embedding: []float32{1, 1}, Model: "m"},
		{SongID: "c", Embedding: []float32{2, 0}, Model: "m"},
	}
	writeTinyIndex(t, dir, embs, index.Info{Model: "m", Dim: 2, Distance: "sqeuclidean", Search: index.EmbeddingsDir})
	r := queryJSON(t, "--index", dir, "--song", "a")
	n := r.Queries[0].Neighbors
	// (‖q‖²+‖x‖²−2q·x+1e-12)/d: b (2/2 = 1), c (4/2 = 2).
	if len(n) != 2 || n[0].SongID != "b" || n[1].SongID != "c" || n[0].Distance == nil ||
		math.Abs(*n[0].Distance-1) > 1e-9 || math.Abs(*n[1].Distance-2) > 1e-9 {
		t.Fatalf("neighbours %+v", n)
	}
}

// TestQueryFeatures embeds a features file with seeded weights: a song whose
// copy is in the index finds the copy first, at similarity 1.
func TestQueryFeatures(t *testing.T) {
	dir := t.TempDir()
	weights := filepath.Join(dir, "w.safetensors")
	if err := model.SeededCheckpointFile(weights, 16, 1); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	var songs []schema.Song
	for _, id := range []string{"x", "y", "z"} {
		s := schema.Song{SongID: id, WorkID: "w" + id, Crema: make([]float32, 12*2000)}
		for i := range s.Crema {
			s.Crema[i] = rng.Float32()
		}
		songs = append(songs, s)
	}
	feats := filepath.Join(dir, "feats.parquet")
	if err := schema.WriteSongsFile(feats, songs, schema.WriterOptions{}); err != nil {
		t.Fatal(err)
	}
	ix := filepath.Join(dir, "index")
	info := index.Info{Weights: weights, Dim: 16, Distance: "cosine", Search: index.EmbeddingsDir}
	e, err := query.NewEmbedder(context.Background(), "", &info, 16)
	if err != nil {
		t.Fatal(err)
	}
	var embs []schema.Embedding
	for i := range songs {
		v, err := e.Embed(&songs[i])
		if err != nil {
			t.Fatal(err)
		}
		embs = append(embs, schema.Embedding{SongID: "copy-" + songs[i].SongID, WorkID: songs[i].WorkID, Embedding: v, Model: "m"})
	}
	embs = append(embs, schema.Embedding{SongID: "y", WorkID: "wy", Embedding: embs[1].Embedding, Model: "m"})
	writeTinyIndex(t, ix, embs, info)

	r := queryJSON(t, "--index", ix, "--features", feats, "--k", "1")
	if len(r.Queries) != 3 {
		t.Fatalf("%d queries, want 3", len(r.Queries))
	}
	for _, q := range r.Queries {
		n := q.Neighbors[0]
		if n.SongID != "copy-"+q.SongID || math.Abs(*n.Similarity-1) > 1e-6 || q.InIndex != (q.SongID == "y") {
			t.Errorf("query %s (in index %v): nearest %s at %v", q.SongID, q.InIndex, n.SongID, *n.Similarity)
		}
	}
	r = queryJSON(t, "--index", ix, "--features", feats, "--song", "y", "--k", "5")
	if len(r.Queries) != 1 || len(r.Queries[0].Neighbors) != 3 { // y itself excluded
		t.Fatalf("result %+v", r)
	}
}

func TestQueryErrors(t *testing.T) {
	dir := t.TempDir()
	writeTinyIndex(t, dir, []schema.Embedding{{SongID: "a", Embedding: []float32{1, 0}, Model: "m"}},
		index.Info{Model: "m", Dim: 2, Distance: "cosine", Search: index.EmbeddingsDir})
	for _, args := range [][]string{
		{"query", "--song", "a"},
		{"query", "--index", dir},
		{"query", "--index", dir, "--song", "a", "--k", "0"},
		{"query", "--index", filepath.Join(dir, "nope"), "--song", "a"},
		{"query", "--index", dir, "--song", "zz"},
		{"query", "--index", dir, "--features", filepath.Join(dir, "none.parquet")},
		{"query", "--index", dir, "--song", "a", "extra"},
	} {
		if _, _, err := runCLI(args...); err == nil {
			t.Errorf("%v: no error", args)
		}
	}
	if _, _, err := runCLI("query", "--index", dir, "--song", "zz"); !errors.Is(err, search.ErrNotFound) {
		t.Errorf("unknown song: %v", err)
	}
}
