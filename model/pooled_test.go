package model

import (
	"errors"
	"math"
	"testing"

	"github.com/vindex/vindex/model/statedict"
)

// Pooled followed by lin1 and the BatchNorm of the checkpoint gives the
// embedding Embed computes (checked against the PyTorch goldens elsewhere).
func TestPooledThenHeadIsEmbed(t *testing.T) {
	w := mainWeights(t)
	n := w.NewNet()
	lin1, _, mean, scale := w.Head()
	for _, T := range []int{320, 700} {
		x := randomCrema(T, uint64(T))
		emb := make([]float32, n.Dim())
		if err := n.Embed(emb, x, ModelHop); err != nil {
			t.Fatal(err)
		}
		pooled := make([]float32, PooledDim)
		if err := n.Pooled(pooled, x, ModelHop); err != nil {
			t.Fatal(err)
		}
		for i := range emb {
			var acc float64
			for c := 0; c < PooledDim; c++ {
				acc += float64(lin1[i*PooledDim+c]) * float64(pooled[c])
			}
			y := (float32(acc) - mean[i]) * scale[i]
			if math.Abs(float64(y-emb[i])) > 1e-6 {
				t.Fatalf("T=%d dim %d: head(Pooled) = %v, Embed = %v", T, i, y, emb[i])
			}
		}
	}
}

func TestPooledErrorsAndAllocs(t *testing.T) {
	n := mainWeights(t).NewNet()
	dst := make([]float32, PooledDim)
	if err := n.Pooled(dst[:10], randomCrema(400, 1), ModelHop); !errors.Is(err, ErrInput) {
		t.Errorf("short dst: %v, want ErrInput", err)
	}
	if err := n.Pooled(dst, randomCrema(100, 1), ModelHop); !errors.Is(err, ErrTooShort) {
		t.Errorf("100 frames: %v, want ErrTooShort", err)
	}
	long, short := randomCrema(700, 3), randomCrema(400, 4)
	if err := n.Pooled(dst, long, ModelHop); err != nil {
		t.Fatal(err)
	}
	allocs := testing.AllocsPerRun(3, func() {
		if err := n.Pooled(dst, short, ModelHop); err != nil {
			t.Fatal(err)
		}
		if err := n.Pooled(dst, long, ModelHop); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("Pooled allocates %v times per run in steady state, want 0", allocs)
	}
}

// Checkpoints that differ only in the head share the extractor id.
func TestExtractorID(t *testing.T) {
	m := readManifest(t)
	sd := loadGoldenCheckpoint(t, m.Checkpoints["sum4-fa3-d256-zip"].File)
	base, err := NewWeights(sd, Config{})
	if err != nil {
		t.Fatal(err)
	}
	edit := func(key string) *Weights {
		c := &statedict.Dict{}
		for _, k := range sd.Keys {
			tn := *sd.Tensors[k]
			if k == key {
				tn.Data = append([]float32(nil), tn.Data...)
				tn.Data[0] += 0.5
			}
			c.Add(k, &tn)
		}
		w, err := NewWeights(c, Config{})
		if err != nil {
			t.Fatal(err)
		}
		return w
	}
	if a, b := base.ExtractorID(), edit("lin1.weight").ExtractorID(); a != b {
		t.Errorf("new head changed the extractor id: %s → %s", a, b)
	}
	if a, b := base.ExtractorID(), edit("conv3.weight").ExtractorID(); a == b {
		t.Errorf("new conv3 kept the extractor id %s", a)
	}
	if base.ExtractorID() == base.ID() {
		t.Error("extractor id equals the model id")
	}
}
