package storage

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	gcs "cloud.google.com/go/storage"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/util/gcsx"
	"google.golang.org/api/googleapi"
)

// ErrExists is returned by CreateExclusive when the file is already there.
var ErrExists = errors.New("storage: file exists")

// ErrChanged is returned by Replace and RemoveIf when the file no longer
// holds the content the caller expected: another writer got there first.
var ErrChanged = errors.New("storage: file changed since it was read")

// maxSmallFile bounds the pointer and lock files the conditional operations read.
const maxSmallFile = 1 << 20

// CreateExclusive publishes data at uri only if no file is there: of two
// concurrent callers exactly one succeeds, the other gets ErrExists. A reader
// sees no file or the whole file. Locally the data is written to a temporary
// file, synced and hard-linked to uri (link fails if uri exists); on GCS the
// upload carries the precondition "no live generation".
func CreateExclusive(ctx context.Context, uri string, data []byte) error {
	if IsLocal(uri) {
		return createExclusiveLocal(uri, data)
	}
	obj, cl, err := gcsObject(ctx, uri)
	if err != nil {
		return err
	}
	defer cl.Close()
	return gcsWrite(ctx, obj.If(gcs.Conditions{DoesNotExist: true}), uri, data, ErrExists)
}

func createExclusiveLocal(uri string, data []byte) error {
	dir := filepath.Dir(uri)
	if err := os.MkdirAll(dir, DirPerm); err != nil {
		return fmt.Errorf("storage: %w", err)
	}
	tmp := filepath.Join(dir, TempPrefix+filepath.Base(uri)+"-"+RandomHex(6))
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_EXCL|os.O_WRONLY, Perm)
	if err != nil {
		return fmt.Errorf("storage: %w", err)
	}
	defer os.Remove(tmp)
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("storage: writing %s: %w", uri, err)
	}
	if err := os.Link(tmp, uri); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("storage: %s: %w", uri, ErrExists)
		}
		return fmt.Errorf("storage: %w", err)
	}
	return SyncDir(dir)
}

// Replace replaces the content of uri by data if, and only if, it still
// holds old (nil old: if uri does not exist). Otherwise it returns an error
// wrapping ErrChanged and leaves uri alone. On GCS the write carries the
// generation read as precondition; locally the compare and the atomic rename
// run under an exclusive lock file (uri + ".lock", created with O_EXCL).
func Replace(ctx context.Context, uri string, old, data []byte) error {
	if IsLocal(uri) {
		return withLocalLock(uri, func() error {
			if err := compareLocal(uri, old); err != nil {
				return err
			}
			return WriteFile(ctx, uri, data)
		})
	}
	obj, cl, err := gcsObject(ctx, uri)
	if err != nil {
		return err
	}
	defer cl.Close()
	cond, err := gcsCompare(ctx, obj, uri, old)
	if err != nil {
		return err
	}
	return gcsWrite(ctx, obj.If(cond), uri, data, ErrChanged)
}

// RemoveIf removes uri if it still holds old; otherwise it returns an error
// wrapping ErrChanged. A missing file is not an error when old is nil.
func RemoveIf(ctx context.Context, uri string, old []byte) error {
	if IsLocal(uri) {
		return withLocalLock(uri, func() error {
			if err := compareLocal(uri, old); err != nil {
				return err
			}
			return Remove(ctx, uri)
		})
	}
	obj, cl, err := gcsObject(ctx, uri)
	if err != nil {
		return err
	}
	defer cl.Close()
	cond, err := gcsCompare(ctx, obj, uri, old)
	if err != nil {
		return err
	}
	if cond.DoesNotExist {
		return nil
	}
	if err := obj.If(cond).Delete(ctx); err != nil {
		if isPrecondition(err) {
			return fmt.Errorf("storage: %s: %w", uri, ErrChanged)
		}
		if errors.Is(err, gcs.ErrObjectNotExist) {
			return nil
		}
		return fmt.Errorf("storage: removing %s: %w", uri, err)
	}
	return nil
}

func compareLocal(uri string, old []byte) error {
	cur, err := os.ReadFile(uri)
	switch {
	case errors.Is(err, fs.ErrNotExist) && old == nil:
		return nil
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("storage: %s: removed: %w", uri, ErrChanged)
	case err != nil:
		return fmt.Errorf("storage: %w", err)
	case old == nil || !bytes.Equal(cur, old):
		return fmt.Errorf("storage: %s: %w", uri, ErrChanged)
	}
	return nil
}

// localLockStale is the age after which a compare-and-swap lock file left by
// a killed process is broken (a swap holds it for milliseconds).
const localLockStale = time.Minute

// withLocalLock runs fn holding uri + ".lock", created with O_EXCL.
func withLocalLock(uri string, fn func() error) error {
	lock := uri + ".lock"
	if err := os.MkdirAll(filepath.Dir(uri), DirPerm); err != nil {
		return fmt.Errorf("storage: %w", err)
	}
	deadline := time.Now().Add(2 * localLockStale)
	for {
		f, err := os.OpenFile(lock, os.O_CREATE|os.O_EXCL|os.O_WRONLY, Perm)
		if err == nil {
			f.Close()
			break
		}
		if !errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("storage: %w", err)
		}
		if st, err := os.Stat(lock); err == nil && time.Since(st.ModTime()) > localLockStale {
			os.Remove(lock)
			continue
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("storage: %s is held by another process", lock)
		}
		time.Sleep(20 * time.Millisecond)
	}
	defer os.Remove(lock)
	return fn()
}

// gcsObject returns a read-write handle on uri and its client.
func gcsObject(ctx context.Context, uri string) (*gcs.ObjectHandle, *gcs.Client, error) {
	if Scheme(uri) != "gs" {
		return nil, nil, fmt.Errorf("storage: %s: conditional writes need a local path or gs:// (scheme %q)", uri, Scheme(uri))
	}
	bucket, object, err := gcsx.ParseObject(uri)
	if err != nil {
		return nil, nil, fmt.Errorf("storage: %w", err)
	}
	c, err := gcsx.NewClient(ctx, gcs.ScopeReadWrite)
	if err != nil {
		return nil, nil, fmt.Errorf("storage: %s: %w", uri, err)
	}
	return c.Bucket(bucket).Object(object), c, nil
}

// gcsCompare reads obj and returns the precondition that pins the
// generation holding old (DoesNotExist when old is nil and obj is absent).
func gcsCompare(ctx context.Context, obj *gcs.ObjectHandle, uri string, old []byte) (gcs.Conditions, error) {
	attrs, err := obj.Attrs(ctx)
	if errors.Is(err, gcs.ErrObjectNotExist) {
		if old == nil {
			return gcs.Conditions{DoesNotExist: true}, nil
		}
		return gcs.Conditions{}, fmt.Errorf("storage: %s: removed: %w", uri, ErrChanged)
	}
	if err != nil {
		return gcs.Conditions{}, fmt.Errorf("storage: %s: %w", uri, err)
	}
	if old == nil || attrs.Size > maxSmallFile {
		return gcs.Conditions{}, fmt.Errorf("storage: %s: %w", uri, ErrChanged)
	}
	r, err := obj.Generation(attrs.Generation).NewReader(ctx)
	if errors.Is(err, gcs.ErrObjectNotExist) {
		// Replaced between Attrs and the read: that generation is gone.
		return gcs.Conditions{}, fmt.Errorf("storage: %s: replaced meanwhile: %w", uri, ErrChanged)
	}
	if err != nil {
		return gcs.Conditions{}, fmt.Errorf("storage: reading %s: %w", uri, err)
	}
	cur, err := io.ReadAll(io.LimitReader(r, maxSmallFile))
	r.Close()
	if err != nil {
		return gcs.Conditions{}, fmt.Errorf("storage: reading %s: %w", uri, err)
	}
	if !bytes.Equal(cur, old) {
		return gcs.Conditions{}, fmt.Errorf("storage: %s: %w", uri, ErrChanged)
	}
	return gcs.Conditions{GenerationMatch: attrs.Generation}, nil
}

// gcsWrite uploads data to obj (whose conditions are set); a failed
// precondition becomes conflict.
func gcsWrite(ctx context.Context, obj *gcs.ObjectHandle, uri string, data []byte, conflict error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	w := obj.NewWriter(ctx)
	w.ChunkSize = 0 // one request: the object appears whole or not at all
	if _, err := w.Write(data); err != nil {
		w.Close()
		return fmt.Errorf("storage: writing %s: %w", uri, err)
	}
	if err := w.Close(); err != nil {
		if isPrecondition(err) {
			return fmt.Errorf("storage: %s: %w", uri, conflict)
		}
		return fmt.Errorf("storage: writing %s: %w", uri, err)
	}
	return nil
}

func isPrecondition(err error) bool {
	var ge *googleapi.Error
	if errors.As(err, &ge) {
		return ge.Code == http.StatusPreconditionFailed
	}
	return strings.Contains(err.Error(), "conditionNotMet") || errors.Is(err, syscall.EEXIST)
}

// ListTree returns every file under the folder dir (recursively), sorted;
// a missing folder gives none.
func ListTree(ctx context.Context, dir string) ([]string, error) {
	dir = strings.TrimSuffix(dir, "/")
	if IsLocal(dir) {
		var out []string
		err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				if errors.Is(err, fs.ErrNotExist) && p == dir {
					return filepath.SkipAll
				}
				return err
			}
			if !d.IsDir() {
				out = append(out, p)
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("storage: %w", err)
		}
		return out, nil
	}
	return List(ctx, dir+"/**")
}

// RemoveAll removes the folder dir and everything under it.
func RemoveAll(ctx context.Context, dir string) error {
	if IsLocal(dir) {
		if err := os.RemoveAll(dir); err != nil {
			return fmt.Errorf("storage: %w", err)
		}
		return nil
	}
	files, err := ListTree(ctx, dir)
	if err != nil {
		return err
	}
	for _, f := range files {
		if err := Remove(ctx, f); err != nil {
			return err
		}
	}
	return nil
}

// CheckAll is Check on each non-empty URI: a command calls it on all its
// inputs and outputs before anything runs.
func CheckAll(uris ...string) error {
	for _, u := range uris {
		if u == "" {
			continue
		}
		if err := Check(u); err != nil {
			return err
		}
	}
	return nil
}
