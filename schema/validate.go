package schema

import (
	"errors"
	"fmt"
	"math"
	"unicode"
	"unicode/utf8"
)

// Sentinel errors. Errors returned by ValidateSong and ValidateEmbedding wrap
// ErrInvalid; errors about a file's layout wrap ErrBadFile.
var (
	ErrInvalid    = errors.New("invalid row")
	ErrBadFile    = errors.New("unreadable file")
	ErrNoFiles    = errors.New("no files match")
	ErrNoColumn   = errors.New("missing required column")
	ErrManifest   = errors.New("bad manifest")
	ErrIncomplete = errors.New("incomplete dataset (part files without a _manifest.json)")
	// ErrChanged: a file a manifest lists is missing, or its size or
	// SHA-256 differs from the manifest's record. It fails the command.
	ErrChanged = errors.New("file differs from its manifest")
)

// MaxIDLength bounds song_id and work_id, in bytes.
const MaxIDLength = 1024

// MaxFrames bounds the number of frames of one song (about 27 hours at hop
// 512): a row claiming more is refused rather than allocated.
const MaxFrames = 1 << 24

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}

func checkID(name, id string, required bool) error {
	switch {
	case id == "" && required:
		return invalid("%s is empty", name)
	case len(id) > MaxIDLength:
		return invalid("%s is %d bytes long (max %d)", name, len(id), MaxIDLength)
	case !utf8.ValidString(id):
		return invalid("%s %q is not valid UTF-8", name, id)
	}
	for _, r := range id {
		if unicode.IsControl(r) {
			return invalid("%s %q contains control character %U", name, id, r)
		}
	}
	return nil
}

// ValidateSong reports why s cannot be embedded, or nil. It checks the ids
// (song_id non-empty, ids valid UTF-8 without control characters, at most
// MaxIDLength bytes), the features (non-empty, a multiple of 12 values, at
// most MaxFrames frames, every value finite and in [0, 1], as crema's sigmoid
// activations are) and the hop (0, or a positive divisor of ModelHop, so the
// frames decimate exactly to the model's rate). The error wraps ErrInvalid and
// reads as a reject reason.
func ValidateSong(s *Song) error {
	if err := checkID("song_id", s.SongID, true); err != nil {
		return err
	}
	if err := checkID("work_id", s.WorkID, false); err != nil {
		return err
	}
	n := len(s.Crema)
	switch {
	case n == 0:
		return invalid("crema is empty")
	case n%PitchClasses != 0:
		return invalid("crema has %d values, not a multiple of %d", n, PitchClasses)
	case n/PitchClasses > MaxFrames:
		return invalid("crema has %d frames (max %d)", n/PitchClasses, MaxFrames)
	}
	for i, v := range s.Crema {
		f := float64(v)
		switch {
		case math.IsNaN(f):
			return invalid("crema frame %d pitch class %d is NaN", i/PitchClasses, i%PitchClasses)
		case math.IsInf(f, 0):
			return invalid("crema frame %d pitch class %d is %v", i/PitchClasses, i%PitchClasses, v)
		case v < 0 || v > 1:
			return invalid("crema frame %d pitch class %d is %v, outside [0, 1]", i/PitchClasses, i%PitchClasses, v)
		}
	}
	if s.Hop < 0 || s.Hop > ModelHop || (s.Hop > 0 && ModelHop%s.Hop != 0) {
		return invalid("hop %d is not a divisor of %d (0 means %d)", s.Hop, ModelHop, ModelHop)
	}
	if math.IsNaN(float64(s.DurationS)) || s.DurationS < 0 {
		return invalid("duration_s %v is negative or NaN", s.DurationS)
	}
	return nil
}

// ValidateEmbedding reports why e is unusable, or nil: an empty or invalid
// song_id, an empty embedding, or a non-finite value.
func ValidateEmbedding(e *Embedding) error {
	if err := checkID("song_id", e.SongID, true); err != nil {
		return err
	}
	if err := checkID("work_id", e.WorkID, false); err != nil {
		return err
	}
	if len(e.Embedding) == 0 {
		return invalid("embedding is empty")
	}
	for i, v := range e.Embedding {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return invalid("embedding[%d] is %v", i, v)
		}
	}
	return nil
}
