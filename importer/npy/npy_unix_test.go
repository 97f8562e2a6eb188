//go:build unix

package npy

import (
	"errors"
	"path/filepath"
	"syscall"
	"testing"
)

// A FIFO is refused from its metadata; opening it would block until a
// writer appeared (issue 12).
func TestReadFileRefusesFIFO(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "song")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skip("no FIFOs here: ", err)
	}
	_, err := ReadFile(fifo, Options{})
	if !errors.Is(err, ErrNotNPY) {
		t.Errorf("FIFO: error %v, want ErrNotNPY", err)
	}
}
