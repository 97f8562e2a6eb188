package schema

import (
	"errors"
	"path/filepath"
	"testing"
)

// TestSongRange reads every row range of a file of several row groups and
// checks that ranges tile the file exactly, with each song's Row.
func TestSongRange(t *testing.T) {
	path := filepath.Join(t.TempDir(), "songs.parquet")
	want := testSongs(23, 4)
	if err := WriteSongsFile(path, want, WriterOptions{RowGroupRows: 10}); err != nil {
		t.Fatal(err)
	}
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, step := range []int64{1, 3, 7, 10} {
		var got []Song
		for rg := range f.NumRowGroups() {
			n := f.RowGroupRows(rg)
			for lo := int64(0); lo < n; lo += step {
				for s, err := range f.SongRange(rg, lo, min(lo+step, n)) {
					if err != nil {
						t.Fatalf("step %d: %v", step, err)
					}
					got = append(got, s)
				}
			}
		}
		if len(got) != len(want) {
			t.Fatalf("step %d: %d songs, want %d", step, len(got), len(want))
		}
		for i := range got {
			if got[i].SongID != want[i].SongID || got[i].Row != int64(i) || got[i].File != path {
				t.Errorf("step %d: song %d is %q row %d, want %q row %d", step, i, got[i].SongID, got[i].Row, want[i].SongID, i)
			}
		}
	}
}

// TestSongRangeOutOfBounds refuses a range beyond its row group.
func TestSongRangeOutOfBounds(t *testing.T) {
	path := filepath.Join(t.TempDir(), "songs.parquet")
	if err := WriteSongsFile(path, testSongs(5, 4), WriterOptions{}); err != nil {
		t.Fatal(err)
	}
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, err := range f.SongRange(0, 3, 9) {
		if !errors.Is(err, ErrBadFile) {
			t.Errorf("range [3, 9) of 5 rows: %v, want ErrBadFile", err)
		}
		return
	}
	t.Error("range [3, 9) of 5 rows: no error")
}

// TestEmbeddingRange reads a range from the middle of a row group, through
// the untyped reader.
func TestEmbeddingRange(t *testing.T) {
	path := filepath.Join(t.TempDir(), "embs.parquet")
	var embs []Embedding
	for _, s := range testSongs(12, 1) {
		embs = append(embs, Embedding{SongID: s.SongID, WorkID: s.WorkID, Embedding: []float32{1, 2}, Model: "m", ContentHash: "h"})
	}
	if err := WriteEmbeddingsFile(path, embs, WriterOptions{}); err != nil {
		t.Fatal(err)
	}
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	i := int64(5)
	for e, err := range f.EmbeddingRange(0, 5, 9) {
		if err != nil {
			t.Fatal(err)
		}
		if e.SongID != embs[i].SongID || e.Row != i {
			t.Errorf("got %q row %d, want %q row %d", e.SongID, e.Row, embs[i].SongID, i)
		}
		i++
	}
	if i != 9 {
		t.Errorf("read up to row %d, want 9", i)
	}
}
