package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/vindex/vindex/model"
	"github.com/vindex/vindex/model/safetensors"
	"github.com/vindex/vindex/model/statedict"
	"github.com/vindex/vindex/storage"
)

func init() {
	register(command{name: "weights", summary: "inspect MOVE checkpoints (.pt, safetensors) or convert them to safetensors", run: runWeights})
}

const weightsHelp = `
Reads MOVE / Re-MOVE checkpoints without Python: PyTorch .pt files written by torch.save(model.state_dict()) in
the zip format (torch >= 1.6) or the legacy format (torch < 1.6), and safetensors files. The format is sniffed
from the content. The unpickler executes nothing and refuses any global a state_dict does not need.

  vindex weights inspect [flags] FILE        prints the format, variant, d, parameter count, model id and
                                             content hash (the same for the same tensors in any format)
  vindex weights convert [flags] IN OUT      writes OUT as safetensors: float tensors as F32,
                                             num_batches_tracked as I64, with metadata (source, variant, id, hash)

Both check the checkpoint against MOVEModel (keys, shapes) and fail with the network's error if it does not fit.`

// weightsFlags are the flags shared by the weights subcommands.
type weightsFlags struct {
	sumMethod, finalActivation int
}

func (wf *weightsFlags) add(fs *flag.FlagSet) {
	fs.IntVar(&wf.sumMethod, "sum-method", -1, "MOVEModel sum_method 0..4 (-1: infer from the shapes)")
	fs.IntVar(&wf.finalActivation, "final-activation", -1, "MOVEModel final_activation 0..3 (-1: infer from the shapes)")
}

func (wf *weightsFlags) config() (model.Config, error) {
	var cfg model.Config
	if wf.sumMethod >= 0 {
		cfg.SumMethod = model.Int(wf.sumMethod)
	}
	if wf.finalActivation >= 0 {
		cfg.FinalActivation = model.Int(wf.finalActivation)
	}
	return cfg, cfg.Validate()
}

func runWeights(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	usage := func() {
		fmt.Fprintf(stderr, "Usage: vindex weights inspect|convert ...\n\n%s\n", strings.TrimSpace(weightsHelp))
	}
	if len(args) == 0 {
		usage()
		return errUsage
	}
	switch args[0] {
	case "inspect":
		return runWeightsInspect(args[1:], stdout, stderr)
	case "convert":
		return runWeightsConvert(args[1:], stdout, stderr)
	case "-h", "--help", "help":
		usage()
		return flag.ErrHelp
	}
	usage()
	return fmt.Errorf("weights: unknown subcommand %q (inspect or convert)", args[0])
}

// parsePositional parses flags and requires exactly n positional arguments.
func parsePositional(fs *flag.FlagSet, args []string, n int) ([]string, error) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, err
		}
		return nil, errUsage
	}
	if fs.NArg() != n {
		fs.Usage()
		return nil, fmt.Errorf("%s: want %d file arguments, got %d (flags go before them)", fs.Name(), n, fs.NArg())
	}
	return fs.Args(), nil
}

// checkpointInfo is a loaded checkpoint and what inspect reports about it.
type checkpointInfo struct {
	path    string
	format  model.CheckpointFormat
	size    int64
	dict    *statedict.Dict
	meta    map[string]string // safetensors metadata
	weights *model.Weights    // nil when the dict is not a MOVEModel
}

func readCheckpointInfo(path string, cfg model.Config) (*checkpointInfo, error) {
	f, size, err := openCheckpointURI(context.Background(), path)
	if err != nil {
		return nil, fmt.Errorf("weights: %w", err)
	}
	defer f.Close()
	info := &checkpointInfo{path: path, size: size}
	info.format, err = model.SniffCheckpoint(f, size)
	if err != nil {
		return nil, fmt.Errorf("weights: %s: %w", path, err)
	}
	if info.format == model.FormatSafetensors {
		info.dict, info.meta, err = safetensors.Read(f, size)
	} else {
		info.dict, err = model.ReadCheckpoint(f, size)
	}
	if err != nil {
		return nil, fmt.Errorf("weights: %s: %w", path, err)
	}
	info.weights, err = model.NewWeights(info.dict, cfg)
	if err != nil {
		return info, fmt.Errorf("weights: %s: %w", path, err)
	}
	return info, nil
}

func runWeightsInspect(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("weights inspect", "[--tensors] [--sum-method N] [--final-activation N] FILE", weightsHelp, stderr)
	var wf weightsFlags
	wf.add(fs)
	tensors := fs.Bool("tensors", false, "also list every tensor: key, dtype as stored, shape")
	pos, err := parsePositional(fs, args, 1)
	if err != nil {
		return err
	}
	cfg, err := wf.config()
	if err != nil {
		return fmt.Errorf("weights inspect: %w", err)
	}
	info, err := readCheckpointInfo(pos[0], cfg)
	if info == nil {
		return err
	}
	// a readable file that is not a MOVEModel: print what is known, then the network's error
	printInfo(stdout, info, *tensors || err != nil)
	return err
}

func printInfo(w io.Writer, info *checkpointInfo, tensors bool) {
	d := info.dict
	fmt.Fprintf(w, "file:       %s (%d bytes)\n", info.path, info.size)
	fmt.Fprintf(w, "format:     %s\n", info.format)
	dtypes := map[string]int{}
	for _, k := range d.Keys {
		dtypes[d.Tensors[k].DType]++
	}
	var dts []string
	for dt, n := range dtypes {
		dts = append(dts, fmt.Sprintf("%s×%d", dt, n))
	}
	sort.Strings(dts)
	fmt.Fprintf(w, "tensors:    %d (%s)\n", len(d.Keys), strings.Join(dts, ", "))
	if wt := info.weights; wt != nil {
		v := wt.Variant()
		fmt.Fprintf(w, "variant:    %s (MOVEModel emb_size=%d, sum_method=%d, final_activation=%d)\n", v, v.Dim, v.SumMethod, v.FinalActivation)
		fmt.Fprintf(w, "d:          %d\n", v.Dim)
		fmt.Fprintf(w, "parameters: %d\n", wt.ParamCount())
		fmt.Fprintf(w, "id:         %s\n", wt.ID())
	}
	fmt.Fprintf(w, "hash:       %s\n", d.Hash())
	if len(info.meta) > 0 {
		keys := make([]string, 0, len(info.meta))
		for k := range info.meta {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		fmt.Fprintln(w, "metadata:")
		for _, k := range keys {
			fmt.Fprintf(w, "  %s: %s\n", k, info.meta[k])
		}
	}
	if tensors {
		fmt.Fprintln(w, "keys:")
		for _, k := range d.Keys {
			t := d.Tensors[k]
			fmt.Fprintf(w, "  %-28s %-4s %v\n", k, t.DType, t.Shape)
		}
	}
}

func runWeightsConvert(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("weights convert", "[--sum-method N] [--final-activation N] IN OUT.safetensors", weightsHelp, stderr)
	var wf weightsFlags
	wf.add(fs)
	pos, err := parsePositional(fs, args, 2)
	if err != nil {
		return err
	}
	cfg, err := wf.config()
	if err != nil {
		return fmt.Errorf("weights convert: %w", err)
	}
	in, out := pos[0], pos[1]
	info, err := readCheckpointInfo(in, cfg)
	if err != nil {
		return err
	}
	v := info.weights.Variant()
	meta := map[string]string{
		"format":                  "pt", // what Hugging Face tools expect for PyTorch-origin tensors
		"vindex.source":           storage.Base(in),
		"vindex.source_format":    string(info.format),
		"vindex.variant":          v.String(),
		"vindex.sum_method":       fmt.Sprint(v.SumMethod),
		"vindex.final_activation": fmt.Sprint(v.FinalActivation),
		"vindex.id":               info.weights.ID(),
		"vindex.hash":             info.dict.Hash(),
	}
	var buf bytes.Buffer
	if err := safetensors.Write(&buf, info.dict, meta); err != nil {
		return fmt.Errorf("weights convert: %w", err)
	}
	// check before publishing: what was written reads back with the same content hash
	back, _, err := safetensors.Read(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil || back.Hash() != info.dict.Hash() {
		return fmt.Errorf("weights convert: %s does not read back identically (%v)", out, err)
	}
	// published atomically (OUT is either the old file or the whole new
	// one), 0644 under the umask, on any scheme
	if err := storage.WriteFile(context.Background(), out, buf.Bytes()); err != nil {
		return fmt.Errorf("weights convert: %w", err)
	}
	fmt.Fprintf(stdout, "wrote %s (%d bytes): %s, %d tensors, id %s\n", out, buf.Len(), v, len(info.dict.Keys), info.weights.ID())
	return nil
}

// openCheckpointURI opens a checkpoint by URI: model.OpenCheckpoint's
// checks locally (a regular file, no FIFO or device), storage's ranged
// reads elsewhere; either way at most model.MaxCheckpointBytes.
func openCheckpointURI(ctx context.Context, uri string) (interface {
	io.ReaderAt
	io.Closer
}, int64, error) {
	if storage.IsLocal(uri) {
		f, size, err := model.OpenCheckpoint(uri)
		if err != nil {
			return nil, 0, err
		}
		return f, size, nil
	}
	f, err := storage.Open(ctx, uri)
	if err != nil {
		return nil, 0, err
	}
	if f.Size() > model.MaxCheckpointBytes {
		f.Close()
		return nil, 0, fmt.Errorf("%s: %d bytes, more than the %d a checkpoint may have", uri, f.Size(), model.MaxCheckpointBytes)
	}
	return f, f.Size(), nil
}
