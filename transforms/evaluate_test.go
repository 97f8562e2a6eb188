package transforms

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"

	"github.com/vindex/vindex/model/metrics"
	"github.com/vindex/vindex/model/search"
	"github.com/vindex/vindex/schema"
)

// evalTestEmbeddings reads the clustered embeddings the metrics parity
// goldens were made from (model/metrics/testdata/gen/gen.py), with a NaN row
// added.
func evalTestEmbeddings(t *testing.T) []schema.Embedding {
	var in struct {
		SongIDs    []string    `json:"song_ids"`
		WorkIDs    []string    `json:"work_ids"`
		Embeddings [][]float32 `json:"embeddings"`
	}
	b, err := os.ReadFile("../model/metrics/testdata/clustered.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &in); err != nil {
		t.Fatal(err)
	}
	embs := make([]schema.Embedding, len(in.SongIDs))
	for i := range embs {
		embs[i] = schema.Embedding{SongID: in.SongIDs[i], WorkID: in.WorkIDs[i], Embedding: in.Embeddings[i],
			Model: "move-sum4-fa3-d24-test", ContentHash: "h", Year: int32(1990 + i%3)}
	}
	return embs
}

// TestEvaluateMatchesPlainGo runs Evaluate on prism with small query blocks
// (an even and an odd number of them, so that both halves of the pair plan
// run) and block files (so that the catalog is read back from several files
// and every query's counts are summed over several pairs of blocks) and
// checks the report equals metrics.Evaluate's, which is checked against the
// torch reference in model/metrics, and that the block files are removed.
func TestEvaluateMatchesPlainGo(t *testing.T) {
	for _, size := range []int{37, 40} { // 351 songs: 10 and 9 blocks
		t.Run(strconv.Itoa(size), func(t *testing.T) { testEvaluateMatchesPlainGo(t, size) })
	}
}

func testEvaluateMatchesPlainGo(t *testing.T, size int) {
	embs := evalTestEmbeddings(t)
	cfg := metrics.Config{Distance: metrics.Cosine, GroupBy: []string{"year"}}
	want, err := metrics.Evaluate(MetricRows(embs, cfg.GroupBy), cfg)
	if err != nil {
		t.Fatal(err)
	}
	bad := embs[3]
	bad.SongID = "zz-nan"
	bad.Embedding = []float32{float32(math.Inf(1))}
	embs = append(embs, bad)

	p, s := beam.NewPipelineWithRoot()
	dir, tmp := t.TempDir(), t.TempDir()
	results, rejects, catalog := Evaluate(s, EvaluateConfig{Metrics: cfg, PairQueries: size, TempDir: tmp, BlockRows: 13},
		beam.CreateList(s, embs))
	WriteEvaluationReport(s, dir, results, rejects, catalog)
	if err := ptest.Run(p); err != nil {
		t.Fatal(err)
	}
	got, err := ReadReport(context.Background(), filepath.Join(dir, ReportFile))
	if err != nil {
		t.Fatal(err)
	}
	if left, _ := os.ReadDir(tmp); len(left) != 0 {
		t.Errorf("catalog blocks left behind: %v", left)
	}
	if got.Overall != want.Overall {
		t.Errorf("overall:\n got %+v\nwant %+v", got.Overall, want.Overall)
	}
	if len(got.Groups["year"]) != 3 || got.Groups["year"][1] != want.Groups["year"][1] {
		t.Errorf("year groups: %+v", got.Groups["year"])
	}
	if got.Rejected != 1 || got.Rejects[0].SongID != "zz-nan" || got.Rejects[0].Stage != schema.StageEvaluate {
		t.Errorf("rejects: %+v", got.Rejects)
	}
	for _, f := range []string{"report.md", QueriesFile, "ap_histogram.png", "first_rank_cdf.png", "map_by_clique_size.png"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Error(err)
		}
	}
}

// TestPlanPairs: the pair plan covers every unordered pair of blocks
// (diagonal included) exactly once, and no element has more than one pair
// more than another.
func TestPlanPairs(t *testing.T) {
	for _, c := range [][2]int{{1, 8}, {8, 8}, {9, 8}, {100, 7}, {100, 10}, {1000, 37}} {
		n, size := c[0], c[1]
		nb := (n + size - 1) / size
		seen := map[[2]int]int{}
		lo, hi := nb, 0
		for _, p := range planPairs(n, size) {
			for k := 0; k <= p.Others; k++ {
				a, b := p.Block, (p.Block+k)%nb
				seen[[2]int{min(a, b), max(a, b)}]++
			}
			lo, hi = min(lo, p.Others), max(hi, p.Others)
		}
		if len(seen) != nb*(nb+1)/2 || hi-lo > 1 {
			t.Errorf("%d songs in blocks of %d: %d distinct pairs of %d, elements of %d to %d others", n, size, len(seen), nb*(nb+1)/2, lo, hi)
		}
		for pair, k := range seen {
			if k != 1 {
				t.Errorf("%d songs in blocks of %d: pair %v scored %d times", n, size, pair, k)
			}
		}
	}
}

// TestEvaluateDuplicateFails: a duplicate song_id fails the pipeline with
// an error naming it.
func TestEvaluateDuplicateFails(t *testing.T) {
	embs := evalTestEmbeddings(t)[:20]
	embs[7].SongID = embs[3].SongID
	p, s := beam.NewPipelineWithRoot()
	results, _, _ := Evaluate(s, EvaluateConfig{Metrics: metrics.Config{Distance: metrics.Cosine}}, beam.CreateList(s, embs))
	_ = results
	err := ptest.Run(p)
	if err == nil {
		t.Fatal("duplicate song_id: want an error")
	}
	if !strings.Contains(err.Error(), embs[3].SongID) {
		t.Errorf("error does not name the song: %v", err)
	}
}

// BenchmarkLoadParquet is the fallback path of vindex query: 100,000 × 256
// embeddings read from Parquet (schema.ReadEmbeddingsFiles), gathered and
// prepared, then one query.
func BenchmarkLoadParquet(b *testing.B) {
	const n, d = 100_000, 256
	m := benchMatrix(n, d)
	embs := make([]schema.Embedding, n)
	for i := range embs {
		embs[i] = schema.Embedding{SongID: m.IDs[i], WorkID: m.WorkIDs[i], Model: "m", ContentHash: "h",
			Embedding: m.Vecs[i*d : (i+1)*d]}
	}
	path := filepath.Join(b.TempDir(), "embeddings.parquet")
	if err := schema.WriteEmbeddingsFile(path, embs, schema.WriterOptions{}); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		embs, err := schema.ReadEmbeddingsFiles(path)
		if err != nil {
			b.Fatal(err)
		}
		m, err := SearchMatrix(embs)
		if err != nil {
			b.Fatal(err)
		}
		ix, err := search.NewInPlace(m, metrics.Cosine)
		if err != nil {
			b.Fatal(err)
		}
		ix.Search([]search.Query{ix.QueryOf(0)}, 10, search.Options{})
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "songs/s")
}

func benchMatrix(n, d int) *search.Matrix {
	rng := rand.New(rand.NewPCG(9, 10))
	m := search.NewMatrix(d, n)
	vec := make([]float32, d)
	for i := range n {
		for j := range vec {
			vec[j] = float32(rng.NormFloat64())
		}
		m.Append(fmt.Sprintf("s%06d", i), fmt.Sprintf("w%d", rng.IntN(n/3)), "", "", vec)
	}
	return m
}
