package model

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/vindex/vindex/model/statedict"
)

// The goldens under testdata/parity come from testdata/gen/gen.py (PyTorch
// 1.13, MOVEModel written from remove-spec.md §1); see manifest.json. The
// checkpoints load through LoadCheckpoint, in both torch formats.

type manifest struct {
	Seed   int     `json:"seed"`
	Tol    float64 `json:"tolerance_abs"`
	Inputs map[string]struct {
		File   string `json:"file"`
		Frames int    `json:"frames"`
		Hop    int    `json:"hop"`
	} `json:"inputs"`
	Checkpoints map[string]struct {
		File            string   `json:"file"`
		Format          string   `json:"format"`
		DType           string   `json:"dtype"`
		SumMethod       int      `json:"sum_method"`
		FinalActivation int      `json:"final_activation"`
		Dim             int      `json:"dim"`
		Keys            []string `json:"keys"`
		Params          int      `json:"params"`
	} `json:"checkpoints"`
	Cases []struct {
		Name        string  `json:"name"`
		Checkpoint  string  `json:"checkpoint"`
		Input       string  `json:"input"`
		File        string  `json:"file"`
		Shape       []int   `json:"shape"`
		ModelFrames int     `json:"model_frames"`
		Tol         float64 `json:"tolerance_abs"`
	} `json:"cases"`
}

const parityDir = "testdata/parity"

func readManifest(t testing.TB) *manifest {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(parityDir, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m manifest
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return &m
}

func readF32(t testing.TB, name string) []float32 {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(parityDir, name))
	if err != nil {
		t.Fatal(err)
	}
	out := make([]float32, len(b)/4)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return out
}

var checkpointCache = map[string]*statedict.Dict{}

func loadGoldenCheckpoint(t testing.TB, file string) *statedict.Dict {
	t.Helper()
	if sd, ok := checkpointCache[file]; ok {
		return sd
	}
	sd, err := LoadCheckpoint(filepath.Join(parityDir, file))
	if err != nil {
		t.Fatalf("loading %s: %v", file, err)
	}
	checkpointCache[file] = sd
	return sd
}

func goldenWeights(t testing.TB, m *manifest, name string) *Weights {
	t.Helper()
	ck := m.Checkpoints[name]
	sd := loadGoldenCheckpoint(t, ck.File)
	wantDType := map[string]string{"float16": "F16", "float32": "F32"}[ck.DType]
	if got := sd.Tensors["conv1.weight"].DType; got != wantDType {
		t.Fatalf("%s: conv1.weight loaded as %q, the generator saved %s", ck.File, got, ck.DType)
	}
	cfg := Config{}
	if ck.SumMethod < 3 {
		cfg.SumMethod = Int(ck.SumMethod)
	} else if ck.SumMethod == 3 {
		cfg.SumMethod = Int(3)
	}
	if ck.FinalActivation != 3 {
		cfg.FinalActivation = Int(ck.FinalActivation)
	}
	w, err := NewWeights(sd, cfg)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return w
}

func TestParityPyTorch(t *testing.T) {
	m := readManifest(t)
	nets := map[string]*Net{}
	for _, c := range m.Cases {
		t.Run(c.Name, func(t *testing.T) {
			ck := m.Checkpoints[c.Checkpoint]
			n, ok := nets[c.Checkpoint]
			if !ok {
				w := goldenWeights(t, m, c.Checkpoint)
				want := Variant{ck.SumMethod, ck.FinalActivation, ck.Dim}
				if w.Variant() != want {
					t.Fatalf("variant %v, want %v", w.Variant(), want)
				}
				if w.ParamCount() != ck.Params {
					t.Errorf("ParamCount %d, want %d (PyTorch)", w.ParamCount(), ck.Params)
				}
				n = w.NewNet()
				nets[c.Checkpoint] = n
			}
			in := m.Inputs[c.Input]
			x := readF32(t, in.File)
			if tm, err := ModelFrames(len(x)/12, in.Hop); err != nil || tm != c.ModelFrames {
				t.Errorf("ModelFrames(%d, %d) = %d, %v; want %d", len(x)/12, in.Hop, tm, err, c.ModelFrames)
			}
			want := readF32(t, c.File)
			got := make([]float32, n.Dim())
			if err := n.Embed(got, x, in.Hop); err != nil {
				t.Fatal(err)
			}
			worst, at := 0.0, 0
			for i := range want {
				if d := math.Abs(float64(got[i] - want[i])); d > worst || math.IsNaN(d) {
					worst, at = d, i
				}
			}
			if !(worst <= c.Tol) {
				t.Errorf("max |Δ| = %.3g at %d (got %v, want %v), tolerance %g", worst, at, got[at], want[at], c.Tol)
			}
			t.Logf("max |Δ| = %.3g", worst)
		})
	}
}
