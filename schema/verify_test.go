package schema

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/vindex/vindex/storage"
)

func TestVerifyFile(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "f.parquet")
	data := make([]byte, 3*verifyChunk+17) // several chunks and a tail
	for i := range data {
		data[i] = byte(i * 7)
	}
	hw := NewHashWriter(new(discard))
	hw.Write(data)
	sum := sha256.Sum256(data)
	if hw.SHA256() != hex.EncodeToString(sum[:]) || hw.Size() != int64(len(data)) {
		t.Fatalf("HashWriter: %d bytes %s, want %d %x", hw.Size(), hw.SHA256(), len(data), sum)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	good := DatasetFile{Path: path, Rows: 1, Bytes: int64(len(data)), SHA256: hw.SHA256()}
	o := &storage.Opener{}
	defer o.Close()
	check := func(df DatasetFile, hash bool) error {
		f, err := OpenVerified(ctx, o, df, hash)
		if err == nil {
			f.Close()
		}
		return err
	}
	if err := check(good, true); err != nil {
		t.Fatalf("intact file: %v", err)
	}
	bad := good
	bad.SHA256 = hex.EncodeToString(make([]byte, 32))
	if err := check(bad, true); !errors.Is(err, ErrChanged) {
		t.Errorf("wrong hash: %v, want ErrChanged", err)
	}
	if err := check(bad, false); err != nil {
		t.Errorf("wrong hash, size-only check: %v, want nil", err)
	}
	bad = good
	bad.Bytes++
	if err := check(bad, false); !errors.Is(err, ErrChanged) {
		t.Errorf("wrong size: %v, want ErrChanged", err)
	}
	bad = good
	bad.Path = filepath.Join(dir, "gone.parquet")
	if err := check(bad, false); !errors.Is(err, ErrChanged) {
		t.Errorf("missing listed file: %v, want ErrChanged", err)
	}
	if err := check(DatasetFile{Path: path, Rows: -1, Bytes: -1}, true); err != nil {
		t.Errorf("unlisted file: %v, want nil", err)
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// BenchmarkVerifyFile measures what a reader pays to check a manifest-listed
// file: "size" opens and stats it (what is always done), "sha256" also reads
// and hashes every byte, "read" reads every byte without hashing (the I/O
// share of "sha256"). 64 MiB, in the page cache.
func BenchmarkVerifyFile(b *testing.B) {
	ctx := context.Background()
	path := filepath.Join(b.TempDir(), "f.parquet")
	data := make([]byte, 64<<20)
	for i := range data {
		data[i] = byte(i * 31)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		b.Fatal(err)
	}
	sum := sha256.Sum256(data)
	df := DatasetFile{Path: path, Rows: 1, Bytes: int64(len(data)), SHA256: hex.EncodeToString(sum[:])}
	o := &storage.Opener{}
	defer o.Close()
	for _, mode := range []string{"size", "sha256", "read"} {
		b.Run(mode, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			buf := make([]byte, verifyChunk)
			for b.Loop() {
				f, err := OpenVerified(ctx, o, df, mode == "sha256")
				if err != nil {
					b.Fatal(err)
				}
				if mode == "read" {
					for off := int64(0); off < f.Size(); off += verifyChunk {
						f.ReadAt(buf, off)
					}
				}
				f.Close()
			}
		})
	}
}
