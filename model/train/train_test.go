package train

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// clusters returns a labelled set of works×versions songs in `in`
// dimensions: the work is a point in the first 4 dimensions (small scale),
// the rest is loud noise shared by no work, so directions of large variance
// carry no identity and a label-aware head must find the small ones.
func clusters(works, versions, in int, seed uint64) *Data {
	rng := rand.New(rand.NewPCG(seed, 9))
	d := &Data{In: in, Works: works}
	for w := 0; w < works; w++ {
		centre := make([]float64, 4)
		for k := range centre {
			centre[k] = rng.NormFloat64()
		}
		for v := 0; v < versions; v++ {
			for k := 0; k < in; k++ {
				x := 1 * rng.NormFloat64()
				if k < 4 {
					x = centre[k] + 0.15*rng.NormFloat64()
				}
				d.X = append(d.X, float32(x))
			}
			d.Songs = append(d.Songs, Song{Work: int32(w), Full: int32(len(d.Songs))})
		}
	}
	return d
}

func teacherOf(t *testing.T, d, in int, seed uint64) *Teacher {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 3))
	te := &Teacher{D: d, W: make([]float32, d*in), Mean: make([]float32, d), Var: make([]float32, d)}
	for i := range te.W {
		te.W[i] = float32(rng.NormFloat64() / math.Sqrt(float64(in)))
	}
	for i := range te.Var {
		te.Var[i] = 1
	}
	return te
}

func TestTrainLearnsAndIsDeterministic(t *testing.T) {
	all := clusters(60, 4, 32, 1)
	tr, val := SplitByWork(all, 0.25, 7)
	if len(val.Songs) != 15*4 || len(tr.Songs) != 45*4 {
		t.Fatalf("split: %d training, %d validation songs; want 180 and 60", len(tr.Songs), len(val.Songs))
	}
	te := teacherOf(t, 16, 32, 2)
	// The teacher's random projection, ranked as a triplet model would be.
	tm := make([]float32, len(val.Songs)*te.D)
	vx, vw := val.fullRows()
	EvalEmbed(tm, te.W, 32, te.D, vx, len(val.Songs), te.Mean, te.Var)
	teacherMAP, err := mapOf(tm, len(val.Songs), te.D, vw, "sqeuclidean")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []Method{LSR, KD, Prune} {
		t.Run(string(m), func(t *testing.T) {
			cfg := Defaults(m, 4)
			cfg.Epochs, cfg.BatchSize = 100, 16
			a, err := Train(cfg, te, tr, val)
			if err != nil {
				t.Fatal(err)
			}
			b, err := Train(cfg, te, tr, val)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(a.W, b.W) || !slices.Equal(a.Mean, b.Mean) || !slices.Equal(a.Var, b.Var) {
				t.Fatal("two runs with the same seed differ")
			}
			if a.D != 4 || len(a.W) != 4*32 {
				t.Fatalf("student is %d×%d", a.D, len(a.W)/max(a.D, 1))
			}
			if m == Prune && len(a.Kept) != 4 {
				t.Fatalf("pruning kept %d rows, want 4", len(a.Kept))
			}
			t.Logf("%s: validation MAP %.3f (teacher's random projection %.3f), %d epochs logged", m, a.ValMAP, teacherMAP, len(a.History))
			if first, last := a.History[0].Loss, a.History[len(a.History)-1].Loss; !(last < first) {
				t.Errorf("training loss went from %.4f to %.4f", first, last)
			}
			// KD copies the distances of a teacher that knows nothing of the
			// labels (a random projection), so it is not expected to beat it.
			if m != KD && !(a.ValMAP > teacherMAP+0.05) {
				t.Errorf("validation MAP %.3f does not beat the teacher's %.3f", a.ValMAP, teacherMAP)
			}
		})
	}
}

func TestPruneSchedule(t *testing.T) {
	for _, c := range []struct {
		d, dim int
		want   []int
	}{
		{16000, 2048, []int{16000, 8000, 4000, 2048}},
		{256, 32, []int{256, 128, 64, 32}},
		{2048, 256, []int{2048, 1024, 512, 256}},
		{256, 256, []int{256}},
		{256, 100, []int{256, 128, 100}},
	} {
		if got := PruneSchedule(c.d, c.dim); !slices.Equal(got, c.want) {
			t.Errorf("PruneSchedule(%d, %d) = %v, want %v", c.d, c.dim, got, c.want)
		}
	}
}

// Ranger and SGD minimise a convex quadratic.
func TestOptimizersMinimise(t *testing.T) {
	for name, opt := range map[string]Optimizer{"sgd": SGD{}, "ranger": NewRanger()} {
		p := []float32{3, -2, 1}
		g := make([]float32, 3)
		for range 2000 {
			for i, v := range p {
				g[i] = 2 * v * float32(i+1)
			}
			opt.Step([][]float32{p}, [][]float32{g}, 0.05)
		}
		if n := norm(p); n > 1e-2 {
			t.Errorf("%s: |p| = %g after 2000 steps, want ≈ 0", name, n)
		}
	}
}
