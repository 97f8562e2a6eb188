// Command democmp compares two `vindex demo` output folders by content:
// features and embeddings row by row (by song id, exactly), the reducer
// (id and matrix), and every evaluation report's figures. Part-file names,
// run ids and timestamps are expected to differ and are not compared.
//
//	go run ./scripts/democmp OLD/vindex-demo NEW/vindex-demo
package main

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"

	"github.com/vindex/vindex/schema"
	"github.com/vindex/vindex/transforms"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: democmp OLD NEW")
		os.Exit(2)
	}
	if err := run(os.Args[1], os.Args[2]); err != nil {
		fmt.Fprintln(os.Stderr, "democmp:", err)
		os.Exit(1)
	}
}

func run(a, b string) error {
	bad := 0
	report := func(what string, ok bool, detail string) {
		status := "same"
		if !ok {
			status, bad = "DIFFERENT", bad+1
		}
		fmt.Printf("%-34s %s %s\n", what, status, detail)
	}
	sa, err := songs(filepath.Join(a, "features"))
	if err != nil {
		return err
	}
	sb, err := songs(filepath.Join(b, "features"))
	if err != nil {
		return err
	}
	report("features (rows, by song id)", reflect.DeepEqual(sa, sb), fmt.Sprintf("(%d songs)", len(sa)))
	for _, set := range []string{"embeddings", "compact"} {
		ea, err := embeddings(filepath.Join(a, "index", set))
		if err != nil {
			return err
		}
		eb, err := embeddings(filepath.Join(b, "index", set))
		if err != nil {
			return err
		}
		same, maxDiff := compareEmbs(ea, eb)
		report("index/"+set+" (vectors, ids, metadata)", same, fmt.Sprintf("(%d rows, max |Δ| %.3g)", len(ea), maxDiff))
	}
	ra, _, err := transforms.ReadReducer(context.Background(), filepath.Join(a, "index", "reducer.vxr"))
	if err != nil {
		return err
	}
	rb, _, err := transforms.ReadReducer(context.Background(), filepath.Join(b, "index", "reducer.vxr"))
	if err != nil {
		return err
	}
	var d float64
	for i, v := range ra.Matrix() {
		d = max(d, math.Abs(v-rb.Matrix()[i]))
	}
	report("index/reducer.vxr", ra.ID() == rb.ID(), fmt.Sprintf("(%s vs %s, max |Δ| of components %.3g)", ra.ID(), rb.ID(), d))
	for _, set := range []string{"full", "reduced"} {
		p := filepath.Join("index", "evaluation", set, transforms.ReportFile)
		ja, err := transforms.ReadReport(context.Background(), filepath.Join(a, p))
		if err != nil {
			return err
		}
		jb, err := transforms.ReadReport(context.Background(), filepath.Join(b, p))
		if err != nil {
			return err
		}
		ja.Reducer, jb.Reducer = "", "" // the reducer id is compared above
		report(p+" (figures)", reflect.DeepEqual(ja.Overall, jb.Overall) && reflect.DeepEqual(ja.Groups, jb.Groups),
			fmt.Sprintf("(MAP %.6f vs %.6f)", ja.Overall.MAP, jb.Overall.MAP))
	}
	if bad > 0 {
		return fmt.Errorf("%d difference(s)", bad)
	}
	return nil
}

func songs(dir string) (map[string]schema.Song, error) {
	files, err := schema.ListDataset(dir)
	if err != nil {
		return nil, err
	}
	out := map[string]schema.Song{}
	for _, f := range files {
		ss, err := schema.ReadSongsFile(f)
		if err != nil {
			return nil, err
		}
		for _, s := range ss {
			s.File, s.Row = "", 0 // where a row was read from, not what it holds
			out[s.SongID] = s
		}
	}
	return out, nil
}

func embeddings(dir string) (map[string]schema.Embedding, error) {
	embs, err := schema.ReadEmbeddingsFiles(dir)
	if err != nil {
		return nil, err
	}
	out := map[string]schema.Embedding{}
	for _, e := range embs {
		e.File, e.Row = "", 0
		out[e.SongID] = e
	}
	return out, nil
}

// compareEmbs says whether two sets hold the same rows; vectors may differ
// by at most 0 (exact), the reducer id column is ignored (compared apart).
func compareEmbs(a, b map[string]schema.Embedding) (bool, float64) {
	if len(a) != len(b) {
		return false, math.Inf(1)
	}
	same := true
	var maxDiff float64
	for id, ea := range a {
		eb, ok := b[id]
		if !ok || len(ea.Embedding) != len(eb.Embedding) {
			return false, math.Inf(1)
		}
		for i := range ea.Embedding {
			maxDiff = max(maxDiff, math.Abs(float64(ea.Embedding[i]-eb.Embedding[i])))
		}
		va, vb := ea.Embedding, eb.Embedding
		ea.Embedding, eb.Embedding, ea.Reducer, eb.Reducer = nil, nil, "", ""
		same = same && reflect.DeepEqual(ea, eb) && slices.Equal(va, vb)
	}
	return same, maxDiff
}
