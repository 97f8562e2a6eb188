package transforms

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"

	"github.com/vindex/vindex/model/metrics"
	"github.com/vindex/vindex/storage"
)

// A catalog block file holds metrics.Rows in a plain binary layout written
// and read only by Evaluate (temporary files, removed after the report):
//
//	"VXCATB1\n", uvarint n, then n rows of
//	  5 strings (song_id, work_id, model, reducer, file), uvarint g, g strings,
//	  uvarint d, d float32 (little-endian)
//
// where a string is a uvarint length and its bytes. decodeBlock checks every
// length against the bytes left before allocating.
const (
	blockMagic = "VXCATB1\n"
	blockExt   = ".vxcat"
	// maxBlockBytes bounds one block file (8192 rows of d = 16,384 is 512 MiB).
	maxBlockBytes = 1 << 30
)

var errBadBlock = errors.New("transforms: bad catalog block")

func encodeBlock(rows []metrics.Row) []byte {
	size := len(blockMagic) + binary.MaxVarintLen64
	for i := range rows {
		r := &rows[i]
		size += 8*binary.MaxVarintLen64 + len(r.SongID) + len(r.WorkID) + len(r.Model) + len(r.Reducer) + len(r.File) + 4*len(r.Embedding)
		for _, g := range r.GroupValues {
			size += binary.MaxVarintLen64 + len(g)
		}
	}
	b := make([]byte, 0, size)
	b = append(b, blockMagic...)
	b = binary.AppendUvarint(b, uint64(len(rows)))
	str := func(s string) { b = binary.AppendUvarint(b, uint64(len(s))); b = append(b, s...) }
	for i := range rows {
		r := &rows[i]
		str(r.SongID)
		str(r.WorkID)
		str(r.Model)
		str(r.Reducer)
		str(r.File)
		b = binary.AppendUvarint(b, uint64(len(r.GroupValues)))
		for _, g := range r.GroupValues {
			str(g)
		}
		b = binary.AppendUvarint(b, uint64(len(r.Embedding)))
		for _, v := range r.Embedding {
			b = binary.LittleEndian.AppendUint32(b, math.Float32bits(v))
		}
	}
	return b
}

// blockReader decodes a block, refusing any length beyond the bytes left.
type blockReader struct {
	b   []byte
	err error
}

// count reads a uvarint that counts items of at least size bytes each, and
// checks that the bytes left can hold them.
func (r *blockReader) count(size int) int {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.err = errBadBlock
		return 0
	}
	r.b = r.b[n:]
	if v > uint64(len(r.b)/size) {
		r.err = errBadBlock
		return 0
	}
	return int(v)
}

func (r *blockReader) str() string {
	n := r.count(1)
	if r.err != nil {
		return ""
	}
	s := string(r.b[:n])
	r.b = r.b[n:]
	return s
}

func decodeBlock(b []byte) ([]metrics.Row, error) {
	if !strings.HasPrefix(string(b[:min(len(b), len(blockMagic))]), blockMagic) {
		return nil, errBadBlock
	}
	r := &blockReader{b: b[len(blockMagic):]}
	n := r.count(7) // a row takes at least 7 bytes
	rows := make([]metrics.Row, n)
	for i := range rows {
		row := &rows[i]
		row.SongID, row.WorkID, row.Model, row.Reducer, row.File = r.str(), r.str(), r.str(), r.str(), r.str()
		row.GroupValues = make([]string, r.count(1))
		for j := range row.GroupValues {
			row.GroupValues[j] = r.str()
		}
		d := r.count(4)
		if r.err != nil {
			return nil, r.err
		}
		row.Embedding = make([]float32, d)
		for j := range row.Embedding {
			row.Embedding[j] = math.Float32frombits(binary.LittleEndian.Uint32(r.b[4*j:]))
		}
		r.b = r.b[4*d:]
	}
	if r.err == nil && len(r.b) != 0 {
		r.err = errBadBlock
	}
	return rows, r.err
}

// catalogCache holds the prepared catalogs a worker process has loaded,
// keyed by distance, group-by and block files, so that a process holds one
// copy of a catalog's vectors however many DoFn instances score it. Like the
// weights cache it holds immutable data only; an entry is dropped when the
// report is written (dropCatalog).
var catalogCache = struct {
	sync.Mutex
	m map[string]*catalogEntry
}{m: map[string]*catalogEntry{}}

type catalogEntry struct {
	once sync.Once
	cat  *metrics.Catalog
	err  error

	mu    sync.Mutex
	pairs map[int]*metrics.PairCounter // by block size
}

func catalogKey(idx catalogIndex, distance string, groupBy []string) string {
	return distance + "\x00" + strings.Join(groupBy, "\x01") + "\x00" + strings.Join(idx.URIs, "\x00")
}

// loadCatalog returns the catalog the index lists, loading it once per
// process.
func loadCatalog(ctx context.Context, idx catalogIndex, distance string, groupBy []string) (*metrics.Catalog, error) {
	e := catalogEntryOf(ctx, idx, distance, groupBy)
	return e.cat, e.err
}

// loadPairCounter returns the catalog the index lists and its PairCounter
// over blocks of size, both once per process (the blocks' prepared relevant
// items are shared by every DoFn instance that scores them).
func loadPairCounter(ctx context.Context, idx catalogIndex, distance string, groupBy []string, size int) (*metrics.Catalog, *metrics.PairCounter, error) {
	e := catalogEntryOf(ctx, idx, distance, groupBy)
	if e.err != nil {
		return nil, nil, e.err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.pairs[size] == nil {
		if e.pairs == nil {
			e.pairs = map[int]*metrics.PairCounter{}
		}
		e.pairs[size] = e.cat.NewPairCounter(size)
	}
	return e.cat, e.pairs[size], nil
}

// catalogEntryOf returns the cache entry of a catalog, loaded.
func catalogEntryOf(ctx context.Context, idx catalogIndex, distance string, groupBy []string) *catalogEntry {
	key := catalogKey(idx, distance, groupBy)
	catalogCache.Lock()
	e, ok := catalogCache.m[key]
	if !ok {
		e = &catalogEntry{}
		catalogCache.m[key] = e
	}
	catalogCache.Unlock()
	e.once.Do(func() { e.cat, e.err = readCatalog(ctx, idx, distance, groupBy) })
	return e
}

func readCatalog(ctx context.Context, idx catalogIndex, distance string, groupBy []string) (*metrics.Catalog, error) {
	var total int64
	for _, n := range idx.Rows {
		total += n
	}
	rows := make([]metrics.Row, 0, total)
	for i, uri := range idx.URIs {
		b, err := storage.ReadFile(ctx, uri, maxBlockBytes)
		if err != nil {
			return nil, fmt.Errorf("transforms: Evaluate: %w", err)
		}
		block, err := decodeBlock(b)
		if err == nil && int64(len(block)) != idx.Rows[i] {
			err = fmt.Errorf("%w: %d rows, the index says %d", errBadBlock, len(block), idx.Rows[i])
		}
		if err != nil {
			return nil, fmt.Errorf("transforms: Evaluate: %s: %w", uri, err)
		}
		rows = append(rows, block...)
	}
	cat, rejects, err := metrics.NewCatalog(rows, metrics.Distance(distance), groupBy)
	if err != nil {
		return nil, fmt.Errorf("transforms: Evaluate: %w", err)
	}
	if len(rejects) > 0 { // evalRowFn rejected these already
		return nil, fmt.Errorf("transforms: Evaluate: %d unscorable rows reached the catalog (first %q)", len(rejects), rejects[0].SongID)
	}
	return cat, nil
}

// dropCatalog forgets a catalog in this process and removes its block files
// and their folder (block files of retried bundles included).
func dropCatalog(ctx context.Context, info catalogInfo) error {
	catalogCache.Lock()
	delete(catalogCache.m, catalogKey(info.Index, info.Distance, info.GroupBy))
	catalogCache.Unlock()
	files, err := storage.List(ctx, storage.Join(info.Dir, "block-*"+blockExt))
	if err != nil {
		return fmt.Errorf("transforms: Evaluate: cleaning up: %w", err)
	}
	for _, f := range files {
		if err := storage.Remove(ctx, f); err != nil {
			return fmt.Errorf("transforms: Evaluate: cleaning up: %w", err)
		}
	}
	if storage.IsLocal(info.Dir) {
		return storage.Remove(ctx, info.Dir)
	}
	return nil
}
