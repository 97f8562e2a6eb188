//go:build unix

package transforms

import (
	"context"
	"errors"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/vindex/vindex/model"
	"github.com/vindex/vindex/storage"
)

// --weights /dev/zero and a FIFO are refused at once, before anything is
// read (issue 12: /dev/zero was read until memory ran out, a FIFO hung).
func TestLoadWeightsRefusesNonRegular(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "weights.pt")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skip("no FIFOs here: ", err)
	}
	for _, p := range []string{"/dev/zero", fifo} {
		_, err := LoadWeights(context.Background(), p, model.Config{})
		if !errors.Is(err, storage.ErrNotRegular) {
			t.Errorf("%s: error %v, want storage.ErrNotRegular", p, err)
		}
	}
}
