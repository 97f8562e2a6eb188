package train

import (
	"fmt"
	"math/rand/v2"

	"github.com/vindex/vindex/model/metrics"
)

// Song is one labelled song of a Data set: its work (class) and the rows of
// Data.X that hold its pooled features.
type Song struct {
	Work int32 // class label, 0..Data.Works-1
	// Full is the row of the pooled features of the whole song (used for
	// validation and the BatchNorm statistics); -1 if absent.
	Full int32
	// Patches are the rows of pooled features of random training-length
	// patches; empty: training samples Full.
	Patches []int32
}

// Data is a labelled set of pooled features: X holds rows of In values,
// Songs says which rows belong to which song and work.
type Data struct {
	In    int
	X     []float32
	Songs []Song
	Works int
	// Names are the songs' ids, for messages (optional).
	Names []string
}

// Validate checks the shapes and indices.
func (d *Data) Validate() error {
	if d.In <= 0 || len(d.X)%d.In != 0 {
		return fmt.Errorf("train: data: %d values are not rows of %d", len(d.X), d.In)
	}
	rows := int32(len(d.X) / d.In)
	for i, s := range d.Songs {
		if s.Work < 0 || int(s.Work) >= d.Works {
			return fmt.Errorf("train: data: song %d: work %d not in [0, %d)", i, s.Work, d.Works)
		}
		if s.Full >= rows || (s.Full < 0 && len(s.Patches) == 0) {
			return fmt.Errorf("train: data: song %d has no features (full row %d of %d, %d patches)", i, s.Full, rows, len(s.Patches))
		}
		for _, p := range s.Patches {
			if p < 0 || p >= rows {
				return fmt.Errorf("train: data: song %d: patch row %d of %d", i, p, rows)
			}
		}
	}
	return nil
}

// row returns the row to train on for song s: a random patch if it has any.
func (d *Data) row(s int, rng *rand.Rand) int32 {
	song := &d.Songs[s]
	if len(song.Patches) > 0 {
		return song.Patches[rng.IntN(len(song.Patches))]
	}
	return song.Full
}

// fullRows returns X's full-song rows of the songs that have one, as a new
// matrix, with their works.
func (d *Data) fullRows() (x []float32, works []int32) {
	for _, s := range d.Songs {
		if s.Full >= 0 {
			x = append(x, d.X[int(s.Full)*d.In:int(s.Full+1)*d.In]...)
			works = append(works, s.Work)
		}
	}
	return x, works
}

// SplitByWork splits d into training and validation sets by work: a seeded
// shuffle of the works with at least two songs puts round(frac·count) of
// them in validation; everything else (single-song works included) trains.
// Work labels are renumbered densely in each part. frac 0 gives an empty
// validation set.
func SplitByWork(d *Data, frac float64, seed uint64) (trainSet, valSet *Data) {
	size := make([]int, d.Works)
	for _, s := range d.Songs {
		size[s.Work]++
	}
	var multi []int32
	for w, n := range size {
		if n >= 2 {
			multi = append(multi, int32(w))
		}
	}
	rng := rand.New(rand.NewPCG(seed, 0x73706c6974)) // "split"
	rng.Shuffle(len(multi), func(i, j int) { multi[i], multi[j] = multi[j], multi[i] })
	nVal := int(frac*float64(len(multi)) + 0.5)
	isVal := map[int32]bool{}
	for _, w := range multi[:nVal] {
		isVal[w] = true
	}
	part := func(val bool) *Data {
		out := &Data{In: d.In, X: d.X}
		remap := map[int32]int32{}
		for i, s := range d.Songs {
			if isVal[s.Work] != val {
				continue
			}
			w, ok := remap[s.Work]
			if !ok {
				w = int32(len(remap))
				remap[s.Work] = w
			}
			s.Work = w
			out.Songs = append(out.Songs, s)
			if d.Names != nil {
				out.Names = append(out.Names, d.Names[i])
			}
		}
		out.Works = len(remap)
		return out
	}
	return part(false), part(true)
}

// instanceBatches returns an epoch of batches of song indices for the
// instance sampler (NormalizedSoftmax): a seeded permutation cut into
// batches of size b; a last batch smaller than 2 is dropped (BatchNorm needs
// two rows).
func instanceBatches(n, b int, rng *rand.Rand) [][]int {
	perm := rng.Perm(n)
	var out [][]int
	for lo := 0; lo < n; lo += b {
		hi := min(lo+b, n)
		if hi-lo >= 2 {
			out = append(out, perm[lo:hi])
		}
	}
	return out
}

// cliqueBatches returns an epoch of batches for the clique sampler of
// remove-spec.md §2.4: works with fewer than two songs are skipped; a work
// appears 1, 2, 3 or 4 times per epoch for sizes < 6, < 10, < 14, ≥ 14;
// the list is shuffled and cut into batches of b/4 works, 4 songs each
// (size 2: a, b, a, b; size 3: the three and one of them again; larger: 4
// distinct songs at random). A last batch of fewer than two works is
// dropped.
func cliqueBatches(d *Data, b int, rng *rand.Rand) [][]int {
	members := make([][]int, d.Works)
	for i, s := range d.Songs {
		members[s.Work] = append(members[s.Work], i)
	}
	var list []int
	for w, m := range members {
		n := len(m)
		if n < 2 {
			continue
		}
		reps := 4
		switch {
		case n < 6:
			reps = 1
		case n < 10:
			reps = 2
		case n < 14:
			reps = 3
		}
		for range reps {
			list = append(list, w)
		}
	}
	rng.Shuffle(len(list), func(i, j int) { list[i], list[j] = list[j], list[i] })
	per := max(b/4, 2)
	var out [][]int
	for lo := 0; lo < len(list); lo += per {
		hi := min(lo+per, len(list))
		if hi-lo < 2 {
			break
		}
		batch := make([]int, 0, 4*(hi-lo))
		for _, w := range list[lo:hi] {
			m := members[w]
			switch len(m) {
			case 2:
				batch = append(batch, m[0], m[1], m[0], m[1])
			case 3:
				batch = append(batch, m[0], m[1], m[2], m[rng.IntN(3)])
			default:
				p := rng.Perm(len(m))[:4]
				for _, k := range p {
					batch = append(batch, m[k])
				}
			}
		}
		out = append(out, batch)
	}
	return out
}

// mapOf returns the MAP of the embeddings emb (n×d) whose works are given,
// with the metric definitions of model/metrics (remove-spec.md §3.3) and the
// given distance.
func mapOf(emb []float32, n, d int, works []int32, dist metrics.Distance) (float64, error) {
	rows := make([]metrics.Row, n)
	for i := range rows {
		rows[i] = metrics.Row{SongID: fmt.Sprintf("%09d", i), WorkID: fmt.Sprint(works[i]),
			Embedding: emb[i*d : (i+1)*d], Model: "train"}
	}
	cat, _, err := metrics.NewCatalog(rows, dist, nil)
	if err != nil {
		return 0, err
	}
	counts := make([][]int64, cat.Len())
	for q := range counts {
		if m := cat.NumVersions(q); m > 0 {
			counts[q] = make([]int64, m)
		}
	}
	cat.PartialCounts(0, cat.Len(), 0, cat.Len(), metrics.Config{Workers: 1}, counts)
	results := make([]metrics.QueryResult, cat.Len())
	for q := range results {
		results[q] = cat.Result(q, counts[q])
	}
	return metrics.Summarize(results, metrics.Info{Distance: dist, Dim: d}).Overall.MAP, nil
}
