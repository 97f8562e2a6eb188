package transforms

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"sync"

	"cloud.google.com/go/storage"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem"
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem/gcs"   // gs:// paths
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem/local" // local paths
	"github.com/apache/beam/sdks/v2/go/pkg/beam/util/gcsx"

	"github.com/vindex/vindex/schema"
)

// isLocal reports whether path has no URL scheme.
func isLocal(path string) bool { return !strings.Contains(path, "://") }

// beamFS adapts Beam's filesystem layer to schema.DatasetFS.
type beamFS struct{ ctx context.Context }

func (b beamFS) List(glob string) ([]string, error) {
	fsys, err := filesystem.New(b.ctx, glob)
	if err != nil {
		return nil, err
	}
	defer fsys.Close()
	return fsys.List(b.ctx, glob)
}

func (b beamFS) ReadFile(name string) ([]byte, error) {
	if isLocal(name) {
		return os.ReadFile(name)
	}
	fsys, err := filesystem.New(b.ctx, name)
	if err != nil {
		return nil, err
	}
	defer fsys.Close()
	// Beam's filesystems have no Stat: a file that does not list does not exist.
	if files, err := fsys.List(b.ctx, name); err == nil && len(files) == 0 {
		return nil, fmt.Errorf("%s: %w", name, fs.ErrNotExist)
	}
	r, err := fsys.OpenRead(b.ctx, name)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return io.ReadAll(io.LimitReader(r, 64<<20))
}

// writeFile writes data to name through Beam's filesystem layer, under a
// temporary name renamed into place.
func writeFileAtomic(ctx context.Context, name string, data []byte, tmpSuffix string) error {
	fsys, err := filesystem.New(ctx, name)
	if err != nil {
		return err
	}
	defer fsys.Close()
	dir, base := splitPath(name)
	tmp := schema.JoinPath(dir, schema.TempPrefix+base+"-"+tmpSuffix)
	w, err := fsys.OpenWrite(ctx, tmp)
	if err != nil {
		return err
	}
	if _, err := w.Write(data); err != nil {
		w.Close()
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	return renameFile(ctx, fsys, tmp, name)
}

// renameFile renames through the filesystem's Renamer, or copies and removes.
func renameFile(ctx context.Context, fsys filesystem.Interface, from, to string) error {
	if r, ok := fsys.(filesystem.Renamer); ok {
		return r.Rename(ctx, from, to)
	}
	c, okc := fsys.(filesystem.Copier)
	rm, okr := fsys.(filesystem.Remover)
	if !okc || !okr {
		return fmt.Errorf("transforms: file system of %s cannot rename files", to)
	}
	if err := c.Copy(ctx, from, to); err != nil {
		return err
	}
	return rm.Remove(ctx, from)
}

func splitPath(p string) (dir, base string) {
	i := strings.LastIndex(p, "/")
	if i < 0 {
		return ".", p
	}
	return p[:i], p[i+1:]
}

// opener opens files as io.ReaderAt, which parquet-go needs: os.File for
// local paths, ranged GCS reads for gs://, and for other schemes the
// stream's own ReaderAt/Seeker, or (last resort) the whole file in memory.
// An opener is per DoFn instance; Close releases its GCS client.
type opener struct {
	mu  sync.Mutex
	gcs *storage.Client
}

func (o *opener) open(ctx context.Context, path string) (io.ReaderAt, int64, io.Closer, error) {
	if isLocal(path) {
		f, err := os.Open(path)
		if err != nil {
			return nil, 0, nil, err
		}
		st, err := f.Stat()
		if err != nil {
			f.Close()
			return nil, 0, nil, err
		}
		return f, st.Size(), f, nil
	}
	if strings.HasPrefix(path, "gs://") {
		o.mu.Lock()
		if o.gcs == nil {
			c, err := gcsx.NewClient(ctx, storage.ScopeReadOnly)
			if err != nil {
				o.mu.Unlock()
				return nil, 0, nil, err
			}
			o.gcs = c
		}
		c := o.gcs
		o.mu.Unlock()
		bucket, object, err := gcsx.ParseObject(path)
		if err != nil {
			return nil, 0, nil, err
		}
		obj := c.Bucket(bucket).Object(object)
		attrs, err := obj.Attrs(ctx)
		if err != nil {
			return nil, 0, nil, err
		}
		return &gcsReaderAt{ctx: ctx, obj: obj.Generation(attrs.Generation)}, attrs.Size, io.NopCloser(nil), nil
	}
	fsys, err := filesystem.New(ctx, path)
	if err != nil {
		return nil, 0, nil, err
	}
	defer fsys.Close()
	size, err := fsys.Size(ctx, path)
	if err != nil {
		return nil, 0, nil, err
	}
	rc, err := fsys.OpenRead(ctx, path)
	if err != nil {
		return nil, 0, nil, err
	}
	switch r := rc.(type) {
	case io.ReaderAt:
		return r, size, rc, nil
	case io.ReadSeeker:
		return &seekerAt{r: r}, size, rc, nil
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		return nil, 0, nil, err
	}
	return strings.NewReader(string(data)), int64(len(data)), io.NopCloser(nil), nil
}

func (o *opener) Close() {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.gcs != nil {
		o.gcs.Close()
		o.gcs = nil
	}
}

// gcsReaderAt reads byte ranges of one generation of a GCS object.
type gcsReaderAt struct {
	ctx context.Context
	obj *storage.ObjectHandle
}

func (g *gcsReaderAt) ReadAt(p []byte, off int64) (int, error) {
	r, err := g.obj.NewRangeReader(g.ctx, off, int64(len(p)))
	if err != nil {
		return 0, err
	}
	defer r.Close()
	n, err := io.ReadFull(r, p)
	if errors.Is(err, io.ErrUnexpectedEOF) {
		err = io.EOF
	}
	return n, err
}

// seekerAt makes an io.ReadSeeker an io.ReaderAt (serialised).
type seekerAt struct {
	mu sync.Mutex
	r  io.ReadSeeker
}

func (s *seekerAt) ReadAt(p []byte, off int64) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.r.Seek(off, io.SeekStart); err != nil {
		return 0, err
	}
	n, err := io.ReadFull(s.r, p)
	if errors.Is(err, io.ErrUnexpectedEOF) {
		err = io.EOF
	}
	return n, err
}
