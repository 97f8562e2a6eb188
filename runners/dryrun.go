package runners

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/graph"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/log"
)

// PrintGraph writes the job graph of p to w: one line per step, under the
// composite scope that added it (pipelines.index/transforms.ReadSongs, …),
// with its operation, function and the collections it reads and writes.
// It is what a dry run prints on every runner.
func PrintGraph(w io.Writer, p *beam.Pipeline) error {
	edges, nodes, err := p.Build()
	if err != nil {
		return fmt.Errorf("runners: building the job graph: %w", err)
	}
	fmt.Fprintf(w, "job graph: %d steps, %d collections\n", len(edges), len(nodes))
	scope := ""
	for _, e := range edges {
		if s := e.Scope().String(); s != scope {
			scope = s
			fmt.Fprintf(w, "  %s\n", strings.TrimPrefix(s, "root/"))
		}
		fmt.Fprintf(w, "    %-4d %-9s %-40s in %s → out %s\n", e.ID(), e.Op, shortName(e.Name()), nodeIDs(e.Input), nodeIDs(e.Output))
	}
	return nil
}

func shortName(n string) string {
	if i := strings.LastIndex(n, "/"); i >= 0 {
		n = n[i+1:]
	}
	return n
}

func nodeIDs[T interface {
	*graph.Inbound | *graph.Outbound
}](links []T) string {
	if len(links) == 0 {
		return "-"
	}
	ids := make([]string, len(links))
	for i, l := range links {
		var n *graph.Node
		switch l := any(l).(type) {
		case *graph.Inbound:
			n = l.From
		case *graph.Outbound:
			n = l.To
		}
		ids[i] = fmt.Sprintf("n%d", n.ID())
	}
	return strings.Join(ids, ",")
}

// infoLogger passes Beam's INFO and higher log lines to w: during a
// Dataflow dry run, Beam prints the translated job at INFO, which vindex's
// logging otherwise hides.
type infoLogger struct{ w io.Writer }

func (l infoLogger) Log(_ context.Context, sev log.Severity, _ int, msg string) {
	if sev >= log.SevInfo {
		fmt.Fprintln(l.w, msg)
	}
}

// dryRun prints p's job graph to o.DryRunOut and, for Dataflow, lets Beam
// translate the job offline and print it there too. Nothing runs.
func dryRun(ctx context.Context, p *beam.Pipeline, o Options) error {
	w := o.DryRunOut
	if w == nil {
		w = io.Discard
	}
	fmt.Fprintf(w, "dry run on %s: nothing is submitted or written\n", o.runner())
	if err := PrintGraph(w, p); err != nil {
		return err
	}
	if o.runner() != Dataflow {
		return nil
	}
	fmt.Fprintln(w, "Dataflow job (translated offline by Beam):")
	log.SetLogger(infoLogger{w})
	defer log.SetLogger(&log.Structural{})
	_, err := execute(ctx, p, o)
	return err
}
