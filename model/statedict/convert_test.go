package statedict_test

import (
	"math"
	"testing"

	"github.com/vindex/vindex/model/statedict"
)

func TestFloat16ToFloat32(t *testing.T) {
	for h, want := range map[uint16]float32{
		0x0000: 0, 0x3c00: 1, 0xc000: -2, 0x7bff: 65504, 0x0001: float32(math.Ldexp(1, -24)),
		0x03ff: float32(math.Ldexp(1023, -24)), 0x0400: float32(math.Ldexp(1, -14)), 0x3555: 0.33325195,
		0x7c00: float32(math.Inf(1)), 0xfc00: float32(math.Inf(-1)),
	} {
		if got := statedict.Float16ToFloat32(h); got != want {
			t.Errorf("statedict.Float16ToFloat32(%#04x) = %v, want %v", h, got, want)
		}
	}
	if got := statedict.Float16ToFloat32(0x7e00); !math.IsNaN(float64(got)) {
		t.Errorf("statedict.Float16ToFloat32(NaN) = %v", got)
	}
	if got := math.Float32bits(statedict.Float16ToFloat32(0x8000)); got != 0x80000000 {
		t.Errorf("statedict.Float16ToFloat32(-0) bits %#x", got)
	}
}

// Every finite binary16 value, against its definition computed in float64.
func TestFloat16ToFloat32Exhaustive(t *testing.T) {
	for h := 0; h < 1<<16; h++ {
		e, f := (h>>10)&0x1f, float64(h&0x3ff)
		if e == 0x1f {
			continue
		}
		want := math.Ldexp(f/1024, -14)
		if e != 0 {
			want = math.Ldexp(1+f/1024, e-15)
		}
		if h&0x8000 != 0 {
			want = -want
		}
		if got := statedict.Float16ToFloat32(uint16(h)); float64(got) != want {
			t.Fatalf("Float16ToFloat32(%#04x) = %v, want %v", h, got, want)
		}
	}
}

func TestBFloat16ToFloat32(t *testing.T) {
	for h, want := range map[uint16]float32{0x3f80: 1, 0xc000: -2, 0x3e80: 0.25, 0x7f80: float32(math.Inf(1))} {
		if got := statedict.BFloat16ToFloat32(h); got != want {
			t.Errorf("BFloat16ToFloat32(%#04x) = %v, want %v", h, got, want)
		}
	}
}
