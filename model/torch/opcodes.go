package torch

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/big"
	"strconv"
)

// opHandler executes one pickle opcode whose byte has just been read.
type opHandler func(m *machine, op byte) error

// opcodes is the unpickler: one small handler per pickle opcode. A nil entry
// is an opcode the machine does not know (ErrCorrupt).
var opcodes = [256]opHandler{
	'.':  opStop,
	0x80: opProto,
	0x95: opFrame,
	'(':  opMark,
	'0':  opPop,
	'1':  opPopMark,
	'2':  opDup,
	'N':  pushConst(nil),
	0x88: pushConst(true),
	0x89: pushConst(false),
	'I':  opTextInt,
	'J':  opBinInt,
	'K':  opBinUint,
	'M':  opBinUint,
	'L':  opTextLong,
	0x8a: opBinLong,
	0x8b: opBinLong,
	'F':  opTextFloat,
	'G':  opBinFloat,
	'X':  opSizedString,
	0x8c: opSizedString,
	0x8d: opSizedString,
	'T':  opSizedString,
	'U':  opSizedString,
	'B':  opSizedBytes,
	'C':  opSizedBytes,
	0x8e: opSizedBytes,
	0x96: opSizedBytes,
	'S':  opQuotedString,
	'V':  opTextUnicode,
	')':  opEmptyTuple,
	't':  opTuple,
	0x85: opTupleN,
	0x86: opTupleN,
	0x87: opTupleN,
	']':  opEmptyList,
	'l':  opList,
	'a':  opAppend,
	'e':  opAppends,
	'}':  opEmptyDict,
	'd':  opDict,
	's':  opSetItem,
	'u':  opSetItems,
	'g':  opTextGet,
	'h':  opBinGet,
	'j':  opBinGet,
	'p':  opTextPut,
	'q':  opBinPut,
	'r':  opBinPut,
	0x94: opMemoize,
	'c':  opGlobal,
	0x93: opStackGlobal,
	'i':  opInst,
	'R':  opReduce,
	0x81: opNewObj,
	'o':  opObj,
	'b':  opBuild,
	'Q':  opBinPersID,
	'P':  opTextPersID,
	0x82: opExt,
	0x83: opExt,
	0x84: opExt,
	0x97: opBuffer,
	0x98: opBuffer,
}

// argWidth is the byte width of the little-endian integer argument (an
// integer, a memo index or a length prefix) that follows an opcode.
var argWidth = [256]int{
	'J': 4, 'K': 1, 'M': 2, 0x8a: 1, 0x8b: 4,
	'X': 4, 0x8c: 1, 0x8d: 8, 'T': 4, 'U': 1, 'B': 4, 'C': 1, 0x8e: 8, 0x96: 8,
	'h': 1, 'j': 4, 'q': 1, 'r': 4,
}

func opStop(m *machine, _ byte) error {
	m.done = true
	return nil
}

func opProto(m *machine, _ byte) error {
	p, err := m.s.byte()
	if err != nil {
		return err
	}
	if p > 5 {
		return fmt.Errorf("%w: %s: pickle protocol %d", ErrUnsupported, m.s.name, p)
	}
	return nil
}

// opFrame skips FRAME's length: a hint only.
func opFrame(m *machine, _ byte) error {
	_, err := m.s.uint(8)
	return err
}

func opMark(m *machine, _ byte) error {
	m.marks = append(m.marks, len(m.stack))
	return nil
}

func opPop(m *machine, _ byte) error {
	_, err := m.pop()
	return err
}

func opPopMark(m *machine, _ byte) error {
	_, err := m.popMark()
	return err
}

func opDup(m *machine, _ byte) error {
	v, err := m.top()
	if err != nil {
		return err
	}
	m.push(v)
	return nil
}

func pushConst(v any) opHandler {
	return func(m *machine, _ byte) error {
		m.push(v)
		return nil
	}
}

// opTextInt is INT; I00 and I01 are False and True.
func opTextInt(m *machine, _ byte) error {
	l, err := m.s.line()
	if err != nil {
		return err
	}
	switch l {
	case "00":
		m.push(false)
	case "01":
		m.push(true)
	default:
		v, err := strconv.ParseInt(l, 10, 64)
		if err != nil {
			return err
		}
		m.push(v)
	}
	return nil
}

// opBinInt is BININT: a signed 32-bit integer.
func opBinInt(m *machine, op byte) error {
	v, err := m.s.uint(argWidth[op])
	if err != nil {
		return err
	}
	m.push(int64(int32(uint32(v))))
	return nil
}

// opBinUint is BININT1 and BININT2: unsigned.
func opBinUint(m *machine, op byte) error {
	v, err := m.s.uint(argWidth[op])
	if err != nil {
		return err
	}
	m.push(int64(v))
	return nil
}

// opTextLong is LONG, a decimal integer with an optional L suffix.
func opTextLong(m *machine, _ byte) error {
	l, err := m.s.line()
	if err != nil {
		return err
	}
	if len(l) > 0 && l[len(l)-1] == 'L' {
		l = l[:len(l)-1]
	}
	if err := m.spend(1+int64(len(l))/8, "LONG"); err != nil {
		return err
	}
	b, ok := new(big.Int).SetString(l, 10)
	if !ok {
		return fmt.Errorf("bad LONG %q", l)
	}
	m.push(normInt(b))
	return nil
}

// opBinLong is LONG1 and LONG4: little-endian two's complement.
func opBinLong(m *machine, op byte) error {
	n, err := m.s.uint(argWidth[op])
	if err != nil {
		return err
	}
	if n > maxLongSize {
		return fmt.Errorf("%w: %s: %d-byte integer", ErrUnsupported, m.s.name, n)
	}
	b, err := m.s.bytes(int64(n))
	if err != nil {
		return err
	}
	m.push(decodeLong(b))
	return nil
}

func opTextFloat(m *machine, _ byte) error {
	l, err := m.s.line()
	if err != nil {
		return err
	}
	v, err := strconv.ParseFloat(l, 64)
	if err != nil {
		return err
	}
	m.push(v)
	return nil
}

// opBinFloat is BINFLOAT, big-endian.
func opBinFloat(m *machine, _ byte) error {
	b, err := m.s.bytes(8)
	if err != nil {
		return err
	}
	m.push(math.Float64frombits(binary.BigEndian.Uint64(b)))
	return nil
}

// sized reads a length prefix of op's width and that many bytes.
func (m *machine) sized(op byte) ([]byte, error) {
	n, err := m.s.uint(argWidth[op])
	if err != nil {
		return nil, err
	}
	if n > math.MaxInt64 {
		return nil, fmt.Errorf("%w: %s: string of %d bytes", ErrTruncated, m.s.name, n)
	}
	return m.s.bytes(int64(n))
}

// opSizedString is BINUNICODE, SHORT_BINUNICODE, BINUNICODE8 and the
// Python 2 str opcodes BINSTRING and SHORT_BINSTRING (torch's ASCII keys
// and locations).
func opSizedString(m *machine, op byte) error {
	b, err := m.sized(op)
	if err != nil {
		return err
	}
	m.push(string(b))
	return nil
}

// opSizedBytes is BINBYTES, SHORT_BINBYTES, BINBYTES8 and BYTEARRAY8.
func opSizedBytes(m *machine, op byte) error {
	b, err := m.sized(op)
	if err != nil {
		return err
	}
	m.push(b)
	return nil
}

// opQuotedString is STRING: text, quoted.
func opQuotedString(m *machine, _ byte) error {
	l, err := m.s.line()
	if err != nil {
		return err
	}
	v, err := strconv.Unquote(pyQuoteToGo(l))
	if err != nil {
		return fmt.Errorf("bad STRING %q", l)
	}
	m.push(v)
	return nil
}

// opTextUnicode is UNICODE (raw-unicode-escape), accepted as is.
func opTextUnicode(m *machine, _ byte) error {
	l, err := m.s.line()
	if err != nil {
		return err
	}
	m.push(l)
	return nil
}

func opEmptyTuple(m *machine, _ byte) error {
	m.push(&pyTuple{})
	return nil
}

func opTuple(m *machine, _ byte) error {
	items, err := m.popMark()
	if err != nil {
		return err
	}
	m.push(&pyTuple{items: items})
	return nil
}

// opTupleN is TUPLE1, TUPLE2 and TUPLE3.
func opTupleN(m *machine, op byte) error {
	n := int(op - 0x84)
	if len(m.stack) < n || (len(m.marks) > 0 && len(m.stack)-n < m.marks[len(m.marks)-1]) {
		return fmt.Errorf("%w: %s: pickle stack underflow", ErrCorrupt, m.s.name)
	}
	items := append([]any(nil), m.stack[len(m.stack)-n:]...)
	m.stack = m.stack[:len(m.stack)-n]
	m.push(&pyTuple{items: items})
	return nil
}

func opEmptyList(m *machine, _ byte) error {
	m.push(&pyList{})
	return nil
}

func opList(m *machine, _ byte) error {
	items, err := m.popMark()
	if err != nil {
		return err
	}
	m.push(&pyList{items: items})
	return nil
}

// topOf returns the stack's top as a T (a list for APPEND(S), a dict for
// SETITEM(S)); what names the opcode and prep its preposition in the error.
func topOf[T any](m *machine, what, prep string) (T, error) {
	var zero T
	v, err := m.top()
	if err != nil {
		return zero, err
	}
	t, ok := v.(T)
	if !ok {
		return zero, fmt.Errorf("%w: %s: %s %s %s", ErrCorrupt, m.s.name, what, prep, typeName(v))
	}
	return t, nil
}

func opAppend(m *machine, _ byte) error {
	v, err := m.pop()
	if err != nil {
		return err
	}
	pl, err := topOf[*pyList](m, "APPEND", "to")
	if err != nil {
		return err
	}
	pl.items = append(pl.items, v)
	return nil
}

func opAppends(m *machine, _ byte) error {
	items, err := m.popMark()
	if err != nil {
		return err
	}
	pl, err := topOf[*pyList](m, "APPENDS", "to")
	if err != nil {
		return err
	}
	if err := m.spend(int64(len(items)), "APPENDS"); err != nil {
		return err
	}
	pl.items = append(pl.items, items...)
	return nil
}

func opEmptyDict(m *machine, _ byte) error {
	m.push(newDict())
	return nil
}

func opDict(m *machine, _ byte) error {
	items, err := m.popMark()
	if err != nil {
		return err
	}
	d := newDict()
	if err := m.setItems(d, items); err != nil {
		return err
	}
	m.push(d)
	return nil
}

func opSetItem(m *machine, _ byte) error {
	v, err := m.pop()
	if err != nil {
		return err
	}
	k, err := m.pop()
	if err != nil {
		return err
	}
	pd, err := topOf[*pyDict](m, "SETITEM", "on")
	if err != nil {
		return err
	}
	return m.set(pd, k, v)
}

func opSetItems(m *machine, _ byte) error {
	items, err := m.popMark()
	if err != nil {
		return err
	}
	pd, err := topOf[*pyDict](m, "SETITEMS", "on")
	if err != nil {
		return err
	}
	return m.setItems(pd, items)
}

// textIndex reads a decimal memo index (GET, PUT).
func (m *machine) textIndex() (int64, error) {
	l, err := m.s.line()
	if err != nil {
		return 0, err
	}
	return strconv.ParseInt(l, 10, 64)
}

func opTextGet(m *machine, _ byte) error {
	i, err := m.textIndex()
	if err != nil {
		return err
	}
	return m.memoGet(i)
}

// opBinGet is BINGET and LONG_BINGET.
func opBinGet(m *machine, op byte) error {
	i, err := m.s.uint(argWidth[op])
	if err != nil {
		return err
	}
	return m.memoGet(int64(i))
}

func opTextPut(m *machine, _ byte) error {
	i, err := m.textIndex()
	if err != nil {
		return err
	}
	return m.memoPut(i)
}

// opBinPut is BINPUT and LONG_BINPUT.
func opBinPut(m *machine, op byte) error {
	i, err := m.s.uint(argWidth[op])
	if err != nil {
		return err
	}
	return m.memoPut(int64(i))
}

func opMemoize(m *machine, _ byte) error {
	return m.memoPut(int64(len(m.memo)))
}

// opGlobal is GLOBAL: module and name as two text lines, through the allow-list.
func opGlobal(m *machine, _ byte) error {
	mod, err := m.s.line()
	if err != nil {
		return err
	}
	name, err := m.s.line()
	if err != nil {
		return err
	}
	g, err := lookupGlobal(mod, name, m.objects)
	if err != nil {
		return err
	}
	m.push(g)
	return nil
}

// opStackGlobal is STACK_GLOBAL: module and name from the stack, through the allow-list.
func opStackGlobal(m *machine, _ byte) error {
	nv, err := m.pop()
	if err != nil {
		return err
	}
	mv, err := m.pop()
	if err != nil {
		return err
	}
	mod, ok1 := mv.(string)
	name, ok2 := nv.(string)
	if !ok1 || !ok2 {
		return fmt.Errorf("%w: %s: STACK_GLOBAL of non-strings", ErrCorrupt, m.s.name)
	}
	g, err := lookupGlobal(mod, name, m.objects)
	if err != nil {
		return err
	}
	m.push(g)
	return nil
}

// opInst is INST: refused by name.
func opInst(m *machine, _ byte) error {
	mod, err := m.s.line()
	if err != nil {
		return err
	}
	name, err := m.s.line()
	if err != nil {
		return err
	}
	return &RefusedError{Module: mod, Name: name}
}

// opReduce is REDUCE: an allowed global applied to an argument tuple.
func opReduce(m *machine, _ byte) error {
	args, err := m.pop()
	if err != nil {
		return err
	}
	f, err := m.pop()
	if err != nil {
		return err
	}
	v, err := m.call(f, args)
	if err != nil {
		return err
	}
	m.push(v)
	return nil
}

// opNewObj is NEWOBJ, cls.__new__(cls, *args): dicts and lists are the only
// classes built.
func opNewObj(m *machine, _ byte) error {
	if _, err := m.pop(); err != nil {
		return err
	}
	f, err := m.pop()
	if err != nil {
		return err
	}
	g, ok := f.(*pyGlobal)
	if !ok || (g.kind != gOrderedDict && g.kind != gDict && g.kind != gList) {
		return fmt.Errorf("%w: %s: NEWOBJ of %s", ErrUnsupported, m.s.name, typeName(f))
	}
	if g.kind == gList {
		m.push(&pyList{})
	} else {
		m.push(newDict())
	}
	return nil
}

// opObj is OBJ: class and arguments after a mark.
func opObj(m *machine, _ byte) error {
	items, err := m.popMark()
	if err != nil {
		return err
	}
	if len(items) == 0 {
		return fmt.Errorf("%w: %s: empty OBJ", ErrCorrupt, m.s.name)
	}
	v, err := m.call(items[0], &pyTuple{items: items[1:]})
	if err != nil {
		return err
	}
	m.push(v)
	return nil
}

// opBuild is BUILD (setstate): kept on dicts (a state_dict's _metadata), refused elsewhere.
func opBuild(m *machine, _ byte) error {
	state, err := m.pop()
	if err != nil {
		return err
	}
	obj, err := m.top()
	if err != nil {
		return err
	}
	d, ok := obj.(*pyDict)
	if !ok {
		return fmt.Errorf("%w: %s: BUILD (setstate) on %s", ErrUnsupported, m.s.name, typeName(obj))
	}
	d.attrs = state
	return nil
}

func opBinPersID(m *machine, _ byte) error {
	pid, err := m.pop()
	if err != nil {
		return err
	}
	if m.persLoad == nil {
		return fmt.Errorf("%w: %s: persistent id outside a checkpoint's object pickle", ErrCorrupt, m.s.name)
	}
	v, err := m.persLoad(pid)
	if err != nil {
		return err
	}
	m.push(v)
	return nil
}

// opTextPersID is PERSID, which torch never writes.
func opTextPersID(m *machine, _ byte) error {
	if _, err := m.s.line(); err != nil {
		return err
	}
	return fmt.Errorf("%w: %s: text persistent id", ErrUnsupported, m.s.name)
}

// opExt is EXT1, EXT2 and EXT4: the extension registry is refused.
func opExt(m *machine, _ byte) error {
	return fmt.Errorf("%w: %s: pickle extension registry (EXT opcodes)", ErrRefused, m.s.name)
}

// opBuffer is NEXT_BUFFER and READONLY_BUFFER.
func opBuffer(m *machine, _ byte) error {
	return fmt.Errorf("%w: %s: out-of-band pickle buffers", ErrUnsupported, m.s.name)
}
