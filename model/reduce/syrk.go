package reduce

import (
	"math"
	"runtime"
)

// A symmetric rank-k update in float64 for Moments, exact on integer data:
//
//	acc[packed(i,j)] += Σ_r x[r][i]·x[r][j]   for j ≥ i
//
// x holds integers whose column sums of squares stay below 2^53 (Flush's
// chunks), so every tile sum is an exact integer and is added to the int64
// accumulator as such. Columns of x are packed into panels of 6 (the
// micro-tile's rows) and nr (its columns: 8, or 16 with AVX-512), row-major
// inside a panel; the micro-kernel computes a 6×nr tile over all rows of the
// chunk (assembly with AVX-512 or AVX2+FMA in syrk_amd64.s, kernel64Go
// elsewhere). Panels of 6 are processed in blocks of syrkBlockPanels, which
// with the chunk's rows stay in L2 while one panel of nr stays in L1.

const (
	syrkMR          = 6
	syrkMaxNR       = 16
	syrkBlockPanels = 8
)

// syrkKernels is a set of micro-kernels for tiles of 6×nr.
type syrkKernels struct {
	name string
	nr   int
	// bound is the largest magnitude acc's tile entries may reach (see
	// Flush's chunks): float64's exact-integer limit, 2^53, unless the
	// conversion to int64 needs less.
	bound float64
	// tile sets c[i*nr+j] = Σ_{r<k} a[r*6+i]·b[r*nr+j] for i<6, j<nr.
	tile func(k int, a, b, c []float64)
	// acc computes, for each chunk of rows cuts[c−1]..cuts[c] (from 0), the
	// same tile t over the chunk's rows, whose entries must be integers of
	// magnitude ≤ bound, and adds int64(t[i*nr+j]) to dst[offs[i]+j].
	acc func(cuts []int, a, b []float64, dst []int64, offs [syrkMR]int)
}

// syrkGo is the portable set; syrkK is the one in use, chosen once, in init,
// from the CPU's features (tests swap it).
var (
	syrkGo = syrkKernels{"go", 8, 1 << 53, kernel64Go8, kernel64AccGo8}
	syrkK  = syrkGo
)

func kernel64Go8(k int, a, b, c []float64) { kernel64Go(8, k, a, b, c) }

func kernel64AccGo8(cuts []int, a, b []float64, dst []int64, offs [syrkMR]int) {
	kernel64AccGo(8, cuts, a, b, dst, offs)
}

func kernel64AccGo(nr int, cuts []int, a, b []float64, dst []int64, offs [syrkMR]int) {
	var c [syrkMR * syrkMaxNR]float64
	r0 := 0
	for _, r1 := range cuts {
		if r1 > r0 {
			kernel64Go(nr, r1-r0, a[r0*syrkMR:], b[r0*nr:], c[:])
			for i, o := range offs {
				row := dst[o : o+nr]
				for j := range row {
					row[j] += int64(c[i*nr+j])
				}
			}
		}
		r0 = r1
	}
}

func kernel64Go(nr, k int, a, b, c []float64) {
	a = a[:k*syrkMR]
	b = b[:k*nr]
	c = c[:syrkMR*nr]
	var acc [syrkMR * syrkMaxNR]float64
	for r := 0; r < k; r++ {
		ar := a[r*syrkMR : r*syrkMR+syrkMR : r*syrkMR+syrkMR]
		br := b[r*nr : r*nr+nr : r*nr+nr]
		for i, av := range ar {
			t := acc[i*nr : i*nr+nr : i*nr+nr]
			for j, bv := range br {
				// Fused, as the assembly kernels: the same bits.
				t[j] = math.FMA(av, bv, t[j])
			}
		}
	}
	copy(c, acc[:syrkMR*nr])
}

// syrkScratch holds packed panels, reused between chunks.
type syrkScratch struct{ pa, pb []float64 }

// packPanels packs the columns of the n×d row-major x into ⌈d/w⌉ panels of w
// columns, panel p holding x[r][p*w+i] at p*w*n + r*w + i; columns past d are
// zero.
func packPanels(dst, x []float64, n, d, w int) []float64 {
	dst = grow(dst, (d+w-1)/w*w*n)
	// Rows in blocks of 16, so that the writes of one block go to one
	// stretch of each panel (row by row, each write would land on another
	// page: TLB misses dominated).
	const rb = 16
	for r0 := 0; r0 < n; r0 += rb {
		r1 := min(n, r0+rb)
		packPanelsInto(dst, x[r0*d:r1*d], n, r0, r1-r0, d, w)
	}
	return dst
}

// packPanelsInto writes the rb×d row-major block x as rows r0..r0+rb of
// the n-row panels dst (packPanels' layout).
func packPanelsInto(dst, x []float64, n, r0, rb, d, w int) {
	np := (d + w - 1) / w
	full := d / w // panels without padding
	for p := range full {
		out := dst[p*w*n+r0*w : p*w*n+(r0+rb)*w]
		for r := range rb {
			o := out[r*w : r*w+w : r*w+w]
			src := x[r*d+p*w : r*d+p*w+w : r*d+p*w+w]
			for i := range o { // short: a loop beats memmove's call
				o[i] = src[i]
			}
		}
	}
	if full < np {
		for r := range rb {
			o := dst[full*w*n+(r0+r)*w : full*w*n+(r0+r)*w+w]
			copy(o, x[r*d+full*w:(r+1)*d])
			clear(o[d-full*w:])
		}
	}
}

// grow returns dst resliced to n, reallocated if too short.
func grow(dst []float64, n int) []float64 {
	if cap(dst) < n {
		dst = make([]float64, n)
	}
	return dst[:n]
}

// syrkExact adds the packed upper triangle of xᵀx to acc for the n rows x
// packed in s (s.pa in panels of syrkMR, s.pb in panels of syrkK.nr),
// n = cuts[len(cuts)−1]. Rows cuts[c−1]..cuts[c] (from 0) form a chunk that
// satisfies the exactness bound above; a tile is computed chunk by chunk,
// each added to acc while the tile is in L1.
func syrkExact(acc []int64, cuts []int, d int, s *syrkScratch) {
	n := cuts[len(cuts)-1]
	if n == 0 {
		return
	}
	npA := (d + syrkMR - 1) / syrkMR
	blocks := (npA + syrkBlockPanels - 1) / syrkBlockPanels
	workers := min(runtime.GOMAXPROCS(0), 4, blocks)
	if workers < 2 || d < 128 {
		for blk := range blocks {
			syrkBlock(acc, s.pa, s.pb, cuts, d, blk)
		}
		return
	}
	// Blocks run first to last (the first are the largest).
	forBlocks(blocks, workers, func(blk int) { syrkBlock(acc, s.pa, s.pb, cuts, d, blk) })
}

// syrkBlock adds the rows of block blk (panels of 6) of the upper triangle.
func syrkBlock(acc []int64, pa, pb []float64, cuts []int, d, blk int) {
	k := syrkK
	nr := k.nr
	n := cuts[len(cuts)-1]
	npA := (d + syrkMR - 1) / syrkMR
	npB := (d + nr - 1) / nr
	p0 := blk * syrkBlockPanels
	p1 := min(npA, p0+syrkBlockPanels)
	var c [syrkMR * syrkMaxNR]float64
	for q := (p0 * syrkMR) / nr; q < npB; q++ {
		j0 := q * nr
		bq := pb[q*nr*n : (q+1)*nr*n]
		for p := p0; p < p1; p++ {
			i0 := p * syrkMR
			if j0+nr <= i0 {
				continue
			}
			ap := pa[p*syrkMR*n : (p+1)*syrkMR*n]
			if j0 >= i0+syrkMR-1 && j0+nr <= d && i0+syrkMR <= d {
				// Interior tile: every (i, j) is in the upper triangle.
				var offs [syrkMR]int
				for ii := range offs {
					i := i0 + ii
					offs[ii] = i*d - i*(i-1)/2 - i + j0
				}
				k.acc(cuts, ap, bq, acc, offs)
				continue
			}
			r0 := 0
			for _, r1 := range cuts {
				if r1 > r0 {
					k.tile(r1-r0, ap[r0*syrkMR:], bq[r0*nr:], c[:])
					syrkAddTile(acc, c[:syrkMR*nr], nr, i0, j0, d)
				}
				r0 = r1
			}
		}
	}
}

// syrkAddTile adds the upper-triangle entries of the 6×nr tile c at (i0, j0)
// to acc.
func syrkAddTile(acc []int64, c []float64, nr, i0, j0, d int) {
	for ii := range syrkMR {
		i := i0 + ii
		if i >= d {
			break
		}
		base := i*d - i*(i-1)/2 - i // packed index of (i, j) is base + j
		for jj := max(0, i-j0); jj < nr && j0+jj < d; jj++ {
			acc[base+j0+jj] += int64(c[ii*nr+jj])
		}
	}
}
