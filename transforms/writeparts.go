package transforms

import (
	"context"
	"fmt"
	"hash/fnv"
	"reflect"
	"slices"
	"strings"

	mathrand "math/rand/v2"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/vindex/vindex/schema"
	"github.com/vindex/vindex/storage"
)

func init() {
	beam.RegisterType(reflect.TypeOf((*rowOrigin)(nil)).Elem())
	beam.RegisterType(reflect.TypeOf((*originBatch)(nil)).Elem())
	beam.RegisterType(reflect.TypeOf((*partRow)(nil)).Elem())
	beam.RegisterType(reflect.TypeOf((*writePartsFn)(nil)).Elem())
	beam.RegisterType(reflect.TypeOf((*dedupeOriginsFn)(nil)).Elem())
	beam.RegisterType(reflect.TypeOf((*finalizePartsFn)(nil)).Elem())
	register.Emitter2[int, originBatch]()
	register.Iter1[originBatch]()
	register.Emitter1[partRow]()
	register.Iter1[partRow]()
	register.Emitter1[string]()
}

// DefaultPartRows is the most rows WriteUniqueEmbeddings puts in one part
// file when WriteOptions.PartRows is 0.
const DefaultPartRows = 65536

// partRowGroupRows is the row-group size of WriteUniqueEmbeddings' parts when
// WriteOptions.RowGroupRows is 0. A Parquet writer holds a whole row group
// in memory until it flushes it, so this bounds what a bundle holds: 1024
// rows of d = 256 with metadata are ~1.5 MB (schema's default for
// embeddings, 16,384 rows, let a bundle's memory grow with the catalog up
// to ~25 MB per writer).
const partRowGroupRows = 1024

// rowOrigin is where one written embedding row came from (the features'
// file and row, and the first 16 hex digits of its content hash: the
// tie-break of compareOrigin, for a file read twice) and where it went (its
// part file, by id, and row in it). It is all that crosses the
// de-duplication shuffle (in originBatch): ~90 bytes a song instead of the
// whole row.
type rowOrigin struct {
	SongID  string
	File    string
	Row     int64
	Hash    string
	Part    uint64
	PartRow int64
}

// originBatch is the origins of one part's rows whose song_id falls in one
// bucket (hash of the song_id mod dedupeBuckets). Origins are shuffled in
// these batches, keyed by bucket, rather than one element per song keyed by
// song_id: prism keeps per-key state of a few kB for every key of a
// GroupByKey (measured: ~6 kB a song with song_id keys), which grew
// `vindex embed`'s memory with the catalog.
type originBatch struct {
	Origins []rowOrigin
}

// dedupeBuckets is the number of keys of the dedupe shuffle: enough to
// spread de-duplication over a cluster's workers, few enough that per-key
// state does not matter; a bucket of a 10⁷-song catalog holds ~20 MB of
// origins.
const dedupeBuckets = 64

func dedupeBucket(songID string) int {
	h := fnv.New32a()
	h.Write([]byte(songID))
	return int(h.Sum32() % dedupeBuckets)
}

// partRow names one row of one part file.
type partRow struct {
	Part uint64
	Row  int64
}

// WriteUniqueEmbeddings writes a PCollection<schema.Embedding> to dir as a
// dataset with one row per song_id, without ever gathering the rows:
//
//   - a ParDo placed right after the network (it fuses with it) streams each
//     bundle's rows into part files of at most opt.PartRows rows
//     (part-<random 48-bit id>-00000-of-00001.parquet, written under a temporary name and
//     committed when full and at the end of the bundle), and emits, per
//     part, its name, rows, size and SHA-256, and per row only its origin
//     (song_id, features file and row, a prefix of the content hash, part id and row in it);
//   - the origins are shuffled in batches (one per part and bucket, 64
//     buckets by a hash of the song_id) and de-duplicated per bucket: among
//     copies of a song_id the one
//     first by (file, row, content hash) is kept, exactly as
//     DedupeEmbeddings chooses, and each other copy becomes a reject of stage
//     schema.StageDedupe with the same reason and counters;
//   - a finalizer takes the committed parts and the dropped rows as side
//     inputs, rewrites each part that holds a dropped row without it (under a
//     new name; the old part is removed once the manifest no longer lists
//     it), writes _manifest.json last, then removes temporary files and
//     part files it does not list (those of retried bundles, whose output
//     the runner discarded, and of earlier failed runs).
//
// Memory is therefore bounded per worker (one row group of rows per part
// being written: opt.RowGroupRows, 1024 when 0) whatever the catalog's size, and only the small origins
// cross a stage boundary. A folder never holds a manifest that lists an
// incomplete file; a re-run writes the same rows (part names and the
// spread of rows over parts depend on bundling). It returns done, a
// PCollection<string> holding dir once the manifest is written (a side input
// for stages that read the dataset back), and the dedupe rejects
// (PCollection<schema.Reject>).
func WriteUniqueEmbeddings(s beam.Scope, dir string, embs beam.PCollection, opt WriteOptions) (done, rejects beam.PCollection) {
	s = s.Scope("transforms.WriteUniqueEmbeddings")
	if err := opt.Validate(); err != nil {
		panic(err)
	}
	if dir == "" {
		panic("transforms: WriteUniqueEmbeddings: empty output folder")
	}
	if opt.PartRows == 0 {
		opt.PartRows = DefaultPartRows
	}
	if opt.RowGroupRows == 0 {
		opt.RowGroupRows = partRowGroupRows
	}
	dir = strings.TrimSuffix(dir, "/")
	runID := storage.RandomHex(6)
	parts, origins := beam.ParDo2(s, &writePartsFn{Dir: dir, RunID: runID, RowGroupRows: opt.RowGroupRows, PartRows: opt.PartRows}, embs)
	drops, rejects := beam.ParDo2(s, &dedupeOriginsFn{}, beam.GroupByKey(s, origins))
	done = beam.ParDo(s, &finalizePartsFn{Dir: dir, RunID: runID, Command: opt.Command, RowGroupRows: opt.RowGroupRows},
		beam.Impulse(s), beam.SideInput{Input: parts}, beam.SideInput{Input: drops})
	return done, rejects
}

// uniquePart returns a random 48-bit part id and the part's file name.
// (runID is recorded in the manifest, not in part names.)
func uniquePart(runID string) (uint64, string) {
	id := mathrand.Uint64() & (1<<48 - 1)
	return id, partFileName(runID, id)
}

// partFileName is the name of part id: part-<12 hex digits>-00000-of-00001.parquet,
// the form of vindex's sharded part names (part-<run>-<i>-of-<n>), so that a
// folder of parts without a manifest (an interrupted run) is recognised as
// vindex's incomplete output (schema.ErrIncomplete), not read as a foreign
// dataset. Collisions among a run's parts are negligible (48 random bits).
func partFileName(_ string, id uint64) string {
	return fmt.Sprintf("%s%012x-00000-of-00001.parquet", schema.PartPrefix, id)
}

// openPart is a part file being written.
type openPart struct {
	id   uint64
	name string
	out  *storage.Writer
	hw   *schema.HashWriter
	w    *schema.RowWriter
}

func createPart(ctx context.Context, dir, runID string, rowGroupRows int64) (*openPart, error) {
	id, name := uniquePart(runID)
	out, err := storage.Create(ctx, storage.Join(dir, name))
	if err != nil {
		return nil, fmt.Errorf("transforms: %w", err)
	}
	hw := schema.NewHashWriter(out) // size and SHA-256 for the manifest, hashed as written
	w, err := schema.NewRowWriter(hw, reflect.TypeOf(schema.Embedding{}), schema.EmbeddingSchemaVersion, schema.WriterOptions{RowGroupRows: rowGroupRows})
	if err != nil {
		out.Abort()
		return nil, fmt.Errorf("transforms: %w", err)
	}
	return &openPart{id: id, name: name, out: out, hw: hw, w: w}, nil
}

func (p *openPart) write(e *schema.Embedding) error {
	if err := p.w.Write(e); err != nil {
		p.out.Abort()
		return fmt.Errorf("transforms: %s: %w", p.out.Name(), err)
	}
	return nil
}

// commit closes the part, publishes it and returns what the manifest needs.
func (p *openPart) commit() (shardFile, error) {
	if err := p.w.Close(); err != nil {
		p.out.Abort()
		return shardFile{}, fmt.Errorf("transforms: %s: %w", p.out.Name(), err)
	}
	if err := p.out.Commit(); err != nil { // fsyncs the file and its folder before the manifest is written
		return shardFile{}, fmt.Errorf("transforms: %w", err)
	}
	return shardFile{Name: p.name, Rows: p.w.Rows(), Bytes: p.hw.Size(), SHA256: p.hw.SHA256()}, nil
}

// writePartsFn streams a bundle's embeddings into part files.
type writePartsFn struct {
	Dir, RunID   string
	RowGroupRows int64
	PartRows     int64

	part    *openPart
	origins [dedupeBuckets][]rowOrigin // of the open part's rows, by bucket
}

func (f *writePartsFn) StartBundle(emitPart func(shardFile), emitOrigin func(int, originBatch)) {
	f.part = nil
	f.origins = [dedupeBuckets][]rowOrigin{}
}

func (f *writePartsFn) ProcessElement(ctx context.Context, e schema.Embedding, emitPart func(shardFile), emitOrigin func(int, originBatch)) error {
	if f.part == nil {
		p, err := createPart(ctx, f.Dir, f.RunID, f.RowGroupRows)
		if err != nil {
			return err
		}
		f.part = p
	}
	row := f.part.w.Rows()
	if err := f.part.write(&e); err != nil {
		f.part = nil
		return err
	}
	b := dedupeBucket(e.SongID)
	f.origins[b] = append(f.origins[b], rowOrigin{SongID: e.SongID, File: e.File, Row: e.Row,
		Hash: e.ContentHash[:min(16, len(e.ContentHash))], Part: f.part.id, PartRow: row})
	if f.part.w.Rows() >= f.PartRows {
		return f.commit(emitPart, emitOrigin)
	}
	return nil
}

func (f *writePartsFn) FinishBundle(emitPart func(shardFile), emitOrigin func(int, originBatch)) error {
	return f.commit(emitPart, emitOrigin)
}

// Teardown discards a part a failed bundle left open.
func (f *writePartsFn) Teardown() {
	if f.part != nil {
		f.part.out.Abort()
		f.part = nil
	}
}

// commit publishes the open part, then emits it and its rows' origins.
func (f *writePartsFn) commit(emitPart func(shardFile), emitOrigin func(int, originBatch)) error {
	if f.part == nil {
		return nil
	}
	p := f.part
	f.part = nil
	sf, err := p.commit()
	if err != nil {
		return err
	}
	emitPart(sf)
	for b, os := range f.origins {
		if len(os) > 0 {
			emitOrigin(b, originBatch{Origins: os})
		}
		f.origins[b] = nil
	}
	return nil
}

// dedupeOriginsFn de-duplicates one bucket: for each song_id it keeps the
// first origin (by compareOrigins) and drops the others, a partRow to
// remove from its part and a reject each.
type dedupeOriginsFn struct{}

func (dedupeOriginsFn) ProcessElement(ctx context.Context, _ int, batches func(*originBatch) bool, drop func(partRow), reject func(schema.Reject)) {
	byID := map[string][]rowOrigin{}
	var b originBatch
	for batches(&b) {
		for _, o := range b.Origins {
			byID[o.SongID] = append(byID[o.SongID], o)
		}
		b = originBatch{}
	}
	for id, all := range byID {
		if len(all) < 2 {
			continue
		}
		slices.SortFunc(all, compareOrigins)
		first := all[0]
		for _, d := range all[1:] {
			CountRejected(ctx, 1)
			duplicatedCounter.Inc(ctx, 1)
			drop(partRow{Part: d.Part, Row: d.PartRow})
			reject(duplicateReject(id, d.File, d.Row, first.File, first.Row))
		}
	}
}

// compareOrigins orders origins like compareOrigin orders rows: by file
// path, then row, then content hash (then part and row in it, so that the
// order is total even for a row written twice).
func compareOrigins(a, b rowOrigin) int {
	if c := strings.Compare(a.File, b.File); c != 0 {
		return c
	}
	if a.Row != b.Row {
		if a.Row < b.Row {
			return -1
		}
		return 1
	}
	if c := strings.Compare(a.Hash, b.Hash); c != 0 {
		return c
	}
	switch {
	case a.Part < b.Part:
		return -1
	case a.Part > b.Part:
		return 1
	}
	switch {
	case a.PartRow < b.PartRow:
		return -1
	case a.PartRow > b.PartRow:
		return 1
	}
	return 0
}

// finalizePartsFn removes dropped rows from the parts, writes the manifest
// and removes leftovers; it emits the folder when done.
type finalizePartsFn struct {
	Dir, RunID, Command string
	RowGroupRows        int64
}

func (f *finalizePartsFn) ProcessElement(ctx context.Context, _ []byte, parts func(*shardFile) bool, drops func(*partRow) bool, emit func(string)) error {
	byName := map[string]shardFile{}
	var sf shardFile
	for parts(&sf) {
		byName[sf.Name] = sf
	}
	dropped := map[string]map[int64]bool{} // by part name
	var d partRow
	for drops(&d) {
		name := partFileName(f.RunID, d.Part)
		if dropped[name] == nil {
			dropped[name] = map[int64]bool{}
		}
		dropped[name][d.Row] = true
	}
	for name, rows := range dropped {
		if _, ok := byName[name]; !ok {
			return fmt.Errorf("transforms: WriteUniqueEmbeddings: a dropped row names part %s, which no bundle committed", name)
		}
		nf, err := f.rewrite(ctx, name, rows)
		if err != nil {
			return err
		}
		delete(byName, name) // removed with the leftovers once the manifest is written
		if nf.Rows > 0 {
			byName[nf.Name] = nf
		}
	}
	if len(byName) == 0 {
		// No rows: still a dataset that DuckDB and pyarrow read with
		// read_parquet('dir/*.parquet'), one zero-row file with the schema.
		p, err := createPart(ctx, f.Dir, f.RunID, f.RowGroupRows)
		if err != nil {
			return err
		}
		sf, err := p.commit()
		if err != nil {
			return err
		}
		byName[sf.Name] = sf
	}
	fin := finalizeFn{Dir: f.Dir, RunID: f.RunID, Schema: schema.EmbeddingSchemaVersion, Command: f.Command}
	if err := fin.publish(ctx, byName); err != nil {
		return err
	}
	emit(f.Dir)
	return nil
}

// rewrite copies part name without the rows in drop into a new part.
func (f *finalizePartsFn) rewrite(ctx context.Context, name string, drop map[int64]bool) (shardFile, error) {
	path := storage.Join(f.Dir, name)
	o := &storage.Opener{}
	defer o.Close()
	pf, closer, err := openDatasetFile(ctx, o, path)
	if err != nil {
		return shardFile{}, err
	}
	defer closer.Close()
	p, err := createPart(ctx, f.Dir, f.RunID, f.RowGroupRows)
	if err != nil {
		return shardFile{}, err
	}
	row := int64(0)
	for g := range pf.NumRowGroups() {
		for e, err := range pf.EmbeddingRange(g, 0, pf.RowGroupRows(g)) {
			if err != nil {
				p.out.Abort()
				return shardFile{}, fmt.Errorf("transforms: rewriting %s: %w", path, err)
			}
			if !drop[row] {
				if err := p.write(&e); err != nil {
					return shardFile{}, err
				}
			}
			row++
		}
	}
	return p.commit()
}
