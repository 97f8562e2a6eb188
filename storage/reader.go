package storage

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"sync"

	gcs "cloud.google.com/go/storage"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/util/gcsx"
)

// File is an open file read by ranges (what parquet-go needs).
type File interface {
	io.ReaderAt
	io.Closer
	Size() int64
}

// Opener opens files by URI for ranged reads: os.File locally, ranged reads of
// one object generation on gs://, and for other schemes the stream's own
// ReaderAt or Seeker (or, last, the whole file in memory). An Opener keeps
// one GCS client for all its files; Close releases it. It is safe for
// concurrent use.
type Opener struct {
	mu  sync.Mutex
	gcs *gcs.Client
}

// Open opens uri with a one-off Opener whose client is released with the file.
func Open(ctx context.Context, uri string) (File, error) {
	o := &Opener{}
	f, err := o.Open(ctx, uri)
	if err != nil {
		o.Close()
		return nil, err
	}
	return &ownedFile{File: f, o: o}, nil
}

type ownedFile struct {
	File
	o *Opener
}

func (f *ownedFile) Close() error {
	err := f.File.Close()
	f.o.Close()
	return err
}

// Close releases the Opener's clients; files it opened must be closed first.
func (o *Opener) Close() {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.gcs != nil {
		o.gcs.Close()
		o.gcs = nil
	}
}

// ErrNotRegular: a local path that is not a regular file (a folder, FIFO,
// device or socket). Open refuses it from the path's metadata, before
// opening it.
var ErrNotRegular = errors.New("storage: not a regular file")

// Open opens uri for ranged reads. A missing file wraps fs.ErrNotExist; a
// local path that is not a regular file wraps ErrNotRegular.
func (o *Opener) Open(ctx context.Context, uri string) (File, error) {
	if IsLocal(uri) {
		// checked before opening too: opening a FIFO blocks until a writer
		// appears, and a device such as /dev/zero never ends
		if st, err := os.Stat(uri); err != nil {
			return nil, err
		} else if !st.Mode().IsRegular() {
			return nil, fmt.Errorf("%w: %s (%s)", ErrNotRegular, uri, st.Mode().Type())
		}
		f, err := os.Open(uri)
		if err != nil {
			return nil, err
		}
		st, err := f.Stat()
		if err != nil {
			f.Close()
			return nil, err
		}
		if !st.Mode().IsRegular() {
			f.Close()
			return nil, fmt.Errorf("%w: %s (%s)", ErrNotRegular, uri, st.Mode().Type())
		}
		return &localFile{File: f, size: st.Size()}, nil
	}
	if strings.HasPrefix(uri, "gs://") {
		return o.openGCS(ctx, uri)
	}
	return openStream(ctx, uri)
}

type localFile struct {
	*os.File
	size int64
}

func (f *localFile) Size() int64 { return f.size }

func (o *Opener) openGCS(ctx context.Context, uri string) (File, error) {
	o.mu.Lock()
	if o.gcs == nil {
		c, err := gcsx.NewClient(ctx, gcs.ScopeReadOnly)
		if err != nil {
			o.mu.Unlock()
			return nil, fmt.Errorf("storage: %s: %w", uri, err)
		}
		o.gcs = c
	}
	c := o.gcs
	o.mu.Unlock()
	bucket, object, err := gcsx.ParseObject(uri)
	if err != nil {
		return nil, fmt.Errorf("storage: %w", err)
	}
	obj := c.Bucket(bucket).Object(object)
	attrs, err := obj.Attrs(ctx)
	if errors.Is(err, gcs.ErrObjectNotExist) {
		return nil, fmt.Errorf("storage: %s: %w", uri, fs.ErrNotExist)
	}
	if err != nil {
		return nil, fmt.Errorf("storage: %s: %w", uri, err)
	}
	return &gcsFile{ctx: ctx, obj: obj.Generation(attrs.Generation), size: attrs.Size}, nil
}

// gcsFile reads byte ranges of one generation of a GCS object.
type gcsFile struct {
	ctx  context.Context
	obj  *gcs.ObjectHandle
	size int64
}

func (g *gcsFile) Size() int64  { return g.size }
func (g *gcsFile) Close() error { return nil }

func (g *gcsFile) ReadAt(p []byte, off int64) (int, error) {
	if off >= g.size {
		return 0, io.EOF
	}
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

func openStream(ctx context.Context, uri string) (File, error) {
	fsys, err := open(ctx, uri)
	if err != nil {
		return nil, err
	}
	defer fsys.Close()
	size, err := fsys.Size(ctx, uri)
	if err != nil {
		return nil, fmt.Errorf("storage: %s: %w", uri, err)
	}
	rc, err := fsys.OpenRead(ctx, uri)
	if err != nil {
		return nil, fmt.Errorf("storage: %s: %w", uri, err)
	}
	switch r := rc.(type) {
	case io.ReaderAt:
		return &streamFile{ReaderAt: r, Closer: rc, size: size}, nil
	case io.ReadSeeker:
		return &streamFile{ReaderAt: &seekerAt{r: r}, Closer: rc, size: size}, nil
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, size+1))
	if err != nil {
		return nil, fmt.Errorf("storage: %s: %w", uri, err)
	}
	return &streamFile{ReaderAt: strings.NewReader(string(data)), Closer: io.NopCloser(nil), size: int64(len(data))}, nil
}

type streamFile struct {
	io.ReaderAt
	io.Closer
	size int64
}

func (s *streamFile) Size() int64 { return s.size }

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
