package model

// A minimal reader for the torch checkpoints this package's goldens use
// (torch 1.13 zip and legacy formats, raw state_dict of Float/Half/Long
// storages), so the parity tests do not depend on model.LoadCheckpoint,
// which another package owns. Test-only; not hardened against hostile input.

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"os"
	"strings"

	"github.com/vindex/vindex/model/statedict"
)

type pyGlobal struct{ mod, name string }
type pyMark struct{}
type pyDict struct {
	keys []string
	vals map[string]any
}
type storageRef struct {
	dtype, key string
	numel      int
}
type tensorRef struct {
	st     storageRef
	offset int
	shape  []int
}

// unpickle runs the pickle at r's current position to STOP.
func unpickle(r *bytes.Reader) (any, error) {
	var stack []any
	memo := map[int]any{}
	pop := func() any { v := stack[len(stack)-1]; stack = stack[:len(stack)-1]; return v }
	popMark := func() []any {
		i := len(stack) - 1
		for ; i >= 0; i-- {
			if _, ok := stack[i].(pyMark); ok {
				break
			}
		}
		items := append([]any(nil), stack[i+1:]...)
		stack = stack[:i]
		return items
	}
	u := func(n int) int {
		b := make([]byte, 8)
		io.ReadFull(r, b[:n])
		return int(binary.LittleEndian.Uint64(b))
	}
	for {
		op, err := r.ReadByte()
		if err != nil {
			return nil, err
		}
		switch op {
		case 0x80:
			r.ReadByte()
		case 'c':
			var line [2]string
			for i := range line {
				var sb strings.Builder
				for {
					c, _ := r.ReadByte()
					if c == '\n' {
						break
					}
					sb.WriteByte(c)
				}
				line[i] = sb.String()
			}
			stack = append(stack, pyGlobal{line[0], line[1]})
		case 'q':
			memo[u(1)] = stack[len(stack)-1]
		case 'r':
			memo[u(4)] = stack[len(stack)-1]
		case 'h':
			stack = append(stack, memo[u(1)])
		case 'j':
			stack = append(stack, memo[u(4)])
		case ')':
			stack = append(stack, []any{})
		case '(':
			stack = append(stack, pyMark{})
		case 't':
			stack = append(stack, popMark())
		case 0x85, 0x86, 0x87:
			n := int(op - 0x84)
			t := append([]any(nil), stack[len(stack)-n:]...)
			stack = append(stack[:len(stack)-n], t)
		case '}':
			stack = append(stack, &pyDict{vals: map[string]any{}})
		case ']':
			stack = append(stack, []any{})
		case 'X':
			b := make([]byte, u(4))
			io.ReadFull(r, b)
			stack = append(stack, string(b))
		case 'K':
			stack = append(stack, u(1))
		case 'M':
			stack = append(stack, u(2))
		case 'J':
			stack = append(stack, int(int32(u(4))))
		case 0x8a:
			n := u(1)
			if n > 8 { // the legacy magic number: value not needed
				r.Seek(int64(n), io.SeekCurrent)
				stack = append(stack, 0)
				break
			}
			stack = append(stack, u(n))
		case 0x88:
			stack = append(stack, true)
		case 0x89:
			stack = append(stack, false)
		case 'N':
			stack = append(stack, nil)
		case 'G':
			stack = append(stack, math.Float64frombits(uint64(u(8))))
		case 'Q':
			t := pop().([]any)
			g := t[1].(pyGlobal)
			stack = append(stack, storageRef{dtype: g.name, key: t[2].(string), numel: t[4].(int)})
		case 'R':
			args := pop().([]any)
			f := pop().(pyGlobal)
			switch f.mod + "." + f.name {
			case "collections.OrderedDict":
				stack = append(stack, &pyDict{vals: map[string]any{}})
			case "torch._utils._rebuild_tensor_v2":
				var shape []int
				for _, s := range args[2].([]any) {
					shape = append(shape, s.(int))
				}
				stack = append(stack, tensorRef{st: args[0].(storageRef), offset: args[1].(int), shape: shape})
			default:
				return nil, fmt.Errorf("unpickle: unsupported call %v", f)
			}
		case 's', 'u':
			var items []any
			if op == 's' {
				v := pop()
				k := pop()
				items = []any{k, v}
			} else {
				items = popMark()
			}
			d := stack[len(stack)-1].(*pyDict)
			for i := 0; i < len(items); i += 2 {
				k, _ := items[i].(string)
				if _, ok := d.vals[k]; !ok {
					d.keys = append(d.keys, k)
				}
				d.vals[k] = items[i+1]
			}
		case 'a':
			v := pop()
			stack[len(stack)-1] = append(stack[len(stack)-1].([]any), v)
		case 'e':
			items := popMark()
			stack[len(stack)-1] = append(stack[len(stack)-1].([]any), items...)
		case 'b':
			pop() // state (_metadata): ignored
		case '.':
			return pop(), nil
		default:
			return nil, fmt.Errorf("unpickle: unsupported opcode %#x", op)
		}
	}
}

func decodeStorage(dtype string, raw []byte, off int, t *statedict.Tensor) {
	n := t.Numel()
	switch dtype {
	case "FloatStorage":
		t.DType = "F32"
		t.Data = make([]float32, n)
		for i := range t.Data {
			t.Data[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*(off+i):]))
		}
	case "HalfStorage":
		t.DType = "F16"
		t.Data = make([]float32, n)
		for i := range t.Data {
			t.Data[i] = halfToFloat(binary.LittleEndian.Uint16(raw[2*(off+i):]))
		}
	case "LongStorage":
		t.DType = "I64"
		t.Ints = make([]int64, n)
		for i := range t.Ints {
			t.Ints[i] = int64(binary.LittleEndian.Uint64(raw[8*(off+i):]))
		}
	default:
		panic("decodeStorage: " + dtype)
	}
}

func halfToFloat(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := int(h>>10) & 0x1f
	frac := uint32(h & 0x3ff)
	switch {
	case exp == 0:
		v := float32(frac) / 1024 / 16384 // subnormal: frac·2^-24
		if sign != 0 {
			v = -v
		}
		return v
	case exp == 31:
		return math.Float32frombits(sign | 0xff<<23 | frac<<13)
	}
	return math.Float32frombits(sign | uint32(exp-15+127)<<23 | frac<<13)
}

// loadPT reads a torch zip or legacy checkpoint holding a raw state_dict.
func loadPT(path string) (*statedict.Dict, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	storages := map[string][]byte{}
	var obj any
	if bytes.HasPrefix(b, []byte("PK")) {
		zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			return nil, err
		}
		for _, f := range zr.File {
			rc, _ := f.Open()
			data, _ := io.ReadAll(rc)
			rc.Close()
			name := f.Name[strings.Index(f.Name, "/")+1:]
			if name == "data.pkl" {
				obj, err = unpickle(bytes.NewReader(data))
				if err != nil {
					return nil, err
				}
			} else if strings.HasPrefix(name, "data/") {
				storages[strings.TrimPrefix(name, "data/")] = data
			}
		}
	} else {
		r := bytes.NewReader(b)
		for range 3 { // magic, protocol, sys_info
			if _, err := unpickle(r); err != nil {
				return nil, err
			}
		}
		if obj, err = unpickle(r); err != nil {
			return nil, err
		}
		keys, err := unpickle(r)
		if err != nil {
			return nil, err
		}
		for _, k := range keys.([]any) {
			var hdr [8]byte
			io.ReadFull(r, hdr[:])
			n := int(binary.LittleEndian.Uint64(hdr[:]))
			// element size from the tensor that uses this storage
			size := 0
			for _, v := range obj.(*pyDict).vals {
				if tr := v.(tensorRef); tr.st.key == k.(string) {
					size = map[string]int{"FloatStorage": 4, "HalfStorage": 2, "LongStorage": 8}[tr.st.dtype]
				}
			}
			data := make([]byte, n*size)
			io.ReadFull(r, data)
			storages[k.(string)] = data
		}
	}
	d := obj.(*pyDict)
	sd := &statedict.Dict{}
	for _, k := range d.keys {
		tr := d.vals[k].(tensorRef)
		t := &statedict.Tensor{Shape: append([]int{}, tr.shape...)}
		decodeStorage(tr.st.dtype, storages[tr.st.key], tr.offset, t)
		sd.Add(k, t)
	}
	return sd, nil
}
