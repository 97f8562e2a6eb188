package main

import (
	"bytes"
	"context"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// TestHelpReadsAsOneTool: every command's --help lists its own flags in one
// style (kebab-case), Beam's runner flags in their own section after them,
// ends with examples, and documents no flag as ignored.
func TestHelpReadsAsOneTool(t *testing.T) {
	var names []string
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	ownFlag := regexp.MustCompile(`(?m)^  -([^ ]+)`)
	for _, n := range names {
		args := []string{n, "--help"}
		if n == "weights" {
			args = []string{n, "inspect", "--help"}
		}
		var out bytes.Buffer
		_ = run(context.Background(), args, &out, &out)
		help := out.String()
		own, rest, _ := strings.Cut(help, "\nRunner flags")
		own, _, _ = strings.Cut(own, "\nExamples:")
		for _, m := range ownFlag.FindAllStringSubmatch(own, -1) {
			if strings.Contains(m[1], "_") {
				t.Errorf("%s: flag -%s is not kebab-case", n, m[1])
			}
			if isRunnerFlag(m[1]) {
				t.Errorf("%s: runner flag -%s listed among the command's own", n, m[1])
			}
		}
		if strings.Contains(help, "Runner flags") && !strings.Contains(rest, "-runner") {
			t.Errorf("%s: runner section without -runner", n)
		}
		ex := help[strings.LastIndex(help, "\nExamples:\n")+1:]
		if !strings.HasPrefix(ex, "Examples:\n  vindex "+n) {
			t.Errorf("%s: --help does not end with examples:\n%s", n, help)
		}
		if strings.Contains(strings.ToLower(help), "ignored") {
			t.Errorf("%s: --help documents something as ignored", n)
		}
	}
}

func TestListFlagRepeatEqualsCommaList(t *testing.T) {
	var a, b listFlag
	a.Set("x")
	a.Set("y, z")
	b.Set("x,y,z")
	if a.String() != b.String() || len(a) != 3 {
		t.Errorf("repeated %v, comma list %v", a, b)
	}
}
