package model

// A float32 GEMM specialised for the network's convolutions:
//
//	C[m][n] = Σ_k A[m][k] · B[k][n]
//
// A (the layer's weights, OIHW flattened to M×K) is packed once at load into
// panels of mr rows; B is never materialised: row k of B is src[boff[k]:], a
// window of the layer's input, so im2col is implicit and each 16-column
// panel of B is packed (kc rows at a time) straight from the input. The
// micro-kernel computes an mr×nr tile; the AVX2+FMA version is in assembly
// (gemm_amd64.s), kernelGo is the portable fallback.

const (
	mr = 6   // micro-tile rows (output channels)
	nr = 16  // micro-tile columns (time frames)
	kc = 256 // rows of B packed at once (16 KiB: stays in L1)
)

// kernel computes c[i*nr+j] += Σ_{p<k} a[p*mr+i] · b[p*nr+j] for i<mr, j<nr.
var kernel = kernelGo

func kernelGo(k int, a, b, c []float32) {
	a = a[:k*mr]
	b = b[:k*nr]
	c = c[:mr*nr]
	for i := 0; i < mr; i++ {
		var acc [nr]float32
		copy(acc[:], c[i*nr:(i+1)*nr])
		for p := 0; p < k; p++ {
			av := a[p*mr+i]
			bp := b[p*nr : p*nr+nr : p*nr+nr]
			for j := range acc {
				acc[j] += av * bp[j]
			}
		}
		copy(c[i*nr:], acc[:])
	}
}

// packA packs the row-major m×k matrix a into ⌈m/mr⌉ panels of mr rows,
// k-major inside a panel (panel p holds a[p*mr+i][q] at p*mr*k + q*mr + i);
// rows past m are zero.
func packA(a []float32, m, k int) []float32 {
	np := (m + mr - 1) / mr
	out := make([]float32, np*mr*k)
	for row := 0; row < m; row++ {
		p, i := row/mr, row%mr
		base := p * mr * k
		for q := 0; q < k; q++ {
			out[base+q*mr+i] = a[row*k+q]
		}
	}
	return out
}

// epilogue modes of convGEMM.
const (
	storePReLU = iota // dst = prelu(bias + acc)
	maxPReLU          // dst = max(dst, prelu(bias + acc))
)

// convGEMM computes, for m < M and n < N,
//
//	v = prelu(bias[m] + Σ_{k<K} A[m][k] · src[boff[k]+n])
//
// and stores v (or the max of v and the old value) at dst[m*ldd+n]. ap is A
// packed by packA; tile (mr·M rounded up × nr) and bpack (kc × nr) are
// scratch. It does not allocate.
func convGEMM(dst []float32, ldd int, ap []float32, M, K int, bias []float32, slope float32,
	src []float32, boff []int, N int, mode int, tile, bpack []float32) {
	np := (M + mr - 1) / mr
	tile = tile[:np*mr*nr]
	bpack = bpack[:kc*nr]
	boff = boff[:K]
	for n0 := 0; n0 < N; n0 += nr {
		nb := min(nr, N-n0)
		clear(tile)
		for k0 := 0; k0 < K; k0 += kc {
			kb := min(kc, K-k0)
			if nb == nr {
				for q := 0; q < kb; q++ {
					o := boff[k0+q] + n0
					copy(bpack[q*nr:q*nr+nr], src[o:o+nr])
				}
			} else {
				for q := 0; q < kb; q++ {
					o := boff[k0+q] + n0
					row := bpack[q*nr : q*nr+nr]
					copy(row, src[o:o+nb])
					clear(row[nb:])
				}
			}
			for p := 0; p < np; p++ {
				kernel(kb, ap[p*mr*K+k0*mr:], bpack, tile[p*mr*nr:])
			}
		}
		for m := 0; m < M; m++ {
			t := tile[m*nr : m*nr+nb]
			d := dst[m*ldd+n0 : m*ldd+n0+nb]
			b := bias[m]
			if mode == storePReLU {
				for j, v := range t {
					v += b
					if v < 0 {
						v *= slope
					}
					d[j] = v
				}
			} else {
				for j, v := range t {
					v += b
					if v < 0 {
						v *= slope
					}
					if v > d[j] {
						d[j] = v
					}
				}
			}
		}
	}
}
