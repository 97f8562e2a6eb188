package model

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"

	"github.com/vindex/vindex/model/safetensors"
	"github.com/vindex/vindex/model/statedict"
)

// SeededCheckpoint returns an untrained MOVEModel state_dict (sum_method 4,
// final_activation 3, embedding size d) initialised as the reference code's
// constructor does (remove-spec.md §1.1): conv weights from
// kaiming_normal_(a=0.01, mode='fan_in', nonlinearity='leaky_relu'), conv
// biases and lin1 from PyTorch's defaults (uniform in ±1/sqrt(fan_in)), PReLU
// slopes 0.01, autopool_p 0, BatchNorm running stats 0 and 1. The numbers come
// from a PCG generator seeded with seed, so the same seed gives the same
// weights on every machine and Go release.
//
// These weights are NOT trained: they show the pipeline working, not the
// accuracy of MOVE. Real indexes use the released Re-MOVE / MOVE checkpoints.
func SeededCheckpoint(d int, seed uint64) *statedict.Dict {
	rng := rand.New(rand.NewPCG(seed, 0x6d6f7665)) // "move"
	sd := &statedict.Dict{}
	f32 := func(shape []int, gen func() float32) *statedict.Tensor {
		t := &statedict.Tensor{Shape: shape, DType: "F32"}
		t.Data = make([]float32, t.Numel())
		for i := range t.Data {
			t.Data[i] = gen()
		}
		return t
	}
	constant := func(shape []int, v float32) *statedict.Tensor { return f32(shape, func() float32 { return v }) }
	gain := math.Sqrt(2 / (1 + 0.01*0.01))
	conv := func(name string, out, in, kh, kw int) {
		fanIn := float64(in * kh * kw)
		std := gain / math.Sqrt(fanIn)
		bound := 1 / math.Sqrt(fanIn)
		sd.Add(name+".weight", f32([]int{out, in, kh, kw}, func() float32 { return float32(rng.NormFloat64() * std) }))
		sd.Add(name+".bias", f32([]int{out}, func() float32 { return float32((2*rng.Float64() - 1) * bound) }))
	}

	sd.Add("autopool_p", constant([]int{}, 0))
	for _, n := range []string{"prelu1", "prelu2", "prelu3", "prelu4", "prelu5"} {
		sd.Add(n+".weight", constant([]int{1}, 0.01))
	}
	conv("conv1", 256, 1, 12, 180)
	conv("conv2", 256, 256, 1, 5)
	conv("conv3", 256, 256, 1, 5)
	conv("conv4", 256, 256, 1, 5)
	conv("conv5", 512, 256, 1, 5)
	sd.Add("lin_bn.running_mean", constant([]int{d}, 0))
	sd.Add("lin_bn.running_var", constant([]int{d}, 1))
	sd.Add("lin_bn.num_batches_tracked", &statedict.Tensor{Shape: []int{}, DType: "I64", Ints: []int64{0}})
	bound := 1 / math.Sqrt(256)
	sd.Add("lin1.weight", f32([]int{d, 256}, func() float32 { return float32((2*rng.Float64() - 1) * bound) }))
	return sd
}

// WriteSeededCheckpoint writes SeededCheckpoint(d, seed) to w as a
// safetensors file whose metadata says that the weights are untrained.
func WriteSeededCheckpoint(w io.Writer, d int, seed uint64) error {
	meta := map[string]string{"vindex.note": "UNTRAINED: seeded initialisation of MOVEModel(emb_size, 4, 3), for demonstration only",
		"vindex.seed": fmt.Sprint(seed)}
	if err := safetensors.Write(w, SeededCheckpoint(d, seed), meta); err != nil {
		return fmt.Errorf("model: %w", err)
	}
	return nil
}

// SeededCheckpointFile writes SeededCheckpoint(d, seed) as a safetensors
// file at the local path (for tests, benchmarks and examples; vindex demo
// publishes it through package storage).
func SeededCheckpointFile(path string, d int, seed uint64) error {
	var b bytes.Buffer
	if err := WriteSeededCheckpoint(&b, d, seed); err != nil {
		return err
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		return fmt.Errorf("model: %w", err)
	}
	return nil
}
