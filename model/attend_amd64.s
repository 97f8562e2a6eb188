// Softmax-weighted sum of attend (net.go) for AVX-512: 8 float64 lanes, the
// same range reduction and degree-9 Estrin polynomial as expNonPos, 2^k by
// VSCALEFPD. Written by hand.

#include "textflag.h"

// func attendAVX512(val, logit *float32, n int, scale, zmax float64, c, out *[16]float64)
// out[0:8] = lane sums of e·val, out[8:16] = lane sums of e, e = exp(max(scale·logit − zmax, −700));
// n is a multiple of 8. c: log2 e, ln 2, −700, then the Taylor coefficients 1, 1/2!, …, 1/9!.
TEXT ·attendAVX512(SB), NOSPLIT, $0-56
	MOVQ val+0(FP), SI
	MOVQ logit+8(FP), DI
	MOVQ n+16(FP), CX
	VBROADCASTSD scale+24(FP), Z20
	VBROADCASTSD zmax+32(FP), Z21
	MOVQ c+40(FP), AX
	MOVQ out+48(FP), DX
	VBROADCASTSD 0(AX), Z22
	VBROADCASTSD 8(AX), Z23
	VBROADCASTSD 16(AX), Z24
	VBROADCASTSD 24(AX), Z25
	VBROADCASTSD 32(AX), Z26
	VBROADCASTSD 40(AX), Z27
	VBROADCASTSD 48(AX), Z28
	VBROADCASTSD 56(AX), Z29
	VBROADCASTSD 64(AX), Z30
	VBROADCASTSD 72(AX), Z31
	VBROADCASTSD 80(AX), Z18
	VBROADCASTSD 88(AX), Z19
	VPXORQ Z16, Z16, Z16
	VPXORQ Z17, Z17, Z17
	SHRQ $3, CX
	JEQ attend_done

attend_loop:
	VCVTPS2PD (DI), Z0
	VMOVAPD Z21, Z1
	VFMSUB231PD Z20, Z0, Z1   // x = logit·scale − zmax
	VMAXPD Z24, Z1, Z1        // x ≥ −700
	VMULPD Z22, Z1, Z2
	VRNDSCALEPD $0, Z2, Z2    // k = round(x·log2 e)
	VMOVAPD Z1, Z3
	VFNMADD231PD Z23, Z2, Z3  // r = x − k·ln 2
	VMULPD Z3, Z3, Z4         // r²
	VMULPD Z4, Z4, Z5         // r⁴
	VADDPD Z25, Z3, Z6        // 1 + r
	VMOVAPD Z26, Z7
	VFMADD231PD Z27, Z3, Z7   // 1/2 + r/6
	VMOVAPD Z28, Z8
	VFMADD231PD Z29, Z3, Z8   // 1/24 + r/120
	VMOVAPD Z30, Z9
	VFMADD231PD Z31, Z3, Z9   // 1/720 + r/5040
	VMOVAPD Z18, Z10
	VFMADD231PD Z19, Z3, Z10  // 1/40320 + r/362880
	VFMADD231PD Z7, Z4, Z6
	VFMADD231PD Z9, Z4, Z8
	VFMADD231PD Z10, Z5, Z8
	VFMADD231PD Z8, Z5, Z6    // e^r
	VSCALEFPD Z2, Z6, Z6      // e^r · 2^k
	VADDPD Z6, Z17, Z17
	VCVTPS2PD (SI), Z11
	VFMADD231PD Z11, Z6, Z16
	ADDQ $32, SI
	ADDQ $32, DI
	DECQ CX
	JNE attend_loop

attend_done:
	VMOVUPD Z16, 0(DX)
	VMOVUPD Z17, 64(DX)
	VZEROUPPER
	RET
