package hdf5

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strings"
	"sync/atomic"
)

// Errors returned (wrapped, with the file name) by this package.
var (
	// ErrNotHDF5 means no HDF5 superblock signature was found.
	ErrNotHDF5 = errors.New("hdf5: not an HDF5 file")
	// ErrUnsupported means a valid file uses a feature this reader lacks.
	ErrUnsupported = errors.New("hdf5: unsupported")
	// ErrCorrupt means a structure is malformed, truncated or out of bounds.
	ErrCorrupt = errors.New("hdf5: corrupt file")
	// ErrNotFound means the requested dataset does not exist.
	ErrNotFound = errors.New("hdf5: not found")
	// ErrTooLarge means the dataset has more elements than Options.MaxElements.
	ErrTooLarge = errors.New("hdf5: dataset too large")
)

// DefaultMaxElements bounds the datasets read: 2^28 values (1 GiB of float32).
const DefaultMaxElements = 1 << 28

const (
	maxContinuations = 256
	maxMessages      = 1 << 14
	maxBTreeDepth    = 32
	maxBTreeNodes    = 1 << 16
	maxPathDepth     = 64
)

// A dataset may have at most maxElementsPerByte elements per byte of its
// file, plus baseElements: room for DEFLATE-compressed data and for chunks
// never written (read as zeros), while a small file cannot make the reader
// allocate gigabytes (issue 12).
const (
	maxElementsPerByte = 64
	baseElements       = 1 << 20
)

// elementBudget is the most elements a dataset of f may have.
func (f *File) elementBudget() int {
	if f.size > (math.MaxInt-baseElements)/maxElementsPerByte {
		return math.MaxInt
	}
	return int(f.size)*maxElementsPerByte + baseElements
}

// Options bounds what the reader accepts. The zero value means the defaults.
type Options struct {
	// MaxElements is the largest dataset accepted; 0 means DefaultMaxElements.
	MaxElements int
}

// File is an open HDF5 file. It is safe for concurrent use when the
// underlying io.ReaderAt is.
type File struct {
	r       io.ReaderAt
	size    int64
	name    string
	opt     Options
	sizeOff int
	sizeLen int
	base    uint64
	root    uint64 // root group object header address (relative to base)

	readLeft atomic.Int64 // bytes f.read may still return (newReadBudget)
}

// A File reads at most readsPerByte times its size plus baseReads bytes
// over its life, metadata and data together: enough to read each of its
// datasets several times, while a hostile file cannot make the reader go
// over the same bytes again and again (256 continuation blocks, or a
// thousand chunks, each naming the whole file).
const (
	readsPerByte = 8
	baseReads    = 16 << 20
)

// Open reads the superblock of the HDF5 file in r, which is size bytes long;
// name is used in error messages.
func Open(r io.ReaderAt, size int64, name string, opt Options) (*File, error) {
	if opt.MaxElements <= 0 {
		opt.MaxElements = DefaultMaxElements
	}
	f := &File{r: r, size: size, name: name, opt: opt}
	f.readLeft.Store(readsPerByte*max(size, 0) + baseReads)
	if err := f.readSuperblock(); err != nil {
		return nil, f.wrap(err)
	}
	return f, nil
}

// wrap prefixes err with the file's name, once.
func (f *File) wrap(err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s: %w", f.name, err)
}

// ReadFloat32File opens the HDF5 file at path and reads dataset (a path such
// as "crema" or "/features/crema") as float32 values in row-major order.
// Errors name the file.
func ReadFloat32File(path, dataset string, opt Options) (data []float32, shape []int, err error) {
	// a FIFO would block the open, a device never end: regular files only
	if st, err := os.Stat(path); err != nil {
		return nil, nil, fmt.Errorf("hdf5: %w", err)
	} else if !st.Mode().IsRegular() {
		return nil, nil, fmt.Errorf("hdf5: %s: %w: not a regular file (%s)", path, ErrNotHDF5, st.Mode().Type())
	}
	fh, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("hdf5: %w", err)
	}
	defer fh.Close()
	st, err := fh.Stat()
	if err != nil {
		return nil, nil, fmt.Errorf("hdf5: %w", err)
	}
	f, err := Open(fh, st.Size(), path, opt)
	if err != nil {
		return nil, nil, err
	}
	d, err := f.Dataset(dataset)
	if err != nil {
		return nil, nil, err
	}
	data, err = d.Float32()
	if err != nil {
		return nil, nil, err
	}
	return data, d.Shape, nil
}

// read returns n bytes at the relative address addr, checked against the file size.
func (f *File) read(addr uint64, n uint64) ([]byte, error) {
	abs := addr + f.base
	if abs < addr || n > uint64(f.size) || abs > uint64(f.size)-n {
		return nil, fmt.Errorf("%w: %d bytes at address %d beyond end of file (%d bytes)", ErrCorrupt, n, abs, f.size)
	}
	if f.readLeft.Add(-int64(n)) < 0 {
		return nil, fmt.Errorf("%w: the file's structures ask for more than %d reads of its %d bytes (%d bytes at address %d)",
			ErrTooLarge, readsPerByte, f.size, n, abs)
	}
	b := make([]byte, n)
	if _, err := f.r.ReadAt(b, int64(abs)); err != nil && !(errors.Is(err, io.EOF) && n == 0) {
		return nil, fmt.Errorf("%w: reading %d bytes at %d: %v", ErrCorrupt, n, abs, err)
	}
	return b, nil
}

// readUpTo returns up to n bytes at addr (fewer at the end of the file).
func (f *File) readUpTo(addr uint64, n uint64) ([]byte, error) {
	abs := addr + f.base
	if abs < addr || abs >= uint64(f.size) {
		return nil, fmt.Errorf("%w: address %d beyond end of file (%d bytes)", ErrCorrupt, abs, f.size)
	}
	if rest := uint64(f.size) - abs; n > rest {
		n = rest
	}
	return f.read(addr, n)
}

var signature = []byte("\x89HDF\r\n\x1a\n")

func (f *File) readSuperblock() error {
	var sb []byte
	var at int64
	for at = 0; at+8 <= f.size; at = max(512, at*2) {
		var sig [8]byte
		if _, err := f.r.ReadAt(sig[:], at); err != nil {
			return fmt.Errorf("%w: %v", ErrNotHDF5, err)
		}
		if bytes.Equal(sig[:], signature) {
			n := min(int64(128), f.size-at)
			sb = make([]byte, n)
			if _, err := f.r.ReadAt(sb, at); err != nil && !errors.Is(err, io.EOF) {
				return fmt.Errorf("%w: superblock: %v", ErrCorrupt, err)
			}
			break
		}
	}
	if sb == nil {
		return ErrNotHDF5
	}
	p := &parser{b: sb, off: 8}
	version := p.u8()
	switch version {
	case 0, 1:
		p.skip(4) // free-space, root symbol table, reserved, shared header versions
		f.sizeOff, f.sizeLen = int(p.u8()), int(p.u8())
		if err := f.checkSizes(); err != nil {
			return err
		}
		p.sizeOff, p.sizeLen = f.sizeOff, f.sizeLen
		p.skip(1 + 2 + 2 + 4) // reserved, group K's, flags
		if version == 1 {
			p.skip(4)
		}
		f.base = p.addr()
		p.addr() // free-space info
		p.addr() // end of file
		p.addr() // driver info
		p.addr() // root entry: link name offset
		f.root = p.addr()
	case 2, 3:
		f.sizeOff, f.sizeLen = int(p.u8()), int(p.u8())
		if err := f.checkSizes(); err != nil {
			return err
		}
		p.sizeOff, p.sizeLen = f.sizeOff, f.sizeLen
		p.skip(1) // flags
		f.base = p.addr()
		p.addr() // superblock extension
		p.addr() // end of file
		f.root = p.addr()
	default:
		return fmt.Errorf("%w: superblock version %d", ErrUnsupported, version)
	}
	if p.err != nil {
		return fmt.Errorf("%w: superblock: %v", ErrCorrupt, p.err)
	}
	if f.base == undefined(f.sizeOff) {
		f.base = 0
	}
	if f.base > uint64(f.size) {
		return fmt.Errorf("%w: base address %d beyond end of file", ErrCorrupt, f.base)
	}
	return nil
}

func (f *File) checkSizes() error {
	for _, s := range []int{f.sizeOff, f.sizeLen} {
		if s != 2 && s != 4 && s != 8 {
			return fmt.Errorf("%w: superblock declares %d-byte offsets/lengths", ErrUnsupported, s)
		}
	}
	return nil
}

func undefined(sizeOff int) uint64 {
	if sizeOff >= 8 {
		return math.MaxUint64
	}
	return 1<<(8*uint(sizeOff)) - 1
}

// parser reads little-endian fields from a byte slice; the first overrun
// sets err and makes every later read return zero.
type parser struct {
	b       []byte
	off     int
	err     error
	sizeOff int
	sizeLen int
}

func (p *parser) need(n int) bool {
	if p.err != nil {
		return false
	}
	if n < 0 || p.off+n > len(p.b) || p.off+n < p.off {
		p.err = fmt.Errorf("%w: structure truncated (%d bytes needed at %d of %d)", ErrCorrupt, n, p.off, len(p.b))
		return false
	}
	return true
}

func (p *parser) skip(n int) {
	if p.need(n) {
		p.off += n
	}
}

func (p *parser) bytes(n int) []byte {
	if !p.need(n) {
		return nil
	}
	b := p.b[p.off : p.off+n]
	p.off += n
	return b
}

func (p *parser) u8() uint8 {
	if !p.need(1) {
		return 0
	}
	p.off++
	return p.b[p.off-1]
}

func (p *parser) u16() uint16 { return uint16(p.uN(2)) }
func (p *parser) u32() uint32 { return uint32(p.uN(4)) }
func (p *parser) u64() uint64 { return p.uN(8) }

func (p *parser) uN(n int) uint64 {
	if !p.need(n) {
		return 0
	}
	var v uint64
	for i := n - 1; i >= 0; i-- {
		v = v<<8 | uint64(p.b[p.off+i])
	}
	p.off += n
	return v
}

func (p *parser) addr() uint64   { return p.uN(p.sizeOff) }
func (p *parser) length() uint64 { return p.uN(p.sizeLen) }
func (p *parser) rest() int      { return len(p.b) - p.off }

func (f *File) parser(b []byte) *parser {
	return &parser{b: b, sizeOff: f.sizeOff, sizeLen: f.sizeLen}
}

// message is one object header message.
type message struct {
	typ   uint16
	flags uint8
	data  []byte
}

// Object header message types used here.
const (
	msgDataspace    = 0x01
	msgLinkInfo     = 0x02
	msgDatatype     = 0x03
	msgLink         = 0x06
	msgExternal     = 0x07
	msgLayout       = 0x08
	msgFilters      = 0x0B
	msgContinuation = 0x10
	msgSymbolTable  = 0x11
)

// objectHeader reads all messages of the object header at addr, following
// continuation blocks.
func (f *File) objectHeader(addr uint64) ([]message, error) {
	head, err := f.readUpTo(addr, 16)
	if err != nil {
		return nil, fmt.Errorf("object header at %d: %w", addr, err)
	}
	var msgs []message
	type block struct{ addr, size uint64 }
	var pending []block
	v2 := bytes.HasPrefix(head, []byte("OHDR"))
	var hdrFlags uint8
	if v2 {
		p := f.parser(head)
		p.skip(4)
		if v := p.u8(); v != 2 {
			return nil, fmt.Errorf("%w: object header at %d: version %d", ErrUnsupported, addr, v)
		}
		hdrFlags = p.u8()
		pre := 6
		if hdrFlags&0x20 != 0 {
			pre += 16
		}
		if hdrFlags&0x10 != 0 {
			pre += 4
		}
		sizeBytes := 1 << (hdrFlags & 3)
		full, err := f.read(addr, uint64(pre+sizeBytes))
		if err != nil {
			return nil, fmt.Errorf("object header at %d: %w", addr, err)
		}
		p = f.parser(full)
		p.skip(pre)
		chunk0 := p.uN(sizeBytes)
		pending = append(pending, block{addr + uint64(pre+sizeBytes), chunk0})
	} else {
		p := f.parser(head)
		if v := p.u8(); v != 1 {
			return nil, fmt.Errorf("%w: object header at %d: version %d", ErrUnsupported, addr, v)
		}
		p.skip(1)
		p.u16() // number of messages
		p.u32() // reference count
		size := p.u32()
		if p.err != nil {
			return nil, fmt.Errorf("object header at %d: %w", addr, p.err)
		}
		pending = append(pending, block{addr + 16, uint64(size)})
	}
	for nblocks := 0; len(pending) > 0; nblocks++ {
		if nblocks > maxContinuations {
			return nil, fmt.Errorf("%w: object header at %d: more than %d continuation blocks", ErrCorrupt, addr, maxContinuations)
		}
		blk := pending[0]
		pending = pending[1:]
		b, err := f.read(blk.addr, blk.size)
		if err != nil {
			return nil, fmt.Errorf("object header at %d: %w", addr, err)
		}
		p := f.parser(b)
		end := len(b)
		if v2 && nblocks > 0 {
			// Chunk 0's size excludes its checksum; a continuation block's
			// length includes its signature and checksum.
			if !bytes.HasPrefix(b, []byte("OCHK")) {
				return nil, fmt.Errorf("%w: object header at %d: continuation block without OCHK signature", ErrCorrupt, addr)
			}
			p.skip(4)
			end -= 4
		}
		for {
			hsize := 8
			if v2 {
				hsize = 4
				if hdrFlags&0x04 != 0 {
					hsize = 6
				}
			}
			if end-p.off < hsize {
				break // gap at the end of a block
			}
			var m message
			if v2 {
				m.typ = uint16(p.u8())
				size := int(p.u16())
				m.flags = p.u8()
				if hdrFlags&0x04 != 0 {
					p.u16()
				}
				if size > end-p.off {
					return nil, fmt.Errorf("%w: object header at %d: message of %d bytes overruns its block", ErrCorrupt, addr, size)
				}
				m.data = p.bytes(size)
			} else {
				m.typ = p.u16()
				size := int(p.u16())
				m.flags = p.u8()
				p.skip(3)
				if size > end-p.off {
					return nil, fmt.Errorf("%w: object header at %d: message of %d bytes overruns its block", ErrCorrupt, addr, size)
				}
				m.data = p.bytes(size)
			}
			if p.err != nil {
				return nil, fmt.Errorf("object header at %d: %w", addr, p.err)
			}
			if len(msgs) >= maxMessages {
				return nil, fmt.Errorf("%w: object header at %d: more than %d messages", ErrCorrupt, addr, maxMessages)
			}
			if m.typ == msgContinuation {
				cp := f.parser(m.data)
				ca, cl := cp.addr(), cp.length()
				if cp.err != nil {
					return nil, fmt.Errorf("object header at %d: continuation: %w", addr, cp.err)
				}
				pending = append(pending, block{ca, cl})
				continue
			}
			msgs = append(msgs, m)
		}
	}
	return msgs, nil
}

// Dataset is a numeric dataset found by File.Dataset.
type Dataset struct {
	// Path is the dataset's path as asked for.
	Path string
	// Shape holds the dataset's dimensions, slowest-varying first.
	Shape []int

	f      *File
	dtype  datatype
	layout layout
	filts  []filter
	n      int // number of elements
}

// Dataset finds the dataset at path ("crema", "/crema", "/group/crema").
func (f *File) Dataset(path string) (*Dataset, error) {
	parts := strings.FieldsFunc(path, func(r rune) bool { return r == '/' })
	if len(parts) == 0 {
		return nil, f.wrap(fmt.Errorf("%w: dataset path %q is empty", ErrNotFound, path))
	}
	if len(parts) > maxPathDepth {
		return nil, f.wrap(fmt.Errorf("%w: dataset path %q is too deep", ErrNotFound, path))
	}
	addr := f.root
	for i, name := range parts {
		msgs, err := f.objectHeader(addr)
		if err != nil {
			return nil, f.wrap(err)
		}
		next, err := f.lookup(msgs, name)
		if err != nil {
			return nil, f.wrap(fmt.Errorf("looking up %q in %q: %w", name, "/"+strings.Join(parts[:i], "/"), err))
		}
		addr = next
	}
	msgs, err := f.objectHeader(addr)
	if err != nil {
		return nil, f.wrap(err)
	}
	d, err := f.dataset(path, msgs)
	if err != nil {
		return nil, f.wrap(fmt.Errorf("dataset %q: %w", path, err))
	}
	return d, nil
}

// lookup finds the object header address of the link name in a group whose
// header messages are msgs.
func (f *File) lookup(msgs []message, name string) (uint64, error) {
	isGroup := false
	for _, m := range msgs {
		switch m.typ {
		case msgSymbolTable:
			isGroup = true
			p := f.parser(m.data)
			btree, heap := p.addr(), p.addr()
			if p.err != nil {
				return 0, p.err
			}
			addr, ok, err := f.symbolTableLookup(btree, heap, name)
			if err != nil || ok {
				return addr, err
			}
		case msgLink:
			isGroup = true
			lname, addr, err := f.parseLink(m.data)
			if err != nil {
				return 0, err
			}
			if lname == name {
				return addr, nil
			}
		case msgLinkInfo:
			isGroup = true
			p := f.parser(m.data)
			p.u8() // version
			flags := p.u8()
			if flags&1 != 0 {
				p.u64()
			}
			heap := p.addr()
			if p.err != nil {
				return 0, p.err
			}
			if heap != undefined(f.sizeOff) {
				return 0, fmt.Errorf("%w: dense link storage (fractal heap)", ErrUnsupported)
			}
		}
	}
	if !isGroup {
		return 0, fmt.Errorf("%w: not a group", ErrNotFound)
	}
	return 0, fmt.Errorf("%w: no link named %q", ErrNotFound, name)
}

func (f *File) parseLink(b []byte) (string, uint64, error) {
	p := f.parser(b)
	if v := p.u8(); v != 1 {
		return "", 0, fmt.Errorf("%w: link message version %d", ErrUnsupported, v)
	}
	flags := p.u8()
	ltype := uint8(0)
	if flags&0x08 != 0 {
		ltype = p.u8()
	}
	if flags&0x04 != 0 {
		p.u64()
	}
	if flags&0x10 != 0 {
		p.u8()
	}
	nlen := int(p.uN(1 << (flags & 3)))
	name := string(p.bytes(nlen))
	if p.err != nil {
		return "", 0, p.err
	}
	if ltype != 0 {
		return name, 0, fmt.Errorf("%w: link %q of type %d (soft or external link)", ErrUnsupported, name, ltype)
	}
	addr := p.addr()
	return name, addr, p.err
}

// symbolTableLookup searches a v1 B-tree of group nodes for name.
func (f *File) symbolTableLookup(btree, heapAddr uint64, name string) (uint64, bool, error) {
	hb, err := f.read(heapAddr, uint64(8+2*f.sizeLen+f.sizeOff))
	if err != nil {
		return 0, false, fmt.Errorf("local heap: %w", err)
	}
	if !bytes.HasPrefix(hb, []byte("HEAP")) {
		return 0, false, fmt.Errorf("%w: local heap at %d lacks its signature", ErrCorrupt, heapAddr)
	}
	hp := f.parser(hb)
	hp.skip(8)
	segSize := hp.length()
	hp.length() // free list offset
	segAddr := hp.addr()
	heap, err := f.read(segAddr, segSize)
	if err != nil {
		return 0, false, fmt.Errorf("local heap data: %w", err)
	}
	var found uint64
	ok := false
	err = f.walkBTree(btree, 0, f.sizeLen, -1, map[uint64]bool{}, func(key []byte, child uint64) error {
		if ok {
			return nil
		}
		// child is a symbol table node (SNOD).
		b, err := f.readUpTo(child, uint64(8+64*(2*f.sizeOff+24)))
		if err != nil {
			return fmt.Errorf("symbol table node: %w", err)
		}
		if !bytes.HasPrefix(b, []byte("SNOD")) {
			return fmt.Errorf("%w: symbol table node at %d lacks its signature", ErrCorrupt, child)
		}
		p := f.parser(b)
		p.skip(6)
		n := int(p.u16())
		for i := 0; i < n && p.err == nil; i++ {
			nameOff := p.addr()
			obj := p.addr()
			p.skip(24)
			if p.err != nil {
				break
			}
			if nameOff >= uint64(len(heap)) {
				return fmt.Errorf("%w: link name offset %d outside the local heap", ErrCorrupt, nameOff)
			}
			s := heap[nameOff:]
			if z := bytes.IndexByte(s, 0); z >= 0 {
				s = s[:z]
			}
			if string(s) == name {
				found, ok = obj, true
				return nil
			}
		}
		return p.err
	})
	return found, ok, err
}

// walkBTree visits the leaf entries of the version 1 B-tree at addr (node
// type 0: group, 1: chunks) in key order, calling fn with each entry's key
// and child address. keySize is the size of a key (node type 0: a length;
// type 1: 8 + 8·(rank+1)).
func (f *File) walkBTree(addr uint64, wantType uint8, keySize, wantLevel int, seen map[uint64]bool, fn func(key []byte, child uint64) error) error {
	if seen[addr] {
		return fmt.Errorf("%w: B-tree node at %d visited twice", ErrCorrupt, addr)
	}
	if len(seen) >= maxBTreeNodes {
		return fmt.Errorf("%w: B-tree has more than %d nodes", ErrCorrupt, maxBTreeNodes)
	}
	seen[addr] = true
	hdr, err := f.read(addr, uint64(8+2*f.sizeOff))
	if err != nil {
		return fmt.Errorf("B-tree node: %w", err)
	}
	if !bytes.HasPrefix(hdr, []byte("TREE")) {
		return fmt.Errorf("%w: B-tree node at %d lacks its signature", ErrCorrupt, addr)
	}
	p := f.parser(hdr)
	p.skip(4)
	typ, level, entries := p.u8(), p.u8(), int(p.u16())
	if typ != wantType {
		return fmt.Errorf("%w: B-tree node at %d has type %d, want %d", ErrCorrupt, addr, typ, wantType)
	}
	if wantLevel >= 0 && int(level) != wantLevel || level > maxBTreeDepth {
		return fmt.Errorf("%w: B-tree node at %d has level %d", ErrCorrupt, addr, level)
	}
	body, err := f.read(addr+uint64(len(hdr)), uint64(entries*(keySize+f.sizeOff)+keySize))
	if err != nil {
		return fmt.Errorf("B-tree node: %w", err)
	}
	bp := f.parser(body)
	for i := 0; i < entries; i++ {
		key := bp.bytes(keySize)
		child := bp.addr()
		if bp.err != nil {
			return bp.err
		}
		if level > 0 {
			if err := f.walkBTree(child, wantType, keySize, int(level)-1, seen, fn); err != nil {
				return err
			}
			continue
		}
		if err := fn(key, child); err != nil {
			return err
		}
	}
	return nil
}
