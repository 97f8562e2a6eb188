package metrics

import "golang.org/x/sys/cpu"

//go:noescape
func countRowZ(s, bias *float32, n int, thr *float32, m int, gt, eq *uint32)

//go:noescape
func countColZ(s *float32, ld, nr int, bias *float32, thr *float32, kmax int, gt, eq *uint32)

//go:noescape
func countRowY(s, bias *float32, n int, thr *float32, m int, gt, eq *uint32)

//go:noescape
func countColY(s *float32, ld, nr int, bias *float32, thr *float32, kmax int, gt, eq *uint32)

// countPath selects the count kernels: AVX-512 when the CPU has it, else
// AVX2, else Go. Tests force each path.
var countPath = func() int {
	switch {
	case cpu.X86.HasAVX512F:
		return pathAVX512
	case cpu.X86.HasAVX2:
		return pathAVX2
	}
	return pathGo
}()

// countPaths lists the paths this CPU can run.
func countPaths() []int {
	p := []int{pathGo}
	if cpu.X86.HasAVX2 {
		p = append(p, pathAVX2)
	}
	if cpu.X86.HasAVX512F {
		p = append(p, pathAVX512)
	}
	return p
}

func countRowAsm(s, bias, thr []float32, m int, gt, eq []uint32) bool {
	switch countPath {
	case pathAVX512:
		countRowZ(&s[0], &bias[0], len(s), &thr[0], m, &gt[0], &eq[0])
	case pathAVX2:
		countRowY(&s[0], &bias[0], len(s), &thr[0], m, &gt[0], &eq[0])
	default:
		return false
	}
	return true
}

func countColAsm(s []float32, ld, nr int, bias, thr []float32, kmax int, gt, eq []uint32) bool {
	switch countPath {
	case pathAVX512:
		countColZ(&s[0], ld, nr, &bias[0], &thr[0], kmax, &gt[0], &eq[0])
	case pathAVX2:
		countColY(&s[0], ld, nr, &bias[0], &thr[0], kmax, &gt[0], &eq[0])
	default:
		return false
	}
	return true
}
