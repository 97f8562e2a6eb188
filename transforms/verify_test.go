package transforms

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"

	"github.com/vindex/vindex/runners"
	"github.com/vindex/vindex/schema"
)

// TestManifestRecordsAndReadersVerify: the shard writer records each part
// file's size and SHA-256 (hashed as written, equal to the bytes on disk);
// a listed part file that is changed (same size), truncated, missing or has
// another row count than the manifest's fails both the Beam reader and schema.ReadEmbeddingsFiles, instead of being read
// as data or dropped with a reject.
func TestManifestRecordsAndReadersVerify(t *testing.T) {
	ctx := context.Background()
	out := filepath.Join(t.TempDir(), "embeddings")
	var rows []schema.Embedding
	for _, s := range makeSongs("s", 9, 2) {
		rows = append(rows, fakeEmbed(s))
	}
	p, s := beam.NewPipelineWithRoot()
	WriteEmbeddings(s, out, beam.CreateList(s, rows), WriteOptions{Shards: 2})
	if _, err := runners.Run(ctx, p, runners.Options{}); err != nil {
		t.Fatal(err)
	}
	m, err := schema.ReadManifest(out)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Files) != 2 {
		t.Fatalf("manifest lists %d files, want 2", len(m.Files))
	}
	for _, f := range m.Files {
		b, err := os.ReadFile(filepath.Join(out, f.Name))
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(b)
		if f.Bytes != int64(len(b)) || f.SHA256 != hex.EncodeToString(sum[:]) {
			t.Errorf("%s: manifest records %d bytes, sha256 %s; file has %d, %x", f.Name, f.Bytes, f.SHA256, len(b), sum)
		}
	}
	read := func() error {
		p, s := beam.NewPipelineWithRoot()
		ReadEmbeddings(s, out)
		_, err := runners.Run(ctx, p, runners.Options{})
		return err
	}
	if err := read(); err != nil {
		t.Fatalf("intact dataset: %v", err)
	}
	// A manifest whose row count differs from the file's fails the run too.
	wrong := m
	wrong.Files = append([]schema.ManifestFile(nil), m.Files...)
	wrong.Files[0].Rows++
	wrong.Rows++
	if err := schema.WriteManifest(out, wrong); err != nil {
		t.Fatal(err)
	}
	if err := read(); err == nil || !strings.Contains(err.Error(), "manifest says") {
		t.Errorf("row count unlike the manifest's: %v, want a failed run", err)
	}
	if err := schema.WriteManifest(out, m); err != nil {
		t.Fatal(err)
	}
	part := filepath.Join(out, m.Files[0].Name)
	orig, err := os.ReadFile(part)
	if err != nil {
		t.Fatal(err)
	}
	flipped := append([]byte(nil), orig...)
	flipped[len(flipped)/2] ^= 0x40
	for _, tc := range []struct {
		name string
		data []byte // nil: remove the file
		want string
	}{
		{"changed", flipped, "sha256"},
		{"truncated", orig[:len(orig)-9], "bytes"},
		{"missing", nil, "missing"},
	} {
		if tc.data == nil {
			err = os.Remove(part)
		} else {
			err = os.WriteFile(part, tc.data, 0o644)
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := read(); err == nil || !strings.Contains(err.Error(), "differs from its manifest") || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s part file: pipeline error %v, want a manifest mismatch mentioning %q", tc.name, err, tc.want)
		}
		if _, err := schema.ReadEmbeddingsFiles(out); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s part file: ReadEmbeddingsFiles error %v, want one mentioning %q", tc.name, err, tc.want)
		}
	}
}
