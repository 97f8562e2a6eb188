package metrics_test

import (
	"fmt"
	"log"

	"github.com/vindex/vindex/model/metrics"
)

// Evaluate a small set of embeddings: two works with two versions each and
// one song of no known work.
func ExampleEvaluate() {
	rows := []metrics.Row{
		{SongID: "a1", WorkID: "A", Embedding: []float32{1, 0.1}},
		{SongID: "a2", WorkID: "A", Embedding: []float32{0.9, 0.2}},
		{SongID: "b1", WorkID: "B", Embedding: []float32{0.1, 1}},
		{SongID: "b2", WorkID: "B", Embedding: []float32{0.6, 0.5}}, // nearer a1 and a2 than b1, though b1's nearest is b2
		{SongID: "x", Embedding: []float32{-1, -1}},
	}
	rep, err := metrics.Evaluate(rows, metrics.Config{Distance: metrics.Cosine})
	if err != nil {
		log.Fatal(err)
	}
	f := rep.Overall
	fmt.Printf("queries with versions %d, MAP %.3f, MR1 %.2f, top-1 %d\n", f.Queries, f.MAP, f.MR1, f.Top1)
	for _, q := range rep.Queries {
		fmt.Printf("%s: first version at rank %d\n", q.SongID, q.FirstRank)
	}
	// Output:
	// queries with versions 4, MAP 0.833, MR1 1.50, top-1 3
	// a1: first version at rank 1
	// a2: first version at rank 1
	// b1: first version at rank 1
	// b2: first version at rank 3
	// x: first version at rank 0
}
