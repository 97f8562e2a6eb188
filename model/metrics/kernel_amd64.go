package metrics

func dotTileAsm(dst, q []float32, nq int, x []float32, nx, d int) bool { return false }
