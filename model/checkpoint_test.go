package model

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vindex/vindex/model/safetensors"
	"github.com/vindex/vindex/model/torch"
)

func TestLoadCheckpointFormats(t *testing.T) {
	want := ""
	for _, tc := range []struct {
		path   string
		format CheckpointFormat
	}{
		{"torch/testdata/mini_move_zip.pt", FormatTorchZip},
		{"torch/testdata/mini_move_legacy.pt", FormatTorchLegacy},
		{"safetensors/testdata/mini_move.safetensors", FormatSafetensors},
	} {
		b, err := os.ReadFile(tc.path)
		if err != nil {
			t.Fatal(err)
		}
		f, err := SniffCheckpoint(bytes.NewReader(b), int64(len(b)))
		if err != nil || f != tc.format {
			t.Errorf("%s: format %q, %v; want %q", tc.path, f, err, tc.format)
		}
		d, err := LoadCheckpoint(tc.path)
		if err != nil {
			t.Fatal(err)
		}
		if want == "" {
			want = d.Hash()
		} else if d.Hash() != want {
			t.Errorf("%s: hash %s, want %s (same tensors as the other formats)", tc.path, d.Hash(), want)
		}
	}
}

func TestLoadCheckpointErrorsNamePath(t *testing.T) {
	dir := t.TempDir()
	for name, tc := range map[string]struct {
		content []byte
		want    error
	}{
		"text.pt":    {[]byte("not a checkpoint at all"), ErrNotCheckpoint},
		"empty.pt":   {nil, ErrNotCheckpoint},
		"evil_os.pt": {mustRead(t, "torch/testdata/evil_os_legacy.pt"), torch.ErrRefused},
		"list.pt":    {mustRead(t, "torch/testdata/list_zip.pt"), torch.ErrNotStateDict},
		"cut.pt":     {mustRead(t, "torch/testdata/mini_move_legacy.pt")[:1000], torch.ErrTruncated},
		"bad.st":     {append(mustRead(t, "safetensors/testdata/small.safetensors")[:200:200], make([]byte, 2000)...), safetensors.ErrFormat},
	} {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, tc.content, 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := LoadCheckpoint(p)
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: error %v, want %v", name, err, tc.want)
		} else if !strings.Contains(err.Error(), p) {
			t.Errorf("%s: error %q does not name the path", name, err)
		}
	}
	if _, err := LoadCheckpoint(filepath.Join(dir, "missing.pt")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	if _, err := LoadCheckpoint(dir); !errors.Is(err, ErrNotCheckpoint) {
		t.Errorf("directory: %v", err)
	}
}

func mustRead(t testing.TB, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The real MOVE checkpoints load through LoadCheckpoint into NewWeights, and
// converting one to safetensors keeps its model id.
func TestCheckpointToWeights(t *testing.T) {
	names, _ := filepath.Glob("testdata/parity/ckpt_sum4-fa3-d256-*.pt")
	if len(names) == 0 {
		t.Skip("no MOVE checkpoints under model/testdata/parity")
	}
	ids := map[string]bool{}
	for _, n := range names {
		d, err := LoadCheckpoint(n)
		if err != nil {
			t.Fatal(err)
		}
		w, err := NewWeights(d, Config{})
		if err != nil {
			t.Fatalf("%s: %v", n, err)
		}
		if w.ParamCount() != 2258438 { // remove-spec.md §1.5, d=256
			t.Errorf("%s: %d parameters", n, w.ParamCount())
		}
		ids[w.ID()] = true
		var buf bytes.Buffer
		if err := safetensors.Write(&buf, d, nil); err != nil {
			t.Fatal(err)
		}
		d2, err := ReadCheckpoint(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
		if err != nil {
			t.Fatal(err)
		}
		w2, err := NewWeights(d2, Config{})
		if err != nil {
			t.Fatal(err)
		}
		ids[w2.ID()] = true
	}
	if len(ids) != 1 {
		t.Errorf("zip, legacy and safetensors give different ids: %v", ids)
	}
}

func FuzzReadCheckpoint(f *testing.F) {
	for _, p := range []string{"torch/testdata/small_zip.pt", "torch/testdata/small_legacy.pt",
		"torch/testdata/mini_move_zip.pt", "torch/testdata/mini_move_legacy.pt",
		"safetensors/testdata/small.safetensors"} {
		f.Add(mustRead(f, p))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		ReadCheckpoint(bytes.NewReader(b), int64(len(b)))
	})
}
