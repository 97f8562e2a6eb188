package schema

import (
	"context"
	"fmt"

	"github.com/parquet-go/parquet-go"
	"github.com/vindex/vindex/storage"
)

// OpenedFile is a File opened by URI; Close closes it.
type OpenedFile struct {
	*File
	f storage.File
}

// Close closes the underlying file.
func (o *OpenedFile) Close() error { return o.f.Close() }

// Open opens the Parquet file at uri (a local path or any scheme storage
// knows) and reads its footer.
func Open(uri string) (*OpenedFile, error) {
	f, err := storage.Open(context.Background(), uri)
	if err != nil {
		return nil, fmt.Errorf("schema: %w", err)
	}
	pf, err := OpenFile(uri, f, f.Size())
	if err != nil {
		f.Close()
		return nil, err
	}
	return &OpenedFile{File: pf, f: f}, nil
}

// ReadSongsFile reads every song of the file at path, unvalidated. The
// first undecodable row is an error (naming file, row and column); use
// File.Songs to skip bad rows instead.
func ReadSongsFile(path string) ([]Song, error) {
	f, err := Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []Song
	for rg := range f.NumRowGroups() {
		for s, err := range f.Songs(rg) {
			if err != nil {
				return nil, err
			}
			out = append(out, s)
		}
	}
	return out, nil
}

// ReadEmbeddingsFiles reads every embedding of the dataset a pattern names
// (see ListDataset: manifest-aware) into memory,
// for small sets (queries, reindexing). Each embedding is validated; the
// first bad row is an error naming file and row. A file whose row count,
// size or SHA-256 differs from its manifest entry, or that the manifest
// lists but is missing, is an error (ErrChanged).
func ReadEmbeddingsFiles(pattern string) ([]Embedding, error) {
	files, err := ListDatasetFS(StorageFS{context.Background()}, pattern)
	if err != nil {
		return nil, err
	}
	var out []Embedding
	o := &storage.Opener{}
	defer o.Close()
	for _, df := range files {
		f, err := openListed(o, df)
		if err != nil {
			return nil, err
		}
		if df.Rows >= 0 && f.NumRows() != df.Rows {
			f.Close()
			return nil, fmt.Errorf("schema: %s: %w: %d rows, manifest says %d", df.Path, ErrBadFile, f.NumRows(), df.Rows)
		}
		var row int64
		for rg := range f.NumRowGroups() {
			for e, err := range f.Embeddings(rg) {
				if err == nil {
					if verr := ValidateEmbedding(&e); verr != nil {
						err = &RowError{File: df.Path, Row: row, SongID: e.SongID, Err: verr}
					}
				}
				if err != nil {
					f.Close()
					return nil, err
				}
				out = append(out, e)
				row++
			}
		}
		f.Close()
	}
	return out, nil
}

// openListed opens a dataset file verified against its manifest record
// (size and SHA-256: VerifyFile) and reads its footer.
func openListed(o *storage.Opener, df DatasetFile) (*OpenedFile, error) {
	ctx := context.Background()
	f, err := OpenVerified(ctx, o, df, true)
	if err != nil {
		return nil, err
	}
	pf, err := OpenFile(df.Path, f, f.Size())
	if err != nil {
		f.Close()
		return nil, err
	}
	return &OpenedFile{File: pf, f: f}, nil
}

// CountRows returns the number of rows of the dataset a pattern names (see
// ListDataset): the manifests' counts where there are manifests, else the
// files' footers. It reads no row.
func CountRows(pattern string) (int64, error) {
	files, err := ListDatasetFS(StorageFS{context.Background()}, pattern)
	if err != nil {
		return 0, err
	}
	var n int64
	for _, df := range files {
		if df.Rows >= 0 {
			n += df.Rows
			continue
		}
		f, err := Open(df.Path)
		if err != nil {
			return 0, err
		}
		n += f.NumRows()
		f.Close()
	}
	return n, nil
}

// ReadSongsFiles reads every song of the dataset a pattern names (see
// ListDataset), unvalidated, for small sets (tests, tools).
func ReadSongsFiles(pattern string) ([]Song, error) {
	files, err := ListDataset(pattern)
	if err != nil {
		return nil, err
	}
	var out []Song
	for _, f := range files {
		songs, err := ReadSongsFile(f)
		if err != nil {
			return nil, err
		}
		out = append(out, songs...)
	}
	return out, nil
}

// ReadRejectsFiles reads every reject row of the dataset a pattern names.
func ReadRejectsFiles(pattern string) ([]Reject, error) {
	files, err := ListDataset(pattern)
	if err != nil {
		return nil, err
	}
	var out []Reject
	for _, p := range files {
		f, err := storage.Open(context.Background(), p)
		if err != nil {
			return nil, fmt.Errorf("schema: %w", err)
		}
		rows, err := parquet.Read[Reject](f, f.Size())
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("schema: %s: %w", p, err)
		}
		out = append(out, rows...)
	}
	return out, nil
}
