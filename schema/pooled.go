package schema

import (
	"errors"
	"fmt"
	"io"
	"math"

	"github.com/parquet-go/parquet-go"
)

// PooledSchemaVersion is the schema version of Pooled rows.
const PooledSchemaVersion = "vindex.pooled/v1"

// Pooled is one row of a pooled-features dataset: the 256 values a MOVE
// network's feature extractor hands to lin1 (model.Net.Pooled) for a whole
// song (Patch 0) or for one random patch of the training length (Patch
// 1..K, starting at model frame Start), with the song's work, for
// distillation (model/train).
type Pooled struct {
	SongID      string    `parquet:"song_id"`
	WorkID      string    `parquet:"work_id"`
	Patch       int32     `parquet:"patch"`
	Start       int32     `parquet:"start"`  // first model frame of the patch (0 for Patch 0)
	Frames      int32     `parquet:"frames"` // model frames the vector summarises (before padding)
	Pooled      []float32 `parquet:"pooled,list"`
	Model       string    `parquet:"model"`        // id of the extractor that computed it (model.Weights.ExtractorID)
	ContentHash string    `parquet:"content_hash"` // of the song's features, preprocessing and model
}

// ValidatePooled checks a row: ids present, a non-empty finite vector, a
// non-negative patch.
func ValidatePooled(p *Pooled) error {
	switch {
	case p.SongID == "":
		return errors.New("schema: pooled row without song_id")
	case p.WorkID == "":
		return fmt.Errorf("schema: pooled row %q without work_id", p.SongID)
	case p.Patch < 0 || p.Start < 0:
		return fmt.Errorf("schema: pooled row %q: patch %d, start %d", p.SongID, p.Patch, p.Start)
	case len(p.Pooled) == 0:
		return fmt.Errorf("schema: pooled row %q (patch %d) has no values", p.SongID, p.Patch)
	}
	for i, v := range p.Pooled {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return fmt.Errorf("schema: pooled row %q (patch %d): value %d is %v", p.SongID, p.Patch, i, v)
		}
	}
	return nil
}

// ReadPooled reads and validates every row of the pooled-features Parquet
// file name (of size bytes, through r). A file of another schema version,
// an undecodable row or an invalid one is an error naming file and row.
// Rows are read in chunks of 1024: the footer's row count is not trusted
// for an allocation.
func ReadPooled(name string, r io.ReaderAt, size int64) (rows []Pooled, err error) {
	defer func() {
		if p := recover(); p != nil { // parquet-go panics on some corrupt files
			err = fmt.Errorf("schema: %s: %w: %v", name, ErrBadFile, p)
		}
	}()
	pf, err := parquet.OpenFile(r, size)
	if err != nil {
		return nil, fmt.Errorf("schema: %s: %w: %v", name, ErrBadFile, err)
	}
	if v, _ := pf.Lookup(SchemaKey); v != PooledSchemaVersion {
		return nil, fmt.Errorf("schema: %s: %w: schema %q, want %q", name, ErrBadFile, v, PooledSchemaVersion)
	}
	rd := parquet.NewGenericReader[Pooled](pf)
	defer rd.Close()
	// Read in chunks: the footer's row count is not trusted for an allocation.
	buf := make([]Pooled, 1024)
	for {
		n, err := rd.Read(buf)
		rows = append(rows, buf[:n]...)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("schema: %s: row %d: %w", name, len(rows), err)
		}
		if n == 0 {
			break
		}
		clear(buf)
	}
	if int64(len(rows)) != pf.NumRows() {
		return nil, fmt.Errorf("schema: %s: %w: read %d of %d rows", name, ErrBadFile, len(rows), pf.NumRows())
	}
	for i := range rows {
		if err := ValidatePooled(&rows[i]); err != nil {
			return nil, &RowError{File: name, Row: int64(i), SongID: rows[i].SongID, Err: err}
		}
	}
	return rows, nil
}
