package transforms

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/passert"
	"github.com/parquet-go/parquet-go"

	"github.com/vindex/vindex/runners"
	"github.com/vindex/vindex/schema"
)

func init() {
	register.Function1x1(fakeEmbed)
	register.Function1x1(songIDOf)
}

// fakeEmbed stands in for the network: the mean of each pitch class.
func fakeEmbed(s schema.Song) schema.Embedding {
	var e schema.Embedding
	e.CarryMetadata(&s)
	e.Embedding = make([]float32, schema.PitchClasses)
	for i, v := range s.Crema {
		e.Embedding[i%schema.PitchClasses] += v / float32(s.Frames())
	}
	e.Model = "fake"
	e.ContentHash = schema.ContentHash(&s, "none", "fake")
	return e
}

func songIDOf(s schema.Song) string { return s.SongID }

func makeSongs(prefix string, n, frames int) []schema.Song {
	out := make([]schema.Song, n)
	for i := range out {
		c := make([]float32, frames*schema.PitchClasses)
		for j := range c {
			c[j] = float32((i*7+j)%101) / 100
		}
		out[i] = schema.Song{SongID: prefix + string(rune('a'+i)), WorkID: "w" + string(rune('0'+i%3)),
			Hop: 512, Crema: c, Title: "title", Year: 2001, Extra: map[string]string{"k": "v"}}
	}
	return out
}

// writeCatalog writes a small catalog: two good files with several row
// groups, one with an invalid song, and one file that is not Parquet.
func writeCatalog(t *testing.T) (dir string, good []string) {
	t.Helper()
	dir = t.TempDir()
	a, b := makeSongs("a", 7, 4), makeSongs("b", 5, 3)
	b[2].Crema[5] = float32(math.NaN())
	if err := schema.WriteSongsFile(filepath.Join(dir, "a.parquet"), a, schema.WriterOptions{RowGroupRows: 3}); err != nil {
		t.Fatal(err)
	}
	if err := schema.WriteSongsFile(filepath.Join(dir, "b.parquet"), b, schema.WriterOptions{RowGroupRows: 2}); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "c.parquet"), []byte("not parquet at all"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, s := range append(a, b...) {
		if s.SongID != "bc" {
			good = append(good, s.SongID)
		}
	}
	slices.Sort(good)
	return dir, good
}

func TestReadSongsWriteEmbeddings(t *testing.T) {
	in, good := writeCatalog(t)
	out := filepath.Join(t.TempDir(), "embeddings")
	rej := filepath.Join(t.TempDir(), "rejects")

	p, s := beam.NewPipelineWithRoot()
	songs, rejects := ReadSongs(s, in)
	passert.Equals(s, beam.ParDo(s, songIDOf, songs), stringsToAny(good)...)
	passert.Count(s, rejects, "rejects", 2)
	embs := beam.ParDo(s, fakeEmbed, songs)
	WriteEmbeddings(s, out, embs, WriteOptions{Shards: 3, Command: "vindex test"})
	WriteRejects(s, rej, WriteOptions{Shards: 2}, rejects)
	res, err := runners.Run(context.Background(), p, runners.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Counter("vindex.read.ranges"); got != 3+3 {
		t.Errorf("ranges read = %d, want 6 (one per row group: groups of 3 and 2 rows)", got)
	}
	if got := res.Counter("vindex." + SongsRead); got != int64(len(good)+1) {
		t.Errorf("songs read = %d, want %d", got, len(good)+1)
	}

	m, err := schema.ReadManifest(out)
	if err != nil {
		t.Fatal(err)
	}
	if m.Rows != int64(len(good)) || m.Schema != schema.EmbeddingSchemaVersion || m.Command != "vindex test" || len(m.Files) == 0 || len(m.Files) > 3 {
		t.Errorf("manifest = %+v", m)
	}
	embsRead, err := schema.ReadEmbeddingsFiles(out)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, e := range embsRead {
		ids = append(ids, e.SongID)
		if e.Model != "fake" || len(e.Embedding) != 12 || e.Extra["k"] != "v" || e.Year != 2001 {
			t.Errorf("embedding %+v lost fields", e)
		}
	}
	slices.Sort(ids)
	if !reflect.DeepEqual(ids, good) {
		t.Errorf("embedding ids = %v, want %v", ids, good)
	}
	entries, _ := os.ReadDir(out)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), schema.TempPrefix) {
			t.Errorf("temporary file %s left behind", e.Name())
		}
	}

	// Rejects: the NaN song (validate) and the non-Parquet file (read).
	rm, err := schema.ReadManifest(rej)
	if err != nil {
		t.Fatal(err)
	}
	if rm.Rows != 2 || rm.Schema != schema.RejectSchemaVersion {
		t.Errorf("rejects manifest = %+v", rm)
	}
}

func TestReadEmbeddingsRoundTrip(t *testing.T) {
	dir := t.TempDir()
	embs := []schema.Embedding{
		{SongID: "x", Embedding: []float32{1, 2, 3}, Model: "m", ContentHash: "h"},
		{SongID: "y", Embedding: []float32{4, 5, 6}, Model: "m", ContentHash: "h", Extra: map[string]string{"a": "b"}},
		{SongID: "z", Embedding: []float32{float32(math.Inf(1))}, Model: "m"},
	}
	if err := schema.WriteEmbeddingsFile(filepath.Join(dir, "e.parquet"), embs, schema.WriterOptions{}); err != nil {
		t.Fatal(err)
	}
	// Rows read back name their file (Embedding.File, not a column).
	embs[0].File, embs[1].File = filepath.Join(dir, "e.parquet"), filepath.Join(dir, "e.parquet")
	embs[1].Row = 1
	p, s := beam.NewPipelineWithRoot()
	got, rejects := ReadEmbeddings(s, filepath.Join(dir, "*.parquet"))
	passert.Equals(s, got, embs[0], embs[1])
	passert.Count(s, rejects, "rejects", 1)
	if _, err := runners.Run(context.Background(), p, runners.Options{}); err != nil {
		t.Fatal(err)
	}
}

func TestWriteRejectsEmpty(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "rejects")
	p, s := beam.NewPipelineWithRoot()
	WriteRejects(s, dir, WriteOptions{Command: "c"})
	if _, err := runners.Run(context.Background(), p, runners.Options{}); err != nil {
		t.Fatal(err)
	}
	m, err := schema.ReadManifest(dir)
	if err != nil {
		t.Fatal(err)
	}
	if m.Rows != 0 || len(m.Files) != 1 || m.Files[0].Rows != 0 {
		t.Fatalf("manifest = %+v, want one zero-row file", m)
	}
	files, err := schema.ListDataset(filepath.Join(dir, "*.parquet"))
	if err != nil || len(files) != 1 {
		t.Fatalf("ListDataset = %v, %v; want one file", files, err)
	}
	// What DuckDB's read_parquet('rejects/*.parquet') needs: a Parquet file
	// with the reject columns and no rows.
	f, err := os.Open(files[0])
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, _ := f.Stat()
	pf, err := parquet.OpenFile(f, st.Size())
	if err != nil {
		t.Fatal(err)
	}
	var cols []string
	for _, c := range pf.Schema().Fields() {
		cols = append(cols, c.Name())
	}
	if want := []string{"song_id", "file", "stage", "reason"}; pf.NumRows() != 0 || !slices.Equal(cols, want) {
		t.Errorf("empty rejects file: %d rows, columns %v; want 0 rows, columns %v", pf.NumRows(), cols, want)
	}
}

func stringsToAny(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}
