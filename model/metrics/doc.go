// Package metrics computes the version-retrieval metrics of Re-MOVE / MOVE
// (MAP, MR1, MRR, Top-1, Top-10) exactly as the original evaluation code
// defines them (reference/remove-spec.md §3), without ever building the N×N
// similarity or ground-truth matrix.
//
// # Definitions
//
// For a query q with relevant set R(q) (the other songs with q's work_id; q
// itself is never relevant) and a similarity s:
//
//	rank(v) = 1 + #{x ≠ q : s(q,x) > s(q,v)} + #{x ≠ q : s(q,x) = s(q,v), x before v}
//
// "Before" is catalog order, which this package defines as ascending song_id
// (byte order): a distributed catalog has no other stable order, and for the
// zero-padded ids of the benchmark it is the dataset order. This is what a
// stable descending sort does; torch.topk does not order ties stably, so the
// reference may differ from us only when a tie straddles a relevant and an
// irrelevant item.
//
// With r_1 < r_2 < … < r_n the ranks of q's n relevant items:
//
//	AP(q)       = Σ_j (j / r_j) / (n + 1e-10)          (the reference's 1e-10)
//	first(q)    = r_1
//	MAP         = mean AP over queries with n > 0
//	MR1         = mean first(q) over queries with n > 0
//	MRR1        = mean 1/first(q) over queries with n > 0
//	RefMR, RefMRR = the reference's MR and MRR: the mean over ALL queries,
//	              a query without versions counting as rank 1 (quirk, labelled)
//	Top1        = #{q : r_1 = 1}                       (a count, as printed)
//	Top10       = Σ_q #{j : r_j ≤ 10}                  (a count, as printed)
//	Top1Rate    = Top1 / #queries with versions
//	Top10Rate   = Top10 / (10 · #queries with versions) (mean precision@10)
//
// Similarities (remove-spec.md §3.1), all computed in float32 as the
// reference does, as a dot product of prepared vectors plus a per-item bias,
// which preserves each query's ranking exactly in real arithmetic:
//
//	cosine       s = e_q·e_x/‖e_x‖/‖e_q‖ (Re-MOVE, loss 2; the default)
//	sqeuclidean  s = −(‖e_q‖² + ‖e_x‖² − 2 e_q·e_x + 1e-12)/d (triplet models, MOVE);
//	             ranked as e_q·e_x − ‖e_x‖²/2, the same order
//	pearson      s = Pearson correlation with unbiased variances (loss 3);
//	             ranked as the cosine of the mean-centred vectors, the same order
//
// # Invariants
//
//   - No N×N matrix: the largest temporary is one tile of scores per
//     worker (PartialCounts: BlockQueries × BlockCatalog float32; Evaluate: a
//     square of BlockQueries rounded up to 16, default 256), plus two uint32
//     counters per query and version slot (16 consecutive queries share the
//     slot count of the one with most versions, at most 64), per worker in
//     Evaluate; memory is O(N·d).
//   - Evaluate scores each unordered pair of songs once: q·x and x·q are the
//     same bits (an FMA's product is exact, so the operands commute, and a
//     pair's arithmetic does not depend on its position), so one tile serves
//     its rows as queries against its columns and its columns against its
//     rows. PartialCounts uses the same kernels in one direction. The
//     kernels only compare: per relevant item of a query, how many songs
//     score above it and how many tie with it (AVX-512, AVX2 or Go;
//     count.go). The query itself and its relevant items, whose scores are
//     known, are subtracted afterwards; a query where another song ties with
//     one of its relevant items, or with more than 64 versions, is recounted
//     by the scalar path (binary search among the relevant items, ties
//     placed by catalog order). The counts therefore equal the scalar
//     path's exactly; tests check both entry points against it on every
//     kernel path, on a catalog full of ties.
//   - The rank counts are additive over catalog blocks (PartialCounts), so a
//     distributed runner may sum them per query and gets bit-identical
//     results to Evaluate. PairCounts scores two query ranges against each
//     other once and adds both directions, as Evaluate's tiles do; summed
//     over every pair of a partition of the catalog it gives Evaluate's
//     counts (transforms.Evaluate plans one element per query block: the
//     block with itself and the next half of the blocks, through a
//     PairCounter, which prepares each block's relevant items once).
//   - Relevant-versus-relevant order is decided once per query from one set of
//     similarities, so the ranks of a query's relevant items are always a
//     strictly increasing sequence, whatever kernel computes the tiles.
//   - A pair's score does not depend on where it sits in a tile or on which
//     other rows share a kernel call: tiles and DotRow (hence model/search)
//     use the same per-pair arithmetic. On amd64 that is float32 FMA in 8
//     lanes (AVX2 4×3 and 4×2 kernels) or, when d is a multiple of 16 and the
//     CPU has AVX-512, 16 lanes folded to 8 (4×3 strip kernel), then the same
//     reduction tree; elsewhere a scalar loop. Scores can therefore differ in
//     the last bits between machines, never within one.
//
// # Deviations from the reference
//
//   - Accumulation of AP and the means is in float64 (the reference uses
//     float32): differences are ~1e-8.
//   - Ties are broken by catalog order (see above) instead of torch.topk's
//     unspecified order.
//   - Songs whose embedding has NaN/Inf values, or that the distance cannot
//     score (a zero vector under cosine, a constant vector under pearson; the
//     reference would produce NaN), are rejected with a reason instead of being
//     scored. Songs without a work_id are queries without versions (the
//     Da-TACOS "noise" songs). Duplicate song_ids and mixed dimensions are
//     errors.
//
// # Concurrency
//
// A Catalog is immutable after NewCatalog and safe for concurrent use;
// PartialCounts splits its query blocks, Evaluate and PairCounts their
// tiles, over Config.Workers goroutines (0: GOMAXPROCS). A PairCounter may
// be used from several goroutines (each with its own counts).
package metrics
