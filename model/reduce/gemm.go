package reduce

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// gemmKC is the number of shared rows gemmTN feeds the micro-kernel at once.
const gemmKC = 256

// gemmTN sets dst = aᵀ·b for the k×m row-major a and the k×n row-major b:
// dst[i*n+j] = Σ_r a[r*m+i]·b[r*n+j]. It packs a and b into the micro-kernel's
// panels (syrk.go) in blocks of gemmKC rows and splits panels of a between
// goroutines. sc holds the packed panels between calls.
func gemmTN(dst, a, b []float64, k, m, n int, sc *syrkScratch) {
	dst = dst[:m*n]
	clear(dst)
	kern := syrkK
	nr := kern.nr
	npA := (m + syrkMR - 1) / syrkMR
	npB := (n + nr - 1) / nr
	for r0 := 0; r0 < k; r0 += gemmKC {
		kb := min(gemmKC, k-r0)
		sc.pa = packPanels(sc.pa, a[r0*m:(r0+kb)*m], kb, m, syrkMR)
		sc.pb = packPanels(sc.pb, b[r0*n:(r0+kb)*n], kb, n, nr)
		pa, pb := sc.pa, sc.pb
		blocks := (npA + syrkBlockPanels - 1) / syrkBlockPanels
		work := func(blk int) {
			var c [syrkMR * syrkMaxNR]float64
			p1 := min(npA, (blk+1)*syrkBlockPanels)
			for q := range npB {
				j0 := q * nr
				bq := pb[q*nr*kb : (q+1)*nr*kb]
				for p := blk * syrkBlockPanels; p < p1; p++ {
					i0 := p * syrkMR
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
		workers := min(runtime.GOMAXPROCS(0), 4, blocks)
		if workers < 2 || m*n*kb < 1<<20 {
			for blk := range blocks {
				work(blk)
			}
			continue
		}
		forBlocks(blocks, workers, work)
	}
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
