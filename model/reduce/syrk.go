package reduce

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// A symmetric rank-k update in float64 for Moments, exact on integer data:
//
//	acc[packed(i,j)] += Σ_r x[r][i]·x[r][j]   for j ≥ i
//
// x holds integers whose column sums of squares stay below 2^53 (Flush's
// chunks), so every tile sum is an exact integer and is added to the int64
// accumulator as such. Columns of x are packed into panels of 6 (the
// micro-tile's rows) and 8 (its columns), row-major inside a panel; the
// micro-kernel computes a 6×8 tile over all rows of the chunk (assembly with
// AVX2+FMA in syrk_amd64.s, kernel64Go elsewhere). Panels of 6 are processed
// in blocks of syrkBlockPanels, which with the chunk's rows stay in L2 while
// one panel of 8 stays in L1.

const (
	syrkMR          = 6
	syrkNR          = 8
	syrkBlockPanels = 8
)

// syrkKernel computes c[i*8+j] = Σ_{r<k} a[r*6+i]·b[r*8+j] for i<6, j<8.
// It is chosen once, in init, from the CPU's features (tests swap it).
var syrkKernel = kernel64Go

// syrkAccKernel computes, for each chunk of rows cuts[c−1]..cuts[c] (from
// 0), the same tile t over the chunk's rows, whose entries must be integers
// of magnitude ≤ 2^51, and adds int64(t[i*8+j]) to dst[offs[i]+j].
var syrkAccKernel = kernel64AccGo

func kernel64AccGo(cuts []int, a, b []float64, dst []int64, offs [syrkMR]int) {
	var c [syrkMR * syrkNR]float64
	r0 := 0
	for _, r1 := range cuts {
		if r1 > r0 {
			syrkKernel(r1-r0, a[r0*syrkMR:], b[r0*syrkNR:], c[:])
			for i, o := range offs {
				row := dst[o : o+syrkNR]
				for j := range row {
					row[j] += int64(c[i*syrkNR+j])
				}
			}
		}
		r0 = r1
	}
}

func kernel64Go(k int, a, b, c []float64) {
	a = a[:k*syrkMR]
	b = b[:k*syrkNR]
	c = c[:syrkMR*syrkNR]
	var acc [syrkMR * syrkNR]float64
	for r := 0; r < k; r++ {
		ar := a[r*syrkMR : r*syrkMR+syrkMR : r*syrkMR+syrkMR]
		br := b[r*syrkNR : r*syrkNR+syrkNR : r*syrkNR+syrkNR]
		for i, av := range ar {
			t := acc[i*syrkNR : i*syrkNR+syrkNR : i*syrkNR+syrkNR]
			for j, bv := range br {
				t[j] += av * bv
			}
		}
	}
	copy(c, acc[:])
}

// syrkScratch holds packed panels, reused between chunks.
type syrkScratch struct{ pa, pb []float64 }

// packPanels packs the columns of the n×d row-major x into ⌈d/w⌉ panels of w
// columns, panel p holding x[r][p*w+i] at p*w*n + r*w + i; columns past d are
// zero.
func packPanels(dst, x []float64, n, d, w int) []float64 {
	np := (d + w - 1) / w
	size := np * w * n
	if cap(dst) < size {
		dst = make([]float64, size)
	}
	dst = dst[:size]
	for p := range np {
		c0 := p * w
		cols := min(w, d-c0)
		out := dst[p*w*n : (p+1)*w*n]
		for r := range n {
			o := out[r*w : r*w+w]
			copy(o, x[r*d+c0:r*d+c0+cols])
			clear(o[cols:])
		}
	}
	return dst
}

// syrkExact adds the packed upper triangle of xᵀx to acc for the n×d
// row-major x, n = cuts[len(cuts)−1]. Rows cuts[c−1]..cuts[c] (from 0) form
// a chunk that satisfies the exactness bound above; a tile is computed chunk
// by chunk, each added to acc while the tile is in L1.
func syrkExact(acc []int64, x []float64, cuts []int, d int, s *syrkScratch) {
	n := cuts[len(cuts)-1]
	if n == 0 {
		return
	}
	s.pa = packPanels(s.pa, x, n, d, syrkMR)
	s.pb = packPanels(s.pb, x, n, d, syrkNR)
	npA := (d + syrkMR - 1) / syrkMR
	blocks := (npA + syrkBlockPanels - 1) / syrkBlockPanels
	workers := min(runtime.GOMAXPROCS(0), 4, blocks)
	if workers < 2 || d < 128 {
		for blk := range blocks {
			syrkBlock(acc, s.pa, s.pb, cuts, d, blk)
		}
		return
	}
	// Blocks run first to last (the first are the largest); each worker
	// takes the next one, so the work balances.
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				blk := int(next.Add(1) - 1)
				if blk >= blocks {
					return
				}
				syrkBlock(acc, s.pa, s.pb, cuts, d, blk)
			}
		}()
	}
	wg.Wait()
}

// syrkBlock adds the rows of block blk (panels of 6) of the upper triangle.
func syrkBlock(acc []int64, pa, pb []float64, cuts []int, d, blk int) {
	n := cuts[len(cuts)-1]
	npA := (d + syrkMR - 1) / syrkMR
	npB := (d + syrkNR - 1) / syrkNR
	p0 := blk * syrkBlockPanels
	p1 := min(npA, p0+syrkBlockPanels)
	var c [syrkMR * syrkNR]float64
	for q := (p0 * syrkMR) / syrkNR; q < npB; q++ {
		j0 := q * syrkNR
		bq := pb[q*syrkNR*n : (q+1)*syrkNR*n]
		for p := p0; p < p1; p++ {
			i0 := p * syrkMR
			if j0+syrkNR <= i0 {
				continue
			}
			if j0 >= i0+syrkMR-1 && j0+syrkNR <= d && i0+syrkMR <= d {
				// Interior tile: every (i, j) is in the upper triangle.
				var offs [syrkMR]int
				for ii := range offs {
					i := i0 + ii
					offs[ii] = i*d - i*(i-1)/2 - i + j0
				}
				syrkAccKernel(cuts, pa[p*syrkMR*n:(p+1)*syrkMR*n], bq, acc, offs)
				continue
			}
			ap := pa[p*syrkMR*n : (p+1)*syrkMR*n]
			r0 := 0
			for _, r1 := range cuts {
				if r1 > r0 {
					syrkKernel(r1-r0, ap[r0*syrkMR:], bq[r0*syrkNR:], c[:])
					syrkAddTile(acc, &c, i0, j0, d)
				}
				r0 = r1
			}
		}
	}
}

// syrkAddTile adds the upper-triangle entries of the 6×8 tile c at (i0, j0)
// to acc.
func syrkAddTile(acc []int64, c *[syrkMR * syrkNR]float64, i0, j0, d int) {
	for ii := range syrkMR {
		i := i0 + ii
		if i >= d {
			break
		}
		base := i*d - i*(i-1)/2 - i // packed index of (i, j) is base + j
		for jj := max(0, i-j0); jj < syrkNR && j0+jj < d; jj++ {
			acc[base+j0+jj] += int64(c[ii*syrkNR+jj])
		}
	}
}
