package main

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

func TestDistillBadInvocations(t *testing.T) {
	dir := t.TempDir()
	teacher := "../../model/testdata/parity/ckpt_sum4-fa3-d256-zip.pt"
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"distill", "--teacher", teacher, "--in", dir, "--out", "s.safetensors"}, "--method and --dim are required"},
		{[]string{"distill", "--method", "lda", "--dim", "32", "--teacher", teacher, "--in", dir, "--out", "s.safetensors"}, "unknown method"},
		{[]string{"distill", "--method", "lsr", "--dim", "32", "--teacher", teacher, "--in", dir, "--out", "s.pt"}, "safetensors"},
		{[]string{"distill", "--method", "lsr", "--dim", "0", "--teacher", teacher, "--in", dir, "--out", "s.safetensors"}, "dimension 0"},
		{[]string{"distill", "--method", "kd", "--dim", "32", "--teacher", teacher, "--in", filepath.Join(dir, "none"), "--out", filepath.Join(dir, "s.safetensors")}, "none"},
		{[]string{"pooled", "--teacher", teacher, "--out", dir}, "--in"},
		{[]string{"pooled", "--teacher", teacher, "--in", dir, "--out", dir, "--patches", "-1"}, "patches"},
	} {
		var stdout, stderr bytes.Buffer
		err := run(context.Background(), tc.args, &stdout, &stderr)
		if err == nil {
			t.Errorf("vindex %s: no error", strings.Join(tc.args, " "))
			continue
		}
		msg := err.Error()
		if errors.Is(err, errUsage) {
			msg = "usage: " + stderr.String()
		}
		if !strings.Contains(msg, tc.want) {
			t.Errorf("vindex %s: %q, want it to mention %q", strings.Join(tc.args, " "), msg, tc.want)
		}
	}
}
