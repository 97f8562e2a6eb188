// Command teacher writes the seeded, untrained MOVEModel(d, 4, 3) checkpoint
// the demo uses (model.SeededCheckpoint) as safetensors, for the
// distillation measurements. Teachers of several d drawn from one seed share
// their feature extractor (the convolutions are drawn before lin1).
//
//	go run ./bench/distill/teacher -d 256 -seed 1 -out teacher256.safetensors
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"

	"github.com/vindex/vindex/model"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "teacher:", err)
		os.Exit(1)
	}
}

func run() error {
	d := flag.Int("d", 256, "embedding size")
	seed := flag.Uint64("seed", 1, "seed")
	out := flag.String("out", "", "output .safetensors")
	flag.Parse()
	if *out == "" || *d < 1 {
		return fmt.Errorf("need -out FILE and -d ≥ 1")
	}
	var buf bytes.Buffer
	if err := model.WriteSeededCheckpoint(&buf, *d, *seed); err != nil {
		return err
	}
	return os.WriteFile(*out, buf.Bytes(), 0o644)
}
