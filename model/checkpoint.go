package model

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/vindex/vindex/model/safetensors"
	"github.com/vindex/vindex/model/statedict"
	"github.com/vindex/vindex/model/torch"
)

// ErrNotCheckpoint: a file that is neither a PyTorch checkpoint (zip or
// legacy) nor safetensors. Errors from the format readers wrap their own
// sentinels (torch.ErrRefused, torch.ErrTruncated, safetensors.ErrFormat, ...).
var ErrNotCheckpoint = errors.New("model: not a checkpoint (PyTorch .pt or safetensors)")

// CheckpointFormat names a checkpoint file format.
type CheckpointFormat string

// The formats ReadCheckpoint recognises by content.
const (
	FormatTorchZip    CheckpointFormat = CheckpointFormat(torch.FormatZip)    // torch.save, torch >= 1.6
	FormatTorchLegacy CheckpointFormat = CheckpointFormat(torch.FormatLegacy) // torch.save, torch < 1.6
	FormatSafetensors CheckpointFormat = "safetensors"
)

// SniffCheckpoint tells the format of a checkpoint from its content (never
// its name): a zip archive, a legacy torch pickle, or a safetensors header
// (8-byte length that fits the file, then '{').
func SniffCheckpoint(r io.ReaderAt, size int64) (CheckpointFormat, error) {
	var head [9]byte
	n, err := r.ReadAt(head[:min(size, 9)], 0)
	if n < int(min(size, 9)) {
		return "", fmt.Errorf("model: reading a checkpoint header: %w", err)
	}
	if f, ok := torch.Sniff(head[:n]); ok {
		return CheckpointFormat(f), nil
	}
	if n == 9 && head[8] == '{' {
		if l := binary.LittleEndian.Uint64(head[:8]); l <= uint64(size-8) {
			return FormatSafetensors, nil
		}
	}
	return "", fmt.Errorf("%w: starts with %q", ErrNotCheckpoint, bytes.TrimRight(head[:n], "\x00"))
}

// ReadCheckpoint reads a state_dict from a PyTorch checkpoint (zip or legacy
// torch.save of a state_dict) or a safetensors file of size bytes, sniffing
// the format from the content. It checks the file, not the network: pass
// the result to NewWeights, which checks keys and shapes. Sizes above
// MaxCheckpointBytes are refused (ErrCheckpointFile).
func ReadCheckpoint(r io.ReaderAt, size int64) (*statedict.Dict, error) {
	if err := CheckCheckpointSize(size); err != nil {
		return nil, err
	}
	f, err := SniffCheckpoint(r, size)
	if err != nil {
		return nil, err
	}
	if f == FormatSafetensors {
		d, _, err := safetensors.Read(r, size)
		return d, err
	}
	return torch.Load(r, size)
}

// MaxCheckpointBytes is the largest checkpoint vindex reads. MOVE's
// checkpoints are 9 MB (d=256, float32) and at most about 20 MB for any
// variant in float64; anything near this limit is not a MOVE checkpoint,
// and a device such as /dev/zero would otherwise be read until memory runs
// out.
const MaxCheckpointBytes = 256 << 20

// ErrCheckpointFile: a checkpoint path that is not a regular file (a
// device, FIFO, socket or folder; these errors wrap ErrNotCheckpoint too)
// or is larger than MaxCheckpointBytes.
var ErrCheckpointFile = errors.New("model: checkpoint must be a regular file of at most 256 MiB")

// CheckCheckpointSize returns an error wrapping ErrCheckpointFile when size
// is larger than MaxCheckpointBytes (or negative).
func CheckCheckpointSize(size int64) error {
	if size < 0 || size > MaxCheckpointBytes {
		return fmt.Errorf("%w: it has %d bytes", ErrCheckpointFile, size)
	}
	return nil
}

// OpenCheckpoint opens the local file at path for reading a checkpoint and
// returns it with its size. It refuses anything but a regular file of at
// most MaxCheckpointBytes, from its metadata and before opening it: opening
// a FIFO would block until a writer appears, and a device such as
// /dev/zero never ends. Symbolic links are followed. The file is checked
// again once open (same file, still regular), so a swap between the two
// checks is refused too, except for a FIFO swapped in between them, whose
// open still blocks.
func OpenCheckpoint(path string) (*os.File, int64, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, 0, fmt.Errorf("model: checkpoint: %w", err)
	}
	if err := checkRegular(st); err != nil {
		return nil, 0, fmt.Errorf("model: checkpoint %s: %w", path, err)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, fmt.Errorf("model: checkpoint: %w", err)
	}
	st2, err := f.Stat()
	if err == nil && !os.SameFile(st, st2) {
		err = fmt.Errorf("%w: the file changed while it was opened", ErrCheckpointFile)
	}
	if err == nil {
		err = checkRegular(st2)
	}
	if err != nil {
		f.Close()
		return nil, 0, fmt.Errorf("model: checkpoint %s: %w", path, err)
	}
	return f, st2.Size(), nil
}

func checkRegular(st os.FileInfo) error {
	if !st.Mode().IsRegular() {
		return fmt.Errorf("%w (%w): it is a %s", ErrNotCheckpoint, ErrCheckpointFile, fileKind(st.Mode()))
	}
	return CheckCheckpointSize(st.Size())
}

func fileKind(m os.FileMode) string {
	switch {
	case m.IsDir():
		return "folder"
	case m&os.ModeNamedPipe != 0:
		return "FIFO"
	case m&os.ModeCharDevice != 0:
		return "character device"
	case m&os.ModeDevice != 0:
		return "device"
	case m&os.ModeSocket != 0:
		return "socket"
	}
	return "non-regular file (" + m.String() + ")"
}

// LoadCheckpoint reads the checkpoint at path (see ReadCheckpoint and
// OpenCheckpoint); errors name the path.
func LoadCheckpoint(path string) (*statedict.Dict, error) {
	f, size, err := OpenCheckpoint(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	d, err := ReadCheckpoint(f, size)
	if err != nil {
		return nil, fmt.Errorf("model: checkpoint %s: %w", path, err)
	}
	return d, nil
}
