package storage

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// ErrOutputExists is returned by StartOutput for a folder that already holds
// an output and may not be replaced.
var ErrOutputExists = errors.New("storage: the output folder already holds an output")

// OutputOptions says when StartOutput may replace an existing folder.
type OutputOptions struct {
	// Overwrite allows replacing a folder that holds an output.
	Overwrite bool
	// Markers are globs, relative to the folder, whose presence shows that
	// it holds an output (e.g. "_manifest.json", "*/_manifest.json",
	// "index.json"). A non-empty local folder matching none of them is never
	// replaced, even with Overwrite: it is not ours to delete.
	Markers []string
	// Inputs are paths or globs the command reads; a folder containing one
	// of them is never replaced (replacing it would delete the input).
	Inputs []string
}

// Output is an output folder being written. Locally the command writes into
// Dir, a staging folder beside Final (TempPrefix + Final's name + a random
// suffix, skipped by dataset readers), and Commit switches it into place
// atomically: a reader of Final, and a kill at any moment, see either the
// old complete output or the new complete one, never a mix. On an object
// store Dir is Final (objects appear complete; manifests are written last).
type Output struct {
	Final           string
	Dir             string
	staged, replace bool
}

// StartOutput checks the output folder final and returns where to write it.
// A folder that holds an output (opt.Markers) is refused (ErrOutputExists)
// unless opt.Overwrite; a non-empty local folder that holds something else,
// or that contains an input, is always refused. Staging folders left beside
// final by killed runs of the same output are removed (a folder has one
// writer at a time). On an object store an existing output cannot be
// replaced atomically and is refused even with Overwrite.
func StartOutput(ctx context.Context, final string, opt OutputOptions) (*Output, error) {
	final = strings.TrimSuffix(final, "/")
	if final == "" {
		return nil, errors.New("storage: empty output folder")
	}
	holds, err := holdsOutput(ctx, final, opt.Markers)
	if err != nil {
		return nil, err
	}
	if !IsLocal(final) {
		if holds {
			if opt.Overwrite {
				return nil, fmt.Errorf("%w: %s (an object store has no atomic folder switch: write to a new prefix)", ErrOutputExists, final)
			}
			return nil, fmt.Errorf("%w: %s (write to a new prefix)", ErrOutputExists, final)
		}
		return &Output{Final: final, Dir: final}, nil
	}
	ents, err := os.ReadDir(final)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		if errors.Is(err, syscallENOTDIR) {
			return nil, fmt.Errorf("storage: output %s is a file, not a folder", final)
		}
		return nil, fmt.Errorf("storage: %w", err)
	}
	exists, nonEmpty := err == nil, len(ents) > 0
	switch {
	case nonEmpty && !holds:
		return nil, fmt.Errorf("%w: %s holds files that are not a vindex output; choose a new or empty folder", ErrOutputExists, final)
	case holds && !opt.Overwrite:
		return nil, fmt.Errorf("%w: %s (give --overwrite to replace it, atomically, once the new output is complete)", ErrOutputExists, final)
	}
	if nonEmpty {
		if in := containedInput(final, opt.Inputs); in != "" {
			return nil, fmt.Errorf("storage: output %s contains the input %s: replacing it would delete the input", final, in)
		}
	}
	parent, base := filepath.Split(final)
	if parent == "" {
		parent = "."
	}
	if err := MkdirAll(parent); err != nil {
		return nil, err
	}
	stale, _ := filepath.Glob(filepath.Join(parent, TempPrefix+base+"-*"))
	for _, d := range stale {
		if len(filepath.Base(d)) == len(TempPrefix+base+"-")+12 {
			os.RemoveAll(d)
		}
	}
	dir := filepath.Join(parent, TempPrefix+base+"-"+RandomHex(6))
	if err := os.Mkdir(dir, DirPerm); err != nil {
		return nil, fmt.Errorf("storage: %w", err)
	}
	return &Output{Final: final, Dir: dir, staged: true, replace: exists}, nil
}

// holdsOutput reports whether folder dir matches one of the markers.
func holdsOutput(ctx context.Context, dir string, markers []string) (bool, error) {
	for _, m := range markers {
		files, err := List(ctx, Join(dir, m))
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return false, fmt.Errorf("storage: listing %s: %w", Join(dir, m), err)
		}
		if len(files) > 0 {
			return true, nil
		}
	}
	return false, nil
}

// containedInput returns the first input inside folder dir, or "".
func containedInput(dir string, inputs []string) string {
	d, err := filepath.Abs(dir)
	if err != nil {
		return ""
	}
	for _, in := range inputs {
		if in == "" || !IsLocal(in) {
			continue
		}
		p := in
		if i := strings.IndexAny(p, "*?["); i >= 0 { // the fixed prefix of a glob
			p = filepath.Dir(p[:i] + "x")
		}
		a, err := filepath.Abs(p)
		if err != nil {
			continue
		}
		if a == d || strings.HasPrefix(a, d+string(filepath.Separator)) || strings.HasPrefix(d, a+string(filepath.Separator)) {
			return in
		}
	}
	return ""
}

// Commit publishes the output: locally the staging folder is synced and
// renamed to Final (exchanged with the old folder atomically where the
// kernel allows, see exchangeDirs), Final's parent is synced, and the old
// output is removed. Files inside were synced as they were published.
func (o *Output) Commit() error {
	if !o.staged {
		return nil
	}
	o.staged = false
	if err := SyncDir(o.Dir); err != nil {
		return err
	}
	parent := filepath.Dir(o.Final)
	if !o.replace { // Final is absent
		if err := os.Rename(o.Dir, o.Final); err != nil {
			return fmt.Errorf("storage: publishing %s: %w", o.Final, err)
		}
		return SyncDir(parent)
	}
	old, err := exchangeDirs(o.Dir, o.Final)
	if err != nil {
		return fmt.Errorf("storage: publishing %s: %w", o.Final, err)
	}
	if err := SyncDir(parent); err != nil {
		return err
	}
	if err := os.RemoveAll(old); err != nil {
		return fmt.Errorf("storage: removing the replaced output %s: %w", old, err)
	}
	return nil
}

// Abort removes the staging folder (nothing is published).
func (o *Output) Abort() {
	if o.staged {
		o.staged = false
		os.RemoveAll(o.Dir)
	}
}

// renameAside is the fallback switch where an atomic exchange is not
// available: Final is renamed to a temporary name, then the staging folder
// to Final. A kill between the two renames leaves no Final, with the old
// output complete under the temporary name and the new one under the
// staging name.
func renameAside(staging, final string) (old string, err error) {
	old = filepath.Join(filepath.Dir(final), TempPrefix+"old-"+filepath.Base(final)+"-"+RandomHex(6))
	if err := os.Rename(final, old); err != nil {
		return "", err
	}
	if err := os.Rename(staging, final); err != nil {
		os.Rename(old, final) // put the old output back
		return "", err
	}
	return old, nil
}
