package train_test

import (
	"fmt"
	"math/rand/v2"

	"github.com/vindex/vindex/model/train"
)

// Distil a 2-d student from a 4-d teacher head on a toy set of pooled
// features (8 values per row here; MOVE's are 256): 12 works of 4 versions.
func ExampleTrain() {
	const in, works, versions = 8, 12, 4
	rng := rand.New(rand.NewPCG(1, 2))
	data := &train.Data{In: in, Works: works}
	for w := 0; w < works; w++ {
		centre := []float64{rng.NormFloat64(), rng.NormFloat64()}
		for v := 0; v < versions; v++ {
			for k := 0; k < in; k++ {
				x := rng.NormFloat64()
				if k < 2 {
					x = centre[k] + 0.1*rng.NormFloat64()
				}
				data.X = append(data.X, float32(x))
			}
			data.Songs = append(data.Songs, train.Song{Work: int32(w), Full: int32(len(data.Songs))})
		}
	}
	teacher := &train.Teacher{D: 4, W: make([]float32, 4*in), Mean: make([]float32, 4), Var: []float32{1, 1, 1, 1}}
	for i := range teacher.W {
		teacher.W[i] = float32(rng.NormFloat64())
	}
	trainSet, valSet := train.SplitByWork(data, 0.25, 7)
	cfg := train.Defaults(train.Prune, 2)
	cfg.Epochs, cfg.BatchSize = 10, 16
	student, err := train.Train(cfg, teacher, trainSet, valSet)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("schedule:", train.PruneSchedule(4, 2))
	fmt.Println("student:", student.D, "rows kept from the teacher:", len(student.Kept), "weights:", len(student.W))
	fmt.Println("validation works:", valSet.Works, "training works:", trainSet.Works)
	// Output:
	// schedule: [4 2]
	// student: 2 rows kept from the teacher: 2 weights: 16
	// validation works: 3 training works: 9
}
