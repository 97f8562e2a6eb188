package metrics

import "golang.org/x/sys/cpu"

var (
	hasAVX2FMA = cpu.X86.HasAVX2 && cpu.X86.HasFMA
	// useAVX512 selects dot4x3z when d is a multiple of 16 (every pair then
	// goes through it, tiles and rows alike). Tests switch it off to check
	// the AVX2 kernels.
	useAVX512 = cpu.X86.HasAVX512F
)

//go:noescape
func dot4x2(q *float32, qs int, x *float32, xs int, n int, out *[8]float32)

//go:noescape
func dot4x3(q *float32, qs int, x *float32, xs int, n int, out *[12]float32)

//go:noescape
func dot4x3z(q0, q1, q2, q3, x0, x1, x2 *float32, n int, out *[12]float32)

//go:noescape
func dot4x3zs(q0, q1, q2, q3, x *float32, xs, ntri, n int, out *float32)

//go:noescape
func dot4x3zd(q0, q1, q2, q3, x *float32, xs, ntri, n int, dst *float32, ld int)

// zStrip is the number of catalog triples dot4x3zs scores per call.
const zStrip = 16

// xBlockBytes bounds the catalog rows dotTileAsm keeps in L2 while every
// query quad of the tile passes over them (the quads' rows stay in L2 too).
const xBlockBytes = 96 << 10

// dotTileAsm computes the tile with the AVX2/FMA kernels when the CPU has
// them and d is a multiple of 8: 4×3 blocks (dot4x3), then 4×2 (dot4x2) for
// the last columns of a block, both with the same per-pair arithmetic. The
// catalog rows are taken in blocks of xBlockBytes, each swept by every query
// quad while it is in L2. Remainder rows reuse the kernel with repeated rows,
// so every score is computed the same way whatever its position in a tile:
// block boundaries never change a score.
func dotTileAsm(dst []float32, ld int, q []float32, nq int, x []float32, nx, d int) bool {
	if !hasAVX2FMA || d%8 != 0 || d == 0 || nq == 0 || nx == 0 {
		return false
	}
	if useAVX512 && d%16 == 0 {
		dotTileZ(dst, ld, q, nq, x, nx, d)
		return true
	}
	xb := max(3, xBlockBytes/(4*d)/3*3)
	for j0 := 0; j0 < nx; j0 += xb {
		j1 := min(nx, j0+xb)
		for i := 0; i < nq; i += 4 {
			if nq-i < 4 {
				dotRowsTail(dst, ld, q, i, nq, x, j0, j1, d)
				continue
			}
			j := j0
			var out [12]float32
			for ; j+3 <= j1; j += 3 {
				dot4x3(&q[i*d], d, &x[j*d], d, d, &out)
				for r := range 4 {
					o := dst[(i+r)*ld+j : (i+r)*ld+j+3]
					o[0], o[1], o[2] = out[3*r], out[3*r+1], out[3*r+2]
				}
			}
			var out2 [8]float32
			for ; j < j1; j += 2 {
				xs := d
				if j+1 == j1 {
					xs = 0
				}
				dot4x2(&q[i*d], d, &x[j*d], xs, d, &out2)
				for r := range 4 {
					dst[(i+r)*ld+j] = out2[2*r]
					if j+1 < j1 {
						dst[(i+r)*ld+j+1] = out2[2*r+1]
					}
				}
			}
		}
	}
	return true
}

// dotTileZ is dotTileAsm with dot4x3z (d a multiple of 16): missing query
// rows and catalog columns of a 4×3 block repeat the last real one.
func dotTileZ(dst []float32, ld int, q []float32, nq int, x []float32, nx, d int) {
	xb := max(3, xBlockBytes/(4*d)/3*3)
	var out [12]float32
	var strip [12 * zStrip]float32
	for j0 := 0; j0 < nx; j0 += xb {
		j1 := min(nx, j0+xb)
		for i := 0; i < nq; i += 4 {
			rows := min(4, nq-i)
			var qp [4]*float32
			for r := range qp {
				qp[r] = &q[(i+min(r, rows-1))*d]
			}
			j := j0
			for j+3 <= j1 {
				ntri := (j1 - j) / 3
				_ = x[(j+3*ntri)*d-1]
				if rows == 4 {
					_ = dst[(i+3)*ld+j+3*ntri-1]
					dot4x3zd(qp[0], qp[1], qp[2], qp[3], &x[j*d], d, ntri, d, &dst[i*ld+j], ld)
				} else {
					ntri = min(zStrip, ntri)
					dot4x3zs(qp[0], qp[1], qp[2], qp[3], &x[j*d], d, ntri, d, &strip[0])
					for r := range rows {
						o := dst[(i+r)*ld+j : (i+r)*ld+j+3*ntri]
						for t := range ntri {
							o[3*t], o[3*t+1], o[3*t+2] = strip[12*t+3*r], strip[12*t+3*r+1], strip[12*t+3*r+2]
						}
					}
				}
				j += 3 * ntri
			}
			for ; j < j1; j += 3 {
				cols := min(3, j1-j)
				var xp [3]*float32
				for c := range xp {
					xp[c] = &x[(j+min(c, cols-1))*d]
				}
				dot4x3z(qp[0], qp[1], qp[2], qp[3], xp[0], xp[1], xp[2], d, &out)
				for r := range rows {
					o := dst[(i+r)*ld+j : (i+r)*ld+j+cols]
					copy(o, out[3*r:3*r+cols])
				}
			}
		}
	}
}

// dotRowsTail scores query rows i0..nq−1 (fewer than 4) against catalog
// rows j0..j1−1 with dot4x2, one query row at a time (repeated in every slot).
func dotRowsTail(dst []float32, ld int, q []float32, i0, nq int, x []float32, j0, j1, d int) {
	var out [8]float32
	for r := i0; r < nq; r++ {
		for j := j0; j < j1; j += 2 {
			xs := d
			if j+1 == j1 {
				xs = 0
			}
			dot4x2(&q[r*d], 0, &x[j*d], xs, d, &out)
			dst[r*ld+j] = out[0]
			if j+1 < j1 {
				dst[r*ld+j+1] = out[1]
			}
		}
	}
}

// dotRowAsm writes dst[j] = q·x_j with the 4×2 kernel (query row repeated),
// exactly the arithmetic dotTile uses for that pair.
func dotRowAsm(dst, q, x []float32, nx, d int) bool {
	if !hasAVX2FMA || d%8 != 0 || d == 0 || nx == 0 {
		return false
	}
	if useAVX512 && d%16 == 0 {
		dotTileZ(dst, nx, q[:d], 1, x, nx, d)
		return true
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
