package schema

import (
	"errors"
	"os"
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
	for _, name := range []string{"part-00001.parquet", "part-00002.parquet"} {
		if err := WriteEmbeddingsFile(filepath.Join(dir, name), embs, WriterOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := ListDataset(dir); !errors.Is(err, ErrIncomplete) {
		t.Fatalf("no manifest: err = %v, want ErrIncomplete", err)
	}
	st, err := os.Stat(filepath.Join(dir, "part-00002.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	m := Manifest{Version: ManifestVersion, Schema: EmbeddingSchemaVersion, Rows: 1,
		Files: []ManifestFile{{Name: "part-00002.parquet", Rows: 1, Bytes: st.Size(), Schema: EmbeddingSchemaVersion}}}
	if err := WriteManifest(dir, m); err != nil {
		t.Fatal(err)
	}
	for _, pattern := range []string{dir, dir + "/", filepath.Join(dir, "*.parquet"), filepath.Join(dir, "part-00002.parquet")} {
		got, err := ListDataset(pattern)
		if err != nil {
			t.Fatalf("%s: %v", pattern, err)
		}
		if want := []string{filepath.Join(dir, "part-00002.parquet")}; !reflect.DeepEqual(got, want) {
			t.Errorf("ListDataset(%s) = %v, want %v", pattern, got, want)
		}
	}
	if got, err := ListDataset(filepath.Join(dir, "part-00001.parquet")); err == nil {
		t.Errorf("unlisted file: got %v, want an error", got)
	}
	all, err := ReadEmbeddingsFiles(dir)
	if err != nil || len(all) != 1 || all[0].SongID != "a" {
		t.Errorf("ReadEmbeddingsFiles = %v, %v", all, err)
	}
}

// TestListDatasetForeign: folders written by other tools (Spark/Hive part
// names, with or without _SUCCESS) and explicitly named files are read;
// only vindex's own part naming without a manifest is an interrupted write.
func TestListDatasetForeign(t *testing.T) {
	embs := []Embedding{{SongID: "a", Embedding: []float32{1, 2}, Model: "m", ContentHash: "h"}}
	write := func(dir string, names ...string) {
		t.Helper()
		for _, n := range names {
			if n == SuccessMarker {
				if err := os.WriteFile(filepath.Join(dir, n), nil, 0o644); err != nil {
					t.Fatal(err)
				}
				continue
			}
			if err := WriteEmbeddingsFile(filepath.Join(dir, n), embs, WriterOptions{}); err != nil {
				t.Fatal(err)
			}
		}
	}
	spark := "part-00000-5f1e8b0c-8a4e-4c53-9d0e-3b2b1c1d2e3f-c000.snappy.parquet"
	cases := []struct {
		name  string
		files []string
		want  int // files read; -1: ErrIncomplete
	}{
		{"spark with _SUCCESS", []string{spark, "part-00001-5f1e8b0c-8a4e-4c53-9d0e-3b2b1c1d2e3f-c000.snappy.parquet", SuccessMarker}, 2},
		{"spark without _SUCCESS", []string{spark}, 1},
		{"hive", []string{"000000_0.parquet", "000001_0.parquet"}, 2},
		{"vindex pipeline, interrupted", []string{"part-0123456789ab-00000-of-00002.parquet"}, -1},
		{"vindex importer, interrupted", []string{"part-00000.parquet"}, -1},
		{"vindex part names with _SUCCESS", []string{"part-00000.parquet", SuccessMarker}, 1},
	}
	for _, c := range cases {
		dir := t.TempDir()
		write(dir, c.files...)
		for _, pattern := range []string{dir, filepath.Join(dir, "*.parquet")} {
			got, err := ListDataset(pattern)
			switch {
			case c.want < 0 && !errors.Is(err, ErrIncomplete):
				t.Errorf("%s: ListDataset(%s) = %v, %v; want ErrIncomplete", c.name, pattern, got, err)
			case c.want >= 0 && (err != nil || len(got) != c.want):
				t.Errorf("%s: ListDataset(%s) = %v, %v; want %d files", c.name, pattern, got, err, c.want)
			}
		}
		// A file named explicitly is read whatever its folder holds.
		named := filepath.Join(dir, c.files[0])
		if got, err := ListDataset(named); err != nil || len(got) != 1 {
			t.Errorf("%s: explicitly named %s: %v, %v", c.name, c.files[0], got, err)
		}
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
