// Package train distils Re-MOVE students: it trains new MOVEModel heads
// (lin1 and lin_bn) on frozen pooled features (model.Net.Pooled), by the
// three methods of "Less is more" (Yesiler, Serrà, Gómez, ISMIR 2020) as the
// project's specification records them (remove-spec.md §4; written from the
// spec, not from the AGPL source):
//
//   - LSR, latent space reconfiguration: a new lin1 (256 → D, PyTorch's
//     default init) and one proxy per training work (randn), learned with
//     the NormalizedSoftmax loss (cosine logits / 0.05, cross-entropy) on
//     instance batches, Ranger, lr 0.1.
//   - KD, knowledge distillation: a new lin1 learned with the distance loss
//     (L1 between the student's and the teacher's pairwise squared distances,
//     each ÷ its width, off-diagonal mean) plus the hard-mining triplet loss
//     (margin 1) on clique batches (works × 4 versions), Ranger, lr 0.001.
//   - Prune, iterative magnitude pruning: the teacher's lin1 rows are
//     retrained with the triplet loss (emb_size = the teacher's width) and
//     SGD lr 0.1, then the rows with the smallest mean |w| go (halving to D);
//     each iteration rewinds the live rows to the teacher's weights.
//
// Every method trains lin1 through BatchNorm1d(affine=False) in training
// mode (batch mean, biased variance, eps 1e-5), as the reference's model in
// train() mode does; the student's lin_bn running statistics are then the
// mean and unbiased variance of lin1's outputs over the training songs'
// full-length pooled features (what eval mode would use after seeing them
// all). Defaults follow spec §4.2: 70 epochs, batches of 64, MultiStepLR at
// epochs 50 and 60 (scaled to the epoch count), γ 0.1, validation every 2nd
// epoch and after the last, the checkpoint kept when validation MAP ≥
// best + 1e-3.
//
// # Invariants
//
// Losses and gradients are analytic: Head.Forward/Backward, Losses.Triplet,
// KDDistance and NormSoftmax match PyTorch autograd to 1e-5 relative on the
// goldens of testdata (gen.py). Every matrix product goes through
// model/metrics.DotRow, the project's AVX2 dot-product kernel. Training is
// single-threaded and deterministic for Config.Seed: the same inputs and
// seed give bit-identical students on the same architecture. Nothing here
// imports Beam or schema: the pipeline (pipelines/distill) reads the pooled
// features and writes the checkpoint.
//
// # Deviations from the reference
//
//   - The feature extractor is frozen (the reference fine-tunes it at lr
//     1e-6 from the second epoch of LSR, and KD trains a whole student from
//     scratch): only the head learns, on pooled features computed once.
//     docs/distill.md explains why this is faithful in practice.
//   - No data augmentation (the reference's cs_augment): the features are
//     computed once; random patches of the training length (1800 frames),
//     several per song, stand in for its random crops.
//   - Instance and clique batches drop a last batch of fewer than two rows or
//     works (BatchNorm and the triplet need them).
//   - Pruning compacts the live rows instead of masking a full-width tensor:
//     the same distances (pruned outputs are 0 after BatchNorm), so the
//     triplet loss keeps emb_size = the teacher's width as the reference
//     does; there is no "first batch unmasked" quirk. Only the last
//     iteration (D rows) is validated and kept (the reference keeps the best
//     over all iterations, whatever their width).
//   - The schedule halves the teacher's width down to D (the reference's
//     fixed list for 16000 rows does the same up to rounding).
//   - Ranger's state is float64; the parameters stay float32.
package train
