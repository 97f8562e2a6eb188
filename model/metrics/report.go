package metrics

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
)

// WriteJSON writes the report as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(r); err != nil {
		return fmt.Errorf("metrics: writing report.json: %w", err)
	}
	return nil
}

// ParseReport decodes a report.json.
func ParseReport(b []byte) (*Report, error) {
	var r Report
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("metrics: report.json: %w", err)
	}
	if r.Dim < 0 || r.CatalogSize < 0 {
		return nil, fmt.Errorf("metrics: report.json: negative dim or catalog size")
	}
	return &r, nil
}

// Method labels the report's method as the paper's tables do: the model
// family (the model id without its "-d<dim>-<hash>" tail) and the reducer
// method (the reducer id's first word), e.g. "move-sum4-fa3 + pca".
func (r *Report) Method() string {
	m := modelFamily(r.Model)
	if r.Reducer != "" {
		red := r.Reducer
		if i := strings.IndexAny(red, "-_"); i > 0 {
			red = red[:i]
		}
		m += " + " + red
	}
	return m
}

func modelFamily(id string) string {
	parts := strings.Split(id, "-")
	for i, p := range parts {
		if len(p) > 1 && p[0] == 'd' {
			if _, err := strconv.Atoi(p[1:]); err == nil {
				return strings.Join(parts[:i], "-")
			}
		}
	}
	if id == "" {
		return "(unknown model)"
	}
	return id
}

func num(v float64, prec int, queries int) string {
	if queries == 0 {
		return "–"
	}
	return strconv.FormatFloat(v, 'f', prec, 64)
}

// WriteMarkdown writes report.md: the overall figures, the definitions and
// a table per grouping.
func (r *Report) WriteMarkdown(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# Version retrieval: %s, d = %d\n\n", r.Method(), r.Dim)
	fmt.Fprintf(&b, "- model `%s`", r.Model)
	if r.Reducer != "" {
		fmt.Fprintf(&b, ", reducer `%s`", r.Reducer)
	}
	fmt.Fprintf(&b, "\n- distance `%s`; catalog %d songs: %d queries with versions, %d without; %d rejected\n\n",
		r.Distance, r.CatalogSize, r.QueriesWithVersions, r.QueriesNoVersions, r.Rejected)
	f := r.Overall
	b.WriteString("| MAP | MR1 | MRR1 | Top1 | Top10 | Top1 rate | Top10 rate | ref MR* | ref MRR* |\n")
	b.WriteString("|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	fmt.Fprintf(&b, "| %s | %s | %s | %d | %d | %s | %s | %.3f | %.3f |\n\n",
		num(f.MAP, 3, f.Queries), num(f.MR1, 2, f.Queries), num(f.MRR1, 3, f.Queries), f.Top1, f.Top10,
		num(f.Top1Rate, 3, f.Queries), num(f.Top10Rate, 3, f.Queries), f.RefMR, f.RefMRR)
	b.WriteString("\\* the reference's MR/MRR: over all queries, a query without versions counting as rank 1.\n\n")
	names := make([]string, 0, len(r.Groups))
	for k := range r.Groups {
		names = append(names, k)
	}
	sort.Slice(names, func(i, j int) bool {
		if (names[i] == "clique_size") != (names[j] == "clique_size") {
			return names[i] == "clique_size"
		}
		return names[i] < names[j]
	})
	for _, name := range names {
		fmt.Fprintf(&b, "## By %s\n\n| %s | queries | with versions | MAP | MR1 | Top1 rate |\n|---|---:|---:|---:|---:|---:|\n", name, name)
		for _, g := range r.Groups[name] {
			v := g.Value
			if v == "" {
				v = "(none)"
			}
			fmt.Fprintf(&b, "| %s | %d | %d | %s | %s | %s |\n", v, g.All, g.Queries,
				num(g.MAP, 3, g.Queries), num(g.MR1, 2, g.Queries), num(g.Top1Rate, 3, g.Queries))
		}
		b.WriteString("\n")
	}
	if len(r.Rejects) > 0 {
		b.WriteString("## Rejected songs\n\n| song | file | reason |\n|---|---|---|\n")
		for _, rj := range r.Rejects {
			fmt.Fprintf(&b, "| %s | %s | %s |\n", rj.SongID, rj.File, rj.Reason)
		}
		b.WriteString("\n")
	}
	b.WriteString("## Definitions\n\n")
	keys := make([]string, 0, len(r.Definitions))
	for k := range r.Definitions {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(&b, "- **%s**: %s\n", k, r.Definitions[k])
	}
	_, err := io.WriteString(w, b.String())
	if err != nil {
		return fmt.Errorf("metrics: writing report.md: %w", err)
	}
	return nil
}

// ComparisonTable renders reports as the paper's comparison table: one row
// per method (model family + reducer), one column per dimension, each cell
// "MAP / MR1". Rows and columns are sorted (dimensions descending).
func ComparisonTable(reports []*Report) string {
	dimSet := map[int]bool{}
	cells := map[string]map[int]string{}
	var methods []string
	for _, r := range reports {
		m := r.Method()
		if cells[m] == nil {
			cells[m] = map[int]string{}
			methods = append(methods, m)
		}
		dimSet[r.Dim] = true
		cells[m][r.Dim] = fmt.Sprintf("%s / %s", num(r.Overall.MAP, 3, r.Overall.Queries), num(r.Overall.MR1, 1, r.Overall.Queries))
	}
	sort.Strings(methods)
	dims := make([]int, 0, len(dimSet))
	for d := range dimSet {
		dims = append(dims, d)
	}
	sort.Sort(sort.Reverse(sort.IntSlice(dims)))
	var b strings.Builder
	b.WriteString("| method (MAP / MR1) |")
	for _, d := range dims {
		fmt.Fprintf(&b, " d=%d |", d)
	}
	b.WriteString("\n|---|")
	for range dims {
		b.WriteString("---:|")
	}
	b.WriteString("\n")
	for _, m := range methods {
		fmt.Fprintf(&b, "| %s |", m)
		for _, d := range dims {
			c := cells[m][d]
			if c == "" {
				c = "–"
			}
			fmt.Fprintf(&b, " %s |", c)
		}
		b.WriteString("\n")
	}
	return b.String()
}
