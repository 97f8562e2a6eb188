package safetensors

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"os"
	"reflect"
	"testing"

	"github.com/vindex/vindex/model/statedict"
	"github.com/vindex/vindex/model/torch"
)

// small.json is written with small.safetensors by model/torch/testdata/gen/gen.py.
type golden struct {
	Metadata map[string]string `json:"metadata"`
	Small    struct {
		Keys    []string `json:"keys"`
		Tensors map[string]struct {
			Shape  []int     `json:"shape"`
			Values []float64 `json:"values"`
			Ints   []int64   `json:"ints"`
		} `json:"tensors"`
	} `json:"small"`
}

func readFile(t testing.TB, name string) (*statedict.Dict, map[string]string, error) {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return Read(bytes.NewReader(b), int64(len(b)))
}

func TestReadPythonWritten(t *testing.T) {
	var g golden
	b, err := os.ReadFile("testdata/small.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	d, meta, err := readFile(t, "testdata/small.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(meta, g.Metadata) {
		t.Errorf("metadata %v, want %v", meta, g.Metadata)
	}
	if !reflect.DeepEqual(d.Keys, g.Small.Keys) {
		t.Fatalf("keys %v, want %v", d.Keys, g.Small.Keys)
	}
	for _, k := range d.Keys {
		got, want := d.Tensors[k], g.Small.Tensors[k]
		if len(got.Shape) != len(want.Shape) || (len(want.Shape) > 0 && !reflect.DeepEqual(got.Shape, want.Shape)) {
			t.Errorf("%s: shape %v, want %v", k, got.Shape, want.Shape)
		}
		if want.Ints != nil {
			if got.DType != "I64" || !reflect.DeepEqual(got.Ints, want.Ints) {
				t.Errorf("%s: %s %v, want I64 %v", k, got.DType, got.Ints, want.Ints)
			}
			continue
		}
		if got.DType != "F32" || len(got.Data) != len(want.Values) {
			t.Fatalf("%s: %s with %d values, want F32 with %d", k, got.DType, len(got.Data), len(want.Values))
		}
		for i, v := range want.Values {
			if got.Data[i] != float32(v) {
				t.Errorf("%s[%d] = %v, want %v", k, i, got.Data[i], v)
			}
		}
	}
}

// The same state dict read from torch files and from safetensors hashes the same.
func TestSameHashAsTorch(t *testing.T) {
	for _, stem := range []string{"small", "mini_move"} {
		b, err := os.ReadFile("../torch/testdata/" + stem + "_zip.pt")
		if err != nil {
			t.Fatal(err)
		}
		td, err := torch.Load(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			t.Fatal(err)
		}
		sd, _, err := readFile(t, "testdata/"+stem+".safetensors")
		if err != nil {
			t.Fatal(err)
		}
		if td.Hash() != sd.Hash() {
			t.Errorf("%s: torch hash %s, safetensors hash %s", stem, td.Hash(), sd.Hash())
		}
	}
}

func TestRoundTrip(t *testing.T) {
	b, _ := os.ReadFile("../torch/testdata/mini_move_legacy.pt")
	d, err := torch.Load(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	meta := map[string]string{"format": "pt", "vindex.hash": d.Hash()}
	var buf bytes.Buffer
	if err := Write(&buf, d, meta); err != nil {
		t.Fatal(err)
	}
	if n := binary.LittleEndian.Uint64(buf.Bytes()); n%8 != 0 {
		t.Errorf("header length %d not a multiple of 8", n)
	}
	got, gotMeta, err := Read(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.Keys, d.Keys) || got.Hash() != d.Hash() || !reflect.DeepEqual(gotMeta, meta) {
		t.Errorf("round trip changed the dict: keys %v, meta %v", got.Keys, gotMeta)
	}
	if nb := got.Tensors["lin_bn.num_batches_tracked"]; nb.DType != "I64" || nb.Ints[0] != 42 {
		t.Errorf("num_batches_tracked %+v", nb)
	}
	// a second write is byte-identical
	var buf2 bytes.Buffer
	if err := Write(&buf2, got, gotMeta); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), buf2.Bytes()) {
		t.Error("rewrite differs")
	}
}

func TestWriteRejectsBadTensor(t *testing.T) {
	d := &statedict.Dict{}
	d.Add("w", &statedict.Tensor{Shape: []int{2, 2}, DType: "F32", Data: []float32{1, 2, 3}})
	if err := Write(&bytes.Buffer{}, d, nil); err == nil {
		t.Error("shape/values mismatch accepted")
	}
}

func file(header string, data ...byte) []byte {
	var b bytes.Buffer
	binary.Write(&b, binary.LittleEndian, uint64(len(header)))
	b.WriteString(header)
	b.Write(data)
	return b.Bytes()
}

func TestMalformed(t *testing.T) {
	for name, b := range map[string][]byte{
		"short":          {1, 2, 3},
		"huge header":    {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, '{', '}'},
		"not json":       file("hello"),
		"not object":     file("[1]"),
		"bad dtype":      file(`{"a":{"dtype":"F8_E4M3","shape":[1],"data_offsets":[0,1]}}`, 0),
		"out of range":   file(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, 0, 0),
		"shape mismatch": file(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}`, 0, 0, 0, 0),
		"overflow shape": file(`{"a":{"dtype":"F32","shape":[4294967296,4294967296,4],"data_offsets":[0,0]}}`),
		"negative":       file(`{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}`, 0, 0, 0, 0),
		"overlap":        file(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[2,6]}}`, 0, 0, 0, 0, 0, 0),
		"duplicate":      file(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, 0, 0, 0, 0),
		"bad metadata":   file(`{"__metadata__":{"a":1}}`),
		"trailing":       file(`{} x`),
	} {
		if _, _, err := Read(bytes.NewReader(b), int64(len(b))); err == nil {
			t.Errorf("%s: no error", name)
		} else if !errors.Is(err, ErrFormat) && !errors.Is(err, ErrUnsupported) {
			t.Errorf("%s: error %v does not wrap ErrFormat/ErrUnsupported", name, err)
		}
	}
}

func TestTruncated(t *testing.T) {
	b, _ := os.ReadFile("testdata/small.safetensors")
	for n := 0; n < len(b); n++ {
		if _, _, err := Read(bytes.NewReader(b[:n]), int64(n)); err == nil {
			t.Fatalf("truncated to %d bytes: no error", n)
		}
	}
}

func FuzzRead(f *testing.F) {
	for _, n := range []string{"testdata/small.safetensors", "testdata/mini_move.safetensors"} {
		b, err := os.ReadFile(n)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		d, meta, err := Read(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			return
		}
		// what reads, writes and reads back the same
		var buf bytes.Buffer
		if err := Write(&buf, d, meta); err != nil {
			t.Fatal(err)
		}
		d2, _, err := Read(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
		if err != nil {
			t.Fatal(err)
		}
		if d.Hash() != d2.Hash() {
			t.Fatal("round trip changed the hash")
		}
	})
}

func BenchmarkWriteRead(b *testing.B) {
	buf, err := os.ReadFile("../testdata/parity/ckpt_sum4-fa3-d256-zip.pt")
	if err != nil {
		b.Skip("no MOVE checkpoint: ", err)
	}
	d, err := torch.Load(bytes.NewReader(buf), int64(len(buf)))
	if err != nil {
		b.Fatal(err)
	}
	var out bytes.Buffer
	b.ReportAllocs()
	for b.Loop() {
		out.Reset()
		if err := Write(&out, d, nil); err != nil {
			b.Fatal(err)
		}
		if _, _, err := Read(bytes.NewReader(out.Bytes()), int64(out.Len())); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(out.Len()))
}
