// Package synth generates synthetic cremaPCP catalogs shaped like Da-TACOS,
// for demos, tests and benchmarks when real features are not at hand.
//
// A catalog is Works works with Versions versions each, followed by Noise
// single-version works (distractors), Da-TACOS's benchmark shape by default
// (1,000 × 13 + 2,000). Each work is a small piece of music: a key and mode,
// two to four sections of four to eight chords (diatonic, with sevenths,
// suspensions and the odd borrowed chord) of 2–8 beats, a tempo of 70–150
// BPM, and a form (a pattern over the sections). Each version renders the
// work's chords as chroma templates and then differs from the original the way
// real versions do: transposition (a roll of the pitch classes, in 60% of
// versions), tempo (nearest-neighbour time resampling by a factor in
// 0.7–1.4, log-uniform), structure (each section instance dropped or
// repeated with probability 0.12, the form cycled to the version's own
// length and cut), the odd chord substitution, its own timbre (per-pitch-class
// gains), exponential smoothing and Gaussian noise, clamped to [0, 1].
// Durations are normal (218 s ± 69 s by default), correlated between the
// versions of a work, truncated to [MinDurationS, MaxDurationS]; MinDurationS
// is at least 30 s, so every song has the 320 frames the network needs. The
// first version of a work (version 0) is the untransformed original.
//
// Versions of a work are closer to each other than to other works because
// they share chord progressions, not because anything is planted: a
// transposition-invariant chroma statistic finds them (see the tests).
//
// Invariants: Song(cfg, i) depends only on cfg and i (per-song PCG seeds
// derived from Seed, the work and the version), so output does not depend on
// goroutine scheduling; Generate holds one batch of songs (a few per core)
// plus one Parquet row group in memory, whatever the catalog's size. At hop
// 512, every model frame is repeated 8 times, so decimation by [::8]
// recovers the hop-4096 frames exactly. Song.Extra records the
// transformation (ExtraTranspose, ExtraTempo, ExtraEdits).
//
// Deviations from real Da-TACOS: ids are P_NNNNNNN / W_NNNNNN in catalog order
// (works contiguous, noise last); titles and artists are placeholders; real
// crema activations are smoother and less template-like.
package synth
