package hdf5

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

type fixture struct {
	T       int    `json:"T"`
	Dtype   string `json:"dtype"`
	Layout  string `json:"layout"`
	Want    string `json:"want"`
	Feature string `json:"feature"`
	Dataset string `json:"dataset"`
}

type expected struct {
	M     []float64          `json:"matrix_f64"`
	Files map[string]fixture `json:"files"`
}

func loadExpected(t testing.TB) expected {
	t.Helper()
	b, err := os.ReadFile("testdata/expected.json")
	if err != nil {
		t.Fatal(err)
	}
	var e expected
	if err := json.Unmarshal(b, &e); err != nil {
		t.Fatal(err)
	}
	return e
}

// TestFixtures reads every file written by testdata/gen/gen_hdf5.py (h5py 3.7
// on HDF5 1.10.8, PyTables 3.7, deepdish 0.3.7) and compares the values
// exactly with the generator's matrix cast to the file's dtype, or checks
// that the reader refuses the file naming the unsupported feature.
func TestFixtures(t *testing.T) {
	e := loadExpected(t)
	if len(e.Files) < 10 {
		t.Fatalf("only %d fixtures listed", len(e.Files))
	}
	for name, fx := range e.Files {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join("testdata", name)
			data, shape, err := ReadFloat32File(path, fx.Dataset, Options{})
			if fx.Want == "error" {
				if !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), fx.Feature) || !strings.Contains(err.Error(), path) {
					t.Fatalf("err = %v, want ErrUnsupported naming %q and the file", err, fx.Feature)
				}
				return
			}
			if err != nil {
				t.Fatalf("%s: %v", fx.Layout, err)
			}
			if !slices.Equal(shape, []int{fx.T, 12}) {
				t.Fatalf("shape %v, want [%d 12]", shape, fx.T)
			}
			for i, v := range data {
				// float32 files hold float32(M); float64 files are converted to float32 here.
				if want := float32(e.M[i]); v != want {
					t.Fatalf("%s: value %d = %v, want %v", fx.Layout, i, v, want)
				}
			}
		})
	}
}

func TestErrors(t *testing.T) {
	// Missing dataset: ErrNotFound naming the file and the name.
	_, _, err := ReadFloat32File("testdata/h5py_contiguous_f4.h5", "chroma", Options{})
	if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "h5py_contiguous_f4.h5") || !strings.Contains(err.Error(), "chroma") {
		t.Errorf("missing dataset: err = %v", err)
	}
	// A group is not a dataset.
	_, _, err = ReadFloat32File("testdata/h5py_chunked_group_f4.h5", "features", Options{})
	if !errors.Is(err, ErrNotFound) {
		t.Errorf("group: err = %v, want ErrNotFound", err)
	}
	// Not HDF5.
	_, _, err = ReadFloat32File("testdata/expected.json", "crema", Options{})
	if !errors.Is(err, ErrNotHDF5) || !strings.Contains(err.Error(), "expected.json") {
		t.Errorf("json: err = %v, want ErrNotHDF5 naming the file", err)
	}
	// Element limit.
	_, _, err = ReadFloat32File("testdata/h5py_contiguous_f4.h5", "crema", Options{MaxElements: 100})
	if !errors.Is(err, ErrTooLarge) {
		t.Errorf("limit: err = %v, want ErrTooLarge", err)
	}
	// Truncated file.
	b, err := os.ReadFile("testdata/h5py_chunked_gzip_shuffle_f8.h5")
	if err != nil {
		t.Fatal(err)
	}
	b = b[:len(b)/2]
	f, err := Open(bytes.NewReader(b), int64(len(b)), "half.h5", Options{})
	if err == nil {
		var d *Dataset
		if d, err = f.Dataset("crema"); err == nil {
			_, err = d.Float32()
		}
	}
	if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "half.h5") {
		t.Errorf("truncated: err = %v, want ErrCorrupt naming the file", err)
	}
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.ReaderAt
	n int64
}

func (c *countingReader) ReadAt(p []byte, off int64) (int, error) {
	n, err := c.r.ReadAt(p, off)
	c.n += int64(n)
	return n, err
}

func readAll(b []byte, name string) ([]float32, error) {
	data, _, err := readAllCounted(b, name)
	return data, err
}

// readAllCounted reads dataset name and says how many bytes it read from b.
func readAllCounted(b []byte, name string) ([]float32, int64, error) {
	cr := &countingReader{r: bytes.NewReader(b)}
	f, err := Open(cr, int64(len(b)), "fuzz.h5", Options{MaxElements: 1 << 16})
	if err != nil {
		return nil, cr.n, err
	}
	d, err := f.Dataset(name)
	if err != nil {
		return nil, cr.n, err
	}
	data, err := d.Float32()
	return data, cr.n, err
}

func FuzzRead(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.h5")
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	// small files declaring huge datasets (TestSmallFileHugeDatasetRefused)
	f.Add(growDims(f, "h5py_chunked_gzip_shuffle_f8.h5", 100, 1<<24))
	f.Add(growDims(f, "h5py_latest_chunked_f4.h5", 50, 1<<24))
	f.Fuzz(func(t *testing.T, b []byte) {
		data, read, err := readAllCounted(b, "crema")
		if err == nil && len(data) > 1<<16 {
			t.Fatalf("%d values beyond the limit", len(data))
		}
		// the superblock search reads a few small signatures beyond the budget
		if limit := readsPerByte*int64(len(b)) + baseReads + 4096; read > limit {
			t.Fatalf("%d-byte file: %d bytes read, more than %d", len(b), read, limit)
		}
	})
}

func BenchmarkReadChunkedGzip(b *testing.B) {
	raw, err := os.ReadFile("testdata/pytables_carray_zlib_f4.h5")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := readAll(raw, "crema"); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "songs/s")
}
