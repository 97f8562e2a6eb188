package reindex

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"

	"github.com/vindex/vindex/importer/synth"
	"github.com/vindex/vindex/model"
	"github.com/vindex/vindex/model/reduce"
	"github.com/vindex/vindex/model/safetensors"
	"github.com/vindex/vindex/pipelines/index"
	"github.com/vindex/vindex/runners"
	"github.com/vindex/vindex/schema"
	"github.com/vindex/vindex/transforms"
)

func TestMain(m *testing.M) { ptest.MainWithDefault(m, "prism") }

// tinyCatalog is a synthetic catalog of 6 works × 3 versions + 4 noise songs
// of 35–40 s at the model rate.
func tinyCatalog() synth.Config {
	c := synth.Small()
	c.Works, c.Versions, c.Noise, c.Seed = 6, 3, 4, 7
	c.MeanDurationS, c.SDDurationS, c.MinDurationS, c.MaxDurationS = 37, 2, 35, 40
	c.SongsPerFile, c.RowGroupRows = 8, 4
	return c
}

func reindexOnce(t *testing.T, cfg Config) *Summary {
	t.Helper()
	ctx := context.Background()
	plan, err := Prepare(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	p, s := beam.NewPipelineWithRoot()
	Build(s, plan)
	res, err := runners.Run(ctx, p, runners.Options{})
	if err != nil {
		t.Fatal(err)
	}
	sum, err := Publish(plan, res.Counters())
	if err != nil {
		t.Fatal(err)
	}
	return sum
}

func readSet(t *testing.T, dir, set string) map[string]schema.Embedding {
	t.Helper()
	embs, err := schema.ReadEmbeddingsFiles(filepath.Join(dir, set, "*.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]schema.Embedding{}
	for _, e := range embs {
		m[e.SongID] = e
	}
	return m
}

func sameBits(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return false
		}
	}
	return true
}

// TestReindex runs the nightly job three times: a first version, a second
// on the same catalog (no embedding work, identical embeddings), and a third
// after a song was removed, one changed and one added.
func TestReindex(t *testing.T) {
	dir := t.TempDir()
	catalog := filepath.Join(dir, "catalog")
	cat := tinyCatalog()
	if _, err := synth.Generate(cat, catalog); err != nil {
		t.Fatal(err)
	}
	n := cat.Works*cat.Versions + cat.Noise
	weights := filepath.Join(dir, "w.safetensors")
	f, err := os.Create(weights)
	if err != nil {
		t.Fatal(err)
	}
	if err := safetensors.Write(f, model.SeededCheckpoint(64, 3), nil); err != nil {
		t.Fatal(err)
	}
	f.Close()
	idx := filepath.Join(dir, "index")
	cfg := Config{Catalog: filepath.Join(catalog, "*.parquet"), Index: idx, Weights: weights,
		Fit: transforms.FitConfig{Method: reduce.PCA, K: 8}, Shards: 2, Command: "test"}

	// 1. The first version embeds everything.
	s1 := reindexOnce(t, cfg)
	if s1.Version != "v0001" || s1.Added != n || s1.Carried != 0 || s1.Embedded != int64(n) || !s1.Refit {
		t.Fatalf("first run: %+v, want v0001 with %d added and embedded, a fitted reducer", s1, n)
	}
	if cur, _ := Current(idx); cur != "v0001" {
		t.Fatalf("CURRENT = %q after the first run", cur)
	}
	if s1.MAP == nil {
		t.Errorf("first run: no MAP although the catalog carries work_ids")
	}

	// 2. The same catalog again: nothing embedded, identical embeddings.
	cfg.Weights = "" // taken from the current version
	s2 := reindexOnce(t, cfg)
	if s2.Version != "v0002" || s2.Embedded != 0 || s2.Carried != n || s2.Added+s2.Changed+s2.Removed != 0 || s2.Refit {
		t.Fatalf("second run: %+v, want v0002 with %d carried, nothing embedded, the reducer reused", s2, n)
	}
	if s2.DeltaMAP == nil || *s2.DeltaMAP != 0 {
		t.Errorf("second run: MAP change %v, want exactly 0", s2.DeltaMAP)
	}
	for _, set := range []string{index.EmbeddingsDir, index.CompactDir} {
		a, b := readSet(t, filepath.Join(idx, "v0001"), set), readSet(t, filepath.Join(idx, "v0002"), set)
		if len(a) != n || len(b) != n {
			t.Fatalf("%s: %d and %d rows, want %d", set, len(a), len(b), n)
		}
		for id, e := range a {
			if !sameBits(e.Embedding, b[id].Embedding) || e.ContentHash != b[id].ContentHash {
				t.Fatalf("%s: song %s differs between v0001 and v0002", set, id)
			}
		}
	}

	// 3. Remove one song, change one, add one.
	songs := map[string]schema.Song{}
	files, err := schema.ListDataset(cfg.Catalog)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		ss, err := schema.ReadSongsFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range ss {
			songs[s.SongID] = s
		}
	}
	ids := make([]string, 0, len(songs))
	for id := range songs {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	removed, changed := ids[0], ids[1]
	delete(songs, removed)
	c := songs[changed]
	c.Crema = append([]float32(nil), c.Crema...)
	synth.Roll(c.Crema[:12*40], 1) // an edit of the first 40 frames
	songs[changed] = c
	added := songs[ids[2]]
	added.SongID = "new-song"
	songs[added.SongID] = added
	catalog2 := filepath.Join(dir, "catalog2")
	if err := os.MkdirAll(catalog2, 0o755); err != nil {
		t.Fatal(err)
	}
	var rows []schema.Song
	for _, s := range songs {
		rows = append(rows, s)
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].SongID < rows[j].SongID })
	if err := schema.WriteSongsFile(filepath.Join(catalog2, "songs.parquet"), rows, schema.WriterOptions{RowGroupRows: 5}); err != nil {
		t.Fatal(err)
	}
	cfg.Catalog = filepath.Join(catalog2, "*.parquet")
	s3 := reindexOnce(t, cfg)
	if s3.Version != "v0003" || s3.Added != 1 || s3.Changed != 1 || s3.Removed != 1 || s3.Carried != n-2 || s3.Embedded != 2 {
		t.Fatalf("third run: %+v, want 1 added, 1 changed, 1 removed, %d carried, 2 embedded", s3, n-2)
	}
	v3 := readSet(t, filepath.Join(idx, "v0003"), index.EmbeddingsDir)
	if _, ok := v3[removed]; ok {
		t.Errorf("removed song %s still in v0003", removed)
	}
	if cur, _ := Current(idx); cur != "v0003" {
		t.Fatalf("CURRENT = %q after the third run", cur)
	}
}

// TestInterruptedVersionIsNeverCurrent checks that a version folder without
// index.json (an interrupted run) is skipped by the numbering and CURRENT
// keeps pointing at the last complete version.
func TestInterruptedVersionIsNeverCurrent(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "v0001"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "v0002"), 0o755); err != nil { // interrupted
		t.Fatal(err)
	}
	if err := switchCurrent(dir, "v0001"); err != nil {
		t.Fatal(err)
	}
	v, err := nextVersion(dir)
	if err != nil || v != "v0003" {
		t.Fatalf("nextVersion = %q, %v; want v0003", v, err)
	}
	if cur, _ := Current(dir); cur != "v0001" {
		t.Fatalf("Current = %q, want v0001", cur)
	}
	if _, err := CurrentDir(t.TempDir()); err == nil {
		t.Fatal("CurrentDir of an empty folder: want an error")
	}
}
