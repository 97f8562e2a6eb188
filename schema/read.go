package schema

import (
	"errors"
	"fmt"
	"io"
	"iter"
	"math"
	"math/big"
	"strconv"
	"strings"
	"time"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"

	"github.com/vindex/vindex/storage"
)

// RowError is a problem with one row of a file: the row is skipped (and
// becomes a reject), the rest of the file is read.
type RowError struct {
	File   string
	Row    int64  // 0-based row index in the file
	SongID string // empty when the row's song_id could not be read
	Column string // empty when the problem is not one column's
	Err    error
}

func (e *RowError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "schema: %s: row %d", e.File, e.Row)
	if e.SongID != "" {
		fmt.Fprintf(&b, " (song %q)", e.SongID)
	}
	if e.Column != "" {
		fmt.Fprintf(&b, ": column %s", e.Column)
	}
	fmt.Fprintf(&b, ": %v", e.Err)
	return b.String()
}

func (e *RowError) Unwrap() error { return e.Err }

// File is an open Parquet file of songs or embeddings. Its methods read one
// row group at a time, so a reader never holds more than a batch of rows.
//
// A File maps the file's columns by name, accepting the variants other
// writers produce: `crema`/`embedding` as a list of numbers (float, double or
// integers of any width) or as a list of lists of 12 numbers (what
// pandas/pyarrow/DuckDB write from a 2-D array); ids and metadata as strings
// or integers; missing optional columns. Every other scalar column goes into
// Extra as text; other nested columns are ignored.
type File struct {
	name string
	pf   *parquet.File
}

// OpenFile reads the footer of the Parquet file r (size bytes) named name
// (name is only used in errors and in Song.File). It does not read rows.
func OpenFile(name string, r io.ReaderAt, size int64) (f *File, err error) {
	defer func() {
		if p := recover(); p != nil { // parquet-go panics on some corrupt footers
			f, err = nil, fmt.Errorf("schema: %s: %w: %v", name, ErrBadFile, p)
		}
	}()
	pf, err := parquet.OpenFile(r, size,
		parquet.SkipPageIndex(true), parquet.SkipBloomFilters(true),
		parquet.OptimisticRead(true), parquet.ReadBufferSize(readBufferSize(name)))
	if err != nil {
		return nil, fmt.Errorf("schema: %s: %w: %v", name, ErrBadFile, err)
	}
	return &File{name: name, pf: pf}, nil
}

// readBufferSize is the buffer of each column reader: 1 MiB for remote
// files, where every buffer refill is a ranged request with its own latency,
// and 256 KiB for local ones, where a refill is a read(2). parquet-go keeps
// one buffer per column per open reader (pooled), so on a local worker the
// buffers, not the data, were the largest part of the read stage's heap:
// 13–22 MB of a 60–85 MB live heap at two concurrent bundles (issue 11.5).
func readBufferSize(name string) int {
	if storage.IsLocal(name) {
		return 256 << 10
	}
	return 1 << 20
}

// Name returns the name the file was opened with.
func (f *File) Name() string { return f.name }

// NumRows returns the number of rows the footer declares.
func (f *File) NumRows() int64 { return f.pf.NumRows() }

// NumRowGroups returns the number of row groups.
func (f *File) NumRowGroups() int { return len(f.pf.RowGroups()) }

// RowGroupRows returns the number of rows of row group i.
func (f *File) RowGroupRows(i int) int64 { return f.pf.RowGroups()[i].NumRows() }

// SchemaVersion returns the vindex schema version recorded in the file's
// key-value metadata, or "" for files vindex did not write.
func (f *File) SchemaVersion() string {
	v, _ := f.pf.Lookup(SchemaKey)
	return v
}

// Songs returns the rows of row group rg as Songs. A row that cannot be
// decoded yields a zero-ID-or-partial Song and a *RowError; the sequence goes
// on. A failure of the whole row group (missing column, corrupt page) yields
// an error that is not a *RowError, and ends the sequence.
//
// Songs are not validated: call ValidateSong.
func (f *File) Songs(rg int) iter.Seq2[Song, error] {
	return f.SongRange(rg, 0, f.rowGroupRows(rg))
}

// SongRange is Songs for the rows [lo, hi) of row group rg (offsets inside
// the group): the reader seeks to lo, so a range costs the pages it spans,
// not the group. Song.File and Song.Row (the row's index in the file) are
// set; an error that is not a *RowError names the rows it lost.
func (f *File) SongRange(rg int, lo, hi int64) iter.Seq2[Song, error] {
	return func(yield func(Song, error) bool) {
		if f.checkRange(rg, lo, hi, func(err error) { yield(Song{File: f.name}, err) }) {
			return
		}
		if parquet.EqualNodes(f.pf.Schema(), songSchema) {
			f.typedSongs(rg, lo, hi, yield) // a file vindex wrote: parquet-go's typed reader
			return
		}
		f.rows(rg, lo, hi, "crema", func(r *record, rowErr error) bool {
			s := Song{SongID: r.songID, WorkID: r.workID, Hop: r.hop, Crema: r.vec,
				Title: r.title, Artist: r.artist, Year: r.year, Instrumental: r.instrumental,
				DurationS: r.durationS, Extra: r.extra, File: f.name, Row: r.row}
			return yield(s, rowErr)
		}, func(err error) { yield(Song{File: f.name}, err) })
	}
}

// RowGroupFirstRow returns the index in the file of row group rg's first row.
func (f *File) RowGroupFirstRow(rg int) int64 {
	first := int64(0)
	for _, g := range f.pf.RowGroups()[:rg] {
		first += g.NumRows()
	}
	return first
}

// RowGroupBytes returns the uncompressed size of row group rg as its footer
// declares it (0 if unknown); readers use it to cut row groups of long songs
// into smaller ranges.
func (f *File) RowGroupBytes(rg int) int64 {
	if m := f.pf.Metadata(); rg >= 0 && rg < len(m.RowGroups) {
		return max(m.RowGroups[rg].TotalByteSize, 0)
	}
	return 0
}

func (f *File) rowGroupRows(rg int) int64 {
	if rg < 0 || rg >= f.NumRowGroups() {
		return 0
	}
	return f.RowGroupRows(rg)
}

// checkRange reports (through fail) a row group or row range that is out of
// bounds, and returns whether it was.
func (f *File) checkRange(rg int, lo, hi int64, fail func(error)) bool {
	groups := f.pf.RowGroups()
	if rg < 0 || rg >= len(groups) {
		fail(fmt.Errorf("schema: %s: %w: row group %d out of range [0, %d)", f.name, ErrBadFile, rg, len(groups)))
		return true
	}
	if n := groups[rg].NumRows(); lo < 0 || hi < lo || hi > n {
		fail(fmt.Errorf("schema: %s: %w: rows [%d, %d) of row group %d (%d rows)", f.name, ErrBadFile, lo, hi, rg, n))
		return true
	}
	return false
}

var songSchema = parquet.SchemaOf(new(Song))

// typedSongs reads rows [lo, hi) of a row group whose schema is exactly Song's.
func (f *File) typedSongs(rg int, lo, hi int64, yield func(Song, error) bool) {
	inRow := false
	index := f.RowGroupFirstRow(rg) + lo
	end := index + hi - lo
	defer func() {
		if p := recover(); p != nil {
			if inRow {
				panic(p)
			}
			yield(Song{File: f.name}, f.lostRows(rg, index, end, p))
		}
	}()
	r := parquet.NewGenericRowGroupReader[Song](f.pf.RowGroups()[rg])
	defer r.Close()
	if lo > 0 {
		if err := r.SeekToRow(lo); err != nil {
			yield(Song{File: f.name}, f.lostRows(rg, index, end, err))
			return
		}
	}
	buf := make([]Song, 8)
	for index < end {
		clear(buf)
		n, err := r.Read(buf[:min(int64(len(buf)), end-index)])
		for i := range buf[:n] {
			buf[i].File, buf[i].Row = f.name, index
			if len(buf[i].Extra) == 0 {
				buf[i].Extra = nil
			}
			inRow = true
			if !yield(buf[i], nil) {
				return
			}
			inRow = false
			index++
		}
		if errors.Is(err, io.EOF) && index < end {
			err = io.ErrUnexpectedEOF
		}
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			yield(Song{File: f.name}, f.lostRows(rg, index, end, err))
			return
		}
	}
}

// A RangeError is the failure of a whole row range: the rows [From, To) of
// the file (0-based, To exclusive) could not be read.
type RangeError struct {
	File     string
	RowGroup int
	From, To int64
	Err      any // the parquet-go error or panic value
}

func (e *RangeError) Error() string {
	return fmt.Sprintf("schema: %s: row group %d: rows %d to %d (%d songs) unreadable: %v: %v",
		e.File, e.RowGroup, e.From, e.To-1, e.To-e.From, ErrBadFile, e.Err)
}

// Unwrap returns ErrBadFile and the cause, if it is an error.
func (e *RangeError) Unwrap() []error {
	if err, ok := e.Err.(error); ok {
		return []error{ErrBadFile, err}
	}
	return []error{ErrBadFile}
}

// Lost returns the number of rows the failure lost.
func (e *RangeError) Lost() int64 { return e.To - e.From }

func (f *File) lostRows(rg int, from, to int64, cause any) error {
	return &RangeError{File: f.name, RowGroup: rg, From: from, To: to, Err: cause}
}

// Embeddings returns the rows of row group rg as Embeddings, with the same
// error conventions as Songs. Embeddings are not validated: call
// ValidateEmbedding.
func (f *File) Embeddings(rg int) iter.Seq2[Embedding, error] {
	return f.EmbeddingRange(rg, 0, f.rowGroupRows(rg))
}

// EmbeddingRange is Embeddings for the rows [lo, hi) of row group rg, like
// SongRange.
func (f *File) EmbeddingRange(rg int, lo, hi int64) iter.Seq2[Embedding, error] {
	return func(yield func(Embedding, error) bool) {
		if f.checkRange(rg, lo, hi, func(err error) { yield(Embedding{File: f.name}, err) }) {
			return
		}
		f.rows(rg, lo, hi, "embedding", func(r *record, rowErr error) bool {
			e := Embedding{SongID: r.songID, WorkID: r.workID, Embedding: r.vec, Model: r.model,
				Reducer: r.reducer, ContentHash: r.contentHash,
				Title: r.title, Artist: r.artist, Year: r.year, Instrumental: r.instrumental,
				DurationS: r.durationS, Extra: r.extra, File: f.name, Row: r.row}
			return yield(e, rowErr)
		}, func(err error) { yield(Embedding{File: f.name}, err) })
	}
}

// record is one decoded row, the union of Song and Embedding fields.
type record struct {
	songID, workID, model, reducer, contentHash string
	title, artist, instrumental                 string
	hop, year                                   int32
	durationS                                   float32
	vec                                         []float32
	row                                         int64 // index in the file
	frames                                      []int // values per inner list, for nested vectors
	extraKeys, extraValues                      []string
	extra                                       map[string]string
}

type role int

const (
	roleIgnore role = iota
	roleSongID
	roleWorkID
	roleHop
	roleVector
	roleTitle
	roleArtist
	roleYear
	roleInstrumental
	roleDuration
	roleModel
	roleReducer
	roleContentHash
	roleExtraKey
	roleExtraValue
	roleExtraScalar
)

// leaf describes one leaf column of a file and where its values go.
type leaf struct {
	name     string // dotted path, for errors and Extra keys
	role     role
	maxRep   int
	maxDef   int
	outerDef int // definition level at which the outer list has an element
	elemDef  int // definition level at which the innermost list has an element
	unsigned bool
	logical  logical
	scale    int32         // decimal scale, for logical == logicalDecimal
	unit     time.Duration // timestamp unit, for logical == logicalTimestamp
}

// logical is the logical type of a leaf, where it changes how values read.
type logical int

const (
	logicalNone logical = iota
	logicalDecimal
	logicalDate
	logicalTimestamp
)

// leaves maps the file's leaf columns to roles; vector names the list column
// (crema or embedding).
func (f *File) leaves(vector string) ([]leaf, error) {
	sch := f.pf.Schema()
	cols := sch.Columns()
	out := make([]leaf, len(cols))
	vectorLeaves, idLeaves := 0, 0
	for i, path := range cols {
		lc, ok := sch.Lookup(path...)
		if !ok {
			return nil, fmt.Errorf("schema: %s: %w: column %s not in schema", f.name, ErrBadFile, strings.Join(path, "."))
		}
		l := leaf{name: strings.Join(path, "."), maxRep: lc.MaxRepetitionLevel, maxDef: lc.MaxDefinitionLevel}
		// Walk the path to find the definition levels of the repeated nodes.
		node, def, reps := parquet.Node(sch), 0, 0
		for _, name := range path {
			var next parquet.Node
			for _, fld := range node.Fields() {
				if fld.Name() == name {
					next = fld
					break
				}
			}
			if next == nil {
				return nil, fmt.Errorf("schema: %s: %w: column %s not in schema", f.name, ErrBadFile, l.name)
			}
			node = next
			if node.Optional() || node.Repeated() {
				def++
			}
			if node.Repeated() {
				reps++
				if reps == 1 {
					l.outerDef = def
				}
				l.elemDef = def
			}
		}
		if lt := lc.Node.Type().LogicalType(); lt != nil {
			switch t := lt.Value.(type) {
			case *format.IntType:
				l.unsigned = !t.IsSigned
			case *format.DecimalType:
				l.logical, l.scale = logicalDecimal, t.Scale
			case *format.DateType:
				l.logical = logicalDate
			case *format.TimestampType:
				if t.Unit.Value != nil {
					l.logical, l.unit = logicalTimestamp, t.Unit.Value.Duration()
				}
			}
		}
		top := path[0]
		switch {
		case top == vector:
			l.role = roleVector
			vectorLeaves++
		case top == "extra" && len(path) == 3 && path[2] == "key" && l.maxRep == 1:
			l.role = roleExtraKey
		case top == "extra" && len(path) == 3 && path[2] == "value" && l.maxRep == 1:
			l.role = roleExtraValue
		case l.maxRep > 0:
			l.role = roleIgnore // an unknown list column: not carried
		case len(path) > 1:
			l.role = roleExtraScalar
		default:
			l.role = map[string]role{
				"song_id": roleSongID, "work_id": roleWorkID, "hop": roleHop,
				"title": roleTitle, "artist": roleArtist, "year": roleYear,
				"instrumental": roleInstrumental, "duration_s": roleDuration,
				"model": roleModel, "reducer": roleReducer, "content_hash": roleContentHash,
			}[top]
			if l.role == roleIgnore {
				l.role = roleExtraScalar
			}
		}
		if l.role == roleSongID {
			idLeaves++
		}
		out[i] = l
	}
	if idLeaves == 0 {
		return nil, fmt.Errorf("schema: %s: %w song_id", f.name, ErrNoColumn)
	}
	switch {
	case vectorLeaves == 0:
		return nil, fmt.Errorf("schema: %s: %w %s", f.name, ErrNoColumn, vector)
	case vectorLeaves > 1:
		return nil, fmt.Errorf("schema: %s: %w: column %s is a group of %d columns, want a list of numbers", f.name, ErrBadFile, vector, vectorLeaves)
	}
	for _, l := range out {
		if l.role == roleVector && (l.maxRep < 1 || l.maxRep > 2) {
			return nil, fmt.Errorf("schema: %s: %w: column %s has %d list levels, want 1 (flat) or 2 (frames of %d)", f.name, ErrBadFile, vector, l.maxRep, PitchClasses)
		}
	}
	return out, nil
}

// rows decodes rows [lo, hi) of row group rg (checked by the caller),
// calling row for every row (stopping when it returns false) and fail once
// for a failure of the whole range (a *RangeError naming the rows lost).
func (f *File) rows(rg int, lo, hi int64, vector string, row func(*record, error) bool, fail func(error)) {
	index := f.RowGroupFirstRow(rg) + lo
	end := index + hi - lo
	leaves, err := f.leaves(vector)
	if err != nil {
		fail(f.lostRows(rg, index, end, err))
		return
	}
	// parquet-go panics on some corrupt pages: a corrupt row group is a
	// failed row range, not a crashed worker. A panic in the caller's row
	// function is re-raised.
	inRow := false
	defer func() {
		if p := recover(); p != nil {
			if inRow {
				panic(p)
			}
			fail(f.lostRows(rg, index, end, p))
		}
	}()
	rows := f.pf.RowGroups()[rg].Rows()
	defer rows.Close()
	if lo > 0 {
		if err := rows.SeekToRow(lo); err != nil {
			fail(f.lostRows(rg, index, end, err))
			return
		}
	}
	buf := make([]parquet.Row, 8)
	for index < end {
		n, err := rows.ReadRows(buf[:min(int64(len(buf)), end-index)])
		for _, pr := range buf[:n] {
			r := record{row: index}
			col, derr := decodeRow(&r, pr, leaves, vector)
			var rowErr error
			if derr != nil {
				rowErr = &RowError{File: f.name, Row: index, SongID: r.songID, Column: col, Err: derr}
			}
			inRow = true
			if !row(&r, rowErr) {
				return
			}
			inRow = false
			index++
		}
		if errors.Is(err, io.EOF) && index < end {
			err = io.ErrUnexpectedEOF
		}
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			fail(f.lostRows(rg, index, end, err))
			return
		}
	}
}

// decodeRow fills r from the values of one row. On error it returns the name
// of the column at fault.
func decodeRow(r *record, pr parquet.Row, leaves []leaf, vector string) (string, error) {
	var firstErr error
	firstCol := ""
	setErr := func(col string, err error) {
		if firstErr == nil {
			firstCol, firstErr = col, err
		}
	}
	nested := false
	for _, v := range pr {
		c := v.Column()
		if c < 0 || c >= len(leaves) {
			continue
		}
		l := &leaves[c]
		if l.role == roleIgnore {
			continue
		}
		if l.role == roleVector {
			if l.maxRep == 2 {
				nested = true
				if v.DefinitionLevel() >= l.outerDef && v.RepetitionLevel() <= 1 {
					r.frames = append(r.frames, 0)
				}
			}
			if v.IsNull() {
				if v.DefinitionLevel() >= l.elemDef {
					setErr(vector, fmt.Errorf("null value at index %d", len(r.vec)))
				}
				continue
			}
			x, err := toFloat32(v, l)
			if err != nil {
				setErr(vector, fmt.Errorf("value %d: %w", len(r.vec), err))
				continue
			}
			if len(r.vec) >= MaxFrames*PitchClasses {
				setErr(vector, fmt.Errorf("more than %d values", MaxFrames*PitchClasses))
				continue
			}
			r.vec = append(r.vec, x)
			if nested {
				r.frames[len(r.frames)-1]++
			}
			continue
		}
		if v.IsNull() {
			continue
		}
		var err error
		switch l.role {
		case roleSongID:
			r.songID, err = toText(v, l, false)
		case roleWorkID:
			r.workID, err = toText(v, l, false)
		case roleModel:
			r.model, err = toText(v, l, false)
		case roleReducer:
			r.reducer, err = toText(v, l, false)
		case roleContentHash:
			r.contentHash, err = toText(v, l, false)
		case roleTitle:
			r.title, err = toText(v, l, false)
		case roleArtist:
			r.artist, err = toText(v, l, false)
		case roleInstrumental:
			r.instrumental, err = toText(v, l, true)
		case roleHop:
			r.hop, err = toInt32(v, l)
		case roleYear:
			r.year, err = toInt32(v, l)
		case roleDuration:
			var d float32
			d, err = toFloat32(v, l)
			r.durationS = d
		case roleExtraKey:
			r.extraKeys = append(r.extraKeys, string(v.ByteArray()))
		case roleExtraValue:
			var s string
			s, err = toText(v, l, true)
			r.extraValues = append(r.extraValues, s)
		case roleExtraScalar:
			var s string
			s, err = toText(v, l, true)
			if err == nil {
				if r.extra == nil {
					r.extra = map[string]string{}
				}
				r.extra[l.name] = s
			}
		}
		if err != nil {
			setErr(l.name, err)
		}
	}
	if len(r.extraKeys) > 0 {
		if r.extra == nil {
			r.extra = make(map[string]string, len(r.extraKeys))
		}
		for i, k := range r.extraKeys {
			val := ""
			if i < len(r.extraValues) {
				val = r.extraValues[i]
			}
			if _, dup := r.extra[k]; !dup { // a column of the same name wins
				r.extra[k] = val
			}
		}
		r.extraKeys, r.extraValues = nil, nil
	}
	if firstErr == nil && nested {
		for i, n := range r.frames {
			if n != PitchClasses {
				setErr(vector, fmt.Errorf("frame %d has %d values, want %d", i, n, PitchClasses))
				break
			}
		}
	}
	r.frames = nil
	return firstCol, firstErr
}

// decimalOf returns the unscaled value of a decimal.
func decimalOf(v parquet.Value) (*big.Int, error) {
	switch v.Kind() {
	case parquet.Int32:
		return big.NewInt(int64(v.Int32())), nil
	case parquet.Int64:
		return big.NewInt(v.Int64()), nil
	case parquet.ByteArray, parquet.FixedLenByteArray:
		b := v.ByteArray()
		if len(b) > 64 {
			return nil, fmt.Errorf("decimal of %d bytes", len(b))
		}
		x := new(big.Int).SetBytes(b)
		if len(b) > 0 && b[0]&0x80 != 0 { // two's complement
			x.Sub(x, new(big.Int).Lsh(big.NewInt(1), uint(8*len(b))))
		}
		return x, nil
	}
	return nil, fmt.Errorf("decimal of type %v", v.Kind())
}

func decimalText(x *big.Int, scale int32) string {
	s := new(big.Int).Abs(x).String()
	if scale > 0 {
		if len(s) <= int(scale) {
			s = strings.Repeat("0", int(scale)-len(s)+1) + s
		}
		s = s[:len(s)-int(scale)] + "." + s[len(s)-int(scale):]
	}
	if x.Sign() < 0 {
		s = "-" + s
	}
	return s
}

func toFloat64(v parquet.Value, l *leaf) (float64, error) {
	if l.logical == logicalDecimal {
		x, err := decimalOf(v)
		if err != nil {
			return 0, err
		}
		f, _ := new(big.Float).SetInt(x).Float64()
		return f / math.Pow10(int(l.scale)), nil
	}
	switch v.Kind() {
	case parquet.Float:
		return float64(v.Float()), nil
	case parquet.Double:
		return v.Double(), nil
	case parquet.Int32:
		if l.unsigned {
			return float64(v.Uint32()), nil
		}
		return float64(v.Int32()), nil
	case parquet.Int64:
		if l.unsigned {
			return float64(v.Uint64()), nil
		}
		return float64(v.Int64()), nil
	case parquet.Boolean:
		if v.Boolean() {
			return 1, nil
		}
		return 0, nil
	}
	return 0, fmt.Errorf("value of type %v, want a number", v.Kind())
}

func toFloat32(v parquet.Value, l *leaf) (float32, error) {
	if v.Kind() == parquet.Float && l.logical == logicalNone {
		return v.Float(), nil // exact: no round trip through float64 needed
	}
	f, err := toFloat64(v, l)
	return float32(f), err
}

func toInt32(v parquet.Value, l *leaf) (int32, error) {
	var x int64
	switch {
	case v.Kind() == parquet.ByteArray && l.logical != logicalDecimal:
		n, err := strconv.ParseInt(strings.TrimSpace(string(v.ByteArray())), 10, 32)
		if err != nil {
			return 0, fmt.Errorf("value %q is not an integer", v.ByteArray())
		}
		x = n
	case l.logical == logicalNone && v.Kind() == parquet.Int64 && l.unsigned:
		u := v.Uint64()
		if u > math.MaxInt32 {
			return 0, fmt.Errorf("value %d out of int32 range", u)
		}
		x = int64(u)
	case l.logical == logicalNone && v.Kind() == parquet.Int64:
		x = v.Int64()
	default:
		f, err := toFloat64(v, l)
		if err != nil {
			return 0, fmt.Errorf("value of type %v, want an integer", v.Kind())
		}
		if f != math.Trunc(f) || math.IsNaN(f) || math.Abs(f) > math.MaxInt32 {
			return 0, fmt.Errorf("value %v is not an int32", f)
		}
		x = int64(f)
	}
	if x < math.MinInt32 || x > math.MaxInt32 {
		return 0, fmt.Errorf("value %d out of int32 range", x)
	}
	return int32(x), nil
}

// toText converts ids and strings; integers (e.g. numeric work ids) become
// decimal text. With lenient, decimals, dates, timestamps, floats and
// booleans are accepted too.
func toText(v parquet.Value, l *leaf, lenient bool) (string, error) {
	switch l.logical {
	case logicalDecimal:
		x, err := decimalOf(v)
		if err != nil {
			return "", err
		}
		return decimalText(x, l.scale), nil
	case logicalDate:
		if v.Kind() == parquet.Int32 {
			return time.Unix(int64(v.Int32())*86400, 0).UTC().Format(time.DateOnly), nil
		}
	case logicalTimestamp:
		if v.Kind() == parquet.Int64 && l.unit > 0 {
			sec, frac := v.Int64()/int64(time.Second/l.unit), v.Int64()%int64(time.Second/l.unit)
			return time.Unix(sec, frac*int64(l.unit)).UTC().Format(time.RFC3339Nano), nil
		}
	}
	switch v.Kind() {
	case parquet.ByteArray, parquet.FixedLenByteArray:
		return string(v.ByteArray()), nil
	case parquet.Int32:
		if l.unsigned {
			return strconv.FormatUint(uint64(v.Uint32()), 10), nil
		}
		return strconv.FormatInt(int64(v.Int32()), 10), nil
	case parquet.Int64:
		if l.unsigned {
			return strconv.FormatUint(v.Uint64(), 10), nil
		}
		return strconv.FormatInt(v.Int64(), 10), nil
	}
	if lenient {
		switch v.Kind() {
		case parquet.Boolean:
			return strconv.FormatBool(v.Boolean()), nil
		case parquet.Float:
			return strconv.FormatFloat(float64(v.Float()), 'g', -1, 32), nil
		case parquet.Double:
			return strconv.FormatFloat(v.Double(), 'g', -1, 64), nil
		}
		return v.String(), nil
	}
	return "", fmt.Errorf("value of type %v, want a string", v.Kind())
}
