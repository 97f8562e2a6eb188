package storage

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem"
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem/gcs"   // gs://
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem/local" // local paths
)

// TempPrefix starts the names of files being written; dataset readers skip them.
const TempPrefix = ".tmp-"

// Perm and DirPerm are the modes of published files and folders (before umask).
const (
	Perm    fs.FileMode = 0o644
	DirPerm fs.FileMode = 0o755
)

// IsLocal reports whether uri has no scheme (a local path).
func IsLocal(uri string) bool { return Scheme(uri) == "" }

// Scheme returns uri's scheme ("gs" for gs://b/o), or "" for a local path.
func Scheme(uri string) string {
	i := strings.Index(uri, "://")
	if i <= 0 || strings.ContainsAny(uri[:i], "/\\") {
		return ""
	}
	return uri[:i]
}

// Check returns an error if uri's scheme has no registered file system.
func Check(uri string) error {
	if uri == "" {
		return errors.New("storage: empty path")
	}
	if IsLocal(uri) {
		return nil
	}
	fsys, err := filesystem.New(context.Background(), uri)
	if err != nil {
		return fmt.Errorf("storage: %s: unsupported scheme %q (supported: local paths, gs://)", uri, Scheme(uri))
	}
	fsys.Close()
	return nil
}

// Join joins elem to the URI base with "/" (filepath.Join for local paths).
func Join(base string, elem ...string) string {
	if IsLocal(base) {
		return filepath.Join(append([]string{base}, elem...)...)
	}
	s := Scheme(base)
	rest := strings.TrimPrefix(base, s+"://")
	return s + "://" + path.Join(append([]string{rest}, elem...)...)
}

// Split splits uri after its last "/" (or path separator for local paths):
// Split("gs://b/x/y") is ("gs://b/x", "y").
func Split(uri string) (dir, base string) {
	if IsLocal(uri) {
		return filepath.Dir(uri), filepath.Base(uri)
	}
	i := strings.LastIndex(uri, "/")
	return uri[:i], uri[i+1:]
}

// Dir returns uri without its last element.
func Dir(uri string) string { d, _ := Split(uri); return d }

// Base returns uri's last element.
func Base(uri string) string { _, b := Split(uri); return b }

// RandomHex returns n random bytes as 2n hex digits: run ids and temporary names.
func RandomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic("storage: crypto/rand: " + err.Error())
	}
	return hex.EncodeToString(b)
}

func open(ctx context.Context, uri string) (filesystem.Interface, error) {
	fsys, err := filesystem.New(ctx, uri)
	if err != nil {
		return nil, fmt.Errorf("storage: %s: %w", uri, err)
	}
	return fsys, nil
}

// Writer is a file being published; see Create.
type Writer struct {
	final string
	// local
	f   *os.File
	tmp string
	// remote
	w      io.WriteCloser
	fsys   filesystem.Interface
	cancel context.CancelFunc

	n    int64
	done bool
}

// Create starts publishing uri. Nothing is visible at uri until Commit;
// Abort (or a failed Commit) leaves no trace. Local folders are created.
func Create(ctx context.Context, uri string) (*Writer, error) {
	if IsLocal(uri) {
		dir, base := filepath.Split(uri)
		if dir == "" {
			dir = "."
		}
		if err := MkdirAll(dir); err != nil {
			return nil, err
		}
		tmp := filepath.Join(dir, TempPrefix+base+"-"+RandomHex(6))
		f, err := os.OpenFile(tmp, os.O_CREATE|os.O_EXCL|os.O_WRONLY, Perm)
		if err != nil {
			return nil, fmt.Errorf("storage: %w", err)
		}
		return &Writer{final: uri, f: f, tmp: tmp}, nil
	}
	fsys, err := open(ctx, uri)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	w, err := fsys.OpenWrite(ctx, uri)
	if err != nil {
		cancel()
		fsys.Close()
		return nil, fmt.Errorf("storage: creating %s: %w", uri, err)
	}
	return &Writer{final: uri, w: w, fsys: fsys, cancel: cancel}, nil
}

// Write writes p to the file being published.
func (w *Writer) Write(p []byte) (int, error) {
	var n int
	var err error
	if w.f != nil {
		n, err = w.f.Write(p)
	} else {
		n, err = w.w.Write(p)
	}
	w.n += int64(n)
	return n, err
}

// Size is the number of bytes written so far.
func (w *Writer) Size() int64 { return w.n }

// Name is the URI the writer publishes.
func (w *Writer) Name() string { return w.final }

// Commit makes the file visible at its URI, durably: locally the file is
// synced, renamed into place and its folder synced.
func (w *Writer) Commit() error {
	if w.done {
		return fmt.Errorf("storage: %s: already committed or aborted", w.final)
	}
	w.done = true
	if w.f != nil {
		err := w.f.Sync()
		if cerr := w.f.Close(); err == nil {
			err = cerr
		}
		if err == nil {
			err = os.Rename(w.tmp, w.final)
		}
		if err != nil {
			os.Remove(w.tmp)
			return fmt.Errorf("storage: writing %s: %w", w.final, err)
		}
		if err := SyncDir(filepath.Dir(w.final)); err != nil {
			return err
		}
		return nil
	}
	defer w.fsys.Close()
	defer w.cancel()
	if err := w.w.Close(); err != nil {
		return fmt.Errorf("storage: writing %s: %w", w.final, err)
	}
	return nil
}

// Abort discards the file; it is a no-op after Commit.
func (w *Writer) Abort() {
	if w.done {
		return
	}
	w.done = true
	if w.f != nil {
		w.f.Close()
		os.Remove(w.tmp)
		return
	}
	w.cancel() // an unfinished upload is never finalised
	w.w.Close()
	w.fsys.Close()
}

// MkdirAll creates a local folder and its missing parents, durably: the
// parent of every folder it creates is fsynced, so a file later published
// (and synced) in a new folder cannot vanish with its folder's entry after a
// crash. Remote URIs need nothing.
func MkdirAll(dir string) error {
	if !IsLocal(dir) {
		return nil
	}
	var created []string
	for d := filepath.Clean(dir); ; d = filepath.Dir(d) {
		if _, err := os.Stat(d); err == nil || filepath.Dir(d) == d {
			break
		}
		created = append(created, d)
	}
	if err := os.MkdirAll(dir, DirPerm); err != nil {
		return fmt.Errorf("storage: %w", err)
	}
	for i := len(created) - 1; i >= 0; i-- {
		if err := SyncDir(filepath.Dir(created[i])); err != nil {
			return err
		}
	}
	return nil
}

// SyncDir fsyncs a local folder, so that renames and creations in it survive
// a crash. Remote URIs need nothing.
func SyncDir(dir string) error {
	if !IsLocal(dir) {
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("storage: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, os.ErrInvalid) {
		return fmt.Errorf("storage: syncing %s: %w", dir, err)
	}
	return nil
}

// WriteTo publishes uri with the bytes write produces; see Create.
func WriteTo(ctx context.Context, uri string, write func(io.Writer) error) error {
	w, err := Create(ctx, uri)
	if err != nil {
		return err
	}
	if err := write(w); err != nil {
		w.Abort()
		return err
	}
	return w.Commit()
}

// WriteFile publishes data at uri; see Create.
func WriteFile(ctx context.Context, uri string, data []byte) error {
	return WriteTo(ctx, uri, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// ReadFile reads the whole of uri, refusing files larger than limit bytes
// (limit ≤ 0: no limit). A missing file is an error wrapping fs.ErrNotExist.
func ReadFile(ctx context.Context, uri string, limit int64) ([]byte, error) {
	r, err := Open(ctx, uri)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	if limit > 0 && r.Size() > limit {
		return nil, fmt.Errorf("storage: %s: %d bytes, more than the %d allowed", uri, r.Size(), limit)
	}
	b := make([]byte, r.Size())
	if _, err := r.ReadAt(b, 0); err != nil && !(errors.Is(err, io.EOF) && len(b) == 0) {
		return nil, fmt.Errorf("storage: reading %s: %w", uri, err)
	}
	return b, nil
}

// List returns the files matching glob, sorted.
func List(ctx context.Context, glob string) ([]string, error) {
	fsys, err := open(ctx, glob)
	if err != nil {
		return nil, err
	}
	defer fsys.Close()
	return fsys.List(ctx, glob)
}

// Exists reports whether uri names an existing file.
func Exists(ctx context.Context, uri string) (bool, error) {
	if IsLocal(uri) {
		_, err := os.Stat(uri)
		if errors.Is(err, fs.ErrNotExist) {
			return false, nil
		}
		return err == nil, err
	}
	files, err := List(ctx, uri)
	if err != nil {
		return false, err
	}
	return len(files) > 0, nil
}

// Remove deletes uri; a missing file is not an error.
func Remove(ctx context.Context, uri string) error {
	if IsLocal(uri) {
		if err := os.Remove(uri); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("storage: %w", err)
		}
		return nil
	}
	fsys, err := open(ctx, uri)
	if err != nil {
		return err
	}
	defer fsys.Close()
	rm, ok := fsys.(filesystem.Remover)
	if !ok {
		return fmt.Errorf("storage: %s: the file system cannot remove files", uri)
	}
	if ok, err := Exists(ctx, uri); err == nil && !ok {
		return nil
	}
	return rm.Remove(ctx, uri)
}
