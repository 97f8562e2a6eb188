package transforms

import (
	"strings"
	"testing"

	"github.com/vindex/vindex/schema"
)

func TestDistillRefusesPooledFromAnotherExtractor(t *testing.T) {
	rows := []schema.Pooled{{SongID: "a", WorkID: "w", Pooled: []float32{1}, Model: "other"}}
	if _, err := dataOf(rows, "move-sum4-extractor-x"); err == nil || !strings.Contains(err.Error(), "pool again") {
		t.Errorf("dataOf with another extractor's rows: %v", err)
	}
	rows = []schema.Pooled{
		{SongID: "b", WorkID: "w2", Patch: 1, Pooled: []float32{1}, Model: "m"},
		{SongID: "a", WorkID: "w1", Pooled: []float32{2}, Model: "m"},
		{SongID: "b", WorkID: "w2", Pooled: []float32{3}, Model: "m"},
	}
	d, err := dataOf(rows, "m")
	if err != nil {
		t.Fatal(err)
	}
	// Sorted by song id: a (work 0, row 0), b (work 1, whole song row 1, patch row 2).
	if d.Works != 2 || len(d.Songs) != 2 || d.Songs[1].Full != 1 || len(d.Songs[1].Patches) != 1 || d.X[2] != 1 {
		t.Errorf("dataOf grouped %+v, X %v", d.Songs, d.X)
	}
}
