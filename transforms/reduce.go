package transforms

import (
	"fmt"
	"math"
	"reflect"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/vindex/vindex/model/reduce"
	"github.com/vindex/vindex/schema"
)

func init() {
	beam.RegisterType(reflect.TypeOf((*reduceFn)(nil)).Elem())
	register.Iter1[FittedReducer]()
	register.Emitter1[schema.Embedding]()
	register.Emitter1[schema.Reject]()
}

// Reduce applies the singleton reducer (PCollection<FittedReducer>, a side
// input) to embs (PCollection<schema.Embedding>). Each output row keeps all
// its columns, with Embedding set to the reduced vector (scaled to unit
// length if normalize) and Reducer to the reducer's id. Embeddings of another
// model or dimension than the reducer was fitted on, already reduced ones
// and ones with non-finite values become rejects (PCollection<schema.Reject>,
// Stage "reduce") naming the song and the reason.
func Reduce(s beam.Scope, reducer beam.PCollection, embs beam.PCollection, normalize bool) (out, rejects beam.PCollection) {
	s = s.Scope("transforms.Reduce")
	return beam.ParDo2(s, &reduceFn{Normalize: normalize}, embs, beam.SideInput{Input: reducer})
}

type reduceFn struct {
	Normalize bool

	// r is the decoded side input, kept for the instance's life: the
	// reducer is one singleton in the global window, the same for every
	// bundle. (Windowed reducers would need a cache keyed by window.)
	r *reduce.Reducer
}

func (f *reduceFn) ProcessElement(e schema.Embedding, side func(*FittedReducer) bool, emit func(schema.Embedding), reject func(schema.Reject)) error {
	if f.r == nil {
		var fr FittedReducer
		if !side(&fr) {
			return fmt.Errorf("transforms: Reduce: no fitted reducer (was the fit input empty?)")
		}
		r, err := fr.Reducer()
		if err != nil {
			return fmt.Errorf("transforms: Reduce: %w", err)
		}
		f.r = r
	}
	r := f.r
	bad := func(format string, args ...any) {
		reject(schema.Reject{SongID: e.SongID, Stage: schema.StageReduce, Reason: fmt.Sprintf(format, args...)})
	}
	switch {
	case e.Reducer != "":
		bad("embedding already reduced by %s; reducer %s applies to raw %s embeddings", e.Reducer, r.ID(), r.Model())
		return nil
	case e.Model != r.Model():
		bad("embedding of model %q, reducer %s was fitted on model %q", e.Model, r.ID(), r.Model())
		return nil
	case len(e.Embedding) != r.InDim():
		bad("embedding has %d values, reducer %s takes %d", len(e.Embedding), r.ID(), r.InDim())
		return nil
	}
	for _, v := range e.Embedding {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			bad("embedding has non-finite values")
			return nil
		}
	}
	vec := make([]float32, r.OutDim())
	r.Apply(vec, e.Embedding)
	if f.Normalize {
		reduce.Normalize(vec)
	}
	e.Embedding = vec
	e.Reducer = r.ID()
	emit(e)
	return nil
}
