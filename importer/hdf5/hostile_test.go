package hdf5

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"runtime"
	"testing"
)

// growDims rewrites the first dataspace of the fixture whose shape is
// [rows, 12] to [newRows, 12]: a 21 kB file then declares a dataset of
// newRows×12 elements whose chunks were never written.
func growDims(t testing.TB, name string, rows, newRows uint64) []byte {
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	var pat, repl [16]byte
	binary.LittleEndian.PutUint64(pat[:], rows)
	binary.LittleEndian.PutUint64(pat[8:], 12)
	binary.LittleEndian.PutUint64(repl[:], newRows)
	binary.LittleEndian.PutUint64(repl[8:], 12)
	i := bytes.Index(b, pat[:])
	if i < 0 {
		t.Fatalf("%s: no [%d 12] dataspace", name, rows)
	}
	copy(b[i:], repl[:])
	return b
}

// A small file may not declare a dataset much larger than itself: chunked
// datasets whose chunks were never written read as zeros, so before the
// element budget a 21 kB file returned 16 Mi×12 zeros (800 MB).
func TestSmallFileHugeDatasetRefused(t *testing.T) {
	for _, tc := range []struct {
		name string
		rows uint64
	}{
		{"h5py_chunked_gzip_shuffle_f8.h5", 100},
		{"h5py_latest_chunked_f4.h5", 50},
		{"h5py_contiguous_f4.h5", 40},
	} {
		b := growDims(t, tc.name, tc.rows, 1<<24)
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		f, err := Open(bytes.NewReader(b), int64(len(b)), tc.name, Options{})
		if err == nil {
			var d *Dataset
			if d, err = f.Dataset("crema"); err == nil {
				_, err = d.Float32()
			}
		}
		runtime.ReadMemStats(&after)
		if !errors.Is(err, ErrTooLarge) {
			t.Errorf("%s with 2^24 rows: error %v, want ErrTooLarge", tc.name, err)
		}
		if n := after.TotalAlloc - before.TotalAlloc; n > 100<<20 {
			t.Errorf("%s with 2^24 rows: allocated %d MB, want < 100 MB", tc.name, n>>20)
		}
	}
}

// A File reads at most readsPerByte times its size plus baseReads over its
// life, so structures that name the same bytes again and again (a chunk
// index or continuation blocks pointing at one region) are cut off; reading
// a dataset a few times is well inside it.
func TestFileReadBudget(t *testing.T) {
	b, err := os.ReadFile("testdata/h5py_chunked_gzip_shuffle_f8.h5")
	if err != nil {
		t.Fatal(err)
	}
	f, err := Open(bytes.NewReader(b), int64(len(b)), "budget.h5", Options{})
	if err != nil {
		t.Fatal(err)
	}
	f.readLeft.Store(readsPerByte * int64(len(b))) // as if the file were large: no base
	for i := range 2 * readsPerByte {
		d, err := f.Dataset("crema")
		if err == nil {
			_, err = d.Float32()
		}
		if errors.Is(err, ErrTooLarge) {
			if i < 3 {
				t.Fatalf("read %d: budget spent already: %v", i, err)
			}
			return
		}
		if err != nil {
			t.Fatalf("read %d: %v", i, err)
		}
	}
	t.Fatalf("%d reads of the dataset, no ErrTooLarge", 2*readsPerByte)
}
