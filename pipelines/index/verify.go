package index

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"

	"github.com/vindex/vindex/schema"
	"github.com/vindex/vindex/storage"
	"github.com/vindex/vindex/transforms"
)

// Part is one file an index.json vouches for: its path relative to the index
// folder, its size and SHA-256, and the id it carries (the reducer's id, a
// dataset manifest's run id).
type Part struct {
	Path   string `json:"path"`
	ID     string `json:"id,omitempty"`
	Bytes  int64  `json:"bytes"`
	SHA256 string `json:"sha256"`
}

// ErrMismatch is wrapped by Verify's errors: the folder's files are not the
// ones its index.json describes (a run killed while replacing them, a file
// copied in from another index, a truncated or edited file).
var ErrMismatch = errors.New("index: the folder does not match its index.json")

// Verify checks that the index folder dir holds the run its index.json
// describes: every part it records (the dataset manifests, the reducer, the
// search file, the evaluation reports) exists with the recorded size and
// SHA-256, and every file the recorded manifests list has the size they
// record (the readers check those files' hashes as they read them). It reads
// the reducer and search file once, at disk speed (~0.2 s for 100,000 songs
// × 256 dimensions).
//
// query, reindex and evaluate call it before they read an index; vindex
// serve calls it before it loads one (query.LoadDir). An index.json that
// records no parts at all (written by hand, or before vindex recorded them)
// has nothing to check against and passes: every index vindex writes
// records its parts, and no command writes into an existing folder, so a
// folder cannot come to mix runs without a record. RecordParts adds the
// record to a hand-written index.
func Verify(dir string) error {
	info, err := ReadInfo(dir)
	if err != nil {
		return err
	}
	return info.Verify(dir)
}

// Verify is Verify for an index.json already read from dir.
func (info *Info) Verify(dir string) error {
	ctx := context.Background()
	if len(info.Parts) == 0 {
		return nil // nothing recorded to check against (see above)
	}
	o := &storage.Opener{}
	defer o.Close()
	for _, p := range info.Parts {
		if err := checkPart(p.Path); err != nil {
			return err
		}
		uri := storage.Join(dir, p.Path)
		f, err := schema.OpenVerified(ctx, o, schema.DatasetFile{Path: uri, Rows: 0, Bytes: p.Bytes, SHA256: p.SHA256}, true)
		if err != nil {
			return fmt.Errorf("%w: %s: %v; the folder mixes runs or was changed: rebuild it with 'vindex index --overwrite'", ErrMismatch, dir, err)
		}
		f.Close()
		if path.Base(p.Path) != schema.ManifestName {
			continue
		}
		set := path.Dir(p.Path)
		m, err := schema.ReadManifest(storage.Join(dir, set))
		if err != nil {
			return fmt.Errorf("%w: %s: %v", ErrMismatch, dir, err)
		}
		for _, mf := range m.Files {
			df := schema.DatasetFile{Path: storage.Join(dir, set, mf.Name), Rows: mf.Rows, Bytes: mf.Bytes, SHA256: mf.SHA256}
			f, err := schema.OpenVerified(ctx, o, df, false)
			if err != nil {
				return fmt.Errorf("%w: %s: %v", ErrMismatch, dir, err)
			}
			f.Close()
		}
	}
	return nil
}

// checkPart refuses a recorded path that leaves the folder.
func checkPart(p string) error {
	if p == "" || path.IsAbs(p) || strings.Contains(p, `\`) || path.Clean(p) != p || p == ".." || strings.HasPrefix(p, "../") {
		return fmt.Errorf("%w: part path %q is not a plain relative path", ErrMismatch, p)
	}
	return nil
}

// RecordParts fills info.Parts from the files of the index folder dir: the
// manifests of its datasets, the reducer (when info.Reducer is set), the
// search file (when present) and info.Reports, each as it is on disk now.
// Finish calls it after they are all published; tests that write an index
// by hand call it before writing index.json.
func (info *Info) RecordParts(dir string) error {
	return info.recordParts(context.Background(), dir, info.Reducer)
}

func (info *Info) recordParts(ctx context.Context, dir string, reducerID string) error {
	info.Parts = nil
	add := func(rel, id string) error {
		p, err := hashPart(ctx, storage.Join(dir, rel))
		if err != nil {
			return fmt.Errorf("index: %w", err)
		}
		p.Path, p.ID = rel, id
		info.Parts = append(info.Parts, p)
		return nil
	}
	for _, set := range []string{EmbeddingsDir, CompactDir, RejectsDir} {
		rel := set + "/" + schema.ManifestName
		if ok, _ := storage.Exists(ctx, storage.Join(dir, rel)); !ok {
			continue
		}
		m, err := schema.ReadManifest(storage.Join(dir, set))
		if err != nil {
			return fmt.Errorf("index: %w", err)
		}
		if err := add(rel, m.RunID); err != nil {
			return err
		}
	}
	if reducerID != "" {
		if err := add(ReducerFile, reducerID); err != nil {
			return err
		}
	}
	if ok, _ := storage.Exists(ctx, storage.Join(dir, transforms.SearchFile)); ok {
		if err := add(transforms.SearchFile, ""); err != nil {
			return err
		}
	}
	for _, rel := range info.Reports {
		if err := add(rel, ""); err != nil {
			return err
		}
	}
	return nil
}

// hashPart returns the size and SHA-256 of the file at uri.
func hashPart(ctx context.Context, uri string) (Part, error) {
	f, err := storage.Open(ctx, uri)
	if err != nil {
		return Part{}, err
	}
	defer f.Close()
	hw := schema.NewHashWriter(io.Discard)
	if _, err := io.Copy(hw, io.NewSectionReader(f, 0, f.Size())); err != nil {
		return Part{}, fmt.Errorf("reading %s: %w", uri, err)
	}
	return Part{Bytes: hw.Size(), SHA256: hw.SHA256()}, nil
}
