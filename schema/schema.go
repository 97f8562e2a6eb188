package schema

// Schema versions, recorded in the Parquet key-value metadata of every file
// vindex writes (key "vindex.schema").
const (
	SongSchemaVersion      = "vindex.song/v1"
	EmbeddingSchemaVersion = "vindex.embedding/v1"
	RejectSchemaVersion    = "vindex.reject/v1"
)

// ModelHop is the number of samples per frame (at 44.1 kHz) the MOVE network
// expects. A Song whose Hop is 0 is at this rate.
const ModelHop = 4096

// Song is one feature row of a catalog: a song's cremaPCP features.
//
// Crema holds 12·T float32 values, frame-major: frame 0's 12 pitch classes,
// then frame 1's, and so on.
type Song struct {
	SongID string    `parquet:"song_id"`
	WorkID string    `parquet:"work_id,optional"`
	Hop    int32     `parquet:"hop,optional"` // samples per frame at 44.1 kHz; 0 means ModelHop
	Crema  []float32 `parquet:"crema,list"`

	// Metadata carried through to the outputs.
	Title        string            `parquet:"title,optional"`
	Artist       string            `parquet:"artist,optional"`
	Year         int32             `parquet:"year,optional"`
	Instrumental string            `parquet:"instrumental,optional"`
	DurationS    float32           `parquet:"duration_s,optional"`
	Extra        map[string]string `parquet:"extra,optional"`

	// File is the file the row was read from; it is not a column.
	File string `parquet:"-"`
}

// Embedding is one embedding row: a song's embedding, with the ids of the
// model (and reducer) that produced it and a hash of its inputs.
type Embedding struct {
	SongID      string    `parquet:"song_id"`
	WorkID      string    `parquet:"work_id,optional"`
	Embedding   []float32 `parquet:"embedding,list"`
	Model       string    `parquet:"model"`
	Reducer     string    `parquet:"reducer,optional"`
	ContentHash string    `parquet:"content_hash"`

	Title        string            `parquet:"title,optional"`
	Artist       string            `parquet:"artist,optional"`
	Year         int32             `parquet:"year,optional"`
	Instrumental string            `parquet:"instrumental,optional"`
	DurationS    float32           `parquet:"duration_s,optional"`
	Extra        map[string]string `parquet:"extra,optional"`
}

// Reject records a song that a stage refused, and why.
type Reject struct {
	SongID string `parquet:"song_id"`
	File   string `parquet:"file"`
	Stage  string `parquet:"stage"`
	Reason string `parquet:"reason"`
}
