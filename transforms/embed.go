package transforms

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"sync"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem/gcs"   // gs:// weights on Dataflow
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem/local" // local paths
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/vindex/vindex/model"
	"github.com/vindex/vindex/schema"
	"github.com/vindex/vindex/storage"
)

func init() {
	beam.RegisterType(reflect.TypeOf((*embedFn)(nil)).Elem())
	register.Emitter1[carryKey]()
	register.Function1x2(keyCarry)
	register.Function1x2(keyEmbedding)
	beam.RegisterType(reflect.TypeOf((*joinCarryFn)(nil)).Elem())
	register.Iter1[schema.Embedding]()
	register.Emitter1[schema.Embedding]()
	register.Emitter1[schema.Reject]()
}

// EmbedConfig says which network Embed applies.
type EmbedConfig struct {
	// Weights is the checkpoint's path or URI (a PyTorch .pt file in the zip or
	// legacy format, or safetensors), read through Beam's filesystem layer.
	Weights string
	// Model configures the variants a checkpoint's shapes cannot tell apart
	// and the opt-in padding of short songs.
	Model model.Config
	// Skip, if set, is a file (path or URI) of lines "song_id<TAB>content_hash"
	// naming songs whose embeddings a previous index already holds: they
	// are not embedded again (see EmbedIncremental).
	Skip string
}

// Embed applies the MOVE network to each song of a PCollection<schema.Song>
// and returns a PCollection<schema.Embedding> and a PCollection<schema.Reject>
// of the songs the network refused (invalid features, too short, bad hop).
//
// Embed is a plain ParDo: placed right after ReadSongs it fuses with the
// reader, so features never cross a stage boundary. The checkpoint is loaded
// once per worker process (a cache keyed by URI and config), and the
// process runs one network per core, fed by every bundle (netpool.go): each
// bundle keeps at most a few songs in the networks at once.
func Embed(s beam.Scope, cfg EmbedConfig, songs beam.PCollection) (embs, rejects beam.PCollection) {
	embs, _, rejects = EmbedIncremental(s, cfg, songs)
	return embs, rejects
}

// EmbedIncremental is Embed for a nightly reindex: songs listed in cfg.Skip
// (same song id, same content hash: same features, preprocessing and model)
// are not embedded; their carried embeddings are taken from prev, the
// previous index's embeddings (PCollection<schema.Embedding>, none when
// cfg.Skip is empty), with the song's current metadata. It returns the new
// and carried embeddings together, the carried ones alone (an invalid
// PCollection when prev is not given), and the rejects.
func EmbedIncremental(s beam.Scope, cfg EmbedConfig, songs beam.PCollection, prev ...beam.PCollection) (embs, carried, rejects beam.PCollection) {
	s = s.Scope("transforms.Embed")
	fn := &embedFn{Weights: cfg.Weights, SumMethod: -1, FinalActivation: -1, PadShort: cfg.Model.PadShort, Skip: cfg.Skip}
	if cfg.Model.SumMethod != nil {
		fn.SumMethod = *cfg.Model.SumMethod
	}
	if cfg.Model.FinalActivation != nil {
		fn.FinalActivation = *cfg.Model.FinalActivation
	}
	embs, rejects, keys := beam.ParDo3(s, fn, songs)
	if len(prev) == 0 {
		return embs, beam.PCollection{}, rejects // carried is invalid: nothing to carry from
	}
	keyed := beam.ParDo(s, keyCarry, keys)
	prevKeyed := beam.ParDo(s, keyEmbedding, beam.Flatten(s, prev...))
	carried = beam.ParDo(s, &joinCarryFn{}, beam.CoGroupByKey(s, keyed, prevKeyed))
	return beam.Flatten(s, embs, carried), carried, rejects
}

// carryKey is a song that needs no embedding: its id, content hash and
// current metadata (as an Embedding row without a vector).
type carryKey struct {
	Row schema.Embedding
}

func keyCarry(c carryKey) (string, schema.Embedding) {
	return c.Row.SongID + "\t" + c.Row.ContentHash, c.Row
}

func keyEmbedding(e schema.Embedding) (string, schema.Embedding) {
	return e.SongID + "\t" + e.ContentHash, e
}

// joinCarryFn gives each carried song its previous vector and its current
// metadata.
type joinCarryFn struct{}

// Every current row of the key is emitted (a song_id repeated in the catalog
// with the same features is carried once per copy; DedupeEmbeddings then
// keeps the first by file and row, as for freshly embedded songs).
func (joinCarryFn) ProcessElement(key string, cur, prev func(*schema.Embedding) bool, emitCarried func(schema.Embedding)) error {
	var c, p schema.Embedding
	if !cur(&c) {
		return nil // a previous song that is not in the catalog any more
	}
	if !prev(&p) {
		return fmt.Errorf("transforms: EmbedIncremental: song %q is listed as carried but the previous index has no embedding with its content hash", c.SongID)
	}
	for {
		c.Embedding = p.Embedding
		emitCarried(c)
		c = schema.Embedding{}
		if !cur(&c) {
			return nil
		}
	}
}

type embedFn struct {
	Weights         string
	SumMethod       int // -1: inferred from the checkpoint
	FinalActivation int // -1: inferred from the checkpoint
	PadShort        bool
	Skip            string

	w    *model.Weights
	pool *netPool        // the process's networks for w
	b    *inflight       // this bundle's songs in the pool
	skip map[string]bool // "song_id\tcontent_hash"
}

func (f *embedFn) config() model.Config {
	cfg := model.Config{PadShort: f.PadShort}
	if f.SumMethod >= 0 {
		cfg.SumMethod = model.Int(f.SumMethod)
	}
	if f.FinalActivation >= 0 {
		cfg.FinalActivation = model.Int(f.FinalActivation)
	}
	return cfg
}

func (f *embedFn) Setup(ctx context.Context) error {
	w, err := loadWeights(ctx, f.Weights, f.config())
	if err != nil {
		return err
	}
	f.w = w
	f.pool = netPoolFor(w)
	if f.Skip != "" {
		b, err := readURI(ctx, f.Skip)
		if err != nil {
			return err
		}
		f.skip = map[string]bool{}
		for _, line := range strings.Split(string(b), "\n") {
			if line != "" {
				f.skip[line] = true
			}
		}
	}
	return nil
}

func (f *embedFn) StartBundle(emit func(schema.Embedding), reject func(schema.Reject), carry func(carryKey)) {
	f.b = newInflight(f.pool)
}

// ProcessElement checks a song and hands it to the process's networks; the
// embeddings of earlier songs that are done are emitted meanwhile, and
// FinishBundle emits the rest.
func (f *embedFn) ProcessElement(ctx context.Context, song schema.Song, emit func(schema.Embedding), reject func(schema.Reject), carry func(carryKey)) error {
	if err := schema.ValidateSong(&song); err != nil {
		refuseSong(ctx, reject, &song, err)
		return nil
	}
	hop := int(song.EffectiveHop())
	pre := Preprocessing(hop, f.PadShort)
	hash := schema.ContentHash(&song, pre, f.w.ID())
	if f.skip[song.SongID+"\t"+hash] {
		row := schema.Embedding{Model: f.w.ID(), ContentHash: hash}
		row.CarryMetadata(&song)
		carriedCounter.Inc(ctx, 1)
		carry(carryKey{Row: row})
		return nil
	}
	j := &embedJob{song: song, hop: hop, hash: hash, dst: make([]float32, f.pool.dim)}
	return f.b.submit(j, func(d *embedJob) error { return f.collect(ctx, d, emit, reject) })
}

func (f *embedFn) FinishBundle(ctx context.Context, emit func(schema.Embedding), reject func(schema.Reject), carry func(carryKey)) error {
	return f.b.drain(func(d *embedJob) error { return f.collect(ctx, d, emit, reject) })
}

// collect emits a song the pool has embedded, or its reject.
func (f *embedFn) collect(ctx context.Context, j *embedJob, emit func(schema.Embedding), reject func(schema.Reject)) error {
	if j.fail != nil {
		return j.fail
	}
	if j.err != nil {
		// model.ErrTooShort, a hop the network cannot use, ...: a reject,
		// never a failed catalog.
		refuseSong(ctx, reject, &j.song, j.err)
		return nil
	}
	CountEmbedded(ctx, 1)
	e := schema.Embedding{Embedding: j.dst, Model: f.w.ID(), ContentHash: j.hash}
	e.CarryMetadata(&j.song)
	emit(e)
	return nil
}

func refuseSong(ctx context.Context, reject func(schema.Reject), song *schema.Song, err error) {
	CountRejected(ctx, 1)
	reject(schema.Reject{SongID: song.SongID, File: song.File, Stage: schema.StageEmbed, Reason: err.Error()})
}

// SongsCarried counts songs a reindex did not embed again.
const SongsCarried = "songs_carried"

var carriedCounter = NewProgressCounter(SongsCarried)

// Preprocessing describes, for content hashes, how a song at hop is turned
// into the network's input.
func Preprocessing(hop int, padShort bool) string {
	p := "none"
	if hop != schema.ModelHop && hop > 0 {
		p = fmt.Sprintf("decimate[::%d]", schema.ModelHop/hop)
	}
	if padShort {
		p += "+padshort"
	}
	return p
}

// weightsCache holds the immutable weights a process has loaded, keyed by URI
// and config, so a worker loads a checkpoint once however many DoFn instances
// it runs. It is the kind of package-level state ARCHITECTURE.md allows (a
// mutex-guarded cache of immutable loaded data keyed by URI); Evaluate's
// catalogCache is the other of that kind.
var weightsCache = struct {
	sync.Mutex
	m     map[string]*model.Weights
	pools map[*model.Weights]*netPool // netpool.go
}{m: map[string]*model.Weights{}, pools: map[*model.Weights]*netPool{}}

// LoadWeights returns the weights of the checkpoint at uri (a local path or
// a URI of a registered Beam filesystem), as the Embed transform loads them:
// from the process's cache, or by reading and checking the checkpoint.
func LoadWeights(ctx context.Context, uri string, cfg model.Config) (*model.Weights, error) {
	return loadWeights(ctx, uri, cfg)
}

func loadWeights(ctx context.Context, uri string, cfg model.Config) (*model.Weights, error) {
	key := fmt.Sprintf("%s|%s|%s|%t", uri, optInt(cfg.SumMethod), optInt(cfg.FinalActivation), cfg.PadShort)
	weightsCache.Lock()
	defer weightsCache.Unlock()
	if w, ok := weightsCache.m[key]; ok {
		return w, nil
	}
	sd, err := ReadStateDict(ctx, uri)
	if err != nil {
		return nil, err
	}
	w, err := model.NewWeights(sd, cfg)
	if err != nil {
		return nil, fmt.Errorf("transforms: weights %s: %w", uri, err)
	}
	weightsCache.m[key] = w
	return w, nil
}

func optInt(p *int) string {
	if p == nil {
		return "auto"
	}
	return fmt.Sprint(*p)
}

// readURI reads a checkpoint: a regular file (storage refuses a FIFO or a
// device from its metadata, before opening it) or an object of at most
// model.MaxCheckpointBytes (MOVE at d = 16,000 is ~70 MB).
func readURI(ctx context.Context, uri string) ([]byte, error) {
	b, err := storage.ReadFile(ctx, uri, model.MaxCheckpointBytes)
	if err != nil {
		return nil, fmt.Errorf("transforms: %w", err)
	}
	return b, nil
}
