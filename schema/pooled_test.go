package schema

import (
	"bytes"
	"errors"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func pooledFile(t testing.TB, rows []Pooled) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := NewRowWriter(&buf, reflect.TypeFor[Pooled](), PooledSchemaVersion, WriterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range rows {
		if err := w.Write(&rows[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestPooledRoundTrip(t *testing.T) {
	rows := []Pooled{
		{SongID: "P_1", WorkID: "W_1", Pooled: []float32{1, 2, 3}, Model: "m", ContentHash: "h", Frames: 900},
		{SongID: "P_1", WorkID: "W_1", Patch: 1, Start: 17, Frames: 1800, Pooled: []float32{4, 5, 6}, Model: "m", ContentHash: "h"},
	}
	b := pooledFile(t, rows)
	got, err := ReadPooled("x.parquet", bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, rows) {
		t.Fatalf("read %+v, wrote %+v", got, rows)
	}
	bad := []Pooled{{SongID: "P_2", WorkID: "W_1", Pooled: []float32{float32(math.NaN())}, Model: "m", ContentHash: "h"}}
	b = pooledFile(t, bad)
	var re *RowError
	if _, err := ReadPooled("bad.parquet", bytes.NewReader(b), int64(len(b))); !errors.As(err, &re) || re.Row != 0 {
		t.Errorf("NaN row: %v, want a RowError for row 0", err)
	}
	// A songs file is not a pooled file.
	path := filepath.Join(t.TempDir(), "songs.parquet")
	if err := WriteSongsFile(path, []Song{{SongID: "a", Crema: make([]float32, 12)}}, WriterOptions{}); err != nil {
		t.Fatal(err)
	}
	sb, _ := os.ReadFile(path)
	if _, err := ReadPooled(path, bytes.NewReader(sb), int64(len(sb))); !errors.Is(err, ErrBadFile) {
		t.Errorf("songs file read as pooled: %v, want ErrBadFile", err)
	}
}

func FuzzReadPooled(f *testing.F) {
	f.Add(pooledFile(f, []Pooled{{SongID: "P_1", WorkID: "W", Pooled: []float32{1}, Model: "m", ContentHash: "h"}}))
	f.Add([]byte("PAR1"))
	f.Fuzz(func(t *testing.T, b []byte) {
		rows, err := ReadPooled("fuzz", bytes.NewReader(b), int64(len(b)))
		if err != nil {
			return
		}
		for i := range rows {
			if err := ValidatePooled(&rows[i]); err != nil {
				t.Fatalf("ReadPooled returned an invalid row: %v", err)
			}
		}
	})
}
