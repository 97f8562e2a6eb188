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


def main():
    print("// Code generated by fft_amd64_gen.py; DO NOT EDIT.")
    print("// Vector kernels of conv1FFT (fft.go).")
    print()
    print('#include "textflag.h"')
    for name, R, halves in variants():
        for f in (cmul, pass_, epilogue):
            print()
            print("\n".join(f(name, R, halves)))


main()
