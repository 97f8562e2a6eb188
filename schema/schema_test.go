package schema

import (
	"bytes"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func validSong() Song {
	return Song{SongID: "s", Crema: make([]float32, 24)}
}

func TestValidateSong(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mutate func(*Song)
		reason string // substring of the error; "" for valid
	}{
		{"valid", func(*Song) {}, ""},
		{"hop 512", func(s *Song) { s.Hop = 512 }, ""},
		{"hop 4096", func(s *Song) { s.Hop = 4096 }, ""},
		{"ones", func(s *Song) { s.Crema[3] = 1 }, ""},
		{"empty id", func(s *Song) { s.SongID = "" }, "song_id is empty"},
		{"control in id", func(s *Song) { s.SongID = "a\nb" }, "control character"},
		{"bad utf8 work", func(s *Song) { s.WorkID = "\xff" }, "not valid UTF-8"},
		{"long id", func(s *Song) { s.SongID = strings.Repeat("x", MaxIDLength+1) }, "bytes long"},
		{"no crema", func(s *Song) { s.Crema = nil }, "crema is empty"},
		{"13 values", func(s *Song) { s.Crema = make([]float32, 13) }, "not a multiple of 12"},
		{"NaN", func(s *Song) { s.Crema[13] = float32(math.NaN()) }, "frame 1 pitch class 1 is NaN"},
		{"Inf", func(s *Song) { s.Crema[0] = float32(math.Inf(-1)) }, "frame 0 pitch class 0 is -Inf"},
		{"above 1", func(s *Song) { s.Crema[2] = 1.5 }, "outside [0, 1]"},
		{"negative", func(s *Song) { s.Crema[2] = -0.1 }, "outside [0, 1]"},
		{"hop 1000", func(s *Song) { s.Hop = 1000 }, "hop 1000"},
		{"hop 8192", func(s *Song) { s.Hop = 8192 }, "hop 8192"},
		{"hop -1", func(s *Song) { s.Hop = -1 }, "hop -1"},
		{"duration", func(s *Song) { s.DurationS = -1 }, "duration_s"},
	} {
		s := validSong()
		tc.mutate(&s)
		err := ValidateSong(&s)
		switch {
		case tc.reason == "" && err != nil:
			t.Errorf("%s: %v, want valid", tc.name, err)
		case tc.reason != "" && (err == nil || !strings.Contains(err.Error(), tc.reason) || !errors.Is(err, ErrInvalid)):
			t.Errorf("%s: error %v, want one containing %q wrapping ErrInvalid", tc.name, err, tc.reason)
		}
	}
}

func TestContentHash(t *testing.T) {
	a := validSong()
	a.Crema[5] = 0.5
	h := ContentHash(&a, "p", "m")
	if len(h) != 64 {
		t.Fatalf("hash %q is not sha256 hex", h)
	}
	b := a
	b.SongID, b.Title = "other", "renamed" // ids and metadata are not hashed
	if ContentHash(&b, "p", "m") != h {
		t.Error("hash depends on song_id/metadata")
	}
	b.Hop = ModelHop // 0 and ModelHop are the same rate
	if ContentHash(&b, "p", "m") != h {
		t.Error("hop 0 and ModelHop hash differently")
	}
	for name, c := range map[string]string{
		"hop": func() string { c := a; c.Hop = 512; return ContentHash(&c, "p", "m") }(),
		"value": func() string {
			c := a
			c.Crema = append([]float32(nil), a.Crema...)
			c.Crema[0] = 1e-9
			return ContentHash(&c, "p", "m")
		}(),
		"preprocessing": ContentHash(&a, "q", "m"),
		"model":         ContentHash(&a, "p", "n"),
		"boundary":      ContentHash(&a, "pm", ""),
	} {
		if c == h {
			t.Errorf("changing %s keeps the hash", name)
		}
	}
}

func TestManifestValidate(t *testing.T) {
	good := Manifest{Version: ManifestVersion, Schema: "x", Rows: 3, Files: []ManifestFile{{Name: "a.parquet", Rows: 1}, {Name: "b.parquet", Rows: 2}}}
	if _, err := MarshalManifest(good); err != nil {
		t.Fatal(err)
	}
	for name, m := range map[string]Manifest{
		"version":   {Version: "v0"},
		"traversal": {Version: ManifestVersion, Files: []ManifestFile{{Name: "../x.parquet"}}},
		"dup":       {Version: ManifestVersion, Files: []ManifestFile{{Name: "a"}, {Name: "a"}}},
		"rows":      {Version: ManifestVersion, Rows: 1},
		"negative":  {Version: ManifestVersion, Rows: -1, Files: []ManifestFile{{Name: "a", Rows: -1}}},
	} {
		if err := m.Validate(); !errors.Is(err, ErrManifest) {
			t.Errorf("%s: Validate = %v, want ErrManifest", name, err)
		}
	}
	if _, err := ParseManifest([]byte(`{"version":"vindex.manifest/v1","rows":0,"files":[],"surprise":1}`)); !errors.Is(err, ErrManifest) {
		t.Errorf("unknown field: %v, want ErrManifest", err)
	}
}

func FuzzParseManifest(f *testing.F) {
	b, _ := MarshalManifest(Manifest{Version: ManifestVersion, Schema: EmbeddingSchemaVersion, Rows: 2,
		Files: []ManifestFile{{Name: "part-1.parquet", Rows: 2, Bytes: 10}}})
	f.Add(b)
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := ParseManifest(data)
		if err != nil {
			return
		}
		again, err := MarshalManifest(m)
		if err != nil {
			t.Fatalf("valid manifest does not marshal: %v", err)
		}
		if _, err := ParseManifest(again); err != nil {
			t.Fatalf("round trip: %v", err)
		}
	})
}

// FuzzReadSongs feeds arbitrary bytes to the reader: it must return errors,
// never panic, and every song it returns without error has a consistent
// layout. Seeds: the DuckDB fixtures and a vindex-written file.
func FuzzReadSongs(f *testing.F) {
	seeds, _ := filepath.Glob(filepath.Join("testdata", "duckdb", "*.parquet"))
	for _, p := range seeds {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	var buf bytes.Buffer
	w, err := NewSongWriter(&buf, WriterOptions{RowGroupRows: 2})
	if err != nil {
		f.Fatal(err)
	}
	if err := w.Write(testSongs(3, 2)...); err != nil {
		f.Fatal(err)
	}
	if err := w.Close(); err != nil {
		f.Fatal(err)
	}
	f.Add(buf.Bytes())
	f.Fuzz(func(t *testing.T, data []byte) {
		pf, err := OpenFile("fuzz.parquet", bytes.NewReader(data), int64(len(data)))
		if err != nil {
			return
		}
		for rg := range pf.NumRowGroups() {
			for s, err := range pf.Songs(rg) {
				if err != nil {
					if !strings.Contains(err.Error(), "fuzz.parquet") {
						t.Fatalf("error %q does not name the file", err)
					}
					continue
				}
				_ = ValidateSong(&s)
			}
			for e, err := range pf.Embeddings(rg) {
				if err == nil {
					_ = ValidateEmbedding(&e)
				}
			}
		}
	})
}

func BenchmarkReadSongs(b *testing.B) {
	// 64 songs of 2,000 frames (3 minutes at hop 4096): 6 MB of features.
	songs := testSongs(64, 2000)
	var buf bytes.Buffer
	w, err := NewSongWriter(&buf, WriterOptions{RowGroupRows: 16})
	if err != nil {
		b.Fatal(err)
	}
	if err := w.Write(songs...); err != nil {
		b.Fatal(err)
	}
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}
	data := buf.Bytes()
	b.ReportAllocs()
	b.SetBytes(int64(len(songs) * 2000 * 12 * 4))
	n := 0
	for b.Loop() {
		pf, err := OpenFile("bench", bytes.NewReader(data), int64(len(data)))
		if err != nil {
			b.Fatal(err)
		}
		for rg := range pf.NumRowGroups() {
			for s, err := range pf.Songs(rg) {
				if err != nil || ValidateSong(&s) != nil {
					b.Fatal(err)
				}
				n++
			}
		}
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "songs/s")
}

func BenchmarkWriteSongs(b *testing.B) {
	songs := testSongs(64, 2000)
	b.ReportAllocs()
	b.SetBytes(int64(len(songs) * 2000 * 12 * 4))
	n := 0
	for b.Loop() {
		w, err := NewSongWriter(&bytes.Buffer{}, WriterOptions{RowGroupRows: 16})
		if err != nil {
			b.Fatal(err)
		}
		if err := w.Write(songs...); err != nil {
			b.Fatal(err)
		}
		if err := w.Close(); err != nil {
			b.Fatal(err)
		}
		n += len(songs)
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "songs/s")
}
