package schema

import (
	"errors"
	"path/filepath"
	"reflect"
	"testing"
)

func testSongs(n, frames int) []Song {
	out := make([]Song, n)
	for i := range out {
		c := make([]float32, frames*PitchClasses)
		for j := range c {
			c[j] = float32((i*7+j)%101) / 100
		}
		out[i] = Song{SongID: "s" + string(rune('a'+i%26)) + string(rune('0'+i/26)), WorkID: "w" + string(rune('0'+i%3)),
			Hop: int32([]int{0, 512, 4096}[i%3]), Crema: c, Title: "t", Artist: "a", Year: 1999, DurationS: 12.5,
			Extra: map[string]string{"label": "x"}}
	}
	return out
}

func TestSongsRoundTrip(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "songs.parquet")
	want := testSongs(10, 5)
	if err := WriteSongsFile(path, want, WriterOptions{RowGroupRows: 3}); err != nil {
		t.Fatal(err)
	}
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if f.NumRowGroups() != 4 {
		t.Errorf("row groups = %d, want 4", f.NumRowGroups())
	}
	if v := f.SchemaVersion(); v != SongSchemaVersion {
		t.Errorf("schema version %q", v)
	}
	got, err := ReadSongsFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for i := range want {
		want[i].File, want[i].Row = path, int64(i)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("round trip differs:\n got %+v\nwant %+v", got[1], want[1])
	}
	for i := range got {
		if err := ValidateSong(&got[i]); err != nil {
			t.Errorf("song %d: %v", i, err)
		}
	}
}

func TestListDatasetManifest(t *testing.T) {
	dir := t.TempDir()
	embs := []Embedding{{SongID: "a", Embedding: []float32{1, 2}, Model: "m", ContentHash: "h"}}
	for _, name := range []string{"part-1.parquet", "part-2.parquet"} {
		if err := WriteEmbeddingsFile(filepath.Join(dir, name), embs, WriterOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := ListDataset(dir); !errors.Is(err, ErrIncomplete) {
		t.Fatalf("no manifest: err = %v, want ErrIncomplete", err)
	}
	m := Manifest{Version: ManifestVersion, Schema: EmbeddingSchemaVersion, Rows: 1,
		Files: []ManifestFile{{Name: "part-2.parquet", Rows: 1, Schema: EmbeddingSchemaVersion}}}
	if err := WriteManifest(dir, m); err != nil {
		t.Fatal(err)
	}
	for _, pattern := range []string{dir, dir + "/", filepath.Join(dir, "*.parquet"), filepath.Join(dir, "part-2.parquet")} {
		got, err := ListDataset(pattern)
		if err != nil {
			t.Fatalf("%s: %v", pattern, err)
		}
		if want := []string{filepath.Join(dir, "part-2.parquet")}; !reflect.DeepEqual(got, want) {
			t.Errorf("ListDataset(%s) = %v, want %v", pattern, got, want)
		}
	}
	if got, err := ListDataset(filepath.Join(dir, "part-1.parquet")); err == nil {
		t.Errorf("unlisted file: got %v, want an error", got)
	}
	all, err := ReadEmbeddingsFiles(dir)
	if err != nil || len(all) != 1 || all[0].SongID != "a" {
		t.Errorf("ReadEmbeddingsFiles = %v, %v", all, err)
	}
}

// TestCountRows: footers where there is no manifest, the manifest's count
// where there is one (even if it disagrees with the footers: readers check).
func TestCountRows(t *testing.T) {
	dir := t.TempDir()
	if err := WriteSongsFile(filepath.Join(dir, "a.parquet"), testSongs(10, 5), WriterOptions{RowGroupRows: 3}); err != nil {
		t.Fatal(err)
	}
	if err := WriteSongsFile(filepath.Join(dir, "b.parquet"), testSongs(4, 5), WriterOptions{}); err != nil {
		t.Fatal(err)
	}
	if n, err := CountRows(filepath.Join(dir, "*.parquet")); err != nil || n != 14 {
		t.Fatalf("CountRows = %d, %v; want 14", n, err)
	}
	m := Manifest{Version: ManifestVersion, Schema: SongSchemaVersion, Rows: 7,
		Files: []ManifestFile{{Name: "a.parquet", Rows: 7, Bytes: 1, Schema: SongSchemaVersion}}}
	if err := WriteManifest(dir, m); err != nil {
		t.Fatal(err)
	}
	if n, err := CountRows(dir); err != nil || n != 7 {
		t.Fatalf("CountRows with a manifest = %d, %v; want 7", n, err)
	}
}
