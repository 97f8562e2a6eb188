package transforms

import (
	"bytes"
	"math"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/graph/coder"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/passert"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"

	"github.com/vindex/vindex/model/metrics"
	"github.com/vindex/vindex/model/reduce"
	"github.com/vindex/vindex/runners"
	"github.com/vindex/vindex/schema"
)

func init() {
	register.Function1x1(keepCatalogWithSide)
	register.Function3x0(emitSide)
	register.Emitter1[FittedReducer]()
}

// coderSamples are values of every type with a registered coder, with
// non-ASCII text, nil and empty slices and maps, extreme numbers and NaN
// payloads, so a round trip shows every field survives.
func coderSamples() []any {
	emb := schema.Embedding{
		SongID: "s-1", WorkID: "W_7", Embedding: []float32{1, -0.5, float32(math.Inf(1)), math.SmallestNonzeroFloat32},
		Model: "move-sum4-fa3", Reducer: "", ContentHash: "sha256:ab", Title: "Für Elise — 序曲", Artist: "Ñandú",
		Year: -1, Instrumental: "true", DurationS: 218.5, Extra: map[string]string{"b": "2", "a": "", "ключ": "значение"},
		File: "gs://bucket/part-0.parquet",
	}
	return []any{
		emb,
		schema.Embedding{}, // all zero: nil slices and map
		schema.Embedding{SongID: "e", Embedding: []float32{}, Extra: map[string]string{}},
		schema.Reject{SongID: "x", File: "f.parquet", Stage: "embed", Reason: "too short: 12 frames < 320"},
		schema.Song{SongID: "s", WorkID: "w", Hop: 4096, Crema: []float32{0, 0.25, 1}, Title: "t", Year: 1999, Extra: map[string]string{"k": "v"}, File: "f"},
		carryKey{Row: emb},
		shardFile{Name: "part-abc-00001-of-00016.parquet", Rows: 123, Bytes: 1 << 40},
		datasetFile{Path: "/x/y.parquet", Rows: -1},
		rowRange{File: "/x/y.parquet", RowGroup: 3, Lo: 16, Hi: 32, First: 1 << 40},
		FittedReducer{File: []byte{0, 1, 2, 255}},
		FittedReducer{File: []byte{}},
		momentsAccum{Model: "m", Dim: 3, Pending: []float32{1, 2, float32(math.Copysign(0, -1))}, Exp: []int64{-2, 3},
			Count: []int64{4, 1}, Sum: []int64{1, 2, 3, -4, 5, -6}, Lo: make([]int64, 12), Hi: nil, Adds: []int64{2, 1}},
		sampleAccum{Model: "m", Dim: 2, Count: 9, Keys: []uint64{math.MaxUint64, 0}, Rows: []float64{1, 2, 3, 4}},
		countAccum{Model: "m", Dim: 256, Count: math.MaxInt64},
		metrics.Row{SongID: "s", WorkID: "w", Embedding: []float32{3, 4}, Model: "m", Reducer: "pca", GroupValues: []string{"", "true"}, File: "f"},
		metrics.QueryResult{SongID: "s", WorkID: "w", Versions: 3, FirstRank: 2, AP: 0.5833333333333334, Top10: 3, Groups: []string{"x"}},
		catalogBlock{URI: "gs://b/tmp/vindex-catalog-ab/block-01.vxcat", Rows: 8192},
		catalogIndex{URIs: []string{"/tmp/a.vxcat", "/tmp/b.vxcat"}, Rows: []int64{8192, 1}},
		catalogInfo{Distance: "cosine", Model: "m", Reducer: "r", Dim: 64, Len: 3, GroupBy: []string{"year"}, Dir: "/tmp/c",
			Index: catalogIndex{URIs: []string{"/tmp/a.vxcat"}, Rows: []int64{3}}},
		pairTask{Block: 3, Others: 48, Size: 1024, Index: catalogIndex{URIs: []string{"/tmp/a.vxcat"}, Rows: []int64{4096}}},
		countChunk{Lo: 1024, Hi: 2048, Counts: []int32{0, 7, -1, 1 << 30}},
		queryRows{SongIDs: []string{"a"}, WorkIDs: []string{"w"}, Versions: []int32{1}, FirstRank: []int32{1}, Top: []int32{1},
			AP: []float64{1}, Groups: []string{}, NGroups: 0},
		evalInfo{Distance: "cosine", Model: "m", Reducer: "r", Dim: 64, GroupBy: []string{"year"}},
		rowOrigin{SongID: "s", File: "/x/y.parquet", Row: 1 << 40, Hash: "0123456789abcdef", Part: math.MaxUint64, PartRow: 7},
		originBatch{Origins: []rowOrigin{{SongID: "a", File: "f", Part: 1}, {SongID: "b", Row: 3, Hash: "h", PartRow: -2}}},
		originBatch{},
		partRow{Part: 1 << 63, Row: -1},
	}
}

// TestCodersRoundTrip encodes and decodes every sample with the coder Beam
// would pick for its type, and checks the value comes back equal (nil and
// empty slices and maps kept apart) and that encoding is deterministic.
func TestCodersRoundTrip(t *testing.T) {
	for _, v := range coderSamples() {
		rt := reflect.TypeOf(v)
		c := coder.LookupCustomCoder(rt)
		if c == nil {
			t.Errorf("%s: no custom coder registered", rt)
			continue
		}
		b := c.Enc.Fn.Call([]any{v})[0].([]byte)
		again := c.Enc.Fn.Call([]any{v})[0].([]byte)
		if !bytes.Equal(b, again) {
			t.Errorf("%s: encoding is not deterministic", rt)
		}
		out := c.Dec.Fn.Call([]any{b})
		if err, _ := out[1].(error); err != nil {
			t.Errorf("%s: decoding: %v", rt, err)
			continue
		}
		if got := out[0]; !reflect.DeepEqual(got, v) {
			t.Errorf("%s: round trip\n got %#v\nwant %#v", rt, got, v)
		}
	}
}

// TestNoRowCoders builds a pipeline of every composite that moves vindex
// types between stages (read, embed, fit, reduce, evaluate, write) and
// checks that no coder of the runner-facing pipeline is Beam's schema Row
// coder: a Java runner then never has to interpret a vindex struct.
func TestNoRowCoders(t *testing.T) {
	p, s := beam.NewPipelineWithRoot()
	dir := t.TempDir()
	songs, readRejects := ReadSongs(s, filepath.Join(dir, "features", "*.parquet"))
	prev, prevRejects := ReadEmbeddings(s, filepath.Join(dir, "prev", "*.parquet"))
	embs, _, embedRejects := EmbedIncremental(s, EmbedConfig{Weights: "w.safetensors", Skip: "skip.tsv"}, songs, prev)
	WriteEmbeddings(s, filepath.Join(dir, "embeddings"), embs, WriteOptions{})
	var rejects []beam.PCollection
	for _, m := range []reduce.Method{reduce.PCA, reduce.ICA, reduce.GRP} {
		fitted := Fit(s, embs, FitConfig{Method: m, K: 2})
		WriteReducer(s, filepath.Join(dir, string(m)+".vxr"), fitted)
		compact, reduceRejects := Reduce(s, fitted, embs, true)
		results, evalRejects, catalog := Evaluate(s, EvaluateConfig{Metrics: metrics.Config{Distance: metrics.Cosine, GroupBy: []string{"year"}}}, compact)
		WriteEvaluationReport(s, filepath.Join(dir, "eval", string(m)), results, evalRejects, catalog)
		rejects = append(rejects, reduceRejects)
	}
	WriteRejects(s, filepath.Join(dir, "rejects"), WriteOptions{}, append(rejects, readRejects, prevRejects, embedRejects)...)
	rows, err := runners.RowCoders(p)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range rows {
		t.Errorf("schema Row coder left in the pipeline: %s", c)
	}
}

func TestCodersRejectMalformedInput(t *testing.T) {
	good := encodeEmbedding(coderSamples()[0].(schema.Embedding))
	bad := map[string][]byte{
		"empty":          nil,
		"format byte":    append([]byte{99}, good[1:]...),
		"truncated":      good[:len(good)-1],
		"trailing bytes": append(append([]byte(nil), good...), 0),
		// The song id's declared length (a varint) far beyond the input.
		"huge length": {codecVersion, 0xff, 0xff, 0xff, 0xff, 0x0f},
	}
	for name, b := range bad {
		if _, err := decodeEmbedding(b); err == nil {
			t.Errorf("%s: decoded without error", name)
		}
	}
	// A slice claiming 2^40 floats is refused before allocating.
	b := []byte{codecVersion, 0, 0}
	b = append(b, 0x81, 0x80, 0x80, 0x80, 0x80, 0x20)
	if _, err := decodeEmbedding(b); err == nil {
		t.Error("a 2^40-element slice decoded without error")
	}
}

func FuzzDecodeEmbedding(f *testing.F) {
	for _, v := range coderSamples()[:3] {
		f.Add(encodeEmbedding(v.(schema.Embedding)))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := decodeEmbedding(b)
		if err != nil {
			return
		}
		e2, err := decodeEmbedding(encodeEmbedding(e))
		if err != nil {
			t.Fatalf("re-decoding a decoded value: %v", err)
		}
		if !bytes.Equal(encodeEmbedding(e), encodeEmbedding(e2)) {
			t.Fatal("decode ∘ encode is not stable")
		}
	})
}

func FuzzDecodeCatalogInfo(f *testing.F) {
	for _, v := range coderSamples() {
		if c, ok := v.(catalogInfo); ok {
			f.Add(encodeCatalogInfo(c))
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if c, err := decodeCatalogInfo(b); err == nil {
			if _, err := decodeCatalogInfo(encodeCatalogInfo(c)); err != nil {
				t.Fatalf("re-decoding a decoded value: %v", err)
			}
		}
	})
}

// keepCatalogWithSide passes a catalog description through, so the test
// below moves them through a shuffle.
func keepCatalogWithSide(c catalogInfo) catalogInfo { return c }

// emitSide emits every value of its side input, once (for the one main
// element).
func emitSide(_ int, side func(*FittedReducer) bool, emit func(FittedReducer)) {
	var f FittedReducer
	for side(&f) {
		emit(f)
	}
}

// TestCodersOnPrism moves values of the registered types through a
// Reshuffle (a GroupByKey: a stage boundary, where prism encodes them) and a
// side input, and checks they arrive unchanged. (passert itself compares
// through a CoGroupByKey.) The package's other tests run every transform on
// prism with these coders.
func TestCodersOnPrism(t *testing.T) {
	p, s := beam.NewPipelineWithRoot()
	samples := coderSamples()
	var embs []schema.Embedding
	var cats []catalogInfo
	var fitted []FittedReducer
	for _, v := range samples {
		switch v := v.(type) {
		case schema.Embedding:
			embs = append(embs, v)
		case catalogInfo:
			cats = append(cats, v)
		case FittedReducer:
			fitted = append(fitted, v)
		}
	}
	// Through a Reshuffle.
	passert.Equals(s, beam.Reshuffle(s, beam.CreateList(s, embs)), toAny(embs)...)
	passert.Equals(s, beam.ParDo(s, keepCatalogWithSide, beam.Reshuffle(s, beam.CreateList(s, cats))), toAny(cats)...)
	// Through a side input (the fitted reducer's path to Reduce).
	passert.Equals(s, beam.ParDo(s, emitSide, beam.Create(s, 1), beam.SideInput{Input: beam.CreateList(s, fitted)}), toAny(fitted)...)
	rejects := []schema.Reject{samples[3].(schema.Reject)}
	passert.Equals(s, beam.Reshuffle(s, beam.CreateList(s, rejects)), toAny(rejects)...)
	accs := []momentsAccum{samples[11].(momentsAccum)}
	passert.Equals(s, beam.Reshuffle(s, beam.CreateList(s, accs)), toAny(accs)...)
	ptest.RunAndValidate(t, p)
}

// BenchmarkEmbeddingCoder compares the registered coder with Beam's schema
// Row coder (what Beam used for schema.Embedding before), on a d = 256
// embedding with metadata: encode + decode per op. The Row coder writes into
// a reused buffer; a custom coder returns a new []byte (Beam's API), which
// the custom figures include. Measured on the shared 2-core machine, load
// 25–45, 6 runs each: custom 6.3–9.4 µs (one outlier 31), 26 allocs, 3.5 KB;
// row 8.4–29.6 µs (one outlier 70), 43 allocs, 2.8 KB.
func BenchmarkEmbeddingCoder(b *testing.B) {
	e := coderSamples()[0].(schema.Embedding)
	e.Embedding = make([]float32, 256)
	for i := range e.Embedding {
		e.Embedding[i] = float32(i) / 256
	}
	b.Run("custom", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := decodeEmbedding(encodeEmbedding(e)); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("row", func(b *testing.B) {
		enc, err := coder.RowEncoderForStruct(reflect.TypeOf(e))
		if err != nil {
			b.Fatal(err)
		}
		dec, err := coder.RowDecoderForStruct(reflect.TypeOf(e))
		if err != nil {
			b.Fatal(err)
		}
		var buf bytes.Buffer
		b.ReportAllocs()
		for b.Loop() {
			buf.Reset()
			if err := enc(e, &buf); err != nil {
				b.Fatal(err)
			}
			if _, err := dec(&buf); err != nil {
				b.Fatal(err)
			}
		}
	})
}
