package safetensors

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"

	"github.com/vindex/vindex/model/statedict"
)

var (
	// ErrFormat: the bytes are not a well-formed safetensors file.
	ErrFormat = errors.New("safetensors: malformed file")
	// ErrUnsupported: a well-formed file with a dtype this package does not read.
	ErrUnsupported = errors.New("safetensors: unsupported")
)

// MaxHeader is the largest JSON header Read accepts (the reference library's limit).
const MaxHeader = 100 << 20

var dtypeSize = map[string]int64{"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U8": 1, "BOOL": 1}

func isFloat(dt string) bool { return dt[0] == 'F' || dt == "BF16" }

type entry struct {
	name        string
	DType       string  `json:"dtype"`
	Shape       []int64 `json:"shape"`
	DataOffsets []int64 `json:"data_offsets"`
	order       int
}

// Read reads a safetensors file of size bytes from r: the tensors and the
// __metadata__ map (nil when absent).
func Read(r io.ReaderAt, size int64) (*statedict.Dict, map[string]string, error) {
	if size < 8 {
		return nil, nil, fmt.Errorf("%w: %d bytes, shorter than the 8-byte header length", ErrFormat, size)
	}
	var lb [8]byte
	if _, err := r.ReadAt(lb[:], 0); err != nil {
		return nil, nil, fmt.Errorf("%w: reading the header length: %v", ErrFormat, err)
	}
	n := binary.LittleEndian.Uint64(lb[:])
	if n > MaxHeader || n > uint64(size-8) {
		return nil, nil, fmt.Errorf("%w: header of %d bytes in a %d-byte file", ErrFormat, n, size)
	}
	hb := make([]byte, n)
	if _, err := r.ReadAt(hb, 8); err != nil {
		return nil, nil, fmt.Errorf("%w: reading the header: %v", ErrFormat, err)
	}
	entries, meta, err := parseHeader(hb)
	if err != nil {
		return nil, nil, err
	}
	base := 8 + int64(n)
	dataLen := size - base
	for _, e := range entries {
		sz, ok := dtypeSize[e.DType]
		if !ok {
			return nil, nil, fmt.Errorf("%w: tensor %q has dtype %q", ErrUnsupported, e.name, e.DType)
		}
		if len(e.DataOffsets) != 2 {
			return nil, nil, fmt.Errorf("%w: tensor %q: data_offsets %v", ErrFormat, e.name, e.DataOffsets)
		}
		b, end := e.DataOffsets[0], e.DataOffsets[1]
		if b < 0 || end < b || end > dataLen {
			return nil, nil, fmt.Errorf("%w: tensor %q: data_offsets [%d, %d] outside the %d data bytes", ErrFormat, e.name, b, end, dataLen)
		}
		numel := int64(1)
		for _, d := range e.Shape {
			if d < 0 {
				return nil, nil, fmt.Errorf("%w: tensor %q: shape %v", ErrFormat, e.name, e.Shape)
			}
			if d != 0 && numel > (end-b)/d {
				numel = -1 // more elements than the bytes hold, or overflow
				break
			}
			numel *= d
		}
		if numel < 0 || numel*sz != end-b {
			return nil, nil, fmt.Errorf("%w: tensor %q: shape %v of %s needs a different size than its %d bytes", ErrFormat, e.name, e.Shape, e.DType, end-b)
		}
	}
	// data order = saved order; header order breaks ties (empty tensors)
	sort.SliceStable(entries, func(i, j int) bool {
		a, b := entries[i].DataOffsets, entries[j].DataOffsets
		if a[0] != b[0] {
			return a[0] < b[0]
		}
		return a[1] < b[1]
	})
	for i := 1; i < len(entries); i++ {
		if entries[i].DataOffsets[0] < entries[i-1].DataOffsets[1] {
			return nil, nil, fmt.Errorf("%w: tensors %q and %q overlap", ErrFormat, entries[i-1].name, entries[i].name)
		}
	}
	d := &statedict.Dict{Tensors: make(map[string]*statedict.Tensor, len(entries))}
	for _, e := range entries {
		b, end := e.DataOffsets[0], e.DataOffsets[1]
		raw := make([]byte, end-b)
		if _, err := r.ReadAt(raw, base+b); err != nil && !(errors.Is(err, io.EOF) && len(raw) == 0) {
			return nil, nil, fmt.Errorf("%w: tensor %q: %v", ErrFormat, e.name, err)
		}
		t := &statedict.Tensor{Shape: make([]int, len(e.Shape)), DType: e.DType}
		for i, s := range e.Shape {
			t.Shape[i] = int(s)
		}
		decode(t, raw)
		d.Add(e.name, t)
	}
	return d, meta, nil
}

// parseHeader decodes the JSON header keeping the key order.
func parseHeader(hb []byte) ([]*entry, map[string]string, error) {
	dec := json.NewDecoder(bytes.NewReader(hb))
	tok, err := dec.Token()
	if err != nil || tok != json.Delim('{') {
		return nil, nil, fmt.Errorf("%w: header is not a JSON object", ErrFormat)
	}
	var entries []*entry
	var meta map[string]string
	seen := map[string]bool{}
	for dec.More() {
		kt, err := dec.Token()
		if err != nil {
			return nil, nil, fmt.Errorf("%w: header: %v", ErrFormat, err)
		}
		key := kt.(string) // object keys are always strings
		if seen[key] {
			return nil, nil, fmt.Errorf("%w: header names %q twice", ErrFormat, key)
		}
		seen[key] = true
		if key == "__metadata__" {
			if err := dec.Decode(&meta); err != nil {
				return nil, nil, fmt.Errorf("%w: __metadata__ is not a map of strings: %v", ErrFormat, err)
			}
			continue
		}
		e := &entry{name: key, order: len(entries)}
		if err := dec.Decode(e); err != nil {
			return nil, nil, fmt.Errorf("%w: tensor %q: %v", ErrFormat, key, err)
		}
		entries = append(entries, e)
	}
	if _, err := dec.Token(); err != nil {
		return nil, nil, fmt.Errorf("%w: header: %v", ErrFormat, err)
	}
	rest, _ := io.ReadAll(dec.Buffered())
	if len(bytes.TrimSpace(rest)) != 0 {
		return nil, nil, fmt.Errorf("%w: bytes after the header object", ErrFormat)
	}
	return entries, meta, nil
}

func decode(t *statedict.Tensor, b []byte) {
	le := binary.LittleEndian
	n := len(b) / int(dtypeSize[t.DType])
	if isFloat(t.DType) {
		t.Data = make([]float32, n)
		for i := range t.Data {
			switch t.DType {
			case "F32":
				t.Data[i] = math.Float32frombits(le.Uint32(b[4*i:]))
			case "F64":
				t.Data[i] = float32(math.Float64frombits(le.Uint64(b[8*i:])))
			case "F16":
				t.Data[i] = statedict.Float16ToFloat32(le.Uint16(b[2*i:]))
			case "BF16":
				t.Data[i] = statedict.BFloat16ToFloat32(le.Uint16(b[2*i:]))
			}
		}
		return
	}
	t.Ints = make([]int64, n)
	for i := range t.Ints {
		switch t.DType {
		case "I64":
			t.Ints[i] = int64(le.Uint64(b[8*i:]))
		case "I32":
			t.Ints[i] = int64(int32(le.Uint32(b[4*i:])))
		case "I16":
			t.Ints[i] = int64(int16(le.Uint16(b[2*i:])))
		case "I8":
			t.Ints[i] = int64(int8(b[i]))
		case "U8":
			t.Ints[i] = int64(b[i])
		case "BOOL":
			if b[i] != 0 {
				t.Ints[i] = 1
			}
		}
	}
}

// Write writes d as safetensors to w: tensors with Data as F32, tensors with
// Ints as I64, in d's key order, and meta as __metadata__ (omitted when
// empty). It fails if a tensor's values do not match its shape.
func Write(w io.Writer, d *statedict.Dict, meta map[string]string) error {
	var h bytes.Buffer
	h.WriteByte('{')
	off := int64(0)
	for i, k := range d.Keys {
		t := d.Tensors[k]
		if t == nil {
			return fmt.Errorf("safetensors: key %q has no tensor", k)
		}
		if (t.Data == nil) == (t.Ints == nil) && t.Numel() != 0 {
			return fmt.Errorf("safetensors: tensor %q must have exactly one of Data and Ints", k)
		}
		dt, n := "F32", int64(len(t.Data))*4
		if t.Ints != nil {
			dt, n = "I64", int64(len(t.Ints))*8
		}
		if len(t.Data)+len(t.Ints) != t.Numel() {
			return fmt.Errorf("safetensors: tensor %q has shape %v but %d values", k, t.Shape, len(t.Data)+len(t.Ints))
		}
		if i > 0 {
			h.WriteByte(',')
		}
		kb, _ := json.Marshal(k)
		h.Write(kb)
		fmt.Fprintf(&h, `:{"dtype":%q,"shape":[`, dt)
		for j, s := range t.Shape {
			if j > 0 {
				h.WriteByte(',')
			}
			h.WriteString(strconv.Itoa(s))
		}
		fmt.Fprintf(&h, `],"data_offsets":[%d,%d]}`, off, off+n)
		off += n
	}
	if len(meta) > 0 {
		if len(d.Keys) > 0 {
			h.WriteByte(',')
		}
		mb, err := json.Marshal(meta) // sorted keys
		if err != nil {
			return fmt.Errorf("safetensors: metadata: %w", err)
		}
		h.WriteString(`"__metadata__":`)
		h.Write(mb)
	}
	h.WriteByte('}')
	for h.Len()%8 != 0 {
		h.WriteByte(' ')
	}
	var lb [8]byte
	binary.LittleEndian.PutUint64(lb[:], uint64(h.Len()))
	if _, err := w.Write(lb[:]); err != nil {
		return fmt.Errorf("safetensors: %w", err)
	}
	if _, err := w.Write(h.Bytes()); err != nil {
		return fmt.Errorf("safetensors: %w", err)
	}
	buf := make([]byte, 0, 64<<10)
	flush := func() error {
		if _, err := w.Write(buf); err != nil {
			return fmt.Errorf("safetensors: %w", err)
		}
		buf = buf[:0]
		return nil
	}
	for _, k := range d.Keys {
		t := d.Tensors[k]
		for _, v := range t.Data {
			if len(buf)+4 > cap(buf) {
				if err := flush(); err != nil {
					return err
				}
			}
			buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(v))
		}
		for _, v := range t.Ints {
			if len(buf)+8 > cap(buf) {
				if err := flush(); err != nil {
					return err
				}
			}
			buf = binary.LittleEndian.AppendUint64(buf, uint64(v))
		}
	}
	return flush()
}
