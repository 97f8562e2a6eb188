package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vindex/vindex/model"
	"github.com/vindex/vindex/model/torch"
)

const moveZip = "../../model/testdata/parity/ckpt_sum4-fa3-d256-zip.pt"

func runCLI(args ...string) (stdout, stderr string, err error) {
	var o, e bytes.Buffer
	err = run(context.Background(), args, &o, &e)
	return o.String(), e.String(), err
}

func needMOVE(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(moveZip); err != nil {
		t.Skip("no MOVE checkpoint under model/testdata/parity: ", err)
	}
}

func TestWeightsInspect(t *testing.T) {
	needMOVE(t)
	out, _, err := runCLI("weights", "inspect", moveZip)
	if err != nil {
		t.Fatal(err)
	}
	d, err := model.LoadCheckpoint(moveZip)
	if err != nil {
		t.Fatal(err)
	}
	w, err := model.NewWeights(d, model.Config{})
	if err != nil {
		t.Fatal(err)
	}
	st, _ := os.Stat(moveZip)
	want := "file:       " + moveZip + " (" + itoa(st.Size()) + " bytes)\n" +
		"format:     torch-zip\n" +
		"tensors:    20 (F32×19, I64×1)\n" +
		"variant:    sum4-fa3-d256 (MOVEModel emb_size=256, sum_method=4, final_activation=3)\n" +
		"d:          256\n" +
		"parameters: 2258438\n" + // remove-spec.md §1.5
		"id:         " + w.ID() + "\n" +
		"hash:       " + d.Hash() + "\n"
	if out != want {
		t.Errorf("stdout:\n%s\nwant:\n%s", out, want)
	}
}

func itoa(n int64) string {
	var b []byte
	for n >= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
		n /= 10
	}
	return string(append([]byte{byte('0' + n)}, b...))
}

func TestWeightsConvert(t *testing.T) {
	needMOVE(t)
	dir := t.TempDir()
	out := filepath.Join(dir, "move.safetensors")
	stdout, _, err := runCLI("weights", "convert", moveZip, out)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(stdout, "wrote "+out) {
		t.Errorf("stdout %q", stdout)
	}
	a, _, err := runCLI("weights", "inspect", moveZip)
	if err != nil {
		t.Fatal(err)
	}
	b, _, err := runCLI("weights", "inspect", out)
	if err != nil {
		t.Fatal(err)
	}
	// same variant, parameters, id and hash; the safetensors side lists its metadata
	pick := func(s string) string {
		var keep []string
		for _, l := range strings.Split(s, "\n") {
			for _, p := range []string{"variant:", "d:", "parameters:", "id:", "hash:"} {
				if strings.HasPrefix(l, p) {
					keep = append(keep, l)
				}
			}
		}
		return strings.Join(keep, "\n")
	}
	if pick(a) != pick(b) {
		t.Errorf("inspect differs after conversion:\n%s\n---\n%s", a, b)
	}
	for _, want := range []string{"format:     safetensors", "tensors:    20 (F32×19, I64×1)", "vindex.source: ckpt_sum4-fa3-d256-zip.pt", "vindex.source_format: torch-zip", "vindex.variant: sum4-fa3-d256"} {
		if !strings.Contains(b, want) {
			t.Errorf("inspect of the converted file lacks %q:\n%s", want, b)
		}
	}
}

func TestWeightsErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
		is   error
	}{
		{[]string{"weights", "inspect", "../../model/torch/testdata/evil_os_zip.pt"}, "torch: refusing global os.system", torch.ErrRefused},
		{[]string{"weights", "inspect", "weights.go"}, "weights.go", model.ErrNotCheckpoint},
		{[]string{"weights", "inspect", "../../model/torch/testdata/small_zip.pt"}, "small_zip.pt", model.ErrCheckpoint},
		{[]string{"weights", "convert", "../../model/torch/testdata/mini_move_zip.pt", filepath.Join(t.TempDir(), "x")}, "mini_move_zip.pt", model.ErrCheckpoint},
		{[]string{"weights", "inspect"}, "want 1 file", nil},
		{[]string{"weights", "frobnicate"}, "unknown subcommand", nil},
	} {
		_, _, err := runCLI(tc.args...)
		if err == nil || !strings.Contains(err.Error(), tc.want) || (tc.is != nil && !errors.Is(err, tc.is)) {
			t.Errorf("%v: error %v, want one containing %q (is %v)", tc.args, err, tc.want, tc.is)
		}
	}
	// a file that reads but is not a MOVEModel: inspect prints what it knows, then the network's error
	out, _, _ := runCLI("weights", "inspect", "../../model/torch/testdata/mini_move_legacy.pt")
	if !strings.Contains(out, "format:     torch-legacy") || !strings.Contains(out, "conv1.weight") {
		t.Errorf("inspect of a non-MOVE dict printed:\n%s", out)
	}
}
