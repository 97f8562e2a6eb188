package torch

import (
	"archive/zip"
	"bytes"
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"math/big"
	"path"
	"slices"
	"strings"

	"github.com/vindex/vindex/model/statedict"
)

// Sentinel errors; every error this package returns wraps one of them.
var (
	// ErrRefused: the pickle names a global outside the allow-list (see RefusedError).
	ErrRefused = errors.New("torch: refused")
	// ErrNotCheckpoint: the bytes are neither a torch zip archive nor a legacy torch file.
	ErrNotCheckpoint = errors.New("torch: not a PyTorch checkpoint")
	// ErrNotStateDict: a valid torch file whose object is not a flat dict of tensors.
	ErrNotStateDict = errors.New("torch: not a state_dict")
	// ErrTruncated: the file ends before what it declares.
	ErrTruncated = errors.New("torch: truncated")
	// ErrCorrupt: malformed pickle, archive or tensor view.
	ErrCorrupt = errors.New("torch: corrupt checkpoint")
	// ErrTooLarge: a declared size exceeds what the file can hold, or the
	// pickle asks for more work than the file's budget allows.
	ErrTooLarge = errors.New("torch: declared size too large")
	// ErrUnsupported: a valid but unsupported feature (big-endian files, pickle buffers, ...).
	ErrUnsupported = errors.New("torch: unsupported")
)

// RefusedError reports a pickle global outside the allow-list. Its message
// reads "torch: refusing global os.system".
type RefusedError struct {
	Module, Name string
}

func (e *RefusedError) Error() string {
	return "torch: refusing global " + e.Module + "." + e.Name + " (only state_dict globals are allowed)"
}

// Is makes errors.Is(err, ErrRefused) true.
func (e *RefusedError) Is(target error) bool { return target == ErrRefused }

// OrderedDict is a Python dict or collections.OrderedDict as LoadObject
// returns it: Keys[i] maps to Values[i], in insertion order. Keys are
// string, int64, float64, bool or nil.
type OrderedDict struct {
	Keys   []any
	Values []any
}

// Get returns the value stored under key.
func (d *OrderedDict) Get(key any) (any, bool) {
	for i, k := range d.Keys {
		if k == key {
			return d.Values[i], true
		}
	}
	return nil, false
}

// Format names a torch serialization format.
type Format string

const (
	FormatZip    Format = "torch-zip"    // torch >= 1.6
	FormatLegacy Format = "torch-legacy" // torch < 1.6, or _use_new_zipfile_serialization=False
)

var (
	zipMagic    = []byte("PK\x03\x04")
	legacyMagic = big.NewInt(0).SetBytes([]byte{0x19, 0x50, 0xa8, 0x6a, 0x20, 0xf9, 0x46, 0x9c, 0xfc, 0x6c})
)

// Sniff reports the torch format of the bytes that start a file, from its
// first 4 bytes: the zip local-file magic, or a pickle protocol-2 header
// (which the legacy format starts with). ok is false for anything else.
func Sniff(head []byte) (f Format, ok bool) {
	switch {
	case bytes.HasPrefix(head, zipMagic):
		return FormatZip, true
	case len(head) >= 4 && head[0] == 0x80 && head[1] >= 2 && head[1] <= 5 && head[2] == 0x8a && head[3] == 10:
		return FormatLegacy, true
	}
	return "", false
}

// Load reads a state_dict saved by torch.save(model.state_dict()), in the
// zip or the legacy format (sniffed from the content), from r, which holds
// size bytes. Floating-point tensors become float32 (Tensor.Data), integer
// and bool tensors int64 (Tensor.Ints); Tensor.DType keeps the stored dtype.
func Load(r io.ReaderAt, size int64) (*statedict.Dict, error) {
	v, err := load(r, size, false)
	if err != nil {
		return nil, err
	}
	d, ok := v.(*pyDict)
	if !ok {
		return nil, fmt.Errorf("%w: the checkpoint holds %s, not an OrderedDict of tensors", ErrNotStateDict, typeName(v))
	}
	sd := &statedict.Dict{Tensors: make(map[string]*statedict.Tensor, len(d.keys))}
	c := newConverter(size)
	for i, k := range d.keys {
		ks, ok := k.(string)
		if !ok {
			return nil, fmt.Errorf("%w: key %v is %s, not a string", ErrNotStateDict, k, typeName(k))
		}
		tr, ok := d.values[i].(*tensorRef)
		if !ok {
			return nil, fmt.Errorf("%w: key %q holds %s, not a tensor", ErrNotStateDict, ks, typeName(d.values[i]))
		}
		t, err := c.tensor(tr)
		if err != nil {
			return nil, fmt.Errorf("torch: key %q: %w", ks, err)
		}
		sd.Add(ks, t)
	}
	return sd, nil
}

// LoadObject reads any object torch.save wrote, built from dicts (returned as
// *OrderedDict), lists and tuples ([]any), strings, bytes, bools, ints
// (int64, or *big.Int when wider), floats (float64), None (nil) and tensors
// (*statedict.Tensor). The allow-list is Load's plus builtins.dict and
// builtins.list; nothing is executed. It reads files such as Da-TACOS's
// benchmark_crema.pt ({'data': [tensor 1×23×T, ...], 'labels': [...]}).
func LoadObject(r io.ReaderAt, size int64) (any, error) {
	v, err := load(r, size, true)
	if err != nil {
		return nil, err
	}
	c := newConverter(size)
	return c.object(v, 0)
}

func load(r io.ReaderAt, size int64, objects bool) (any, error) {
	if size < 0 {
		return nil, fmt.Errorf("%w: negative size %d", ErrCorrupt, size)
	}
	head := make([]byte, min(size, 4))
	if _, err := r.ReadAt(head, 0); err != nil && !(errors.Is(err, io.EOF) && len(head) == 0) {
		return nil, fmt.Errorf("%w: reading the header: %v", ErrTruncated, err)
	}
	f, ok := Sniff(head)
	if !ok {
		var tarMagic [5]byte
		if size > 262 {
			if _, err := r.ReadAt(tarMagic[:], 257); err == nil && string(tarMagic[:]) == "ustar" {
				return nil, fmt.Errorf("%w: a tar archive (the pre-0.4 torch.save format, or not a checkpoint)", ErrUnsupported)
			}
		}
		return nil, fmt.Errorf("%w: starts with %q (neither a zip archive nor a legacy torch pickle)", ErrNotCheckpoint, head)
	}
	if f == FormatZip {
		return loadZip(r, size, objects)
	}
	return loadLegacy(r, size, objects)
}

// storage is one torch storage: a typed, flat array of numel elements.
type storage struct {
	key   string
	dt    dtype
	numel int64
	// root and offset describe a legacy storage view (offset in elements into root)
	root   *storage
	offset int64
	data   []byte // little-endian elements, once read
	read   func() ([]byte, error)
}

// bytes returns the storage's raw data, reading it on first use.
func (s *storage) bytes() ([]byte, error) {
	if s.root != nil {
		b, err := s.root.bytes()
		if err != nil {
			return nil, err
		}
		return b[s.offset*s.dt.size : (s.offset+s.numel)*s.dt.size], nil
	}
	if s.data == nil {
		if s.read == nil {
			return nil, fmt.Errorf("%w: storage %q has no data", ErrCorrupt, s.key)
		}
		b, err := s.read()
		if err != nil {
			return nil, err
		}
		s.data = b
	}
	return s.data, nil
}

// tensorRef is a tensor view of a storage, materialised after the pickle.
type tensorRef struct {
	st     *storage
	offset int64
	shape  []int64
	stride []int64
	out    *statedict.Tensor
}

// storageTable resolves persistent ids ('storage', type, key, location, numel[, view]).
type storageTable struct {
	size     int64 // file size: no storage may declare more bytes
	byKey    map[string]*storage
	order    []*storage
	reader   func(st *storage) func() ([]byte, error)
	fileName string
}

func (t *storageTable) persLoad(pid any) (any, error) {
	tup, ok := pid.(*pyTuple)
	if !ok || len(tup.items) == 0 {
		return nil, fmt.Errorf("%w: %s: persistent id is %s, not a tuple", ErrCorrupt, t.fileName, typeName(pid))
	}
	kind, _ := tup.items[0].(string)
	if b, ok := tup.items[0].([]byte); ok {
		kind = string(b)
	}
	switch kind {
	case "storage":
	case "module":
		return nil, fmt.Errorf("%w: a pickled module (torch.save(model) rather than torch.save(model.state_dict()))", ErrNotStateDict)
	default:
		return nil, fmt.Errorf("%w: %s: persistent id of kind %q", ErrCorrupt, t.fileName, kind)
	}
	if len(tup.items) != 5 && len(tup.items) != 6 {
		return nil, fmt.Errorf("%w: %s: storage id with %d fields", ErrCorrupt, t.fileName, len(tup.items))
	}
	g, ok := tup.items[1].(*pyGlobal)
	if !ok || g.kind != gStorageType {
		return nil, fmt.Errorf("%w: %s: storage type is %s", ErrCorrupt, t.fileName, typeName(tup.items[1]))
	}
	dt := storageTypes[g.name]
	key, ok := asString(tup.items[2])
	if !ok {
		return nil, fmt.Errorf("%w: %s: storage key is %s", ErrCorrupt, t.fileName, typeName(tup.items[2]))
	}
	if _, ok := asString(tup.items[3]); !ok {
		return nil, fmt.Errorf("%w: %s: storage %q location is %s", ErrCorrupt, t.fileName, key, typeName(tup.items[3]))
	}
	numel, ok := tup.items[4].(int64)
	if !ok || numel < 0 {
		return nil, fmt.Errorf("%w: %s: storage %q numel is %v", ErrCorrupt, t.fileName, key, tup.items[4])
	}
	if numel > t.size/dt.size {
		return nil, fmt.Errorf("%w: storage %q declares %d %s elements, more than the %d-byte file holds", ErrTooLarge, key, numel, dt.name, t.size)
	}
	st, ok := t.byKey[key]
	if ok {
		if st.dt != dt || st.numel != numel {
			return nil, fmt.Errorf("%w: %s: storage %q declared twice as %d %s and %d %s", ErrCorrupt, t.fileName, key, st.numel, st.dt.name, numel, dt.name)
		}
	} else {
		st = &storage{key: key, dt: dt, numel: numel}
		if t.reader != nil {
			st.read = t.reader(st)
		}
		t.byKey[key] = st
		t.order = append(t.order, st)
	}
	if len(tup.items) == 6 && tup.items[5] != nil {
		// legacy storage view: (view_key, offset, view_size)
		vm, ok := tup.items[5].(*pyTuple)
		if !ok || len(vm.items) != 3 {
			return nil, fmt.Errorf("%w: %s: storage %q view is %s", ErrCorrupt, t.fileName, key, typeName(tup.items[5]))
		}
		vkey, ok1 := asString(vm.items[0])
		off, ok2 := vm.items[1].(int64)
		vsize, ok3 := vm.items[2].(int64)
		if !ok1 || !ok2 || !ok3 || off < 0 || vsize < 0 || off > numel || vsize > numel-off {
			return nil, fmt.Errorf("%w: %s: storage %q view %v out of range", ErrCorrupt, t.fileName, key, vm.items)
		}
		return &storage{key: vkey, dt: dt, numel: vsize, root: st, offset: off}, nil
	}
	return st, nil
}

func asString(v any) (string, bool) {
	switch s := v.(type) {
	case string:
		return s, true
	case []byte:
		return string(s), true
	}
	return "", false
}

func loadZip(r io.ReaderAt, size int64, objects bool) (any, error) {
	zr, err := zip.NewReader(r, size)
	if err != nil && !errors.Is(err, zip.ErrInsecurePath) {
		return nil, fmt.Errorf("%w: zip archive: %v", ErrCorrupt, err)
	}
	if err := checkEntries(zr.File, size); err != nil {
		return nil, err
	}
	inflate := &inflateBudget{left: maxInflate*size + 1<<20}
	files := make(map[string]*zip.File, len(zr.File))
	var pkl *zip.File
	for _, f := range zr.File {
		files[f.Name] = f
		dir, base := path.Split(f.Name)
		if base == "data.pkl" && strings.Count(dir, "/") == 1 {
			if pkl != nil {
				return nil, fmt.Errorf("%w: two data.pkl entries (%s, %s)", ErrCorrupt, pkl.Name, f.Name)
			}
			pkl = f
		}
	}
	if pkl == nil {
		return nil, fmt.Errorf("%w: zip archive without <prefix>/data.pkl (a TorchScript or other archive?)", ErrNotCheckpoint)
	}
	prefix := strings.TrimSuffix(pkl.Name, "data.pkl")
	if bo, ok := files[prefix+"byteorder"]; ok {
		b, err := readEntry(bo, 16, size, inflate)
		if err != nil {
			return nil, err
		}
		if s := strings.TrimSpace(string(b)); s != "little" {
			return nil, fmt.Errorf("%w: byte order %q", ErrUnsupported, s)
		}
	}
	pb, err := readEntry(pkl, -1, size, inflate)
	if err != nil {
		return nil, err
	}
	tab := &storageTable{size: size, byKey: map[string]*storage{}, fileName: pkl.Name}
	tab.reader = func(st *storage) func() ([]byte, error) {
		return func() ([]byte, error) {
			name := prefix + "data/" + st.key
			f, ok := files[name]
			if !ok {
				return nil, fmt.Errorf("%w: storage %q: no entry %s", ErrCorrupt, st.key, name)
			}
			want := st.numel * st.dt.size
			if f.UncompressedSize64 != uint64(want) {
				return nil, fmt.Errorf("%w: storage %q: entry %s holds %d bytes, the pickle declares %d (%d × %s)",
					ErrCorrupt, st.key, name, f.UncompressedSize64, want, st.numel, st.dt.name)
			}
			return readEntry(f, want, size, inflate)
		}
	}
	m := newMachine(newSrc(bytes.NewReader(pb), 0, int64(len(pb)), pkl.Name), newBudget(size), objects, tab.persLoad)
	return m.run()
}

// maxInflate bounds the bytes all the zip entries one load reads may
// declare together: maxInflate per archive byte, plus 1 MiB. torch writes
// its entries stored, which checkEntries already bounds by the archive's
// size; this is for archives re-zipped with DEFLATE.
const maxInflate = 32

type inflateBudget struct{ left int64 }

// checkEntries refuses archives whose entries run past the archive or share
// bytes: each entry's data (from its local header's end, CompressedSize64
// long) must lie inside the file and no two may overlap, so that the
// entries read are at most the archive's bytes, however many the central
// directory lists (issue 12: 3,000 entries naming one stored blob).
func checkEntries(files []*zip.File, size int64) error {
	type span struct {
		start, end int64
		name       string
	}
	spans := make([]span, 0, len(files))
	for _, f := range files {
		off, err := f.DataOffset()
		if err != nil {
			return fmt.Errorf("%w: zip entry %s: %v", ErrCorrupt, f.Name, err)
		}
		if f.CompressedSize64 > uint64(size) || off < 0 || off > size-int64(f.CompressedSize64) {
			return fmt.Errorf("%w: zip entry %s (%d bytes at %d) runs past the %d-byte archive", ErrCorrupt, f.Name, f.CompressedSize64, off, size)
		}
		spans = append(spans, span{off, off + int64(f.CompressedSize64), f.Name})
	}
	slices.SortFunc(spans, func(a, b span) int { return cmp.Compare(a.start, b.start) })
	for i := 1; i < len(spans); i++ {
		if p, q := spans[i-1], spans[i]; q.start < p.end || q.start == p.start {
			return fmt.Errorf("%w: zip entries %s and %s overlap (bytes %d-%d and %d-%d)", ErrCorrupt, p.name, q.name, p.start, p.end, q.start, q.end)
		}
	}
	return nil
}

// readEntry reads a whole zip entry of at most limit bytes (limit < 0: any
// size the file can hold), checking declared sizes before allocating and
// the CRC after; what it reads is charged to the load's inflate budget.
func readEntry(f *zip.File, limit int64, fileSize int64, inflate *inflateBudget) ([]byte, error) {
	n := f.UncompressedSize64
	if limit >= 0 && n > uint64(limit) {
		return nil, fmt.Errorf("%w: entry %s declares %d bytes, at most %d expected", ErrTooLarge, f.Name, n, limit)
	}
	if n > uint64(inflate.left) {
		return nil, fmt.Errorf("%w: entry %s declares %d bytes, more than the %d-byte archive may inflate to with the entries read before it",
			ErrTooLarge, f.Name, n, fileSize)
	}
	inflate.left -= int64(n)
	switch f.Method {
	case zip.Store:
		if n > uint64(fileSize) {
			return nil, fmt.Errorf("%w: entry %s declares %d bytes in a %d-byte file", ErrTooLarge, f.Name, n, fileSize)
		}
	case zip.Deflate:
		// DEFLATE expands at most ~1032:1
		if f.CompressedSize64 > uint64(fileSize) || n > 1032*f.CompressedSize64+1024 {
			return nil, fmt.Errorf("%w: entry %s declares %d bytes from %d compressed", ErrTooLarge, f.Name, n, f.CompressedSize64)
		}
	default:
		return nil, fmt.Errorf("%w: entry %s uses zip method %d", ErrUnsupported, f.Name, f.Method)
	}
	rc, err := f.Open()
	if err != nil {
		return nil, fmt.Errorf("%w: entry %s: %v", ErrCorrupt, f.Name, err)
	}
	defer rc.Close()
	buf := make([]byte, n)
	if _, err := io.ReadFull(rc, buf); err != nil {
		return nil, fmt.Errorf("%w: entry %s: %v", ErrTruncated, f.Name, err)
	}
	var one [1]byte
	if k, err := rc.Read(one[:]); k != 0 || !errors.Is(err, io.EOF) {
		if err == nil || errors.Is(err, io.EOF) {
			err = errors.New("more data than declared")
		}
		return nil, fmt.Errorf("%w: entry %s: %v", ErrCorrupt, f.Name, err)
	}
	return buf, nil
}

func loadLegacy(r io.ReaderAt, size int64, objects bool) (any, error) {
	s := newSrc(r, 0, size, "legacy pickle")
	work := newBudget(size)
	plain := func(what string) (any, error) {
		m := newMachine(s, work, false, nil)
		v, err := m.run()
		if err != nil {
			return nil, fmt.Errorf("torch: legacy %s: %w", what, err)
		}
		return v, nil
	}
	magic, err := plain("magic number")
	if err != nil {
		return nil, err
	}
	if b, ok := magic.(*big.Int); !ok || b.Cmp(legacyMagic) != 0 {
		return nil, fmt.Errorf("%w: legacy header is %v, not the torch magic number", ErrNotCheckpoint, magic)
	}
	proto, err := plain("protocol version")
	if err != nil {
		return nil, err
	}
	if proto != int64(1001) {
		return nil, fmt.Errorf("%w: legacy protocol version %v, want 1001", ErrUnsupported, proto)
	}
	sys, err := plain("sys_info")
	if err != nil {
		return nil, err
	}
	sd, ok := sys.(*pyDict)
	if !ok {
		return nil, fmt.Errorf("%w: legacy sys_info is %s", ErrCorrupt, typeName(sys))
	}
	if i, ok := sd.index["little_endian"]; ok && sd.values[i] != true {
		return nil, fmt.Errorf("%w: big-endian legacy checkpoint", ErrUnsupported)
	}
	tab := &storageTable{size: size, byKey: map[string]*storage{}, fileName: "legacy pickle"}
	m := newMachine(s, work, objects, tab.persLoad)
	obj, err := m.run()
	if err != nil {
		return nil, err
	}
	keysV, err := plain("storage key list")
	if err != nil {
		return nil, err
	}
	kl, ok := keysV.(*pyList)
	if !ok {
		return nil, fmt.Errorf("%w: legacy storage key list is %s", ErrCorrupt, typeName(keysV))
	}
	off := s.off
	seen := map[string]bool{}
	for _, kv := range kl.items {
		key, ok := asString(kv)
		if !ok {
			return nil, fmt.Errorf("%w: legacy storage key is %s", ErrCorrupt, typeName(kv))
		}
		st, ok := tab.byKey[key]
		if !ok || seen[key] {
			return nil, fmt.Errorf("%w: legacy storage key %q unknown or repeated", ErrCorrupt, key)
		}
		seen[key] = true
		var hdr [8]byte
		if size-off < 8 {
			return nil, fmt.Errorf("%w: legacy storage %q: file ends at its header", ErrTruncated, key)
		}
		if _, err := r.ReadAt(hdr[:], off); err != nil {
			return nil, fmt.Errorf("%w: legacy storage %q: %v", ErrTruncated, key, err)
		}
		off += 8
		numel := int64(binary.LittleEndian.Uint64(hdr[:]))
		if numel != st.numel {
			return nil, fmt.Errorf("%w: legacy storage %q holds %d elements, the pickle declares %d", ErrCorrupt, key, numel, st.numel)
		}
		nb := numel * st.dt.size // numel <= size/dt.size was checked in persLoad
		if nb > size-off {
			return nil, fmt.Errorf("%w: legacy storage %q needs %d bytes, %d remain", ErrTruncated, key, nb, size-off)
		}
		buf := make([]byte, nb)
		if _, err := r.ReadAt(buf, off); err != nil && !(errors.Is(err, io.EOF) && nb == 0) {
			return nil, fmt.Errorf("%w: legacy storage %q: %v", ErrTruncated, key, err)
		}
		st.data = buf
		off += nb
	}
	for _, st := range tab.order {
		if !seen[st.key] {
			return nil, fmt.Errorf("%w: legacy storage %q has no data", ErrCorrupt, st.key)
		}
	}
	return obj, nil
}

// converter materialises tensors and, for LoadObject, Go values.
type converter struct {
	budget int64 // elements left to decode
	lists  map[any][]any
	dicts  map[*pyDict]*OrderedDict
	busy   map[any]bool
}

func newConverter(size int64) *converter {
	// Tensors may share a storage, so their elements can exceed the file's
	// bytes; 8 elements per file byte (plus 1 Mi) bounds stride-0 expansions.
	return &converter{budget: 8*size + 1<<20, lists: map[any][]any{}, dicts: map[*pyDict]*OrderedDict{}, busy: map[any]bool{}}
}

func (c *converter) tensor(tr *tensorRef) (*statedict.Tensor, error) {
	if tr.out != nil {
		return tr.out, nil
	}
	st := tr.st
	if len(tr.shape) != len(tr.stride) {
		return nil, fmt.Errorf("%w: size %v and stride %v differ in rank", ErrCorrupt, tr.shape, tr.stride)
	}
	if tr.offset < 0 {
		return nil, fmt.Errorf("%w: negative storage offset %d", ErrCorrupt, tr.offset)
	}
	numel := int64(1)
	maxIdx := tr.offset
	for i, n := range tr.shape {
		if n < 0 || tr.stride[i] < 0 {
			return nil, fmt.Errorf("%w: size %v stride %v", ErrCorrupt, tr.shape, tr.stride)
		}
		if n == 0 {
			numel = 0
			continue
		}
		if numel > c.budget/n {
			return nil, fmt.Errorf("%w: size %v is more elements than the file can describe", ErrTooLarge, tr.shape)
		}
		numel *= n
		if tr.stride[i] > 0 && n-1 > (math.MaxInt64-maxIdx)/tr.stride[i] {
			return nil, fmt.Errorf("%w: stride %v overflows", ErrCorrupt, tr.stride)
		}
		maxIdx += (n - 1) * tr.stride[i]
	}
	if numel > c.budget {
		return nil, fmt.Errorf("%w: size %v is more elements than the file can describe", ErrTooLarge, tr.shape)
	}
	if numel > 0 && maxIdx >= st.numel {
		return nil, fmt.Errorf("%w: view (offset %d, size %v, stride %v) needs element %d of a %d-element storage",
			ErrCorrupt, tr.offset, tr.shape, tr.stride, maxIdx, st.numel)
	}
	c.budget -= numel
	data, err := st.bytes()
	if err != nil {
		return nil, err
	}
	if int64(len(data)) != st.numel*st.dt.size {
		return nil, fmt.Errorf("%w: storage %q has %d bytes, want %d", ErrCorrupt, st.key, len(data), st.numel*st.dt.size)
	}
	t := &statedict.Tensor{Shape: make([]int, len(tr.shape)), DType: st.dt.name}
	for i, n := range tr.shape {
		t.Shape[i] = int(n)
	}
	idx := stridedIndices(tr.offset, tr.shape, tr.stride, numel)
	if idx.contiguous() {
		// the common case: one linear run of the storage (empty tensors may
		// carry any offset)
		var run []byte
		if numel > 0 {
			run = data[tr.offset*st.dt.size : (tr.offset+numel)*st.dt.size]
		}
		if st.dt.float {
			t.Data = make([]float32, numel)
			decodeFloatRun(t.Data, run, st.dt.name)
		} else {
			t.Ints = make([]int64, numel)
			decodeInts(t.Ints, run, st.dt.name, stridedIndices(0, []int64{numel}, []int64{1}, numel))
		}
		tr.out = t
		return t, nil
	}
	if st.dt.float {
		t.Data = make([]float32, numel)
		decodeFloats(t.Data, data, st.dt.name, idx)
	} else {
		t.Ints = make([]int64, numel)
		decodeInts(t.Ints, data, st.dt.name, idx)
	}
	tr.out = t
	return t, nil
}

// stridedIndices calls back with storage element indices in row-major order.
type indexIter struct {
	offset        int64
	shape, stride []int64
	numel         int64
}

func stridedIndices(offset int64, shape, stride []int64, numel int64) indexIter {
	return indexIter{offset, shape, stride, numel}
}

// contiguous reports whether the view is one row-major run of the storage.
func (it indexIter) contiguous() bool {
	want := int64(1)
	for d := len(it.shape) - 1; d >= 0; d-- {
		if it.shape[d] != 1 && it.stride[d] != want {
			return false
		}
		want *= it.shape[d]
	}
	return true
}

func (it indexIter) each(f func(i int, src int64)) {
	if it.numel == 0 {
		return
	}
	if it.contiguous() {
		for i := int64(0); i < it.numel; i++ {
			f(int(i), it.offset+i)
		}
		return
	}
	pos := make([]int64, len(it.shape))
	src := it.offset
	for i := int64(0); i < it.numel; i++ {
		f(int(i), src)
		for d := len(it.shape) - 1; d >= 0; d-- {
			pos[d]++
			src += it.stride[d]
			if pos[d] < it.shape[d] {
				break
			}
			src -= pos[d] * it.stride[d]
			pos[d] = 0
		}
	}
}

// decodeFloatRun decodes len(dst) consecutive elements.
func decodeFloatRun(dst []float32, b []byte, dt string) {
	le := binary.LittleEndian
	switch dt {
	case "F32":
		b = b[:4*len(dst)]
		for i := range dst {
			dst[i] = math.Float32frombits(le.Uint32(b[4*i:]))
		}
	case "F64":
		b = b[:8*len(dst)]
		for i := range dst {
			dst[i] = float32(math.Float64frombits(le.Uint64(b[8*i:])))
		}
	case "F16":
		b = b[:2*len(dst)]
		for i := range dst {
			dst[i] = statedict.Float16ToFloat32(le.Uint16(b[2*i:]))
		}
	case "BF16":
		b = b[:2*len(dst)]
		for i := range dst {
			dst[i] = statedict.BFloat16ToFloat32(le.Uint16(b[2*i:]))
		}
	default:
		panic("torch: decodeFloatRun of " + dt)
	}
}

func decodeFloats(dst []float32, b []byte, dt string, it indexIter) {
	le := binary.LittleEndian
	switch dt {
	case "F32":
		it.each(func(i int, s int64) { dst[i] = math.Float32frombits(le.Uint32(b[4*s:])) })
	case "F64":
		it.each(func(i int, s int64) { dst[i] = float32(math.Float64frombits(le.Uint64(b[8*s:]))) })
	case "F16":
		it.each(func(i int, s int64) { dst[i] = statedict.Float16ToFloat32(le.Uint16(b[2*s:])) })
	case "BF16":
		it.each(func(i int, s int64) { dst[i] = statedict.BFloat16ToFloat32(le.Uint16(b[2*s:])) })
	default:
		panic("torch: decodeFloats of " + dt)
	}
}

func decodeInts(dst []int64, b []byte, dt string, it indexIter) {
	le := binary.LittleEndian
	switch dt {
	case "I64":
		it.each(func(i int, s int64) { dst[i] = int64(le.Uint64(b[8*s:])) })
	case "I32":
		it.each(func(i int, s int64) { dst[i] = int64(int32(le.Uint32(b[4*s:]))) })
	case "I16":
		it.each(func(i int, s int64) { dst[i] = int64(int16(le.Uint16(b[2*s:]))) })
	case "I8":
		it.each(func(i int, s int64) { dst[i] = int64(int8(b[s])) })
	case "U8":
		it.each(func(i int, s int64) { dst[i] = int64(b[s]) })
	case "BOOL":
		it.each(func(i int, s int64) {
			if b[s] != 0 {
				dst[i] = 1
			} else {
				dst[i] = 0
			}
		})
	default:
		panic("torch: decodeInts of " + dt)
	}
}

// object converts a machine value to LoadObject's Go types.
func (c *converter) object(v any, depth int) (any, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("%w: objects nested more than %d deep", ErrUnsupported, maxDepth)
	}
	switch t := v.(type) {
	case nil, bool, int64, *big.Int, float64, string, []byte:
		return t, nil
	case *tensorRef:
		return c.tensor(t)
	case *pyTuple, *pyList:
		if out, ok := c.lists[t]; ok {
			return out, nil
		}
		if c.busy[t] {
			return nil, fmt.Errorf("%w: a list that contains itself", ErrUnsupported)
		}
		c.busy[t] = true
		var items []any
		if tt, ok := t.(*pyTuple); ok {
			items = tt.items
		} else {
			items = t.(*pyList).items
		}
		out := make([]any, len(items))
		for i, it := range items {
			o, err := c.object(it, depth+1)
			if err != nil {
				return nil, err
			}
			out[i] = o
		}
		delete(c.busy, t)
		c.lists[t] = out
		return out, nil
	case *pyDict:
		if out, ok := c.dicts[t]; ok {
			return out, nil
		}
		if c.busy[t] {
			return nil, fmt.Errorf("%w: a dict that contains itself", ErrUnsupported)
		}
		c.busy[t] = true
		out := &OrderedDict{Keys: append([]any(nil), t.keys...), Values: make([]any, len(t.values))}
		for i, it := range t.values {
			o, err := c.object(it, depth+1)
			if err != nil {
				return nil, err
			}
			out.Values[i] = o
		}
		delete(c.busy, t)
		c.dicts[t] = out
		return out, nil
	}
	return nil, fmt.Errorf("%w: the object holds %s", ErrUnsupported, typeName(v))
}
