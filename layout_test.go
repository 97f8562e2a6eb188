// The layout test: packages own one thing each and imports point down, as
// ../shared/ARCHITECTURE.md's table says (with this project's additions:
// storage/, importer/, and the pipelines' use of model's configuration types).
// It reads the import graph with 'go list' and fails on any import the table
// does not allow, naming the package, the import and the rule.
package vindex_test

import (
	"encoding/json"
	"io"
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/vindex/vindex"

// rule says what the packages under a prefix may import from this module
// (prefixes of import paths relative to the module), and whether they may
// import Beam. Standard-library and third-party imports are free, except
// Beam where forbidden.
type rule struct {
	prefix string
	allow  []string
	beam   bool // may import github.com/apache/beam (only its io/filesystem for storage)
}

// rules are checked most specific prefix first.
var rules = []rule{
	{prefix: "model", allow: []string{"model"}},
	{prefix: "storage", allow: nil, beam: true},
	{prefix: "schema", allow: []string{"schema", "storage"}},
	{prefix: "importer", allow: []string{"importer", "schema", "storage", "model/torch", "model/statedict"}},
	{prefix: "transforms", allow: []string{"transforms", "schema", "storage", "model"}, beam: true},
	{prefix: "runners", allow: []string{"runners", "transforms"}, beam: true},
	// Pipelines compose transforms; from model they name only configuration
	// and result types (model.Config, metrics.Config/Distance/Report,
	// reduce.Method, train.Config/Method), never a computation or a file format.
	{prefix: "pipelines", allow: []string{"pipelines", "transforms", "schema", "storage", "importer/synth",
		"model:exact", "model/metrics:exact", "model/reduce:exact", "model/train:exact"}, beam: true},
	{prefix: "query", allow: []string{"query", "transforms", "schema", "storage", "model", "pipelines/index"}, beam: true},
	{prefix: "serve", allow: []string{"serve", "query", "transforms", "schema", "storage", "model", "pipelines/index"}, beam: true},
	{prefix: "cmd", allow: []string{""}, beam: true},
	{prefix: "bench", allow: []string{""}, beam: true},
	{prefix: "scripts", allow: []string{""}, beam: true},
}

func ruleFor(pkg string) (rule, bool) {
	best, found := rule{}, false
	for _, r := range rules {
		if (pkg == r.prefix || strings.HasPrefix(pkg, r.prefix+"/")) && (!found || len(r.prefix) > len(best.prefix)) {
			best, found = r, true
		}
	}
	return best, found
}

func allowed(r rule, imp string) bool {
	for _, a := range r.allow {
		if exact, ok := strings.CutSuffix(a, ":exact"); ok {
			if imp == exact {
				return true
			}
			continue
		}
		if a == "" || imp == a || strings.HasPrefix(imp, a+"/") {
			return true
		}
	}
	return false
}

func TestLayout(t *testing.T) {
	out, err := exec.Command("go", "list", "-json=ImportPath,Imports", "./...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	n := 0
	for {
		var p struct {
			ImportPath string
			Imports    []string
		}
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		pkg := strings.TrimPrefix(strings.TrimPrefix(p.ImportPath, module), "/")
		if pkg == "" {
			continue
		}
		n++
		r, ok := ruleFor(pkg)
		if !ok {
			t.Errorf("%s: no layout rule covers this package: add it to ARCHITECTURE.md's table and to rules", pkg)
			continue
		}
		for _, imp := range p.Imports {
			if strings.HasPrefix(imp, "github.com/apache/beam/") && !r.beam {
				t.Errorf("%s imports %s: Beam stays out of %s/", pkg, imp, r.prefix)
			}
			rel, ours := strings.CutPrefix(imp, module+"/")
			if ours && !allowed(r, rel) {
				t.Errorf("%s imports %s: %s/ may import only %v", pkg, rel, r.prefix, r.allow)
			}
		}
	}
	if n < 20 {
		t.Fatalf("go list found only %d packages", n)
	}
}
