package transforms

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/passert"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"

	"github.com/vindex/vindex/model/metrics"
	"github.com/vindex/vindex/schema"
)

// BenchmarkEvaluatePipeline: the evaluation of a clustered 15,000 × 256
// catalog (works of 13 versions, every seventh song noise), by
// metrics.Evaluate alone on in-memory rows ("plain") and by ReadEmbeddings →
// Evaluate on prism from a Parquet file to per-query results ("beam"; a
// beam.CreateList of the rows would cost more than the evaluation: Beam
// copies them into the pipeline's graph), side by side; cpu-s/op is the
// process's CPU time per evaluation (the ratio is beam/plain).
func BenchmarkEvaluatePipeline(b *testing.B) {
	embs := clusteredEmbeddings(15_000, 256)
	cfg := metrics.Config{Distance: metrics.Cosine}
	b.Run("plain", func(b *testing.B) {
		cpu0 := cpuSeconds()
		for b.Loop() {
			if _, err := metrics.Evaluate(MetricRows(embs, nil), cfg); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric((cpuSeconds()-cpu0)/float64(b.N), "cpu-s/op")
	})
	b.Run("beam", func(b *testing.B) {
		in, tmp := b.TempDir(), b.TempDir()
		if err := schema.WriteEmbeddingsFile(filepath.Join(in, "embeddings.parquet"), embs, schema.WriterOptions{}); err != nil {
			b.Fatal(err)
		}
		cpu0 := cpuSeconds()
		for b.Loop() {
			p, s := beam.NewPipelineWithRoot()
			rows, _ := ReadEmbeddings(s, in)
			results, _, _ := Evaluate(s, EvaluateConfig{Metrics: cfg, TempDir: tmp}, rows)
			passert.Count(s, results, "results", len(embs))
			if err := ptest.Run(p); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric((cpuSeconds()-cpu0)/float64(b.N), "cpu-s/op")
	})
}

// clusteredEmbeddings is n songs of dimension d in works of 13 versions
// around random centres, every seventh work noise (no work_id).
func clusteredEmbeddings(n, d int) []schema.Embedding {
	rng := rand.New(rand.NewPCG(42, 1))
	embs := make([]schema.Embedding, 0, n)
	centre := make([]float64, d)
	for w := 0; len(embs) < n; w++ {
		for i := range centre {
			centre[i] = rng.NormFloat64()
		}
		for v := 0; v < 13 && len(embs) < n; v++ {
			e := make([]float32, d)
			for i := range e {
				e[i] = float32(centre[i] + 2.5*rng.NormFloat64())
			}
			work := fmt.Sprintf("w%d", w)
			if w%7 == 6 {
				work = ""
			}
			embs = append(embs, schema.Embedding{SongID: fmt.Sprintf("s%07d", len(embs)), WorkID: work, Embedding: e,
				Model: "synthetic", ContentHash: "h"})
		}
	}
	return embs
}
