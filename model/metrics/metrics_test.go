package metrics

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"os"
	"strconv"
	"strings"
	"testing"
)

type clusteredInput struct {
	SongIDs    []string    `json:"song_ids"`
	WorkIDs    []string    `json:"work_ids"`
	Dim        int         `json:"dim"`
	Embeddings [][]float32 `json:"embeddings"`
}

type golden struct {
	MAP       float64   `json:"map"`
	MRR       float64   `json:"mrr"`
	MR        float64   `json:"mr"`
	Top1      int64     `json:"top1"`
	Top10     int64     `json:"top10"`
	MR1       float64   `json:"mr1"`
	MRR1      float64   `json:"mrr1"`
	AP        []float64 `json:"ap"`
	FirstRank []int32   `json:"first_rank"`
	Versions  []int32   `json:"versions"`
}

func readJSON(t testing.TB, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// clustered returns the embeddings of testdata/clustered.json, written by
// testdata/gen/gen.py.
func clustered(t testing.TB) []Row {
	var in clusteredInput
	readJSON(t, "testdata/clustered.json", &in)
	rows := make([]Row, len(in.SongIDs))
	for i := range rows {
		rows[i] = Row{SongID: in.SongIDs[i], WorkID: in.WorkIDs[i], Embedding: in.Embeddings[i],
			Model: "move-sum4-fa3-d24-test"}
	}
	return rows
}

// clusteredByYear is clustered with a "year" group-by value (1990–1992).
func clusteredByYear(t testing.TB) []Row {
	rows := clustered(t)
	for i := range rows {
		rows[i].GroupValues = []string{strconv.Itoa(1990 + i%3)}
	}
	return rows
}

// TestParity checks Evaluate against the dense torch re-implementation of
// the original metric code (testdata/gen/gen.py, torch 1.13.1): MAP, MRR, MR1
// to 1e-6, counts and every first rank exactly, for each distance and for
// block sizes that cut the catalog unevenly.
func TestParity(t *testing.T) {
	var gold map[string]golden
	readJSON(t, "testdata/clustered.golden.json", &gold)
	for _, dist := range []Distance{Cosine, SqEuclidean, Pearson} {
		for _, cfg := range []Config{{Distance: dist}, {Distance: dist, BlockQueries: 7, BlockCatalog: 13, Workers: 3}} {
			g := gold[string(dist)]
			rep, err := Evaluate(clustered(t), cfg)
			if err != nil {
				t.Fatal(err)
			}
			f := rep.Overall
			near := func(name string, got, want float64) {
				if math.Abs(got-want) > 1e-6 {
					t.Errorf("%s %+v: %s = %.9f, reference %.9f", dist, cfg, name, got, want)
				}
			}
			near("MAP", f.MAP, g.MAP)
			near("ref MRR", f.RefMRR, g.MRR)
			near("ref MR", f.RefMR, g.MR)
			near("MR1", f.MR1, g.MR1)
			near("MRR1", f.MRR1, g.MRR1)
			if f.Top1 != g.Top1 || f.Top10 != g.Top10 {
				t.Errorf("%s: Top1, Top10 = %d, %d; reference %d, %d", dist, f.Top1, f.Top10, g.Top1, g.Top10)
			}
			for i, q := range rep.Queries {
				if q.Versions != g.Versions[i] {
					t.Fatalf("%s: query %s: %d versions, reference %d", dist, q.SongID, q.Versions, g.Versions[i])
				}
				if q.Versions > 0 && (q.FirstRank != g.FirstRank[i] || math.Abs(q.AP-g.AP[i]) > 1e-6) {
					t.Errorf("%s: query %s: first rank %d AP %.7f; reference %d %.7f", dist, q.SongID, q.FirstRank, q.AP, g.FirstRank[i], g.AP[i])
				}
			}
		}
	}
}

// TestTies: equal similarities are broken by catalog order (song_id).
func TestTies(t *testing.T) {
	v := []float32{1, 0}
	w := []float32{0, 1}
	embs := []Row{
		{SongID: "a", WorkID: "A", Embedding: v},
		{SongID: "b", Embedding: v},              // noise, tied with c for query a, before c
		{SongID: "c", WorkID: "A", Embedding: v}, // version of a
		{SongID: "d", Embedding: w},
	}
	rep, err := Evaluate(embs, Config{Distance: Cosine})
	if err != nil {
		t.Fatal(err)
	}
	// Query a: b (tie, before c) then c → rank 2. Query c: a (tie, before b) → rank 1.
	if got := rep.Queries[0].FirstRank; got != 2 {
		t.Errorf("query a: first rank %d, want 2", got)
	}
	if got := rep.Queries[2].FirstRank; got != 1 {
		t.Errorf("query c: first rank %d, want 1", got)
	}
	if rep.Overall.MR1 != 1.5 || rep.Overall.RefMR != (2+1+1+1)/4.0 {
		t.Errorf("MR1 %v RefMR %v", rep.Overall.MR1, rep.Overall.RefMR)
	}
}

func TestBadInput(t *testing.T) {
	base := func() []Row {
		return []Row{
			{SongID: "a", WorkID: "A", Embedding: []float32{1, 2}},
			{SongID: "b", WorkID: "A", Embedding: []float32{2, 1}},
			{SongID: "c", Embedding: []float32{1, 1}},
		}
	}
	e := base()
	e[1].Embedding = []float32{1, 2, 3}
	if _, err := Evaluate(e, Config{}); !errors.Is(err, ErrMixedDims) || !strings.Contains(err.Error(), `"b"`) {
		t.Errorf("mixed dims: %v", err)
	}
	e = base()
	e[2].SongID = "a"
	if _, err := Evaluate(e, Config{}); !errors.Is(err, ErrDuplicateSong) || !strings.Contains(err.Error(), `"a"`) {
		t.Errorf("duplicate: %v", err)
	}
	e = base()
	for i := range e {
		e[i].WorkID = ""
	}
	if _, err := Evaluate(e, Config{}); !errors.Is(err, ErrNoWorkID) {
		t.Errorf("no work_id: %v", err)
	}
	e = base()
	e[2].Embedding = []float32{float32(math.NaN()), 1}
	rep, err := Evaluate(e, Config{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Rejected != 1 || rep.Rejects[0].SongID != "c" || rep.CatalogSize != 2 {
		t.Errorf("NaN: rejected %d %+v, catalog %d", rep.Rejected, rep.Rejects, rep.CatalogSize)
	}
	e = base()
	e[2].Embedding = []float32{0, 0}
	if rep, err := Evaluate(e, Config{Distance: Cosine}); err != nil || rep.Rejected != 1 {
		t.Errorf("zero vector under cosine: %v, %+v", err, rep)
	}
	e = base()
	e[1].Model = "other"
	if _, err := Evaluate(e, Config{}); !errors.Is(err, ErrMixedModels) {
		t.Errorf("mixed models: %v", err)
	}
	if _, err := Evaluate(base(), Config{Distance: "manhattan"}); !errors.Is(err, ErrBadConfig) {
		t.Errorf("bad distance: %v", err)
	}
}

func TestGroups(t *testing.T) {
	rep, err := Evaluate(clusteredByYear(t), Config{Distance: Cosine, GroupBy: []string{"year"}})
	if err != nil {
		t.Fatal(err)
	}
	years := rep.Groups["year"]
	if len(years) != 3 || years[0].Value != "1990" {
		t.Fatalf("year groups: %+v", years)
	}
	var n, nv int
	var sumAP float64
	for _, g := range years {
		n += g.All
		nv += g.Queries
		sumAP += g.MAP * float64(g.Queries)
	}
	if n != rep.CatalogSize || nv != rep.QueriesWithVersions || math.Abs(sumAP/float64(nv)-rep.Overall.MAP) > 1e-12 {
		t.Errorf("year groups do not add up: %d %d %v", n, nv, sumAP/float64(nv))
	}
	sizes := rep.Groups["clique_size"]
	if sizes[0].Value != "1" || sizes[0].Queries != 0 || sizes[0].All != 60 {
		t.Errorf("clique size 1 (noise): %+v", sizes[0])
	}
}

func TestDotTile(t *testing.T) {
	const nq, nx, d = 7, 11, 19
	q := make([]float32, nq*d)
	x := make([]float32, nx*d)
	for i := range q {
		q[i] = float32(i%13) - 6
	}
	for i := range x {
		x[i] = float32(i%7) - 3
	}
	got := make([]float32, nq*nx)
	dotTile(got, q, nq, x, nx, d)
	for i := 0; i < nq; i++ {
		for j := 0; j < nx; j++ {
			if want := dot(q[i*d:(i+1)*d], x[j*d:(j+1)*d]); got[i*nx+j] != want {
				t.Fatalf("[%d][%d] = %v, want %v", i, j, got[i*nx+j], want)
			}
		}
	}
}

func TestDefaultDistance(t *testing.T) {
	for id, want := range map[string]Distance{
		"move-sum4-fa3-d256-abcd": Cosine, "move-sum4-fa3-d16000-ab": SqEuclidean,
		"remove-triplet-d256-x": SqEuclidean, "x-loss3-d256": Pearson, "": Cosine,
	} {
		if got := DefaultDistance(id); got != want {
			t.Errorf("DefaultDistance(%q) = %s, want %s", id, got, want)
		}
	}
}

func TestReportRender(t *testing.T) {
	rep, err := Evaluate(clusteredByYear(t), Config{GroupBy: []string{"year"}})
	if err != nil {
		t.Fatal(err)
	}
	var js, md bytes.Buffer
	if err := rep.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	back, err := ParseReport(js.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if back.Overall != rep.Overall || len(back.Groups["year"]) != 3 || back.Definitions["ref_mr"] == "" {
		t.Errorf("report.json round trip: %+v", back.Overall)
	}
	if err := rep.WriteMarkdown(&md); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"| MAP | MR1 |", "## By clique_size", "## By year", "move-sum4-fa3"} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("report.md lacks %q", want)
		}
	}
}

func TestComparisonTable(t *testing.T) {
	mk := func(model, reducer string, dim int, m float64) *Report {
		return &Report{Model: model, Reducer: reducer, Dim: dim, Overall: Figures{MAP: m, MR1: 10, Queries: 1}}
	}
	got := ComparisonTable([]*Report{
		mk("move-sum4-fa3-d2048-aa", "", 2048, 0.5),
		mk("move-sum4-fa3-d2048-aa", "pca-512-bb", 512, 0.4),
		mk("move-sum4-fa3-d2048-aa", "pca-256-bb", 256, 0.3),
	})
	want := "| method (MAP / MR1) | d=2048 | d=512 | d=256 |\n|---|---:|---:|---:|\n" +
		"| move-sum4-fa3 | 0.500 / 10.0 | – | – |\n| move-sum4-fa3 + pca | – | 0.400 / 10.0 | 0.300 / 10.0 |\n"
	if got != want {
		t.Errorf("ComparisonTable:\n%s\nwant\n%s", got, want)
	}
}

// FuzzParseReport: report.json is read back by vindex evaluate; bad bytes
// are errors, never panics, and a parsed report renders.
func FuzzParseReport(f *testing.F) {
	rep, err := Evaluate(clusteredByYear(f), Config{GroupBy: []string{"year"}})
	if err != nil {
		f.Fatal(err)
	}
	var b strings.Builder
	if err := rep.WriteJSON(&b); err != nil {
		f.Fatal(err)
	}
	f.Add([]byte(b.String()))
	f.Add([]byte(`{"dim":-1}`))
	f.Add([]byte(`{"groups":{"x":[{"value":"a"}]}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := ParseReport(data)
		if err != nil {
			return
		}
		_ = ComparisonTable([]*Report{r})
		var sb strings.Builder
		if err := r.WriteMarkdown(&sb); err != nil {
			t.Fatal(err)
		}
	})
}
