package metrics

import "golang.org/x/sys/cpu"

var hasAVX2FMA = cpu.X86.HasAVX2 && cpu.X86.HasFMA

//go:noescape
func dot4x2(q *float32, qs int, x *float32, xs int, n int, out *[8]float32)

// dotTileAsm computes the tile with the AVX2/FMA 4×2 kernel when the CPU has
// it and d is a multiple of 8. Remainder rows reuse the kernel with repeated
// rows, so every score is computed the same way whatever its position in a
// tile: block boundaries never change a score.
func dotTileAsm(dst, q []float32, nq int, x []float32, nx, d int) bool {
	if !hasAVX2FMA || d%8 != 0 || d == 0 || nq == 0 || nx == 0 {
		return false
	}
	var out [8]float32
	for i := 0; i < nq; i += 4 {
		qs := d
		rows := min(4, nq-i)
		if rows < 4 {
			qs = 0 // repeat row i: out slots for rows beyond nq are ignored
		}
		for j := 0; j < nx; j += 2 {
			xs := d
			if j+1 == nx {
				xs = 0
			}
			dot4x2(&q[i*d], qs, &x[j*d], xs, d, &out)
			if rows < 4 {
				// With qs = 0 every slot holds row i's scores; compute the
				// remaining rows one by one.
				for r := 0; r < rows; r++ {
					if r > 0 {
						dot4x2(&q[(i+r)*d], 0, &x[j*d], xs, d, &out)
					}
					dst[(i+r)*nx+j] = out[0]
					if j+1 < nx {
						dst[(i+r)*nx+j+1] = out[1]
					}
				}
				continue
			}
			for r := 0; r < 4; r++ {
				dst[(i+r)*nx+j] = out[2*r]
				if j+1 < nx {
					dst[(i+r)*nx+j+1] = out[2*r+1]
				}
			}
		}
	}
	return true
}

// dotRowAsm writes dst[j] = q·x_j with the 4×2 kernel (query row repeated),
// exactly the arithmetic dotTile uses for that pair.
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
