package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/vindex/vindex/runners"
)

// TestExitCodes: usage errors exit 2, failures 1, a run that crossed a
// threshold 3, and every --help documents the codes.
func TestExitCodes(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
	}{
		{[]string{"indx"}, runners.ExitUsage},
		{[]string{"index", "--weigths", "w.pt"}, runners.ExitUsage},
		{[]string{"versions"}, runners.ExitUsage},
		{[]string{"rollback", "--index", "x"}, runners.ExitUsage},
		{[]string{"index", "--weights", "missing.pt", "--in", "missing", "--out", "out"}, runners.ExitFailure},
		{[]string{"index", "--in", "features", "--out", "out"}, runners.ExitUsage}, // no --weights
		{[]string{"reindex", "--catalog", "features"}, runners.ExitUsage},          // no --index
		{[]string{"query", "--index", "idx"}, runners.ExitUsage},                   // nothing to query
		{[]string{"synth"}, runners.ExitUsage},
		{[]string{"index", "--help"}, runners.ExitOK},
	} {
		var stdout, stderr bytes.Buffer
		err := run(context.Background(), tc.args, &stdout, &stderr)
		if got := exitCode(err); got != tc.code {
			t.Errorf("vindex %v: exit %d (%v), want %d", tc.args, got, err, tc.code)
		}
		if tc.code == runners.ExitOK && !strings.Contains(stderr.String(), runners.ExitCodesHelp) {
			t.Errorf("vindex %v: the help lacks the exit codes:\n%s", tc.args, stderr.String())
		}
	}
	th := fmt.Errorf("reindex: %w", runners.CheckRejectRate(90, 10, 0.05))
	if exitCode(th) != runners.ExitThreshold {
		t.Errorf("10%% rejects over a 5%% limit: exit %d, want %d", exitCode(th), runners.ExitThreshold)
	}
	if err := runners.CheckRejectRate(90, 10, 0.2); err != nil {
		t.Errorf("10%% rejects under a 20%% limit: %v", err)
	}
	drop := -0.02
	if err := runners.CheckMAPDrop(&drop, 0.01); exitCode(err) != runners.ExitThreshold {
		t.Errorf("MAP drop 0.02 over 0.01: %v", err)
	}
	if err := runners.CheckMAPDrop(&drop, 0); err != nil {
		t.Errorf("MAP drop check off: %v", err)
	}
	if exitCode(errors.New("x")) != runners.ExitFailure {
		t.Error("a plain error is not exit 1")
	}
}
