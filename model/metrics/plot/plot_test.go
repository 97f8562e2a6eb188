package plot

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/vindex/vindex/model/metrics"
)

func TestWrite(t *testing.T) {
	var rows []metrics.Row
	for i := 0; i < 60; i++ {
		w := ""
		if i < 48 {
			w = string(rune('A' + i%(2+i%5)))
		}
		rows = append(rows, metrics.Row{SongID: string(rune('a'+i/26)) + string(rune('a'+i%26)), WorkID: w,
			Embedding: []float32{float32(i % 7), float32(i % 5), float32(i%3) + 1}, Model: "m-d3-x"})
	}
	rep, err := metrics.Evaluate(rows, metrics.Config{})
	if err != nil {
		t.Fatal(err)
	}
	figs, err := Draw(rep)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{APHistogram, FirstRankCDF, MAPCliqueSize}
	if len(figs) != len(want) {
		t.Fatalf("Draw returned %d figures, want %d", len(figs), len(want))
	}
	for i, f := range figs {
		if f.Name != want[i] || !bytes.HasPrefix(f.PNG, []byte("\x89PNG")) {
			t.Errorf("figure %d: %s is not a PNG named %s", i, f.Name, want[i])
		}
		if dir := os.Getenv("VINDEX_KEEP_PLOTS"); dir != "" {
			os.WriteFile(filepath.Join(dir, f.Name), f.PNG, 0o644)
		}
	}
}
