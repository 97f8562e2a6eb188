package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestFitReduceBadFlags checks that bad values fail before any pipeline runs,
// with a message naming the problem.
func TestFitReduceBadFlags(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "e.parquet")
	if err := os.WriteFile(in, []byte("PAR1"), 0o644); err != nil {
		t.Fatal(err)
	}
	bogus := filepath.Join(dir, "bogus.vxr")
	if err := os.WriteFile(bogus, []byte("not a reducer"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "r.vxr")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"fit", "--method", "lda", "--dim", "8", "--in", in, "--out", out}, "unknown method"},
		{[]string{"fit", "--dim", "0", "--in", in, "--out", out}, "output dimension 0"},
		{[]string{"fit", "--method", "ica", "--whiten", "--dim", "8", "--in", in, "--out", out}, "whitening"},
		{[]string{"fit", "--method", "pca", "--sample", "100", "--dim", "8", "--in", in, "--out", out}, "sample"},
		{[]string{"fit", "--method", "ica", "--sample", "4", "--dim", "8", "--in", in, "--out", out}, "smaller than"},
		{[]string{"fit", "--dim", "8", "--out", out}, "no input"},
		{[]string{"fit", "--dim", "8", "--in", in}, "no output"},
		{[]string{"fit", "--dim", "8", "--in", filepath.Join(dir, "none-*.parquet"), "--out", out}, "no files match"},
		{[]string{"reduce", "--in", in, "--out", dir}, "no reducer"},
		{[]string{"reduce", "--reducer", bogus, "--in", in, "--out", dir}, "malformed reducer file"},
		{[]string{"reduce", "--reducer", filepath.Join(dir, "missing.vxr"), "--in", in, "--out", dir}, "missing.vxr"},
	} {
		var stdout, stderr bytes.Buffer
		err := run(context.Background(), tc.args, &stdout, &stderr)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("vindex %s: err = %v, want one containing %q", strings.Join(tc.args, " "), err, tc.want)
		}
	}
	if _, err := os.Stat(out); err == nil {
		t.Error("a failed fit wrote a reducer")
	}
}
