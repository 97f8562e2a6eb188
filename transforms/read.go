package transforms

import (
	"context"
	"errors"
	"fmt"
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
	beam.RegisterType(reflect.TypeOf((*rowGroup)(nil)).Elem())
	beam.RegisterType(reflect.TypeOf((*listFn)(nil)).Elem())
	beam.RegisterType(reflect.TypeOf((*footerFn)(nil)).Elem())
	beam.RegisterType(reflect.TypeOf((*readSongsFn)(nil)).Elem())
	beam.RegisterType(reflect.TypeOf((*readEmbeddingsFn)(nil)).Elem())
	register.Emitter1[datasetFile]()
	register.Emitter1[rowGroup]()
	register.Emitter1[schema.Song]()
	register.Emitter1[schema.Embedding]()
	register.Emitter1[schema.Reject]()
}

// Counters of the readers (besides the progress counters SongsRead and
// SongsRejected).
var (
	embeddingsRead = NewProgressCounter(EmbeddingsRead)
	rowGroupsRead  = beam.NewCounter(CounterNamespace, "read.row_groups")
)

// datasetFile is one file of a dataset: schema.DatasetFile (Rows, Bytes -1
// and SHA256 "" where no manifest lists it).
type datasetFile schema.DatasetFile

// rowGroup is the unit of parallel reading: one row group of one file.
type rowGroup struct {
	File     string
	RowGroup int
	Rows     int64
}

// ReadSongs reads the feature files a pattern names (a file, a folder, or a
// glob, local or any scheme of Beam's filesystem layer such as gs://; see
// schema.ListDataset for folders and manifests) and returns a
// PCollection<schema.Song> of the valid songs and a PCollection<schema.Reject>
// of the rows that could not be decoded (stage "read") or failed
// schema.ValidateSong (stage "validate"). Song.File names each song's file.
//
// Work is split by row group: the pattern is listed, footers are read in
// parallel, and each row group becomes one element after a Reshuffle, so a
// catalog of many large files spreads over all workers and a worker holds at
// most a batch of one row group's songs at a time. The songs come out of a
// plain ParDo: a per-song ParDo applied to them (transforms.Embed) fuses with
// the reader, so features never cross a stage boundary.
//
// A pattern that names no file fails the pipeline; a file that cannot be
// opened becomes one reject (SongID "") and the others are read.
func ReadSongs(s beam.Scope, pattern string) (songs, rejects beam.PCollection) {
	s = s.Scope("transforms.ReadSongs")
	groups, fileRejects := rowGroups(s, pattern)
	songs, rowRejects := beam.ParDo2(s, &readSongsFn{}, groups)
	return songs, beam.Flatten(s, fileRejects, rowRejects)
}

// ReadEmbeddings reads the embedding files a pattern names, like ReadSongs,
// and returns a PCollection<schema.Embedding> and a
// PCollection<schema.Reject> of the rows that could not be decoded or failed
// schema.ValidateEmbedding.
func ReadEmbeddings(s beam.Scope, pattern string) (embs, rejects beam.PCollection) {
	s = s.Scope("transforms.ReadEmbeddings")
	groups, fileRejects := rowGroups(s, pattern)
	embs, rowRejects := beam.ParDo2(s, &readEmbeddingsFn{}, groups)
	return embs, beam.Flatten(s, fileRejects, rowRejects)
}

// rowGroups expands a pattern into a PCollection<rowGroup>, reshuffled.
func rowGroups(s beam.Scope, pattern string) (groups, rejects beam.PCollection) {
	files := beam.ParDo(s, &listFn{}, beam.Create(s, pattern))
	files = beam.Reshuffle(s, files)
	groups, rejects = beam.ParDo2(s, &footerFn{}, files)
	return beam.Reshuffle(s, groups), rejects
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

// footerFn reads a file's footer and emits its non-empty row groups.
type footerFn struct {
	o *storage.Opener
}

func (f *footerFn) Setup()    { f.o = &storage.Opener{} }
func (f *footerFn) Teardown() { f.o.Close() }

func (f *footerFn) ProcessElement(ctx context.Context, df datasetFile, emit func(rowGroup), reject func(schema.Reject)) error {
	if err := verifyListed(ctx, f.o, df); err != nil {
		return err // a listed file missing or changed fails the run (verify.go)
	}
	pf, closer, err := openDatasetFile(ctx, f.o, df.Path)
	if err != nil {
		rejectFile(ctx, reject, df.Path, err)
		return nil
	}
	defer closer.Close()
	if df.Rows >= 0 && pf.NumRows() != df.Rows {
		return fmt.Errorf("transforms: %s: %w: %d rows, manifest says %d", df.Path, schema.ErrChanged, pf.NumRows(), df.Rows)
	}
	for i := range pf.NumRowGroups() {
		if n := pf.RowGroupRows(i); n > 0 {
			emit(rowGroup{File: df.Path, RowGroup: i, Rows: n})
		}
	}
	return nil
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

// rejectFile records a file (or row group) that could not be read at all.
func rejectFile(ctx context.Context, reject func(schema.Reject), path string, err error) {
	CountRejected(ctx, 1)
	reject(schema.Reject{File: path, Stage: schema.StageRead, Reason: err.Error()})
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

// readSongsFn reads the songs of one row group.
type readSongsFn struct {
	o *storage.Opener
}

func (f *readSongsFn) Setup()    { f.o = &storage.Opener{} }
func (f *readSongsFn) Teardown() { f.o.Close() }

func (f *readSongsFn) ProcessElement(ctx context.Context, rg rowGroup, emit func(schema.Song), reject func(schema.Reject)) error {
	pf, closer, err := openDatasetFile(ctx, f.o, rg.File)
	if err != nil {
		rejectFile(ctx, reject, rg.File, fmt.Errorf("row group %d (%d rows): %w", rg.RowGroup, rg.Rows, err))
		return nil
	}
	defer closer.Close()
	rowGroupsRead.Inc(ctx, 1)
	for song, err := range pf.Songs(rg.RowGroup) {
		var re *schema.RowError
		switch {
		case errors.As(err, &re):
			CountRead(ctx, 1) // read, though not decodable: a song of the catalog all the same
			rejectRow(ctx, reject, song.SongID, rg.File, schema.StageRead, err)
			continue
		case err != nil:
			rejectFile(ctx, reject, rg.File, fmt.Errorf("row group %d (%d rows): %w", rg.RowGroup, rg.Rows, err))
			continue
		}
		CountRead(ctx, 1)
		if verr := schema.ValidateSong(&song); verr != nil {
			rejectRow(ctx, reject, song.SongID, rg.File, schema.StageValidate, verr)
			continue
		}
		emit(song)
	}
	return nil
}

// readEmbeddingsFn reads the embeddings of one row group.
type readEmbeddingsFn struct {
	o *storage.Opener
}

func (f *readEmbeddingsFn) Setup()    { f.o = &storage.Opener{} }
func (f *readEmbeddingsFn) Teardown() { f.o.Close() }

func (f *readEmbeddingsFn) ProcessElement(ctx context.Context, rg rowGroup, emit func(schema.Embedding), reject func(schema.Reject)) error {
	pf, closer, err := openDatasetFile(ctx, f.o, rg.File)
	if err != nil {
		rejectFile(ctx, reject, rg.File, fmt.Errorf("row group %d (%d rows): %w", rg.RowGroup, rg.Rows, err))
		return nil
	}
	defer closer.Close()
	rowGroupsRead.Inc(ctx, 1)
	for e, err := range pf.Embeddings(rg.RowGroup) {
		var re *schema.RowError
		switch {
		case errors.As(err, &re):
			rejectRow(ctx, reject, e.SongID, rg.File, schema.StageRead, err)
			continue
		case err != nil:
			rejectFile(ctx, reject, rg.File, fmt.Errorf("row group %d (%d rows): %w", rg.RowGroup, rg.Rows, err))
			continue
		}
		embeddingsRead.Inc(ctx, 1)
		if verr := schema.ValidateEmbedding(&e); verr != nil {
			rejectRow(ctx, reject, e.SongID, rg.File, schema.StageValidate, verr)
			continue
		}
		emit(e)
	}
	return nil
}
