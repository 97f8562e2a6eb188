//go:build !amd64

package search

func dotRowAsm(dst, q, x []float32, nx, d int) bool { return false }
