package transforms

import (
	"context"
	"fmt"
	"testing"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/vindex/vindex/runners"
	"github.com/vindex/vindex/schema"
)

func init() { register.Function1x1(passEmbedding) }

func passEmbedding(e schema.Embedding) schema.Embedding { return e }

// BenchmarkDedupeEmbeddings measures what de-duplication adds to a pipeline
// on prism: "dedupe" runs DedupeEmbeddings over 20,000 256-d embeddings,
// "pass" the same pipeline with a plain ParDo in its place; the difference
// is the GroupByKey by song_id (reported as µs/song).
func BenchmarkDedupeEmbeddings(b *testing.B) {
	const n, d = 20000, 256
	rows := make([]schema.Embedding, n)
	for i := range rows {
		rows[i] = schema.Embedding{SongID: fmt.Sprintf("s%06d", i%(n-100)), Embedding: make([]float32, d),
			Model: "m", ContentHash: "h", File: "f.parquet", Row: int64(i)}
	}
	for _, mode := range []string{"pass", "dedupe"} {
		b.Run(mode, func(b *testing.B) {
			for b.Loop() {
				p, s := beam.NewPipelineWithRoot()
				embs := beam.CreateList(s, rows)
				if mode == "dedupe" {
					embs, _ = DedupeEmbeddings(s, embs)
				} else {
					embs = beam.ParDo(s, passEmbedding, embs)
				}
				beam.ParDo(s, passEmbedding, embs)
				if _, err := runners.Run(context.Background(), p, runners.Options{}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/n, "µs/song")
		})
	}
}
