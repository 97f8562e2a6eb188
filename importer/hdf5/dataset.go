package hdf5

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"fmt"
	"io"
	"math"
)

// datatype is a numeric element type.
type datatype struct {
	float     bool
	signed    bool
	bigEndian bool
	size      int
}

var className = [...]string{"integer", "float", "time", "string", "bitfield", "opaque", "compound", "reference", "enum", "variable-length", "array"}

func parseDatatype(m message) (datatype, error) {
	if m.flags&0x02 != 0 {
		return datatype{}, fmt.Errorf("%w: committed (shared) datatype", ErrUnsupported)
	}
	p := &parser{b: m.data}
	cv := p.u8()
	bf := p.bytes(3)
	size := int(p.u32())
	if p.err != nil {
		return datatype{}, fmt.Errorf("datatype: %w", p.err)
	}
	class := cv & 0x0f
	dt := datatype{size: size, bigEndian: bf[0]&1 != 0}
	switch class {
	case 0:
		dt.signed = bf[0]&0x08 != 0
		off, prec := p.u16(), p.u16()
		if p.err != nil {
			return dt, fmt.Errorf("datatype: %w", p.err)
		}
		if size != 1 && size != 2 && size != 4 && size != 8 || off != 0 || int(prec) != 8*size {
			return dt, fmt.Errorf("%w: integer of %d bytes with %d-bit precision at bit %d", ErrUnsupported, size, prec, off)
		}
	case 1:
		dt.float = true
		if bf[0]&0x40 != 0 {
			return dt, fmt.Errorf("%w: VAX-endian float", ErrUnsupported)
		}
		off, prec := p.u16(), p.u16()
		p.skip(1)
		esize := p.u8()
		p.skip(1)
		msize := p.u8()
		if p.err != nil {
			return dt, fmt.Errorf("datatype: %w", p.err)
		}
		ieee := off == 0 && (size == 4 && prec == 32 && esize == 8 && msize == 23 ||
			size == 8 && prec == 64 && esize == 11 && msize == 52)
		if !ieee {
			return dt, fmt.Errorf("%w: float of %d bytes (%d-bit precision, %d-bit exponent, %d-bit mantissa); only IEEE float32 and float64 are read",
				ErrUnsupported, size, prec, esize, msize)
		}
	default:
		name := fmt.Sprintf("class %d", class)
		if int(class) < len(className) {
			name = fmt.Sprintf("class %d (%s)", class, className[class])
		}
		return dt, fmt.Errorf("%w: datatype %s; only integers and floats are read", ErrUnsupported, name)
	}
	return dt, nil
}

// decode converts len(dst) elements of raw bytes into float32.
func (dt datatype) decode(dst []float32, src []byte) {
	var bo binary.ByteOrder = binary.LittleEndian
	if dt.bigEndian {
		bo = binary.BigEndian
	}
	switch {
	case dt.float && dt.size == 4:
		for i := range dst {
			dst[i] = math.Float32frombits(bo.Uint32(src[4*i:]))
		}
	case dt.float && dt.size == 8:
		for i := range dst {
			dst[i] = float32(math.Float64frombits(bo.Uint64(src[8*i:])))
		}
	default:
		for i := range dst {
			b := src[dt.size*i:]
			var v uint64
			switch dt.size {
			case 1:
				v = uint64(b[0])
			case 2:
				v = uint64(bo.Uint16(b))
			case 4:
				v = uint64(bo.Uint32(b))
			default:
				v = bo.Uint64(b)
			}
			if dt.signed {
				shift := 64 - 8*uint(dt.size)
				dst[i] = float32(int64(v<<shift) >> shift)
			} else {
				dst[i] = float32(v)
			}
		}
	}
}

func parseDataspace(f *File, m message) ([]int, error) {
	if m.flags&0x02 != 0 {
		return nil, fmt.Errorf("%w: shared dataspace", ErrUnsupported)
	}
	p := f.parser(m.data)
	version := p.u8()
	rank := int(p.u8())
	p.u8() // flags
	switch version {
	case 1:
		p.skip(5)
	case 2:
		if typ := p.u8(); typ == 2 {
			return nil, fmt.Errorf("%w: null dataspace (no data)", ErrUnsupported)
		}
	default:
		return nil, fmt.Errorf("%w: dataspace version %d", ErrUnsupported, version)
	}
	if rank > 32 {
		return nil, fmt.Errorf("%w: dataspace of rank %d", ErrCorrupt, rank)
	}
	shape := make([]int, rank)
	for i := range shape {
		d := p.length()
		if d > math.MaxInt32 {
			return nil, fmt.Errorf("%w: dimension %d of %d elements", ErrTooLarge, i, d)
		}
		shape[i] = int(d)
	}
	if p.err != nil {
		return nil, fmt.Errorf("dataspace: %w", p.err)
	}
	return shape, nil
}

// Chunk index types (layout message v4; indexBTree1 for v1–v3).
const (
	indexBTree1   = 0
	indexSingle   = 1
	indexImplicit = 2
	indexFixed    = 3
)

type layout struct {
	class      uint8 // 0 compact, 1 contiguous, 2 chunked
	compact    []byte
	addr       uint64
	chunk      []int // chunk dimensions (rank of the dataset)
	index      uint8
	singleSize uint64 // filtered single chunk: its stored size
	singleMask uint32
	filtered   bool
}

var indexName = map[uint8]string{4: "extensible array", 5: "version 2 B-tree"}

func parseLayout(f *File, m message, rank int) (layout, error) {
	p := f.parser(m.data)
	version := p.u8()
	var l layout
	readChunkDims := func(n, width int) {
		dims := make([]int, 0, n)
		for i := 0; i < n; i++ {
			dims = append(dims, int(p.uN(width)))
		}
		if len(dims) >= rank {
			l.chunk = dims[:rank]
		}
	}
	switch version {
	case 1, 2:
		ndims := int(p.u8())
		l.class = p.u8()
		p.skip(5)
		if l.class != 0 {
			l.addr = p.addr()
		}
		readChunkDims(ndims, 4)
		switch l.class {
		case 0:
			n := int(p.u32())
			l.compact = p.bytes(n)
		case 2:
			p.u32() // element size
		}
	case 3, 4:
		l.class = p.u8()
		switch l.class {
		case 0:
			n := int(p.u16())
			l.compact = p.bytes(n)
		case 1:
			l.addr = p.addr()
			p.length()
		case 2:
			if version == 3 {
				ndims := int(p.u8())
				l.addr = p.addr()
				readChunkDims(ndims, 4)
				break
			}
			flags := p.u8()
			ndims := int(p.u8())
			width := int(p.u8())
			if width < 1 || width > 8 {
				return l, fmt.Errorf("%w: layout: chunk dimension width %d", ErrCorrupt, width)
			}
			readChunkDims(ndims, width)
			l.index = p.u8()
			switch l.index {
			case indexSingle:
				if flags&0x02 != 0 {
					l.filtered = true
					l.singleSize = p.length()
					l.singleMask = p.u32()
				}
				l.addr = p.addr()
			case indexImplicit:
				l.addr = p.addr()
			case indexFixed:
				p.u8() // page bits
				l.addr = p.addr()
			default:
				name := indexName[l.index]
				if name == "" {
					name = fmt.Sprintf("type %d", l.index)
				}
				return l, fmt.Errorf("%w: %s chunk index (layout message v4; written by libver='latest' for resizable datasets)", ErrUnsupported, name)
			}
		case 3:
			return l, fmt.Errorf("%w: virtual dataset layout", ErrUnsupported)
		}
	default:
		return l, fmt.Errorf("%w: layout message version %d", ErrUnsupported, version)
	}
	if p.err != nil {
		return l, fmt.Errorf("layout: %w", p.err)
	}
	if l.class > 2 {
		return l, fmt.Errorf("%w: layout class %d", ErrUnsupported, l.class)
	}
	if l.class == 2 {
		if len(l.chunk) != rank {
			return l, fmt.Errorf("%w: layout: chunk rank does not match the dataspace's %d", ErrCorrupt, rank)
		}
		for _, c := range l.chunk {
			if c <= 0 {
				return l, fmt.Errorf("%w: layout: chunk dimension %d", ErrCorrupt, c)
			}
		}
	}
	return l, nil
}

// Filter ids.
const (
	filterDeflate    = 1
	filterShuffle    = 2
	filterFletcher32 = 3
)

var filterName = map[uint16]string{
	4: "szip", 5: "nbit", 6: "scaleoffset", 307: "bzip2", 32000: "lzf", 32001: "blosc",
	32004: "lz4", 32008: "bitshuffle", 32013: "zfp", 32015: "zstd", 32017: "sz",
}

type filter struct {
	id     uint16
	values []uint32
}

func parseFilters(f *File, m message) ([]filter, error) {
	p := f.parser(m.data)
	version := p.u8()
	n := int(p.u8())
	if version == 1 {
		p.skip(6)
	} else if version != 2 {
		return nil, fmt.Errorf("%w: filter pipeline version %d", ErrUnsupported, version)
	}
	var fs []filter
	for i := 0; i < n && p.err == nil; i++ {
		var fl filter
		fl.id = p.u16()
		nameLen := 0
		if version == 1 || fl.id >= 256 {
			nameLen = int(p.u16())
		}
		p.u16() // flags
		nvals := int(p.u16())
		if version == 1 {
			nameLen = (nameLen + 7) &^ 7
		}
		p.skip(nameLen)
		for j := 0; j < nvals; j++ {
			fl.values = append(fl.values, p.u32())
		}
		if version == 1 && nvals%2 == 1 {
			p.skip(4)
		}
		switch fl.id {
		case filterDeflate, filterShuffle, filterFletcher32:
		default:
			name := filterName[fl.id]
			if name == "" {
				name = "unknown"
			}
			return nil, fmt.Errorf("%w: %s filter (id %d)", ErrUnsupported, name, fl.id)
		}
		fs = append(fs, fl)
	}
	if p.err != nil {
		return nil, fmt.Errorf("filter pipeline: %w", p.err)
	}
	return fs, nil
}

func (f *File) dataset(path string, msgs []message) (*Dataset, error) {
	d := &Dataset{Path: path, f: f}
	var haveSpace, haveType, haveLayout bool
	var layoutMsg message
	for _, m := range msgs {
		var err error
		switch m.typ {
		case msgDataspace:
			d.Shape, err = parseDataspace(f, m)
			haveSpace = true
		case msgDatatype:
			d.dtype, err = parseDatatype(m)
			haveType = true
		case msgLayout:
			layoutMsg, haveLayout = m, true
		case msgFilters:
			d.filts, err = parseFilters(f, m)
		case msgExternal:
			err = fmt.Errorf("%w: external data storage", ErrUnsupported)
		}
		if err != nil {
			return nil, err
		}
	}
	if !haveSpace || !haveType || !haveLayout {
		return nil, fmt.Errorf("%w: not a dataset (a group?)", ErrNotFound)
	}
	var err error
	d.layout, err = parseLayout(f, layoutMsg, len(d.Shape))
	if err != nil {
		return nil, err
	}
	d.n = 1
	for _, s := range d.Shape {
		if s != 0 && d.n > f.opt.MaxElements/s {
			return nil, fmt.Errorf("%w: shape %v (limit %d elements)", ErrTooLarge, d.Shape, f.opt.MaxElements)
		}
		d.n *= s
	}
	if d.n > f.opt.MaxElements {
		return nil, fmt.Errorf("%w: shape %v (limit %d elements)", ErrTooLarge, d.Shape, f.opt.MaxElements)
	}
	if d.n > f.elementBudget() {
		return nil, fmt.Errorf("%w: shape %v is more elements than a %d-byte file may describe (%d per byte + %d)",
			ErrTooLarge, d.Shape, f.size, maxElementsPerByte, baseElements)
	}
	return d, nil
}

// Float32 reads the whole dataset as float32 values in row-major order.
func (d *Dataset) Float32() ([]float32, error) {
	out, err := d.float32()
	if err != nil {
		return nil, d.f.wrap(fmt.Errorf("dataset %q: %w", d.Path, err))
	}
	return out, nil
}

func (d *Dataset) float32() ([]float32, error) {
	f := d.f
	es := d.dtype.size
	need := uint64(d.n) * uint64(es)
	out := make([]float32, d.n)
	switch d.layout.class {
	case 0:
		if uint64(len(d.layout.compact)) < need {
			return nil, fmt.Errorf("%w: compact data of %d bytes, shape %v needs %d", ErrCorrupt, len(d.layout.compact), d.Shape, need)
		}
		d.dtype.decode(out, d.layout.compact)
	case 1:
		if d.layout.addr == undefined(f.sizeOff) || d.n == 0 {
			return out, nil // never written: fill value 0
		}
		raw, err := f.read(d.layout.addr, need)
		if err != nil {
			return nil, err
		}
		d.dtype.decode(out, raw)
	case 2:
		if err := d.readChunks(out); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// chunkRef locates one stored chunk.
type chunkRef struct {
	offset []int // element offsets of the chunk's first element
	addr   uint64
	size   uint64
	mask   uint32
}

func (d *Dataset) readChunks(out []float32) error {
	f := d.f
	l := d.layout
	rank := len(d.Shape)
	chunkElems := 1
	budget := min(f.opt.MaxElements, f.elementBudget())
	for _, c := range l.chunk {
		if chunkElems > budget/c {
			return fmt.Errorf("%w: chunk %v is more elements than the %d-byte file may describe", ErrTooLarge, l.chunk, f.size)
		}
		chunkElems *= c
	}
	chunkBytes := uint64(chunkElems) * uint64(d.dtype.size)
	buf := make([]float32, chunkElems)
	grid := d.grid()
	seen := map[int]bool{} // chunks read, by index in the grid: each at most once
	visit := func(c chunkRef) error {
		at := 0
		for i, o := range c.offset {
			if o < 0 || o >= d.Shape[i] || o%l.chunk[i] != 0 {
				return fmt.Errorf("%w: chunk offset %v outside shape %v or off the chunk grid %v", ErrCorrupt, c.offset, d.Shape, l.chunk)
			}
			at = at*grid[i] + o/l.chunk[i]
		}
		if seen[at] {
			return fmt.Errorf("%w: chunk at %v stored twice", ErrCorrupt, c.offset)
		}
		seen[at] = true
		raw, err := f.read(c.addr, c.size)
		if err != nil {
			return fmt.Errorf("chunk at %v: %w", c.offset, err)
		}
		raw, err = d.unfilter(raw, c.mask, chunkBytes)
		if err != nil {
			return fmt.Errorf("chunk at %v: %w", c.offset, err)
		}
		if uint64(len(raw)) < chunkBytes {
			return fmt.Errorf("%w: chunk at %v holds %d bytes, want %d", ErrCorrupt, c.offset, len(raw), chunkBytes)
		}
		d.dtype.decode(buf, raw)
		d.place(out, buf, c.offset)
		return nil
	}
	if d.n == 0 || l.addr == undefined(f.sizeOff) {
		return nil
	}
	switch l.index {
	case indexBTree1:
		keySize := 8 + 8*(rank+1)
		return f.walkBTree(l.addr, 1, keySize, -1, map[uint64]bool{}, func(key []byte, child uint64) error {
			p := &parser{b: key}
			size := p.u32()
			mask := p.u32()
			off := make([]int, rank)
			for i := range off {
				v := p.u64()
				if v > math.MaxInt32 {
					return fmt.Errorf("%w: chunk offset %d", ErrCorrupt, v)
				}
				off[i] = int(v)
			}
			return visit(chunkRef{offset: off, addr: child, size: uint64(size), mask: mask})
		})
	case indexSingle:
		size := chunkBytes
		if l.filtered {
			size = l.singleSize
		}
		return visit(chunkRef{offset: make([]int, rank), addr: l.addr, size: size, mask: l.singleMask})
	case indexImplicit:
		// the chunks lie one after the other: they must fit in the file
		if n := gridCount(grid); chunkBytes > 0 && uint64(n) > uint64(f.size)/chunkBytes {
			return fmt.Errorf("%w: %d implicit chunks of %d bytes in a %d-byte file", ErrCorrupt, n, chunkBytes, f.size)
		}
		for i, off := range gridOffsets(grid, l.chunk) {
			if err := visit(chunkRef{offset: off, addr: l.addr + uint64(i)*chunkBytes, size: chunkBytes}); err != nil {
				return err
			}
		}
		return nil
	case indexFixed:
		return d.readFixedArray(chunkBytes, visit)
	}
	return fmt.Errorf("%w: chunk index type %d", ErrUnsupported, l.index)
}

// grid returns the number of chunks along each dimension.
func (d *Dataset) grid() []int {
	g := make([]int, len(d.Shape))
	for i, s := range d.Shape {
		g[i] = (s + d.layout.chunk[i] - 1) / d.layout.chunk[i]
	}
	return g
}

// gridCount is the number of chunks of grid.
func gridCount(grid []int) int {
	n := 1
	for _, g := range grid {
		n *= g
	}
	return n
}

// gridOffsets lists the element offsets of every chunk of grid in row-major order.
func gridOffsets(grid, chunk []int) [][]int {
	n := gridCount(grid)
	offs := make([][]int, 0, n)
	idx := make([]int, len(grid))
	for k := 0; k < n; k++ {
		off := make([]int, len(grid))
		for i := range idx {
			off[i] = idx[i] * chunk[i]
		}
		offs = append(offs, off)
		for i := len(idx) - 1; i >= 0; i-- {
			idx[i]++
			if idx[i] < grid[i] {
				break
			}
			idx[i] = 0
		}
	}
	return offs
}

// readFixedArray visits the chunks of a fixed array index (unpaged).
func (d *Dataset) readFixedArray(chunkBytes uint64, visit func(chunkRef) error) error {
	f := d.f
	hb, err := f.read(d.layout.addr, uint64(12+f.sizeLen+f.sizeOff))
	if err != nil {
		return fmt.Errorf("fixed array header: %w", err)
	}
	if !bytes.HasPrefix(hb, []byte("FAHD")) {
		return fmt.Errorf("%w: fixed array header at %d lacks its signature", ErrCorrupt, d.layout.addr)
	}
	p := f.parser(hb)
	p.skip(5)
	client := p.u8()
	entrySize := int(p.u8())
	pageBits := p.u8()
	nEntries := p.length()
	dblk := p.addr()
	grid := d.grid()
	if nChunks := gridCount(grid); nEntries != uint64(nChunks) {
		return fmt.Errorf("%w: fixed array of %d entries for %d chunks", ErrCorrupt, nEntries, nChunks)
	}
	if nEntries > uint64(f.size) {
		return fmt.Errorf("%w: fixed array of %d entries in a %d-byte file", ErrCorrupt, nEntries, f.size)
	}
	offs := gridOffsets(grid, d.layout.chunk)
	if pageBits < 64 && nEntries > 1<<pageBits {
		return fmt.Errorf("%w: paged fixed array chunk index (%d chunks)", ErrUnsupported, nEntries)
	}
	filtered := client == 1
	minEntry := f.sizeOff
	if filtered {
		minEntry = f.sizeOff + 1 + 4
	}
	if entrySize < minEntry || entrySize > f.sizeOff+8+4 {
		return fmt.Errorf("%w: fixed array entry size %d", ErrCorrupt, entrySize)
	}
	pre := 6 + f.sizeOff
	db, err := f.read(dblk, uint64(pre)+nEntries*uint64(entrySize))
	if err != nil {
		return fmt.Errorf("fixed array data block: %w", err)
	}
	if !bytes.HasPrefix(db, []byte("FADB")) {
		return fmt.Errorf("%w: fixed array data block at %d lacks its signature", ErrCorrupt, dblk)
	}
	p = f.parser(db)
	p.skip(pre)
	for i := range offs {
		c := chunkRef{offset: offs[i], addr: p.addr(), size: chunkBytes}
		if filtered {
			c.size = p.uN(entrySize - f.sizeOff - 4)
			c.mask = p.u32()
		}
		if p.err != nil {
			return p.err
		}
		if c.addr == undefined(f.sizeOff) {
			continue // never written
		}
		if err := visit(c); err != nil {
			return err
		}
	}
	return nil
}

// unfilter undoes the filter pipeline (in reverse order), skipping filters
// whose bit is set in mask; the result is at most limit bytes.
func (d *Dataset) unfilter(raw []byte, mask uint32, limit uint64) ([]byte, error) {
	for i := len(d.filts) - 1; i >= 0; i-- {
		if i < 32 && mask&(1<<uint(i)) != 0 {
			continue
		}
		fl := d.filts[i]
		switch fl.id {
		case filterDeflate:
			zr, err := zlib.NewReader(bytes.NewReader(raw))
			if err != nil {
				return nil, fmt.Errorf("%w: deflate: %v", ErrCorrupt, err)
			}
			out, err := io.ReadAll(io.LimitReader(zr, int64(limit)+1))
			if err != nil {
				return nil, fmt.Errorf("%w: deflate: %v", ErrCorrupt, err)
			}
			if uint64(len(out)) > limit {
				return nil, fmt.Errorf("%w: deflate: chunk inflates beyond its %d bytes", ErrCorrupt, limit)
			}
			raw = out
		case filterShuffle:
			es := d.dtype.size
			if len(fl.values) > 0 && fl.values[0] > 0 {
				es = int(fl.values[0])
			}
			raw = unshuffle(raw, es)
		case filterFletcher32:
			if len(raw) < 4 {
				return nil, fmt.Errorf("%w: fletcher32: chunk of %d bytes", ErrCorrupt, len(raw))
			}
			raw = raw[:len(raw)-4]
		}
	}
	return raw, nil
}

// unshuffle undoes HDF5's byte shuffle for elements of es bytes.
func unshuffle(in []byte, es int) []byte {
	if es <= 1 {
		return in
	}
	n := len(in) / es
	out := make([]byte, len(in))
	for j := 0; j < es; j++ {
		src := in[j*n : (j+1)*n]
		for i, b := range src {
			out[i*es+j] = b
		}
	}
	copy(out[n*es:], in[n*es:])
	return out
}

// place copies the chunk values buf (chunk-shaped) whose first element is at
// offset into out (dataset-shaped), clipping at the dataset's edges.
func (d *Dataset) place(out, buf []float32, offset []int) {
	shape, chunk := d.Shape, d.layout.chunk
	rank := len(shape)
	if rank == 0 {
		copy(out, buf[:1])
		return
	}
	last := rank - 1
	run := min(chunk[last], shape[last]-offset[last])
	// Iterate over the chunk's rows (all dimensions but the last).
	idx := make([]int, last)
	for {
		dst, src := 0, 0
		inside := true
		for i := 0; i < last; i++ {
			g := offset[i] + idx[i]
			if g >= shape[i] {
				inside = false
				break
			}
			dst = dst*shape[i] + g
			src = src*chunk[i] + idx[i]
		}
		if inside {
			dst = dst*shape[last] + offset[last]
			src = src * chunk[last]
			copy(out[dst:dst+run], buf[src:src+run])
		}
		i := last - 1
		for ; i >= 0; i-- {
			idx[i]++
			if idx[i] < chunk[i] {
				break
			}
			idx[i] = 0
		}
		if i < 0 {
			return
		}
	}
}
