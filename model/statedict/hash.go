package statedict

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"math"
)

// Hash returns the hex SHA-256 of the dict's content: for each key in saved
// order, the key, the shape and values (floats as
// little-endian float32 bits, integers as little-endian int64). Two dicts
// with the same tensors hash the same whatever file format they came from.
func (d *Dict) Hash() string {
	h := sha256.New()
	var buf [8]byte
	putInt := func(v int64) {
		binary.LittleEndian.PutUint64(buf[:], uint64(v))
		h.Write(buf[:8])
	}
	for _, k := range d.Keys {
		t := d.Tensors[k]
		putInt(int64(len(k)))
		h.Write([]byte(k))
		putInt(int64(len(t.Shape)))
		for _, s := range t.Shape {
			putInt(int64(s))
		}
		if t.Ints != nil {
			h.Write([]byte{'i'})
			for _, v := range t.Ints {
				putInt(v)
			}
			continue
		}
		h.Write([]byte{'f'})
		b := make([]byte, 4*1024)
		for i := 0; i < len(t.Data); i += 1024 {
			n := min(1024, len(t.Data)-i)
			for j := 0; j < n; j++ {
				binary.LittleEndian.PutUint32(b[4*j:], math.Float32bits(t.Data[i+j]))
			}
			h.Write(b[:4*n])
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}
