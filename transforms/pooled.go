package transforms

import (
	"bytes"
	"context"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"reflect"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/vindex/vindex/model"
	"github.com/vindex/vindex/model/statedict"
	"github.com/vindex/vindex/schema"
	"github.com/vindex/vindex/storage"
)

func init() {
	beam.RegisterType(reflect.TypeOf((*poolFn)(nil)).Elem())
	beam.RegisterType(reflect.TypeOf((*schema.Pooled)(nil)).Elem())
	register.Emitter1[schema.Pooled]()
	// Pooled rows cross the sharded writer's shuffle: a custom coder
	// (coders.go), never a schema Row a Java runner would decode.
	beam.RegisterCoder(reflect.TypeOf(schema.Pooled{}), encodePooled, decodePooled)
}

var pooledCodec = newCodec[schema.Pooled]()

func encodePooled(v schema.Pooled) []byte          { return pooledCodec.encode(&v) }
func decodePooled(b []byte) (schema.Pooled, error) { return pooledCodec.decode(b) }

// StagePool names the pooling stage in rejects.
const StagePool = "pool"

// TrainingPatchFrames is the reference's training patch length in model
// frames (patch_len 1800, remove-spec.md §2.4).
const TrainingPatchFrames = 1800

// SongsPooled counts songs whose pooled features were written.
const SongsPooled = "songs_pooled"

var songsPooled = NewProgressCounter(SongsPooled)

// PoolConfig says which feature extractor Pool runs and how many patches it
// takes per song.
type PoolConfig struct {
	// Weights is the teacher checkpoint's path or URI (any format Embed takes).
	Weights string
	// Model configures the variants a checkpoint's shapes cannot tell apart.
	Model model.Config
	// Patches is the number K of random patches of PatchFrames model frames
	// per song, besides the whole song (0: the whole song only).
	Patches int
	// PatchFrames is the patch length in model frames (0: TrainingPatchFrames).
	PatchFrames int
	// Seed makes the patch positions reproducible: a song's patches depend
	// only on Seed and its song_id, not on bundle order.
	Seed uint64
}

// Pool computes the pooled features (model.Net.Pooled: the 256 values after
// autopooling, before lin1) of each labelled song of a
// PCollection<schema.Song> and returns a PCollection<schema.Pooled> and a
// PCollection<schema.Reject>. Each song gives a row for the whole song
// (Patch 0) and cfg.Patches rows for random patches of cfg.PatchFrames model
// frames (start uniform over the song; a song no longer than a patch is
// zero-padded at the end to the patch length, as the reference's training
// crops are, and gives one patch). Songs without a work_id are rejected:
// distillation needs labels.
//
// Like Embed, Pool is a plain ParDo that fuses with ReadSongs (features
// never cross a stage boundary); the checkpoint is loaded once per worker
// process.
func Pool(s beam.Scope, cfg PoolConfig, songs beam.PCollection) (pooled, rejects beam.PCollection) {
	s = s.Scope("transforms.Pool")
	fn := &poolFn{Weights: cfg.Weights, SumMethod: -1, FinalActivation: -1, PadShort: cfg.Model.PadShort,
		Patches: cfg.Patches, PatchFrames: cfg.PatchFrames, Seed: cfg.Seed}
	if fn.PatchFrames == 0 {
		fn.PatchFrames = TrainingPatchFrames
	}
	if cfg.Model.SumMethod != nil {
		fn.SumMethod = *cfg.Model.SumMethod
	}
	if cfg.Model.FinalActivation != nil {
		fn.FinalActivation = *cfg.Model.FinalActivation
	}
	return beam.ParDo2(s, fn, songs)
}

// WritePooled writes a PCollection<schema.Pooled> to dir as sharded Parquet
// part files plus a _manifest.json (see WriteParquet).
func WritePooled(s beam.Scope, dir string, pooled beam.PCollection, opt WriteOptions) {
	s = s.Scope("transforms.WritePooled")
	opt.Schema = schema.PooledSchemaVersion
	writeParquet(s, dir, pooled, opt)
}

type poolFn struct {
	Weights         string
	SumMethod       int // -1: inferred
	FinalActivation int // -1: inferred
	PadShort        bool
	Patches         int
	PatchFrames     int
	Seed            uint64

	w    *model.Weights
	id   string // the extractor's id (model.Weights.ExtractorID)
	net  *model.Net
	crop []float32
}

func (f *poolFn) Setup(ctx context.Context) error {
	cfg := model.Config{PadShort: f.PadShort}
	if f.SumMethod >= 0 {
		cfg.SumMethod = model.Int(f.SumMethod)
	}
	if f.FinalActivation >= 0 {
		cfg.FinalActivation = model.Int(f.FinalActivation)
	}
	w, err := loadWeights(ctx, f.Weights, cfg)
	if err != nil {
		return err
	}
	f.w, f.id, f.net = w, w.ExtractorID(), w.NewNet()
	return nil
}

func (f *poolFn) ProcessElement(ctx context.Context, song schema.Song, emit func(schema.Pooled), reject func(schema.Reject)) error {
	refuse := func(reason string) {
		CountRejected(ctx, 1)
		reject(schema.Reject{SongID: song.SongID, File: song.File, Stage: StagePool, Reason: reason})
	}
	if err := schema.ValidateSong(&song); err != nil {
		refuse(err.Error())
		return nil
	}
	if song.WorkID == "" {
		refuse("no work_id: distillation needs each song's work")
		return nil
	}
	hop := int(song.EffectiveHop())
	hash := schema.ContentHash(&song, Preprocessing(hop, f.PadShort), f.id)
	tm, err := model.ModelFrames(song.Frames(), hop)
	if err != nil {
		refuse(err.Error())
		return nil
	}
	row := func(patch, start, frames int, crema []float32, h int) error {
		v := make([]float32, model.PooledDim)
		if err := f.net.Pooled(v, crema, h); err != nil {
			return err
		}
		emit(schema.Pooled{SongID: song.SongID, WorkID: song.WorkID, Patch: int32(patch), Start: int32(start),
			Frames: int32(frames), Pooled: v, Model: f.id, ContentHash: hash})
		return nil
	}
	if err := row(0, 0, tm, song.Crema, hop); err != nil {
		refuse(err.Error()) // too short, bad input: a reject, never a failed catalog
		return nil
	}
	n := f.Patches
	if tm <= f.PatchFrames {
		n = min(n, 1) // every patch would be the whole song, padded
	}
	rng := patchRand(f.Seed, song.SongID)
	for k := 1; k <= n; k++ {
		start := 0
		if tm > f.PatchFrames {
			start = rng.IntN(tm - f.PatchFrames + 1)
		}
		f.crop = cropModelRate(f.crop, song.Crema, hop, start, f.PatchFrames)
		if err := row(k, start, min(f.PatchFrames, tm-start), f.crop, model.ModelHop); err != nil {
			return fmt.Errorf("transforms: Pool: song %s patch %d: %w", song.SongID, k, err)
		}
	}
	songsPooled.Inc(ctx, 1)
	return nil
}

// patchRand returns the generator of a song's patch positions: it depends
// only on the seed and the song id.
func patchRand(seed uint64, songID string) *rand.Rand {
	h := fnv.New64a()
	h.Write([]byte(songID))
	return rand.New(rand.NewPCG(seed, h.Sum64()))
}

// cropModelRate writes into dst (reused) frames [start, start+n) of the song
// at the model rate (crema at hop, decimated [::ModelHop/hop] as Embed
// does), frame-major, zero-padded at the end past the song's last frame.
func cropModelRate(dst, crema []float32, hop, start, n int) []float32 {
	if cap(dst) < n*schema.PitchClasses {
		dst = make([]float32, n*schema.PitchClasses)
	}
	dst = dst[:n*schema.PitchClasses]
	clear(dst)
	f := model.ModelHop / hop
	T := len(crema) / schema.PitchClasses
	for t := 0; t < n; t++ {
		src := (start + t) * f
		if src >= T {
			break
		}
		copy(dst[t*schema.PitchClasses:(t+1)*schema.PitchClasses], crema[src*schema.PitchClasses:(src+1)*schema.PitchClasses])
	}
	return dst
}

// LoadPooled reads every pooled-features row of the dataset pattern names
// (a folder, file or glob; manifest-aware; local or any scheme of Beam's
// filesystem layer) into memory, for training in one process: a million
// songs with a few patches each are a few GB. Any unreadable file or
// invalid row is an error.
func LoadPooled(ctx context.Context, pattern string) ([]schema.Pooled, error) {
	files, err := schema.ListDatasetFS(schema.StorageFS{Ctx: ctx}, pattern)
	if err != nil {
		return nil, fmt.Errorf("transforms: %w", err)
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("transforms: %s names no pooled-features file", pattern)
	}
	o := &storage.Opener{}
	defer o.Close()
	var out []schema.Pooled
	for _, df := range files {
		f, err := o.Open(ctx, df.Path)
		if err != nil {
			return nil, fmt.Errorf("transforms: opening %s: %w", df.Path, err)
		}
		r, size, closer := f, f.Size(), f
		rows, err := schema.ReadPooled(df.Path, r, size)
		closer.Close()
		if err != nil {
			return nil, err
		}
		if df.Rows >= 0 && int64(len(rows)) != df.Rows {
			return nil, fmt.Errorf("transforms: %s: %w: %d rows, manifest says %d", df.Path, schema.ErrBadFile, len(rows), df.Rows)
		}
		out = append(out, rows...)
	}
	return out, nil
}

// ReadStateDict reads the checkpoint at uri (local path or any scheme of
// Beam's filesystem layer; any format model.ReadCheckpoint takes) as a
// state_dict, unchecked against the network.
func ReadStateDict(ctx context.Context, uri string) (*statedict.Dict, error) {
	b, err := readURI(ctx, uri)
	if err != nil {
		return nil, err
	}
	sd, err := model.ReadCheckpoint(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		return nil, fmt.Errorf("transforms: weights %s: %w", uri, err)
	}
	return sd, nil
}
