package model

import (
	"math/rand/v2"
	"testing"
	"unsafe"
)

// TestReserve: after Reserve, songs up to the reserved length embed without
// allocating (the scratch does not grow with the longest song seen), and
// give the same embedding as a net that grew its scratch song by song.
func TestReserve(t *testing.T) {
	w := mainWeights(t)
	r := rand.New(rand.NewPCG(1, 2))
	song := func(frames int) []float32 {
		x := make([]float32, frames*PitchClasses)
		for i := range x {
			x[i] = r.Float32()
		}
		return x
	}
	short, long := song(400), song(ReserveFrames)
	n := w.NewNet()
	n.Reserve(ReserveFrames)
	dst := make([]float32, n.Dim())
	if err := n.Embed(dst, short, ModelHop); err != nil { // the FFT buffers are sized on first use
		t.Fatal(err)
	}
	// The scratch must not be reallocated (testing.AllocsPerRun would not
	// do: its warm-up run grows the scratch).
	before := scratchArrays(n)
	if err := n.Embed(dst, long, ModelHop); err != nil {
		t.Fatal(err)
	}
	if after := scratchArrays(n); after != before {
		t.Errorf("a %d-frame song after Reserve(%d) reallocated the scratch: %v → %v", ReserveFrames, ReserveFrames, before, after)
	}
	fresh := w.NewNet()
	want := make([]float32, fresh.Dim())
	for _, x := range [][]float32{short, long} {
		if err := fresh.Embed(want, x, ModelHop); err != nil {
			t.Fatal(err)
		}
		if err := n.Embed(dst, x, ModelHop); err != nil {
			t.Fatal(err)
		}
		for i := range want {
			if dst[i] != want[i] {
				t.Fatalf("%d frames: embedding[%d] = %v after Reserve, %v without", len(x)/PitchClasses, i, dst[i], want[i])
			}
		}
	}
}

// scratchArrays returns the backing arrays of n's length-dependent scratch.
func scratchArrays(n *Net) [3]unsafe.Pointer {
	return [3]unsafe.Pointer{unsafe.Pointer(unsafe.SliceData(n.x)), unsafe.Pointer(unsafe.SliceData(n.even)), unsafe.Pointer(unsafe.SliceData(n.odd))}
}
