package storage

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

func TestJoinSplit(t *testing.T) {
	for _, c := range []struct{ base, elem, want string }{
		{"gs://b/x", "y", "gs://b/x/y"},
		{"gs://b/x/", "y/z", "gs://b/x/y/z"},
		{"s3://b", "v0001", "s3://b/v0001"},
		{"/tmp/a", "b", "/tmp/a/b"},
		{"rel", "b", "rel/b"},
	} {
		if got := Join(c.base, c.elem); got != c.want {
			t.Errorf("Join(%q, %q) = %q, want %q", c.base, c.elem, got, c.want)
		}
	}
	if d, b := Split("gs://b/x/y"); d != "gs://b/x" || b != "y" {
		t.Errorf("Split = %q, %q", d, b)
	}
	if Scheme("/a/b://c") != "" || Scheme("gs://b") != "gs" {
		t.Error("Scheme")
	}
}

func TestCheckRefusesUnknownScheme(t *testing.T) {
	if err := Check("nosuch://bucket/x"); err == nil {
		t.Fatal("Check accepted an unregistered scheme")
	}
	for _, ok := range []string{"/tmp/x", "rel/x", "gs://bucket/x"} {
		if err := Check(ok); err != nil {
			t.Errorf("Check(%q): %v", ok, err)
		}
	}
}

func TestCreateCommitAbort(t *testing.T) {
	old := syscall.Umask(0o022)
	defer syscall.Umask(old)
	ctx := context.Background()
	dir := t.TempDir()
	p := filepath.Join(dir, "sub", "f.json")
	w, err := Create(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("hello"))
	if _, err := os.Stat(p); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("file visible before Commit: %v", err)
	}
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(p)
	if err != nil || st.Mode().Perm() != 0o644 {
		t.Fatalf("published %v, %v; want mode 0644", st.Mode(), err)
	}
	if st, _ := os.Stat(filepath.Dir(p)); st.Mode().Perm() != 0o755 {
		t.Errorf("folder mode %v, want 0755", st.Mode().Perm())
	}
	b, err := ReadFile(ctx, p, 0)
	if err != nil || string(b) != "hello" {
		t.Fatalf("ReadFile = %q, %v", b, err)
	}
	if _, err := ReadFile(ctx, p, 3); err == nil {
		t.Error("ReadFile ignored its limit")
	}
	w, _ = Create(ctx, filepath.Join(dir, "g"))
	w.Write([]byte("x"))
	w.Abort()
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Errorf("Abort left files: %v", ents)
	}
	syscall.Umask(0o077)
	if err := WriteFile(ctx, filepath.Join(dir, "private"), nil); err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(filepath.Join(dir, "private")); st.Mode().Perm() != 0o600 {
		t.Errorf("umask not respected: %v", st.Mode().Perm())
	}
}

func TestOpenRefusesNonRegular(t *testing.T) {
	if _, err := Open(context.Background(), "/dev/zero"); err == nil {
		t.Fatal("opened /dev/zero")
	}
	if _, err := Open(context.Background(), filepath.Join(t.TempDir(), "missing")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("missing file: %v", err)
	}
}
