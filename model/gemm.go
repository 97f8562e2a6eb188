package model

import "math"

// A float32 GEMM specialised for the network's convolutions:
//
//	C[m][n] = Σ_k A[m][k] · B[k][n]
//
// A (the layer's weights, OIHW flattened to M×K) is packed once at load into
// panels of mr rows; B is never materialised: row k of B is src[boff[k]:], a
// window of the layer's input, so im2col is implicit and B is packed (kc
// rows × nr columns per panel) straight from the input. Loops follow the
// BLIS order: a block of nc columns, a block of kc rows of B packed, then for
// each B panel (kept in L1) every A panel of the block (streamed from L2). The
// micro-kernel computes an mr×nr tile; AVX-512 and AVX2+FMA versions are in
// assembly (gemm_amd64.s), kernelGo is the portable fallback.

const (
	mr = 6   // micro-tile rows (output channels); A panel height
	kc = 256 // rows of B packed at once
	nc = 128 // columns (time frames) per block; a multiple of every nr
)

// microKernel computes c[i*nr+j] += Σ_{p<k} a[p*mr+i] · b[p*nr+j] for i<mr,
// j<nr.
type microKernel struct {
	name string
	nr   int
	run  func(k int, a, b, c []float32)
}

// kern is chosen once, in init, from the CPU's features; never changed after
// (tests swap it to check the fallback).
var kern = microKernel{"go", 16, kernelGo16}

func kernelGo16(k int, a, b, c []float32) { kernelGo(k, 16, a, b, c) }

func kernelGo(k, nr int, a, b, c []float32) {
	a = a[:k*mr]
	b = b[:k*nr]
	c = c[:mr*nr]
	var accs [64]float32
	for i := 0; i < mr; i++ {
		acc := accs[:nr]
		copy(acc, c[i*nr:(i+1)*nr])
		for p := 0; p < k; p++ {
			av := a[p*mr+i]
			bp := b[p*nr : p*nr+nr : p*nr+nr]
			for j := range acc {
				acc[j] += av * bp[j]
			}
		}
		copy(c[i*nr:], acc)
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

// gemmScratch returns the scratch sizes convGEMM needs for M rows.
func gemmScratch(M int) (tile, bpack int) {
	return (M + mr - 1) / mr * mr * nc, kc * nc
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
// packed by packA; tile and bpack are scratch of gemmScratch(M) floats. It
// does not allocate.
func convGEMM(dst []float32, ldd int, ap []float32, M, K int, bias []float32, slope float32,
	src []float32, boff []int, N int, mode int, tile, bpack []float32) {
	nr, run := kern.nr, kern.run
	np := (M + mr - 1) / mr
	tsz, bsz := gemmScratch(M)
	tile = tile[:tsz]
	bpack = bpack[:bsz]
	boff = boff[:K]
	for n0 := 0; n0 < N; n0 += nc {
		nb := min(nc, N-n0)
		panels := (nb + nr - 1) / nr
		clear(tile)
		for k0 := 0; k0 < K; k0 += kc {
			kb := min(kc, K-k0)
			// Pack B: panel jp holds columns n0+jp*nr .. +nr, rows k0..k0+kb.
			for jp := 0; jp < panels; jp++ {
				c0 := n0 + jp*nr
				w := min(nr, N-c0)
				bp := bpack[jp*kc*nr:]
				switch {
				case w == 32 && nr == 32:
					for q := 0; q < kb; q++ {
						o := boff[k0+q] + c0
						*(*[32]float32)(bp[q*32:]) = *(*[32]float32)(src[o:])
					}
				case w == 16 && nr == 16:
					for q := 0; q < kb; q++ {
						o := boff[k0+q] + c0
						*(*[16]float32)(bp[q*16:]) = *(*[16]float32)(src[o:])
					}
				default:
					for q := 0; q < kb; q++ {
						o := boff[k0+q] + c0
						row := bp[q*nr : q*nr+nr]
						copy(row, src[o:o+w])
						clear(row[w:])
					}
				}
			}
			// B panel (kc×nr) stays in L1 while the A panels stream from L2.
			for jp := 0; jp < panels; jp++ {
				bp := bpack[jp*kc*nr:]
				for p := 0; p < np; p++ {
					run(kb, ap[p*mr*K+k0*mr:], bp, tile[p*mr*nc+jp*mr*nr:])
				}
			}
		}
		// Epilogue: tile panel p, column panel jp holds rows p*mr.., columns
		// jp*nr.. as an mr×nr row-major block.
		for m := 0; m < M; m++ {
			p, i := m/mr, m%mr
			b := bias[m]
			sb, one := math.Float32bits(slope), math.Float32bits(1)
			d := dst[m*ldd+n0 : m*ldd+n0+nb]
			for jp := 0; jp < panels; jp++ {
				w := min(nr, nb-jp*nr)
				t := tile[p*mr*nc+jp*mr*nr+i*nr:][:w]
				dd := d[jp*nr : jp*nr+w]
				if mode == storePReLU {
					// Branch-free PReLU (signs are unpredictable): the
					// factor is slope where v's sign bit is set, else 1.
					for j, v := range t {
						v += b
						neg := uint32(int32(math.Float32bits(v)) >> 31)
						dd[j] = v * math.Float32frombits(sb&neg|one&^neg)
					}
				} else {
					for j, v := range t {
						v += b
						if v < 0 {
							v *= slope
						}
						if v > dd[j] {
							dd[j] = v
						}
					}
				}
			}
		}
	}
}
