package safetensors

import (
	"bytes"
	"fmt"
	"runtime"
	"strings"
	"testing"
)

// hostileFiles are safetensors files built to cost the reader the most
// memory per byte: many empty tensors, long all-zero shapes, and U8 data
// (1 byte in the file, an int64 out).
func hostileFiles() map[string][]byte {
	var many strings.Builder
	many.WriteString("{")
	for i := range 100000 {
		fmt.Fprintf(&many, `"%d":{"dtype":"U8","shape":[0],"data_offsets":[0,0]},`, i)
	}
	many.WriteString(`"x":{"dtype":"U8","shape":[0],"data_offsets":[0,0]}}`)
	zeros := `{"a":{"dtype":"F32","shape":[` + strings.Repeat("0,", 500000) + `0],"data_offsets":[0,0]}}`
	u8 := file(`{"a":{"dtype":"U8","shape":[4000000],"data_offsets":[0,4000000]}}`, make([]byte, 4000000)...)
	return map[string][]byte{"100,000 empty tensors": file(many.String()), "500,000 zero dims": file(zeros), "4 MB of U8": u8}
}

// Reading costs at most a fixed multiple of the file's bytes: the header is
// bounded by the file, tensors may not overlap or leave the data section,
// and each is decoded once.
func TestHostileFilesBounded(t *testing.T) {
	for name, b := range hostileFiles() {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		_, _, err := Read(bytes.NewReader(b), int64(len(b)))
		runtime.ReadMemStats(&after)
		n := after.TotalAlloc - before.TotalAlloc
		t.Logf("%s: %d bytes, allocated %.1f MB (%.1f per byte), error %v", name, len(b), float64(n)/(1<<20), float64(n)/float64(len(b)), err)
		if limit := 32*uint64(len(b)) + 1<<20; n > limit {
			t.Errorf("%s: %d-byte file allocated %d bytes, more than %d", name, len(b), n, limit)
		}
	}
}
