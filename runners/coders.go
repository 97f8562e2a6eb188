package runners

import (
	"fmt"
	"sort"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/runtime/graphx"
	pipepb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/pipeline_v1"
)

// RowCoderURN is the URN of Beam's schema Row coder.
const RowCoderURN = "beam:coder:row:v1"

// RowCoders lists the PCollections of p whose coder is, or contains, Beam's
// schema Row coder in the portable pipeline a runner receives, as
// "<collection>: <coder id>". A Java runner (the Flink job server) decodes
// such elements itself with its RowCoder, which ties the job server's Beam
// version to the Go SDK's; vindex's types carry custom coders (opaque,
// length-prefixed bytes to the runner), so for vindex pipelines the list is
// empty (issue 10).
func RowCoders(p *beam.Pipeline) ([]string, error) {
	edges, _, err := p.Build()
	if err != nil {
		return nil, fmt.Errorf("runners: %w", err)
	}
	pipe, err := graphx.Marshal(edges, &graphx.Options{Environment: &pipepb.Environment{Urn: "beam:env:loopback:v1"}})
	if err != nil {
		return nil, fmt.Errorf("runners: %w", err)
	}
	coders := pipe.GetComponents().GetCoders()
	var hasRow func(id string, depth int) bool
	hasRow = func(id string, depth int) bool {
		c := coders[id]
		if c == nil || depth > 64 {
			return false
		}
		if c.GetSpec().GetUrn() == RowCoderURN {
			return true
		}
		for _, sub := range c.GetComponentCoderIds() {
			if hasRow(sub, depth+1) {
				return true
			}
		}
		return false
	}
	var out []string
	for _, pc := range pipe.GetComponents().GetPcollections() {
		if hasRow(pc.GetCoderId(), 0) {
			out = append(out, fmt.Sprintf("%s: %s", pc.GetUniqueName(), pc.GetCoderId()))
		}
	}
	sort.Strings(out)
	return out, nil
}
