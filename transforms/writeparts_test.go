package transforms

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"

	"github.com/vindex/vindex/runners"
	"github.com/vindex/vindex/schema"
	"github.com/vindex/vindex/storage"
)

// TestWriteUniqueEmbeddings writes 60 rows of 25 song ids (copies spread
// over three files, in small parts so that duplicates land in several
// parts) and checks what DedupeEmbeddings promises: one row per song_id,
// the first by (file, row), every other copy a reject with its reason and
// counted; and what a publisher promises: the manifest lists exactly the
// folder's part files (a stale part and a temporary file planted before the
// run are gone) with their rows, sizes and hashes.
func TestWriteUniqueEmbeddings(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "embeddings")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{schema.PartPrefix + "old-00000-of-00001.parquet", schema.TempPrefix + "x"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("stale"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	files := []string{"c.parquet", "a.parquet", "b.parquet"}
	var rows []schema.Embedding
	wantKept := map[string]string{} // song id → "file row" of its first copy
	for i := range 60 {
		file := files[i%3]
		id := fmt.Sprintf("s%02d", (i*7)%25)
		e := schema.Embedding{SongID: id, Embedding: []float32{float32(i)}, Model: "m", ContentHash: "h",
			Title: fmt.Sprintf("%s %d", file, i), File: file, Row: int64(i)}
		rows = append(rows, e)
	}
	for _, e := range rows {
		wantKept[e.SongID] = firstOf(rows, e.SongID)
	}
	for _, partRows := range []int64{4, 0} {
		p, s := beam.NewPipelineWithRoot()
		_, rejects := WriteUniqueEmbeddings(s, dir, beam.CreateList(s, rows), WriteOptions{PartRows: partRows, Command: "test"})
		rejectsDir := filepath.Join(t.TempDir(), "rejects")
		WriteRejects(s, rejectsDir, WriteOptions{}, rejects)
		res, err := runners.Run(context.Background(), p, runners.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if got := res.Counter("vindex." + SongsDuplicated); got != 35 {
			t.Errorf("part rows %d: %s = %d, want 35", partRows, SongsDuplicated, got)
		}
		rs, err := schema.ReadRejectsFiles(rejectsDir)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rs {
			if r.Stage != schema.StageDedupe || !strings.Contains(r.Reason, fmt.Sprintf("duplicate song_id %q: %s row ", r.SongID, r.File)) {
				t.Errorf("part rows %d: reject %+v", partRows, r)
			}
		}
		if len(rs) != 35 {
			t.Errorf("part rows %d: %d rejects, want 35", partRows, len(rs))
		}
		got, err := schema.ReadEmbeddingsFiles(dir)
		if err != nil {
			t.Fatal(err)
		}
		kept := map[string]string{}
		for _, e := range got {
			if _, ok := kept[e.SongID]; ok {
				t.Errorf("part rows %d: song %s written twice", partRows, e.SongID)
			}
			kept[e.SongID] = e.Title
		}
		if len(kept) != 25 {
			t.Errorf("part rows %d: %d songs kept, want 25", partRows, len(kept))
		}
		for id, title := range kept {
			if title != wantKept[id] {
				t.Errorf("part rows %d: song %s kept %q, want %q", partRows, id, title, wantKept[id])
			}
		}
		listed, err := schema.ListDatasetFS(schema.StorageFS{Ctx: context.Background()}, dir)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, f := range listed {
			names = append(names, filepath.Base(f.Path))
		}
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		var onDisk []string
		for _, e := range entries {
			if e.Name() != schema.ManifestName {
				onDisk = append(onDisk, e.Name())
			}
		}
		slices.Sort(names)
		slices.Sort(onDisk)
		if !slices.Equal(names, onDisk) {
			t.Errorf("part rows %d: manifest lists %v, folder holds %v", partRows, names, onDisk)
		}
		if err := verifyDataset(dir); err != nil {
			t.Errorf("part rows %d: %v", partRows, err)
		}
	}
	// Without its manifest (a run interrupted before publishing) the folder
	// is vindex's incomplete output, not a foreign dataset to read whole.
	if err := os.Remove(filepath.Join(dir, schema.ManifestName)); err != nil {
		t.Fatal(err)
	}
	if _, err := schema.ListDataset(dir); !errors.Is(err, schema.ErrIncomplete) {
		t.Errorf("parts without a manifest: ListDataset error %v, want ErrIncomplete", err)
	}
}

// firstOf returns the title of the first copy of id in rows by (file, row).
func firstOf(rows []schema.Embedding, id string) string {
	var best *schema.Embedding
	for i := range rows {
		if rows[i].SongID == id && (best == nil || compareOrigin(&rows[i], best) < 0) {
			best = &rows[i]
		}
	}
	return best.Title
}

// verifyDataset checks every file the manifest lists against its recorded
// rows, size and SHA-256.
func verifyDataset(dir string) error {
	files, err := schema.ListDatasetFS(schema.StorageFS{Ctx: context.Background()}, dir)
	if err != nil {
		return err
	}
	o := &storage.Opener{}
	defer o.Close()
	var rows int64
	for _, f := range files {
		r, err := schema.OpenVerified(context.Background(), o, f, true)
		if err != nil {
			return err
		}
		r.Close()
		rows += f.Rows
	}
	if rows != 25 {
		return fmt.Errorf("manifest lists %d rows, want 25", rows)
	}
	return nil
}
