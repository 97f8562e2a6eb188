package model

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/vindex/vindex/model/statedict"
)

func mainWeights(t testing.TB) *Weights {
	t.Helper()
	return goldenWeights(t, readManifest(t), "sum4-fa3-d256-zip")
}

func randomCrema(T int, seed uint64) []float32 {
	r := rand.New(rand.NewPCG(seed, 1))
	x := make([]float32, 12*T)
	for i := range x {
		x[i] = r.Float32()
	}
	return x
}

// Rolling the pitch classes leaves the embedding exactly unchanged
// (remove-spec.md §1.3: conv1 is circular over pitch, then max over the 12
// positions; the same products are summed in the same order).
func TestPitchRollInvariance(t *testing.T) {
	n := mainWeights(t).NewNet()
	x := randomCrema(400, 7)
	ref := make([]float32, n.Dim())
	if err := n.Embed(ref, x, ModelHop); err != nil {
		t.Fatal(err)
	}
	for _, s := range []int{1, 5, 11} {
		y := make([]float32, len(x))
		for f := 0; f < 400; f++ {
			for p := 0; p < 12; p++ {
				y[f*12+(p+s)%12] = x[f*12+p]
			}
		}
		got := make([]float32, n.Dim())
		if err := n.Embed(got, y, ModelHop); err != nil {
			t.Fatal(err)
		}
		for i := range got {
			if got[i] != ref[i] {
				t.Fatalf("roll %d: dim %d: %v != %v", s, i, got[i], ref[i])
			}
		}
	}
}

func TestEmbedAllocs(t *testing.T) {
	n := mainWeights(t).NewNet()
	long := randomCrema(700, 1)
	dst := make([]float32, n.Dim())
	if err := n.Embed(dst, long, ModelHop); err != nil {
		t.Fatal(err)
	}
	short := randomCrema(400, 2)
	allocs := testing.AllocsPerRun(3, func() {
		if err := n.Embed(dst, short, ModelHop); err != nil {
			t.Fatal(err)
		}
		if err := n.Embed(dst, long, ModelHop); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("Embed allocates %v times per run in steady state, want 0", allocs)
	}
}

// The portable kernel gives the same embedding as the assembly one.
func TestKernelGoParity(t *testing.T) {
	m := readManifest(t)
	saved := kern
	defer func() { kern = saved }()
	kern = microKernel{"go32", 32, func(k int, a, b, c []float32) { kernelGo(k, 32, a, b, c) }}
	testKernelParity(t, m)
	kern = microKernel{"go16", 16, kernelGo16}
	testKernelParity(t, m)
}

func testKernelParity(t *testing.T, m *manifest) {
	n := goldenWeights(t, m, "sum4-fa3-d256-zip").NewNet()
	for _, c := range m.Cases {
		if c.Name != "sum4-fa3-d256-zip__t400" {
			continue
		}
		want := readF32(t, c.File)
		got := make([]float32, n.Dim())
		if err := n.Embed(got, readF32(t, m.Inputs[c.Input].File), m.Inputs[c.Input].Hop); err != nil {
			t.Fatal(err)
		}
		for i := range got {
			if d := math.Abs(float64(got[i] - want[i])); !(d <= c.Tol) {
				t.Fatalf("dim %d: |Δ| = %g", i, d)
			}
		}
		return
	}
	t.Fatal("case not found")
}

func TestTooShortAndPadding(t *testing.T) {
	w := mainWeights(t)
	n := w.NewNet()
	dst := make([]float32, n.Dim())
	x := randomCrema(MinFrames-1, 3)
	err := n.Embed(dst, x, ModelHop)
	if !errors.Is(err, ErrTooShort) || !strings.Contains(err.Error(), "319 frames") {
		t.Fatalf("T=319: err = %v, want ErrTooShort with the frame count", err)
	}
	// hop 512: 8·319+1 frames decimate to 320.
	if err := n.Embed(dst, randomCrema(8*319+1, 4), 512); err != nil {
		t.Fatalf("hop 512, 2553 frames (320 at the model rate): %v", err)
	}
	if err := n.Embed(dst, randomCrema(8*319, 4), 512); !errors.Is(err, ErrTooShort) {
		t.Fatalf("hop 512, 2552 frames (319 at the model rate): err = %v, want ErrTooShort", err)
	}

	// PadShort: the same as embedding the zero-padded song.
	wp := *w
	wp.padShort = true
	np := wp.NewNet()
	got := make([]float32, n.Dim())
	if err := np.Embed(got, x[:12*100], ModelHop); err != nil {
		t.Fatal(err)
	}
	padded := make([]float32, 12*MinFrames)
	copy(padded, x[:12*100])
	want := make([]float32, n.Dim())
	if err := n.Embed(want, padded, ModelHop); err != nil {
		t.Fatal(err)
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("PadShort dim %d: %v, want %v", i, got[i], want[i])
		}
	}
}

func TestDecimation(t *testing.T) {
	n := mainWeights(t).NewNet()
	base := randomCrema(401, 5)
	want := make([]float32, n.Dim())
	if err := n.Embed(want, base, ModelHop); err != nil {
		t.Fatal(err)
	}
	for _, hop := range []int{2048, 1024, 512, 256} {
		f := ModelHop / hop
		// Frames at multiples of f carry the song; the others are noise
		// decimation must drop; f-1 trailing frames are dropped too.
		T := 400*f + 1 + (f - 1)
		x := randomCrema(T, uint64(hop))
		for i := 0; i < 401; i++ {
			copy(x[i*f*12:i*f*12+12], base[i*12:i*12+12])
		}
		if tm, _ := ModelFrames(T, hop); tm != 401 {
			t.Fatalf("ModelFrames(%d, %d) = %d, want 401", T, hop, tm)
		}
		got := make([]float32, n.Dim())
		if err := n.Embed(got, x, hop); err != nil {
			t.Fatal(err)
		}
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("hop %d dim %d: %v, want %v", hop, i, got[i], want[i])
			}
		}
	}
}

func TestEmbedErrors(t *testing.T) {
	n := mainWeights(t).NewNet()
	dst := make([]float32, n.Dim())
	x := randomCrema(400, 6)
	for _, hop := range []int{0, -512, 441, 3000, 8192} {
		if err := n.Embed(dst, x, hop); !errors.Is(err, ErrHop) {
			t.Errorf("hop %d: err = %v, want ErrHop", hop, err)
		}
	}
	if err := n.Embed(dst[:10], x, ModelHop); !errors.Is(err, ErrInput) {
		t.Errorf("short dst: err = %v, want ErrInput", err)
	}
	if err := n.Embed(dst, x[:13], ModelHop); !errors.Is(err, ErrInput) {
		t.Errorf("13 values: err = %v, want ErrInput", err)
	}
	if err := n.Embed(dst, nil, ModelHop); !errors.Is(err, ErrInput) {
		t.Errorf("empty: err = %v, want ErrInput", err)
	}
	y := append([]float32(nil), x...)
	y[12*50+3] = float32(math.NaN())
	if err := n.Embed(dst, y, ModelHop); !errors.Is(err, ErrInput) || !strings.Contains(err.Error(), "crema[50][3]") {
		t.Errorf("NaN: err = %v, want ErrInput naming crema[50][3]", err)
	}
}

func cloneDict(sd *statedict.Dict) *statedict.Dict {
	out := &statedict.Dict{}
	for _, k := range sd.Keys {
		t := *sd.Tensors[k]
		out.Add(k, &t)
	}
	return out
}

func TestDetectVariant(t *testing.T) {
	m := readManifest(t)
	sd := loadGoldenCheckpoint(t, m.Checkpoints["sum4-fa3-d256-zip"].File)
	sd0 := loadGoldenCheckpoint(t, m.Checkpoints["sum0-fa0-d128-f16zip"].File)

	v, err := DetectVariant(sd, Config{})
	if err != nil || v != (Variant{4, 3, 256}) || v.String() != "sum4-fa3-d256" {
		t.Fatalf("default: %v, %v", v, err)
	}
	if v, err := DetectVariant(sd, Config{SumMethod: Int(3)}); err != nil || v.SumMethod != 3 {
		t.Fatalf("SumMethod 3: %v, %v", v, err)
	}
	w, err := NewWeights(sd, Config{})
	if err != nil {
		t.Fatal(err)
	}
	if w.ParamCount() != 2258438 { // remove-spec.md §1.5, d=256
		t.Errorf("ParamCount = %d, want 2258438", w.ParamCount())
	}
	if id := w.ID(); id != "move-sum4-fa3-d256-"+sd.Hash()[:12] {
		t.Errorf("ID = %q", id)
	}

	drop := func(sd *statedict.Dict, key string) *statedict.Dict {
		out := &statedict.Dict{}
		for _, k := range sd.Keys {
			if k != key {
				out.Add(k, sd.Tensors[k])
			}
		}
		return out
	}
	reshape := func(sd *statedict.Dict, key string, shape []int) *statedict.Dict {
		out := cloneDict(sd)
		out.Tensors[key].Shape = shape
		return out
	}
	extra := cloneDict(sd)
	extra.Add("lin1.bias", &statedict.Tensor{Shape: []int{256}, Data: make([]float32, 256)})
	intsAsFloat := cloneDict(sd)
	intsAsFloat.Tensors["lin_bn.num_batches_tracked"] = &statedict.Tensor{Shape: []int{}, Data: []float32{1}}

	cases := []struct {
		name string
		sd   *statedict.Dict
		cfg  Config
		err  error
		msg  string
	}{
		{"missing conv3.bias", drop(sd, "conv3.bias"), Config{}, ErrCheckpoint, `"conv3.bias"`},
		{"missing conv5", drop(sd, "conv5.weight"), Config{}, ErrCheckpoint, `"conv5.weight"`},
		{"conv1 shape", reshape(sd, "conv1.weight", []int{256, 1, 12, 179}), Config{}, ErrCheckpoint, "conv1.weight: expected shape [256 1 12 180], found [256 1 12 179]"},
		{"conv5 channels", reshape(sd, "conv5.weight", []int{384, 256, 1, 5}), Config{}, ErrCheckpoint, "found 384"},
		{"bn shape", reshape(sd, "lin_bn.running_var", []int{128}), Config{}, ErrCheckpoint, "lin_bn.running_var: expected shape [256], found [128]"},
		{"unexpected key", extra, Config{}, ErrCheckpoint, `unexpected key "lin1.bias"`},
		{"float counter", intsAsFloat, Config{}, ErrCheckpoint, "lin_bn.num_batches_tracked"},
		{"sum 1 on 512 channels", sd, Config{SumMethod: Int(1)}, ErrConfig, "512"},
		{"fa 1 with lin_bn", sd, Config{FinalActivation: Int(1)}, ErrConfig, "lin_bn"},
		{"sum out of range", sd, Config{SumMethod: Int(5)}, ErrConfig, "SumMethod 5"},
		{"256 channels need SumMethod", sd0, Config{FinalActivation: Int(0)}, ErrConfig, "set Config.SumMethod"},
		{"no lin_bn needs FinalActivation", sd0, Config{SumMethod: Int(0)}, ErrConfig, "set Config.FinalActivation"},
		{"sum 4 on 256 channels", sd0, Config{SumMethod: Int(4), FinalActivation: Int(0)}, ErrConfig, "512-channel"},
		{"empty", &statedict.Dict{}, Config{}, ErrCheckpoint, "empty"},
	}
	for _, c := range cases {
		_, err := DetectVariant(c.sd, c.cfg)
		if !errors.Is(err, c.err) || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%s: err = %v, want %v containing %q", c.name, err, c.err, c.msg)
		}
	}
}

func TestModelFrames(t *testing.T) {
	for _, c := range []struct{ T, hop, want int }{
		{400, 4096, 400}, {3205, 512, 401}, {3200, 512, 400}, {3201, 512, 401}, {1, 512, 1}, {0, 4096, 0}, {7, 2048, 4},
	} {
		if got, err := ModelFrames(c.T, c.hop); err != nil || got != c.want {
			t.Errorf("ModelFrames(%d, %d) = %d, %v; want %d", c.T, c.hop, got, err, c.want)
		}
	}
}

// FuzzEmbed: any length and hop gives an embedding or an error, never a
// panic, and a finite embedding when it succeeds.
func FuzzEmbed(f *testing.F) {
	w := mainWeights(f)
	wp := *w
	wp.padShort = true
	nets := []*Net{w.NewNet(), wp.NewNet()}
	f.Add(uint16(400), int16(4096), false, uint64(1))
	f.Add(uint16(3205), int16(512), false, uint64(2))
	f.Add(uint16(10), int16(4096), true, uint64(3))
	f.Add(uint16(2560), int16(512), true, uint64(4))
	f.Add(uint16(500), int16(441), false, uint64(5))
	f.Fuzz(func(t *testing.T, frames uint16, hop int16, pad bool, seed uint64) {
		n := nets[0]
		if pad {
			n = nets[1]
		}
		T := int(frames) % 4000
		x := randomCrema(T, seed)
		dst := make([]float32, n.Dim())
		if err := n.Embed(dst, x, int(hop)); err != nil {
			return
		}
		for i, v := range dst {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				t.Fatalf("dim %d = %v", i, v)
			}
		}
	})
}

func TestNonFiniteWeights(t *testing.T) {
	m := readManifest(t)
	sd := cloneDict(loadGoldenCheckpoint(t, m.Checkpoints["sum4-fa3-d256-zip"].File))
	w := sd.Tensors["conv2.weight"]
	bad := *w
	bad.Data = append([]float32(nil), w.Data...)
	bad.Data[17] = float32(math.Inf(1))
	sd.Tensors["conv2.weight"] = &bad
	if _, err := NewWeights(sd, Config{}); !errors.Is(err, ErrCheckpoint) || !strings.Contains(err.Error(), "conv2.weight[17]") {
		t.Fatalf("err = %v, want ErrCheckpoint naming conv2.weight[17]", err)
	}
}

// One Weights, several Nets in parallel goroutines: each gets what a lone
// Net gets (run with -race to check the sharing).
func TestConcurrentNets(t *testing.T) {
	w := mainWeights(t)
	songs := [][]float32{randomCrema(330, 11), randomCrema(420, 12), randomCrema(350, 13)}
	want := make([][]float32, len(songs))
	n := w.NewNet()
	for i, x := range songs {
		want[i] = make([]float32, n.Dim())
		if err := n.Embed(want[i], x, ModelHop); err != nil {
			t.Fatal(err)
		}
	}
	errs := make(chan error, 3)
	for g := 0; g < 3; g++ {
		go func() {
			n := w.NewNet()
			got := make([]float32, n.Dim())
			for r := 0; r < len(songs); r++ {
				i := (g + r) % len(songs)
				if err := n.Embed(got, songs[i], ModelHop); err != nil {
					errs <- err
					return
				}
				for k := range got {
					if got[k] != want[i][k] {
						errs <- fmt.Errorf("goroutine %d song %d dim %d: %v != %v", g, i, k, got[k], want[i][k])
						return
					}
				}
			}
			errs <- nil
		}()
	}
	for range 3 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

// The direct conv1 (the reference's computation, 12 GEMMs over the implicit
// 23-row input) matches PyTorch too, and so do the pitch-spectral form and
// the FFT default.
func TestConv1DirectParity(t *testing.T) {
	m := readManifest(t)
	w := goldenWeights(t, m, "sum4-fa3-d256-zip")
	wd, ws := *w, *w
	wd.spec, wd.fft = nil, nil
	ws.fft = nil
	fft, spectral, direct := w.NewNet(), ws.NewNet(), wd.NewNet()
	for _, c := range m.Cases {
		if c.Checkpoint != "sum4-fa3-d256-zip" {
			continue
		}
		in := m.Inputs[c.Input]
		x := readF32(t, in.File)
		want := readF32(t, c.File)
		gd := make([]float32, direct.Dim())
		gs := make([]float32, direct.Dim())
		gf := make([]float32, direct.Dim())
		if err := direct.Embed(gd, x, in.Hop); err != nil {
			t.Fatal(err)
		}
		if err := spectral.Embed(gs, x, in.Hop); err != nil {
			t.Fatal(err)
		}
		if err := fft.Embed(gf, x, in.Hop); err != nil {
			t.Fatal(err)
		}
		for i := range want {
			if d := math.Abs(float64(gd[i] - want[i])); !(d <= c.Tol) {
				t.Fatalf("%s: direct conv1: dim %d |Δ| = %g", c.Name, i, d)
			}
			if d := math.Abs(float64(gd[i] - gs[i])); !(d <= 1e-5) {
				t.Fatalf("%s: direct vs spectral conv1: dim %d |Δ| = %g", c.Name, i, d)
			}
			if d := math.Abs(float64(gd[i] - gf[i])); !(d <= 1e-5) {
				t.Fatalf("%s: direct vs FFT conv1: dim %d |Δ| = %g", c.Name, i, d)
			}
		}
	}
}

func TestCanonicalRotation(t *testing.T) {
	const tx = 5
	x := make([]float32, 12*tx)
	// All rows equal: every rotation is the same input; 0 is chosen.
	if s := canonicalRotation(x, tx); s != 0 {
		t.Errorf("constant input: rotation %d, want 0", s)
	}
	// Equal row sums, different rows: the element-wise tie-break decides,
	// and it follows the roll.
	for p := 0; p < 12; p++ {
		x[p*tx+p%tx] = 1
	}
	s0 := canonicalRotation(x, tx)
	for roll := 1; roll < 12; roll++ {
		y := make([]float32, len(x))
		for p := 0; p < 12; p++ {
			copy(y[(p+roll)%12*tx:][:tx], x[p*tx:][:tx])
		}
		if s := canonicalRotation(y, tx); (s-roll-s0)%12 != 0 {
			t.Errorf("roll %d: rotation %d, want %d", roll, s, (s0+roll)%12)
		}
	}
}

// preluMaxRows equals the reference's max over rows of PReLU, bit for bit,
// for slopes of either sign (the goldens' conv1 slope is positive).
func TestPreluMaxRows(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 9))
	const n, stride = 37, 41
	y := make([]float32, 12*stride)
	for i := range y {
		y[i] = float32(r.NormFloat64())
	}
	out, lo := make([]float32, n), make([]float32, n)
	for _, a := range []float32{0.23, 0, -0.11, -1.7, 1.5} {
		for _, b := range []float32{0, 0.3, -0.4} {
			preluMaxRows(out, lo, y, stride, b, a)
			for tt := 0; tt < n; tt++ {
				want := float32(math.Inf(-1))
				for j := 0; j < 12; j++ {
					v := y[j*stride+tt] + b
					if v < 0 {
						v *= a
					}
					want = max(want, v)
				}
				if out[tt] != want {
					t.Fatalf("a=%v b=%v t=%d: %v, want %v", a, b, tt, out[tt], want)
				}
			}
		}
	}
}

// expNonPos agrees with math.Exp to 1e-9 relative on x ≤ 0.
func TestExpNonPos(t *testing.T) {
	for i := 0; i <= 800000; i++ {
		x := -float64(i) / 1000
		got, want := expNonPos(x), math.Exp(x)
		if x < -700 {
			want = 0
		}
		if d := math.Abs(got - want); !(d <= 1e-9*want) {
			t.Fatalf("expNonPos(%v) = %v, want %v", x, got, want)
		}
	}
	if got := expNonPos(math.Inf(-1)); got != 0 {
		t.Errorf("expNonPos(-Inf) = %v", got)
	}
}
