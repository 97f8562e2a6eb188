package reduce

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/small.vxr (a Go-produced fuzz seed)")

// smallPCA returns a PCA reducer fitted on the first rows of the PCA golden.
func smallPCA(t testing.TB) *Reducer {
	t.Helper()
	g := loadGolden(t, "pca")
	x, shape := g.array(t, "x")
	d := shape[1]
	r, err := FitPCA(momentsOf(t, x[:20*d], 20, d), PCAConfig{K: 3, Model: "move-test"})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestFileRoundTrip(t *testing.T) {
	g := loadGolden(t, "ica")
	x, shape := g.array(t, "x")
	ica, err := FitICA(x, shape[0], shape[1], ICAConfig{K: 2, Seed: 3, Model: "m2"})
	if err != nil {
		t.Fatal(err)
	}
	grp, err := NewGRP(GRPConfig{InDim: 10, OutDim: 4, Seed: 8, Model: "m3", FitCount: 99})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []*Reducer{smallPCA(t), ica, grp} {
		path := filepath.Join(t.TempDir(), "r.vxr")
		b, err := r.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		got, err := ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if got.ID() != r.ID() || !slices.Equal(got.Matrix(), r.Matrix()) || !slices.Equal(got.Mean(), r.Mean()) {
			t.Errorf("%s: round trip changed the reducer", r.ID())
		}
		gi, ri := got.Info(), r.Info()
		if gi.Model != ri.Model || gi.Seed != ri.Seed || gi.FitCount != ri.FitCount || gi.Whiten != ri.Whiten ||
			gi.Iterations != ri.Iterations || gi.Converged != ri.Converged ||
			!slices.Equal(gi.ExplainedVariance, ri.ExplainedVariance) {
			t.Errorf("%s: info %+v, want %+v", r.ID(), gi, ri)
		}
	}
}

func TestSmallFixture(t *testing.T) {
	path := filepath.Join("testdata", "small.vxr")
	r := smallPCA(t)
	if *update {
		b, err := r.MarshalBinary()
		if err == nil {
			err = os.WriteFile(path, b, 0o644)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	got, err := ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID() != r.ID() {
		t.Errorf("testdata/small.vxr has id %s, fitting gives %s (rerun with -update if the format changed on purpose)", got.ID(), r.ID())
	}
}

func TestUnmarshalErrors(t *testing.T) {
	good, err := smallPCA(t).MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	for name, b := range map[string][]byte{
		"empty":       nil,
		"magic":       append([]byte("XXREDUCE"), good[8:]...),
		"truncated":   good[:len(good)-1],
		"extra":       append(slices.Clone(good), 0),
		"huge header": append(append([]byte(Magic), 0xff, 0xff, 0xff, 0x7f), good[12:]...),
		"version":     bytes.Replace(good, []byte(FormatVersion), []byte("vindex.reducer/v9"), 1),
		"method":      bytes.Replace(good, []byte(`"method":"pca"`), []byte(`"method":"lda"`), 1),
		"in_dim":      bytes.Replace(good, []byte(`"in_dim":24`), []byte(`"in_dim":25`), 1),
	} {
		if _, err := Unmarshal(b); !errors.Is(err, ErrFormat) {
			t.Errorf("%s: err = %v, want ErrFormat", name, err)
		}
	}
	if _, err := ReadFile(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Error("ReadFile of a missing file: want an error")
	}
}

// FuzzUnmarshal checks that the parser never panics and that whatever it
// accepts re-encodes to bytes that decode to the same reducer.
func FuzzUnmarshal(f *testing.F) {
	if b, err := os.ReadFile(filepath.Join("testdata", "small.vxr")); err == nil {
		f.Add(b)
	}
	r, err := NewGRP(GRPConfig{InDim: 3, OutDim: 2, Seed: 1})
	if err != nil {
		f.Fatal(err)
	}
	b, _ := r.MarshalBinary()
	f.Add(b)
	f.Add([]byte(Magic))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := Unmarshal(b)
		if err != nil {
			return
		}
		enc, err := r.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		r2, err := Unmarshal(enc)
		if err != nil {
			t.Fatalf("re-encoding does not decode: %v", err)
		}
		if r2.ID() != r.ID() || !slices.Equal(r2.Matrix(), r.Matrix()) {
			t.Fatal("re-encoding changed the reducer")
		}
		dst := make([]float32, r.OutDim())
		r.Apply(dst, make([]float32, r.InDim()))
	})
}
