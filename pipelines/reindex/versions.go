package reindex

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"time"

	"github.com/vindex/vindex/pipelines/index"
	"github.com/vindex/vindex/storage"
)

// DefaultKeep is how many complete versions a reindex keeps by default
// (the current one always among them).
const DefaultKeep = 7

// Version describes one version folder of an index.
type Version struct {
	Name     string
	Complete bool // has index.json
	Current  bool
	Info     *index.Info // nil if incomplete
	MAP      *float64    // headline MAP, if evaluated
}

// readCurrent returns the version CURRENT names and its raw bytes (for the
// conditional switch); "" and nil when there is no CURRENT.
func readCurrent(ctx context.Context, dir string) (string, []byte, error) {
	uri := storage.Join(dir, CurrentFile)
	b, err := storage.ReadFile(ctx, uri, 1<<10)
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil, nil
	}
	if err != nil {
		return "", nil, fmt.Errorf("reindex: %w", err)
	}
	v, err := index.ParseCurrent(b)
	if err != nil {
		return "", nil, fmt.Errorf("reindex: %s: %w", uri, err)
	}
	return v, b, nil
}

// versionNames lists the version folders (vNNNN) under dir, oldest first.
func versionNames(ctx context.Context, dir string) ([]string, error) {
	files, err := storage.ListTree(ctx, dir)
	if err != nil {
		return nil, fmt.Errorf("reindex: listing %s: %w", dir, err)
	}
	prefix := strings.TrimSuffix(storage.Join(dir, "x"), "x")
	seen := map[string]bool{}
	var out []string
	for _, f := range files {
		rest := strings.TrimPrefix(f, prefix)
		first, _, ok := strings.Cut(strings.ReplaceAll(rest, `\`, "/"), "/")
		if ok && index.IsVersionName(first) && !seen[first] {
			seen[first] = true
			out = append(out, first)
		}
	}
	slices.SortFunc(out, compareVersions)
	return out, nil
}

func compareVersions(a, b string) int {
	if len(a) != len(b) {
		return len(a) - len(b)
	}
	return strings.Compare(a, b)
}

// Versions lists the versions of the index dir, oldest first.
func Versions(ctx context.Context, dir string) ([]Version, error) {
	cur, _, err := readCurrent(ctx, dir)
	if err != nil {
		return nil, err
	}
	names, err := versionNames(ctx, dir)
	if err != nil {
		return nil, err
	}
	out := make([]Version, 0, len(names))
	for _, n := range names {
		v := Version{Name: n, Current: n == cur}
		vdir := storage.Join(dir, n)
		if info, err := index.ReadInfo(vdir); err == nil {
			v.Complete, v.Info = true, info
			if m, ok := headlineMAP(vdir, info); ok {
				v.MAP = &m
			}
		}
		out = append(out, v)
	}
	return out, nil
}

// Rollback makes version to (complete, of this index) current again, with
// the same conditional switch and lock as a reindex. It returns the
// version that was current.
func Rollback(ctx context.Context, dir, to string, wait time.Duration, command string) (string, error) {
	if !index.IsVersionName(to) {
		return "", fmt.Errorf("reindex: --to %q: want a version name such as v0003", to)
	}
	if _, err := index.ReadInfo(storage.Join(dir, to)); err != nil {
		return "", fmt.Errorf("reindex: cannot roll back to %s: %w", to, err)
	}
	lock, err := AcquireLock(ctx, dir, 0, wait, command)
	if err != nil {
		return "", err
	}
	defer lock.Release(ctx)
	cur, raw, err := readCurrent(ctx, dir)
	if err != nil {
		return "", err
	}
	if err := switchCurrent(ctx, dir, raw, to); err != nil {
		return "", err
	}
	return cur, nil
}

// ConflictError is returned when CURRENT changed while a run worked: the
// run's version was not published.
type ConflictError struct {
	Index, Version, Won string
}

func (e *ConflictError) Error() string {
	return fmt.Sprintf("reindex: %s: another run switched CURRENT to %s while this run worked; this run's %s was not published",
		e.Index, orNone(e.Won), e.Version)
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

// switchCurrent points dir/CURRENT at version if it still holds old (nil:
// if there is no CURRENT): a rename locally, a generation-matched write on
// GCS. A lost race is a *ConflictError naming the version that won.
func switchCurrent(ctx context.Context, dir string, old []byte, version string) error {
	err := storage.Replace(ctx, storage.Join(dir, CurrentFile), old, []byte(version+"\n"))
	if errors.Is(err, storage.ErrChanged) {
		won, _, _ := readCurrent(ctx, dir)
		return &ConflictError{Index: dir, Version: version, Won: won}
	}
	if err != nil {
		return fmt.Errorf("reindex: %w", err)
	}
	return nil
}

// Prune removes complete versions beyond the keep newest, never the current
// one; keep ≤ 0 keeps all. It returns the versions removed.
func Prune(ctx context.Context, dir string, keep int) ([]string, error) {
	if keep <= 0 {
		return nil, nil
	}
	vs, err := Versions(ctx, dir)
	if err != nil {
		return nil, err
	}
	var complete []Version
	for _, v := range vs {
		if v.Complete {
			complete = append(complete, v)
		}
	}
	var removed []string
	for i := 0; i < len(complete)-keep; i++ {
		if complete[i].Current {
			continue
		}
		if err := storage.RemoveAll(ctx, storage.Join(dir, complete[i].Name)); err != nil {
			return removed, fmt.Errorf("reindex: removing %s: %w", complete[i].Name, err)
		}
		removed = append(removed, complete[i].Name)
	}
	return removed, nil
}

// removeIncomplete removes version folders without index.json (left by a
// failed or killed run) other than current; the caller holds the lock, so
// no live run is writing them.
func removeIncomplete(ctx context.Context, dir, current string) ([]string, error) {
	names, err := versionNames(ctx, dir)
	if err != nil {
		return nil, err
	}
	var removed []string
	for _, n := range names {
		if n == current {
			continue
		}
		ok, err := storage.Exists(ctx, storage.Join(dir, n, index.InfoFile))
		if err != nil {
			return removed, fmt.Errorf("reindex: %w", err)
		}
		if !ok {
			if err := storage.RemoveAll(ctx, storage.Join(dir, n)); err != nil {
				return removed, fmt.Errorf("reindex: removing the incomplete %s: %w", n, err)
			}
			removed = append(removed, n)
		}
	}
	return removed, nil
}
