package model_test

import (
	"fmt"
	"log"
	"math"
	"os"
	"path/filepath"

	"github.com/vindex/vindex/model"
)

// Load a checkpoint (a PyTorch .pt state_dict or a .safetensors file) and
// embed one song's cremaPCP features (frame-major, 12 values a frame, at
// hop 4096: the model's frame rate).
func Example() {
	dir, err := os.MkdirTemp("", "vindex-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "move.safetensors")
	f, err := os.Create(path)
	if err != nil {
		log.Fatal(err)
	}
	// Untrained seeded weights stand in for a released Re-MOVE checkpoint here.
	if err := model.WriteSeededCheckpoint(f, 256, 1); err != nil {
		log.Fatal(err)
	}
	f.Close()

	sd, err := model.LoadCheckpoint(path)
	if err != nil {
		log.Fatal(err)
	}
	w, err := model.NewWeights(sd, model.Config{})
	if err != nil {
		log.Fatal(err)
	}
	net := w.NewNet() // one per goroutine; the weights are shared

	const frames = 400
	crema := make([]float32, 12*frames)
	for t := range frames {
		for p := range 12 {
			crema[12*t+p] = float32(0.5 + 0.5*math.Sin(float64(p*t)/50))
		}
	}
	emb := make([]float32, net.Dim())
	if err := net.Embed(emb, crema, 4096); err != nil {
		log.Fatal(err)
	}
	fmt.Println("variant:", w.Variant().SumMethod, w.Variant().FinalActivation, "dimension:", len(emb))

	// Transposing the song (rolling its pitch classes) gives the same embedding.
	rolled := make([]float32, len(crema))
	for t := range frames {
		for p := range 12 {
			rolled[12*t+(p+3)%12] = crema[12*t+p]
		}
	}
	emb2 := make([]float32, net.Dim())
	if err := net.Embed(emb2, rolled, 4096); err != nil {
		log.Fatal(err)
	}
	same := true
	for i := range emb {
		same = same && emb[i] == emb2[i]
	}
	fmt.Println("invariant to transposition:", same)
	// Output:
	// variant: 4 3 dimension: 256
	// invariant to transposition: true
}
