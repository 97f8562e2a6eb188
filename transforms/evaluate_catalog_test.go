package transforms

import (
	"bytes"
	"reflect"
	"testing"

	"github.com/vindex/vindex/model/metrics"
)

func TestCatalogBlockRoundTrip(t *testing.T) {
	rows := []metrics.Row{
		{SongID: "a", WorkID: "w", Embedding: []float32{1, -2.5, 3e-9}, Model: "m", Reducer: "r", GroupValues: []string{"1999", ""}, File: "f.parquet"},
		{SongID: "b", Embedding: []float32{0}, Model: "m", GroupValues: []string{}},
	}
	got, err := decodeBlock(encodeBlock(rows))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, rows) {
		t.Errorf("round trip:\n got %+v\nwant %+v", got, rows)
	}
}

// FuzzDecodeBlock: any bytes decode or fail, never panic, and a decoded
// block encodes to bytes that decode to it again (compared as bytes: NaN
// payloads survive, NaN != NaN).
func FuzzDecodeBlock(f *testing.F) {
	f.Add(encodeBlock([]metrics.Row{{SongID: "a", WorkID: "w", Embedding: []float32{1, 2}, GroupValues: []string{"x"}}}))
	f.Add([]byte(blockMagic + "\xff\xff\xff\xff\x0f"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		rows, err := decodeBlock(b)
		if err != nil {
			return
		}
		enc := encodeBlock(rows)
		again, err := decodeBlock(enc)
		if err != nil || !bytes.Equal(encodeBlock(again), enc) {
			t.Fatalf("re-encoded block differs: %v", err)
		}
	})
}
