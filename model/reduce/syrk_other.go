//go:build !amd64

package reduce

// syrkAvailable returns the kernel sets this CPU can run (for tests).
func syrkAvailable() []syrkKernels { return []syrkKernels{syrkGo} }
