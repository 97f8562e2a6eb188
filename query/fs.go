package query

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"

	"github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem"
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem/gcs"   // gs:// paths
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem/local" // local paths

	"github.com/vindex/vindex/schema"
)

// isLocal reports whether name has no URL scheme.
func isLocal(name string) bool { return !strings.Contains(name, "://") }

// readFile reads the whole file name (a local path or a URI of a registered
// Beam filesystem), refusing files larger than limit bytes. A missing file
// is an error wrapping fs.ErrNotExist.
func readFile(ctx context.Context, name string, limit int64) ([]byte, error) {
	if isLocal(name) {
		f, err := os.Open(name)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		return readAll(f, name, limit)
	}
	fsys, err := filesystem.New(ctx, name)
	if err != nil {
		return nil, err
	}
	defer fsys.Close()
	// Beam's filesystems have no Stat: a file that does not list does not exist.
	if files, err := fsys.List(ctx, name); err == nil && len(files) == 0 {
		return nil, fmt.Errorf("%s: %w", name, fs.ErrNotExist)
	}
	r, err := fsys.OpenRead(ctx, name)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return readAll(r, name, limit)
}

func readAll(r io.Reader, name string, limit int64) ([]byte, error) {
	var buf bytes.Buffer
	n, err := io.Copy(&buf, io.LimitReader(r, limit+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if n > limit {
		return nil, fmt.Errorf("%s: larger than %d bytes", name, limit)
	}
	return buf.Bytes(), nil
}

// exists reports whether the file name exists.
func exists(ctx context.Context, name string) (bool, error) {
	if isLocal(name) {
		_, err := os.Stat(name)
		if errors.Is(err, fs.ErrNotExist) {
			return false, nil
		}
		return err == nil, err
	}
	fsys, err := filesystem.New(ctx, name)
	if err != nil {
		return false, err
	}
	defer fsys.Close()
	files, err := fsys.List(ctx, name)
	if err != nil {
		return false, err
	}
	return len(files) > 0, nil
}

// beamFS adapts Beam's filesystem layer to schema.DatasetFS.
type beamFS struct{ ctx context.Context }

func (b beamFS) List(glob string) ([]string, error) {
	if isLocal(glob) {
		return schema.LocalFS{}.List(glob)
	}
	fsys, err := filesystem.New(b.ctx, glob)
	if err != nil {
		return nil, err
	}
	defer fsys.Close()
	return fsys.List(b.ctx, glob)
}

func (b beamFS) ReadFile(name string) ([]byte, error) { return readFile(b.ctx, name, maxSmallFile) }

// maxSmallFile bounds the JSON files an index holds (index.json, manifests,
// reports, CURRENT).
const maxSmallFile = 64 << 20

// maxDataFile bounds one data file read whole (a search file, a reducer, a
// Parquet part of a remote index).
const maxDataFile = 16 << 30
