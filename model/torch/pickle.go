package torch

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"math/big"
	"strconv"
)

// Limits of the unpickler, independent of the file size.
const (
	maxLine     = 1 << 16 // longest text-opcode argument (GLOBAL names, INT, FLOAT, ...)
	maxDepth    = 1000    // deepest nesting of containers LoadObject converts
	maxLongSize = 1 << 10 // longest LONG1/LONG4 integer in bytes
)

// src reads a pickle from r between off and end, buffered. Every length the
// pickle declares is checked against end-off before anything is allocated.
type src struct {
	r        io.ReaderAt
	off, end int64 // next unread byte; end of the readable range
	buf      []byte
	bufOff   int64 // file offset of buf[0]
	name     string
}

func newSrc(r io.ReaderAt, off, end int64, name string) *src {
	return &src{r: r, off: off, end: end, bufOff: off, name: name}
}

func (s *src) remaining() int64 { return s.end - s.off }

func (s *src) fill() error {
	n := min(int64(4096), s.end-s.off)
	if n <= 0 {
		return fmt.Errorf("%w: %s ends inside a pickle", ErrTruncated, s.name)
	}
	if int64(cap(s.buf)) < n {
		s.buf = make([]byte, n)
	}
	s.buf = s.buf[:n]
	m, err := s.r.ReadAt(s.buf, s.off)
	if int64(m) < n {
		if err == nil || errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return fmt.Errorf("%w: reading %s at %d: %v", ErrTruncated, s.name, s.off, err)
	}
	s.bufOff = s.off
	return nil
}

func (s *src) byte() (byte, error) {
	if s.off < s.bufOff || s.off >= s.bufOff+int64(len(s.buf)) {
		if err := s.fill(); err != nil {
			return 0, err
		}
	}
	b := s.buf[s.off-s.bufOff]
	s.off++
	return b, nil
}

// bytes returns the next n bytes in a fresh slice.
func (s *src) bytes(n int64) ([]byte, error) {
	if n < 0 || n > s.remaining() {
		return nil, fmt.Errorf("%w: %s declares %d bytes where %d remain", ErrTruncated, s.name, n, s.remaining())
	}
	out := make([]byte, n)
	i := int64(0)
	// bytes still in the buffer first
	if s.off >= s.bufOff && s.off < s.bufOff+int64(len(s.buf)) {
		i = int64(copy(out, s.buf[s.off-s.bufOff:]))
	}
	if i < n {
		m, err := s.r.ReadAt(out[i:], s.off+i)
		if int64(m) < n-i {
			if err == nil || errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return nil, fmt.Errorf("%w: reading %s at %d: %v", ErrTruncated, s.name, s.off+i, err)
		}
	}
	s.off += n
	return out, nil
}

func (s *src) uint(n int) (uint64, error) {
	var v uint64
	for i := 0; i < n; i++ {
		b, err := s.byte()
		if err != nil {
			return 0, err
		}
		v |= uint64(b) << (8 * i)
	}
	return v, nil
}

func (s *src) line() (string, error) {
	var out []byte
	for {
		b, err := s.byte()
		if err != nil {
			return "", err
		}
		if b == '\n' {
			return string(out), nil
		}
		if len(out) >= maxLine {
			return "", fmt.Errorf("%w: %s: text argument longer than %d bytes", ErrCorrupt, s.name, maxLine)
		}
		out = append(out, b)
	}
}

// Values of the pickle machine. Python None is nil; bool, int64, *big.Int,
// float64, string and []byte stand for themselves.
type (
	pyTuple struct{ items []any }
	pyList  struct{ items []any }
	pyDict  struct {
		keys, values []any
		index        map[any]int
		attrs        any // state set by BUILD (a state_dict's _metadata); kept, never interpreted
	}
	pyGlobal struct {
		module, name string
		kind         globalKind
	}
	markObj struct{}
)

func newDict() *pyDict { return &pyDict{index: map[any]int{}} }

func (d *pyDict) set(k, v any) error {
	switch k.(type) {
	case nil, bool, int64, float64, string:
	case []byte:
		k = string(k.([]byte))
	default:
		return fmt.Errorf("%w: dict key of type %s", ErrUnsupported, typeName(k))
	}
	if i, ok := d.index[k]; ok {
		d.values[i] = v
		return nil
	}
	d.index[k] = len(d.keys)
	d.keys = append(d.keys, k)
	d.values = append(d.values, v)
	return nil
}

// globalKind says what an allowed global does when called.
type globalKind int

const (
	gOrderedDict globalKind = iota + 1
	gDict
	gList
	gRebuildTensor   // torch._utils._rebuild_tensor(storage, offset, size, stride)
	gRebuildTensorV2 // torch._utils._rebuild_tensor_v2(storage, offset, size, stride, requires_grad, hooks[, metadata])
	gRebuildParam    // torch._utils._rebuild_parameter(data, requires_grad, hooks)
	gRebuildParamState
	gStorageType // torch.FloatStorage etc.: only valid inside a persistent id
)

// dtype is a storage element type.
type dtype struct {
	name  string // safetensors spelling, as statedict.Tensor.DType
	size  int64
	float bool
}

var storageTypes = map[string]dtype{
	"FloatStorage":    {"F32", 4, true},
	"DoubleStorage":   {"F64", 8, true},
	"HalfStorage":     {"F16", 2, true},
	"BFloat16Storage": {"BF16", 2, true},
	"LongStorage":     {"I64", 8, false},
	"IntStorage":      {"I32", 4, false},
	"ShortStorage":    {"I16", 2, false},
	"CharStorage":     {"I8", 1, false},
	"ByteStorage":     {"U8", 1, false},
	"BoolStorage":     {"BOOL", 1, false},
}

// lookupGlobal applies the allow-list; objects additionally allows the builtin dict and list.
func lookupGlobal(module, name string, objects bool) (*pyGlobal, error) {
	g := &pyGlobal{module: module, name: name}
	switch module + "." + name {
	case "collections.OrderedDict":
		g.kind = gOrderedDict
	case "torch._utils._rebuild_tensor":
		g.kind = gRebuildTensor
	case "torch._utils._rebuild_tensor_v2":
		g.kind = gRebuildTensorV2
	case "torch._utils._rebuild_parameter":
		g.kind = gRebuildParam
	case "torch._utils._rebuild_parameter_with_state":
		g.kind = gRebuildParamState
	case "builtins.dict", "__builtin__.dict":
		if objects {
			g.kind = gDict
		}
	case "builtins.list", "__builtin__.list":
		if objects {
			g.kind = gList
		}
	default:
		if _, ok := storageTypes[name]; ok && module == "torch" {
			g.kind = gStorageType
		}
	}
	if g.kind == 0 {
		return nil, &RefusedError{Module: module, Name: name}
	}
	return g, nil
}

// machine is a restricted pickle virtual machine: it builds plain values,
// never imports or calls anything, and resolves persistent ids through
// persLoad.
type machine struct {
	s        *src
	objects  bool // LoadObject: builtin dict and list allowed too
	persLoad func(pid any) (any, error)
	stack    []any
	marks    []int
	memo     map[int64]any
	tensors  []*tensorRef
}

func (m *machine) push(v any) { m.stack = append(m.stack, v) }

func (m *machine) pop() (any, error) {
	if len(m.stack) == 0 || (len(m.marks) > 0 && len(m.stack) <= m.marks[len(m.marks)-1]) {
		return nil, fmt.Errorf("%w: %s: pickle stack underflow", ErrCorrupt, m.s.name)
	}
	v := m.stack[len(m.stack)-1]
	m.stack = m.stack[:len(m.stack)-1]
	return v, nil
}

func (m *machine) top() (any, error) {
	if len(m.stack) == 0 || (len(m.marks) > 0 && len(m.stack) <= m.marks[len(m.marks)-1]) {
		return nil, fmt.Errorf("%w: %s: pickle stack underflow", ErrCorrupt, m.s.name)
	}
	return m.stack[len(m.stack)-1], nil
}

// popMark pops the items above the last mark, and the mark.
func (m *machine) popMark() ([]any, error) {
	if len(m.marks) == 0 {
		return nil, fmt.Errorf("%w: %s: pickle MARK missing", ErrCorrupt, m.s.name)
	}
	k := m.marks[len(m.marks)-1]
	m.marks = m.marks[:len(m.marks)-1]
	items := append([]any(nil), m.stack[k:]...)
	m.stack = m.stack[:k]
	return items, nil
}

func (m *machine) memoGet(i int64) error {
	v, ok := m.memo[i]
	if !ok {
		return fmt.Errorf("%w: %s: pickle memo %d unset", ErrCorrupt, m.s.name, i)
	}
	m.push(v)
	return nil
}

func (m *machine) memoPut(i int64) error {
	v, err := m.top()
	if err != nil {
		return err
	}
	m.memo[i] = v
	return nil
}

// run executes one pickle up to its STOP and returns the value it built.
func (m *machine) run() (any, error) {
	if m.memo == nil {
		m.memo = map[int64]any{}
	}
	for {
		op, err := m.s.byte()
		if err != nil {
			return nil, err
		}
		opOff := m.s.off - 1
		done, err := m.step(op)
		if err != nil {
			if errors.Is(err, ErrRefused) || errors.Is(err, ErrTruncated) || errors.Is(err, ErrCorrupt) ||
				errors.Is(err, ErrNotStateDict) || errors.Is(err, ErrUnsupported) || errors.Is(err, ErrTooLarge) {
				return nil, err
			}
			return nil, fmt.Errorf("%w: %s: pickle opcode 0x%02x at %d: %v", ErrCorrupt, m.s.name, op, opOff, err)
		}
		if done {
			v, err := m.pop()
			if err != nil {
				return nil, err
			}
			if len(m.stack) != 0 || len(m.marks) != 0 {
				return nil, fmt.Errorf("%w: %s: pickle STOP with %d values left on the stack", ErrCorrupt, m.s.name, len(m.stack))
			}
			return v, nil
		}
	}
}

func (m *machine) step(op byte) (done bool, err error) {
	s := m.s
	switch op {
	case '.': // STOP
		return true, nil
	case 0x80: // PROTO
		p, err := s.byte()
		if err != nil {
			return false, err
		}
		if p > 5 {
			return false, fmt.Errorf("%w: %s: pickle protocol %d", ErrUnsupported, s.name, p)
		}
	case 0x95: // FRAME: a length hint only
		if _, err := s.uint(8); err != nil {
			return false, err
		}
	case '(': // MARK
		m.marks = append(m.marks, len(m.stack))
	case '0': // POP
		_, err = m.pop()
	case '1': // POP_MARK
		_, err = m.popMark()
	case '2': // DUP
		v, err := m.top()
		if err != nil {
			return false, err
		}
		m.push(v)
	case 'N':
		m.push(nil)
	case 0x88:
		m.push(true)
	case 0x89:
		m.push(false)
	case 'I': // INT (text); I00/I01 are False/True
		l, err := s.line()
		if err != nil {
			return false, err
		}
		switch l {
		case "00":
			m.push(false)
		case "01":
			m.push(true)
		default:
			v, err := strconv.ParseInt(l, 10, 64)
			if err != nil {
				return false, err
			}
			m.push(v)
		}
	case 'J': // BININT
		v, err := s.uint(4)
		if err != nil {
			return false, err
		}
		m.push(int64(int32(uint32(v))))
	case 'K': // BININT1
		v, err := s.uint(1)
		if err != nil {
			return false, err
		}
		m.push(int64(v))
	case 'M': // BININT2
		v, err := s.uint(2)
		if err != nil {
			return false, err
		}
		m.push(int64(v))
	case 'L': // LONG (text)
		l, err := s.line()
		if err != nil {
			return false, err
		}
		if len(l) > 0 && l[len(l)-1] == 'L' {
			l = l[:len(l)-1]
		}
		b, ok := new(big.Int).SetString(l, 10)
		if !ok {
			return false, fmt.Errorf("bad LONG %q", l)
		}
		m.push(normInt(b))
	case 0x8a, 0x8b: // LONG1, LONG4
		size := 1
		if op == 0x8b {
			size = 4
		}
		n, err := s.uint(size)
		if err != nil {
			return false, err
		}
		if n > maxLongSize {
			return false, fmt.Errorf("%w: %s: %d-byte integer", ErrUnsupported, s.name, n)
		}
		b, err := s.bytes(int64(n))
		if err != nil {
			return false, err
		}
		m.push(decodeLong(b))
	case 'F': // FLOAT (text)
		l, err := s.line()
		if err != nil {
			return false, err
		}
		v, err := strconv.ParseFloat(l, 64)
		if err != nil {
			return false, err
		}
		m.push(v)
	case 'G': // BINFLOAT, big-endian
		b, err := s.bytes(8)
		if err != nil {
			return false, err
		}
		m.push(math.Float64frombits(binary.BigEndian.Uint64(b)))
	case 'X', 0x8c, 0x8d: // BINUNICODE, SHORT_BINUNICODE, BINUNICODE8
		n, err := s.uint(map[byte]int{'X': 4, 0x8c: 1, 0x8d: 8}[op])
		if err != nil {
			return false, err
		}
		if n > math.MaxInt64 {
			return false, fmt.Errorf("%w: %s: string of %d bytes", ErrTruncated, s.name, n)
		}
		b, err := s.bytes(int64(n))
		if err != nil {
			return false, err
		}
		m.push(string(b))
	case 'T', 'U', 'B', 'C', 0x8e, 0x96: // BINSTRING, SHORT_BINSTRING, BINBYTES, SHORT_BINBYTES, BINBYTES8, BYTEARRAY8
		size := map[byte]int{'T': 4, 'U': 1, 'B': 4, 'C': 1, 0x8e: 8, 0x96: 8}[op]
		n, err := s.uint(size)
		if err != nil {
			return false, err
		}
		if n > math.MaxInt64 {
			return false, fmt.Errorf("%w: %s: string of %d bytes", ErrTruncated, s.name, n)
		}
		b, err := s.bytes(int64(n))
		if err != nil {
			return false, err
		}
		if op == 'T' || op == 'U' {
			m.push(string(b)) // Python 2 str: torch's ASCII keys and locations
		} else {
			m.push(b)
		}
	case 'S': // STRING (text, quoted)
		l, err := s.line()
		if err != nil {
			return false, err
		}
		v, err := strconv.Unquote(pyQuoteToGo(l))
		if err != nil {
			return false, fmt.Errorf("bad STRING %q", l)
		}
		m.push(v)
	case 'V': // UNICODE (raw-unicode-escape); accepted as is
		l, err := s.line()
		if err != nil {
			return false, err
		}
		m.push(l)
	case ')':
		m.push(&pyTuple{})
	case 't':
		items, err := m.popMark()
		if err != nil {
			return false, err
		}
		m.push(&pyTuple{items: items})
	case 0x85, 0x86, 0x87: // TUPLE1..3
		n := int(op - 0x84)
		if len(m.stack) < n || (len(m.marks) > 0 && len(m.stack)-n < m.marks[len(m.marks)-1]) {
			return false, fmt.Errorf("%w: %s: pickle stack underflow", ErrCorrupt, s.name)
		}
		items := append([]any(nil), m.stack[len(m.stack)-n:]...)
		m.stack = m.stack[:len(m.stack)-n]
		m.push(&pyTuple{items: items})
	case ']':
		m.push(&pyList{})
	case 'l':
		items, err := m.popMark()
		if err != nil {
			return false, err
		}
		m.push(&pyList{items: items})
	case 'a': // APPEND
		v, err := m.pop()
		if err != nil {
			return false, err
		}
		l, err := m.top()
		if err != nil {
			return false, err
		}
		pl, ok := l.(*pyList)
		if !ok {
			return false, fmt.Errorf("%w: %s: APPEND to %s", ErrCorrupt, s.name, typeName(l))
		}
		pl.items = append(pl.items, v)
	case 'e': // APPENDS
		items, err := m.popMark()
		if err != nil {
			return false, err
		}
		l, err := m.top()
		if err != nil {
			return false, err
		}
		pl, ok := l.(*pyList)
		if !ok {
			return false, fmt.Errorf("%w: %s: APPENDS to %s", ErrCorrupt, s.name, typeName(l))
		}
		pl.items = append(pl.items, items...)
	case '}':
		m.push(newDict())
	case 'd':
		items, err := m.popMark()
		if err != nil {
			return false, err
		}
		d := newDict()
		if err := setItems(d, items, s.name); err != nil {
			return false, err
		}
		m.push(d)
	case 's': // SETITEM
		v, err := m.pop()
		if err != nil {
			return false, err
		}
		k, err := m.pop()
		if err != nil {
			return false, err
		}
		d, err := m.top()
		if err != nil {
			return false, err
		}
		pd, ok := d.(*pyDict)
		if !ok {
			return false, fmt.Errorf("%w: %s: SETITEM on %s", ErrCorrupt, s.name, typeName(d))
		}
		if err := pd.set(k, v); err != nil {
			return false, err
		}
	case 'u': // SETITEMS
		items, err := m.popMark()
		if err != nil {
			return false, err
		}
		d, err := m.top()
		if err != nil {
			return false, err
		}
		pd, ok := d.(*pyDict)
		if !ok {
			return false, fmt.Errorf("%w: %s: SETITEMS on %s", ErrCorrupt, s.name, typeName(d))
		}
		if err := setItems(pd, items, s.name); err != nil {
			return false, err
		}
	case 'g': // GET (text)
		l, err := s.line()
		if err != nil {
			return false, err
		}
		i, err := strconv.ParseInt(l, 10, 64)
		if err != nil {
			return false, err
		}
		return false, m.memoGet(i)
	case 'h':
		i, err := s.uint(1)
		if err != nil {
			return false, err
		}
		return false, m.memoGet(int64(i))
	case 'j':
		i, err := s.uint(4)
		if err != nil {
			return false, err
		}
		return false, m.memoGet(int64(i))
	case 'p': // PUT (text)
		l, err := s.line()
		if err != nil {
			return false, err
		}
		i, err := strconv.ParseInt(l, 10, 64)
		if err != nil {
			return false, err
		}
		return false, m.memoPut(i)
	case 'q':
		i, err := s.uint(1)
		if err != nil {
			return false, err
		}
		return false, m.memoPut(int64(i))
	case 'r':
		i, err := s.uint(4)
		if err != nil {
			return false, err
		}
		return false, m.memoPut(int64(i))
	case 0x94: // MEMOIZE
		return false, m.memoPut(int64(len(m.memo)))
	case 'c': // GLOBAL
		mod, err := s.line()
		if err != nil {
			return false, err
		}
		name, err := s.line()
		if err != nil {
			return false, err
		}
		g, err := lookupGlobal(mod, name, m.objects)
		if err != nil {
			return false, err
		}
		m.push(g)
	case 0x93: // STACK_GLOBAL
		nv, err := m.pop()
		if err != nil {
			return false, err
		}
		mv, err := m.pop()
		if err != nil {
			return false, err
		}
		mod, ok1 := mv.(string)
		name, ok2 := nv.(string)
		if !ok1 || !ok2 {
			return false, fmt.Errorf("%w: %s: STACK_GLOBAL of non-strings", ErrCorrupt, s.name)
		}
		g, err := lookupGlobal(mod, name, m.objects)
		if err != nil {
			return false, err
		}
		m.push(g)
	case 'i': // INST: refused by name
		mod, err := s.line()
		if err != nil {
			return false, err
		}
		name, err := s.line()
		if err != nil {
			return false, err
		}
		return false, &RefusedError{Module: mod, Name: name}
	case 'R': // REDUCE
		args, err := m.pop()
		if err != nil {
			return false, err
		}
		f, err := m.pop()
		if err != nil {
			return false, err
		}
		v, err := m.call(f, args)
		if err != nil {
			return false, err
		}
		m.push(v)
	case 0x81: // NEWOBJ: cls.__new__(cls, *args); only OrderedDict is a class we build
		if _, err := m.pop(); err != nil {
			return false, err
		}
		f, err := m.pop()
		if err != nil {
			return false, err
		}
		g, ok := f.(*pyGlobal)
		if !ok || (g.kind != gOrderedDict && g.kind != gDict && g.kind != gList) {
			return false, fmt.Errorf("%w: %s: NEWOBJ of %s", ErrUnsupported, s.name, typeName(f))
		}
		if g.kind == gList {
			m.push(&pyList{})
		} else {
			m.push(newDict())
		}
	case 'o': // OBJ: class and args after a mark
		items, err := m.popMark()
		if err != nil {
			return false, err
		}
		if len(items) == 0 {
			return false, fmt.Errorf("%w: %s: empty OBJ", ErrCorrupt, s.name)
		}
		v, err := m.call(items[0], &pyTuple{items: items[1:]})
		if err != nil {
			return false, err
		}
		m.push(v)
	case 'b': // BUILD
		state, err := m.pop()
		if err != nil {
			return false, err
		}
		obj, err := m.top()
		if err != nil {
			return false, err
		}
		d, ok := obj.(*pyDict)
		if !ok {
			return false, fmt.Errorf("%w: %s: BUILD (setstate) on %s", ErrUnsupported, s.name, typeName(obj))
		}
		d.attrs = state
	case 'Q': // BINPERSID
		pid, err := m.pop()
		if err != nil {
			return false, err
		}
		if m.persLoad == nil {
			return false, fmt.Errorf("%w: %s: persistent id outside a checkpoint's object pickle", ErrCorrupt, s.name)
		}
		v, err := m.persLoad(pid)
		if err != nil {
			return false, err
		}
		m.push(v)
	case 'P': // PERSID (text): torch never writes it
		if _, err := s.line(); err != nil {
			return false, err
		}
		return false, fmt.Errorf("%w: %s: text persistent id", ErrUnsupported, s.name)
	case 0x82, 0x83, 0x84:
		return false, fmt.Errorf("%w: %s: pickle extension registry (EXT opcodes)", ErrRefused, s.name)
	case 0x97, 0x98: // NEXT_BUFFER, READONLY_BUFFER
		return false, fmt.Errorf("%w: %s: out-of-band pickle buffers", ErrUnsupported, s.name)
	default:
		return false, fmt.Errorf("%w: %s: unsupported pickle opcode 0x%02x at offset %d", ErrCorrupt, s.name, op, s.off-1)
	}
	return false, err
}

func setItems(d *pyDict, items []any, name string) error {
	if len(items)%2 != 0 {
		return fmt.Errorf("%w: %s: odd number of dict items", ErrCorrupt, name)
	}
	for i := 0; i < len(items); i += 2 {
		if err := d.set(items[i], items[i+1]); err != nil {
			return err
		}
	}
	return nil
}

// call applies an allowed global to its argument tuple.
func (m *machine) call(f, argv any) (any, error) {
	g, ok := f.(*pyGlobal)
	if !ok {
		return nil, fmt.Errorf("%w: %s: calling a %s", ErrCorrupt, m.s.name, typeName(f))
	}
	at, ok := argv.(*pyTuple)
	if !ok {
		return nil, fmt.Errorf("%w: %s: %s.%s called with %s, not a tuple", ErrCorrupt, m.s.name, g.module, g.name, typeName(argv))
	}
	args := at.items
	switch g.kind {
	case gOrderedDict, gDict:
		d := newDict()
		if len(args) == 0 {
			return d, nil
		}
		if len(args) > 1 {
			return nil, fmt.Errorf("%w: %s: %s.%s with %d arguments", ErrCorrupt, m.s.name, g.module, g.name, len(args))
		}
		var pairs []any
		switch a := args[0].(type) {
		case *pyList:
			pairs = a.items
		case *pyTuple:
			pairs = a.items
		case *pyDict:
			for i := range a.keys {
				if err := d.set(a.keys[i], a.values[i]); err != nil {
					return nil, err
				}
			}
			return d, nil
		default:
			return nil, fmt.Errorf("%w: %s: %s.%s of %s", ErrCorrupt, m.s.name, g.module, g.name, typeName(args[0]))
		}
		for _, p := range pairs {
			kv, ok := p.(*pyTuple)
			if !ok || len(kv.items) != 2 {
				return nil, fmt.Errorf("%w: %s: %s.%s item is not a pair", ErrCorrupt, m.s.name, g.module, g.name)
			}
			if err := d.set(kv.items[0], kv.items[1]); err != nil {
				return nil, err
			}
		}
		return d, nil
	case gList:
		l := &pyList{}
		if len(args) == 1 {
			switch a := args[0].(type) {
			case *pyList:
				l.items = append(l.items, a.items...)
			case *pyTuple:
				l.items = append(l.items, a.items...)
			default:
				return nil, fmt.Errorf("%w: %s: list of %s", ErrCorrupt, m.s.name, typeName(args[0]))
			}
		} else if len(args) > 1 {
			return nil, fmt.Errorf("%w: %s: list with %d arguments", ErrCorrupt, m.s.name, len(args))
		}
		return l, nil
	case gRebuildTensor, gRebuildTensorV2:
		want := 4
		if g.kind == gRebuildTensorV2 {
			want = 6
		}
		if len(args) != want && !(g.kind == gRebuildTensorV2 && len(args) == 7) {
			return nil, fmt.Errorf("%w: %s: %s with %d arguments, want %d", ErrCorrupt, m.s.name, g.name, len(args), want)
		}
		st, ok := args[0].(*storage)
		if !ok {
			return nil, fmt.Errorf("%w: %s: %s of %s, not a storage", ErrCorrupt, m.s.name, g.name, typeName(args[0]))
		}
		off, ok := args[1].(int64)
		if !ok {
			return nil, fmt.Errorf("%w: %s: tensor storage offset is %s", ErrCorrupt, m.s.name, typeName(args[1]))
		}
		shape, err := intTuple(args[2])
		if err != nil {
			return nil, fmt.Errorf("%w: %s: tensor size: %v", ErrCorrupt, m.s.name, err)
		}
		stride, err := intTuple(args[3])
		if err != nil {
			return nil, fmt.Errorf("%w: %s: tensor stride: %v", ErrCorrupt, m.s.name, err)
		}
		t := &tensorRef{st: st, offset: off, shape: shape, stride: stride}
		m.tensors = append(m.tensors, t)
		return t, nil
	case gRebuildParam, gRebuildParamState:
		if len(args) < 1 {
			return nil, fmt.Errorf("%w: %s: %s without arguments", ErrCorrupt, m.s.name, g.name)
		}
		t, ok := args[0].(*tensorRef)
		if !ok {
			return nil, fmt.Errorf("%w: %s: %s of %s, not a tensor", ErrCorrupt, m.s.name, g.name, typeName(args[0]))
		}
		return t, nil
	case gStorageType:
		return nil, fmt.Errorf("%w: %s: torch.%s called outside a persistent id", ErrUnsupported, m.s.name, g.name)
	}
	panic("torch: unhandled global kind") // lookupGlobal returns only the kinds above
}

func intTuple(v any) ([]int64, error) {
	var items []any
	switch t := v.(type) {
	case *pyTuple:
		items = t.items
	case *pyList:
		items = t.items
	default:
		return nil, fmt.Errorf("%s, not a tuple", typeName(v))
	}
	out := make([]int64, len(items))
	for i, it := range items {
		n, ok := it.(int64)
		if !ok {
			return nil, fmt.Errorf("element %d is %s, not an int", i, typeName(it))
		}
		out[i] = n
	}
	return out, nil
}

// decodeLong decodes a little-endian two's-complement integer (LONG1/LONG4).
func decodeLong(b []byte) any {
	if len(b) == 0 {
		return int64(0)
	}
	be := make([]byte, len(b))
	for i := range b {
		be[len(b)-1-i] = b[i]
	}
	v := new(big.Int).SetBytes(be)
	if b[len(b)-1]&0x80 != 0 {
		v.Sub(v, new(big.Int).Lsh(big.NewInt(1), uint(8*len(b))))
	}
	return normInt(v)
}

func normInt(v *big.Int) any {
	if v.IsInt64() {
		return v.Int64()
	}
	return v
}

// pyQuoteToGo turns a protocol-0 STRING argument ('abc' or "abc") into a Go quoted string.
func pyQuoteToGo(l string) string {
	if len(l) >= 2 && l[0] == '\'' && l[len(l)-1] == '\'' {
		inner := l[1 : len(l)-1]
		var b bytes.Buffer
		b.WriteByte('"')
		for i := 0; i < len(inner); i++ {
			c := inner[i]
			switch {
			case c == '"':
				b.WriteString(`\"`)
			case c == '\\' && i+1 < len(inner) && inner[i+1] == '\'':
				b.WriteByte('\'')
				i++
			default:
				b.WriteByte(c)
			}
		}
		b.WriteByte('"')
		return b.String()
	}
	return l
}

func typeName(v any) string {
	switch t := v.(type) {
	case nil:
		return "None"
	case bool:
		return "a bool"
	case int64, *big.Int:
		return "an int"
	case float64:
		return "a float"
	case string:
		return "a string"
	case []byte:
		return "bytes"
	case *pyTuple:
		return "a tuple"
	case *pyList:
		return "a list"
	case *pyDict:
		return "a dict"
	case *pyGlobal:
		return "global " + t.module + "." + t.name
	case *storage:
		return "a storage"
	case *tensorRef:
		return "a tensor"
	}
	return fmt.Sprintf("%T", v)
}
