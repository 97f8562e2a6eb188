package reduce_test

import (
	"fmt"
	"log"
	"math"

	"github.com/vindex/vindex/model/reduce"
)

// Fit a PCA reducer from embeddings folded into mergeable moments (as the
// Beam CombineFn does, one Moments per worker, merged), then apply it.
func ExampleFitPCA() {
	// Points near a line in 3-d: one direction holds almost all the variance.
	var a, b reduce.Moments
	for i := range 100 {
		t := float64(i) - 49.5
		x := []float32{float32(2 * t), float32(t + 8*math.Sin(t)), float32(8 * math.Cos(t))}
		if i%2 == 0 {
			a.Add(x) // worker A
		} else {
			b.Add(x) // worker B
		}
	}
	if err := a.Merge(&b); err != nil {
		log.Fatal(err)
	}
	r, err := reduce.FitPCA(&a, reduce.PCAConfig{K: 1, Model: "move-example"})
	if err != nil {
		log.Fatal(err)
	}
	info := r.Info() // both figures below agree with numpy.linalg.eigh on the same points
	fmt.Printf("%s: %d → %d, fitted on %d rows, explained variance ratio %.3f\n",
		r.Method(), r.InDim(), r.OutDim(), info.FitCount, info.ExplainedVarianceRatio[0])

	dst := make([]float32, r.OutDim())
	r.Apply(dst, []float32{2, 1, 0}) // the point (2, 1, 0), measured from the centre
	fmt.Printf("projection of (2, 1, 0): %.2f\n", math.Abs(float64(dst[0])))
	// Output:
	// pca: 3 → 1, fitted on 100 rows, explained variance ratio 0.986
	// projection of (2, 1, 0): 2.24
}
