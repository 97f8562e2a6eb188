package distill

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"flag"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/vindex/vindex/importer/synth"
	"github.com/vindex/vindex/model"
	"github.com/vindex/vindex/model/train"
	"github.com/vindex/vindex/transforms"
)

var update = flag.Bool("update-student", false, "rewrite testdata/student_d32.safetensors (then rerun model/testdata/gen/student.py)")

const (
	teacherFile = "../../model/testdata/parity/ckpt_sum4-fa3-d256-zip.pt"
	parityDir   = "../../model/testdata/parity"
	studentFile = "testdata/student_d32.safetensors"
)

// pooledSynth returns the pooled features of a small synthetic catalog's
// labelled songs under the teacher w.
func pooledSynth(t *testing.T, w *model.Weights, seed uint64) *train.Data {
	t.Helper()
	cfg := synth.Small()
	cfg.Seed, cfg.Noise = seed, 0
	net := w.NewNet()
	d := &train.Data{In: model.PooledDim, Works: cfg.Works}
	for i := range cfg.Total() {
		s := synth.Song(cfg, i)
		v := make([]float32, model.PooledDim)
		if err := net.Pooled(v, s.Crema, int(s.EffectiveHop())); err != nil {
			t.Fatal(err)
		}
		work, _ := cfg.Locate(i)
		d.X = append(d.X, v...)
		d.Songs = append(d.Songs, train.Song{Work: int32(work), Full: int32(i)})
	}
	return d
}

// The student fixture is written by Go (this test with -update-student): an LSR
// student of d = 32 distilled from the parity teacher on pooled features of
// a synthetic catalog. model/testdata/gen/student.py loads it into PyTorch's
// MOVEModel(32, 4, 3) with load_state_dict(strict=True) and writes the
// embeddings TestStudentMatchesPyTorch compares with.
func TestStudentFixture(t *testing.T) {
	if !*update {
		t.Skip("skipped because it only rewrites the student fixture: run with -update-student")
	}
	sd, err := model.LoadCheckpoint(teacherFile)
	if err != nil {
		t.Fatal(err)
	}
	w, err := model.NewWeights(sd, model.Config{})
	if err != nil {
		t.Fatal(err)
	}
	data := pooledSynth(t, w, 5)
	lin1, _, _, _ := w.Head()
	te := &train.Teacher{D: w.Dim(), W: lin1, Mean: sd.Tensors["lin_bn.running_mean"].Data, Var: sd.Tensors["lin_bn.running_var"].Data}
	cfg := train.Defaults(train.LSR, 32)
	cfg.Epochs, cfg.BatchSize = 10, 32
	st, err := train.Train(cfg, te, data, nil)
	if err != nil {
		t.Fatal(err)
	}
	abs, err := filepath.Abs(studentFile)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := transforms.WriteStudent(context.Background(), abs, transforms.StudentStateDict(sd, st), map[string]string{"vindex.distill.method": "lsr"}); err != nil {
		t.Fatal(err)
	}
}

func readF32(t *testing.T, path string) []float32 {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]float32, len(b)/4)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return out
}

// vindex embeds with the distilled student as PyTorch's MOVEModel(32, 4, 3)
// does after load_state_dict of the same file (goldens from
// model/testdata/gen/student.py; sidecar testdata/student.json).
func TestStudentMatchesPyTorch(t *testing.T) {
	b, err := os.ReadFile("testdata/student.json")
	if err != nil {
		t.Fatal(err)
	}
	var meta struct {
		Tol   float64 `json:"tolerance_abs"`
		Keys  []string
		Cases []struct{ Input, File string }
	}
	if err := json.Unmarshal(b, &meta); err != nil {
		t.Fatal(err)
	}
	sd, err := model.LoadCheckpoint(studentFile)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(sd.Keys, meta.Keys) {
		t.Errorf("student keys %v, PyTorch's state_dict keys %v", sd.Keys, meta.Keys)
	}
	w, err := model.NewWeights(sd, model.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if v := w.Variant(); v != (model.Variant{SumMethod: 4, FinalActivation: 3, Dim: 32}) {
		t.Fatalf("student variant %v", v)
	}
	teacher, err := model.LoadCheckpoint(teacherFile)
	if err != nil {
		t.Fatal(err)
	}
	tw, err := model.NewWeights(teacher, model.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if w.ExtractorID() != tw.ExtractorID() {
		t.Errorf("student extractor %s differs from the teacher's %s", w.ExtractorID(), tw.ExtractorID())
	}
	if len(meta.Cases) < 3 {
		t.Fatalf("%d cases", len(meta.Cases))
	}
	net := w.NewNet()
	for _, c := range meta.Cases {
		hop := 4096
		if c.Input == "in_h512.f32" {
			hop = 512
		}
		x := readF32(t, filepath.Join(parityDir, c.Input))
		got := make([]float32, 32)
		if err := net.Embed(got, x, hop); err != nil {
			t.Fatal(err)
		}
		want := readF32(t, filepath.Join("testdata", c.File))
		var worst float64
		for i := range got {
			worst = max(worst, math.Abs(float64(got[i]-want[i])))
		}
		t.Logf("%s: max |Δ| %.2g", c.Input, worst)
		if worst > meta.Tol {
			t.Errorf("%s: max |Δ| %.3g from PyTorch, tolerance %g", c.Input, worst, meta.Tol)
		}
	}
}
