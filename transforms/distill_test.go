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

// cropModelRate takes model frames [start, start+n) of a hop-512 song (every
// 8th frame, as Embed decimates) and zero-pads past the end.
func TestCropModelRate(t *testing.T) {
	const T = 8 * 10 // 10 model frames at hop 512
	crema := make([]float32, 12*T)
	for f := 0; f < T; f++ {
		for p := 0; p < 12; p++ {
			crema[f*12+p] = float32(f*100 + p)
		}
	}
	got := cropModelRate(nil, crema, 512, 7, 5)
	if len(got) != 5*12 {
		t.Fatalf("%d values, want 60", len(got))
	}
	for k := 0; k < 5; k++ {
		for p := 0; p < 12; p++ {
			want := float32(0)
			if m := 7 + k; m < 10 {
				want = float32(m*8*100 + p)
			}
			if got[k*12+p] != want {
				t.Fatalf("frame %d pitch %d = %v, want %v", k, p, got[k*12+p], want)
			}
		}
	}
	if a, b := patchRand(1, "P_1").Uint64(), patchRand(1, "P_1").Uint64(); a != b {
		t.Error("patch positions depend on more than seed and song id")
	}
}
