package torch

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/vindex/vindex/model/statedict"
)

// expected.json is written by testdata/gen/gen.py (torch 1.13).
type wantTensor struct {
	Shape  []int     `json:"shape"`
	DType  string    `json:"dtype"`
	Values []float64 `json:"values"`
	Ints   []int64   `json:"ints"`
}

type wantDict struct {
	Keys    []string              `json:"keys"`
	Tensors map[string]wantTensor `json:"tensors"`
}

type expectedFile struct {
	Fixtures struct {
		Small    wantDict          `json:"small"`
		MiniMove wantDict          `json:"mini_move"`
		Refusals map[string]string `json:"refusals"`
		Crema    struct {
			Labels []string     `json:"labels"`
			Data   []wantTensor `json:"data"`
		} `json:"crema"`
	} `json:"fixtures"`
}

func readExpected(t *testing.T) expectedFile {
	t.Helper()
	b, err := os.ReadFile("testdata/expected.json")
	if err != nil {
		t.Fatal(err)
	}
	var e expectedFile
	if err := json.Unmarshal(b, &e); err != nil {
		t.Fatal(err)
	}
	return e
}

func loadFile(t *testing.T, name string) (*statedict.Dict, error) {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return Load(bytes.NewReader(b), int64(len(b)))
}

func checkTensor(t *testing.T, where string, got *statedict.Tensor, want wantTensor) {
	t.Helper()
	if !reflect.DeepEqual(got.Shape, want.Shape) && !(len(got.Shape) == 0 && len(want.Shape) == 0) {
		t.Errorf("%s: shape %v, want %v", where, got.Shape, want.Shape)
	}
	if got.DType != want.DType {
		t.Errorf("%s: dtype %s, want %s", where, got.DType, want.DType)
	}
	if want.Ints != nil {
		if got.Data != nil || !reflect.DeepEqual(got.Ints, want.Ints) {
			t.Errorf("%s: ints %v (data %v), want %v", where, got.Ints, got.Data, want.Ints)
		}
		return
	}
	if got.Ints != nil || len(got.Data) != len(want.Values) {
		t.Fatalf("%s: %d floats (ints %v), want %d", where, len(got.Data), got.Ints, len(want.Values))
	}
	for i, v := range want.Values {
		// tolerance 0: every value is a float32 (converted exactly from f16/bf16; rounded from f64 as torch does)
		if got.Data[i] != float32(v) {
			t.Errorf("%s[%d] = %v, want %v", where, i, got.Data[i], float32(v))
			return
		}
	}
}

func checkDict(t *testing.T, name string, got *statedict.Dict, want wantDict) {
	t.Helper()
	if !reflect.DeepEqual(got.Keys, want.Keys) {
		t.Fatalf("%s: keys %v, want %v", name, got.Keys, want.Keys)
	}
	for _, k := range want.Keys {
		checkTensor(t, name+" "+k, got.Tensors[k], want.Tensors[k])
	}
}

func TestLoadFixtures(t *testing.T) {
	e := readExpected(t)
	for _, tc := range []struct {
		file string
		want wantDict
	}{
		{"small_zip.pt", e.Fixtures.Small},
		{"small_legacy.pt", e.Fixtures.Small},
		{"small_proto4_zip.pt", e.Fixtures.Small},
		{"mini_move_zip.pt", e.Fixtures.MiniMove},
		{"mini_move_legacy.pt", e.Fixtures.MiniMove},
	} {
		t.Run(tc.file, func(t *testing.T) {
			d, err := loadFile(t, filepath.Join("testdata", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			checkDict(t, tc.file, d, tc.want)
		})
	}
}

// Both formats of the same dict hash the same.
func TestZipLegacySameHash(t *testing.T) {
	for _, stem := range []string{"small", "mini_move"} {
		a, err := loadFile(t, "testdata/"+stem+"_zip.pt")
		if err != nil {
			t.Fatal(err)
		}
		b, err := loadFile(t, "testdata/"+stem+"_legacy.pt")
		if err != nil {
			t.Fatal(err)
		}
		if a.Hash() != b.Hash() {
			t.Errorf("%s: zip hash %s != legacy hash %s", stem, a.Hash(), b.Hash())
		}
	}
}

func TestLoadObjectCrema(t *testing.T) {
	e := readExpected(t)
	for _, f := range []string{"crema_zip.pt", "crema_legacy.pt"} {
		b, err := os.ReadFile("testdata/" + f)
		if err != nil {
			t.Fatal(err)
		}
		v, err := LoadObject(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		d, ok := v.(*OrderedDict)
		if !ok {
			t.Fatalf("%s: got %T", f, v)
		}
		if !reflect.DeepEqual(d.Keys, []any{"data", "labels"}) {
			t.Errorf("%s: keys %v", f, d.Keys)
		}
		labels, _ := d.Get("labels")
		var gotLabels []string
		for _, l := range labels.([]any) {
			gotLabels = append(gotLabels, l.(string))
		}
		if !reflect.DeepEqual(gotLabels, e.Fixtures.Crema.Labels) {
			t.Errorf("%s: labels %v, want %v", f, gotLabels, e.Fixtures.Crema.Labels)
		}
		data, _ := d.Get("data")
		ts := data.([]any)
		if len(ts) != len(e.Fixtures.Crema.Data) {
			t.Fatalf("%s: %d tensors", f, len(ts))
		}
		for i, tv := range ts {
			checkTensor(t, f, tv.(*statedict.Tensor), e.Fixtures.Crema.Data[i])
		}
		// Load refuses it: a dict of lists is not a state_dict
		if _, err := Load(bytes.NewReader(b), int64(len(b))); !errors.Is(err, ErrNotStateDict) {
			t.Errorf("%s: Load error %v, want ErrNotStateDict", f, err)
		}
	}
}

func TestLoadObjectList(t *testing.T) {
	for _, f := range []string{"list_zip.pt", "list_legacy.pt"} {
		b, _ := os.ReadFile("testdata/" + f)
		v, err := LoadObject(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(v, []any{int64(1), int64(2), int64(3)}) {
			t.Errorf("%s: %#v", f, v)
		}
	}
}

func TestNotStateDict(t *testing.T) {
	for _, f := range []string{"list_zip.pt", "list_legacy.pt", "mixed_zip.pt", "mixed_legacy.pt", "crema_zip.pt"} {
		_, err := loadFile(t, "testdata/"+f)
		if !errors.Is(err, ErrNotStateDict) {
			t.Errorf("%s: error %v, want ErrNotStateDict", f, err)
		}
	}
}

func TestRefusals(t *testing.T) {
	e := readExpected(t)
	if len(e.Fixtures.Refusals) == 0 {
		t.Fatal("no refusal fixtures")
	}
	for f, global := range e.Fixtures.Refusals {
		b, err := os.ReadFile("testdata/" + f)
		if err != nil {
			t.Fatal(err)
		}
		for name, load := range map[string]func() error{
			"Load":       func() error { _, err := Load(bytes.NewReader(b), int64(len(b))); return err },
			"LoadObject": func() error { _, err := LoadObject(bytes.NewReader(b), int64(len(b))); return err },
		} {
			err := load()
			if !errors.Is(err, ErrRefused) {
				t.Errorf("%s %s: error %v, want ErrRefused", name, f, err)
				continue
			}
			if want := "torch: refusing global " + global; !strings.Contains(err.Error(), want) {
				t.Errorf("%s %s: error %q does not contain %q", name, f, err, want)
			}
		}
	}
}

func TestNotCheckpoint(t *testing.T) {
	for _, b := range [][]byte{nil, []byte("hello world"), []byte("PK"), {0x80, 0x02, 'N', '.'}, []byte("{\"a\":1}")} {
		_, err := Load(bytes.NewReader(b), int64(len(b)))
		if !errors.Is(err, ErrNotCheckpoint) {
			t.Errorf("%q: error %v, want ErrNotCheckpoint", b, err)
		}
	}
	// a zip that is not a torch archive
	b, _ := os.ReadFile("testdata/small_zip.pt")
	bad := bytes.ReplaceAll(b, []byte("data.pkl"), []byte("data.pkX"))
	if _, err := Load(bytes.NewReader(bad), int64(len(bad))); !errors.Is(err, ErrNotCheckpoint) {
		t.Errorf("zip without data.pkl: error %v, want ErrNotCheckpoint", err)
	}
}

// Every prefix of a checkpoint fails cleanly.
func TestTruncated(t *testing.T) {
	for _, f := range []string{"small_zip.pt", "small_legacy.pt", "mini_move_legacy.pt"} {
		b, _ := os.ReadFile("testdata/" + f)
		for n := 0; n < len(b); n++ {
			if _, err := Load(bytes.NewReader(b[:n]), int64(n)); err == nil {
				t.Fatalf("%s truncated to %d bytes: no error", f, n)
			}
		}
	}
}

// Flipping any byte never panics; CRCs catch flips in zip storages.
func TestCorruptedBytes(t *testing.T) {
	for _, f := range []string{"small_zip.pt", "small_legacy.pt"} {
		b, _ := os.ReadFile("testdata/" + f)
		c := make([]byte, len(b))
		for i := range b {
			copy(c, b)
			c[i] ^= 0xff
			Load(bytes.NewReader(c), int64(len(c))) //nolint: only panics matter here
			LoadObject(bytes.NewReader(c), int64(len(c)))
		}
	}
}

// pickle builds small protocol-2 pickles for the size checks.
type pickle struct{ bytes.Buffer }

func (p *pickle) op(b ...byte) *pickle { p.Write(b); return p }
func (p *pickle) str(s string) *pickle {
	p.WriteByte('X')
	binary.Write(&p.Buffer, binary.LittleEndian, uint32(len(s)))
	p.WriteString(s)
	return p
}
func (p *pickle) int(v int64) *pickle {
	p.WriteByte(0x8a)
	p.WriteByte(8)
	binary.Write(&p.Buffer, binary.LittleEndian, v)
	return p
}
func (p *pickle) global(mod, name string) *pickle {
	p.WriteString("c" + mod + "\n" + name + "\n")
	return p
}
func (p *pickle) ints(vs ...int64) *pickle {
	p.op('(')
	for _, v := range vs {
		p.int(v)
	}
	return p.op('t')
}

// stateDictPickle pickles OrderedDict([("w", _rebuild_tensor_v2(storage, off, size, stride, False, OrderedDict()))]).
func stateDictPickle(numel, off int64, size, stride []int64) []byte {
	p := &pickle{}
	p.op(0x80, 2).global("collections", "OrderedDict").op(')', 'R')
	p.op('(').str("w").global("torch._utils", "_rebuild_tensor_v2").op('(')
	p.op('(').str("storage").global("torch", "FloatStorage").str("0").str("cpu").int(numel).op('t', 'Q')
	p.int(off).ints(size...).ints(stride...).op(0x89).global("collections", "OrderedDict").op(')', 'R', 't', 'R')
	p.op('u', '.')
	return p.Bytes()
}

// legacyFile wraps an object pickle and storages in the legacy container.
func legacyFile(obj []byte, keys []string, storages ...[]byte) []byte {
	var b bytes.Buffer
	b.Write([]byte{0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, '.'})
	b.Write([]byte{0x80, 0x02, 'M', 0xe9, 0x03, '.'})
	b.Write([]byte{0x80, 0x02, '}', '.'})
	b.Write(obj)
	p := &pickle{}
	p.op(0x80, 2, '(')
	for _, k := range keys {
		p.str(k)
	}
	p.op('l', '.')
	b.Write(p.Bytes())
	for _, s := range storages {
		b.Write(s)
	}
	return b.Bytes()
}

func floatStorage(declared int64, vals ...float32) []byte {
	var b bytes.Buffer
	binary.Write(&b, binary.LittleEndian, declared)
	binary.Write(&b, binary.LittleEndian, vals)
	return b.Bytes()
}

func TestHandcraftedLegacy(t *testing.T) {
	good := legacyFile(stateDictPickle(3, 0, []int64{3}, []int64{1}), []string{"0"}, floatStorage(3, 1, 2, 3))
	d, err := Load(bytes.NewReader(good), int64(len(good)))
	if err != nil {
		t.Fatal(err)
	}
	if w := d.Tensors["w"]; !reflect.DeepEqual(w.Data, []float32{1, 2, 3}) {
		t.Fatalf("got %v", w.Data)
	}
	// an empty view may carry any offset (found by TestCorruptedBytes)
	empty := legacyFile(stateDictPickle(3, 100, []int64{0}, []int64{1}), []string{"0"}, floatStorage(3, 1, 2, 3))
	if d, err := Load(bytes.NewReader(empty), int64(len(empty))); err != nil || d.Tensors["w"].Numel() != 0 {
		t.Errorf("empty view: %v", err)
	}
	for _, tc := range []struct {
		name string
		file []byte
		want error
	}{
		{"absurd numel", legacyFile(stateDictPickle(1<<60, 0, []int64{3}, []int64{1}), []string{"0"}, floatStorage(3, 1, 2, 3)), ErrTooLarge},
		{"view past storage", legacyFile(stateDictPickle(3, 1, []int64{3}, []int64{1}), []string{"0"}, floatStorage(3, 1, 2, 3)), ErrCorrupt},
		{"stride past storage", legacyFile(stateDictPickle(3, 0, []int64{2}, []int64{3}), []string{"0"}, floatStorage(3, 1, 2, 3)), ErrCorrupt},
		{"negative stride", legacyFile(stateDictPickle(3, 2, []int64{3}, []int64{-1}), []string{"0"}, floatStorage(3, 1, 2, 3)), ErrCorrupt},
		{"expansion bomb", legacyFile(stateDictPickle(1, 0, []int64{1 << 40}, []int64{0}), []string{"0"}, floatStorage(1, 1)), ErrTooLarge},
		{"overflowing shape", legacyFile(stateDictPickle(1, 0, []int64{1 << 32, 1 << 32, 1 << 32}, []int64{0, 0, 0}), []string{"0"}, floatStorage(1, 1)), ErrTooLarge},
		{"storage shorter than declared", legacyFile(stateDictPickle(3, 0, []int64{3}, []int64{1}), []string{"0"}, floatStorage(2, 1, 2)), ErrCorrupt},
		{"storage data missing", legacyFile(stateDictPickle(3, 0, []int64{3}, []int64{1}), []string{"0"}, floatStorage(3, 1)), ErrTruncated},
		{"unknown storage key", legacyFile(stateDictPickle(3, 0, []int64{3}, []int64{1}), []string{"9"}, floatStorage(3, 1, 2, 3)), ErrCorrupt},
		{"huge string length", legacyFile([]byte{0x80, 2, 'X', 0xff, 0xff, 0xff, 0x7f, '.'}, nil), ErrTruncated},
	} {
		_, err := Load(bytes.NewReader(tc.file), int64(len(tc.file)))
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: error %v, want %v", tc.name, err, tc.want)
		}
	}
}

// seedFiles are the fuzz seeds: every fixture here plus the network's real
// MOVE checkpoints (two of them). Those are megabytes each, which stalls the
// mutator (0 execs/s measured), so they seed only plain `go test` runs, not
// -fuzz sessions.
func seedFiles(t testing.TB) [][]byte {
	names, _ := filepath.Glob("testdata/*.pt")
	fuzzing := flag.Lookup("test.fuzz") != nil && flag.Lookup("test.fuzz").Value.String() != ""
	for _, n := range []string{"ckpt_sum0-fa0-d128-f16zip.pt", "ckpt_sum1-fa1-d256-f16legacy.pt"} {
		p := filepath.Join("..", "testdata", "parity", n)
		if _, err := os.Stat(p); err == nil && !fuzzing {
			names = append(names, p)
		}
	}
	var out [][]byte
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

func FuzzLoad(f *testing.F) {
	for _, b := range seedFiles(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := Load(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			return
		}
		for _, k := range d.Keys {
			tt := d.Tensors[k]
			if n := tt.Numel(); len(tt.Data)+len(tt.Ints) != n {
				t.Fatalf("%s: shape %v but %d values", k, tt.Shape, len(tt.Data)+len(tt.Ints))
			}
		}
	})
}

func FuzzLoadObject(f *testing.F) {
	for _, b := range seedFiles(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		LoadObject(bytes.NewReader(b), int64(len(b)))
	})
}

// The network engineer's full-size checkpoints load in both formats.
func TestLoadMOVECheckpoints(t *testing.T) {
	names, _ := filepath.Glob("../testdata/parity/ckpt_*.pt")
	if len(names) == 0 {
		t.Skip("no MOVE checkpoints under model/testdata/parity")
	}
	for _, n := range names {
		d, err := loadFile(t, n)
		if err != nil {
			t.Errorf("%s: %v", n, err)
			continue
		}
		if d.Keys[0] != "autopool_p" || d.Tensors["conv1.weight"] == nil ||
			!reflect.DeepEqual(d.Tensors["conv1.weight"].Shape, []int{256, 1, 12, 180}) {
			t.Errorf("%s: keys %v", n, d.Keys)
		}
	}
}

// BenchmarkLoadMOVE loads the network's full-size d=256 checkpoints (9 MB);
// bench/checkpoint/bench.sh compares it with torch.load.
func BenchmarkLoadMOVE(b *testing.B) {
	for _, f := range []string{"zip", "legacy"} {
		b.Run(f, func(b *testing.B) {
			buf, err := os.ReadFile("../testdata/parity/ckpt_sum4-fa3-d256-" + f + ".pt")
			if err != nil {
				b.Skip("no MOVE checkpoint: ", err)
			}
			b.ReportAllocs()
			b.SetBytes(int64(len(buf)))
			for b.Loop() {
				if _, err := Load(bytes.NewReader(buf), int64(len(buf))); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1e6, "ms/load")
		})
	}
}
