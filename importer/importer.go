package importer

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/vindex/vindex/importer/hdf5"
	"github.com/vindex/vindex/importer/npy"
	"github.com/vindex/vindex/model/statedict"
	"github.com/vindex/vindex/model/torch"
	"github.com/vindex/vindex/schema"
	"github.com/vindex/vindex/storage"
)

// Errors of the importers (wrapped, with the file at fault).
var (
	// ErrFormat means an input file is not laid out as the importer expects.
	ErrFormat = errors.New("importer: unexpected input format")
)

// Summary describes an import.
type Summary struct {
	Songs    int
	Works    int   // distinct non-empty work ids
	Frames   int64 // at the songs' own hops
	Manifest schema.Manifest
}

// DaTacosHop is the hop of Da-TACOS's stored crema features.
const DaTacosHop = 512

// DaTacosConfig configures ImportDaTacos.
type DaTacosConfig struct {
	// Metadata is the metadata JSON ({work_id: {perf_id: {...}}}), e.g.
	// da-tacos_benchmark_subset_metadata.json.
	Metadata string
	// Features is the folder holding {work}_crema/{perf}_crema.h5, e.g.
	// da-tacos_benchmark_subset_crema.
	Features string
	// Dataset is the HDF5 dataset to read; "" means "crema".
	Dataset string
	// Out is the output folder.
	Out     string
	Options DatasetOptions
}

// Validate reports whether c is usable.
func (c DaTacosConfig) Validate() error {
	if c.Metadata == "" || c.Features == "" || c.Out == "" {
		return fmt.Errorf("importer: Da-TACOS import needs the metadata JSON, the features folder and an output folder")
	}
	return c.Options.Validate()
}

// DaTacosEntry is one performance of the metadata JSON, in file order.
type DaTacosEntry struct {
	WorkID, PerfID string
	Fields         map[string]json.RawMessage
}

// ReadDaTacosMetadata reads the Da-TACOS metadata JSON from r, keeping the
// order of works and of performances within each work (which Go maps do
// not, and which is the order of the reference's benchmark files).
func ReadDaTacosMetadata(r io.Reader) ([]DaTacosEntry, error) {
	dec := json.NewDecoder(bufio.NewReader(r))
	expect := func(want json.Delim) error {
		t, err := dec.Token()
		if err != nil {
			return fmt.Errorf("%w: %v", ErrFormat, err)
		}
		if d, ok := t.(json.Delim); !ok || d != want {
			return fmt.Errorf("%w: found %v where %q was expected", ErrFormat, t, want)
		}
		return nil
	}
	key := func() (string, error) {
		t, err := dec.Token()
		if err != nil {
			return "", fmt.Errorf("%w: %v", ErrFormat, err)
		}
		s, ok := t.(string)
		if !ok {
			return "", fmt.Errorf("%w: found %v where a key was expected", ErrFormat, t)
		}
		return s, nil
	}
	if err := expect('{'); err != nil {
		return nil, err
	}
	var out []DaTacosEntry
	for dec.More() {
		work, err := key()
		if err != nil {
			return nil, err
		}
		if err := expect('{'); err != nil {
			return nil, fmt.Errorf("work %q: %w", work, err)
		}
		for dec.More() {
			perf, err := key()
			if err != nil {
				return nil, fmt.Errorf("work %q: %w", work, err)
			}
			var fields map[string]json.RawMessage
			if err := dec.Decode(&fields); err != nil {
				return nil, fmt.Errorf("%w: work %q performance %q: %v", ErrFormat, work, perf, err)
			}
			out = append(out, DaTacosEntry{WorkID: work, PerfID: perf, Fields: fields})
		}
		if err := expect('}'); err != nil {
			return nil, err
		}
	}
	if err := expect('}'); err != nil {
		return nil, err
	}
	return out, nil
}

// songFromEntry fills a Song's ids and metadata from a Da-TACOS entry.
func songFromEntry(e DaTacosEntry) schema.Song {
	s := schema.Song{SongID: e.PerfID, WorkID: e.WorkID, Hop: DaTacosHop, Extra: map[string]string{}}
	str := func(k string) (string, bool) {
		raw, ok := e.Fields[k]
		if !ok {
			return "", false
		}
		var v string
		if json.Unmarshal(raw, &v) == nil {
			return v, true
		}
		return strings.TrimSpace(string(raw)), true
	}
	keys := make([]string, 0, len(e.Fields))
	for k := range e.Fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v, _ := str(k)
		switch k {
		case "perf_title":
			s.Title = v
		case "perf_artist":
			s.Artist = v
		case "release_year":
			if y, err := strconv.Atoi(strings.TrimSpace(v)); err == nil {
				s.Year = int32(y)
			} else if v != "" {
				s.Extra[k] = v
			}
		case "instrumental":
			s.Instrumental = v
		case "work_id", "perf_id":
			// the keys of the JSON are authoritative
		case "mb_performances":
			var mb map[string]struct {
				Length string `json:"length"`
			}
			if json.Unmarshal(e.Fields[k], &mb) == nil {
				ids := make([]string, 0, len(mb))
				for id := range mb {
					ids = append(ids, id)
				}
				sort.Strings(ids)
				if len(ids) > 0 {
					s.Extra["mb_performance_ids"] = strings.Join(ids, ",")
					s.Extra["length_ms"] = mb[ids[0]].Length
				}
			}
		default:
			s.Extra[k] = v
		}
	}
	if s.Title == "" {
		s.Title, _ = str("work_title")
	}
	if len(s.Extra) == 0 {
		s.Extra = nil
	}
	return s
}

// ImportDaTacos imports the Da-TACOS layout as distributed: one HDF5 file
// per performance, in the metadata JSON's order, at hop 512.
func ImportDaTacos(cfg DaTacosConfig) (Summary, error) {
	if err := cfg.Validate(); err != nil {
		return Summary{}, err
	}
	name := cfg.Dataset
	if name == "" {
		name = "crema"
	}
	f, err := openStream(cfg.Metadata)
	if err != nil {
		return Summary{}, fmt.Errorf("importer: %w", err)
	}
	entries, err := ReadDaTacosMetadata(f)
	if err != nil {
		return Summary{}, fmt.Errorf("importer: %s: %w", cfg.Metadata, err)
	}
	if len(entries) == 0 {
		return Summary{}, fmt.Errorf("importer: %s: %w: no performances", cfg.Metadata, ErrFormat)
	}
	if cfg.Options.Command == "" {
		cfg.Options.Command = "vindex import datacos"
	}
	i := 0
	return write(cfg.Out, cfg.Options, func() (*schema.Song, error) {
		if i == len(entries) {
			return nil, io.EOF
		}
		e := entries[i]
		i++
		s := songFromEntry(e)
		path := storage.Join(cfg.Features, e.WorkID+"_crema", e.PerfID+"_crema.h5")
		data, shape, err := readHDF5(path, name, hdf5.Options{MaxElements: schema.MaxFrames * schema.PitchClasses})
		if err != nil {
			return nil, fmt.Errorf("importer: performance %s of work %s: %w", e.PerfID, e.WorkID, err)
		}
		if err := checkShape(path, shape); err != nil {
			return nil, err
		}
		s.Crema = data
		s.File = path
		return &s, nil
	})
}

// checkShape requires a T×12 array.
func checkShape(path string, shape []int) error {
	if len(shape) == 2 && shape[1] == schema.PitchClasses && shape[0] > 0 {
		return nil
	}
	hint := ""
	if len(shape) == 2 && shape[0] == schema.PitchClasses {
		hint = " (12×T: transpose it to T×12)"
	}
	return fmt.Errorf("importer: %s: %w: array of shape %v, want T×12%s", path, ErrFormat, shape, hint)
}

// NumpyConfig configures ImportNumpy.
type NumpyConfig struct {
	// CSV lists the songs: a header with song_id and work_id, optionally hop
	// (samples per frame; default Hop) and file (the .npy path, relative to
	// Dir; default <song_id>.npy).
	CSV string
	// Dir is where the .npy files are; "" means the CSV's folder.
	Dir string
	// Hop is the hop of songs whose row has no hop; 0 means schema.ModelHop.
	Hop int
	// Out is the output folder.
	Out     string
	Options DatasetOptions
}

// Validate reports whether c is usable.
func (c NumpyConfig) Validate() error {
	if c.CSV == "" || c.Out == "" {
		return fmt.Errorf("importer: NumPy import needs the CSV and an output folder")
	}
	if c.Hop < 0 {
		return fmt.Errorf("importer: hop %d is negative", c.Hop)
	}
	return c.Options.Validate()
}

// ImportNumpy imports a folder of .npy files (T×12) listed by a CSV, in the
// CSV's order.
func ImportNumpy(cfg NumpyConfig) (Summary, error) {
	if err := cfg.Validate(); err != nil {
		return Summary{}, err
	}
	dir := cfg.Dir
	if dir == "" {
		dir = storage.Dir(cfg.CSV)
	}
	hop := cfg.Hop
	if hop == 0 {
		hop = schema.ModelHop
	}
	f, err := openStream(cfg.CSV)
	if err != nil {
		return Summary{}, fmt.Errorf("importer: %w", err)
	}
	cr := csv.NewReader(bufio.NewReader(f))
	cr.FieldsPerRecord = -1
	header, err := cr.Read()
	if err != nil {
		return Summary{}, fmt.Errorf("importer: %s: %w: header: %v", cfg.CSV, ErrFormat, err)
	}
	col := map[string]int{}
	for i, h := range header {
		col[strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))] = i
	}
	if _, ok := col["song_id"]; !ok {
		return Summary{}, fmt.Errorf("importer: %s: %w: no song_id column in header %v", cfg.CSV, ErrFormat, header)
	}
	if _, ok := col["work_id"]; !ok {
		return Summary{}, fmt.Errorf("importer: %s: %w: no work_id column in header %v", cfg.CSV, ErrFormat, header)
	}
	get := func(rec []string, name string) string {
		if i, ok := col[name]; ok && i < len(rec) {
			return strings.TrimSpace(rec[i])
		}
		return ""
	}
	if cfg.Options.Command == "" {
		cfg.Options.Command = "vindex import numpy"
	}
	return write(cfg.Out, cfg.Options, func() (*schema.Song, error) {
		rec, err := cr.Read()
		if err == io.EOF {
			return nil, io.EOF
		}
		if err != nil {
			return nil, fmt.Errorf("importer: %s: %w: %v", cfg.CSV, ErrFormat, err)
		}
		line, _ := cr.FieldPos(0)
		s := schema.Song{SongID: get(rec, "song_id"), WorkID: get(rec, "work_id"), Hop: int32(hop)}
		if h := get(rec, "hop"); h != "" {
			v, err := strconv.Atoi(h)
			if err != nil || v <= 0 {
				return nil, fmt.Errorf("importer: %s line %d: %w: hop %q", cfg.CSV, line, ErrFormat, h)
			}
			s.Hop = int32(v)
		}
		name := get(rec, "file")
		if name == "" {
			name = s.SongID + ".npy"
		}
		path := name
		if !filepath.IsAbs(path) && storage.IsLocal(path) {
			path = storage.Join(dir, name)
		}
		a, err := readNPY(path, npy.Options{MaxElements: schema.MaxFrames * schema.PitchClasses})
		if err != nil {
			return nil, fmt.Errorf("importer: %s line %d (song %q): %w", cfg.CSV, line, s.SongID, err)
		}
		if err := checkShape(path, a.Shape); err != nil {
			return nil, err
		}
		s.Crema = a.Data
		s.File = path
		return &s, nil
	})
}

// BenchmarkPTConfig configures ImportBenchmarkPT.
type BenchmarkPTConfig struct {
	// Path is the benchmark_crema.pt file.
	Path string
	// Out is the output folder.
	Out     string
	Options DatasetOptions
}

// ImportBenchmarkPT imports the reference code's benchmark_crema.pt:
// {'data': [1×23×T tensors], 'labels': [work ids]}. Rows 0..11 of each
// tensor are the 12 pitch classes at the model's hop (the reference decimated
// before saving); rows 12..22 repeat rows 0..10 and must match them. Song ids
// are "<label>-<index>".
func ImportBenchmarkPT(cfg BenchmarkPTConfig) (Summary, error) {
	if cfg.Path == "" || cfg.Out == "" {
		return Summary{}, fmt.Errorf("importer: benchmark_crema.pt import needs the file and an output folder")
	}
	if err := cfg.Options.Validate(); err != nil {
		return Summary{}, err
	}
	data, labels, err := readBenchmarkPT(cfg.Path)
	if err != nil {
		return Summary{}, err
	}
	if cfg.Options.Command == "" {
		cfg.Options.Command = "vindex import benchmark-pt"
	}
	i := 0
	return write(cfg.Out, cfg.Options, func() (*schema.Song, error) {
		if i == len(data) {
			return nil, io.EOF
		}
		k := i
		i++
		t, ok := data[k].(*statedict.Tensor)
		if !ok || t.Data == nil {
			return nil, fmt.Errorf("importer: %s: %w: data[%d] is not a float tensor", cfg.Path, ErrFormat, k)
		}
		x, err := fromModelInput(t)
		if err != nil {
			return nil, fmt.Errorf("importer: %s: data[%d] (label %s): %w", cfg.Path, k, labels[k], err)
		}
		s := schema.Song{SongID: fmt.Sprintf("%s-%d", labels[k], k), WorkID: labels[k], Hop: schema.ModelHop, Crema: x, File: cfg.Path}
		data[k] = nil // release the tensor once converted
		return &s, nil
	})
}

func readBenchmarkPT(path string) ([]any, []string, error) {
	// a FIFO would block the open, a device never end: regular files only
	if storage.IsLocal(path) {
		if st, err := os.Stat(path); err != nil {
			return nil, nil, fmt.Errorf("importer: %w", err)
		} else if !st.Mode().IsRegular() {
			return nil, nil, fmt.Errorf("importer: %s: %w: not a regular file (%s)", path, ErrFormat, st.Mode().Type())
		}
	}
	f, err := storage.Open(context.Background(), path)
	if err != nil {
		return nil, nil, fmt.Errorf("importer: %w", err)
	}
	defer f.Close()
	obj, err := torch.LoadObject(f, f.Size())
	if err != nil {
		return nil, nil, fmt.Errorf("importer: %s: %w", path, err)
	}
	d, ok := obj.(*torch.OrderedDict)
	if !ok {
		return nil, nil, fmt.Errorf("importer: %s: %w: holds %T, want a dict with 'data' and 'labels'", path, ErrFormat, obj)
	}
	dv, ok1 := d.Get("data")
	lv, ok2 := d.Get("labels")
	data, ok3 := dv.([]any)
	lab, ok4 := lv.([]any)
	if !ok1 || !ok2 || !ok3 || !ok4 {
		return nil, nil, fmt.Errorf("importer: %s: %w: want lists under 'data' and 'labels'", path, ErrFormat)
	}
	if len(data) != len(lab) {
		return nil, nil, fmt.Errorf("importer: %s: %w: %d tensors but %d labels", path, ErrFormat, len(data), len(lab))
	}
	labels := make([]string, len(lab))
	for i, l := range lab {
		switch v := l.(type) {
		case string:
			labels[i] = v
		case int64:
			labels[i] = strconv.FormatInt(v, 10)
		default:
			return nil, nil, fmt.Errorf("importer: %s: %w: label %d is %T", path, ErrFormat, i, l)
		}
	}
	return data, labels, nil
}

// fromModelInput converts a 1×23×T (or 23×T) model input back to T×12 frames.
func fromModelInput(t *statedict.Tensor) ([]float32, error) {
	sh := t.Shape
	if len(sh) == 3 && sh[0] == 1 {
		sh = sh[1:]
	}
	if len(sh) != 2 || (sh[0] != 23 && sh[0] != 12) || sh[1] <= 0 {
		return nil, fmt.Errorf("%w: tensor of shape %v, want 1×23×T", ErrFormat, t.Shape)
	}
	rows, T := sh[0], sh[1]
	for r := 12; r < rows; r++ {
		for j := 0; j < T; j++ {
			if t.Data[r*T+j] != t.Data[(r-12)*T+j] {
				return nil, fmt.Errorf("%w: row %d differs from row %d at frame %d (not the 23-row view of 12 pitch classes)", ErrFormat, r, r-12, j)
			}
		}
	}
	out := make([]float32, T*12)
	for p := 0; p < 12; p++ {
		for j := 0; j < T; j++ {
			out[j*12+p] = t.Data[p*T+j]
		}
	}
	return out, nil
}

// write streams songs from next (io.EOF ends) into a dataset at out,
// validating each; on error the partial output has no manifest.
func write(out string, opt DatasetOptions, next func() (*schema.Song, error)) (Summary, error) {
	w, err := NewDatasetWriter(out, opt)
	if err != nil {
		return Summary{}, err
	}
	var sum Summary
	works := map[string]bool{}
	seen := map[string]bool{}
	for {
		s, err := next()
		if err == io.EOF {
			break
		}
		if err != nil {
			w.Abort()
			return sum, err
		}
		if err := schema.ValidateSong(s); err != nil {
			w.Abort()
			return sum, fmt.Errorf("importer: %s: song %q: %w", s.File, s.SongID, err)
		}
		if seen[s.SongID] {
			w.Abort()
			return sum, fmt.Errorf("importer: %s: %w: song id %q appears twice", s.File, ErrFormat, s.SongID)
		}
		seen[s.SongID] = true
		if s.DurationS == 0 {
			s.DurationS = float32(float64(s.Frames()) * float64(s.EffectiveHop()) / 44100)
		}
		if err := w.Write(s); err != nil {
			w.Abort()
			return sum, err
		}
		sum.Songs++
		sum.Frames += int64(s.Frames())
		if s.WorkID != "" {
			works[s.WorkID] = true
		}
	}
	m, err := w.Close()
	if err != nil {
		return sum, err
	}
	sum.Works = len(works)
	sum.Manifest = m
	return sum, nil
}
