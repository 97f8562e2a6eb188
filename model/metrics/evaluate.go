package metrics

import (
	"fmt"
	"sort"
	"strconv"
)

// QueryResult is one query's outcome: the per-query drill-down row (written
// as Parquet by the evaluate pipeline).
type QueryResult struct {
	SongID   string `parquet:"song_id"`
	WorkID   string `parquet:"work_id,optional"`
	Versions int32  `parquet:"versions"` // number of relevant items
	// FirstRank is the rank of the first version; 0 when Versions is 0.
	FirstRank int32 `parquet:"first_rank"`
	// AP is the average precision; 0 when Versions is 0 (such queries are
	// not part of MAP).
	AP float64 `parquet:"ap"`
	// Top10 counts the versions ranked in the top 10.
	Top10 int32 `parquet:"top10"`
	// Groups holds the values of the group-by columns, in Config.GroupBy order.
	Groups []string `parquet:"groups,list"`
}

// Result turns the total counts of query q (the sum over the whole catalog of
// PartialCounts) into its QueryResult. counts is nil for a query without
// versions.
func (c *Catalog) Result(q int, counts []int64) QueryResult {
	r := QueryResult{SongID: c.SongIDs[q], WorkID: c.WorkIDs[q], Versions: int32(c.NumVersions(q))}
	if g := len(c.GroupBy); g > 0 {
		r.Groups = append([]string(nil), c.GroupValues[q*g:(q+1)*g]...)
	}
	m := int(r.Versions)
	if m == 0 {
		return r
	}
	if len(counts) != m {
		panic(fmt.Sprintf("metrics: Result: query %q has %d versions, got %d counts", r.SongID, m, len(counts)))
	}
	var cum int64
	var sum float64
	for j, h := range counts {
		cum += h
		rank := int64(1+j) + cum
		if j == 0 {
			r.FirstRank = int32(rank)
		}
		if rank <= 10 {
			r.Top10++
		}
		sum += float64(j+1) / float64(rank)
	}
	r.AP = sum / (float64(m) + 1e-10)
	return r
}

// Evaluate computes the metrics of rows (one model/reducer, one dimension;
// each row's GroupValues follow cfg.GroupBy) in plain Go, blockwise, for
// small and medium catalogs. Rows that cannot be scored are listed in
// Report.Rejects; see NewCatalog for the errors. rows is sorted in place.
func Evaluate(rows []Row, cfg Config) (*Report, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if len(rows) == 0 {
		return nil, ErrEmpty
	}
	d := cfg.Distance
	if d == "" {
		d = DefaultDistance(rows[0].Model)
	}
	cat, rejects, err := NewCatalog(rows, d, cfg.GroupBy)
	if err != nil {
		return nil, err
	}
	n := cat.Len()
	counts := make([][]int64, n)
	for q := range counts {
		if m := cat.NumVersions(q); m > 0 {
			counts[q] = make([]int64, m)
		}
	}
	cat.countSymmetric(cfg, counts)
	results := make([]QueryResult, n)
	for q := range results {
		results[q] = cat.Result(q, counts[q])
	}
	return Summarize(results, Info{Distance: d, Model: cat.Model, Reducer: cat.Reducer, Dim: cat.Dim,
		GroupBy: cfg.GroupBy, Rejects: rejects}), nil
}

// Info describes what was evaluated.
type Info struct {
	Distance Distance
	Model    string
	Reducer  string
	Dim      int
	GroupBy  []string
	Rejects  []Reject
}

// Report holds an evaluation's figures. Queries are the per-query results
// (not part of report.json; the pipeline writes them as Parquet).
type Report struct {
	Model       string `json:"model"`
	Reducer     string `json:"reducer,omitempty"`
	Dim         int    `json:"dim"`
	Distance    string `json:"distance"`
	CatalogSize int    `json:"catalog_size"`
	// QueriesWithVersions are the queries MAP, MR1, MRR1 and the rates average over.
	QueriesWithVersions int `json:"queries_with_versions"`
	QueriesNoVersions   int `json:"queries_without_versions"`
	Rejected            int `json:"rejected"`

	Overall Figures `json:"overall"`
	// Groups maps "clique_size" and every group-by column to its rows,
	// sorted by value (numerically when all values are numbers).
	Groups map[string][]GroupFigures `json:"groups"`

	// Definitions says what every figure is, quirks labelled.
	Definitions map[string]string `json:"definitions"`

	Rejects []Reject      `json:"rejects,omitempty"`
	Queries []QueryResult `json:"-"`
}

// Figures are the metrics of one set of queries.
type Figures struct {
	MAP       float64 `json:"map"`
	MR1       float64 `json:"mr1"`
	MRR1      float64 `json:"mrr1"`
	RefMR     float64 `json:"ref_mr"`
	RefMRR    float64 `json:"ref_mrr"`
	Top1      int64   `json:"top1"`
	Top10     int64   `json:"top10"`
	Top1Rate  float64 `json:"top1_rate"`
	Top10Rate float64 `json:"top10_rate"`
	Queries   int     `json:"queries"` // with versions
	All       int     `json:"all_queries"`
}

// GroupFigures are the figures of one group value.
type GroupFigures struct {
	Value string `json:"value"`
	Figures
}

// Definitions of the figures, as written into report.json.
var Definitions = map[string]string{
	"rank":        "rank(v) = 1 + #{x != q : s(q,x) > s(q,v)} + #{x != q : s(q,x) = s(q,v), song_id(x) < song_id(v)}; the query itself is excluded (the reference puts it last with -inf)",
	"map":         "mean over queries with versions of AP = sum_j (j / rank_j) / (#versions + 1e-10) (remove-spec §3.3; the 1e-10 is the reference's)",
	"mr1":         "mean rank of the first version, over queries with versions",
	"mrr1":        "mean 1/rank of the first version, over queries with versions",
	"ref_mr":      "QUIRK: the reference's MR: mean first rank over ALL queries, a query without versions counting as rank 1",
	"ref_mrr":     "QUIRK: the reference's MRR: mean 1/first rank over ALL queries, a query without versions counting as 1",
	"top1":        "the reference's Top1: number of queries whose first result is a version (a count)",
	"top10":       "the reference's Top10: number of versions in the top 10, summed over queries (a count)",
	"top1_rate":   "top1 / queries with versions",
	"top10_rate":  "top10 / (10 * queries with versions): mean precision@10",
	"cosine":      "s = e_q.e_x/|e_x|/|e_q| (Re-MOVE, NormalizedSoftmax)",
	"sqeuclidean": "s = -(|e_q|^2 + |e_x|^2 - 2 e_q.e_x + 1e-12)/d (triplet/ProxyNCA models, MOVE)",
	"pearson":     "s = Pearson correlation, unbiased variances (Group loss)",
	"ties":        "ties broken by catalog order = ascending song_id, as a stable sort would; torch.topk's order of ties is unspecified",
}

// Summarize aggregates per-query results into a Report.
func Summarize(results []QueryResult, info Info) *Report {
	r := &Report{Model: info.Model, Reducer: info.Reducer, Dim: info.Dim, Distance: string(info.Distance),
		CatalogSize: len(results), Rejected: len(info.Rejects), Rejects: info.Rejects,
		Definitions: Definitions, Queries: results, Groups: map[string][]GroupFigures{}}
	var all agg
	bySize := map[string]*agg{}
	byCol := make([]map[string]*agg, len(info.GroupBy))
	for i := range byCol {
		byCol[i] = map[string]*agg{}
	}
	for i := range results {
		q := &results[i]
		all.add(q)
		if q.Versions > 0 {
			r.QueriesWithVersions++
		} else {
			r.QueriesNoVersions++
		}
		getAgg(bySize, strconv.Itoa(int(q.Versions)+1)).add(q)
		for g := range info.GroupBy {
			v := ""
			if g < len(q.Groups) {
				v = q.Groups[g]
			}
			getAgg(byCol[g], v).add(q)
		}
	}
	r.Overall = all.figures()
	r.Groups["clique_size"] = groupRows(bySize)
	for g, col := range info.GroupBy {
		r.Groups[col] = groupRows(byCol[g])
	}
	return r
}

func getAgg(m map[string]*agg, k string) *agg {
	a := m[k]
	if a == nil {
		a = &agg{}
		m[k] = a
	}
	return a
}

func groupRows(m map[string]*agg) []GroupFigures {
	rows := make([]GroupFigures, 0, len(m))
	numeric := true
	for k, a := range m {
		if _, err := strconv.ParseFloat(k, 64); err != nil {
			numeric = false
		}
		rows = append(rows, GroupFigures{Value: k, Figures: a.figures()})
	}
	sort.Slice(rows, func(i, j int) bool {
		if numeric {
			a, _ := strconv.ParseFloat(rows[i].Value, 64)
			b, _ := strconv.ParseFloat(rows[j].Value, 64)
			return a < b
		}
		return rows[i].Value < rows[j].Value
	})
	return rows
}

// agg accumulates figures in float64.
type agg struct {
	n, nv              int
	sumAP, sumR, sumRR float64
	top1, top10        int64
}

func (a *agg) add(q *QueryResult) {
	a.n++
	if q.Versions == 0 {
		return
	}
	a.nv++
	a.sumAP += q.AP
	a.sumR += float64(q.FirstRank)
	a.sumRR += 1 / float64(q.FirstRank)
	if q.FirstRank == 1 {
		a.top1++
	}
	a.top10 += int64(q.Top10)
}

func (a *agg) figures() Figures {
	f := Figures{Queries: a.nv, All: a.n, Top1: a.top1, Top10: a.top10}
	noVer := float64(a.n - a.nv)
	if a.n > 0 {
		f.RefMR = (a.sumR + noVer) / float64(a.n)
		f.RefMRR = (a.sumRR + noVer) / float64(a.n)
	}
	if a.nv == 0 {
		return f // no query with versions: the means are 0 and Queries says so
	}
	nv := float64(a.nv)
	f.MAP, f.MR1, f.MRR1 = a.sumAP/nv, a.sumR/nv, a.sumRR/nv
	f.Top1Rate = float64(a.top1) / nv
	f.Top10Rate = float64(a.top10) / (10 * nv)
	return f
}
