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
// the result to NewWeights, which checks keys and shapes.
func ReadCheckpoint(r io.ReaderAt, size int64) (*statedict.Dict, error) {
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

// LoadCheckpoint reads the checkpoint at path (see ReadCheckpoint); errors
// name the path.
func LoadCheckpoint(path string) (*statedict.Dict, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("model: checkpoint: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("model: checkpoint %s: %w", path, err)
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("model: checkpoint %s: %w: not a regular file", path, ErrNotCheckpoint)
	}
	d, err := ReadCheckpoint(f, st.Size())
	if err != nil {
		return nil, fmt.Errorf("model: checkpoint %s: %w", path, err)
	}
	return d, nil
}
