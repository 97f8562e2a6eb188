// Package model runs the MOVE / Re-MOVE cover-song embedding network in
// float32, in pure Go (Go assembly kernels on amd64, no cgo).
//
// The network is MOVEModel from Yesiler, Serrà and Gómez, "Accurate and
// scalable version identification using musically-motivated embeddings"
// (MOVE, ICASSP 2020), as used by Yesiler, Serrà and Gómez, "Less is more:
// Faster and better music version identification with embedding
// distillation" (ISMIR 2020). The reference is furkanyesiler/re-move at
// commit 5ddd5df, models/move_model.py (identical in furkanyesiler/move
// f86d271); this package was written from the project's specification of it
// (docs: shared/reference/remove-spec.md §1-2), not translated from the
// AGPL source.
//
// # What it owns
//
//   - Config, Variant, DetectVariant: which MOVEModel a state_dict holds.
//   - Weights (NewWeights): a checkpoint prepared for inference; immutable.
//   - Net (Weights.NewNet): the forward pass with its scratch buffers.
//   - Net.Pooled and Weights.Head, ExtractorID (pooled.go): the forward pass
//     up to autopooling, the head's weights and the extractor's identity,
//     for distillation (model/train).
//   - ModelFrames and the preprocessing inside Net.Embed.
//
// Checkpoint files are read by LoadCheckpoint (checkpoint*.go, model/torch,
// model/safetensors; another owner) into a statedict.Dict. A checkpoint must
// be a regular file of at most MaxCheckpointBytes (256 MiB): OpenCheckpoint
// checks the path's metadata before opening it, so a FIFO or a device such
// as /dev/zero is refused at once (ErrCheckpointFile).
//
// # Variants
//
// Every variant a checkpoint can hold: sum_method 0-4 (0 max, 1 mean,
// 2 autopool, 3 softmax attention with values from the first 256 conv5
// channels, 4 = MOVE-16k / Re-MOVE: autopool weights from the first 256 of
// 512 channels, values from the second 256), final_activation 0-3
// (identity, sigmoid, tanh, BatchNorm1d(affine=False) in eval mode, eps
// 1e-5) and any embedding size d ≥ 1. The variant is read from keys and
// shapes; shapes cannot tell sum_method 3 from 4 (default 4, the constructor
// default), 0 from 1 from 2 (Config.SumMethod required) or final_activation
// 0 from 1 from 2 (Config.FinalActivation required). DetectVariant is strict:
// a missing or unexpected key or a wrong shape or dtype is an error naming
// the key, the expected and the found shape.
//
// # Preprocessing
//
// Embed takes cremaPCP frame-major (12 values per frame) at a hop h that
// divides ModelHop (4096). Songs are decimated by plain slicing [::4096/h],
// as benchmark_da-tacos.py does for h = 512 ([::8], ⌈T/8⌉ frames, no
// averaging); h = 4096 is used as is. No normalisation. The reference's
// 23-row input (pitch rows 0..11, then 0..10) is not built: conv1 is
// computed as the circular correlation over the 12 pitch classes that it is
// equivalent to, out[c,j,t] = b[c] + Σ_r Σ_k W[c,r,k]·X[(j+r) mod 12, t+k],
// so the embedding is exactly invariant to rolling the pitch classes.
//
// # Invariants and performance
//
// Each embedding matches PyTorch 1.13 on the same checkpoint to 1e-4
// absolute per element (measured: ≤ 6e-6 on the goldens of
// testdata/parity, made by testdata/gen/gen.py for d 128/256/2048, T
// 320/400/2350, hop 512, every sum_method and final_activation, float32 and
// float16 checkpoints in both torch formats). The convolutions are an
// implicit-im2col float32 GEMM (no im2col buffer: B panels are packed
// straight from the layer input) with an AVX-512 or AVX2+FMA micro-kernel
// chosen once at init from the CPU, or a portable Go kernel; all three are
// tested against the goldens. conv1, 81% of the direct cost, is computed in
// the pitch-DFT domain (conv1.go): 7 frequency bins turn the 12×12 circular
// correlation into 3960 instead of 25,920 MACs per output, plus a 12×12
// inverse DFT, all as GEMMs. The direct form is kept and tested too.
// Summation order differs from PyTorch's, hence the tolerance.
//
// Pitch-roll invariance is exact, bit for bit: Embed reads the input at a
// canonical rotation of its 12 pitch rows (the smallest by row sums, then
// element-wise), which leaves the embedding unchanged mathematically and
// makes every roll of a song run the identical computation.
//
// Weights is immutable and safe to share across goroutines. A Net is not safe
// for concurrent use: make one per goroutine (Weights.NewNet). A Net's
// buffers grow to the longest song it has seen and are reused, so Embed
// allocates nothing in steady state (about 4 MB of fixed scratch plus 3 KB per
// model frame: 11 MB for a 218 s song, 125 MB for an hour).
//
// # Deviations from the reference
//
//   - Songs with fewer than MinFrames (320) frames at the model rate return
//     an error wrapping ErrTooShort (PyTorch raises "Kernel size can't be
//     greater than actual input size"). Config.PadShort (off by default)
//     instead zero-pads them at the end to 320 frames, as training pads its
//     crops; the reference evaluation never does this.
//   - Hops other than 512 and 4096 that divide 4096 are decimated the same
//     way; the reference only ever sees 512 (Da-TACOS) or 4096.
//   - NaN or ±Inf in the input is an error wrapping ErrInput, naming the
//     frame and pitch class; PyTorch would return a NaN embedding.
//   - Softmax/autopool, mean pooling, lin1 and the BatchNorm scale
//     1/sqrt(running_var+1e-5) accumulate in float64 and round to float32;
//     PyTorch works in float32. The difference is far below the tolerance.
//   - conv1 runs in the pitch-DFT domain on the input read at its canonical
//     pitch rotation: the same function, rounded differently (≤ 1e-5 from
//     the direct form on the goldens).
//   - Key order of the state_dict is not checked (loading is strict on the
//     key set, as load_state_dict(strict=True) is).
package model
