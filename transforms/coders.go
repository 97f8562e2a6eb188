package transforms

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strings"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"

	"github.com/vindex/vindex/model/metrics"
	"github.com/vindex/vindex/schema"
)

// # Coders
//
// Every vindex type that can cross a shuffle, a side input or a combine is
// encoded by a custom coder registered with beam.RegisterCoder (below), not
// by Beam's schema Row coder. A custom coder reaches the runner as
// length-prefixed opaque bytes (beam:coder:length_prefix:v1 around the Go
// SDK's custom coder), so a Java runner (the Flink job server) only moves
// bytes: it never decodes a Go struct as a Beam Row, which depends on the
// job server's Beam version agreeing with the Go SDK's about schema
// encoding (issue 10: a 2.62.0 job server spun in RowCoder →
// StringUtf8Coder.decode on the Go SDK 2.77.0's rows). TestNoRowCoders
// (pipelines) checks that a whole index pipeline has no Row coder left.
//
// The format is vindex's own and private to a pipeline run (both ends are
// the same binary): a format byte (codecVersion), then the exported fields
// in declaration order, recursively:
//
//	bool                 1 byte
//	int, int8…int64      zig-zag varint
//	uint, uint8…uint64   varint
//	float32, float64     IEEE 754 bits, little endian (4 or 8 bytes)
//	string               varint length, bytes
//	slice, map           varint length+1 (0: nil), elements; []float32,
//	                     []float64, []int32, []int64 and []uint64 as fixed-width
//	                     little-endian runs; map entries sorted by key
//	pointer              1 byte (0: nil), the element
//	struct               its exported fields
//
// Unexported fields are not encoded (as with Beam's own coders): a type
// that needs them is not a PCollection element. The coder is built once
// per type at init by reflection, so a field added to a registered type is
// encoded without further work; a field of a kind it cannot encode (chan,
// func, interface) panics at init.
//
// Security considerations: decoders take bytes from the runner, i.e. from
// the same pipeline's encoders, but still check every declared length
// against the bytes left before allocating, and report malformed input as
// an error, never a panic.

// codecVersion is the first byte of every encoded value.
const codecVersion = 1

func init() {
	// Rows and their containers.
	beam.RegisterCoder(reflect.TypeOf(schema.Embedding{}), encodeEmbedding, decodeEmbedding)
	beam.RegisterCoder(reflect.TypeOf(schema.Reject{}), encodeReject, decodeReject)
	beam.RegisterCoder(reflect.TypeOf(schema.Song{}), encodeSong, decodeSong)
	beam.RegisterCoder(reflect.TypeOf(carryKey{}), encodeCarryKey, decodeCarryKey)
	// Writers (write.go) and readers (read.go).
	beam.RegisterCoder(reflect.TypeOf(shardFile{}), encodeShardFile, decodeShardFile)
	beam.RegisterCoder(reflect.TypeOf(datasetFile{}), encodeDatasetFile, decodeDatasetFile)
	beam.RegisterCoder(reflect.TypeOf(rowRange{}), encodeRowRange, decodeRowRange)
	beam.RegisterCoder(reflect.TypeOf(rowOrigin{}), encodeRowOrigin, decodeRowOrigin)
	beam.RegisterCoder(reflect.TypeOf(originBatch{}), encodeOriginBatch, decodeOriginBatch)
	beam.RegisterCoder(reflect.TypeOf(partRow{}), encodePartRow, decodePartRow)
	// Fit (fit.go): the fitted reducer and the accumulators.
	beam.RegisterCoder(reflect.TypeOf(FittedReducer{}), encodeFittedReducer, decodeFittedReducer)
	beam.RegisterCoder(reflect.TypeOf(momentsAccum{}), encodeMomentsAccum, decodeMomentsAccum)
	beam.RegisterCoder(reflect.TypeOf(sampleAccum{}), encodeSampleAccum, decodeSampleAccum)
	beam.RegisterCoder(reflect.TypeOf(countAccum{}), encodeCountAccum, decodeCountAccum)
	// Evaluate (evaluate*.go): rows, catalog block names and index, the
	// catalog's description, query blocks, results and the report's inputs.
	beam.RegisterCoder(reflect.TypeOf(metrics.Row{}), encodeMetricsRow, decodeMetricsRow)
	beam.RegisterCoder(reflect.TypeOf(metrics.QueryResult{}), encodeQueryResult, decodeQueryResult)
	beam.RegisterCoder(reflect.TypeOf(catalogBlock{}), encodeCatalogBlock, decodeCatalogBlock)
	beam.RegisterCoder(reflect.TypeOf(catalogIndex{}), encodeCatalogIndex, decodeCatalogIndex)
	beam.RegisterCoder(reflect.TypeOf(catalogInfo{}), encodeCatalogInfo, decodeCatalogInfo)
	beam.RegisterCoder(reflect.TypeOf(pairTask{}), encodePairTask, decodePairTask)
	beam.RegisterCoder(reflect.TypeOf(countChunk{}), encodeCountChunk, decodeCountChunk)
	beam.RegisterCoder(reflect.TypeOf(queryRows{}), encodeQueryRows, decodeQueryRows)
	beam.RegisterCoder(reflect.TypeOf(evalInfo{}), encodeEvalInfo, decodeEvalInfo)
}

// The encode/decode pairs Beam calls. Each is a named function (Beam
// serialises functions by name; instantiations of one generic function
// would share a name) over the type's codec.
var (
	embeddingCodec    = newCodec[schema.Embedding]()
	rejectCodec       = newCodec[schema.Reject]()
	songCodec         = newCodec[schema.Song]()
	carryKeyCodec     = newCodec[carryKey]()
	shardFileCodec    = newCodec[shardFile]()
	datasetFileCodec  = newCodec[datasetFile]()
	rowRangeCodec     = newCodec[rowRange]()
	rowOriginCodec    = newCodec[rowOrigin]()
	originBatchCodec  = newCodec[originBatch]()
	partRowCodec      = newCodec[partRow]()
	fittedCodec       = newCodec[FittedReducer]()
	momentsAccumCodec = newCodec[momentsAccum]()
	sampleAccumCodec  = newCodec[sampleAccum]()
	countAccumCodec   = newCodec[countAccum]()
	metricsRowCodec   = newCodec[metrics.Row]()
	queryResultCodec  = newCodec[metrics.QueryResult]()
	catalogBlockCodec = newCodec[catalogBlock]()
	catalogIndexCodec = newCodec[catalogIndex]()
	catalogInfoCodec  = newCodec[catalogInfo]()
	pairTaskCodec     = newCodec[pairTask]()
	countChunkCodec   = newCodec[countChunk]()
	queryRowsCodec    = newCodec[queryRows]()
	evalInfoCodec     = newCodec[evalInfo]()
)

func encodeEmbedding(v schema.Embedding) []byte               { return embeddingCodec.encode(&v) }
func decodeEmbedding(b []byte) (schema.Embedding, error)      { return embeddingCodec.decode(b) }
func encodeReject(v schema.Reject) []byte                     { return rejectCodec.encode(&v) }
func decodeReject(b []byte) (schema.Reject, error)            { return rejectCodec.decode(b) }
func encodeSong(v schema.Song) []byte                         { return songCodec.encode(&v) }
func decodeSong(b []byte) (schema.Song, error)                { return songCodec.decode(b) }
func encodeCarryKey(v carryKey) []byte                        { return carryKeyCodec.encode(&v) }
func decodeCarryKey(b []byte) (carryKey, error)               { return carryKeyCodec.decode(b) }
func encodeShardFile(v shardFile) []byte                      { return shardFileCodec.encode(&v) }
func decodeShardFile(b []byte) (shardFile, error)             { return shardFileCodec.decode(b) }
func encodeDatasetFile(v datasetFile) []byte                  { return datasetFileCodec.encode(&v) }
func decodeDatasetFile(b []byte) (datasetFile, error)         { return datasetFileCodec.decode(b) }
func encodeRowRange(v rowRange) []byte                        { return rowRangeCodec.encode(&v) }
func decodeRowRange(b []byte) (rowRange, error)               { return rowRangeCodec.decode(b) }
func encodeRowOrigin(v rowOrigin) []byte                      { return rowOriginCodec.encode(&v) }
func decodeRowOrigin(b []byte) (rowOrigin, error)             { return rowOriginCodec.decode(b) }
func encodeOriginBatch(v originBatch) []byte                  { return originBatchCodec.encode(&v) }
func decodeOriginBatch(b []byte) (originBatch, error)         { return originBatchCodec.decode(b) }
func encodePartRow(v partRow) []byte                          { return partRowCodec.encode(&v) }
func decodePartRow(b []byte) (partRow, error)                 { return partRowCodec.decode(b) }
func encodeFittedReducer(v FittedReducer) []byte              { return fittedCodec.encode(&v) }
func decodeFittedReducer(b []byte) (FittedReducer, error)     { return fittedCodec.decode(b) }
func encodeMomentsAccum(v momentsAccum) []byte                { return momentsAccumCodec.encode(&v) }
func decodeMomentsAccum(b []byte) (momentsAccum, error)       { return momentsAccumCodec.decode(b) }
func encodeSampleAccum(v sampleAccum) []byte                  { return sampleAccumCodec.encode(&v) }
func decodeSampleAccum(b []byte) (sampleAccum, error)         { return sampleAccumCodec.decode(b) }
func encodeCountAccum(v countAccum) []byte                    { return countAccumCodec.encode(&v) }
func decodeCountAccum(b []byte) (countAccum, error)           { return countAccumCodec.decode(b) }
func encodeMetricsRow(v metrics.Row) []byte                   { return metricsRowCodec.encode(&v) }
func decodeMetricsRow(b []byte) (metrics.Row, error)          { return metricsRowCodec.decode(b) }
func encodeQueryResult(v metrics.QueryResult) []byte          { return queryResultCodec.encode(&v) }
func decodeQueryResult(b []byte) (metrics.QueryResult, error) { return queryResultCodec.decode(b) }
func encodeCatalogBlock(v catalogBlock) []byte                { return catalogBlockCodec.encode(&v) }
func decodeCatalogBlock(b []byte) (catalogBlock, error)       { return catalogBlockCodec.decode(b) }
func encodeCatalogIndex(v catalogIndex) []byte                { return catalogIndexCodec.encode(&v) }
func decodeCatalogIndex(b []byte) (catalogIndex, error)       { return catalogIndexCodec.decode(b) }
func encodeCatalogInfo(v catalogInfo) []byte                  { return catalogInfoCodec.encode(&v) }
func decodeCatalogInfo(b []byte) (catalogInfo, error)         { return catalogInfoCodec.decode(b) }
func encodePairTask(v pairTask) []byte                        { return pairTaskCodec.encode(&v) }
func decodePairTask(b []byte) (pairTask, error)               { return pairTaskCodec.decode(b) }
func encodeCountChunk(v countChunk) []byte                    { return countChunkCodec.encode(&v) }
func decodeCountChunk(b []byte) (countChunk, error)           { return countChunkCodec.decode(b) }
func encodeQueryRows(v queryRows) []byte                      { return queryRowsCodec.encode(&v) }
func decodeQueryRows(b []byte) (queryRows, error)             { return queryRowsCodec.decode(b) }
func encodeEvalInfo(v evalInfo) []byte                        { return evalInfoCodec.encode(&v) }
func decodeEvalInfo(b []byte) (evalInfo, error)               { return evalInfoCodec.decode(b) }

// codec encodes and decodes values of T; it is immutable once built.
type codec[T any] struct {
	name string
	size func(v reflect.Value) int // estimate of the encoded size, for one allocation
	enc  encodeFunc
	dec  decodeFunc
}

// encodeFunc appends the value at v (addressable) to dst.
type encodeFunc func(dst []byte, v reflect.Value) []byte

// decodeFunc decodes into the addressable v from r.
type decodeFunc func(r *reader, v reflect.Value) error

func newCodec[T any]() *codec[T] {
	t := reflect.TypeFor[T]()
	return &codec[T]{name: t.String(), size: sizerOf(t), enc: encoderOf(t), dec: decoderOf(t)}
}

func (c *codec[T]) encode(v *T) []byte {
	rv := reflect.ValueOf(v).Elem()
	dst := make([]byte, 1, 1+c.size(rv))
	dst[0] = codecVersion
	return c.enc(dst, rv)
}

// sizerOf returns an estimate of the encoded size of a t: exact for
// strings and fixed-width runs (plus their varint lengths' upper bound),
// 10 bytes for a scalar, 16 for an element of another kind of slice or map.
// It only sizes the first allocation; encoding never depends on it.
func sizerOf(t reflect.Type) func(v reflect.Value) int {
	switch t.Kind() {
	case reflect.String:
		return func(v reflect.Value) int { return v.Len() + binary.MaxVarintLen64 }
	case reflect.Slice:
		if w := fixedWidth(t); w > 0 {
			return func(v reflect.Value) int { return w*v.Len() + binary.MaxVarintLen64 }
		}
		return func(v reflect.Value) int { return 16*v.Len() + binary.MaxVarintLen64 }
	case reflect.Map:
		return func(v reflect.Value) int { return 16*v.Len() + binary.MaxVarintLen64 }
	case reflect.Struct:
		idx := exportedFields(t)
		sizers := make([]func(reflect.Value) int, len(idx))
		for i, f := range idx {
			sizers[i] = sizerOf(t.Field(f).Type)
		}
		return func(v reflect.Value) int {
			n := 0
			for i, f := range idx {
				n += sizers[i](v.Field(f))
			}
			return n
		}
	}
	return func(reflect.Value) int { return binary.MaxVarintLen64 }
}

// fixedWidth is the element size of the slices encoded as fixed-width runs
// (0 for other types).
func fixedWidth(t reflect.Type) int {
	switch t {
	case reflect.TypeFor[[]float32](), reflect.TypeFor[[]int32]():
		return 4
	case reflect.TypeFor[[]float64](), reflect.TypeFor[[]int64](), reflect.TypeFor[[]uint64]():
		return 8
	case reflect.TypeFor[[]byte]():
		return 1
	}
	return 0
}

func (c *codec[T]) decode(b []byte) (T, error) {
	var v T
	if len(b) == 0 || b[0] != codecVersion {
		return v, fmt.Errorf("transforms: decoding %s: not a vindex coder value (format byte %v)", c.name, b[:min(len(b), 1)])
	}
	r := &reader{b: b[1:]}
	if err := c.dec(r, reflect.ValueOf(&v).Elem()); err != nil {
		return v, fmt.Errorf("transforms: decoding %s: %w", c.name, err)
	}
	if len(r.b) != 0 {
		return v, fmt.Errorf("transforms: decoding %s: %d trailing bytes", c.name, len(r.b))
	}
	return v, nil
}

// errShort is returned for input that ends inside a value.
var errShort = errors.New("input ends inside a value")

type reader struct{ b []byte }

func (r *reader) byte1() (byte, error) {
	if len(r.b) < 1 {
		return 0, errShort
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c, nil
}

func (r *reader) uvarint() (uint64, error) {
	x, n := binary.Uvarint(r.b)
	if n <= 0 {
		return 0, errors.New("bad varint")
	}
	r.b = r.b[n:]
	return x, nil
}

func (r *reader) varint() (int64, error) {
	x, n := binary.Varint(r.b)
	if n <= 0 {
		return 0, errors.New("bad varint")
	}
	r.b = r.b[n:]
	return x, nil
}

// take returns the next n bytes.
func (r *reader) take(n uint64) ([]byte, error) {
	if n > uint64(len(r.b)) {
		return nil, fmt.Errorf("length %d exceeds the %d bytes left", n, len(r.b))
	}
	p := r.b[:n]
	r.b = r.b[n:]
	return p, nil
}

// count reads a slice or map length+1 (0: nil) and checks that n elements
// of at least minSize bytes each fit in what is left.
func (r *reader) count(minSize int) (n int, isNil bool, err error) {
	x, err := r.uvarint()
	if err != nil {
		return 0, false, err
	}
	if x == 0 {
		return 0, true, nil
	}
	x--
	if x > uint64(len(r.b))/uint64(max(minSize, 1)) {
		return 0, false, fmt.Errorf("%d elements cannot fit in the %d bytes left", x, len(r.b))
	}
	return int(x), false, nil
}

// run reads a slice's count and its n fixed-width elements of w bytes; p
// is nil for a nil slice.
func (r *reader) run(w int) (p []byte, n int, err error) {
	n, isNil, err := r.count(w)
	if err != nil || isNil {
		return nil, 0, err
	}
	p, err = r.take(uint64(n * w))
	if p == nil && err == nil {
		p = []byte{} // an empty, non-nil slice
	}
	return p, n, err
}

func appendCount(dst []byte, n int, isNil bool) []byte {
	if isNil {
		return binary.AppendUvarint(dst, 0)
	}
	return binary.AppendUvarint(dst, uint64(n)+1)
}

// encoderOf builds the encoder of t; it panics on kinds it cannot encode.
func encoderOf(t reflect.Type) encodeFunc {
	switch t.Kind() {
	case reflect.Bool:
		return func(dst []byte, v reflect.Value) []byte {
			if v.Bool() {
				return append(dst, 1)
			}
			return append(dst, 0)
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return func(dst []byte, v reflect.Value) []byte { return binary.AppendVarint(dst, v.Int()) }
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return func(dst []byte, v reflect.Value) []byte { return binary.AppendUvarint(dst, v.Uint()) }
	case reflect.Float32:
		return func(dst []byte, v reflect.Value) []byte {
			return binary.LittleEndian.AppendUint32(dst, math.Float32bits(float32(v.Float())))
		}
	case reflect.Float64:
		return func(dst []byte, v reflect.Value) []byte {
			return binary.LittleEndian.AppendUint64(dst, math.Float64bits(v.Float()))
		}
	case reflect.String:
		return func(dst []byte, v reflect.Value) []byte {
			s := v.String()
			return append(binary.AppendUvarint(dst, uint64(len(s))), s...)
		}
	case reflect.Slice:
		return sliceEncoder(t)
	case reflect.Map:
		return mapEncoder(t)
	case reflect.Pointer:
		elem := encoderOf(t.Elem())
		return func(dst []byte, v reflect.Value) []byte {
			if v.IsNil() {
				return append(dst, 0)
			}
			return elem(append(dst, 1), v.Elem())
		}
	case reflect.Struct:
		return structEncoder(t)
	}
	panic(fmt.Sprintf("transforms: coder: cannot encode %s (kind %s)", t, t.Kind()))
}

// exportedFields lists t's exported fields, in declaration order.
func exportedFields(t reflect.Type) []int {
	var idx []int
	for i := range t.NumField() {
		if t.Field(i).IsExported() {
			idx = append(idx, i)
		}
	}
	return idx
}

func structEncoder(t reflect.Type) encodeFunc {
	idx := exportedFields(t)
	encs := make([]encodeFunc, len(idx))
	for i, f := range idx {
		encs[i] = encoderOf(t.Field(f).Type)
	}
	return func(dst []byte, v reflect.Value) []byte {
		for i, f := range idx {
			dst = encs[i](dst, v.Field(f))
		}
		return dst
	}
}

// sliceEncoder encodes a slice; numeric slices as fixed-width runs.
func sliceEncoder(t reflect.Type) encodeFunc {
	switch t {
	case reflect.TypeFor[[]float32]():
		return func(dst []byte, v reflect.Value) []byte {
			s := sliceOf[float32](v)
			dst = appendCount(dst, len(s), s == nil)
			n := len(dst)
			dst = slices.Grow(dst, 4*len(s))[:n+4*len(s)]
			for i, x := range s {
				binary.LittleEndian.PutUint32(dst[n+4*i:], math.Float32bits(x))
			}
			return dst
		}
	case reflect.TypeFor[[]float64]():
		return func(dst []byte, v reflect.Value) []byte {
			s := sliceOf[float64](v)
			dst = appendCount(dst, len(s), s == nil)
			n := len(dst)
			dst = slices.Grow(dst, 8*len(s))[:n+8*len(s)]
			for i, x := range s {
				binary.LittleEndian.PutUint64(dst[n+8*i:], math.Float64bits(x))
			}
			return dst
		}
	case reflect.TypeFor[[]int32]():
		return func(dst []byte, v reflect.Value) []byte {
			s := sliceOf[int32](v)
			dst = appendCount(dst, len(s), s == nil)
			for _, x := range s {
				dst = binary.LittleEndian.AppendUint32(dst, uint32(x))
			}
			return dst
		}
	case reflect.TypeFor[[]int64]():
		return func(dst []byte, v reflect.Value) []byte {
			s := sliceOf[int64](v)
			dst = appendCount(dst, len(s), s == nil)
			for _, x := range s {
				dst = binary.LittleEndian.AppendUint64(dst, uint64(x))
			}
			return dst
		}
	case reflect.TypeFor[[]uint64]():
		return func(dst []byte, v reflect.Value) []byte {
			s := sliceOf[uint64](v)
			dst = appendCount(dst, len(s), s == nil)
			for _, x := range s {
				dst = binary.LittleEndian.AppendUint64(dst, x)
			}
			return dst
		}
	case reflect.TypeFor[[]byte]():
		return func(dst []byte, v reflect.Value) []byte {
			s := sliceOf[byte](v)
			return append(appendCount(dst, len(s), s == nil), s...)
		}
	}
	elem := encoderOf(t.Elem())
	return func(dst []byte, v reflect.Value) []byte {
		dst = appendCount(dst, v.Len(), v.IsNil())
		for i := range v.Len() {
			dst = elem(dst, v.Index(i))
		}
		return dst
	}
}

// sliceOf returns the []T held by v without copying it.
func sliceOf[T any](v reflect.Value) []T {
	if v.CanAddr() {
		return *v.Addr().Interface().(*[]T)
	}
	return v.Interface().([]T)
}

// mapEncoder encodes a map with string or integer keys, sorted by key so
// that equal maps encode to equal bytes.
func mapEncoder(t reflect.Type) encodeFunc {
	var cmp func(a, b reflect.Value) int
	switch t.Key().Kind() {
	case reflect.String:
		cmp = func(a, b reflect.Value) int { return strings.Compare(a.String(), b.String()) }
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		cmp = func(a, b reflect.Value) int { return compareOrdered(a.Int(), b.Int()) }
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		cmp = func(a, b reflect.Value) int { return compareOrdered(a.Uint(), b.Uint()) }
	default:
		panic(fmt.Sprintf("transforms: coder: cannot encode %s: map keys must be strings or integers", t))
	}
	key, val := encoderOf(t.Key()), encoderOf(t.Elem())
	return func(dst []byte, v reflect.Value) []byte {
		dst = appendCount(dst, v.Len(), v.IsNil())
		keys := v.MapKeys()
		slices.SortFunc(keys, cmp)
		for _, k := range keys {
			dst = key(dst, k)
			dst = val(dst, v.MapIndex(k))
		}
		return dst
	}
}

func compareOrdered[T int64 | uint64](a, b T) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// decoderOf builds the decoder of t (the mirror of encoderOf).
func decoderOf(t reflect.Type) decodeFunc {
	switch t.Kind() {
	case reflect.Bool:
		return func(r *reader, v reflect.Value) error {
			c, err := r.byte1()
			if err != nil {
				return err
			}
			if c > 1 {
				return fmt.Errorf("bad bool %d", c)
			}
			v.SetBool(c == 1)
			return nil
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return func(r *reader, v reflect.Value) error {
			x, err := r.varint()
			if err != nil {
				return err
			}
			if v.OverflowInt(x) {
				return fmt.Errorf("%d overflows %s", x, v.Type())
			}
			v.SetInt(x)
			return nil
		}
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return func(r *reader, v reflect.Value) error {
			x, err := r.uvarint()
			if err != nil {
				return err
			}
			if v.OverflowUint(x) {
				return fmt.Errorf("%d overflows %s", x, v.Type())
			}
			v.SetUint(x)
			return nil
		}
	case reflect.Float32:
		return func(r *reader, v reflect.Value) error {
			p, err := r.take(4)
			if err != nil {
				return err
			}
			v.SetFloat(float64(math.Float32frombits(binary.LittleEndian.Uint32(p))))
			return nil
		}
	case reflect.Float64:
		return func(r *reader, v reflect.Value) error {
			p, err := r.take(8)
			if err != nil {
				return err
			}
			v.SetFloat(math.Float64frombits(binary.LittleEndian.Uint64(p)))
			return nil
		}
	case reflect.String:
		return func(r *reader, v reflect.Value) error {
			n, err := r.uvarint()
			if err != nil {
				return err
			}
			p, err := r.take(n)
			if err != nil {
				return err
			}
			v.SetString(string(p))
			return nil
		}
	case reflect.Slice:
		return sliceDecoder(t)
	case reflect.Map:
		return mapDecoder(t)
	case reflect.Pointer:
		elem := decoderOf(t.Elem())
		return func(r *reader, v reflect.Value) error {
			c, err := r.byte1()
			if err != nil || c == 0 {
				return err
			}
			if c != 1 {
				return fmt.Errorf("bad pointer flag %d", c)
			}
			p := reflect.New(t.Elem())
			if err := elem(r, p.Elem()); err != nil {
				return err
			}
			v.Set(p)
			return nil
		}
	case reflect.Struct:
		return structDecoder(t)
	}
	panic(fmt.Sprintf("transforms: coder: cannot decode %s (kind %s)", t, t.Kind()))
}

func structDecoder(t reflect.Type) decodeFunc {
	idx := exportedFields(t)
	decs := make([]decodeFunc, len(idx))
	for i, f := range idx {
		decs[i] = decoderOf(t.Field(f).Type)
	}
	return func(r *reader, v reflect.Value) error {
		for i, f := range idx {
			if err := decs[i](r, v.Field(f)); err != nil {
				return fmt.Errorf("%s: %w", t.Field(f).Name, err)
			}
		}
		return nil
	}
}

// sliceDecoder decodes a slice: the fixed-width runs of []float32,
// []float64, []int32, []int64, []uint64 and []byte in one pass, other
// elements one by one (each at least one byte, which bounds the length).
func sliceDecoder(t reflect.Type) decodeFunc {
	switch t {
	case reflect.TypeFor[[]float32]():
		return func(r *reader, v reflect.Value) error {
			p, n, err := r.run(4)
			if err != nil || p == nil {
				return err
			}
			s := make([]float32, n)
			for i := range s {
				s[i] = math.Float32frombits(binary.LittleEndian.Uint32(p[4*i:]))
			}
			*v.Addr().Interface().(*[]float32) = s
			return nil
		}
	case reflect.TypeFor[[]float64]():
		return func(r *reader, v reflect.Value) error {
			p, n, err := r.run(8)
			if err != nil || p == nil {
				return err
			}
			s := make([]float64, n)
			for i := range s {
				s[i] = math.Float64frombits(binary.LittleEndian.Uint64(p[8*i:]))
			}
			*v.Addr().Interface().(*[]float64) = s
			return nil
		}
	case reflect.TypeFor[[]int32]():
		return fixedDecoder(4, func(p []byte) int32 { return int32(binary.LittleEndian.Uint32(p)) })
	case reflect.TypeFor[[]int64]():
		return fixedDecoder(8, func(p []byte) int64 { return int64(binary.LittleEndian.Uint64(p)) })
	case reflect.TypeFor[[]uint64]():
		return fixedDecoder(8, binary.LittleEndian.Uint64)
	case reflect.TypeFor[[]byte]():
		return fixedDecoder(1, func(p []byte) byte { return p[0] })
	}
	elem := decoderOf(t.Elem())
	return func(r *reader, v reflect.Value) error {
		n, isNil, err := r.count(1)
		if err != nil || isNil {
			return err
		}
		s := reflect.MakeSlice(t, n, n)
		for i := range n {
			if err := elem(r, s.Index(i)); err != nil {
				return fmt.Errorf("[%d]: %w", i, err)
			}
		}
		v.Set(s)
		return nil
	}
}

// fixedDecoder decodes a run of w-byte elements into a []T.
func fixedDecoder[T any](w int, get func([]byte) T) decodeFunc {
	return func(r *reader, v reflect.Value) error {
		p, n, err := r.run(w)
		if err != nil || p == nil {
			return err
		}
		s := make([]T, n)
		for i := range s {
			s[i] = get(p[w*i:])
		}
		*v.Addr().Interface().(*[]T) = s
		return nil
	}
}

func mapDecoder(t reflect.Type) decodeFunc {
	key, val := decoderOf(t.Key()), decoderOf(t.Elem())
	return func(r *reader, v reflect.Value) error {
		n, isNil, err := r.count(2)
		if err != nil || isNil {
			return err
		}
		m := reflect.MakeMapWithSize(t, n)
		k, e := reflect.New(t.Key()).Elem(), reflect.New(t.Elem()).Elem()
		for range n {
			k.SetZero()
			e.SetZero()
			if err := key(r, k); err != nil {
				return err
			}
			if err := val(r, e); err != nil {
				return err
			}
			m.SetMapIndex(k, e)
		}
		v.Set(m)
		return nil
	}
}
