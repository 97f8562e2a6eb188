package transforms

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"

	"github.com/vindex/vindex/model/metrics"
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

// TestEvaluateMatchesPlainGo runs Evaluate on prism with small block pairs
// (so that every query's counts are summed over several catalog blocks) and
// checks the report equals metrics.Evaluate's, which is checked against the
// torch reference in model/metrics.
func TestEvaluateMatchesPlainGo(t *testing.T) {
	embs := evalTestEmbeddings(t)
	cfg := metrics.Config{Distance: metrics.Cosine, GroupBy: []string{"year"}}
	want, err := metrics.Evaluate(embs, cfg)
	if err != nil {
		t.Fatal(err)
	}
	bad := embs[3]
	bad.SongID = "zz-nan"
	bad.Embedding = []float32{float32(math.Inf(1))}
	embs = append(embs, bad)

	p, s := beam.NewPipelineWithRoot()
	dir := t.TempDir()
	results, rejects, catalog := Evaluate(s, EvaluateConfig{Metrics: cfg, PairQueries: 37, PairCatalog: 101}, beam.CreateList(s, embs))
	WriteEvaluationReport(s, dir, results, rejects, catalog)
	if err := ptest.Run(p); err != nil {
		t.Fatal(err)
	}
	got, err := metrics.ReadReport(filepath.Join(dir, "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	if got.Overall != want.Overall {
		t.Errorf("overall:\n got %+v\nwant %+v", got.Overall, want.Overall)
	}
	if len(got.Groups["year"]) != 3 || got.Groups["year"][1] != want.Groups["year"][1] {
		t.Errorf("year groups: %+v", got.Groups["year"])
	}
	if got.Rejected != 1 || got.Rejects[0].SongID != "zz-nan" {
		t.Errorf("rejects: %+v", got.Rejects)
	}
	for _, f := range []string{"report.md", metrics.QueriesFile, "ap_histogram.png", "first_rank_cdf.png", "map_by_clique_size.png"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Error(err)
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
