#!/usr/bin/python3
"""Writes fft_amd64.s (run from model/: python3 fft_amd64_gen.py > fft_amd64.s).

The vector kernels of conv1FFT (fft.go) for AVX2+FMA (two 8-lane halves of a
16-channel row) and AVX-512 (one 16-lane register per row). A row is 128
bytes: 16 real parts, then 16 imaginary parts; a transform is fftLen = 512
rows (65536 bytes).
"""

ROW = 128
SLAB = 512 * ROW


def variants():
    # name, register prefix, half offsets within a 64-byte re (or im) group
    return [("AVX2", "Y", (0, 32)), ("AVX512", "Z", (0,))]


def cmul(name, R, halves):
    o = []
    o.append("// func fftCmul%s(dst, w, x *float32, add bool)" % name)
    o.append("TEXT ·fftCmul%s(SB), NOSPLIT, $0-25" % name)
    o.append("\tMOVQ dst+0(FP), DI\n\tMOVQ w+8(FP), SI\n\tMOVQ x+16(FP), DX")
    o.append("\tMOVBLZX add+24(FP), AX\n\tMOVQ $512, CX")
    o.append("\tTESTQ AX, AX\n\tJNE cmul%s_add" % name)
    for mode in ("set", "add"):
        o.append("cmul%s_%s:" % (name, mode))
        o.append("\tVBROADCASTSS 0(DX), %s14\n\tVBROADCASTSS 4(DX), %s15" % (R, R))
        for h in halves:
            o.append("\tVMOVUPS %d(SI), %s0" % (h, R))
            o.append("\tVMOVUPS %d(SI), %s1" % (64 + h, R))
            o.append("\tVMULPS %s15, %s1, %s2" % (R, R, R))
            o.append("\tVFMSUB231PS %s14, %s0, %s2" % (R, R, R))
            o.append("\tVMULPS %s15, %s0, %s3" % (R, R, R))
            o.append("\tVFMADD231PS %s14, %s1, %s3" % (R, R, R))
            if mode == "add":
                o.append("\tVADDPS %d(DI), %s2, %s2" % (h, R, R))
                o.append("\tVADDPS %d(DI), %s3, %s3" % (64 + h, R, R))
            o.append("\tVMOVUPS %s2, %d(DI)" % (R, h))
            o.append("\tVMOVUPS %s3, %d(DI)" % (R, 64 + h))
        o.append("\tADDQ $%d, SI\n\tADDQ $%d, DI\n\tADDQ $8, DX\n\tDECQ CX" % (ROW, ROW))
        o.append("\tJNE cmul%s_%s" % (name, mode))
        o.append("\tVZEROUPPER\n\tRET")
    return o


def pass_(name, R, halves):
    o = []
    o.append("// func fftPass%s(d, tw *float32, h int)" % name)
    o.append("TEXT ·fftPass%s(SB), NOSPLIT, $0-24" % name)
    o.append("\tMOVQ d+0(FP), DI\n\tMOVQ tw+8(FP), SI\n\tMOVQ h+16(FP), DX")
    o.append("\tMOVQ DX, R8\n\tSHLQ $7, R8\n\tLEAQ %d(DI), R9" % SLAB)
    o.append("pass%s_group:" % name)
    o.append("\tMOVQ DI, AX\n\tLEAQ (DI)(R8*1), BX\n\tMOVQ SI, R10\n\tMOVQ DX, CX")
    o.append("pass%s_k:" % name)
    o.append("\tVBROADCASTSS 0(R10), %s14\n\tVBROADCASTSS 4(R10), %s15" % (R, R))
    for i, h in enumerate(halves):
        r = [R + str(k + 8 * 0) for k in range(14)]
        o.append("\tVMOVUPS %d(AX), %s0\n\tVMOVUPS %d(AX), %s1" % (h, R, 64 + h, R))
        o.append("\tVMOVUPS %d(BX), %s2\n\tVMOVUPS %d(BX), %s3" % (h, R, 64 + h, R))
        o.append("\tVADDPS %s2, %s0, %s4\n\tVADDPS %s3, %s1, %s5" % (R, R, R, R, R, R))
        o.append("\tVSUBPS %s2, %s0, %s6\n\tVSUBPS %s3, %s1, %s7" % (R, R, R, R, R, R))
        o.append("\tVMOVUPS %s4, %d(AX)\n\tVMOVUPS %s5, %d(AX)" % (R, h, R, 64 + h))
        o.append("\tVMULPS %s15, %s7, %s8\n\tVFMSUB231PS %s14, %s6, %s8" % (R, R, R, R, R, R))
        o.append("\tVMULPS %s14, %s7, %s9\n\tVFMADD231PS %s15, %s6, %s9" % (R, R, R, R, R, R))
        o.append("\tVMOVUPS %s8, %d(BX)\n\tVMOVUPS %s9, %d(BX)" % (R, h, R, 64 + h))
    o.append("\tADDQ $%d, AX\n\tADDQ $%d, BX\n\tADDQ $8, R10\n\tDECQ CX" % (ROW, ROW))
    o.append("\tJNE pass%s_k" % name)
    o.append("\tLEAQ (DI)(R8*2), DI\n\tCMPQ DI, R9\n\tJLT pass%s_group" % name)
    o.append("\tVZEROUPPER\n\tRET")
    return o


def bfly(o, R, ar, ai, br, bi, tc, ts, t0, t1):
    """(a, b) <- (a + b, (a - b)·(tc + i·ts)); t0, t1 are scratch."""
    o.append("\tVSUBPS %s, %s, %s\n\tVSUBPS %s, %s, %s" % (br, ar, t0, bi, ai, t1))
    o.append("\tVADDPS %s, %s, %s\n\tVADDPS %s, %s, %s" % (br, ar, ar, bi, ai, ai))
    o.append("\tVMULPS %s, %s, %s\n\tVFMSUB231PS %s, %s, %s" % (ts, t1, br, tc, t0, br))
    o.append("\tVMULPS %s, %s, %s\n\tVFMADD231PS %s, %s, %s" % (tc, t1, bi, ts, t0, bi))


def pass2(name, R, halves):
    """Stages h and h/2 fused (radix-2 squared): rows k, k+h/2, k+h, k+3h/2 of
    each group of 2h rows, k < h/2; the same operations as two radix-2 passes."""
    o = []
    o.append("// func fftPass2%s(d, tw, tw2 *float32, h int)" % name)
    o.append("TEXT ·fftPass2%s(SB), NOSPLIT, $0-32" % name)
    o.append("\tMOVQ d+0(FP), DI\n\tMOVQ tw+8(FP), SI\n\tMOVQ tw2+16(FP), R11\n\tMOVQ h+24(FP), DX")
    o.append("\tMOVQ DX, R8\n\tSHLQ $6, R8\n\tLEAQ %d(DI), R9\n\tSHRQ $1, DX" % SLAB)
    o.append("p2%s_group:" % name)
    o.append("\tMOVQ DI, AX\n\tMOVQ SI, R10\n\tMOVQ R11, R12\n\tMOVQ DX, CX")
    o.append("p2%s_k:" % name)
    # AX: row a; b = a + R8 (h/2 rows), c = a + 2·R8, d = a + 3·R8.
    o.append("\tLEAQ (AX)(R8*1), BX\n\tLEAQ (AX)(R8*2), R13\n\tLEAQ (BX)(R8*2), R14")
    wide = R == "Z"
    # twiddles: w1 = tw[k] (a,c), w2 = tw[k+h/2] (b,d), w3 = tw2[k] (a,b), (c,d)
    tw = {"w1": ("0(R10)", "4(R10)"), "w2": ("0(R10)(DX*8)", "4(R10)(DX*8)"), "w3": ("0(R12)", "4(R12)")}
    if wide:
        regs = {"w1": ("Z16", "Z17"), "w2": ("Z18", "Z19"), "w3": ("Z20", "Z21")}
        for w in ("w1", "w2", "w3"):
            o.append("\tVBROADCASTSS %s, %s\n\tVBROADCASTSS %s, %s" % (tw[w][0], regs[w][0], tw[w][1], regs[w][1]))
    for h in halves:
        rows = ["AX", "BX", "R13", "R14"]
        d = [(R + str(2 * i), R + str(2 * i + 1)) for i in range(4)]
        for i, r in enumerate(rows):
            o.append("\tVMOVUPS %d(%s), %s\n\tVMOVUPS %d(%s), %s" % (h, r, d[i][0], 64 + h, r, d[i][1]))
        t0, t1 = R + "8", R + "9"
        def twr(w):
            if wide:
                return regs[w]
            o.append("\tVBROADCASTSS %s, Y12\n\tVBROADCASTSS %s, Y13" % tw[w])
            return ("Y12", "Y13")
        c, s_ = twr("w1")
        bfly(o, R, d[0][0], d[0][1], d[2][0], d[2][1], c, s_, t0, t1)
        c, s_ = twr("w2")
        bfly(o, R, d[1][0], d[1][1], d[3][0], d[3][1], c, s_, t0, t1)
        c, s_ = twr("w3")
        bfly(o, R, d[0][0], d[0][1], d[1][0], d[1][1], c, s_, t0, t1)
        bfly(o, R, d[2][0], d[2][1], d[3][0], d[3][1], c, s_, t0, t1)
        for i, r in enumerate(rows):
            o.append("\tVMOVUPS %s, %d(%s)\n\tVMOVUPS %s, %d(%s)" % (d[i][0], h, r, d[i][1], 64 + h, r))
    o.append("\tADDQ $%d, AX\n\tADDQ $8, R10\n\tADDQ $8, R12\n\tDECQ CX" % ROW)
    o.append("\tJNE p2%s_k" % name)
    o.append("\tLEAQ (DI)(R8*4), DI\n\tCMPQ DI, R9\n\tJLT p2%s_group" % name)
    o.append("\tVZEROUPPER\n\tRET")
    return o


def epilogue(name, R, halves):
    o = []
    o.append("// func fftEpilogue%s(out, d *float32, rows *int32, nt int, inv, bias *float32, a float32)" % name)
    o.append("TEXT ·fftEpilogue%s(SB), NOSPLIT, $0-52" % name)
    o.append("\tMOVQ out+0(FP), DI\n\tMOVQ d+8(FP), DX\n\tMOVQ rows+16(FP), R8\n\tMOVQ nt+24(FP), CX")
    o.append("\tMOVQ inv+32(FP), SI\n\tMOVQ bias+40(FP), BX")
    o.append("\tTESTQ CX, CX\n\tJEQ epi%s_done" % name)
    o.append("epi%s_t:" % name)
    o.append("\tMOVLQSX (R8), AX\n\tSHLQ $7, AX\n\tADDQ DX, AX")
    for h in halves:
        for q in range(6):
            o.append("\tVMOVUPS %d(AX), %s%d" % (q * SLAB + h, R, 2 * q))
            o.append("\tVMOVUPS %d(AX), %s%d" % (q * SLAB + 64 + h, R, 2 * q + 1))
        for j in range(12):
            acc = 12 if j > 0 else 13
            o.append("\tVMULPS %d(SI), %s0, %s%d" % ((j * 12) * 64 + h, R, R, acc))
            for q in range(1, 12):
                o.append("\tVFMADD231PS %d(SI), %s%d, %s%d" % ((j * 12 + q) * 64 + h, R, q, R, acc))
            if j == 0:
                o.append("\tVMOVUPS %s13, %s14" % (R, R))
            else:
                o.append("\tVMAXPS %s12, %s13, %s13\n\tVMINPS %s12, %s14, %s14" % (R, R, R, R, R, R))
        o.append("\tVADDPS %d(BX), %s13, %s13\n\tVADDPS %d(BX), %s14, %s14" % (h, R, R, h, R, R))
        o.append("\tVBROADCASTSS a+48(FP), %s0" % R)
        if R == "Z":
            o.append("\tVPXORD Z15, Z15, Z15")
        else:
            o.append("\tVXORPS Y15, Y15, Y15")
        for v in (13, 14):
            o.append("\tVMINPS %s15, %s%d, %s12\n\tVMAXPS %s15, %s%d, %s%d" % (R, R, v, R, R, R, v, R, v))
            o.append("\tVFMADD231PS %s12, %s0, %s%d" % (R, R, R, v))
        o.append("\tVMAXPS %s14, %s13, %s13" % (R, R, R))
        o.append("\tVMOVUPS %s13, %d(DI)" % (R, h))
    o.append("\tADDQ $4, R8\n\tADDQ $64, DI\n\tDECQ CX\n\tJNE epi%s_t" % name)
    o.append("epi%s_done:" % name)
    o.append("\tVZEROUPPER\n\tRET")
    return o


def epilogue_sym(name):
    """AVX-512 epilogue by the symmetry of the real inverse pitch DFT:
    y_j = E_j - O_j and y_(12-j) = E_j + O_j (j = 1..5), y_0 = E_0, y_6 = E_6,
    E_j from Re of the bins (and C_0, C_6), O_j from Im; the pair's max and
    min are E_j + |O_j| and E_j - |O_j|. Coefficients: the table after the
    12x12 matrix (144 rows of 64 bytes): E[j][q] then O[j][q], j < 7, q < 12.
    Zero coefficients (cos or sin of a multiple of pi/2) are skipped."""
    import math
    o = []
    o.append("// func fftEpilogueSym%s(out, d *float32, rows *int32, nt int, inv, bias *float32, a float32)" % name)
    o.append("TEXT ·fftEpilogueSym%s(SB), NOSPLIT, $0-52" % name)
    o.append("\tMOVQ out+0(FP), DI\n\tMOVQ d+8(FP), DX\n\tMOVQ rows+16(FP), R8\n\tMOVQ nt+24(FP), CX")
    o.append("\tMOVQ inv+32(FP), SI\n\tMOVQ bias+40(FP), BX")
    o.append("\tADDQ $%d, SI" % (144 * 64))
    o.append("\tMOVL $0x7fffffff, AX\n\tVPBROADCASTD AX, Z22")
    o.append("\tVBROADCASTSS a+48(FP), Z23\n\tVPXORD Z24, Z24, Z24\n\tVMOVUPS (BX), Z25")
    o.append("\tTESTQ CX, CX\n\tJEQ epis%s_done" % name)
    o.append("epis%s_t:" % name)
    o.append("\tMOVLQSX (R8), AX\n\tSHLQ $7, AX\n\tADDQ DX, AX")
    for q in range(6):
        o.append("\tVMOVUPS %d(AX), Z%d" % (q * SLAB, 2 * q))
        o.append("\tVMOVUPS %d(AX), Z%d" % (q * SLAB + 64, 2 * q + 1))

    def coef(side, j, q):
        # the value the table holds, to skip zeros (same formulas as fft.go)
        if side == 0:
            if q == 0:
                return 1.0
            if q == 1:
                return float(1 - 2 * (j % 2))
            if q % 2 == 0:
                u = q // 2
                return 0.0 if (u * j) % 6 == 3 else 1.0
            return 0.0
        if q >= 2 and q % 2 == 1:
            u = q // 2
            return 0.0 if (u * j) % 6 == 0 else 1.0
        return 0.0

    def acc(side, j, reg):
        first = True
        for q in range(12):
            if coef(side, j, q) == 0:
                continue
            off = ((side * 7 + j) * 12 + q) * 64
            if first:
                o.append("\tVMULPS %d(SI), Z%d, %s" % (off, q, reg))
                first = False
            else:
                o.append("\tVFMADD231PS %d(SI), Z%d, %s" % (off, q, reg))

    for j in range(7):
        acc(0, j, "Z12")
        if j in (0, 6):
            if j == 0:
                o.append("\tVMOVUPS Z12, Z16\n\tVMOVUPS Z12, Z17")
            else:
                o.append("\tVMAXPS Z12, Z16, Z16\n\tVMINPS Z12, Z17, Z17")
            continue
        acc(1, j, "Z13")
        o.append("\tVPANDD Z22, Z13, Z13")
        o.append("\tVADDPS Z13, Z12, Z14\n\tVSUBPS Z13, Z12, Z15")
        o.append("\tVMAXPS Z14, Z16, Z16\n\tVMINPS Z15, Z17, Z17")
    o.append("\tVADDPS Z25, Z16, Z16\n\tVADDPS Z25, Z17, Z17")
    for v in (16, 17):
        o.append("\tVMINPS Z24, Z%d, Z12\n\tVMAXPS Z24, Z%d, Z%d" % (v, v, v))
        o.append("\tVFMADD231PS Z12, Z23, Z%d" % v)
    o.append("\tVMAXPS Z17, Z16, Z16")
    o.append("\tVMOVUPS Z16, (DI)")
    o.append("\tADDQ $4, R8\n\tADDQ $64, DI\n\tDECQ CX\n\tJNE epis%s_t" % name)
    o.append("epis%s_done:" % name)
    o.append("\tVZEROUPPER\n\tRET")
    return o


def main():
    print("// Code generated by fft_amd64_gen.py; DO NOT EDIT.")
    print("// Vector kernels of conv1FFT (fft.go).")
    print()
    print('#include "textflag.h"')
    for name, R, halves in variants():
        for f in (cmul, pass_, pass2, epilogue):
            print()
            print("\n".join(f(name, R, halves)))
    print()
    print("\n".join(epilogue_sym("AVX512")))


main()
