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
// PCA is fitted from Moments: a mergeable accumulator of count, mean and
// co-moment matrix Σ(x−x̄)(x−x̄)ᵀ (upper triangle, packed). Rows are folded in
// blocks centred on the block's own mean and blocks are merged with Chan et
// al.'s parallel update, so the result does not depend on how the data was
// split and stays accurate when the mean is large compared with the spread.
// The covariance (ddof=1, as scikit-learn) is decomposed with gonum's
// mat.EigenSym; components are sorted by decreasing variance and each is
// signed so that its largest-magnitude entry is positive.
//
// Deviation from scikit-learn 1.2.1: sklearn's svd_flip signs components by
// the left singular vectors (u_based_decision=True), which depends on the
// sample order; vindex signs by the component itself, which depends only on
// the fitted subspace. Goldens are compared after applying vindex's
// convention to sklearn's output.
//
// Cost: folding rows is d²/2 multiply-adds per row (blocked, split over
// goroutines); the eigendecomposition is gonum's full Dsyev (all d
// eigenvectors, O(d³)), which dominates for d = 2048 (bench/pca). A partial
// solver for the top K eigenvectors (tridiagonalisation plus inverse
// iteration, or Lanczos) would remove most of that cost; it is not written.
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
// concurrent use; Moments is not safe for concurrent use.
package reduce
