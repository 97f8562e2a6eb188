// Softmax-weighted sums of attend (net.go): AVX-512 (8 float64 lanes, 2^k by
// VSCALEFPD) and AVX2+FMA (4 lanes, 2^k from the exponent bits), with the
// same range reduction and degree-9 Estrin polynomial as expNonPos. Written
// by hand.

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

// func attendAVX2(val, logit *float32, n int, scale, zmax float64, c, out *[16]float64)
// As attendAVX512 on 4 float64 lanes (n a multiple of 4); 2^k from the
// exponent bits: k + 1023 + 1.5·2^52 holds k + 1023 in its low bits, shifted
// into the exponent field. c[12] = 1023 + 1.5·2^52.
// out[0:4], out[8:12]: lane sums (the other lanes are zero).
TEXT ·attendAVX2(SB), NOSPLIT, $0-56
	MOVQ val+0(FP), SI
	MOVQ logit+8(FP), DI
	MOVQ n+16(FP), CX
	MOVQ c+40(FP), AX
	MOVQ out+48(FP), DX
	VXORPD Y14, Y14, Y14
	VXORPD Y15, Y15, Y15
	SHRQ $2, CX
	JEQ attend2_done

attend2_loop:
	VCVTPS2PD (DI), Y0
	VBROADCASTSD zmax+32(FP), Y1
	VBROADCASTSD scale+24(FP), Y2
	VFMSUB231PD Y2, Y0, Y1     // x = logit·scale − zmax
	VBROADCASTSD 16(AX), Y2
	VMAXPD Y2, Y1, Y1          // x ≥ −700
	VBROADCASTSD 0(AX), Y2
	VMULPD Y2, Y1, Y2
	VROUNDPD $0, Y2, Y2        // k = round(x·log2 e)
	VBROADCASTSD 8(AX), Y3
	VFNMADD231PD Y3, Y2, Y1    // r = x − k·ln 2 (in Y1)
	VMULPD Y1, Y1, Y4          // r²
	VMULPD Y4, Y4, Y5          // r⁴
	VBROADCASTSD 24(AX), Y6
	VADDPD Y6, Y1, Y6          // 1 + r
	VBROADCASTSD 32(AX), Y7
	VBROADCASTSD 40(AX), Y3
	VFMADD231PD Y3, Y1, Y7     // 1/2 + r/6
	VBROADCASTSD 48(AX), Y8
	VBROADCASTSD 56(AX), Y3
	VFMADD231PD Y3, Y1, Y8     // 1/24 + r/120
	VBROADCASTSD 64(AX), Y9
	VBROADCASTSD 72(AX), Y3
	VFMADD231PD Y3, Y1, Y9     // 1/720 + r/5040
	VBROADCASTSD 80(AX), Y10
	VBROADCASTSD 88(AX), Y3
	VFMADD231PD Y3, Y1, Y10    // 1/40320 + r/362880
	VFMADD231PD Y7, Y4, Y6
	VFMADD231PD Y9, Y4, Y8
	VFMADD231PD Y10, Y5, Y8
	VFMADD231PD Y8, Y5, Y6     // e^r
	VBROADCASTSD 96(AX), Y3
	VADDPD Y3, Y2, Y2          // low bits: k + 1023
	VPSLLQ $52, Y2, Y2         // 2^k
	VMULPD Y2, Y6, Y6
	VADDPD Y6, Y15, Y15
	VCVTPS2PD (SI), Y11
	VFMADD231PD Y11, Y6, Y14
	ADDQ $16, SI
	ADDQ $16, DI
	DECQ CX
	JNE attend2_loop

attend2_done:
	VMOVUPD Y14, 0(DX)
	VMOVUPD Y15, 64(DX)
	VZEROUPPER
	RET
