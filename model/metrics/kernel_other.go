//go:build !amd64

package metrics

func dotTileAsm(dst []float32, ld int, q []float32, nq int, x []float32, nx, d int) bool {
	return false
}

func dotRowAsm(dst, q, x []float32, nx, d int) bool { return false }

// useAVX512 mirrors the amd64 switch (tests toggle it); unused here.
var useAVX512 = false
