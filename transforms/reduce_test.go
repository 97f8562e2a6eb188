package transforms

import (
	"testing"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/passert"

	"github.com/vindex/vindex/model/reduce"
	"github.com/vindex/vindex/schema"
)

// TestReduceBeam applies a reducer as a side input on prism: good rows are
// reduced (and normalised) with every other column kept, rows of another
// model or dimension and already reduced rows become rejects naming the song.
func TestReduceBeam(t *testing.T) {
	embs := testEmbeddings(40, 8, 9)
	r := inMemoryPCA(t, embs, 3)
	fr, err := encodeReducer(r)
	if err != nil {
		t.Fatal(err)
	}
	var want []schema.Embedding
	for _, e := range embs {
		v := make([]float32, 3)
		r.Apply(v, e.Embedding)
		reduce.Normalize(v)
		e.Embedding, e.Reducer = v, r.ID()
		want = append(want, e)
	}
	bad := testEmbeddings(3, 8, 10)
	bad[0].SongID, bad[0].Model = "wrong-model", "other"
	bad[1].SongID, bad[1].Embedding = "wrong-dim", bad[1].Embedding[:7]
	bad[2].SongID, bad[2].Reducer = "reduced", "pca3-x"
	wantRejects := []schema.Reject{
		{SongID: "wrong-model", Stage: schema.StageReduce, Reason: `embedding of model "other", reducer ` + r.ID() + ` was fitted on model "move-test"`},
		{SongID: "wrong-dim", Stage: schema.StageReduce, Reason: "embedding has 7 values, reducer " + r.ID() + " takes 8"},
		{SongID: "reduced", Stage: schema.StageReduce, Reason: "embedding already reduced by pca3-x; reducer " + r.ID() + " applies to raw move-test embeddings"},
	}

	p, s := beam.NewPipelineWithRoot()
	side := beam.Create(s, fr)
	out, rejects := Reduce(s, side, beam.CreateList(s, append(embs, bad...)), true)
	passert.Equals(s, out, toAny(want)...)
	passert.Equals(s, rejects, toAny(wantRejects)...)
	runPipeline(t, p)
}

// TestFitThenReduceBeam chains Fit and Reduce in one pipeline, the fitted
// reducer going straight to the side input.
func TestFitThenReduceBeam(t *testing.T) {
	embs := testEmbeddings(100, 8, 11)
	p, s := beam.NewPipelineWithRoot()
	col := beam.CreateList(s, embs)
	out, rejects := Reduce(s, Fit(s, col, FitConfig{Method: reduce.GRP, K: 2, Seed: 1}), col, false)
	passert.Count(s, out, "reduced", 100)
	passert.Empty(s, rejects)
	runPipeline(t, p)
}

func toAny[T any](xs []T) []any {
	out := make([]any, len(xs))
	for i, x := range xs {
		out[i] = x
	}
	return out
}
