package query

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"strings"

	"github.com/vindex/vindex/model/metrics"
	"github.com/vindex/vindex/model/search"
	"github.com/vindex/vindex/pipelines/index"
	"github.com/vindex/vindex/schema"
	"github.com/vindex/vindex/storage"
)

// ErrNoVersion is returned when an index folder has no current version.
var ErrNoVersion = errors.New("query: no current version")

// Version is one loaded version of an index: its index.json, its searchable
// vectors and, when loaded with Options.Embedder, the model and reducer that
// embed new songs into its space. A Version is immutable and safe for
// concurrent use.
type Version struct {
	Root string      // the index folder it was loaded from
	Dir  string      // the version's folder (Root itself for a plain index folder)
	Name string      // the version's name in CURRENT ("v0002"), "" for a plain index folder
	Info *index.Info // index.json
	// MAP is the overall mean average precision of the evaluation report of
	// the searched dataset, nil when the version holds none.
	MAP   *float64
	Index *search.Index

	emb *Embedder
}

// Options tune Load; the zero value loads what song-id queries need.
type Options struct {
	// Embedder loads the index's weights and reducer, so that Neighbors can
	// embed feature rows (Request.Songs).
	Embedder bool
}

// Current resolves the index folder root to its current version: the name
// CURRENT holds and that version's folder. A plain index folder (index.json
// and no CURRENT) is its own version, named "".
func Current(ctx context.Context, root string) (dir, name string, err error) {
	b, err := storage.ReadFile(ctx, storage.Join(root, CurrentFile), 4096)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		ok, serr := storage.Exists(ctx, storage.Join(root, index.InfoFile))
		if serr != nil {
			return "", "", fmt.Errorf("query: %w", serr)
		}
		if !ok {
			return "", "", fmt.Errorf("%w: %s has no %s and no %s: run 'vindex reindex' or 'vindex index' first", ErrNoVersion, root, CurrentFile, index.InfoFile)
		}
		return root, "", nil
	case err != nil:
		return "", "", fmt.Errorf("query: %w", err)
	}
	v, err := index.ParseCurrent(b)
	if err != nil {
		return "", "", fmt.Errorf("query: %s: %w", storage.Join(root, CurrentFile), err)
	}
	return storage.Join(root, v), v, nil
}

// CurrentFile names the file of an index folder that holds the name of its
// current version.
const CurrentFile = index.CurrentFile

// maxSmallFile bounds the JSON files an index holds (index.json, manifests,
// reports, CURRENT).
const maxSmallFile = 64 << 20

// maxDataFile bounds one data file read whole (a remote search file, a
// reducer).
const maxDataFile = 16 << 30

// Load loads the current version of the index folder root (a local path or
// a URI of a registered Beam filesystem: gs:// works): CURRENT → vNNNN/,
// index.json, the search file (search.vxs) or, without one, the Parquet
// dataset index.json names; then Verify.
func Load(ctx context.Context, root string, opt Options) (*Version, error) {
	dir, name, err := Current(ctx, root)
	if err != nil {
		return nil, err
	}
	return LoadDir(ctx, root, dir, name, opt)
}

// LoadDir loads the version folder dir of the index root, named name.
func LoadDir(ctx context.Context, root, dir, name string, opt Options) (*Version, error) {
	info, err := ReadInfo(ctx, dir)
	if err != nil {
		return nil, err
	}
	if err := info.Verify(dir); err != nil { // the parts index.json records: sizes, SHA-256
		return nil, fmt.Errorf("query: %w", err)
	}
	dist, err := metrics.ParseDistance(info.Distance)
	if err != nil {
		return nil, fmt.Errorf("query: %s: %w", storage.Join(dir, index.InfoFile), err)
	}
	v := &Version{Root: root, Dir: dir, Name: name, Info: info}
	m, err := loadMatrix(ctx, dir, info)
	if err != nil {
		return nil, err
	}
	rows := m.Len()
	if v.Index, err = search.NewInPlace(m, dist); err != nil {
		return nil, fmt.Errorf("query: %s: %w", dir, err)
	}
	if v.Index.Len() == 0 {
		return nil, fmt.Errorf("query: %s: no song can be searched", dir)
	}
	if err := Verify(ctx, v, rows); err != nil {
		return nil, err
	}
	if opt.Embedder {
		if v.emb, err = NewEmbedder(ctx, dir, info, v.Index.Dim); err != nil {
			return nil, err
		}
	}
	v.MAP = readMAP(ctx, dir, info)
	return v, nil
}

// Verify checks a loaded version before it is used: today, that index.json
// describes what was loaded (its dimension, its row count against the
// searched dataset's manifest). rows is the number of vectors read, before
// unscorable ones were left out. The parts' sizes and hashes were checked
// by index.Info.Verify before anything was loaded (LoadDir).
func Verify(ctx context.Context, v *Version, rows int) error {
	info := v.Info
	want := info.Dim
	if info.Search == index.CompactDir && info.OutDim > 0 {
		want = info.OutDim
	}
	if want > 0 && v.Index.Dim != want {
		return fmt.Errorf("query: %s: the index searches %d-d vectors, index.json says %d", v.Dir, v.Index.Dim, want)
	}
	b, err := storage.ReadFile(ctx, storage.Join(storage.Join(v.Dir, searchSet(info)), schema.ManifestName), maxSmallFile)
	if errors.Is(err, fs.ErrNotExist) {
		return nil // an index written by hand (tests) may have no manifest
	}
	if err != nil {
		return fmt.Errorf("query: %w", err)
	}
	m, err := schema.ParseManifest(b)
	if err != nil {
		return fmt.Errorf("query: %s: %w", v.Dir, err)
	}
	if m.Rows != int64(rows) {
		return fmt.Errorf("query: %s: %d vectors loaded, the %s manifest lists %d rows", v.Dir, rows, searchSet(info), m.Rows)
	}
	return nil
}

// ReadInfo reads and checks index.json of a version folder (a local path or
// a URI).
func ReadInfo(ctx context.Context, dir string) (*index.Info, error) {
	p := storage.Join(dir, index.InfoFile)
	b, err := storage.ReadFile(ctx, p, maxSmallFile)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("query: %s is not a complete index (no %s)", dir, index.InfoFile)
	}
	if err != nil {
		return nil, fmt.Errorf("query: %w", err)
	}
	var info index.Info
	if err := json.Unmarshal(b, &info); err != nil {
		return nil, fmt.Errorf("query: %s: %w", p, err)
	}
	if info.Format != index.FormatVersion {
		return nil, fmt.Errorf("query: %s: format %q, want %q", p, info.Format, index.FormatVersion)
	}
	if s := info.Search; s != "" && s != index.EmbeddingsDir && s != index.CompactDir {
		return nil, fmt.Errorf("query: %s: unknown search dataset %q", p, s)
	}
	return &info, nil
}

// searchSet is the dataset an index searches.
func searchSet(info *index.Info) string {
	if info.Search == "" {
		return index.EmbeddingsDir
	}
	return info.Search
}

// loadMatrix reads the vectors a version searches: its search file when
// present, else the Parquet dataset index.json names.
func loadMatrix(ctx context.Context, dir string, info *index.Info) (*search.Matrix, error) {
	sf := storage.Join(dir, search.FileName)
	ok, err := storage.Exists(ctx, sf)
	if err != nil {
		return nil, fmt.Errorf("query: %w", err)
	}
	if ok {
		var m *search.Matrix
		if storage.IsLocal(sf) {
			m, err = search.ReadFile(sf) // reads the vectors in place
		} else {
			var b []byte
			if b, err = storage.ReadFile(ctx, sf, maxDataFile); err == nil {
				m, err = search.Unmarshal(b)
			}
		}
		if err != nil {
			return nil, fmt.Errorf("query: %s: %w", sf, err)
		}
		return m, nil
	}
	return readEmbeddings(ctx, storage.Join(dir, searchSet(info)))
}

// readEmbeddings reads a Parquet dataset of embeddings into a Matrix, in
// file and row order, validating every row; a file whose row count differs
// from its manifest entry is an error.
func readEmbeddings(ctx context.Context, pattern string) (*search.Matrix, error) {
	files, err := schema.ListDatasetFS(schema.StorageFS{Ctx: ctx}, pattern)
	if err != nil {
		return nil, fmt.Errorf("query: %w", err)
	}
	m := &search.Matrix{}
	for _, df := range files {
		if err := readEmbeddingsFile(ctx, m, df); err != nil {
			return nil, fmt.Errorf("query: %w", err)
		}
	}
	if m.Len() == 0 {
		return nil, fmt.Errorf("query: %s: no embeddings", pattern)
	}
	return m, nil
}

func readEmbeddingsFile(ctx context.Context, m *search.Matrix, df schema.DatasetFile) error {
	r, err := storage.Open(ctx, df.Path)
	if err != nil {
		return err
	}
	defer r.Close()
	f, err := schema.OpenFile(df.Path, r, r.Size())
	if err != nil {
		return err
	}
	if df.Rows >= 0 && f.NumRows() != df.Rows {
		return fmt.Errorf("%s: %w: %d rows, manifest says %d", df.Path, schema.ErrBadFile, f.NumRows(), df.Rows)
	}
	var row int64
	for rg := range f.NumRowGroups() {
		for e, err := range f.Embeddings(rg) {
			if err == nil {
				err = schema.ValidateEmbedding(&e)
			}
			if err == nil && m.Dim != 0 && len(e.Embedding) != m.Dim {
				err = fmt.Errorf("%w: %d values, the first song has %d", search.ErrShape, len(e.Embedding), m.Dim)
			}
			if err != nil {
				return &schema.RowError{File: df.Path, Row: row, SongID: e.SongID, Err: err}
			}
			if m.Dim == 0 {
				m.Dim = len(e.Embedding)
			}
			m.IDs = append(m.IDs, e.SongID)
			m.WorkIDs = append(m.WorkIDs, e.WorkID)
			m.Titles = append(m.Titles, e.Title)
			m.Artists = append(m.Artists, e.Artist)
			m.Vecs = append(m.Vecs, e.Embedding...)
			row++
		}
	}
	return nil
}

// readMAP returns the overall MAP of the evaluation report of the searched
// dataset ("reduced" for compact, "full" for embeddings), or nil.
func readMAP(ctx context.Context, dir string, info *index.Info) *float64 {
	want := "full"
	if searchSet(info) == index.CompactDir {
		want = "reduced"
	}
	for _, rel := range info.Reports {
		rel = strings.ReplaceAll(rel, `\`, "/")
		if !strings.Contains(rel, "/"+want+"/") {
			continue
		}
		b, err := storage.ReadFile(ctx, storage.Join(dir, rel), maxSmallFile)
		if err != nil {
			return nil
		}
		var r struct {
			Overall *struct {
				MAP float64 `json:"map"`
			} `json:"overall"`
		}
		if json.Unmarshal(b, &r) != nil || r.Overall == nil {
			return nil
		}
		return &r.Overall.MAP
	}
	return nil
}
