//go:build unix

package hdf5

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
	_, _, err := ReadFloat32File(fifo, "crema", Options{})
	if !errors.Is(err, ErrNotHDF5) {
		t.Errorf("FIFO: error %v, want ErrNotHDF5", err)
	}
}
