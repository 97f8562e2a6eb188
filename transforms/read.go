package transforms

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"iter"
	"reflect"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/vindex/vindex/schema"
	"github.com/vindex/vindex/storage"
)

func init() {
	beam.RegisterType(reflect.TypeOf((*schema.Song)(nil)).Elem())
	beam.RegisterType(reflect.TypeOf((*schema.Embedding)(nil)).Elem())
	beam.RegisterType(reflect.TypeOf((*schema.Reject)(nil)).Elem())
	beam.RegisterType(reflect.TypeOf((*datasetFile)(nil)).Elem())
	beam.RegisterType(reflect.TypeOf((*rowRange)(nil)).Elem())
	beam.RegisterType(reflect.TypeOf((*listFn)(nil)).Elem())
	beam.RegisterType(reflect.TypeOf((*footerFn)(nil)).Elem())
	beam.RegisterType(reflect.TypeOf((*readSongsFn)(nil)).Elem())
	beam.RegisterType(reflect.TypeOf((*readEmbeddingsFn)(nil)).Elem())
	register.Emitter1[datasetFile]()
	register.Emitter1[rowRange]()
	register.Function1x2(keyRange)
	register.Function3x0(ungroupRanges)
	register.Iter1[rowRange]()
	register.Emitter1[schema.Song]()
	register.Emitter1[schema.Embedding]()
	register.Emitter1[schema.Reject]()
}

// Counters of the readers (besides the progress counters SongsRead and
// SongsRejected).
var (
	embeddingsRead = NewProgressCounter(EmbeddingsRead)
	rangesRead     = beam.NewCounter(CounterNamespace, "read.ranges")
	// readBundles counts the bundles that read at least one range: a file
	// of one row group read in more than one bundle shows here.
	readBundles = beam.NewCounter(CounterNamespace, "read.bundles")
)

// ReadOptions bound the unit of parallel reading, a range of rows of one
// row group: at most MaxRows rows and, as the footer's uncompressed size
// tells, about MaxBytes bytes (so that long songs make shorter ranges). A
// range holds at least one row.
type ReadOptions struct {
	MaxRows  int64 // 0: DefaultRangeSongs for songs, 4096 for embeddings
	MaxBytes int64 // 0: 16 MiB for songs (≈ 140 songs of 218 s), 16 MiB for embeddings
}

func (o ReadOptions) orDefault(rows, bytes int64) ReadOptions {
	if o.MaxRows <= 0 {
		o.MaxRows = rows
	}
	if o.MaxBytes <= 0 {
		o.MaxBytes = bytes
	}
	return o
}

// DefaultRangeSongs is the most songs in a range when ReadOptions.MaxRows
// is 0. Each range pays a fixed cost to start reading (a row-group reader,
// and decoding the page its first row falls in: measured 18–27 ms on 218-s
// songs of vindex's and DuckDB's layouts, i.e. 1.1–1.7 ms a song in ranges of
// 16 against 0.3–0.4 in ranges of 64; BenchmarkReadRanges). 64 songs are still seconds of work, and
// Embed's networks are shared by every bundle of a process (netpool.go), so
// larger ranges do not idle a core at the end of a run.
const DefaultRangeSongs = 64

// datasetFile is one file of a dataset: schema.DatasetFile (Rows, Bytes -1
// and SHA256 "" where no manifest lists it).
type datasetFile schema.DatasetFile

// rowRange is the unit of parallel reading: rows [Lo, Hi) of one row group
// of one file (offsets inside the group); First is the index in the file of
// the group's first row (for messages).
type rowRange struct {
	File     string
	RowGroup int
	Lo, Hi   int64
	First    int64
}

// String names the range's rows as indices in the file.
func (r rowRange) String() string {
	return fmt.Sprintf("%s row group %d rows %d to %d (%d songs)", r.File, r.RowGroup, r.First+r.Lo, r.First+r.Hi-1, r.Hi-r.Lo)
}

// ReadSongs reads the feature files a pattern names (a file, a folder, or a
// glob, local or any scheme of Beam's filesystem layer such as gs://; see
// schema.ListDataset for folders and manifests) and returns a
// PCollection<schema.Song> of the valid songs and a PCollection<schema.Reject>
// of the rows that could not be decoded (stage "read") or failed
// schema.ValidateSong (stage "validate"). Song.File and Song.Row name each
// song's file and its row in it.
//
// Work is split by songs, whatever the writer's row-group size: the pattern
// is listed, footers are read in parallel, each row group is cut into ranges
// of at most 64 songs (fewer for long songs; see ReadOptions), and each range
// becomes one element, redistributed over the workers by key. A one-row-group file written by
// DuckDB or pyarrow thus spreads over every worker (and over prism's
// bundles), and a worker holds one range's songs at a time. The songs come
// out of a plain ParDo: a per-song ParDo applied to them (transforms.Embed)
// fuses with the reader, so features never cross a stage boundary.
//
// A pattern that names no file fails the pipeline. Lost songs are counted
// honestly: a file that cannot be opened becomes one reject (SongID "")
// counting the songs its manifest lists (or saying that their number is
// unknown), and a range that cannot be decoded one reject naming the file and
// its rows and counting every song it lost.
func ReadSongs(s beam.Scope, pattern string) (songs, rejects beam.PCollection) {
	return ReadSongsWith(s, pattern, ReadOptions{})
}

// ReadSongsWith is ReadSongs with explicit range bounds.
func ReadSongsWith(s beam.Scope, pattern string, opt ReadOptions) (songs, rejects beam.PCollection) {
	s = s.Scope("transforms.ReadSongs")
	opt = opt.orDefault(DefaultRangeSongs, 16<<20)
	ranges, fileRejects := rowRanges(s, beam.Create(s, pattern), opt)
	songs, rowRejects := beam.ParDo2(s, &readSongsFn{}, ranges)
	return songs, beam.Flatten(s, fileRejects, rowRejects)
}

// ReadEmbeddings reads the embedding files a pattern names, like ReadSongs
// (ranges of at most 4096 rows), and returns a PCollection<schema.Embedding>
// and a PCollection<schema.Reject> of the rows that could not be decoded or
// failed schema.ValidateEmbedding.
func ReadEmbeddings(s beam.Scope, pattern string) (embs, rejects beam.PCollection) {
	s = s.Scope("transforms.ReadEmbeddings")
	return readEmbeddings(s, beam.Create(s, pattern))
}

// ReadEmbeddingsFrom is ReadEmbeddings of the patterns of a
// PCollection<string>, read as they arrive: given the done output of
// WriteUniqueEmbeddings, it reads the dataset back once it is published.
func ReadEmbeddingsFrom(s beam.Scope, patterns beam.PCollection) (embs, rejects beam.PCollection) {
	s = s.Scope("transforms.ReadEmbeddings")
	return readEmbeddings(s, patterns)
}

func readEmbeddings(s beam.Scope, patterns beam.PCollection) (embs, rejects beam.PCollection) {
	ranges, fileRejects := rowRanges(s, patterns, ReadOptions{}.orDefault(4096, 16<<20))
	embs, rowRejects := beam.ParDo2(s, &readEmbeddingsFn{}, ranges)
	return embs, beam.Flatten(s, fileRejects, rowRejects)
}

// rowRanges expands patterns (PCollection<string>) into a PCollection<rowRange>, redistributed.
//
// The ranges are spread by a GroupByKey on a hash of each range (then
// ungrouped), not by beam.Reshuffle: on Flink (job server 2.62, batch) a
// Reshuffle of a few elements left every range of a one-row-group file on
// one task slot (measured: 6 ranges in 1 bundle of 2), whereas distinct keys
// are hash-partitioned over the slots. On prism both behave alike.
func rowRanges(s beam.Scope, patterns beam.PCollection, opt ReadOptions) (ranges, rejects beam.PCollection) {
	files := beam.ParDo(s, &listFn{}, patterns)
	files = beam.Reshuffle(s, files)
	ranges, rejects = beam.ParDo2(s, &footerFn{MaxRows: opt.MaxRows, MaxBytes: opt.MaxBytes}, files)
	grouped := beam.GroupByKey(s, beam.ParDo(s, keyRange, ranges))
	return beam.ParDo(s, ungroupRanges, grouped), rejects
}

// keyRange keys a range by a hash of its place in the catalog (the file's
// base name, the row group, the first row), so that ranges spread over the
// runner's key groups, and spread the same way on every run: the folder is
// left out, so a catalog read from another place is cut and spread alike.
func keyRange(r rowRange) (uint32, rowRange) {
	h := fnv.New32a()
	fmt.Fprintf(h, "%s\x00%d\x00%d", storage.Base(r.File), r.RowGroup, r.Lo)
	return h.Sum32(), r
}

func ungroupRanges(_ uint32, rs func(*rowRange) bool, emit func(rowRange)) {
	var r rowRange
	for rs(&r) {
		emit(r)
	}
}

// listFn lists the files of a dataset pattern.
type listFn struct{}

func (f *listFn) ProcessElement(ctx context.Context, pattern string, emit func(datasetFile)) error {
	files, err := schema.ListDatasetFS(schema.StorageFS{Ctx: ctx}, pattern)
	if err != nil {
		return fmt.Errorf("transforms: %w", err)
	}
	for _, df := range files {
		emit(datasetFile(df))
	}
	return nil
}

// footerFn reads a file's footer and cuts its row groups into ranges.
type footerFn struct {
	MaxRows, MaxBytes int64

	o *storage.Opener
}

func (f *footerFn) Setup()    { f.o = &storage.Opener{} }
func (f *footerFn) Teardown() { f.o.Close() }

func (f *footerFn) ProcessElement(ctx context.Context, df datasetFile, emit func(rowRange), reject func(schema.Reject)) error {
	if err := verifyListed(ctx, f.o, df); err != nil {
		return err // a listed file missing or changed fails the run (verify.go)
	}
	pf, closer, err := openDatasetFile(ctx, f.o, df.Path)
	if err != nil {
		rejectFile(ctx, reject, df.Path, df.Rows, err)
		return nil
	}
	defer closer.Close()
	if df.Rows >= 0 && pf.NumRows() != df.Rows {
		return fmt.Errorf("transforms: %s: %w: %d rows, manifest says %d", df.Path, schema.ErrChanged, pf.NumRows(), df.Rows)
	}
	first := int64(0)
	for g := range pf.NumRowGroups() {
		n := pf.RowGroupRows(g)
		for _, r := range cutRowGroup(n, pf.RowGroupBytes(g), f.MaxRows, f.MaxBytes) {
			emit(rowRange{File: df.Path, RowGroup: g, Lo: r[0], Hi: r[1], First: first})
		}
		first += n
	}
	return nil
}

// cutRowGroup cuts a row group of n rows and bytes uncompressed bytes into
// near-equal ranges of at most maxRows rows and about maxBytes bytes.
func cutRowGroup(n, bytes, maxRows, maxBytes int64) [][2]int64 {
	if n <= 0 {
		return nil
	}
	per := maxRows
	if bytes > 0 && maxBytes > 0 {
		per = min(per, max(1, maxBytes*n/bytes))
	}
	parts := (n + per - 1) / per
	out := make([][2]int64, 0, parts)
	for i := range parts {
		out = append(out, [2]int64{i * n / parts, (i + 1) * n / parts})
	}
	return out
}

func openDatasetFile(ctx context.Context, o *storage.Opener, path string) (*schema.File, interface{ Close() error }, error) {
	r, err := o.Open(ctx, path)
	if err != nil {
		return nil, nil, fmt.Errorf("transforms: opening %s: %w", path, err)
	}
	pf, err := schema.OpenFile(path, r, r.Size())
	if err != nil {
		r.Close()
		return nil, nil, err
	}
	return pf, r, nil
}

// rejectFile records a file that could not be read at all: rows is the
// number of songs its manifest lists, or -1 when unknown (then the reason
// says so and the reject counts as one).
func rejectFile(ctx context.Context, reject func(schema.Reject), path string, rows int64, err error) {
	what := fmt.Sprintf("%s: all %d songs (rows 0 to %d) lost", path, rows, rows-1)
	switch {
	case rows < 0:
		what, rows = path+": number of songs lost unknown (no manifest; counted as 1)", 1
	case rows == 0:
		what, rows = path+": no songs lost (empty file)", 0
	}
	CountRejected(ctx, rows)
	reject(schema.Reject{File: path, Stage: schema.StageRead, Reason: what + ": " + err.Error()})
}

// rejectLost records rows [from, to) of a file (indices in the file) that
// could not be read: one reject, counting every song lost.
func rejectLost(ctx context.Context, reject func(schema.Reject), path string, from, to int64, err error) {
	CountRejected(ctx, to-from)
	reason := err.Error()
	var re *schema.RangeError
	if !errors.As(err, &re) {
		reason = fmt.Sprintf("%s: rows %d to %d (%d songs) lost: %v", path, from, to-1, to-from, err)
	}
	reject(schema.Reject{File: path, Stage: schema.StageRead, Reason: reason})
}

// rejectRow records one row: stage read for a *schema.RowError, else stage.
func rejectRow(ctx context.Context, reject func(schema.Reject), songID, path, stage string, err error) {
	CountRejected(ctx, 1)
	var re *schema.RowError
	if errors.As(err, &re) {
		stage = schema.StageRead
		if songID == "" {
			songID = re.SongID
		}
	}
	reject(schema.Reject{SongID: songID, File: path, Stage: stage, Reason: err.Error()})
}

// rangeReader is what readSongsFn and readEmbeddingsFn share: how to read
// one kind of row from a range, and what to check and count.
type rangeReader[T any] struct {
	rows     func(f *schema.File, rg int, lo, hi int64) iter.Seq2[T, error]
	id       func(*T) string
	validate func(*T) error
	read     func(ctx context.Context, n int64) // counts rows read
}

// readRange reads the rows of r, emitting the valid ones and rejecting the
// others; a failure of the range rejects (and counts) every row it lost.
func readRange[T any](ctx context.Context, o *storage.Opener, how rangeReader[T], r rowRange, emit func(T), reject func(schema.Reject)) {
	from, to := r.First+r.Lo, r.First+r.Hi
	pf, closer, err := openDatasetFile(ctx, o, r.File)
	if err != nil {
		rejectLost(ctx, reject, r.File, from, to, err)
		return
	}
	defer closer.Close()
	rangesRead.Inc(ctx, 1)
	next := from // the first row not yet accounted for
	for row, err := range how.rows(pf, r.RowGroup, r.Lo, r.Hi) {
		var re *schema.RowError
		var ge *schema.RangeError
		switch {
		case errors.As(err, &re):
			how.read(ctx, 1) // read, though not decodable: a row of the dataset all the same
			rejectRow(ctx, reject, how.id(&row), r.File, schema.StageRead, err)
			next = re.Row + 1
			continue
		case errors.As(err, &ge):
			how.read(ctx, ge.To-ge.From) // lost rows count as read (and rejected), so progress reaches the total
			rejectLost(ctx, reject, r.File, ge.From, ge.To, err)
			next = ge.To
			continue
		case err != nil:
			how.read(ctx, to-next)
			rejectLost(ctx, reject, r.File, next, to, err)
			next = to
			continue
		}
		next++
		how.read(ctx, 1)
		if verr := how.validate(&row); verr != nil {
			rejectRow(ctx, reject, how.id(&row), r.File, schema.StageValidate, verr)
			continue
		}
		emit(row)
	}
	if next < to { // the file held fewer rows than its footer declared
		how.read(ctx, to-next)
		rejectLost(ctx, reject, r.File, next, to, fmt.Errorf("%w: rows missing", schema.ErrBadFile))
	}
}

var (
	songRows = rangeReader[schema.Song]{
		rows:     (*schema.File).SongRange,
		id:       func(s *schema.Song) string { return s.SongID },
		validate: schema.ValidateSong,
		read:     CountRead,
	}
	embeddingRows = rangeReader[schema.Embedding]{
		rows:     (*schema.File).EmbeddingRange,
		id:       func(e *schema.Embedding) string { return e.SongID },
		validate: schema.ValidateEmbedding,
		read:     embeddingsRead.Inc,
	}
)

// rangeFn is the state of a reading DoFn: an opener and whether the bundle
// has been counted.
type rangeFn struct {
	o       *storage.Opener
	counted bool
}

func (f *rangeFn) Setup()       { f.o = &storage.Opener{} }
func (f *rangeFn) Teardown()    { f.o.Close() }
func (f *rangeFn) StartBundle() { f.counted = false }

func (f *rangeFn) countBundle(ctx context.Context) {
	if !f.counted {
		readBundles.Inc(ctx, 1)
		f.counted = true
	}
}

// readSongsFn reads the songs of one row range.
type readSongsFn struct{ rangeFn }

func (f *readSongsFn) StartBundle(emit func(schema.Song), reject func(schema.Reject)) {
	f.rangeFn.StartBundle()
}

func (f *readSongsFn) ProcessElement(ctx context.Context, r rowRange, emit func(schema.Song), reject func(schema.Reject)) {
	f.countBundle(ctx)
	readRange(ctx, f.o, songRows, r, emit, reject)
}

// readEmbeddingsFn reads the embeddings of one row range.
type readEmbeddingsFn struct{ rangeFn }

func (f *readEmbeddingsFn) StartBundle(emit func(schema.Embedding), reject func(schema.Reject)) {
	f.rangeFn.StartBundle()
}

func (f *readEmbeddingsFn) ProcessElement(ctx context.Context, r rowRange, emit func(schema.Embedding), reject func(schema.Reject)) {
	f.countBundle(ctx)
	readRange(ctx, f.o, embeddingRows, r, emit, reject)
}
