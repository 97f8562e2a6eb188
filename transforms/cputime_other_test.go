//go:build !unix

package transforms

func cpuSeconds() float64 { return -1 }
