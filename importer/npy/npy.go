package npy

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"

	"github.com/vindex/vindex/model/statedict"
)

// Errors returned (wrapped) by Read.
var (
	// ErrNotNPY means the bytes do not start with the .npy magic string.
	ErrNotNPY = errors.New("npy: not a .npy file")
	// ErrUnsupported means a valid .npy file uses a feature this package does not read.
	ErrUnsupported = errors.New("npy: unsupported")
	// ErrCorrupt means the header or the data are malformed or truncated.
	ErrCorrupt = errors.New("npy: corrupt file")
	// ErrTooLarge means the array has more elements than Options.MaxElements.
	ErrTooLarge = errors.New("npy: array too large")
)

// DefaultMaxElements bounds the arrays Read accepts: 2^28 values (1 GiB of
// float32), far above an hour of cremaPCP at the Da-TACOS rate (≈3.7M values).
const DefaultMaxElements = 1 << 28

const maxHeaderLen = 1 << 20

// Array is a decoded .npy array in C (row-major) order.
type Array struct {
	Shape []int
	Data  []float32
	// Descr is the file's dtype string, e.g. "<f4".
	Descr string
	// FortranOrder reports whether the file stored the array in Fortran
	// order; Data is in C order either way.
	FortranOrder bool
}

// Options bounds what Read accepts. The zero value means the defaults.
type Options struct {
	// MaxElements is the largest number of elements accepted; 0 means DefaultMaxElements.
	MaxElements int
}

// ReadFile reads the .npy file at path; errors name the file.
// Only regular files are opened (a FIFO would block the open, a device such
// as /dev/zero never end), and the shape is checked against the file's size
// before the data are read.
func ReadFile(path string, opt Options) (*Array, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("npy: %w", err)
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("npy: %s: %w: not a regular file (%s)", path, ErrNotNPY, st.Mode().Type())
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("npy: %w", err)
	}
	defer f.Close()
	a, err := read(f, opt, st.Size())
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return a, nil
}

// Read decodes one .npy array from r.
func Read(r io.Reader, opt Options) (*Array, error) { return read(r, opt, -1) }

// read decodes one .npy array from r, which holds size bytes (-1: unknown).
func read(r io.Reader, opt Options, size int64) (*Array, error) {
	maxElems := opt.MaxElements
	if maxElems <= 0 {
		maxElems = DefaultMaxElements
	}
	var pre [8]byte
	if _, err := io.ReadFull(r, pre[:]); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotNPY, err)
	}
	if string(pre[:6]) != "\x93NUMPY" {
		return nil, ErrNotNPY
	}
	major := pre[6]
	var hlen int
	lenBytes := 4 // the header length's own bytes
	switch major {
	case 1:
		lenBytes = 2
		var b [2]byte
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return nil, fmt.Errorf("%w: header length: %v", ErrCorrupt, err)
		}
		hlen = int(binary.LittleEndian.Uint16(b[:]))
	case 2, 3:
		var b [4]byte
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return nil, fmt.Errorf("%w: header length: %v", ErrCorrupt, err)
		}
		h := binary.LittleEndian.Uint32(b[:])
		if h > maxHeaderLen {
			return nil, fmt.Errorf("%w: header of %d bytes (limit %d)", ErrCorrupt, h, maxHeaderLen)
		}
		hlen = int(h)
	default:
		return nil, fmt.Errorf("%w: format version %d.%d", ErrUnsupported, pre[6], pre[7])
	}
	header := make([]byte, hlen)
	if _, err := io.ReadFull(r, header); err != nil {
		return nil, fmt.Errorf("%w: header: %v", ErrCorrupt, err)
	}
	h, err := parseHeader(string(header))
	if err != nil {
		return nil, err
	}
	dt, err := parseDescr(h.descr)
	if err != nil {
		return nil, err
	}
	n := 1
	for _, d := range h.shape {
		if d < 0 {
			return nil, fmt.Errorf("%w: negative dimension in shape %v", ErrCorrupt, h.shape)
		}
		if d != 0 && n > maxElems/d {
			return nil, fmt.Errorf("%w: shape %v (limit %d elements)", ErrTooLarge, h.shape, maxElems)
		}
		n *= d
	}
	if n > maxElems {
		return nil, fmt.Errorf("%w: shape %v (limit %d elements)", ErrTooLarge, h.shape, maxElems)
	}
	need := int64(n) * int64(dt.size)
	if left := size - int64(len(pre)+lenBytes+hlen); size >= 0 && need > left {
		return nil, fmt.Errorf("%w: data truncated: shape %v of %s needs %d bytes, the file holds %d", ErrCorrupt, h.shape, h.descr, need, max(left, 0))
	}
	// ReadAll grows with the bytes actually present, so a lying shape costs
	// no more than the file's length.
	raw, err := io.ReadAll(io.LimitReader(r, need))
	if err != nil {
		return nil, fmt.Errorf("%w: data: %v", ErrCorrupt, err)
	}
	if int64(len(raw)) != need {
		return nil, fmt.Errorf("%w: data truncated: %d bytes, shape %v of %s needs %d", ErrCorrupt, len(raw), h.shape, h.descr, need)
	}
	data := make([]float32, n)
	dt.decode(data, raw)
	if h.fortran && len(h.shape) > 1 {
		data = fortranToC(data, h.shape)
	}
	return &Array{Shape: h.shape, Data: data, Descr: h.descr, FortranOrder: h.fortran}, nil
}

type header struct {
	descr   string
	fortran bool
	shape   []int
}

// parseHeader parses the Python dict literal NumPy writes, e.g.
// {'descr': '<f4', 'fortran_order': False, 'shape': (3, 12), }.
func parseHeader(s string) (header, error) {
	var h header
	s = strings.TrimRight(s, " \n\x00")
	if !strings.HasPrefix(s, "{") || !strings.HasSuffix(s, "}") {
		return h, fmt.Errorf("%w: header is not a dict: %.80q", ErrCorrupt, s)
	}
	body := s[1 : len(s)-1]
	seen := map[string]bool{}
	for {
		body = strings.TrimLeft(body, " ,")
		if body == "" {
			break
		}
		key, rest, ok := quoted(body)
		if !ok {
			return h, fmt.Errorf("%w: bad key in header %.80q", ErrCorrupt, s)
		}
		rest = strings.TrimLeft(rest, " ")
		if !strings.HasPrefix(rest, ":") {
			return h, fmt.Errorf("%w: missing ':' after %q in header", ErrCorrupt, key)
		}
		rest = strings.TrimLeft(rest[1:], " ")
		switch key {
		case "descr":
			v, r2, ok := quoted(rest)
			if !ok {
				return h, fmt.Errorf("%w: descr %.40q is not a string (structured dtypes are not supported)", ErrUnsupported, rest)
			}
			h.descr, rest = v, r2
		case "fortran_order":
			switch {
			case strings.HasPrefix(rest, "False"):
				h.fortran, rest = false, rest[5:]
			case strings.HasPrefix(rest, "True"):
				h.fortran, rest = true, rest[4:]
			default:
				return h, fmt.Errorf("%w: fortran_order %.20q", ErrCorrupt, rest)
			}
		case "shape":
			if !strings.HasPrefix(rest, "(") {
				return h, fmt.Errorf("%w: shape %.40q is not a tuple", ErrCorrupt, rest)
			}
			end := strings.IndexByte(rest, ')')
			if end < 0 {
				return h, fmt.Errorf("%w: unterminated shape", ErrCorrupt)
			}
			h.shape = []int{}
			for _, f := range strings.Split(rest[1:end], ",") {
				f = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(f), "L"))
				if f == "" {
					continue
				}
				d, err := strconv.Atoi(f)
				if err != nil {
					return h, fmt.Errorf("%w: shape entry %q", ErrCorrupt, f)
				}
				h.shape = append(h.shape, d)
			}
			rest = rest[end+1:]
		default:
			return h, fmt.Errorf("%w: unknown header key %q", ErrCorrupt, key)
		}
		seen[key] = true
		body = rest
	}
	for _, k := range []string{"descr", "fortran_order", "shape"} {
		if !seen[k] {
			return h, fmt.Errorf("%w: header lacks %q", ErrCorrupt, k)
		}
	}
	return h, nil
}

// quoted splits a leading Python string literal ('x' or "x") off s.
func quoted(s string) (val, rest string, ok bool) {
	if s == "" || (s[0] != '\'' && s[0] != '"') {
		return "", s, false
	}
	end := strings.IndexByte(s[1:], s[0])
	if end < 0 {
		return "", s, false
	}
	return s[1 : 1+end], s[end+2:], true
}

type dtype struct {
	size   int
	decode func(dst []float32, src []byte)
}

func parseDescr(d string) (dtype, error) {
	if len(d) < 3 {
		return dtype{}, fmt.Errorf("%w: dtype %q", ErrUnsupported, d)
	}
	var bo binary.ByteOrder
	switch d[0] {
	case '<', '|', '=':
		bo = binary.LittleEndian
	case '>':
		bo = binary.BigEndian
	default:
		return dtype{}, fmt.Errorf("%w: dtype %q", ErrUnsupported, d)
	}
	size, err := strconv.Atoi(d[2:])
	if err != nil {
		return dtype{}, fmt.Errorf("%w: dtype %q", ErrUnsupported, d)
	}
	kind := d[1]
	switch {
	case kind == 'f' && size == 2:
		return dtype{2, func(dst []float32, src []byte) {
			for i := range dst {
				dst[i] = statedict.Float16ToFloat32(bo.Uint16(src[2*i:]))
			}
		}}, nil
	case kind == 'f' && size == 4:
		return dtype{4, func(dst []float32, src []byte) {
			for i := range dst {
				dst[i] = math.Float32frombits(bo.Uint32(src[4*i:]))
			}
		}}, nil
	case kind == 'f' && size == 8:
		return dtype{8, func(dst []float32, src []byte) {
			for i := range dst {
				dst[i] = float32(math.Float64frombits(bo.Uint64(src[8*i:])))
			}
		}}, nil
	case (kind == 'i' || kind == 'u' || kind == 'b') && (size == 1 || size == 2 || size == 4 || size == 8):
		if kind == 'b' && size != 1 {
			break
		}
		signed := kind == 'i'
		return dtype{size, func(dst []float32, src []byte) {
			for i := range dst {
				dst[i] = intAt(src[size*i:], size, signed, bo)
			}
		}}, nil
	}
	return dtype{}, fmt.Errorf("%w: dtype %q", ErrUnsupported, d)
}

func intAt(b []byte, size int, signed bool, bo binary.ByteOrder) float32 {
	switch size {
	case 1:
		if signed {
			return float32(int8(b[0]))
		}
		return float32(b[0])
	case 2:
		if signed {
			return float32(int16(bo.Uint16(b)))
		}
		return float32(bo.Uint16(b))
	case 4:
		if signed {
			return float32(int32(bo.Uint32(b)))
		}
		return float32(bo.Uint32(b))
	default:
		if signed {
			return float32(int64(bo.Uint64(b)))
		}
		return float32(bo.Uint64(b))
	}
}

// fortranToC reorders column-major data of the given shape into row-major order.
func fortranToC(src []float32, shape []int) []float32 {
	dst := make([]float32, len(src))
	n := len(shape)
	// Strides of the Fortran layout.
	fstride := make([]int, n)
	s := 1
	for i := 0; i < n; i++ {
		fstride[i] = s
		s *= shape[i]
	}
	idx := make([]int, n)
	for c := range dst {
		off := 0
		for i := 0; i < n; i++ {
			off += idx[i] * fstride[i]
		}
		dst[c] = src[off]
		for i := n - 1; i >= 0; i-- {
			idx[i]++
			if idx[i] < shape[i] {
				break
			}
			idx[i] = 0
		}
	}
	return dst
}
