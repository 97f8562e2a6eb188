package schema

import (
	"context"
	"fmt"
	"io"
	"reflect"

	"github.com/parquet-go/parquet-go"

	"github.com/vindex/vindex/storage"
)

// WriterOptions configures a RowWriter.
type WriterOptions struct {
	// RowGroupRows is the number of rows per row group; 0 means 256 for
	// songs (about 25 MB of features for 3.5-minute songs at hop 4096) and
	// 16384 for other rows. Readers hold at most a batch of rows at a time, but
	// row groups are also the unit of parallel reading: smaller groups spread
	// a catalog over more workers.
	RowGroupRows int64
	// Metadata is extra Parquet key-value metadata; SchemaKey is always set
	// to the row type's schema version.
	Metadata map[string]string
}

// Validate reports whether the options are usable.
func (o WriterOptions) Validate() error {
	if o.RowGroupRows < 0 {
		return fmt.Errorf("schema: RowGroupRows %d is negative", o.RowGroupRows)
	}
	return nil
}

// RowWriter writes rows of one Go struct type to a Parquet file, recording
// the schema version in the key-value metadata.
type RowWriter struct {
	w    *parquet.Writer
	rows int64
	// set by CreateFile: the file being published, and its hash.
	f  *storage.Writer
	hw *HashWriter
}

// SchemaVersionOf returns the schema version of the row type of v (a struct
// or pointer to one): the constants of this package for Song, Embedding and
// Reject, and "go:<pkgpath>.<Name>" for other types.
func SchemaVersionOf(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t {
	case reflect.TypeFor[Song]():
		return SongSchemaVersion
	case reflect.TypeFor[Embedding]():
		return EmbeddingSchemaVersion
	case reflect.TypeFor[Reject]():
		return RejectSchemaVersion
	}
	return "go:" + t.PkgPath() + "." + t.Name()
}

// NewRowWriter returns a writer of rows of struct type rowType to w.
// version is the schema version ("" for SchemaVersionOf(rowType)).
func NewRowWriter(w io.Writer, rowType reflect.Type, version string, opt WriterOptions) (*RowWriter, error) {
	if err := opt.Validate(); err != nil {
		return nil, err
	}
	for rowType.Kind() == reflect.Pointer {
		rowType = rowType.Elem()
	}
	if rowType.Kind() != reflect.Struct {
		return nil, fmt.Errorf("schema: row type %v is not a struct", rowType)
	}
	if version == "" {
		version = SchemaVersionOf(rowType)
	}
	n := opt.RowGroupRows
	if n == 0 {
		n = 16384
		if rowType == reflect.TypeFor[Song]() {
			n = 256
		}
	}
	opts := []parquet.WriterOption{
		parquet.SchemaOf(reflect.New(rowType).Interface()),
		parquet.MaxRowsPerRowGroup(n),
		parquet.Compression(&parquet.Snappy),
		parquet.KeyValueMetadata(SchemaKey, version),
		parquet.CreatedBy("vindex", "", ""),
	}
	for k, v := range opt.Metadata {
		if k != SchemaKey {
			opts = append(opts, parquet.KeyValueMetadata(k, v))
		}
	}
	return &RowWriter{w: parquet.NewWriter(w, opts...)}, nil
}

// Write writes one row (a value or pointer of the writer's row type).
func (w *RowWriter) Write(row any) error {
	if err := w.w.Write(row); err != nil {
		return fmt.Errorf("schema: writing row %d: %w", w.rows, err)
	}
	w.rows++
	return nil
}

// Rows returns the number of rows written so far.
func (w *RowWriter) Rows() int64 { return w.rows }

// Close flushes the footer. For a writer from CreateFile it also publishes
// the file (storage.Writer.Commit: synced, renamed into place).
func (w *RowWriter) Close() error {
	err := w.w.Close()
	if w.f == nil {
		if err != nil {
			return fmt.Errorf("schema: closing parquet writer: %w", err)
		}
		return nil
	}
	f := w.f
	w.f = nil
	if err != nil {
		f.Abort()
		return fmt.Errorf("schema: writing %s: %w", f.Name(), err)
	}
	if err := f.Commit(); err != nil {
		return fmt.Errorf("schema: %w", err)
	}
	return nil
}

// Abort discards a file from CreateFile without creating the final name.
func (w *RowWriter) Abort() {
	if w.f != nil {
		w.f.Abort()
		w.f = nil
	}
}

// CreateFile returns a RowWriter to the file at uri (any scheme storage
// knows): path only ever holds a complete file (storage.Create).
func CreateFile(uri string, rowType reflect.Type, version string, opt WriterOptions) (*RowWriter, error) {
	f, err := storage.Create(context.Background(), uri)
	if err != nil {
		return nil, fmt.Errorf("schema: %w", err)
	}
	hw := NewHashWriter(f)
	w, err := NewRowWriter(hw, rowType, version, opt)
	if err != nil {
		f.Abort()
		return nil, err
	}
	w.f, w.hw = f, hw
	return w, nil
}

// Written returns the size and hex SHA-256 of the bytes written to a file
// from CreateFile (what its manifest entry records); call it after Close.
// For other writers it returns -1, "".
func (w *RowWriter) Written() (bytes int64, sha256 string) {
	if w.hw == nil {
		return -1, ""
	}
	return w.hw.Size(), w.hw.SHA256()
}

// TempPrefix starts the names of files being written; readers skip them.
const TempPrefix = storage.TempPrefix

// SongWriter streams songs to a Parquet file, RowGroupRows songs a row group.
type SongWriter struct{ rw *RowWriter }

// NewSongWriter returns a writer of songs to w.
func NewSongWriter(w io.Writer, opt WriterOptions) (*SongWriter, error) {
	rw, err := NewRowWriter(w, reflect.TypeFor[Song](), SongSchemaVersion, opt)
	if err != nil {
		return nil, err
	}
	return &SongWriter{rw}, nil
}

// CreateSongsFile returns a writer of songs to the file at path, which
// appears (complete) only when Close succeeds.
func CreateSongsFile(path string, opt WriterOptions) (*SongWriter, error) {
	rw, err := CreateFile(path, reflect.TypeFor[Song](), SongSchemaVersion, opt)
	if err != nil {
		return nil, err
	}
	return &SongWriter{rw}, nil
}

// Write writes songs.
func (w *SongWriter) Write(songs ...Song) error {
	for i := range songs {
		if err := w.rw.Write(&songs[i]); err != nil {
			return fmt.Errorf("schema: song %q: %w", songs[i].SongID, err)
		}
	}
	return nil
}

// Rows returns the number of songs written so far.
func (w *SongWriter) Rows() int64 { return w.rw.Rows() }

// Close completes the file.
func (w *SongWriter) Close() error { return w.rw.Close() }

// Written returns the size and hex SHA-256 of a file from CreateSongsFile,
// after Close (see RowWriter.Written).
func (w *SongWriter) Written() (bytes int64, sha256 string) { return w.rw.Written() }

// Abort discards a file from CreateSongsFile.
func (w *SongWriter) Abort() { w.rw.Abort() }

// WriteSongsFile writes songs to the local file path atomically.
func WriteSongsFile(path string, songs []Song, opt WriterOptions) error {
	w, err := CreateSongsFile(path, opt)
	if err != nil {
		return err
	}
	if err := w.Write(songs...); err != nil {
		w.Abort()
		return err
	}
	return w.Close()
}

// WriteEmbeddingsFile writes embeddings to the local file path atomically.
func WriteEmbeddingsFile(path string, embs []Embedding, opt WriterOptions) error {
	return writeFile(path, embs, EmbeddingSchemaVersion, opt)
}

// WriteRejectsFile writes rejects to the local file path atomically.
func WriteRejectsFile(path string, rejects []Reject, opt WriterOptions) error {
	return writeFile(path, rejects, RejectSchemaVersion, opt)
}

func writeFile[T any](path string, rows []T, version string, opt WriterOptions) error {
	_, err := writeFileRecord(path, rows, version, opt)
	return err
}

// writeFileRecord writes rows to path and returns the file's manifest record.
func writeFileRecord[T any](path string, rows []T, version string, opt WriterOptions) (ManifestFile, error) {
	w, err := CreateFile(path, reflect.TypeFor[T](), version, opt)
	if err != nil {
		return ManifestFile{}, err
	}
	for i := range rows {
		if err := w.Write(&rows[i]); err != nil {
			w.Abort()
			return ManifestFile{}, fmt.Errorf("schema: %s: %w", path, err)
		}
	}
	if err := w.Close(); err != nil {
		return ManifestFile{}, err
	}
	n, sum := w.Written() // after Close: the footer is part of the file
	return ManifestFile{Name: storage.Base(path), Rows: int64(len(rows)), Bytes: n, SHA256: sum, Schema: version}, nil
}

// WriteEmbeddingsDataset writes embs as a complete one-file dataset into
// dir: part-00000.parquet, then the manifest recording its rows, size and
// SHA-256. For small sets (tools, fixtures); pipelines use transforms.
func WriteEmbeddingsDataset(dir string, embs []Embedding, opt WriterOptions) error {
	f, err := writeFileRecord(storage.Join(dir, "part-00000.parquet"), embs, EmbeddingSchemaVersion, opt)
	if err != nil {
		return err
	}
	return WriteManifest(dir, Manifest{Version: ManifestVersion, Schema: EmbeddingSchemaVersion, Rows: f.Rows,
		Files: []ManifestFile{f}})
}
