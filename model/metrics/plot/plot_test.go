package plot

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/vindex/vindex/model/metrics"
	"github.com/vindex/vindex/schema"
)

func TestWrite(t *testing.T) {
	var embs []schema.Embedding
	for i := 0; i < 60; i++ {
		w := ""
		if i < 48 {
			w = string(rune('A' + i%(2+i%5)))
		}
		embs = append(embs, schema.Embedding{SongID: string(rune('a'+i/26)) + string(rune('a'+i%26)), WorkID: w,
			Embedding: []float32{float32(i % 7), float32(i % 5), float32(i%3) + 1}, Model: "m-d3-x"})
	}
	rep, err := metrics.Evaluate(embs, metrics.Config{})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := Write(dir, rep); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{APHistogram, FirstRankCDF, MAPCliqueSize} {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.HasPrefix(b, []byte("\x89PNG")) {
			t.Errorf("%s is not a PNG", f)
		}
	}
	if os.Getenv("VINDEX_KEEP_PLOTS") != "" {
		for _, f := range []string{APHistogram, FirstRankCDF, MAPCliqueSize} {
			b, _ := os.ReadFile(filepath.Join(dir, f))
			os.WriteFile(filepath.Join(os.Getenv("VINDEX_KEEP_PLOTS"), f), b, 0o644)
		}
	}
}
