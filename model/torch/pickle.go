package torch

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/big"
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

// newDictCap returns an empty dict with room for n items: a copy allocates
// once instead of growing.
func newDictCap(n int) *pyDict {
	return &pyDict{index: make(map[any]int, n), keys: make([]any, 0, n), values: make([]any, 0, n)}
}

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
	work     *budget // shared by every pickle of one file
	stack    []any
	marks    []int
	memo     map[int64]any
	tensors  []*tensorRef
	done     bool // STOP reached
}

func newMachine(s *src, work *budget, objects bool, persLoad func(pid any) (any, error)) *machine {
	return &machine{s: s, work: work, objects: objects, persLoad: persLoad, memo: map[int64]any{}}
}

// budget is the work one load may do, in units of about one value pushed,
// copied or hashed; it is a fixed multiple of the file's bytes (newBudget),
// so a small file cannot make the loader build a large structure (issue
// 12's copy bomb: OrderedDict(d) of a big dict, repeated) or hash a long
// key over and over.
type budget struct {
	left, total int64
	size        int64 // the file's bytes, for messages
}

// Work allowed per byte of file, plus a constant for tiny files. A unit is
// about 50 bytes allocated: one opcode, one value copied (marked items,
// list(...)), one tensor dimension; a dict insert, which allocates
// several times more, costs dictItemCost, plus one per 64 bytes of a
// string key it hashes. dict(d) and OrderedDict(pairs) are charged
// dictItemCost per item before the copy is allocated, then per insert.
const (
	workPerByte  = 4
	workBase     = 1 << 16
	dictItemCost = 4
)

func newBudget(size int64) *budget {
	n := workPerByte*max(size, 0) + workBase
	return &budget{left: n, total: n, size: size}
}

// spend charges n units, failing with ErrTooLarge once the budget is spent.
func (b *budget) spend(n int64, what string) error {
	if n <= b.left {
		b.left -= n
		return nil
	}
	b.left = 0
	return fmt.Errorf("%w: %s: the pickle asks for more work than its %d-byte file allows (%d units, %d per byte)",
		ErrTooLarge, what, b.size, b.total, workPerByte)
}

func (m *machine) spend(n int64, what string) error { return m.work.spend(n, what) }

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
	if err := m.spend(int64(len(m.stack)-k), "marked items"); err != nil {
		return nil, err
	}
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
	for {
		op, err := m.s.byte()
		if err != nil {
			return nil, err
		}
		opOff := m.s.off - 1
		h := opcodes[op]
		if h == nil {
			return nil, fmt.Errorf("%w: %s: unsupported pickle opcode 0x%02x at offset %d", ErrCorrupt, m.s.name, op, opOff)
		}
		if err = m.spend(1, "opcodes"); err == nil {
			err = h(m, op)
		}
		if err != nil {
			if errors.Is(err, ErrRefused) || errors.Is(err, ErrTruncated) || errors.Is(err, ErrCorrupt) ||
				errors.Is(err, ErrNotStateDict) || errors.Is(err, ErrUnsupported) || errors.Is(err, ErrTooLarge) {
				return nil, err
			}
			return nil, fmt.Errorf("%w: %s: pickle opcode 0x%02x at %d: %v", ErrCorrupt, m.s.name, op, opOff, err)
		}
		if m.done {
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

// setItems sets alternating keys and values (DICT, SETITEMS).
func (m *machine) setItems(d *pyDict, items []any) error {
	if len(items)%2 != 0 {
		return fmt.Errorf("%w: %s: odd number of dict items", ErrCorrupt, m.s.name)
	}
	for i := 0; i < len(items); i += 2 {
		if err := m.set(d, items[i], items[i+1]); err != nil {
			return err
		}
	}
	return nil
}

// set stores d[k] = v, charging the work budget for the key's hashing.
func (m *machine) set(d *pyDict, k, v any) error {
	cost := int64(dictItemCost)
	switch ks := k.(type) {
	case string:
		cost += int64(len(ks)) / 64
	case []byte:
		cost += int64(len(ks)) / 64
	}
	if err := m.spend(cost, "dict items"); err != nil {
		return err
	}
	return d.set(k, v)
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
	switch g.kind {
	case gOrderedDict, gDict:
		return m.callDict(g, at.items)
	case gList:
		return m.callList(at.items)
	case gRebuildTensor, gRebuildTensorV2:
		return m.callRebuildTensor(g, at.items)
	case gRebuildParam, gRebuildParamState:
		if len(at.items) < 1 {
			return nil, fmt.Errorf("%w: %s: %s without arguments", ErrCorrupt, m.s.name, g.name)
		}
		t, ok := at.items[0].(*tensorRef)
		if !ok {
			return nil, fmt.Errorf("%w: %s: %s of %s, not a tensor", ErrCorrupt, m.s.name, g.name, typeName(at.items[0]))
		}
		return t, nil
	case gStorageType:
		return nil, fmt.Errorf("%w: %s: torch.%s called outside a persistent id", ErrUnsupported, m.s.name, g.name)
	}
	panic("torch: unhandled global kind") // lookupGlobal returns only the kinds above
}

// callDict is dict(...) and OrderedDict(...): empty, a copy of a dict, or
// from a list or tuple of pairs. Every copied item is charged to the budget.
func (m *machine) callDict(g *pyGlobal, args []any) (any, error) {
	if len(args) == 0 {
		return newDict(), nil
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
		// charged before the copy is allocated
		if err := m.spend(dictItemCost*int64(len(a.keys)), "dict copy"); err != nil {
			return nil, err
		}
		d := newDictCap(len(a.keys))
		for i := range a.keys {
			if err := m.set(d, a.keys[i], a.values[i]); err != nil {
				return nil, err
			}
		}
		return d, nil
	default:
		return nil, fmt.Errorf("%w: %s: %s.%s of %s", ErrCorrupt, m.s.name, g.module, g.name, typeName(args[0]))
	}
	if err := m.spend(dictItemCost*int64(len(pairs)), "dict copy"); err != nil {
		return nil, err
	}
	d := newDictCap(len(pairs))
	for _, p := range pairs {
		kv, ok := p.(*pyTuple)
		if !ok || len(kv.items) != 2 {
			return nil, fmt.Errorf("%w: %s: %s.%s item is not a pair", ErrCorrupt, m.s.name, g.module, g.name)
		}
		if err := m.set(d, kv.items[0], kv.items[1]); err != nil {
			return nil, err
		}
	}
	return d, nil
}

// callList is list(...): empty, or a copy of a list or tuple.
func (m *machine) callList(args []any) (any, error) {
	l := &pyList{}
	if len(args) > 1 {
		return nil, fmt.Errorf("%w: %s: list with %d arguments", ErrCorrupt, m.s.name, len(args))
	}
	if len(args) == 0 {
		return l, nil
	}
	var src []any
	switch a := args[0].(type) {
	case *pyList:
		src = a.items
	case *pyTuple:
		src = a.items
	default:
		return nil, fmt.Errorf("%w: %s: list of %s", ErrCorrupt, m.s.name, typeName(args[0]))
	}
	if err := m.spend(int64(len(src)), "list copy"); err != nil {
		return nil, err
	}
	l.items = append(l.items, src...)
	return l, nil
}

// callRebuildTensor is torch._utils._rebuild_tensor(storage, offset, size,
// stride) and _rebuild_tensor_v2(..., requires_grad, hooks[, metadata]):
// a view recorded for the converter, not materialised here.
func (m *machine) callRebuildTensor(g *pyGlobal, args []any) (any, error) {
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
	if err := m.spend(int64(len(shape)+len(stride)), "tensor views"); err != nil {
		return nil, err
	}
	t := &tensorRef{st: st, offset: off, shape: shape, stride: stride}
	m.tensors = append(m.tensors, t)
	return t, nil
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
