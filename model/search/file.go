package search

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"unsafe"
)

// FileName is the conventional name of a search file in an index folder.
const FileName = "search.vxs"

// ErrBadFile is wrapped by every error about a malformed search file.
var ErrBadFile = errors.New("search: bad search file")

// magic opens a search file (format version 1).
const magic = "VXSRCH01"

// Layout of a search file (all little-endian):
//
//	magic   [8]byte  "VXSRCH01"
//	n, dim  uint64, uint64
//	vecs    n·dim float32, row-major, raw (unprepared) vectors
//	4 string columns (ids, work_ids, titles, artists), each:
//	        n uint32 lengths, then the concatenated bytes
//
// Every declared size is checked against the bytes present before anything
// is allocated.

// Marshal encodes m as a search file.
func Marshal(m *Matrix) ([]byte, error) {
	if err := m.check(); err != nil {
		return nil, err
	}
	n := m.Len()
	size := 8 + 16 + 4*len(m.Vecs)
	cols := [][]string{m.IDs, m.WorkIDs, m.Titles, m.Artists}
	for _, c := range cols {
		size += 4 * n
		for _, s := range c {
			size += len(s)
		}
	}
	b := make([]byte, 0, size)
	b = append(b, magic...)
	b = binary.LittleEndian.AppendUint64(b, uint64(n))
	b = binary.LittleEndian.AppendUint64(b, uint64(m.Dim))
	for _, v := range m.Vecs {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(v))
	}
	for _, c := range cols {
		for i := range n {
			l := 0
			if c != nil {
				l = len(c[i])
			}
			if l > math.MaxUint32 {
				return nil, fmt.Errorf("search: string of %d bytes in row %d", l, i)
			}
			b = binary.LittleEndian.AppendUint32(b, uint32(l))
		}
		for _, s := range c {
			b = append(b, s...)
		}
	}
	return b, nil
}

// Unmarshal decodes a search file. Metadata columns that are all empty come
// back nil.
func Unmarshal(b []byte) (*Matrix, error) {
	if len(b) < 24 {
		return nil, fmt.Errorf("%w: no %s header", ErrBadFile, magic)
	}
	n, dim, err := header(b[:24], int64(len(b)))
	if err != nil {
		return nil, err
	}
	m := &Matrix{Dim: dim, Vecs: make([]float32, n*dim)}
	decodeFloats(m.Vecs, b[24:24+4*n*dim])
	return m, columns(m, n, b[24+4*n*dim:])
}

// header checks a file's 24-byte header against its size and returns the
// declared rows and dimension.
func header(h []byte, size int64) (n, dim int, err error) {
	if string(h[:8]) != magic {
		return 0, 0, fmt.Errorf("%w: no %s header", ErrBadFile, magic)
	}
	n64 := binary.LittleEndian.Uint64(h[8:])
	d64 := binary.LittleEndian.Uint64(h[16:])
	rest := uint64(size - 24)
	// n·dim·4 + 4 columns · n · 4 bytes must fit in the file.
	if d64 == 0 || d64 > 1<<20 || n64 > rest/16 || n64 > (rest-16*n64)/4/d64 {
		return 0, 0, fmt.Errorf("%w: %d rows of dim %d do not fit in %d bytes", ErrBadFile, n64, d64, size)
	}
	return int(n64), int(d64), nil
}

// columns decodes the four string columns of n rows from b into m.
func columns(m *Matrix, n int, b []byte) error {
	p := 0
	cols := []*[]string{&m.IDs, &m.WorkIDs, &m.Titles, &m.Artists}
	for ci, c := range cols {
		if len(b)-p < 4*n {
			return fmt.Errorf("%w: column %d truncated", ErrBadFile, ci)
		}
		lens := b[p : p+4*n]
		p += 4 * n
		total := uint64(0)
		for i := range n {
			total += uint64(binary.LittleEndian.Uint32(lens[4*i:]))
		}
		if total > uint64(len(b)-p) {
			return fmt.Errorf("%w: column %d declares %d bytes, %d left", ErrBadFile, ci, total, len(b)-p)
		}
		blob := string(b[p : p+int(total)]) // one allocation; strings slice it
		p += int(total)
		if total == 0 && ci > 0 {
			continue
		}
		col := make([]string, n)
		off := 0
		for i := range n {
			l := int(binary.LittleEndian.Uint32(lens[4*i:]))
			col[i] = blob[off : off+l]
			off += l
		}
		*c = col
	}
	if p != len(b) {
		return fmt.Errorf("%w: %d trailing bytes", ErrBadFile, len(b)-p)
	}
	if m.IDs == nil {
		m.IDs = []string{}
	}
	return nil
}

// decodeFloats decodes little-endian float32s; on a little-endian machine it
// is a copy.
func decodeFloats(dst []float32, src []byte) {
	if littleEndian && len(dst) > 0 {
		copy(unsafe.Slice((*byte)(unsafe.Pointer(&dst[0])), 4*len(dst)), src)
		return
	}
	for i := range dst {
		dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(src[4*i:]))
	}
}

var littleEndian = func() bool {
	x := uint16(1)
	return *(*byte)(unsafe.Pointer(&x)) == 1
}()

// ReadFile reads the search file at path. The vectors are read straight
// into their slice (no intermediate copy of the file).
func ReadFile(path string) (*Matrix, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("search: %w", err)
	}
	defer f.Close()
	m, err := read(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

func read(f *os.File) (*Matrix, error) {
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !littleEndian {
		b, err := io.ReadAll(f)
		if err != nil {
			return nil, err
		}
		return Unmarshal(b)
	}
	var h [24]byte
	if _, err := io.ReadFull(f, h[:]); err != nil {
		return nil, fmt.Errorf("%w: no %s header", ErrBadFile, magic)
	}
	n, dim, err := header(h[:], st.Size())
	if err != nil {
		return nil, err
	}
	m := &Matrix{Dim: dim, Vecs: make([]float32, n*dim)}
	if n > 0 {
		if _, err := io.ReadFull(f, unsafe.Slice((*byte)(unsafe.Pointer(&m.Vecs[0])), 4*n*dim)); err != nil {
			return nil, fmt.Errorf("%w: vectors: %v", ErrBadFile, err)
		}
	}
	tail := make([]byte, st.Size()-24-int64(4*n*dim))
	if _, err := io.ReadFull(f, tail); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadFile, err)
	}
	return m, columns(m, n, tail)
}
