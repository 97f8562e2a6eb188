// Command eval scores distilled students against their teacher and PCA on a
// test catalog's pooled features (bench/distill/run.sh drives it).
//
// Teacher, students and PCA share one feature extractor, so each one's
// embeddings of the test songs are its head (lin1, then lin_bn in eval mode)
// applied to the test songs' pooled vectors: one extractor pass serves every
// model. run.sh checks this against `vindex embed` + `vindex evaluate` for
// one student. PCA is fitted (model/reduce) on the teacher's embeddings of
// the training songs and applied to its embeddings of the test songs. MAP
// and MR1 are model/metrics' (remove-spec.md §3.3), for cosine and squared
// Euclidean ranking.
//
//	go run ./bench/distill/eval -train-pooled tr/pooled -test-pooled te/pooled \
//	    -teacher t256.safetensors -pca 32 -student lsr=s_lsr.safetensors -student kd=s_kd.safetensors
package main

import (
	"context"
	"flag"
	"fmt"
	"math"
	"os"
	"slices"
	"strings"

	"github.com/vindex/vindex/model"
	"github.com/vindex/vindex/model/metrics"
	"github.com/vindex/vindex/model/reduce"
	"github.com/vindex/vindex/schema"
	"github.com/vindex/vindex/transforms"
)

type students []string

func (s *students) String() string     { return strings.Join(*s, ",") }
func (s *students) Set(v string) error { *s = append(*s, v); return nil }

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "eval:", err)
		os.Exit(1)
	}
}

func run() error {
	trainDir := flag.String("train-pooled", "", "pooled features of the training catalog")
	testDir := flag.String("test-pooled", "", "pooled features of the test catalog")
	teacher := flag.String("teacher", "", "teacher checkpoint")
	pca := flag.Int("pca", 32, "PCA output dimension")
	var ss students
	flag.Var(&ss, "student", "NAME=FILE of a student checkpoint (repeatable)")
	flag.Parse()
	ctx := context.Background()
	trainRows, err := wholeSongs(ctx, *trainDir)
	if err != nil {
		return err
	}
	testRows, err := wholeSongs(ctx, *testDir)
	if err != nil {
		return err
	}
	tw, err := loadHead(*teacher)
	if err != nil {
		return err
	}
	fmt.Printf("| model | d | MAP (cosine) | MAP (sq. Euclidean) | MR1 (cosine) | MR1 (sq. Euclidean) |\n|---|---|---|---|---|---|\n")
	report := func(name string, emb [][]float32) error {
		var cells []string
		var mr1 []string
		for _, d := range []metrics.Distance{metrics.Cosine, metrics.SqEuclidean} {
			m, r, err := score(testRows, emb, d)
			if err != nil {
				return err
			}
			cells = append(cells, fmt.Sprintf("%.4f", m))
			mr1 = append(mr1, fmt.Sprintf("%.1f", r))
		}
		fmt.Printf("| %s | %d | %s | %s | %s | %s |\n", name, len(emb[0]), cells[0], cells[1], mr1[0], mr1[1])
		return nil
	}
	teacherTest := tw.embed(testRows)
	if err := report("teacher "+*teacher, teacherTest); err != nil {
		return err
	}
	var mom reduce.Moments
	for _, e := range tw.embed(trainRows) {
		if err := mom.Add(e); err != nil {
			return err
		}
	}
	red, err := reduce.FitPCA(&mom, reduce.PCAConfig{K: *pca})
	if err != nil {
		return err
	}
	reduced := make([][]float32, len(teacherTest))
	for i, e := range teacherTest {
		reduced[i] = make([]float32, *pca)
		red.Apply(reduced[i], e)
	}
	if err := report(fmt.Sprintf("PCA-%d of the teacher (fitted on the training songs)", *pca), reduced); err != nil {
		return err
	}
	for _, s := range ss {
		name, file, ok := strings.Cut(s, "=")
		if !ok {
			return fmt.Errorf("-student %q: want NAME=FILE", s)
		}
		h, err := loadHead(file)
		if err != nil {
			return err
		}
		if h.extractor != tw.extractor {
			return fmt.Errorf("%s has another feature extractor than the teacher", file)
		}
		if err := report(name, h.embed(testRows)); err != nil {
			return err
		}
	}
	return nil
}

// wholeSongs returns the whole-song rows (patch 0) of a pooled dataset, by song id.
func wholeSongs(ctx context.Context, dir string) ([]schema.Pooled, error) {
	rows, err := transforms.LoadPooled(ctx, dir)
	if err != nil {
		return nil, err
	}
	rows = slices.DeleteFunc(rows, func(r schema.Pooled) bool { return r.Patch != 0 })
	slices.SortFunc(rows, func(a, b schema.Pooled) int { return strings.Compare(a.SongID, b.SongID) })
	return rows, nil
}

type head struct {
	d              int
	w, mean, scale []float32
	extractor      string
}

func loadHead(path string) (*head, error) {
	sd, err := model.LoadCheckpoint(path)
	if err != nil {
		return nil, err
	}
	w, err := model.NewWeights(sd, model.Config{})
	if err != nil {
		return nil, err
	}
	lin1, _, mean, scale := w.Head()
	return &head{d: w.Dim(), w: lin1, mean: mean, scale: scale, extractor: w.ExtractorID()}, nil
}

// embed applies lin1 and lin_bn (eval) as model.Net's head does.
func (h *head) embed(rows []schema.Pooled) [][]float32 {
	out := make([][]float32, len(rows))
	for i, r := range rows {
		e := make([]float32, h.d)
		for k := range e {
			var acc float64
			for c, v := range r.Pooled {
				acc += float64(h.w[k*len(r.Pooled)+c]) * float64(v)
			}
			e[k] = (float32(acc) - h.mean[k]) * h.scale[k]
		}
		out[i] = e
	}
	return out
}

func score(rows []schema.Pooled, emb [][]float32, d metrics.Distance) (mapv, mr1 float64, err error) {
	rs := make([]metrics.Row, len(rows))
	for i, r := range rows {
		rs[i] = metrics.Row{SongID: r.SongID, WorkID: r.WorkID, Embedding: emb[i], Model: "bench"}
	}
	cat, _, err := metrics.NewCatalog(rs, d, nil)
	if err != nil {
		return 0, 0, err
	}
	counts := make([][]int64, cat.Len())
	for q := range counts {
		if m := cat.NumVersions(q); m > 0 {
			counts[q] = make([]int64, m)
		}
	}
	cat.PartialCounts(0, cat.Len(), 0, cat.Len(), metrics.Config{}, counts)
	results := make([]metrics.QueryResult, cat.Len())
	for q := range results {
		results[q] = cat.Result(q, counts[q])
	}
	rep := metrics.Summarize(results, metrics.Info{Distance: d, Dim: len(emb[0])})
	if math.IsNaN(rep.Overall.MAP) {
		return 0, 0, fmt.Errorf("MAP is NaN")
	}
	return rep.Overall.MAP, rep.Overall.MR1, nil
}
