//go:build unix

package model

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// Weights must be regular files of bounded size: a device, a FIFO and a
// folder are refused from their metadata, before anything is read (a FIFO
// with no writer would block the open; /dev/zero never ends).
func TestLoadCheckpointRefusesNonRegular(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "weights.pt")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skip("no FIFOs here: ", err)
	}
	paths := []string{fifo, dir}
	if _, err := os.Stat("/dev/zero"); err == nil {
		paths = append(paths, "/dev/zero")
	}
	for _, p := range paths {
		_, err := LoadCheckpoint(p)
		if !errors.Is(err, ErrCheckpointFile) || !errors.Is(err, ErrNotCheckpoint) {
			t.Errorf("%s: error %v, want ErrCheckpointFile", p, err)
		}
	}
	if _, err := ReadCheckpoint(bytes.NewReader(nil), MaxCheckpointBytes+1); !errors.Is(err, ErrCheckpointFile) {
		t.Errorf("oversized: error %v, want ErrCheckpointFile", err)
	}
}
