package importer

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/vindex/vindex/schema"
	"github.com/vindex/vindex/storage"
)

// ErrExists means the output folder already holds a features dataset.
var ErrExists = errors.New("importer: output folder already holds a dataset")

// DefaultSongsPerFile is the number of songs per Parquet part file.
const DefaultSongsPerFile = 1000

// DatasetOptions configures a DatasetWriter.
type DatasetOptions struct {
	// SongsPerFile is the number of songs per part file; 0 means DefaultSongsPerFile.
	SongsPerFile int
	// RowGroupRows is the number of songs per row group; 0 means the
	// schema package's default for songs.
	RowGroupRows int64
	// Command is recorded in the manifest (e.g. "vindex import datacos").
	Command string
	// Metadata is extra Parquet key-value metadata of every part file.
	Metadata map[string]string
}

// Validate reports whether the options are usable.
func (o DatasetOptions) Validate() error {
	if o.SongsPerFile < 0 {
		return fmt.Errorf("importer: SongsPerFile %d is negative", o.SongsPerFile)
	}
	if o.RowGroupRows < 0 {
		return fmt.Errorf("importer: RowGroupRows %d is negative", o.RowGroupRows)
	}
	return nil
}

// DatasetWriter streams songs into a features dataset folder: part files
// part-NNNNN.parquet of SongsPerFile songs each (several row groups each),
// then, on Close, the manifest that makes the folder complete. It holds at
// most one row group of songs in memory (parquet-go buffers a row group).
type DatasetWriter struct {
	dir   string
	opt   DatasetOptions
	cur   *schema.SongWriter
	name  string
	files []schema.ManifestFile
	rows  int64
}

// NewDatasetWriter creates dir (if needed) and returns a writer into it. A
// folder that already holds a manifest or part files is refused (ErrExists).
func NewDatasetWriter(dir string, opt DatasetOptions) (*DatasetWriter, error) {
	if err := opt.Validate(); err != nil {
		return nil, err
	}
	if opt.SongsPerFile == 0 {
		opt.SongsPerFile = DefaultSongsPerFile
	}
	if err := storage.Check(dir); err != nil {
		return nil, fmt.Errorf("importer: %w", err)
	}
	if storage.IsLocal(dir) {
		if err := os.MkdirAll(dir, storage.DirPerm); err != nil {
			return nil, fmt.Errorf("importer: %w", err)
		}
	}
	ents, err := storage.List(context.Background(), storage.Join(dir, "*"))
	if err != nil {
		return nil, fmt.Errorf("importer: %w", err)
	}
	for _, e := range ents {
		if name := storage.Base(e); name == schema.ManifestName || strings.HasPrefix(name, schema.PartPrefix) {
			return nil, fmt.Errorf("%w: %s holds %s", ErrExists, dir, name)
		}
	}
	return &DatasetWriter{dir: dir, opt: opt}, nil
}

// Write appends one song.
func (w *DatasetWriter) Write(s *schema.Song) error {
	if w.cur == nil {
		w.name = fmt.Sprintf("%s%05d.parquet", schema.PartPrefix, len(w.files))
		sw, err := schema.CreateSongsFile(storage.Join(w.dir, w.name), schema.WriterOptions{RowGroupRows: w.opt.RowGroupRows, Metadata: w.opt.Metadata})
		if err != nil {
			return fmt.Errorf("importer: %w", err)
		}
		w.cur = sw
	}
	if err := w.cur.Write(*s); err != nil {
		return fmt.Errorf("importer: %s: %w", w.name, err)
	}
	w.rows++
	if w.cur.Rows() >= int64(w.opt.SongsPerFile) {
		return w.closeFile()
	}
	return nil
}

func (w *DatasetWriter) closeFile() error {
	if w.cur == nil {
		return nil
	}
	rows := w.cur.Rows()
	err := w.cur.Close()
	size, sum := w.cur.Written()
	w.cur = nil
	if err != nil {
		return fmt.Errorf("importer: %w", err)
	}
	w.files = append(w.files, schema.ManifestFile{Name: w.name, Rows: rows, Bytes: size, Schema: schema.SongSchemaVersion, SHA256: sum})
	return nil
}

// Rows returns the number of songs written so far.
func (w *DatasetWriter) Rows() int64 { return w.rows }

// Close completes the last part file and writes the manifest.
func (w *DatasetWriter) Close() (schema.Manifest, error) {
	if err := w.closeFile(); err != nil {
		return schema.Manifest{}, err
	}
	m := schema.Manifest{
		Version: schema.ManifestVersion,
		Schema:  schema.SongSchemaVersion,
		Command: w.opt.Command,
		Created: time.Now().UTC().Format(time.RFC3339),
		Rows:    w.rows,
		Files:   w.files,
	}
	if m.Files == nil {
		m.Files = []schema.ManifestFile{}
	}
	if err := schema.WriteManifest(w.dir, m); err != nil {
		return m, fmt.Errorf("importer: %w", err)
	}
	return m, nil
}

// Abort discards the part file being written; completed part files stay, but
// without a manifest the folder reads as incomplete.
func (w *DatasetWriter) Abort() {
	if w.cur != nil {
		w.cur.Abort()
		w.cur = nil
	}
}
