package plot

import (
	"bytes"
	"fmt"
	"sort"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"

	"github.com/vindex/vindex/model/metrics"
)

// File names of the figures Draw returns.
const (
	APHistogram   = "ap_histogram.png"
	FirstRankCDF  = "first_rank_cdf.png"
	MAPCliqueSize = "map_by_clique_size.png"
)

// Figure is one rendered plot.
type Figure struct {
	Name string // APHistogram, FirstRankCDF or MAPCliqueSize
	PNG  []byte
}

// Draw renders the three plots of r as PNG images. r.Queries must hold the
// per-query results.
func Draw(r *metrics.Report) ([]Figure, error) {
	var ap []float64
	var ranks []float64
	for _, q := range r.Queries {
		if q.Versions > 0 {
			ap = append(ap, q.AP)
			ranks = append(ranks, float64(q.FirstRank))
		}
	}
	if len(ap) == 0 {
		return nil, fmt.Errorf("plot: no query with versions in the report of %s", r.Model)
	}
	title := fmt.Sprintf("%s, d=%d, %s", r.Method(), r.Dim, r.Distance)
	var figs []Figure
	for _, f := range []struct {
		name string
		draw func() (*plot.Plot, error)
	}{
		{APHistogram, func() (*plot.Plot, error) { return apHist(title, ap) }},
		{FirstRankCDF, func() (*plot.Plot, error) { return rankCDF(title, ranks) }},
		{MAPCliqueSize, func() (*plot.Plot, error) { return mapBySize(title, r.Groups["clique_size"]) }},
	} {
		p, err := f.draw()
		if err != nil {
			return nil, err
		}
		png, err := render(p)
		if err != nil {
			return nil, fmt.Errorf("plot: %s: %w", f.name, err)
		}
		figs = append(figs, Figure{Name: f.name, PNG: png})
	}
	return figs, nil
}

func render(p *plot.Plot) ([]byte, error) {
	wt, err := p.WriterTo(16*vg.Centimeter, 10*vg.Centimeter, "png")
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	if _, err := wt.WriteTo(&b); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func apHist(title string, ap []float64) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = "AP per query — " + title
	p.X.Label.Text = "average precision"
	p.Y.Label.Text = "queries"
	h, err := plotter.NewHist(plotter.Values(ap), 20)
	if err != nil {
		return nil, fmt.Errorf("plot: AP histogram: %w", err)
	}
	p.Add(h)
	p.X.Min, p.X.Max = 0, 1
	return p, nil
}

func rankCDF(title string, ranks []float64) (*plot.Plot, error) {
	sort.Float64s(ranks)
	pts := make(plotter.XYs, 0, len(ranks))
	n := float64(len(ranks))
	for i, r := range ranks {
		if i+1 < len(ranks) && ranks[i+1] == r {
			continue // one point per distinct rank: the CDF's value after it
		}
		pts = append(pts, plotter.XY{X: r, Y: float64(i+1) / n})
	}
	p := plot.New()
	p.Title.Text = "Rank of the first version — " + title
	p.X.Label.Text = "rank (log scale)"
	p.Y.Label.Text = "fraction of queries with rank ≤ x"
	p.X.Scale = plot.LogScale{}
	p.X.Tick.Marker = plot.LogTicks{Prec: -1}
	p.Y.Min, p.Y.Max = 0, 1
	l, err := plotter.NewLine(pts)
	if err != nil {
		return nil, fmt.Errorf("plot: rank CDF: %w", err)
	}
	l.StepStyle = plotter.PostStep
	p.Add(l, plotter.NewGrid())
	return p, nil
}

func mapBySize(title string, rows []metrics.GroupFigures) (*plot.Plot, error) {
	var vals plotter.Values
	var names []string
	for _, g := range rows {
		if g.Queries == 0 {
			continue
		}
		vals = append(vals, g.MAP)
		names = append(names, g.Value+"\n("+strconv.Itoa(g.Queries)+")")
	}
	if len(vals) == 0 {
		return nil, fmt.Errorf("plot: no clique with versions")
	}
	p := plot.New()
	p.Title.Text = "MAP by clique size — " + title
	p.X.Label.Text = "clique size (queries)"
	p.Y.Label.Text = "MAP"
	w := vg.Points(float64(300) / float64(len(vals)+1))
	bars, err := plotter.NewBarChart(vals, w)
	if err != nil {
		return nil, fmt.Errorf("plot: MAP by clique size: %w", err)
	}
	p.Add(bars)
	p.NominalX(names...)
	p.Y.Min, p.Y.Max = 0, 1
	return p, nil
}
