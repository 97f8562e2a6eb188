package reduce

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// gemmKC is the number of shared rows gemm feeds the micro-kernel at once.
const gemmKC = 256

// gemmShape says which tiles of a product gemm may skip.
type gemmShape int

const (
	gemmGeneral gemmShape = iota
	// gemmSym: the product is symmetric (aᵀa): only tiles touching the
	// upper triangle are computed, then mirrored.
	gemmSym
	// gemmUpperB: b is upper triangular (b[r][j] = 0 for j < r), so tiles
	// whose columns all lie left of a chunk's rows are zero.
	gemmUpperB
)

// gemmOperand is the left operand of gemm: an m×k matrix whose columns
// r0..r0+kb (the shared index) pack returns as panels of syrkMR rows
// (packPanels' layout), reusing dst.
type gemmOperand struct {
	m, k int
	pack func(dst []float64, r0, kb int) []float64
	// fixed: pack returns panels it owns (prepacked), not dst.
	fixed bool
}

// transposed is the operand aᵀ for the k×m row-major a.
func transposed(a []float64, k, m int) gemmOperand {
	return gemmOperand{m, k, func(dst []float64, r0, kb int) []float64 {
		return packPanels(dst, a[r0*m:(r0+kb)*m], kb, m, syrkMR)
	}, false}
}

// plain is the operand a for the m×k row-major a.
func plain(a []float64, m, k int) gemmOperand {
	return gemmOperand{m, k, func(dst []float64, r0, kb int) []float64 {
		return packRowPanels(dst, a, m, k, r0, kb)
	}, false}
}

// prepacked is an operand packed once (packAll) and used for many products.
func prepacked(p []float64, m, k int) gemmOperand {
	np := (m + syrkMR - 1) / syrkMR
	return gemmOperand{m, k, func(_ []float64, r0, kb int) []float64 {
		return p[r0*np*syrkMR : (r0+kb)*np*syrkMR]
	}, true}
}

// packAll packs every chunk of gemmKC shared rows of o, one after another,
// for prepacked.
func packAll(dst []float64, o gemmOperand) []float64 {
	np := (o.m + syrkMR - 1) / syrkMR
	if cap(dst) < np*syrkMR*o.k {
		dst = make([]float64, np*syrkMR*o.k)
	}
	dst = dst[:np*syrkMR*o.k]
	chunks := (o.k + gemmKC - 1) / gemmKC
	runBlocks(chunks, min(runtime.GOMAXPROCS(0), 4, chunks), func(c int) {
		r0 := c * gemmKC
		kb := min(gemmKC, o.k-r0)
		o.pack(dst[r0*np*syrkMR:(r0+kb)*np*syrkMR], r0, kb)
	})
	return dst
}

// packRowPanels packs columns r0..r0+kb of the m×k row-major a as panels of
// syrkMR rows: panel p holds a[p*syrkMR+i][r0+r] at p*syrkMR*kb + r*syrkMR + i;
// rows past m are zero.
func packRowPanels(dst, a []float64, m, k, r0, kb int) []float64 {
	np := (m + syrkMR - 1) / syrkMR
	size := np * syrkMR * kb
	if cap(dst) < size {
		dst = make([]float64, size)
	}
	dst = dst[:size]
	for p := range np {
		out := dst[p*syrkMR*kb : (p+1)*syrkMR*kb]
		for i := range syrkMR {
			row := p*syrkMR + i
			if row >= m {
				for r := range kb {
					out[r*syrkMR+i] = 0
				}
				continue
			}
			src := a[row*k+r0 : row*k+r0+kb]
			for r, v := range src {
				out[r*syrkMR+i] = v
			}
		}
	}
	return dst
}

// gemmTN sets dst = aᵀ·b for the k×m row-major a and the k×n row-major b:
// dst[i*n+j] = Σ_r a[r*m+i]·b[r*n+j].
func gemmTN(dst, a, b []float64, k, m, n int, sc *syrkScratch) {
	gemm(dst, transposed(a, k, m), b, n, gemmGeneral, sc)
}

// gemm sets dst = A·b for the m×k operand A and the k×n row-major b. It
// packs A (unless prepacked) and b into the micro-kernel's panels (syrk.go)
// in chunks of gemmKC shared rows, all chunks first, then splits panels of A
// between goroutines, each running through every chunk; each dst entry is
// summed chunk by chunk in the same order whatever the split. sc holds the
// packed panels between calls.
func gemm(dst []float64, a gemmOperand, b []float64, n int, shape gemmShape, sc *syrkScratch) {
	m, k := a.m, a.k
	dst = dst[:m*n]
	clear(dst)
	kern := syrkK
	nr := kern.nr
	npA := (m + syrkMR - 1) / syrkMR
	npB := (n + nr - 1) / nr
	blocks := (npA + syrkBlockPanels - 1) / syrkBlockPanels
	chunks := (k + gemmKC - 1) / gemmKC
	workers := min(runtime.GOMAXPROCS(0), 4, max(blocks, chunks))
	if m*n*min(k, gemmKC) < 1<<20 {
		workers = 1
	}
	// Chunk c's panels: A's at [r0*npA*syrkMR, (r0+kb)*npA*syrkMR), b's at
	// [r0*npB*nr, (r0+kb)*npB*nr) (packAll's layout).
	if !a.fixed {
		sc.pa = grow(sc.pa, npA*syrkMR*k)
	}
	sc.pb = grow(sc.pb, npB*nr*k)
	packChunk := func(c int) {
		r0 := c * gemmKC
		kb := min(gemmKC, k-r0)
		if !a.fixed {
			a.pack(sc.pa[r0*npA*syrkMR:(r0+kb)*npA*syrkMR], r0, kb)
		}
		packPanels(sc.pb[r0*npB*nr:(r0+kb)*npB*nr], b[r0*n:(r0+kb)*n], kb, n, nr)
	}
	runBlocks(chunks, min(workers, chunks), packChunk)
	work := func(blk int) {
		var c [syrkMR * syrkMaxNR]float64
		p0 := blk * syrkBlockPanels
		p1 := min(npA, p0+syrkBlockPanels)
		for r0 := 0; r0 < k; r0 += gemmKC {
			kb := min(gemmKC, k-r0)
			var pa []float64
			if a.fixed {
				pa = a.pack(nil, r0, kb)
			} else {
				pa = sc.pa[r0*npA*syrkMR : (r0+kb)*npA*syrkMR]
			}
			pb := sc.pb[r0*npB*nr : (r0+kb)*npB*nr]
			qs := 0
			switch shape {
			case gemmUpperB:
				qs = r0 / nr // columns left of r0 are zero in these rows
			case gemmSym:
				qs = p0 * syrkMR / nr
			}
			for q := qs; q < npB; q++ {
				j0 := q * nr
				bq := pb[q*nr*kb : (q+1)*nr*kb]
				for p := p0; p < p1; p++ {
					i0 := p * syrkMR
					if shape == gemmSym && j0+nr <= i0 {
						continue
					}
					kern.tile(kb, pa[p*syrkMR*kb:(p+1)*syrkMR*kb], bq, c[:])
					for ii := 0; ii < syrkMR && i0+ii < m; ii++ {
						row := dst[(i0+ii)*n+j0 : (i0+ii)*n+min(n, j0+nr)]
						for jj := range row {
							row[jj] += c[ii*nr+jj]
						}
					}
				}
			}
		}
	}
	runBlocks(blocks, min(workers, blocks), work)
	if shape == gemmSym {
		for i := range m {
			for j := range i {
				dst[i*n+j] = dst[j*n+i]
			}
		}
	}
}

// runBlocks runs work(0..blocks-1), on workers goroutines if more than one.
func runBlocks(blocks, workers int, work func(blk int)) {
	if workers < 2 {
		for blk := range blocks {
			work(blk)
		}
		return
	}
	forBlocks(blocks, workers, work)
}

// transpose returns the n×m transpose of the m×n row-major a, in dst.
func transpose(dst, a []float64, m, n int) []float64 {
	if cap(dst) < m*n {
		dst = make([]float64, m*n)
	}
	dst = dst[:m*n]
	const blk = 32
	for i0 := 0; i0 < m; i0 += blk {
		for j0 := 0; j0 < n; j0 += blk {
			for i := i0; i < min(m, i0+blk); i++ {
				for j := j0; j < min(n, j0+blk); j++ {
					dst[j*m+i] = a[i*n+j]
				}
			}
		}
	}
	return dst
}

// forBlocks runs work(0..blocks-1) on workers goroutines, each taking the
// next block as it finishes one (blocks run first to last, so put the
// largest first and the work balances).
func forBlocks(blocks, workers int, work func(blk int)) {
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
				work(blk)
			}
		}()
	}
	wg.Wait()
}
