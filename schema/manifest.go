package schema

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"regexp"
	"slices"
	"strings"
	"syscall"

	"github.com/vindex/vindex/storage"
)

// ManifestName is the name of the manifest file in an output folder.
const ManifestName = "_manifest.json"

// ManifestVersion identifies the manifest format.
const ManifestVersion = "vindex.manifest/v1"

// PartPrefix starts the names of the part files vindex writes into an output
// folder. A folder holding part files but no manifest is an interrupted
// write and is refused (ErrIncomplete).
const PartPrefix = "part-"

// maxManifestBytes bounds a manifest read into memory.
const maxManifestBytes = 64 << 20

// Manifest lists the files of a complete output folder. It is written last,
// atomically, after every file it lists is complete; readers trust only the
// files it lists.
type Manifest struct {
	Version string         `json:"version"` // ManifestVersion
	Schema  string         `json:"schema"`  // schema version of the rows, e.g. EmbeddingSchemaVersion
	Command string         `json:"command,omitempty"`
	RunID   string         `json:"run_id,omitempty"`
	Created string         `json:"created,omitempty"` // RFC 3339
	Rows    int64          `json:"rows"`              // sum of the files' rows
	Files   []ManifestFile `json:"files"`
}

// ManifestFile is one file of a Manifest.
type ManifestFile struct {
	Name   string `json:"name"` // base name, in the manifest's folder
	Rows   int64  `json:"rows"`
	Bytes  int64  `json:"bytes"`
	Schema string `json:"schema"`
	// SHA256 is the hex SHA-256 of the file's bytes, hashed as they were
	// written; "" in manifests written before it was recorded (then only
	// the size is checked).
	SHA256 string `json:"sha256,omitempty"`
}

// Validate checks the manifest's invariants: known version, file names that
// are plain base names (no folders, no "..") and unique, non-negative counts
// that sum to Rows.
func (m *Manifest) Validate() error {
	if m.Version != ManifestVersion {
		return fmt.Errorf("%w: version %q, want %q", ErrManifest, m.Version, ManifestVersion)
	}
	seen := make(map[string]bool, len(m.Files))
	var rows int64
	for i, f := range m.Files {
		if f.Name == "" || f.Name == "." || f.Name == ".." || strings.ContainsAny(f.Name, "/\\") || f.Name == ManifestName {
			return fmt.Errorf("%w: file %d has name %q, want a base name", ErrManifest, i, f.Name)
		}
		if seen[f.Name] {
			return fmt.Errorf("%w: file %q listed twice", ErrManifest, f.Name)
		}
		seen[f.Name] = true
		if f.Rows < 0 || f.Bytes < 0 {
			return fmt.Errorf("%w: file %q has negative counts", ErrManifest, f.Name)
		}
		if f.SHA256 != "" && !isHexDigest(f.SHA256) {
			return fmt.Errorf("%w: file %q: sha256 %q is not 64 lowercase hex digits", ErrManifest, f.Name, f.SHA256)
		}
		rows += f.Rows
	}
	if rows != m.Rows {
		return fmt.Errorf("%w: files hold %d rows, manifest says %d", ErrManifest, rows, m.Rows)
	}
	return nil
}

// ParseManifest decodes and validates a manifest.
func ParseManifest(data []byte) (Manifest, error) {
	var m Manifest
	if len(data) > maxManifestBytes {
		return m, fmt.Errorf("%w: %d bytes (max %d)", ErrManifest, len(data), maxManifestBytes)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return Manifest{}, fmt.Errorf("%w: %v", ErrManifest, err)
	}
	if err := m.Validate(); err != nil {
		return Manifest{}, err
	}
	return m, nil
}

// MarshalManifest validates m and encodes it as indented JSON.
func MarshalManifest(m Manifest) ([]byte, error) {
	if err := m.Validate(); err != nil {
		return nil, err
	}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// WriteManifest publishes m as dir/_manifest.json (storage.WriteFile:
// atomic and durable, any scheme).
func WriteManifest(dir string, m Manifest) error {
	b, err := MarshalManifest(m)
	if err != nil {
		return fmt.Errorf("schema: %s: %w", dir, err)
	}
	if err := storage.WriteFile(context.Background(), storage.Join(dir, ManifestName), b); err != nil {
		return fmt.Errorf("schema: %w", err)
	}
	return nil
}

// ReadManifest reads dir/_manifest.json.
func ReadManifest(dir string) (Manifest, error) {
	p := storage.Join(dir, ManifestName)
	b, err := storage.ReadFile(context.Background(), p, maxManifestBytes)
	if err != nil {
		return Manifest{}, fmt.Errorf("schema: %w", err)
	}
	m, err := ParseManifest(b)
	if err != nil {
		return Manifest{}, fmt.Errorf("schema: %s: %w", p, err)
	}
	return m, nil
}

// DatasetFS is the file system ListDatasetFS resolves patterns against:
// the local one (LocalFS) or, in transforms, Beam's filesystem layer.
type DatasetFS interface {
	// List returns the paths matching a glob, nil for none.
	List(glob string) ([]string, error)
	// ReadFile returns a (small) file's contents; an error wrapping
	// fs.ErrNotExist when it does not exist.
	ReadFile(name string) ([]byte, error)
}

// StorageFS is package storage (local paths, gs://, …) as a DatasetFS.
type StorageFS struct{ Ctx context.Context }

// List implements DatasetFS.
func (f StorageFS) List(glob string) ([]string, error) { return storage.List(f.Ctx, glob) }

// ReadFile implements DatasetFS.
func (f StorageFS) ReadFile(name string) ([]byte, error) {
	return storage.ReadFile(f.Ctx, name, maxManifestBytes)
}

// DatasetFile is one file of a dataset. Rows and Bytes are the row count
// and size the folder's manifest records, or -1 where there is no manifest;
// SHA256 is the manifest's hash, "" where it records none.
type DatasetFile struct {
	Path   string
	Rows   int64
	Bytes  int64
	SHA256 string
}

// Listed reports whether a manifest lists the file (it must then exist and
// match the record: see VerifyFile).
func (d DatasetFile) Listed() bool { return d.Rows >= 0 }

func hasMeta(p string) bool { return strings.ContainsAny(p, `*?[\`) }

// ListDatasetFS returns the Parquet files a pattern names, sorted:
//
//   - a folder: its *.parquet files; where it holds a _manifest.json, exactly
//     the files the manifest lists (even if others are present);
//   - a glob: the matching files, except that in a folder with a manifest
//     only the files it lists are kept; a glob may name folders too;
//   - a file: that file.
//
// Names starting with "." or "_" are never data. A folder without a
// manifest that holds vindex's own part files (OwnPart: what vindex's
// writers name them) and no _SUCCESS marker is vindex's interrupted write:
// ErrIncomplete. Folders written by other tools (Spark, Hive, BigQuery,
// pyarrow: part-00000-<uuid>-c000.snappy.parquet, with or without
// _SUCCESS) are read whole, and a file named explicitly is always read. A
// pattern naming nothing is ErrNoFiles.
func ListDatasetFS(fsys DatasetFS, pattern string) ([]DatasetFile, error) {
	if pattern == "" {
		return nil, fmt.Errorf("schema: empty pattern: %w", ErrNoFiles)
	}
	l := &lister{fsys: fsys, manifests: map[string]map[string]ManifestFile{}, seen: map[string]bool{}}
	matches, explicit, emptyOK, err := l.resolve(pattern)
	if err != nil {
		return nil, err
	}
	for _, m := range matches {
		if err := l.addMatch(m, explicit); err != nil {
			return nil, err
		}
	}
	if len(l.out) == 0 {
		if emptyOK {
			return []DatasetFile{}, nil // a folder whose manifest lists no files
		}
		return nil, fmt.Errorf("schema: %s: %w", pattern, ErrNoFiles)
	}
	slices.SortFunc(l.out, func(a, b DatasetFile) int { return strings.Compare(a.Path, b.Path) })
	return l.out, nil
}

// lister gathers the files of one ListDatasetFS call.
type lister struct {
	fsys      DatasetFS
	manifests map[string]map[string]ManifestFile // folder → listed base name → record; nil for no manifest
	out       []DatasetFile
	seen      map[string]bool
}

// manifestOf returns what the manifest of folder dir lists, nil if dir has none.
func (l *lister) manifestOf(dir string) (map[string]ManifestFile, error) {
	if m, ok := l.manifests[dir]; ok {
		return m, nil
	}
	b, err := l.fsys.ReadFile(storage.Join(dir, ManifestName))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
			l.manifests[dir] = nil
			return nil, nil
		}
		return nil, fmt.Errorf("schema: reading %s: %w", storage.Join(dir, ManifestName), err)
	}
	m, err := ParseManifest(b)
	if err != nil {
		return nil, fmt.Errorf("schema: %s: %w", storage.Join(dir, ManifestName), err)
	}
	listed := make(map[string]ManifestFile, len(m.Files))
	for _, f := range m.Files {
		listed[f.Name] = f
	}
	l.manifests[dir] = listed
	return listed, nil
}

func (l *lister) add(p string, mf *ManifestFile) {
	if l.seen[p] {
		return
	}
	l.seen[p] = true
	df := DatasetFile{Path: p, Rows: -1, Bytes: -1}
	if mf != nil {
		df.Rows, df.Bytes, df.SHA256 = mf.Rows, mf.Bytes, mf.SHA256
	}
	l.out = append(l.out, df)
}

// addFolder adds the data files of folder dir.
func (l *lister) addFolder(dir string) error {
	listed, err := l.manifestOf(dir)
	if err != nil {
		return err
	}
	if listed != nil {
		for name, mf := range listed {
			l.add(storage.Join(dir, name), &mf)
		}
		return nil
	}
	files, err := l.fsys.List(storage.Join(dir, "*"))
	if err != nil {
		return fmt.Errorf("schema: listing %s: %w", dir, err)
	}
	if incomplete(files) {
		return fmt.Errorf("schema: %s: %w", dir, ErrIncomplete)
	}
	for _, p := range files {
		if _, base := storage.Split(p); isData(base) {
			l.add(p, nil)
		}
	}
	return nil
}

// resolve turns the pattern into the paths it matches (a glob's matches, or
// a file named explicitly); a folder is added at once. emptyOK reports a
// folder whose manifest lists no file.
func (l *lister) resolve(pattern string) (matches []string, explicit, emptyOK bool, err error) {
	if hasMeta(pattern) {
		if matches, err = l.fsys.List(pattern); err != nil {
			return nil, false, false, fmt.Errorf("schema: listing %s: %w", pattern, err)
		}
		return matches, false, false, nil
	}
	p := strings.TrimSuffix(pattern, "/")
	if p == "" {
		p = "/"
	}
	// A folder if it has children (or a manifest); otherwise a file.
	children, err := l.fsys.List(storage.Join(p, "*"))
	if err != nil {
		return nil, false, false, fmt.Errorf("schema: listing %s: %w", p, err)
	}
	listed, err := l.manifestOf(p)
	if err != nil {
		return nil, false, false, err
	}
	if len(children) > 0 || listed != nil {
		return nil, false, listed != nil && len(listed) == 0, l.addFolder(p)
	}
	files, err := l.fsys.List(p)
	if err != nil {
		return nil, false, false, fmt.Errorf("schema: listing %s: %w", p, err)
	}
	return files, true, false, nil
}

// addMatch adds one path a pattern matched: a folder named by a glob, or a
// data file (kept only if its folder's manifest, where there is one, lists it).
func (l *lister) addMatch(m string, explicit bool) error {
	dir, base := storage.Split(m)
	if !strings.HasSuffix(base, ".parquet") {
		// Maybe a folder named by a glob.
		if children, err := l.fsys.List(storage.Join(m, "*")); err == nil && len(children) > 0 {
			return l.addFolder(m)
		}
		return nil
	}
	if !isData(base) {
		return nil
	}
	listed, err := l.manifestOf(dir)
	if err != nil {
		return err
	}
	if listed != nil {
		if mf, ok := listed[base]; ok {
			l.add(m, &mf)
		}
		return nil
	}
	if !explicit && OwnPart(base) {
		siblings, err := l.fsys.List(storage.Join(dir, "*"))
		if err != nil {
			return fmt.Errorf("schema: listing %s: %w", dir, err)
		}
		if incomplete(siblings) {
			return fmt.Errorf("schema: %s: %w", dir, ErrIncomplete)
		}
	}
	l.add(m, nil)
	return nil
}

// ownPart matches the part files vindex's writers name: transforms'
// part-<run>-00000-of-00004.parquet and the importer's part-00000.parquet.
var ownPart = regexp.MustCompile(`^part-([0-9a-f]{12}-[0-9]{5}-of-[0-9]{5}|[0-9]{5})\.parquet$`)

// SuccessMarker is the empty file Hadoop-style writers (Spark, Hive) leave
// in a folder they finished.
const SuccessMarker = "_SUCCESS"

// OwnPart reports whether base is named like a part file vindex writes.
func OwnPart(base string) bool { return ownPart.MatchString(base) }

// incomplete reports whether the files of a folder without a manifest are
// vindex's interrupted output: some are vindex part files, and no
// _SUCCESS marker says another tool finished the folder.
func incomplete(files []string) bool {
	own := false
	for _, p := range files {
		switch base := storage.Base(p); {
		case base == SuccessMarker:
			return false
		case OwnPart(base):
			own = true
		}
	}
	return own
}

func isData(base string) bool {
	return strings.HasSuffix(base, ".parquet") && !strings.HasPrefix(base, ".") && !strings.HasPrefix(base, "_")
}

// ListDataset is ListDatasetFS through package storage (any scheme),
// returning paths.
func ListDataset(pattern string) ([]string, error) {
	files, err := ListDatasetFS(StorageFS{context.Background()}, pattern)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(files))
	for i, f := range files {
		out[i] = f.Path
	}
	return out, nil
}

func isHexDigest(s string) bool {
	if len(s) != 64 {
		return false
	}
	for _, c := range s {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}
