package importer

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vindex/vindex/importer/hdf5"
	"github.com/vindex/vindex/importer/npy"
	"github.com/vindex/vindex/model/torch"
	"github.com/vindex/vindex/schema"
)

type wantSong struct {
	SongID       string  `json:"song_id"`
	WorkID       string  `json:"work_id"`
	Frames       int     `json:"frames"`
	Hop          int32   `json:"hop"`
	Sum          float64 `json:"sum"`
	First        float32 `json:"first"`
	Title        string  `json:"title"`
	Artist       string  `json:"artist"`
	Year         int32   `json:"year"`
	Instrumental string  `json:"instrumental"`
}

func expected(t *testing.T, key string) []wantSong {
	t.Helper()
	b, err := os.ReadFile("testdata/expected.json")
	if err != nil {
		t.Fatal(err)
	}
	var all map[string]json.RawMessage
	if err := json.Unmarshal(b, &all); err != nil {
		t.Fatal(err)
	}
	var out []wantSong
	if err := json.Unmarshal(all[key], &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func readDataset(t *testing.T, dir string) []schema.Song {
	t.Helper()
	songs, err := schema.ReadSongsFiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	return songs
}

// check compares imported songs with the generator's record
// (testdata/gen/gen_fixtures.py): order, ids, frames, hop, first value
// (exact) and sum (float32 accumulation, tolerance 1e-3).
func check(t *testing.T, got []schema.Song, want []wantSong, meta bool) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d songs, want %d", len(got), len(want))
	}
	for i, w := range want {
		g := got[i]
		if g.SongID != w.SongID || g.WorkID != w.WorkID || g.Frames() != w.Frames || g.Hop != w.Hop {
			t.Errorf("song %d: %s/%s %d frames hop %d, want %s/%s %d frames hop %d", i, g.SongID, g.WorkID, g.Frames(), g.Hop, w.SongID, w.WorkID, w.Frames, w.Hop)
			continue
		}
		sum := 0.0
		for _, v := range g.Crema {
			sum += float64(v)
		}
		if math.Abs(sum-w.Sum) > 1e-3 || g.Crema[0] != w.First {
			t.Errorf("song %s: sum %v first %v, want %v, %v", g.SongID, sum, g.Crema[0], w.Sum, w.First)
		}
		if want := float32(float64(w.Frames) * float64(w.Hop) / 44100); math.Abs(float64(g.DurationS-want)) > 1e-4 {
			t.Errorf("song %s: duration %v, want %v", g.SongID, g.DurationS, want)
		}
		if meta && (g.Title != w.Title || g.Artist != w.Artist || g.Year != w.Year || g.Instrumental != w.Instrumental) {
			t.Errorf("song %s: metadata %q %q %d %q, want %q %q %d %q", g.SongID, g.Title, g.Artist, g.Year, g.Instrumental, w.Title, w.Artist, w.Year, w.Instrumental)
		}
	}
}

func TestImportDaTacos(t *testing.T) {
	out := t.TempDir()
	sum, err := ImportDaTacos(DaTacosConfig{
		Metadata: "testdata/datacos/da-tacos_benchmark_subset_metadata.json",
		Features: "testdata/datacos/da-tacos_benchmark_subset_crema",
		Out:      out,
		Options:  DatasetOptions{SongsPerFile: 4, RowGroupRows: 2},
	})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Songs != 6 || sum.Works != 3 || len(sum.Manifest.Files) != 2 {
		t.Fatalf("summary %+v", sum)
	}
	got := readDataset(t, out)
	// Metadata order is W_300, W_12, W_77 (not sorted): the import keeps it.
	check(t, got, expected(t, "datacos"), true)
	if got[0].Extra["perf_artist_mbid"] != "mbid-P_9" || got[0].Extra["length_ms"] == "" || got[0].Extra["work_title"] != "Title of W_300" {
		t.Errorf("Extra = %v", got[0].Extra)
	}
}

func TestImportNumpy(t *testing.T) {
	out := t.TempDir()
	sum, err := ImportNumpy(NumpyConfig{CSV: "testdata/numpy/songs.csv", Out: out})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Songs != 4 || sum.Works != 2 {
		t.Fatalf("summary %+v", sum)
	}
	check(t, readDataset(t, out), expected(t, "numpy"), false)

	out2 := t.TempDir()
	if _, err := ImportNumpy(NumpyConfig{CSV: "testdata/numpy/minimal/songs.csv", Out: out2}); err != nil {
		t.Fatal(err)
	}
	check(t, readDataset(t, out2), expected(t, "numpy_minimal"), false)
}

func TestImportBenchmarkPT(t *testing.T) {
	for _, name := range []string{"benchmark_crema_zip.pt", "benchmark_crema_legacy.pt"} {
		t.Run(name, func(t *testing.T) {
			out := t.TempDir()
			sum, err := ImportBenchmarkPT(BenchmarkPTConfig{Path: filepath.Join("testdata", name), Out: out})
			if err != nil {
				t.Fatal(err)
			}
			if sum.Songs != 5 || sum.Works != 3 {
				t.Fatalf("summary %+v", sum)
			}
			check(t, readDataset(t, out), expected(t, "benchmark_pt"), false)
		})
	}
}

func TestReadDaTacosMetadataOrder(t *testing.T) {
	in := `{"b": {"z": {"perf_title": "1"}, "a": {}}, "a": {"y": {"release_year": "n/a"}}}`
	es, err := ReadDaTacosMetadata(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range es {
		got = append(got, e.WorkID+"/"+e.PerfID)
	}
	if strings.Join(got, " ") != "b/z b/a a/y" {
		t.Fatalf("order %v", got)
	}
	if s := songFromEntry(es[2]); s.Year != 0 || s.Extra["release_year"] != "n/a" {
		t.Errorf("unparsable year: %+v", s)
	}
	for _, bad := range []string{``, `[]`, `{"w": []}`, `{"w": {"p": 3}}`, `{"w": {"p": {}}`} {
		if _, err := ReadDaTacosMetadata(strings.NewReader(bad)); !errors.Is(err, ErrFormat) {
			t.Errorf("%q: err = %v, want ErrFormat", bad, err)
		}
	}
}

// TestErrorsNameFile: bad inputs fail with errors naming the file at fault,
// and leave no manifest behind.
func TestErrorsNameFile(t *testing.T) {
	tmp := t.TempDir()
	// Da-TACOS: metadata lists a performance whose file is missing.
	meta := filepath.Join(tmp, "meta.json")
	os.WriteFile(meta, []byte(`{"W_300": {"P_9": {}, "P_404": {}}}`), 0o644)
	out := filepath.Join(tmp, "out1")
	_, err := ImportDaTacos(DaTacosConfig{Metadata: meta, Features: "testdata/datacos/da-tacos_benchmark_subset_crema", Out: out})
	if err == nil || !strings.Contains(err.Error(), "P_404_crema.h5") {
		t.Errorf("missing h5: err = %v", err)
	}
	if _, err := os.Stat(filepath.Join(out, schema.ManifestName)); err == nil {
		t.Error("a failed import wrote a manifest")
	}
	// Da-TACOS: a file that is not HDF5.
	feats := filepath.Join(tmp, "feats", "W_1_crema")
	os.MkdirAll(feats, 0o755)
	os.WriteFile(filepath.Join(feats, "P_1_crema.h5"), []byte("not hdf5 at all"), 0o644)
	os.WriteFile(meta, []byte(`{"W_1": {"P_1": {}}}`), 0o644)
	_, err = ImportDaTacos(DaTacosConfig{Metadata: meta, Features: filepath.Join(tmp, "feats"), Out: filepath.Join(tmp, "out2")})
	if !errors.Is(err, hdf5.ErrNotHDF5) || !strings.Contains(err.Error(), "P_1_crema.h5") {
		t.Errorf("not hdf5: err = %v", err)
	}
	// Da-TACOS: bad JSON names the metadata file.
	os.WriteFile(meta, []byte(`{"W_1": [`), 0o644)
	_, err = ImportDaTacos(DaTacosConfig{Metadata: meta, Features: tmp, Out: filepath.Join(tmp, "out3")})
	if !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), "meta.json") {
		t.Errorf("bad json: err = %v", err)
	}
	// NumPy: a 12×T array is refused with a hint.
	_, err = ImportNumpy(NumpyConfig{CSV: "testdata/numpy/transposed/songs.csv", Out: filepath.Join(tmp, "out4")})
	if !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), "t.npy") || !strings.Contains(err.Error(), "transpose") {
		t.Errorf("transposed: err = %v", err)
	}
	// NumPy: a missing column, a corrupt .npy.
	csvPath := filepath.Join(tmp, "s.csv")
	os.WriteFile(csvPath, []byte("id,work\nx,y\n"), 0o644)
	if _, err := ImportNumpy(NumpyConfig{CSV: csvPath, Out: filepath.Join(tmp, "out5")}); !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), "s.csv") {
		t.Errorf("no song_id: err = %v", err)
	}
	os.WriteFile(csvPath, []byte("song_id,work_id\nbad,w\n"), 0o644)
	os.WriteFile(filepath.Join(tmp, "bad.npy"), []byte("\x93NUMPY\x01\x00\x10\x00{'descr': '<f4'}"), 0o644)
	if _, err := ImportNumpy(NumpyConfig{CSV: csvPath, Out: filepath.Join(tmp, "out6")}); !errors.Is(err, npy.ErrCorrupt) || !strings.Contains(err.Error(), "bad.npy") {
		t.Errorf("corrupt npy: err = %v", err)
	}
	// Values outside [0, 1] fail validation, naming file and song.
	var buf bytes.Buffer
	buf.WriteString("\x93NUMPY\x01\x00")
	hdr := "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 12), }"
	hdr += strings.Repeat(" ", 128-10-len(hdr)-1) + "\n"
	buf.Write([]byte{byte(len(hdr)), 0})
	buf.WriteString(hdr)
	buf.Write(bytes.Repeat([]byte{0, 0, 0x00, 0x40}, 12)) // 2.0
	os.WriteFile(filepath.Join(tmp, "loud.npy"), buf.Bytes(), 0o644)
	os.WriteFile(csvPath, []byte("song_id,work_id\nloud,w\n"), 0o644)
	if _, err := ImportNumpy(NumpyConfig{CSV: csvPath, Out: filepath.Join(tmp, "out7")}); !errors.Is(err, schema.ErrInvalid) || !strings.Contains(err.Error(), "loud.npy") {
		t.Errorf("out of range: err = %v", err)
	}
	// benchmark_crema.pt: not a torch file; a state_dict-like dict without 'data'.
	_, err = ImportBenchmarkPT(BenchmarkPTConfig{Path: csvPath, Out: filepath.Join(tmp, "out8")})
	if !errors.Is(err, torch.ErrNotCheckpoint) || !strings.Contains(err.Error(), "s.csv") {
		t.Errorf("not torch: err = %v", err)
	}
	// An existing dataset is not overwritten.
	done := t.TempDir()
	if _, err := ImportNumpy(NumpyConfig{CSV: "testdata/numpy/minimal/songs.csv", Out: done}); err != nil {
		t.Fatal(err)
	}
	if _, err := ImportNumpy(NumpyConfig{CSV: "testdata/numpy/minimal/songs.csv", Out: done}); !errors.Is(err, ErrExists) {
		t.Errorf("second import: err = %v, want ErrExists", err)
	}
}

func FuzzReadDaTacosMetadata(f *testing.F) {
	b, err := os.ReadFile("testdata/datacos/da-tacos_benchmark_subset_metadata.json")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add([]byte(`{"w": {"p": {"release_year": 1999, "mb_performances": {"x": {"length": "1"}}}}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		es, err := ReadDaTacosMetadata(bytes.NewReader(b))
		if err != nil {
			return
		}
		for _, e := range es {
			songFromEntry(e)
		}
	})
}
