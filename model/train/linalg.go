package train

import (
	"math"

	"github.com/vindex/vindex/model/metrics"
)

// mulT writes dst (m×n, row-major) = A·Bᵀ for A (m×k) and B (n×k), row by
// row with metrics.DotRow, the project's vector dot-product kernel (AVX2 on
// amd64, portable Go elsewhere). Every product of the head goes through it.
func mulT(dst, a []float32, m, k int, b []float32, n int) {
	if len(dst) < m*n || len(a) < m*k || len(b) < n*k {
		panic("train: mulT: short buffers")
	}
	if m == 0 || n == 0 {
		return
	}
	if k == 0 {
		clear(dst[:m*n])
		return
	}
	for i := 0; i < m; i++ {
		metrics.DotRow(dst[i*n:i*n+n], a[i*k:i*k+k], b, n, k)
	}
}

// transpose writes dst (n×m) = Aᵀ for A (m×n).
func transpose(dst, a []float32, m, n int) {
	if len(dst) < m*n || len(a) < m*n {
		panic("train: transpose: short buffers")
	}
	for i := 0; i < m; i++ {
		row := a[i*n : i*n+n]
		for j, v := range row {
			dst[j*m+i] = v
		}
	}
}

// sqNorms writes dst[i] = ‖a_i‖² (in float64, rounded) for the m rows of A (m×k).
func sqNorms(dst, a []float32, m, k int) {
	for i := 0; i < m; i++ {
		var s float64
		for _, v := range a[i*k : i*k+k] {
			s += float64(v) * float64(v)
		}
		dst[i] = float32(s)
	}
}

// sqDist writes D (m×m) = SqE(A, A)/scale with SqE_ij = ‖a_i‖²+‖a_j‖²−2a_i·a_j+1e-12
// (remove-spec.md §4.4), using gram (m×m) and norms (m) as scratch.
func sqDist(dst, gram, norms, a []float32, m, k int, scale float64) {
	mulT(gram, a, m, k, a, m)
	sqNorms(norms, a, m, k)
	for i := 0; i < m; i++ {
		for j := 0; j < m; j++ {
			d := float64(norms[i]) + float64(norms[j]) - 2*float64(gram[i*m+j]) + 1e-12
			dst[i*m+j] = float32(d / scale)
		}
	}
}

// pairGrad turns G (m×m), the gradient of a loss with respect to
// D_ij = SqE(z_i, z_j)/scale, into the gradient with respect to Z (m×k):
// dz_i = (2/scale) Σ_j (G_ij + G_ji)(z_i − z_j). h (m×m) and zt (k×m) are
// scratch. dst is overwritten.
func pairGrad(dst, g, z []float32, m, k int, scale float64, h, zt []float32) {
	for i := 0; i < m; i++ {
		for j := 0; j < m; j++ {
			h[i*m+j] = g[i*m+j] + g[j*m+i]
		}
	}
	transpose(zt, z, m, k)
	mulT(dst, h, m, m, zt, k) // Σ_j H_ij z_j
	c := float32(2 / scale)
	for i := 0; i < m; i++ {
		var rs float64
		for _, v := range h[i*m : i*m+m] {
			rs += float64(v)
		}
		r := float32(rs)
		zi, di := z[i*k:i*k+k], dst[i*k:i*k+k]
		for j := range di {
			di[j] = c * (r*zi[j] - di[j])
		}
	}
}

func grow(s []float32, n int) []float32 {
	if cap(s) < n {
		return make([]float32, n)
	}
	return s[:n]
}

func norm(v []float32) float64 {
	var s float64
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	return math.Sqrt(s)
}
