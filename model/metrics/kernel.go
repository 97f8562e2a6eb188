package metrics

// dotTile writes dst[i*nx+j] = q_i · x_j for the nq rows of q and nx rows of
// x (row-major, d columns each), in float32.
func dotTile(dst, q []float32, nq int, x []float32, nx, d int) {
	dotTileLD(dst, nx, q, nq, x, nx, d)
}

// dotTileLD is dotTile with a row stride ld ≥ nx for dst: dst[i*ld+j] = q_i · x_j.
func dotTileLD(dst []float32, ld int, q []float32, nq int, x []float32, nx, d int) {
	if ld < nx || (nq > 0 && len(dst) < (nq-1)*ld+nx) || len(q) < nq*d || len(x) < nx*d {
		panic("metrics: dotTile: short buffers")
	}
	if dotTileAsm(dst, ld, q, nq, x, nx, d) {
		return
	}
	dotTileGo(dst, ld, q, nq, x, nx, d)
}

// dotTileGo is the portable kernel: 4×4 register blocks, accumulation in
// index order for every dot product.
func dotTileGo(dst []float32, ld int, q []float32, nq int, x []float32, nx, d int) {
	i := 0
	for ; i+4 <= nq; i += 4 {
		q0 := q[i*d : i*d+d]
		q1 := q[(i+1)*d : (i+1)*d+d]
		q2 := q[(i+2)*d : (i+2)*d+d]
		q3 := q[(i+3)*d : (i+3)*d+d]
		j := 0
		for ; j+2 <= nx; j += 2 {
			x0 := x[j*d : j*d+d]
			x1 := x[(j+1)*d : (j+1)*d+d]
			var s00, s01, s10, s11, s20, s21, s30, s31 float32
			for k := range x0 {
				a, b := x0[k], x1[k]
				s00 += q0[k] * a
				s01 += q0[k] * b
				s10 += q1[k] * a
				s11 += q1[k] * b
				s20 += q2[k] * a
				s21 += q2[k] * b
				s30 += q3[k] * a
				s31 += q3[k] * b
			}
			dst[i*ld+j], dst[i*ld+j+1] = s00, s01
			dst[(i+1)*ld+j], dst[(i+1)*ld+j+1] = s10, s11
			dst[(i+2)*ld+j], dst[(i+2)*ld+j+1] = s20, s21
			dst[(i+3)*ld+j], dst[(i+3)*ld+j+1] = s30, s31
		}
		for ; j < nx; j++ {
			xj := x[j*d : j*d+d]
			dst[i*ld+j] = dot(q0, xj)
			dst[(i+1)*ld+j] = dot(q1, xj)
			dst[(i+2)*ld+j] = dot(q2, xj)
			dst[(i+3)*ld+j] = dot(q3, xj)
		}
	}
	for ; i < nq; i++ {
		qi := q[i*d : i*d+d]
		for j := 0; j < nx; j++ {
			dst[i*ld+j] = dot(qi, x[j*d:j*d+d])
		}
	}
}

// DotRow writes dst[j] = q · x_j for the nx rows of x (row-major, d columns),
// with exactly the arithmetic dotTile uses for each pair, so that a search
// over a catalog scores as its evaluation does (model/search).
func DotRow(dst, q, x []float32, nx, d int) {
	if len(dst) < nx || len(q) < d || len(x) < nx*d {
		panic("metrics: DotRow: short buffers")
	}
	if dotRowAsm(dst, q, x, nx, d) {
		return
	}
	for j := 0; j < nx; j++ {
		xj := x[j*d : j*d+d]
		var s float32
		for i, v := range q[:d] {
			s += v * xj[i]
		}
		dst[j] = s
	}
}
