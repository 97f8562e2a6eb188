// Package reduce owns vindex's unsupervised embedding reducers, fitted
// without retraining the network: principal component analysis (PCA),
// FastICA and Gaussian random projection (GRP), all in float64, and the
// versioned reducer file that stores a fitted reducer.
//
// Every reducer is an affine map y = A·(x − μ) from InDim to OutDim
// dimensions, held by a Reducer (A is OutDim×InDim, row-major; μ is zero for
// GRP). Apply evaluates it in float64 and writes float32.
//
// # PCA
//
// PCA is fitted from Moments: a mergeable accumulator whose state is exact
// integer sums, so the fit is a deterministic function of the multiset of
// rows, bit for bit, whatever the order of rows, the split into accumulators
// and the merge order (issue 12.6). Each float32 row x is quantised to
// integers q = round(x·2^(25−e)), 2^(e−1) ≤ max|x| < 2^e: entries at least
// half the row's largest are kept exactly, smaller ones are rounded to
// 2^-25 of the largest (below float32's own resolution of the largest
// entry). Rows are binned by e; each bin holds Σq and the packed upper
// triangle of Σqqᵀ as int64 pairs. Σqqᵀ is a symmetric rank-k update over
// chunks of rows short enough that every float64 partial sum is an integer
// of magnitude ≤ 2^51 (a column bound Σq² ≤ 2^51 and Cauchy–Schwarz), so
// the float64 FMA kernel (6×16 register tiles with AVX-512, 6×8 with
// AVX2+FMA, packed panels, a pure-Go fallback) is exact and its tiles are
// converted and added to the int64 sums in registers. Rows are folded in
// 1,024 at a time (BlockRows), quantised and packed by two goroutines, so
// the triangle (16 MB at d = 2048) is read and written once per 1,024 rows. Every kernel set
// accumulates the same integers; the eigensolver's float64 products use
// fused multiply-adds in every set too, so a fit gives the same bytes with
// any of them on one architecture (gonum's own routines may round
// differently on another). The mean and the covariance (ddof=1,
// as scikit-learn) are computed from the sums in double-double arithmetic,
// so a mean large compared with the spread costs no accuracy.
//
// The top K eigenpairs of the covariance are computed by subspace iteration
// on 2K+16 vectors (Cholesky QR) with Rayleigh–Ritz steps (the first after
// four multiplications, the next where the residuals predict convergence),
// until every one of the K Ritz pairs has a residual
// ‖Cv − θv‖ ≤ max(1e-10·θ₁, min(1e-8·θ₁, 1e-6·gap)), gap being the distance
// to the nearest other Ritz value: the residual bounds the eigenvalue's error
// (explained-variance ratios within 1e-8) and, over the gap, the sine of the
// eigenvector's angle (1e-6; the issue asks for 1e-6 and 1e-4). Vectors whose
// eigenvalue is within 1e-4·θ₁ of another are held to 1e-10·θ₁
// (SubspaceTol). A Rayleigh–Ritz step computes every Ritz value but only the
// K wanted vectors: Householder tridiagonalisation, the tridiagonal's
// eigenvalues by QR without vectors, K vectors by inverse iteration made
// orthonormal by Cholesky QR, then the reflectors (gonum's Dsyev, which
// rotates all 2K+16 vectors, is the fallback if a residual check fails).
// The products with C use the moments' micro-kernel (C packed once, QᵀQ as a
// symmetric product, Q·R⁻¹ skipping R⁻¹'s zero tiles) on every core. The
// start is a fixed pseudo-random basis, so the result is deterministic.
// SolverFull (gonum's mat.EigenSym, every
// eigenpair, O(d³)) stays available through PCAConfig.Solver and is what
// SolverAuto uses for d ≤ 128 or K > d/2; the subspace solver falls back to it
// when the subspace would be nearly the whole space or after 64
// multiplications; where the iterate is numerically rank-deficient (fewer
// rows than vectors) it orthonormalises by Householder QR. Components are
// sorted by decreasing variance and each is signed so that its
// largest-magnitude entry is positive.
//
// Deviation from scikit-learn 1.2.1: sklearn 1.2's PCA signs components by
// the left singular vectors (svd_flip with u_based_decision=True): the
// sample whose projection on a component is largest in magnitude projects
// positively. That depends on the samples, not on the fitted moments, so
// FitPCA signs by the component itself (svd_flip with u_based_decision=False,
// the rule scikit-learn's PCA adopted in 1.5), which depends only on the
// fitted subspace. An optional second pass over the rows, SignVotes (a
// mergeable max of |projection| per component) and
// Reducer.WithSklearn12Signs, reproduces sklearn 1.2's signs; the golden test
// checks it against sklearn 1.2.1's components_. The other goldens are
// compared after applying vindex's convention to sklearn's output.
//
// Cost (bench/pca, 15,000 × 2048 → 256, see bench/RESULTS.md): folding rows
// is d²/2 exact multiply-adds per row, split over goroutines (~1.5 CPU-s
// with AVX-512); the subspace solver converges in 4–5 multiplications of
// the 2048×2048 covariance by 528 vectors (~0.9–1.2 CPU-s), against 72 s for
// the full solver. Memory: an accumulator holds two int64 words per packed
// co-moment entry per row exponent present (the high word only after ~2,000
// chunks), 16–32 MB per exponent at d = 2048, against 16 MB before.
//
// # FastICA
//
// FitICA follows sklearn.decomposition.FastICA (1.2.1) with
// algorithm="parallel", fun="logcosh" (alpha 1), whiten="unit-variance",
// whiten_solver="svd": PCA whitening to k dimensions with sklearn's sign
// convention for the whitening basis (first entry of each left singular vector
// positive), the parallel fixed-point iteration with symmetric decorrelation,
// tol and max_iter, and a seeded or given initial matrix (w_init). ICA is not
// mergeable: it is fitted on an in-memory sample of the catalog.
//
// # GRP
//
// NewGRP draws an OutDim×InDim matrix with N(0, 1/OutDim) entries from a
// seeded PCG generator (math/rand/v2). The matrix is stored in the reducer
// file, so a fitted reducer never depends on a Go release; only regenerating
// from a seed does. JLMinDim is sklearn's johnson_lindenstrauss_min_dim.
//
// # Reducer files
//
// A reducer file is "VXREDUCE", a little-endian uint32 header length, a JSON
// header (format version, method, dims, model id of the embeddings it was
// fitted on, seed, fit sample count, explained variance, ICA iterations) and
// then the float64 little-endian payload: the mean (InDim values, if any) and
// the matrix (OutDim·InDim values). A reducer's ID is its method, output
// dimension and a prefix of the SHA-256 of its file bytes.
//
// Security considerations: ReadFile and Unmarshal accept untrusted bytes.
// They check the magic, bound the header length, check declared dimensions
// against limits and against the bytes actually present before allocating,
// and reject non-finite values.
//
// Concurrency: a Reducer is immutable after construction and safe for
// concurrent use; Moments is not safe for concurrent use (its folding uses
// goroutines internally).
package reduce
