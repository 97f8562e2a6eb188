//go:build unix

package transforms

import "syscall"

// cpuSeconds returns the process's user+system CPU time, for benchmarks on
// a shared machine (wall time there measures the neighbours too).
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return -1
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}
