package storage

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// TestConditionalLocal: exclusive creation, compare-and-swap and
// conditional removal on local paths (the GCS versions run against an
// emulator in cmd/vindex).
func TestConditionalLocal(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	p := filepath.Join(dir, "sub", "LOCK")
	if err := CreateExclusive(ctx, p, []byte("a")); err != nil {
		t.Fatal(err)
	}
	if err := CreateExclusive(ctx, p, []byte("b")); !errors.Is(err, ErrExists) {
		t.Fatalf("second CreateExclusive: %v, want ErrExists", err)
	}
	if b, _ := os.ReadFile(p); string(b) != "a" {
		t.Fatalf("content %q after a refused create, want a", b)
	}
	if err := Replace(ctx, p, []byte("x"), []byte("c")); !errors.Is(err, ErrChanged) {
		t.Fatalf("Replace from a wrong old content: %v, want ErrChanged", err)
	}
	if err := Replace(ctx, p, nil, []byte("c")); !errors.Is(err, ErrChanged) {
		t.Fatalf("Replace expecting no file: %v, want ErrChanged", err)
	}
	if err := Replace(ctx, p, []byte("a"), []byte("c")); err != nil {
		t.Fatal(err)
	}
	if err := RemoveIf(ctx, p, []byte("a")); !errors.Is(err, ErrChanged) {
		t.Fatalf("RemoveIf with stale content: %v, want ErrChanged", err)
	}
	if err := RemoveIf(ctx, p, []byte("c")); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(p); !os.IsNotExist(err) {
		t.Fatalf("file still there after RemoveIf: %v", err)
	}
	if err := Replace(ctx, p, nil, []byte("d")); err != nil {
		t.Fatalf("Replace of a missing file expecting none: %v", err)
	}
	// No lock or temporary file is left behind.
	files, err := ListTree(ctx, dir)
	if err != nil || !slices.Equal(files, []string{p}) {
		t.Fatalf("ListTree = %v, %v; want only %s", files, err, p)
	}
	if err := RemoveAll(ctx, filepath.Join(dir, "sub")); err != nil {
		t.Fatal(err)
	}
	if files, err := ListTree(ctx, filepath.Join(dir, "sub")); err != nil || len(files) != 0 {
		t.Fatalf("after RemoveAll: %v, %v", files, err)
	}
	if err := CheckAll("", dir, "gs://b/o"); err != nil {
		t.Errorf("CheckAll of local and gs://: %v", err)
	}
	if err := CheckAll(dir, "hdfs://nn/x"); err == nil {
		t.Error("CheckAll of hdfs://: want an error")
	}
}
