package model

import (
	"math"

	"golang.org/x/sys/cpu"
)

//go:noescape
func attendAVX512(val, logit *float32, n int, scale, zmax float64, c, out *[16]float64)

//go:noescape
func attendAVX2(val, logit *float32, n int, scale, zmax float64, c, out *[16]float64)

// attendConsts: log2 e, ln 2, the clamp −700, the Taylor coefficients 1/n!
// of e^r for n = 0 and 2..9 (the r term is added as 1 + r), then
// 1023 + 1.5·2^52 (attendAVX2's exponent trick).
var attendConsts = [16]float64{math.Log2E, math.Ln2, -700, 1, 1.0 / 2, 1.0 / 6, 1.0 / 24, 1.0 / 120,
	1.0 / 720, 1.0 / 5040, 1.0 / 40320, 1.0 / 362880, 1023 + 1.5*(1<<52)}

type attendKernel func(val, logit *float32, n int, scale, zmax float64, c, out *[16]float64)

// attendSums wraps an assembly kernel as an attendVec: checks the lengths,
// adds up the lanes.
func attendSums(kernel attendKernel) func(val, logit []float32, scale, zmax float64) (num, den float64) {
	return func(val, logit []float32, scale, zmax float64) (num, den float64) {
		n := len(logit)
		if n%8 != 0 || len(val) != n {
			panic("model: attendSums length")
		}
		var out [16]float64
		kernel(&val[0], &logit[0], n, scale, zmax, &attendConsts, &out)
		for i := 0; i < 8; i++ {
			num += out[i]
			den += out[8+i]
		}
		return num, den
	}
}

var (
	attendSumsAVX512 = attendSums(attendAVX512)
	attendSumsAVX2   = attendSums(attendAVX2)
)

func init() {
	switch {
	case cpu.X86.HasAVX512F:
		attendVec = attendSumsAVX512
	case cpu.X86.HasAVX2 && cpu.X86.HasFMA:
		attendVec = attendSumsAVX2
	}
}
