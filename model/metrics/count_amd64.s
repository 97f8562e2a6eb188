#include "textflag.h"

// The count kernels compare tile scores (plus a bias) with thresholds and
// count, per threshold, the scores strictly above it and those equal to it.
// Thresholds and counters are laid out in groups of 16 lanes: threshold k of
// lane l is at thr[16k+l], its counters at gt[16k+l] and eq[16k+l]. Counters
// are added to, never overwritten. Comparisons are ordered and quiet: the
// padding scores (−Inf) and thresholds (+Inf) never count.

// REDUCE16 adds the 16 uint32 lanes of Z into the uint32 at (ptr), using
// Y6/Y28 as scratch.
#define REDUCE16(Z, Y, X, ptr) \
	VEXTRACTI64X4 $1, Z, Y6 \
	VPADDD        Y6, Y, Y \
	VEXTRACTI128  $1, Y, X7 \
	VPADDD        X7, X, X \
	VPSHUFD       $0x4e, X, X7 \
	VPADDD        X7, X, X \
	VPSHUFD       $0xb1, X, X7 \
	VPADDD        X7, X, X \
	VMOVD         X, AX \
	ADDL          AX, ptr

// func countRowZ(s, bias *float32, n int, thr *float32, m int, gt, eq *uint32)
//
// For k < m: gt[16k] += #{j < n : s[j]+bias[j] > thr[16k]}, eq[16k] likewise
// for ==. n is a positive multiple of 16. Two thresholds share each load.
// AVX-512F.
TEXT ·countRowZ(SB), NOSPLIT, $0-56
	MOVQ s+0(FP), SI
	MOVQ bias+8(FP), R9
	MOVQ n+16(FP), CX
	SHLQ $2, CX
	MOVQ thr+24(FP), R8
	MOVQ m+32(FP), BX
	MOVQ gt+40(FP), R10
	MOVQ eq+48(FP), R11
	MOVL $1, AX
	VPBROADCASTD AX, Z31
	CMPQ BX, $2
	JLT  rowthr

rowpair:
	VBROADCASTSS (R8), Z30
	VBROADCASTSS 64(R8), Z29
	VPXORD       Z0, Z0, Z0
	VPXORD       Z1, Z1, Z1
	VPXORD       Z4, Z4, Z4
	VPXORD       Z5, Z5, Z5
	XORQ         AX, AX

rowpairloop:
	VMOVUPS (SI)(AX*1), Z2
	VADDPS  (R9)(AX*1), Z2, Z2
	VCMPPS  $0x1e, Z30, Z2, K1
	VCMPPS  $0x00, Z30, Z2, K2
	VCMPPS  $0x1e, Z29, Z2, K3
	VCMPPS  $0x00, Z29, Z2, K4
	VPADDD  Z31, Z0, K1, Z0
	VPADDD  Z31, Z1, K2, Z1
	VPADDD  Z31, Z4, K3, Z4
	VPADDD  Z31, Z5, K4, Z5
	ADDQ    $64, AX
	CMPQ    AX, CX
	JLT     rowpairloop

	REDUCE16(Z0, Y0, X0, (R10))
	REDUCE16(Z1, Y1, X1, (R11))
	REDUCE16(Z4, Y4, X4, 64(R10))
	REDUCE16(Z5, Y5, X5, 64(R11))
	ADDQ $128, R8
	ADDQ $128, R10
	ADDQ $128, R11
	SUBQ $2, BX
	CMPQ BX, $2
	JGE  rowpair
	TESTQ BX, BX
	JZ   rowend

rowthr:
	VBROADCASTSS (R8), Z30
	VPXORD       Z0, Z0, Z0
	VPXORD       Z1, Z1, Z1
	XORQ         AX, AX

rowone:
	VMOVUPS (SI)(AX*1), Z2
	VADDPS  (R9)(AX*1), Z2, Z2
	VCMPPS  $0x1e, Z30, Z2, K1
	VCMPPS  $0x00, Z30, Z2, K2
	VPADDD  Z31, Z0, K1, Z0
	VPADDD  Z31, Z1, K2, Z1
	ADDQ    $64, AX
	CMPQ    AX, CX
	JLT     rowone

	REDUCE16(Z0, Y0, X0, (R10))
	REDUCE16(Z1, Y1, X1, (R11))

rowend:
	VZEROUPPER
	RET

// func countColZ(s *float32, ld, nr int, bias *float32, thr *float32, kmax int, gt, eq *uint32)
//
// A strip of 16 columns: for k < kmax and lane l < 16, gt[16k+l] += #{i < nr :
// s[i·ld+l]+bias[i] > thr[16k+l]}, eq likewise for ==. nr > 0. Two
// thresholds share each load. AVX-512F.
TEXT ·countColZ(SB), NOSPLIT, $0-64
	MOVQ s+0(FP), SI
	MOVQ ld+8(FP), DX
	SHLQ $2, DX
	MOVQ nr+16(FP), CX
	MOVQ bias+24(FP), R9
	MOVQ thr+32(FP), R8
	MOVQ kmax+40(FP), BX
	MOVQ gt+48(FP), R10
	MOVQ eq+56(FP), R11
	MOVL $1, AX
	VPBROADCASTD AX, Z31
	CMPQ BX, $2
	JLT  colthr

colpair:
	VMOVUPS (R8), Z30
	VMOVUPS 64(R8), Z29
	VPXORD  Z0, Z0, Z0
	VPXORD  Z1, Z1, Z1
	VPXORD  Z4, Z4, Z4
	VPXORD  Z5, Z5, Z5
	MOVQ    SI, DI
	MOVQ    R9, R12
	MOVQ    CX, R13

colpairrow:
	VMOVUPS     (DI), Z2
	VADDPS.BCST (R12), Z2, Z2
	VCMPPS      $0x1e, Z30, Z2, K1
	VCMPPS      $0x00, Z30, Z2, K2
	VCMPPS      $0x1e, Z29, Z2, K3
	VCMPPS      $0x00, Z29, Z2, K4
	VPADDD      Z31, Z0, K1, Z0
	VPADDD      Z31, Z1, K2, Z1
	VPADDD      Z31, Z4, K3, Z4
	VPADDD      Z31, Z5, K4, Z5
	ADDQ        DX, DI
	ADDQ        $4, R12
	DECQ        R13
	JNZ         colpairrow

	VPADDD    (R10), Z0, Z0
	VMOVDQU32 Z0, (R10)
	VPADDD    (R11), Z1, Z1
	VMOVDQU32 Z1, (R11)
	VPADDD    64(R10), Z4, Z4
	VMOVDQU32 Z4, 64(R10)
	VPADDD    64(R11), Z5, Z5
	VMOVDQU32 Z5, 64(R11)
	ADDQ      $128, R8
	ADDQ      $128, R10
	ADDQ      $128, R11
	SUBQ      $2, BX
	CMPQ      BX, $2
	JGE       colpair
	TESTQ     BX, BX
	JZ        colend

colthr:
	VMOVUPS (R8), Z30
	VPXORD  Z0, Z0, Z0
	VPXORD  Z1, Z1, Z1
	MOVQ    SI, DI
	MOVQ    R9, R12
	MOVQ    CX, R13

colrow:
	VMOVUPS     (DI), Z2
	VADDPS.BCST (R12), Z2, Z2
	VCMPPS      $0x1e, Z30, Z2, K1
	VCMPPS      $0x00, Z30, Z2, K2
	VPADDD      Z31, Z0, K1, Z0
	VPADDD      Z31, Z1, K2, Z1
	ADDQ        DX, DI
	ADDQ        $4, R12
	DECQ        R13
	JNZ         colrow

	VPADDD    (R10), Z0, Z0
	VMOVDQU32 Z0, (R10)
	VPADDD    (R11), Z1, Z1
	VMOVDQU32 Z1, (R11)

colend:
	VZEROUPPER
	RET

// REDUCE8 adds the 8 uint32 lanes of Y into the uint32 at (ptr), using X13
// as scratch.
#define REDUCE8(Y, X, ptr) \
	VEXTRACTI128 $1, Y, X13 \
	VPADDD       X13, X, X \
	VPSHUFD      $0x4e, X, X13 \
	VPADDD       X13, X, X \
	VPSHUFD      $0xb1, X, X13 \
	VPADDD       X13, X, X \
	VMOVD        X, AX \
	ADDL         AX, ptr

// func countRowY(s, bias *float32, n int, thr *float32, m int, gt, eq *uint32)
//
// countRowZ with AVX2: n a positive multiple of 8.
TEXT ·countRowY(SB), NOSPLIT, $0-56
	MOVQ s+0(FP), SI
	MOVQ bias+8(FP), R9
	MOVQ n+16(FP), CX
	SHLQ $2, CX
	MOVQ thr+24(FP), R8
	MOVQ m+32(FP), BX
	MOVQ gt+40(FP), R10
	MOVQ eq+48(FP), R11

rowthry:
	VBROADCASTSS (R8), Y15
	VPXOR        Y0, Y0, Y0
	VPXOR        Y1, Y1, Y1
	XORQ         AX, AX

rowy:
	VMOVUPS (SI)(AX*1), Y2
	VADDPS  (R9)(AX*1), Y2, Y2
	VCMPPS  $0x1e, Y15, Y2, Y3
	VCMPPS  $0x00, Y15, Y2, Y4
	VPSUBD  Y3, Y0, Y0
	VPSUBD  Y4, Y1, Y1
	ADDQ    $32, AX
	CMPQ    AX, CX
	JLT     rowy

	REDUCE8(Y0, X0, (R10))
	REDUCE8(Y1, X1, (R11))
	ADDQ $64, R8
	ADDQ $64, R10
	ADDQ $64, R11
	DECQ BX
	JNZ  rowthry
	VZEROUPPER
	RET

// func countColY(s *float32, ld, nr int, bias *float32, thr *float32, kmax int, gt, eq *uint32)
//
// countColZ with AVX2 (the 16 lanes as two halves).
TEXT ·countColY(SB), NOSPLIT, $0-64
	MOVQ s+0(FP), SI
	MOVQ ld+8(FP), DX
	SHLQ $2, DX
	MOVQ nr+16(FP), CX
	MOVQ bias+24(FP), R9
	MOVQ thr+32(FP), R8
	MOVQ kmax+40(FP), BX
	MOVQ gt+48(FP), R10
	MOVQ eq+56(FP), R11

colthry:
	VMOVUPS (R8), Y14
	VMOVUPS 32(R8), Y15
	VPXOR   Y0, Y0, Y0
	VPXOR   Y1, Y1, Y1
	VPXOR   Y2, Y2, Y2
	VPXOR   Y3, Y3, Y3
	MOVQ    SI, DI
	MOVQ    R9, R12
	MOVQ    CX, R13

coly:
	VBROADCASTSS (R12), Y8
	VADDPS       (DI), Y8, Y4
	VADDPS       32(DI), Y8, Y5
	VCMPPS       $0x1e, Y14, Y4, Y6
	VCMPPS       $0x00, Y14, Y4, Y7
	VPSUBD       Y6, Y0, Y0
	VPSUBD       Y7, Y1, Y1
	VCMPPS       $0x1e, Y15, Y5, Y6
	VCMPPS       $0x00, Y15, Y5, Y7
	VPSUBD       Y6, Y2, Y2
	VPSUBD       Y7, Y3, Y3
	ADDQ         DX, DI
	ADDQ         $4, R12
	DECQ         R13
	JNZ          coly

	VPADDD  (R10), Y0, Y0
	VMOVDQU Y0, (R10)
	VPADDD  32(R10), Y2, Y2
	VMOVDQU Y2, 32(R10)
	VPADDD  (R11), Y1, Y1
	VMOVDQU Y1, (R11)
	VPADDD  32(R11), Y3, Y3
	VMOVDQU Y3, 32(R11)
	ADDQ    $64, R8
	ADDQ    $64, R10
	ADDQ    $64, R11
	DECQ    BX
	JNZ     colthry
	VZEROUPPER
	RET
