package schema

import (
	"encoding/json"
	"errors"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// duckdbValue is the value DuckDB's generator (testdata/interop/duckdb.js)
// puts at frame t, pitch class p of song i.
func duckdbValue(i, t, p int) float32 { return float32(float64((7*i+12*t+p)%101) / 100) }

func duckdbCrema(i int) []float32 {
	c := make([]float32, (3+i)*PitchClasses)
	for k := range c {
		c[k] = duckdbValue(i, k/PitchClasses, k%PitchClasses)
	}
	return c
}

// needDuckDB returns the node command line for duckdb.js, or skips (fails
// when VINDEX_REQUIRE_ALL=1) when node or the DuckDB module is missing.
func needDuckDB(t *testing.T) []string {
	t.Helper()
	missing := func(why string) {
		if os.Getenv("VINDEX_REQUIRE_ALL") == "1" {
			t.Fatalf("needs DuckDB via node: %s (run bash schema/testdata/interop/install.sh)", why)
		}
		t.Skipf("needs DuckDB via node: %s (run bash schema/testdata/interop/install.sh)", why)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		missing("node not on PATH")
	}
	mods := os.Getenv("VINDEX_INTEROP_MODULES")
	if mods == "" {
		mods, _ = filepath.Abs(filepath.Join("..", ".cache", "interop", "node_modules"))
	}
	if _, err := os.Stat(filepath.Join(mods, "@duckdb", "node-api")); err != nil {
		missing("@duckdb/node-api not installed in " + mods)
	}
	return []string{node, filepath.Join("testdata", "interop", "duckdb.js")}
}

func runNode(t *testing.T, cmd []string, args ...string) []byte {
	t.Helper()
	c := exec.Command(cmd[0], append(cmd[1:], args...)...)
	var stderr strings.Builder
	c.Stderr = &stderr
	out, err := c.Output()
	if err != nil {
		t.Fatalf("%v: %v\n%s", c.Args, err, stderr.String())
	}
	return out
}

// checkDuckDBFiles checks the files DuckDB's generator writes in dir.
func checkDuckDBFiles(t *testing.T, dir string) {
	t.Helper()
	for _, tc := range []struct {
		file    string
		prefix  string
		hop     int32
		work    func(i int) string
		ints    bool
		extraOf func(i int) map[string]string
	}{
		{file: "flat.parquet", prefix: "flat-", work: func(i int) string { return "w" + string(rune('0'+i%2)) },
			extraOf: func(i int) map[string]string {
				return map[string]string{"label": "label" + string(rune('0'+i)), "bpm": []string{"0.0", "1.5", "3.0", "4.5"}[i],
					"live": []string{"true", "false"}[i%2]}
			}},
		{file: "nested.parquet", prefix: "nested-", hop: 512, work: func(i int) string { return string(rune('1')) + "0" + string(rune('0'+i)) }},
		{file: "ints.parquet", prefix: "ints-", hop: 4096, ints: true},
	} {
		songs, err := ReadSongsFile(filepath.Join(dir, tc.file))
		if err != nil {
			t.Fatalf("%s: %v", tc.file, err)
		}
		if len(songs) != 4 {
			t.Fatalf("%s: %d songs, want 4", tc.file, len(songs))
		}
		for i, s := range songs {
			want := duckdbCrema(i)
			if tc.ints {
				for k := range want {
					want[k] = float32((k + i) % 2)
				}
			}
			if s.SongID != tc.prefix+string(rune('0'+i)) || s.Hop != tc.hop || !reflect.DeepEqual(s.Crema, want) {
				t.Errorf("%s row %d: id %q hop %d crema %v…, want %q %d %v…", tc.file, i, s.SongID, s.Hop, s.Crema[:3], tc.prefix+string(rune('0'+i)), tc.hop, want[:3])
			}
			if tc.work != nil && s.WorkID != tc.work(i) {
				t.Errorf("%s row %d: work_id %q, want %q", tc.file, i, s.WorkID, tc.work(i))
			}
			if tc.extraOf != nil && !reflect.DeepEqual(s.Extra, tc.extraOf(i)) {
				t.Errorf("%s row %d: extra %v, want %v", tc.file, i, s.Extra, tc.extraOf(i))
			}
			if tc.ints && s.DurationS != float32(200+i) {
				t.Errorf("%s row %d: duration_s %v, want %d", tc.file, i, s.DurationS, 200+i)
			}
			if err := ValidateSong(&s); err != nil {
				t.Errorf("%s row %d: %v", tc.file, i, err)
			}
		}
	}
	// bad.parquet: a good row, a frame of 11 values, a NULL element; the
	// errors name file, row and column, and the good row still reads.
	f, err := Open(filepath.Join(dir, "bad.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var got []string
	for s, err := range f.Songs(0) {
		var re *RowError
		switch {
		case err == nil:
			got = append(got, "ok "+s.SongID)
		case errors.As(err, &re):
			if !strings.Contains(err.Error(), "bad.parquet") || re.Column != "crema" {
				t.Errorf("error %q does not name file and column", err)
			}
			got = append(got, "err "+s.SongID+": "+re.Err.Error())
		default:
			t.Fatal(err)
		}
	}
	want := []string{"ok bad-0", "err bad-short: frame 0 has 11 values, want 12", "err bad-null: null value at index 5"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("bad.parquet: got %q, want %q", got, want)
	}
}

// TestDuckDBFixtures reads the committed DuckDB-written files (no node needed).
func TestDuckDBFixtures(t *testing.T) {
	checkDuckDBFiles(t, filepath.Join("testdata", "duckdb"))
}

// TestDuckDBWritesVindexReads has DuckDB write fresh files and reads them.
func TestDuckDBWritesVindexReads(t *testing.T) {
	cmd := needDuckDB(t)
	dir := t.TempDir()
	runNode(t, cmd, "write", dir)
	checkDuckDBFiles(t, dir)
}

type duckRead struct {
	Columns []struct{ Name, Type string } `json:"columns"`
	KV      []struct{ Key, Value string } `json:"kv"`
	Rows    []struct {
		SongID string   `json:"song_id"`
		N      int      `json:"n"`
		Sum    float64  `json:"sum"`
		First  *float64 `json:"first"`
		Extra  *string  `json:"extra"`
	} `json:"rows"`
}

// TestDuckDBReadsVindexWrites has DuckDB read the songs, embeddings and
// rejects files vindex writes.
func TestDuckDBReadsVindexWrites(t *testing.T) {
	cmd := needDuckDB(t)
	dir := t.TempDir()
	songs := make([]Song, 5)
	for i := range songs {
		songs[i] = Song{SongID: "s" + string(rune('0'+i)), WorkID: "w", Hop: 512, Crema: duckdbCrema(i),
			Title: "T", Year: 2000, DurationS: 1.5}
		if i%2 == 0 {
			songs[i].Extra = map[string]string{"label": "x" + string(rune('0'+i))}
		}
	}
	if err := WriteSongsFile(filepath.Join(dir, "songs.parquet"), songs, WriterOptions{RowGroupRows: 2}); err != nil {
		t.Fatal(err)
	}
	embs := []Embedding{{SongID: "e0", Embedding: []float32{0.25, -1, 3}, Model: "m", ContentHash: "h"},
		{SongID: "e1", Embedding: []float32{1e-3}, Model: "m", Reducer: "pca", ContentHash: "h", Extra: map[string]string{"a": "b"}}}
	if err := WriteEmbeddingsFile(filepath.Join(dir, "embs.parquet"), embs, WriterOptions{}); err != nil {
		t.Fatal(err)
	}

	check := func(file, version string, wantN []int, wantSum []float64, wantFirst []float64, wantExtra []map[string]string) {
		var got duckRead
		out := runNode(t, cmd, "read", filepath.Join(dir, file))
		if err := json.Unmarshal(out, &got); err != nil {
			t.Fatalf("%s: %v\n%s", file, err, out)
		}
		kv := map[string]string{}
		for _, e := range got.KV {
			kv[e.Key] = e.Value
		}
		if kv[SchemaKey] != version {
			t.Errorf("%s: DuckDB sees key-value metadata %v, want %s=%s", file, kv, SchemaKey, version)
		}
		if len(got.Rows) != len(wantN) {
			t.Fatalf("%s: DuckDB reads %d rows, want %d", file, len(got.Rows), len(wantN))
		}
		for i, r := range got.Rows {
			if r.N != wantN[i] || math.Abs(r.Sum-wantSum[i]) > 1e-5*math.Max(1, math.Abs(wantSum[i])) || r.First == nil || *r.First != wantFirst[i] {
				t.Errorf("%s row %d: DuckDB reads n=%d sum=%v first=%v, want %d %v %v", file, i, r.N, r.Sum, r.First, wantN[i], wantSum[i], wantFirst[i])
			}
			var extra map[string]string
			if r.Extra != nil {
				if err := json.Unmarshal([]byte(*r.Extra), &extra); err != nil {
					t.Errorf("%s row %d: extra %q: %v", file, i, *r.Extra, err)
				}
			}
			if len(extra) != 0 || len(wantExtra[i]) != 0 {
				if !reflect.DeepEqual(extra, wantExtra[i]) {
					t.Errorf("%s row %d: DuckDB reads extra %v, want %v", file, i, extra, wantExtra[i])
				}
			}
		}
	}
	var n []int
	var sum, first []float64
	var extra []map[string]string
	for _, s := range songs {
		n = append(n, len(s.Crema))
		var total float64
		for _, v := range s.Crema {
			total += float64(v)
		}
		sum = append(sum, total)
		first = append(first, float64(s.Crema[0]))
		extra = append(extra, s.Extra)
	}
	check("songs.parquet", SongSchemaVersion, n, sum, first, extra)
	check("embs.parquet", EmbeddingSchemaVersion, []int{3, 1}, []float64{2.25, float64(float32(1e-3))},
		[]float64{0.25, float64(float32(1e-3))}, []map[string]string{nil, {"a": "b"}})
}

// TestDuckDBReadsEmptyRejects: a night without rejects still publishes a
// rejects dataset DuckDB reads with read_parquet('rejects/*.parquet'): one
// zero-row file with the reject columns (what transforms.WriteParquet writes
// for an empty collection, through the same RowWriter).
func TestDuckDBReadsEmptyRejects(t *testing.T) {
	cmd := needDuckDB(t)
	dir := filepath.Join(t.TempDir(), "rejects")
	rw, err := CreateFile(filepath.Join(dir, "part-0123456789ab-00000-of-00001.parquet"), reflect.TypeOf(Reject{}), RejectSchemaVersion, WriterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := rw.Close(); err != nil {
		t.Fatal(err)
	}
	var got struct {
		Columns []string `json:"columns"`
		N       int      `json:"n"`
	}
	out := runNode(t, cmd, "count", filepath.Join(dir, "*.parquet"))
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if want := []string{"song_id", "file", "stage", "reason"}; got.N != 0 || !reflect.DeepEqual(got.Columns, want) {
		t.Errorf("DuckDB reads %d rows, columns %v; want 0 rows, columns %v", got.N, got.Columns, want)
	}
}
