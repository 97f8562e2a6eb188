package schema

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"

	"github.com/vindex/vindex/storage"
)

// HashWriter passes writes through to W and hashes them (SHA-256), so a
// writer can record a file's size and hash as it writes it, without
// reading it back.
type HashWriter struct {
	W io.Writer
	h hash.Hash
	n int64
}

// NewHashWriter returns a HashWriter writing to w.
func NewHashWriter(w io.Writer) *HashWriter { return &HashWriter{W: w, h: sha256.New()} }

// Write writes p to W and hashes what W accepted.
func (w *HashWriter) Write(p []byte) (int, error) {
	n, err := w.W.Write(p)
	w.h.Write(p[:n])
	w.n += int64(n)
	return n, err
}

// Size is the number of bytes written.
func (w *HashWriter) Size() int64 { return w.n }

// SHA256 is the hex SHA-256 of the bytes written.
func (w *HashWriter) SHA256() string { return hex.EncodeToString(w.h.Sum(nil)) }

// verifyChunk is the read size of VerifyFile.
const verifyChunk = 1 << 20

// VerifyFile checks an open file against its manifest record df: its size
// always (when df.Bytes ≥ 0), and its SHA-256 when hash is set and the
// manifest records one. A mismatch is an error wrapping ErrChanged. A file
// no manifest lists passes.
func VerifyFile(ctx context.Context, f storage.File, df DatasetFile, hash bool) error {
	if !df.Listed() {
		return nil
	}
	if df.Bytes >= 0 && f.Size() != df.Bytes {
		return fmt.Errorf("schema: %s: %w: %d bytes, the manifest records %d", df.Path, ErrChanged, f.Size(), df.Bytes)
	}
	if !hash || df.SHA256 == "" {
		return nil
	}
	h := sha256.New()
	buf := make([]byte, verifyChunk)
	for off := int64(0); off < f.Size(); {
		if err := ctx.Err(); err != nil {
			return err
		}
		n, err := f.ReadAt(buf[:min(int64(len(buf)), f.Size()-off)], off)
		h.Write(buf[:n])
		off += int64(n)
		if err != nil && !(errors.Is(err, io.EOF) && off == f.Size()) {
			return fmt.Errorf("schema: %s: %w: reading: %v", df.Path, ErrChanged, err)
		}
		if n == 0 {
			return fmt.Errorf("schema: %s: %w: short read at byte %d", df.Path, ErrChanged, off)
		}
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != df.SHA256 {
		return fmt.Errorf("schema: %s: %w: sha256 %s, the manifest records %s", df.Path, ErrChanged, got[:12], df.SHA256[:12])
	}
	return nil
}

// OpenVerified opens a dataset file through o and checks it with
// VerifyFile. A file the manifest lists that is missing is an error wrapping
// ErrChanged (and fs.ErrNotExist): a dataset missing a listed file is not the
// dataset its manifest describes.
func OpenVerified(ctx context.Context, o *storage.Opener, df DatasetFile, hash bool) (storage.File, error) {
	f, err := o.Open(ctx, df.Path)
	if err != nil {
		if df.Listed() && errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("schema: %s: %w: listed in its folder's manifest but missing (%w)", df.Path, ErrChanged, err)
		}
		return nil, fmt.Errorf("schema: %w", err)
	}
	if err := VerifyFile(ctx, f, df, hash); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}
