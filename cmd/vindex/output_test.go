package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"

	"github.com/vindex/vindex/importer/synth"
	"github.com/vindex/vindex/model"
	"github.com/vindex/vindex/model/safetensors"
	"github.com/vindex/vindex/pipelines/index"
	"github.com/vindex/vindex/schema"
	"github.com/vindex/vindex/storage"
)

// tinyIndexInputs writes a small synthetic catalog (18 songs) into
// dir/in/catalog, a copy of one of its songs into dir/in/extra, and seeded
// 16-d weights.
func tinyIndexInputs(t *testing.T, dir string) (catalog, weights, dupID string) {
	t.Helper()
	c := synth.Small()
	c.Works, c.Versions, c.Noise, c.Seed = 5, 3, 3, 11
	c.MeanDurationS, c.SDDurationS, c.MinDurationS, c.MaxDurationS = 32, 1, 31, 34
	c.SongsPerFile, c.RowGroupRows = 10, 4
	catalog = filepath.Join(dir, "in", "catalog")
	if _, err := synth.Generate(c, catalog); err != nil {
		t.Fatal(err)
	}
	files, err := schema.ListDataset(catalog)
	if err != nil {
		t.Fatal(err)
	}
	songs, err := schema.ReadSongsFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	// A copy of the first song in a folder of its own, read after the catalog.
	if err := schema.WriteSongsFile(filepath.Join(dir, "in", "extra", "copy.parquet"), songs[:1], schema.WriterOptions{}); err != nil {
		t.Fatal(err)
	}
	weights = filepath.Join(dir, "w.safetensors")
	var b bytes.Buffer
	if err := safetensors.Write(&b, model.SeededCheckpoint(16, 5), nil); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(weights, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return catalog, weights, songs[0].SongID
}

// TestIndexOutputsNeverMixRuns: a catalog with a duplicated song_id indexes
// and queries; a second index into the same folder is refused without
// --overwrite and leaves it as it was; a folder whose reducer comes from
// another run is refused by query, evaluate and reduce; --overwrite replaces
// the folder whole and leaves nothing beside it.
func TestIndexOutputsNeverMixRuns(t *testing.T) {
	beam.Init()
	dir := t.TempDir()
	catalog, weights, dup := tinyIndexInputs(t, dir)
	inGlob := filepath.Join(filepath.Dir(catalog), "*", "*.parquet")
	idx := filepath.Join(dir, "out", "idx")
	args := []string{"index", "--weights", weights, "--in", inGlob, "--method", "pca", "--dim", "4", "--shards", "2", "--quiet"}
	if _, errOut, err := runCLI(append(args, "--out", idx)...); err != nil {
		t.Fatalf("index: %v\n%s", err, errOut)
	}
	info, err := index.ReadInfo(idx)
	if err != nil {
		t.Fatal(err)
	}
	if info.Songs != 18 || info.Rejected != 1 {
		t.Errorf("index of 18 songs + 1 duplicate: %d songs, %d rejected", info.Songs, info.Rejected)
	}
	if err := index.Verify(idx); err != nil {
		t.Fatalf("fresh index: %v", err)
	}
	r := queryJSON(t, "--index", idx, "--song", dup, "--k", "3")
	if len(r.Queries) != 1 || len(r.Queries[0].Neighbors) != 3 {
		t.Fatalf("query of the duplicated song: %+v", r)
	}

	// A second run without --overwrite is refused, the folder untouched.
	before, _ := os.ReadFile(filepath.Join(idx, index.InfoFile))
	_, _, err = runCLI(append(args, "--out", idx)...)
	if !errors.Is(err, storage.ErrOutputExists) || !strings.Contains(err.Error(), "--overwrite") {
		t.Errorf("index into an index without --overwrite: %v, want ErrOutputExists naming --overwrite", err)
	}
	if after, _ := os.ReadFile(filepath.Join(idx, index.InfoFile)); !bytes.Equal(before, after) {
		t.Errorf("refused run changed index.json")
	}

	// Another run's reducer copied in: every reader refuses the folder.
	other := filepath.Join(dir, "other")
	if _, errOut, err := runCLI("index", "--weights", weights, "--in", inGlob, "--method", "pca", "--dim", "3", "--evaluate=false", "--quiet", "--out", other); err != nil {
		t.Fatalf("index: %v\n%s", err, errOut)
	}
	good, _ := os.ReadFile(filepath.Join(idx, index.ReducerFile))
	swapped, _ := os.ReadFile(filepath.Join(other, index.ReducerFile))
	if err := os.WriteFile(filepath.Join(idx, index.ReducerFile), swapped, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, cmd := range [][]string{
		{"query", "--index", idx, "--song", dup},
		{"evaluate", "--in", filepath.Join(idx, index.CompactDir), "--out", filepath.Join(dir, "eval")},
		{"reduce", "--reducer", filepath.Join(other, index.ReducerFile), "--in", filepath.Join(idx, index.EmbeddingsDir), "--out", filepath.Join(dir, "red")},
	} {
		if _, _, err := runCLI(cmd...); !errors.Is(err, index.ErrMismatch) {
			t.Errorf("%s on a folder with another run's reducer: %v, want index.ErrMismatch", cmd[0], err)
		}
	}
	if err := os.WriteFile(filepath.Join(idx, index.ReducerFile), good, 0o644); err != nil {
		t.Fatal(err)
	}

	// --overwrite replaces the folder whole.
	if _, errOut, err := runCLI(append(args, "--out", idx, "--overwrite", "--dim", "5")...); err != nil {
		t.Fatalf("index --overwrite: %v\n%s", err, errOut)
	}
	if info, err := index.ReadInfo(idx); err != nil || info.OutDim != 5 {
		t.Fatalf("after --overwrite: %+v, %v; want the new 5-d index", info, err)
	}
	if err := index.Verify(idx); err != nil {
		t.Errorf("after --overwrite: %v", err)
	}
	if ents, _ := os.ReadDir(filepath.Dir(idx)); len(ents) != 1 {
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		t.Errorf("beside the index: %v, want only idx", names)
	}

	// embed refuses an existing dataset folder alike.
	emb := filepath.Join(dir, "emb")
	eargs := []string{"embed", "--weights", weights, "--in", inGlob, "--out", emb, "--quiet"}
	if _, errOut, err := runCLI(eargs...); err != nil {
		t.Fatalf("embed: %v\n%s", err, errOut)
	}
	if _, _, err := runCLI(eargs...); !errors.Is(err, storage.ErrOutputExists) {
		t.Errorf("embed into a dataset without --overwrite: %v, want ErrOutputExists", err)
	}
	if _, errOut, err := runCLI(append(eargs, "--overwrite")...); err != nil {
		t.Errorf("embed --overwrite: %v\n%s", err, errOut)
	}
}
