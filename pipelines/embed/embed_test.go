package embed

import (
	"context"
	"encoding/binary"
	"fmt"
	"maps"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"

	"github.com/vindex/vindex/runners"
	"github.com/vindex/vindex/schema"
)

func TestMain(m *testing.M) { ptest.MainWithDefault(m, "prism") }

// parity is model/testdata/parity: inputs and PyTorch outputs written by
// model/testdata/gen/gen.py (torch 1.13.1) for seeded checkpoints.
const parity = "../../model/testdata/parity"

func readF32(t *testing.T, name string) []float32 {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(parity, name))
	if err != nil {
		t.Fatal(err)
	}
	v := make([]float32, len(b)/4)
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return v
}

// TestEmbedPipelineMatchesPyTorch runs the embed pipeline on prism over a
// catalog of two good songs (one at the model rate, one at the Da-TACOS hop
// 512) and two bad ones, and checks the embeddings against PyTorch's and the
// bad songs against the rejects.
func TestEmbedPipelineMatchesPyTorch(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "features")
	if err := os.MkdirAll(in, 0o755); err != nil {
		t.Fatal(err)
	}
	t400 := readF32(t, "in_t400.f32")
	songs := []schema.Song{
		{SongID: "a-t400", WorkID: "w1", Crema: t400, Title: "A", Year: 1999},
		{SongID: "b-h512", WorkID: "w1", Hop: 512, Crema: readF32(t, "in_h512.f32")},
		{SongID: "c-short", WorkID: "w2", Crema: t400[:12*100]},
		{SongID: "d-nan", WorkID: "w2", Crema: append([]float32{float32(math.NaN())}, t400[1:]...)},
	}
	if err := schema.WriteSongsFile(filepath.Join(in, "songs.parquet"), songs, schema.WriterOptions{}); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	cfg := Config{
		Weights: filepath.Join(parity, "ckpt_sum4-fa3-d256-zip.pt"),
		In:      filepath.Join(in, "*.parquet"),
		Out:     out,
		Shards:  2,
		Command: "test",
	}
	ctx := context.Background()
	if err := cfg.Validate(ctx); err != nil {
		t.Fatal(err)
	}
	p, s := beam.NewPipelineWithRoot()
	Build(s, cfg)
	res, err := runners.Run(ctx, p, runners.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Counter("vindex.songs_embedded"); got != 2 {
		t.Errorf("counter songs_embedded = %d, want 2", got)
	}

	embs, err := schema.ReadEmbeddingsFiles(filepath.Join(EmbeddingsDir(out), "*.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]float32{
		"a-t400": readF32(t, "out_sum4-fa3-d256-zip__t400.f32"),
		"b-h512": readF32(t, "out_sum4-fa3-d256-zip__h512.f32"),
	}
	if len(embs) != len(want) {
		t.Fatalf("got %d embeddings, want %d", len(embs), len(want))
	}
	for _, e := range embs {
		w, ok := want[e.SongID]
		if !ok {
			t.Fatalf("unexpected embedding for %q", e.SongID)
		}
		if len(e.Embedding) != len(w) {
			t.Fatalf("%s: d = %d, want %d", e.SongID, len(e.Embedding), len(w))
		}
		for i := range w {
			if d := math.Abs(float64(e.Embedding[i] - w[i])); d > 1e-4 {
				t.Fatalf("%s[%d] = %g, PyTorch %g (|Δ| %g > 1e-4)", e.SongID, i, e.Embedding[i], w[i], d)
			}
		}
		if e.WorkID != "w1" || !strings.HasPrefix(e.Model, "move-sum4-fa3-d256-") || len(e.ContentHash) != 64 {
			t.Errorf("%s: work %q model %q hash %q", e.SongID, e.WorkID, e.Model, e.ContentHash)
		}
		if e.SongID == "a-t400" && (e.Title != "A" || e.Year != 1999) {
			t.Errorf("metadata not carried: %+v", e)
		}
	}

	rejects, err := schema.ReadRejectsFiles(RejectsDir(out))
	if err != nil {
		t.Fatal(err)
	}
	sort.Slice(rejects, func(i, j int) bool { return rejects[i].SongID < rejects[j].SongID })
	if len(rejects) != 2 || rejects[0].SongID != "c-short" || rejects[1].SongID != "d-nan" {
		t.Fatalf("rejects = %+v, want c-short and d-nan", rejects)
	}
	for _, r := range rejects {
		if r.Reason == "" || !strings.HasSuffix(r.File, "songs.parquet") {
			t.Errorf("reject %+v: want a reason and the file", r)
		}
	}
	if !strings.Contains(rejects[0].Reason, "short") {
		t.Errorf("short song's reason %q does not say it is too short", rejects[0].Reason)
	}
}

func TestValidateRefusesBadConfig(t *testing.T) {
	ctx := context.Background()
	for _, c := range []Config{
		{In: "x", Out: "y"},
		{Weights: "w", Out: "y"},
		{Weights: "w", In: filepath.Join(t.TempDir(), "*.parquet"), Out: "y"},
	} {
		if err := c.Validate(ctx); err == nil {
			t.Errorf("Validate(%+v) = nil, want an error", c)
		}
	}
}

// TestEmbedDuplicateSongIDs: a song_id repeated within a file and across
// files keeps its first copy by file path, then row; every later copy is a
// reject of stage dedupe naming both files, and the run succeeds.
func TestEmbedDuplicateSongIDs(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "features")
	if err := os.MkdirAll(in, 0o755); err != nil {
		t.Fatal(err)
	}
	t400 := readF32(t, "in_t400.f32")
	song := func(id, title string) schema.Song {
		return schema.Song{SongID: id, WorkID: "w", Crema: t400[:12*330], Title: title}
	}
	// b.parquet sorts after a.parquet: its x is a later copy although written first.
	if err := schema.WriteSongsFile(filepath.Join(in, "b.parquet"), []schema.Song{song("x", "b0"), song("z", "b1")}, schema.WriterOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := schema.WriteSongsFile(filepath.Join(in, "a.parquet"), []schema.Song{song("y", "a0"), song("x", "a1"), song("y", "a2")}, schema.WriterOptions{RowGroupRows: 1}); err != nil {
		t.Fatal(err)
	}
	for _, shards := range []int{1, 3} {
		out := filepath.Join(dir, "out", strconv.Itoa(shards))
		cfg := Config{Weights: filepath.Join(parity, "ckpt_sum4-fa3-d256-zip.pt"), In: in, Out: out, Shards: shards, Command: "test"}
		ctx := context.Background()
		if err := cfg.Validate(ctx); err != nil {
			t.Fatal(err)
		}
		p, s := beam.NewPipelineWithRoot()
		Build(s, cfg)
		res, err := runners.Run(ctx, p, runners.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if got := res.Counter("vindex.songs_duplicated"); got != 2 {
			t.Errorf("shards %d: songs_duplicated = %d, want 2", shards, got)
		}
		embs, err := schema.ReadEmbeddingsFiles(EmbeddingsDir(out))
		if err != nil {
			t.Fatal(err)
		}
		kept := map[string]string{}
		for _, e := range embs {
			if _, ok := kept[e.SongID]; ok {
				t.Errorf("shards %d: song %q written twice", shards, e.SongID)
			}
			kept[e.SongID] = e.Title
		}
		if want := map[string]string{"x": "a1", "y": "a0", "z": "b1"}; !maps.Equal(kept, want) {
			t.Errorf("shards %d: kept %v, want %v", shards, kept, want)
		}
		rejects, err := schema.ReadRejectsFiles(RejectsDir(out))
		if err != nil {
			t.Fatal(err)
		}
		sort.Slice(rejects, func(i, j int) bool { return rejects[i].SongID < rejects[j].SongID })
		if len(rejects) != 2 {
			t.Fatalf("shards %d: rejects = %+v, want the later x and y", shards, rejects)
		}
		a, b := filepath.Join(in, "a.parquet"), filepath.Join(in, "b.parquet")
		for i, want := range []struct{ id, file, reason string }{
			{"x", b, fmt.Sprintf("%s row 0 repeats %s row 1 (kept)", b, a)},
			{"y", a, fmt.Sprintf("%s row 2 repeats %s row 0 (kept)", a, a)},
		} {
			r := rejects[i]
			if r.SongID != want.id || r.File != want.file || r.Stage != schema.StageDedupe || !strings.Contains(r.Reason, want.reason) {
				t.Errorf("shards %d: reject %+v, want song %s, file %s, stage dedupe, reason containing %q", shards, r, want.id, want.file, want.reason)
			}
		}
	}
}
