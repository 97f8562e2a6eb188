package schema

// Schema versions, recorded in the Parquet key-value metadata of every file
// vindex writes (key SchemaKey) and in every manifest.
const (
	SongSchemaVersion      = "vindex.song/v1"
	EmbeddingSchemaVersion = "vindex.embedding/v1"
	RejectSchemaVersion    = "vindex.reject/v1"
)

// SchemaKey is the Parquet key-value metadata key holding a file's schema version.
const SchemaKey = "vindex.schema"

// ModelHop is the number of samples per frame (at 44.1 kHz) the MOVE network
// expects. A Song whose Hop is 0 is at this rate.
const ModelHop = 4096

// PitchClasses is the number of values in one frame of Song.Crema.
const PitchClasses = 12

// Reject stages: the Stage of a Reject names the step that refused the song.
const (
	StageRead     = "read"     // the row (or file) could not be decoded
	StageValidate = "validate" // ValidateSong refused the row
	StageEmbed    = "embed"    // the model refused the song (e.g. too short)
	StageReduce   = "reduce"   // the reducer refused the embedding
	StageEvaluate = "evaluate" // the distance cannot score the embedding
	StageDedupe   = "dedupe"   // another row of the inputs has the same song_id
)

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
	Title        string  `parquet:"title,optional"`
	Artist       string  `parquet:"artist,optional"`
	Year         int32   `parquet:"year,optional"`
	Instrumental string  `parquet:"instrumental,optional"`
	DurationS    float32 `parquet:"duration_s,optional"`
	// Extra carries every other scalar column of the input, by column name
	// (dotted path for nested structs), as text; see the package doc.
	Extra map[string]string `parquet:"extra,optional"`

	// File is the file the row was read from and Row its 0-based index in
	// that file; they are not columns.
	File string `parquet:"-"`
	Row  int64  `parquet:"-"`
}

// Frames returns the number of frames T of s's features (len(Crema)/12).
func (s *Song) Frames() int { return len(s.Crema) / PitchClasses }

// EffectiveHop returns s.Hop, or ModelHop when the hop is absent (0).
func (s *Song) EffectiveHop() int32 {
	if s.Hop == 0 {
		return ModelHop
	}
	return s.Hop
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

	// File is the file the row was read from and Row its 0-based index in
	// that file; they are not columns. Embed sets them to the song's (the
	// features' file and row), so duplicates are ordered by where they came
	// from.
	File string `parquet:"-"`
	Row  int64  `parquet:"-"`
}

// CarryMetadata copies the song's ids, metadata and origin into e (SongID,
// WorkID, Title, Artist, Year, Instrumental, DurationS, Extra, File, Row).
// The Extra map is shared, not copied.
func (e *Embedding) CarryMetadata(s *Song) {
	e.SongID, e.WorkID = s.SongID, s.WorkID
	e.File, e.Row = s.File, s.Row
	e.Title, e.Artist, e.Year = s.Title, s.Artist, s.Year
	e.Instrumental, e.DurationS, e.Extra = s.Instrumental, s.DurationS, s.Extra
}

// Reject records a song that a stage refused, and why.
type Reject struct {
	SongID string `parquet:"song_id"`
	File   string `parquet:"file"`
	Stage  string `parquet:"stage"`
	Reason string `parquet:"reason"`
}
