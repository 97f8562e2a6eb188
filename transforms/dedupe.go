package transforms

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/vindex/vindex/schema"
)

func init() {
	beam.RegisterType(reflect.TypeOf((*dedupeFn)(nil)).Elem())
	register.Function1x2(keyBySongID)
}

// SongsDuplicated counts rows rejected because an earlier row (by file path,
// then row) has the same song_id.
const SongsDuplicated = "songs_duplicated"

var duplicatedCounter = NewProgressCounter(SongsDuplicated)

// DedupeEmbeddings keeps one embedding per song_id of a
// PCollection<schema.Embedding>: among rows with the same song_id, the one
// first in (File, Row) order (the features' file path, then the row in that
// file; see schema.Embedding.CarryMetadata) is kept, and every other copy
// becomes a schema.Reject of stage schema.StageDedupe whose reason names the
// kept row's file and row and the copy's own. It returns the unique
// embeddings and the rejects (PCollection<schema.Reject>).
//
// The choice is deterministic whatever the bundle split or shard count: it
// depends only on each row's origin. Rows of equal origin (the same file read
// twice by overlapping patterns) are ordered by content hash, so the kept row
// is still the same one every run.
//
// Embeddings (~1 KB) cross one GroupByKey here; features never do, because
// de-duplication runs after the network (a duplicated song is embedded once
// per copy, which costs time but keeps reading and embedding fused).
func DedupeEmbeddings(s beam.Scope, embs beam.PCollection) (unique, rejects beam.PCollection) {
	s = s.Scope("transforms.DedupeEmbeddings")
	grouped := beam.GroupByKey(s, beam.ParDo(s, keyBySongID, embs))
	return beam.ParDo2(s, &dedupeFn{}, grouped)
}

func keyBySongID(e schema.Embedding) (string, schema.Embedding) { return e.SongID, e }

// dedupeFn keeps the first row of one song_id's group.
type dedupeFn struct{}

func (dedupeFn) ProcessElement(ctx context.Context, id string, rows func(*schema.Embedding) bool, emit func(schema.Embedding), reject func(schema.Reject)) {
	var first schema.Embedding
	var dups []schema.Embedding
	n := 0
	var e schema.Embedding
	for rows(&e) {
		if n == 0 {
			first = e
		} else if compareOrigin(&e, &first) < 0 {
			dups = append(dups, first)
			first = e
		} else {
			dups = append(dups, e)
		}
		n++
		e = schema.Embedding{}
	}
	if n == 0 {
		return
	}
	emit(first)
	slices.SortFunc(dups, func(a, b schema.Embedding) int { return compareOrigin(&a, &b) })
	for i := range dups {
		d := &dups[i]
		CountRejected(ctx, 1)
		duplicatedCounter.Inc(ctx, 1)
		reject(duplicateReject(id, d.File, d.Row, first.File, first.Row))
	}
}

// duplicateReject is the reject of the copy of song id at file, row whose
// kept copy is at keptFile, keptRow.
func duplicateReject(id, file string, row int64, keptFile string, keptRow int64) schema.Reject {
	return schema.Reject{SongID: id, File: file, Stage: schema.StageDedupe,
		Reason: fmt.Sprintf("duplicate song_id %q: %s row %d repeats %s row %d (kept)", id, orUnknown(file), row, orUnknown(keptFile), keptRow)}
}

// compareOrigin orders rows by file path, then row, then content hash.
func compareOrigin(a, b *schema.Embedding) int {
	if c := strings.Compare(a.File, b.File); c != 0 {
		return c
	}
	if a.Row != b.Row {
		if a.Row < b.Row {
			return -1
		}
		return 1
	}
	return strings.Compare(a.ContentHash, b.ContentHash)
}

func orUnknown(file string) string {
	if file == "" {
		return "(unknown file)"
	}
	return file
}
