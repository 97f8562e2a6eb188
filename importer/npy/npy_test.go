package npy

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/vindex/vindex/model/statedict"
)

type expected struct {
	Shape  []int     `json:"shape"`
	F64    []float64 `json:"matrix_f64"`
	F2     []float32 `json:"matrix_f2_as_f32"`
	Int100 []float64 `json:"matrix_i_times_100"`
}

func loadExpected(t *testing.T) expected {
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

// TestFixtures reads files written by numpy 1.24 (testdata/gen/gen_npy.py)
// and compares them with the generator's values, exactly.
func TestFixtures(t *testing.T) {
	e := loadExpected(t)
	f32 := make([]float32, len(e.F64))
	f64as32 := make([]float32, len(e.F64))
	ints := make([]float32, len(e.Int100))
	for i, v := range e.F64 {
		f32[i] = float32(v)
		f64as32[i] = float32(v)
	}
	for i, v := range e.Int100 {
		ints[i] = float32(v)
	}
	cases := []struct {
		file    string
		want    []float32
		fortran bool
	}{
		{"f4_v1.npy", f32, false},
		{"f4_v2.npy", f32, false},
		{"f4_v3.npy", f32, false},
		{"f8_v1.npy", f64as32, false},
		{"f8_be.npy", f64as32, false},
		{"f2_v1.npy", e.F2, false},
		{"f4_fortran.npy", f32, true},
		{"i2_v1.npy", ints, false},
		{"u1_v1.npy", ints, false},
		{"i8_v1.npy", ints, false},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			a, err := ReadFile(filepath.Join("testdata", c.file), Options{})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(a.Shape, e.Shape) {
				t.Fatalf("shape %v, want %v", a.Shape, e.Shape)
			}
			if a.FortranOrder != c.fortran {
				t.Errorf("FortranOrder = %v, want %v", a.FortranOrder, c.fortran)
			}
			if !slices.Equal(a.Data, c.want) {
				t.Errorf("data differ:\n got %v\nwant %v", a.Data[:12], c.want[:12])
			}
		})
	}
}

func TestErrors(t *testing.T) {
	good, err := os.ReadFile("testdata/f4_v1.npy")
	if err != nil {
		t.Fatal(err)
	}
	_, err = ReadFile("testdata/c8_v1.npy", Options{})
	if !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), "c8_v1.npy") || !strings.Contains(err.Error(), "<c8") {
		t.Errorf("complex: err = %v, want ErrUnsupported naming the file and dtype", err)
	}
	if _, err := Read(bytes.NewReader([]byte("PK\x03\x04 not npy")), Options{}); !errors.Is(err, ErrNotNPY) {
		t.Errorf("zip: err = %v, want ErrNotNPY", err)
	}
	if _, err := Read(bytes.NewReader(good[:len(good)-3]), Options{}); !errors.Is(err, ErrCorrupt) {
		t.Errorf("truncated: err = %v, want ErrCorrupt", err)
	}
	if _, err := Read(bytes.NewReader(good), Options{MaxElements: 59}); !errors.Is(err, ErrTooLarge) {
		t.Errorf("limit: err = %v, want ErrTooLarge", err)
	}
	// A header declaring a huge shape over a tiny body must fail cheaply.
	huge := bytes.Replace(good, []byte("(5, 12)"), []byte("(999999999, 99999)"), 1)
	if _, err := Read(bytes.NewReader(huge), Options{}); !errors.Is(err, ErrTooLarge) {
		t.Errorf("huge shape: err = %v, want ErrTooLarge", err)
	}
	if _, err := ReadFile("testdata/missing.npy", Options{}); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: err = %v", err)
	}
}

func TestFloat16(t *testing.T) {
	for _, c := range []struct {
		h    uint16
		want float32
	}{{0x3c00, 1}, {0xc000, -2}, {0x0001, 5.9604645e-08}, {0x7bff, 65504}, {0x0000, 0}, {0x3555, 0.33325195}} {
		if got := statedict.Float16ToFloat32(c.h); got != c.want {
			t.Errorf("Float16ToFloat32(%#x) = %v, want %v", c.h, got, c.want)
		}
	}
}

func FuzzRead(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.npy")
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		a, err := Read(bytes.NewReader(b), Options{MaxElements: 1 << 20})
		if err != nil {
			return
		}
		n := 1
		for _, d := range a.Shape {
			n *= d
		}
		if n != len(a.Data) {
			t.Fatalf("shape %v but %d values", a.Shape, len(a.Data))
		}
	})
}

// ReadFile checks the shape against the file's size before reading the
// data, and opens regular files only: a 100-byte file declaring 2^27
// float64 values is refused having allocated almost nothing, and a folder
// and /dev/zero are refused too (a FIFO: npy_unix_test.go).
func TestReadFileBoundedByFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "big.npy")
	hdr := "{'descr': '<f8', 'fortran_order': False, 'shape': (134217728,), }"
	for (10+len(hdr)+1)%64 != 0 {
		hdr += " "
	}
	b := append([]byte("\x93NUMPY\x01\x00"), byte(len(hdr)+1), 0)
	b = append(append(b, hdr...), '\n')
	if err := os.WriteFile(p, append(b, make([]byte, 16)...), 0o644); err != nil {
		t.Fatal(err)
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	_, err := ReadFile(p, Options{})
	runtime.ReadMemStats(&after)
	if !errors.Is(err, ErrCorrupt) {
		t.Errorf("short file: error %v, want ErrCorrupt", err)
	}
	if n := after.TotalAlloc - before.TotalAlloc; n > 1<<20 {
		t.Errorf("short file: allocated %d bytes", n)
	}
	for _, p := range []string{dir, "/dev/zero"} {
		if _, err := os.Stat(p); err != nil {
			continue
		}
		if _, err := ReadFile(p, Options{}); !errors.Is(err, ErrNotNPY) {
			t.Errorf("%s: error %v, want ErrNotNPY", p, err)
		}
	}
}
