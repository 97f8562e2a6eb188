package schema

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"math"
)

// ContentHash returns the hex SHA-256 of what determines a song's embedding:
// its features (the little-endian IEEE-754 bytes of Crema), its effective hop
// (0 hashes as ModelHop), the preprocessing id and the model id. Ids and
// metadata are not hashed: renaming a song keeps its hash.
//
// Fields are length-prefixed, so no two distinct inputs share a byte stream.
func ContentHash(s *Song, preprocessing string, modelID string) string {
	h := sha256.New()
	var buf [8]byte
	writeString := func(v string) {
		binary.LittleEndian.PutUint64(buf[:], uint64(len(v)))
		h.Write(buf[:])
		h.Write([]byte(v))
	}
	writeString("vindex.content/v1")
	binary.LittleEndian.PutUint64(buf[:], uint64(len(s.Crema)))
	h.Write(buf[:])
	chunk := make([]byte, 0, 4096)
	for _, v := range s.Crema {
		chunk = binary.LittleEndian.AppendUint32(chunk, math.Float32bits(v))
		if len(chunk) == cap(chunk) {
			h.Write(chunk)
			chunk = chunk[:0]
		}
	}
	h.Write(chunk)
	binary.LittleEndian.PutUint64(buf[:], uint64(s.EffectiveHop()))
	h.Write(buf[:])
	writeString(preprocessing)
	writeString(modelID)
	return hex.EncodeToString(h.Sum(nil))
}
