package transforms

import (
	"context"
	"fmt"
	mathrand "math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/vindex/vindex/schema"
	"github.com/vindex/vindex/storage"
)

func init() {
	beam.RegisterType(reflect.TypeOf((*shardFile)(nil)).Elem())
	beam.RegisterType(reflect.TypeOf((*shardKeyFn)(nil)).Elem())
	register.Emitter2[int, beam.T]()
	beam.RegisterType(reflect.TypeOf((*writeShardFn)(nil)).Elem())
	register.Iter1[beam.T]()
	register.Emitter1[shardFile]()
	beam.RegisterType(reflect.TypeOf((*finalizeFn)(nil)).Elem())
	register.Iter1[shardFile]()
}

// DefaultShards is the number of part files when WriteOptions.Shards is 0.
const DefaultShards = 16

// WriteOptions configures the sharded writers.
type WriteOptions struct {
	// Shards is the number of part files (at most; empty shards write no
	// file); 0 means DefaultShards.
	Shards int
	// Command is recorded in the manifest: the command line that produced
	// the output.
	Command string
	// Schema is the schema version recorded in the files and the manifest;
	// "" means schema.SchemaVersionOf the row type. WriteEmbeddings and
	// WriteRejects set it.
	Schema string
	// RowGroupRows is the number of rows per row group (0: schema's default).
	RowGroupRows int64
	// PartRows is the most rows WriteUniqueEmbeddings writes into one part
	// file (0: DefaultPartRows); WriteParquet ignores it.
	PartRows int64
}

// Validate reports whether the options are usable.
func (o WriteOptions) Validate() error {
	if o.Shards < 0 || o.Shards > 100000 {
		return fmt.Errorf("transforms: Shards %d out of range [0, 100000]", o.Shards)
	}
	if o.RowGroupRows < 0 {
		return fmt.Errorf("transforms: RowGroupRows %d is negative", o.RowGroupRows)
	}
	if o.PartRows < 0 {
		return fmt.Errorf("transforms: PartRows %d is negative", o.PartRows)
	}
	return nil
}

// WriteEmbeddings writes a PCollection<schema.Embedding> to dir as sharded
// Parquet part files plus a _manifest.json (see WriteParquet).
func WriteEmbeddings(s beam.Scope, dir string, embs beam.PCollection, opt WriteOptions) {
	s = s.Scope("transforms.WriteEmbeddings")
	opt.Schema = schema.EmbeddingSchemaVersion
	writeParquet(s, dir, embs, opt)
}

// WriteRejects flattens PCollection<schema.Reject>s and writes them to dir
// like WriteParquet. With no rejects (or no collections) dir still gets a
// manifest listing no files, so a reader can tell "none" from "not written".
func WriteRejects(s beam.Scope, dir string, opt WriteOptions, rejects ...beam.PCollection) {
	s = s.Scope("transforms.WriteRejects")
	var all beam.PCollection
	switch len(rejects) {
	case 0:
		all = beam.CreateList(s, []schema.Reject{})
	case 1:
		all = rejects[0]
	default:
		all = beam.Flatten(s, rejects...)
	}
	opt.Schema = schema.RejectSchemaVersion
	writeParquet(s, dir, all, opt)
}

// WriteParquet writes a PCollection of Parquet row structs (any type with
// parquet tags, registered with beam.RegisterType) to dir, local or any
// scheme of Beam's filesystem layer:
//
//   - rows are spread round-robin over opt.Shards keys and grouped, so every
//     shard is written by its own worker (never one funnel);
//   - each shard is written under a temporary name (schema.TempPrefix) and
//     renamed to part-<run>-<shard>-of-<shards>.parquet when complete; a
//     retried shard replaces its file;
//   - when every shard is done (each part file fsynced, and its folder),
//     _manifest.json is written (atomically, durably) with the files, their
//     row counts, sizes and SHA-256 (hashed as written), the schema version and
//     opt.Command; then temporary files and part files the manifest does not
//     list are removed.
//
// A folder therefore never holds a manifest that lists an incomplete file,
// and readers (schema.ListDataset, ReadSongs, ReadEmbeddings) trust only the
// manifest. A folder belongs to one writer at a time.
//
// Invalid options panic: they are programmer errors, checked by callers'
// Config validation.
func WriteParquet(s beam.Scope, dir string, rows beam.PCollection, opt WriteOptions) {
	s = s.Scope("transforms.WriteParquet")
	writeParquet(s, dir, rows, opt)
}

func writeParquet(s beam.Scope, dir string, rows beam.PCollection, opt WriteOptions) {
	if err := opt.Validate(); err != nil {
		panic(err)
	}
	if dir == "" {
		panic("transforms: WriteParquet: empty output folder")
	}
	t := rows.Type().Type()
	if opt.Shards == 0 {
		opt.Shards = DefaultShards
	}
	if opt.Schema == "" {
		opt.Schema = schema.SchemaVersionOf(t)
	}
	dir = strings.TrimSuffix(dir, "/")
	runID := storage.RandomHex(6)
	keyed := beam.ParDo(s, &shardKeyFn{Shards: opt.Shards}, rows)
	grouped := beam.GroupByKey(s, keyed)
	files := beam.ParDo(s, &writeShardFn{
		Dir: dir, RunID: runID, Shards: opt.Shards, Schema: opt.Schema,
		RowGroupRows: opt.RowGroupRows, Type: beam.EncodedType{T: t},
	}, grouped)
	beam.ParDo0(s, &finalizeFn{Dir: dir, RunID: runID, Schema: opt.Schema, Command: opt.Command, Type: beam.EncodedType{T: t}},
		beam.Impulse(s), beam.SideInput{Input: files})
}

// shardFile is what a shard writer reports to the finalizer.
type shardFile struct {
	Name   string // base name in Dir
	Rows   int64
	Bytes  int64
	SHA256 string // hex SHA-256 of the file's bytes
}

// shardKeyFn assigns rows to shards round-robin from a random start.
type shardKeyFn struct {
	Shards int
	next   int
}

func (f *shardKeyFn) Setup() { f.next = mathrand.IntN(max(f.Shards, 1)) }

func (f *shardKeyFn) ProcessElement(row beam.T, emit func(int, beam.T)) {
	f.next = (f.next + 1) % f.Shards
	emit(f.next, row)
}

// writeShardFn writes one shard's rows to one part file.
type writeShardFn struct {
	Dir, RunID, Schema string
	Shards             int
	RowGroupRows       int64
	Type               beam.EncodedType
}

// PartName returns the name of shard i of n of run runID.
func partName(runID string, i, n int) string {
	return fmt.Sprintf("%s%s-%05d-of-%05d.parquet", schema.PartPrefix, runID, i, n)
}

func (f *writeShardFn) ProcessElement(ctx context.Context, shard int, rows func(*beam.T) bool) (shardFile, error) {
	name := partName(f.RunID, shard, f.Shards)
	final := storage.Join(f.Dir, name)
	out, err := storage.Create(ctx, final)
	if err != nil {
		return shardFile{}, fmt.Errorf("transforms: %w", err)
	}
	hw := schema.NewHashWriter(out) // size and SHA-256 for the manifest, hashed as written
	w, err := schema.NewRowWriter(hw, f.Type.T, f.Schema, schema.WriterOptions{RowGroupRows: f.RowGroupRows})
	if err != nil {
		out.Abort()
		return shardFile{}, fmt.Errorf("transforms: %w", err)
	}
	var row beam.T
	for rows(&row) {
		if err := w.Write(row); err != nil {
			out.Abort()
			return shardFile{}, fmt.Errorf("transforms: %s: %w", final, err)
		}
	}
	if err := w.Close(); err != nil {
		out.Abort()
		return shardFile{}, fmt.Errorf("transforms: %s: %w", final, err)
	}
	if err := out.Commit(); err != nil { // fsyncs the file and its folder before the manifest is written
		return shardFile{}, fmt.Errorf("transforms: %w", err)
	}
	return shardFile{Name: name, Rows: w.Rows(), Bytes: hw.Size(), SHA256: hw.SHA256()}, nil
}

// finalizeFn writes the manifest once every shard is written (the shards
// arrive as a side input), then removes leftovers.
type finalizeFn struct {
	Dir, RunID, Schema, Command string
	Type                        beam.EncodedType
}

func (f *finalizeFn) ProcessElement(ctx context.Context, _ []byte, shards func(*shardFile) bool) error {
	byName := map[string]shardFile{}
	var sf shardFile
	for shards(&sf) {
		byName[sf.Name] = sf
	}
	if len(byName) == 0 {
		// No rows: still a dataset that DuckDB and pyarrow read with
		// read_parquet('dir/*.parquet'), one zero-row file with the schema.
		empty := writeShardFn{Dir: f.Dir, RunID: f.RunID, Shards: 1, Schema: f.Schema, Type: f.Type}
		sf, err := empty.ProcessElement(ctx, 0, func(*beam.T) bool { return false })
		if err != nil {
			return err
		}
		byName[sf.Name] = sf
	}
	return f.publish(ctx, byName)
}

// publish writes the manifest listing the files of byName, then removes
// temporary files and part files it does not list.
func (f *finalizeFn) publish(ctx context.Context, byName map[string]shardFile) error {
	m := schema.Manifest{
		Version: schema.ManifestVersion, Schema: f.Schema, Command: f.Command, RunID: f.RunID,
		Created: time.Now().UTC().Format(time.RFC3339), Files: []schema.ManifestFile{},
	}
	for _, sf := range byName {
		m.Files = append(m.Files, schema.ManifestFile{Name: sf.Name, Rows: sf.Rows, Bytes: sf.Bytes, Schema: f.Schema, SHA256: sf.SHA256})
		m.Rows += sf.Rows
	}
	slices.SortFunc(m.Files, func(a, b schema.ManifestFile) int { return strings.Compare(a.Name, b.Name) })
	data, err := schema.MarshalManifest(m)
	if err != nil {
		return fmt.Errorf("transforms: %s: %w", f.Dir, err)
	}
	manifest := storage.Join(f.Dir, schema.ManifestName)
	if err := storage.WriteFile(ctx, manifest, data); err != nil {
		return fmt.Errorf("transforms: writing %s: %w", manifest, err)
	}
	// Remove temporary files and part files the manifest does not list.
	existing, err := storage.List(ctx, storage.Join(f.Dir, "*"))
	if err != nil {
		return nil
	}
	for _, p := range existing {
		base := storage.Base(p)
		_, listed := byName[base]
		stale := strings.HasPrefix(base, schema.PartPrefix) && strings.HasSuffix(base, ".parquet") && !listed
		if stale || strings.HasPrefix(base, schema.TempPrefix) {
			_ = storage.Remove(ctx, p)
		}
	}
	return nil
}
