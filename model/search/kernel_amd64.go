package search

import "golang.org/x/sys/cpu"

var hasAVX2FMA = cpu.X86.HasAVX2 && cpu.X86.HasFMA

// dot4x2 is model/metrics' AVX2/FMA kernel, copied byte for byte (see
// kernel_amd64.s) so that scores are bit-identical to the evaluation's.
//
//go:noescape
func dot4x2(q *float32, qs int, x *float32, xs int, n int, out *[8]float32)

// dotRowAsm writes dst[j] = q·x_j with the 4×2 kernel (query row repeated),
// exactly the arithmetic metrics.dotTile uses for that pair.
func dotRowAsm(dst, q, x []float32, nx, d int) bool {
	if !hasAVX2FMA || d%8 != 0 || d == 0 || nx == 0 {
		return false
	}
	var out [8]float32
	for j := 0; j < nx; j += 2 {
		xs := d
		if j+1 == nx {
			xs = 0
		}
		dot4x2(&q[0], 0, &x[j*d], xs, d, &out)
		dst[j] = out[0]
		if j+1 < nx {
			dst[j+1] = out[1]
		}
	}
	return true
}
