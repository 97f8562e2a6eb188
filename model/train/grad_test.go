package train

import (
	"encoding/json"
	"math"
	"os"
	"testing"
)

// The goldens in testdata/grads.json come from testdata/gen/gen.py: PyTorch
// 1.13 autograd in float64 on float32 inputs, from remove-spec.md §4.4-4.5
// (sidecar grads.meta.json). Tolerance: 1e-5 relative to the largest
// magnitude of each tensor.

type gradCase struct {
	Name, Loss  string
	B           int       `json:"b"`
	DIn         int       `json:"d_in"`
	D           int       `json:"d"`
	DT          int       `json:"dt"`
	Classes     int       `json:"classes"`
	EmbSize     float64   `json:"emb_size"`
	Margin      float64   `json:"margin"`
	Temperature float64   `json:"temperature"`
	X, W, T, P  []float64 `json:"-"`
	XJ          []float64 `json:"x"`
	WJ          []float64 `json:"w"`
	TJ          []float64 `json:"t"`
	PJ          []float64 `json:"p"`
	Labels      []int32   `json:"labels"`
	Value       float64   `json:"value"`
	GradW       []float64 `json:"grad_w"`
	GradP       []float64 `json:"grad_p"`
}

const gradTol = 1e-5

func f32s(v []float64) []float32 {
	out := make([]float32, len(v))
	for i, x := range v {
		out[i] = float32(x)
	}
	return out
}

func checkClose(t *testing.T, what string, got []float32, want []float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	var scale, worst float64
	for _, w := range want {
		scale = max(scale, math.Abs(w))
	}
	for i := range got {
		worst = max(worst, math.Abs(float64(got[i])-want[i]))
	}
	t.Logf("%s: max |Δ| %.3g relative", what, worst/scale)
	if scale == 0 || worst > gradTol*scale {
		t.Errorf("%s: max |Δ| %.3g, %.3g relative to max |torch| %.3g (tolerance %g)", what, worst, worst/scale, scale, gradTol)
	}
}

func TestGradientsMatchTorch(t *testing.T) {
	b, err := os.ReadFile("testdata/grads.json")
	if err != nil {
		t.Fatal(err)
	}
	var g struct{ Cases []gradCase }
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	if len(g.Cases) != 4 {
		t.Fatalf("%d cases, want 4", len(g.Cases))
	}
	for _, c := range g.Cases {
		t.Run(c.Name, func(t *testing.T) {
			x, w := f32s(c.XJ), f32s(c.WJ)
			h := NewHead(w, c.DIn, c.D)
			z := h.Forward(x, c.B)
			dz := make([]float32, c.B*c.D)
			var l Losses
			var value float64
			var dp []float32
			switch c.Loss {
			case "triplet":
				value = l.Triplet(dz, z, c.B, c.D, c.Labels, c.Margin, c.EmbSize)
			case "kd_distance":
				value = l.KDDistance(dz, z, c.B, c.D, f32s(c.TJ), c.DT)
			case "norm_softmax":
				dp = make([]float32, c.Classes*c.D)
				value = l.NormSoftmax(dz, dp, z, c.B, c.D, f32s(c.PJ), c.Classes, c.Labels, c.Temperature)
			default:
				t.Fatalf("unknown loss %q", c.Loss)
			}
			if math.Abs(value-c.Value) > gradTol*math.Abs(c.Value) {
				t.Errorf("loss %.9g, torch %.9g", value, c.Value)
			}
			dW := make([]float32, c.D*c.DIn)
			h.Backward(dW, dz, x)
			checkClose(t, "dL/dlin1.weight", dW, c.GradW)
			if dp != nil {
				checkClose(t, "dL/dproxies", dp, c.GradP)
			}
		})
	}
}
