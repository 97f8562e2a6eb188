package reindex

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"
	"github.com/parquet-go/parquet-go"

	"github.com/vindex/vindex/importer/synth"
	"github.com/vindex/vindex/model"
	"github.com/vindex/vindex/model/reduce"
	"github.com/vindex/vindex/pipelines/index"
	"github.com/vindex/vindex/runners"
	"github.com/vindex/vindex/schema"
	"github.com/vindex/vindex/transforms"
)

func TestMain(m *testing.M) { ptest.MainWithDefault(m, "prism") }

// tinyCatalog is a synthetic catalog of 6 works × 3 versions + 4 noise songs
// of 35–40 s at the model rate.
func tinyCatalog() synth.Config {
	c := synth.Small()
	c.Works, c.Versions, c.Noise, c.Seed = 6, 3, 4, 7
	c.MeanDurationS, c.SDDurationS, c.MinDurationS, c.MaxDurationS = 37, 2, 35, 40
	c.SongsPerFile, c.RowGroupRows = 8, 4
	return c
}

func reindexOnce(t *testing.T, cfg Config) *Summary {
	t.Helper()
	ctx := context.Background()
	plan, err := Prepare(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer plan.Close()
	p, s := beam.NewPipelineWithRoot()
	Build(s, plan)
	res, err := runners.Run(ctx, p, runners.Options{})
	if err != nil {
		t.Fatal(err)
	}
	sum, err := Publish(plan, res.Counters())
	if err != nil {
		t.Fatal(err)
	}
	return sum
}

func readSet(t *testing.T, dir, set string) map[string]schema.Embedding {
	t.Helper()
	embs, err := schema.ReadEmbeddingsFiles(filepath.Join(dir, set, "*.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]schema.Embedding{}
	for _, e := range embs {
		m[e.SongID] = e
	}
	return m
}

func sameBits(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return false
		}
	}
	return true
}

// TestReindex runs the nightly job three times: a first version, a second
// on the same catalog (no embedding work, identical embeddings), and a third
// after a song was removed, one changed and one added.
func TestReindex(t *testing.T) {
	defer syscall.Umask(syscall.Umask(0o022))
	dir := t.TempDir()
	catalog := filepath.Join(dir, "catalog")
	cat := tinyCatalog()
	if _, err := synth.Generate(cat, catalog); err != nil {
		t.Fatal(err)
	}
	n := cat.Works*cat.Versions + cat.Noise
	weights := filepath.Join(dir, "w.safetensors")
	if err := model.SeededCheckpointFile(weights, 64, 3); err != nil {
		t.Fatal(err)
	}
	idx := filepath.Join(dir, "index")
	cfg := Config{Catalog: filepath.Join(catalog, "*.parquet"), Index: idx, Weights: weights,
		Fit: transforms.FitConfig{Method: reduce.PCA, K: 8}, Shards: 2, Command: "test", Keep: 2}

	// 1. The first version embeds everything.
	s1 := reindexOnce(t, cfg)
	if s1.Version != "v0001" || s1.Added != n || s1.Carried != 0 || s1.Embedded != int64(n) || !s1.Refit {
		t.Fatalf("first run: %+v, want v0001 with %d added and embedded, a fitted reducer", s1, n)
	}
	if cur, _ := Current(idx); cur != "v0001" {
		t.Fatalf("CURRENT = %q after the first run", cur)
	}
	if s1.MAP == nil {
		t.Errorf("first run: no MAP although the catalog carries work_ids")
	}

	// 2. The same catalog again: nothing embedded, identical embeddings.
	cfg.Weights = "" // taken from the current version
	s2 := reindexOnce(t, cfg)
	if s2.Version != "v0002" || s2.Embedded != 0 || s2.Carried != n || s2.Added+s2.Changed+s2.Removed != 0 || s2.Refit {
		t.Fatalf("second run: %+v, want v0002 with %d carried, nothing embedded, the reducer reused", s2, n)
	}
	if s2.DeltaMAP == nil || *s2.DeltaMAP != 0 {
		t.Errorf("second run: MAP change %v, want exactly 0", s2.DeltaMAP)
	}
	for _, set := range []string{index.EmbeddingsDir, index.CompactDir} {
		a, b := readSet(t, filepath.Join(idx, "v0001"), set), readSet(t, filepath.Join(idx, "v0002"), set)
		if len(a) != n || len(b) != n {
			t.Fatalf("%s: %d and %d rows, want %d", set, len(a), len(b), n)
		}
		for id, e := range a {
			if !sameBits(e.Embedding, b[id].Embedding) || e.ContentHash != b[id].ContentHash {
				t.Fatalf("%s: song %s differs between v0001 and v0002", set, id)
			}
		}
	}

	// 3. Remove one song, change one, add one.
	songs := map[string]schema.Song{}
	files, err := schema.ListDataset(cfg.Catalog)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		ss, err := schema.ReadSongsFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range ss {
			songs[s.SongID] = s
		}
	}
	ids := make([]string, 0, len(songs))
	for id := range songs {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	removed, changed := ids[0], ids[1]
	delete(songs, removed)
	c := songs[changed]
	c.Crema = append([]float32(nil), c.Crema...)
	synth.Roll(c.Crema[:12*40], 1) // an edit of the first 40 frames
	songs[changed] = c
	added := songs[ids[2]]
	added.SongID = "new-song"
	songs[added.SongID] = added
	catalog2 := filepath.Join(dir, "catalog2")
	if err := os.MkdirAll(catalog2, 0o755); err != nil {
		t.Fatal(err)
	}
	var rows []schema.Song
	for _, s := range songs {
		rows = append(rows, s)
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].SongID < rows[j].SongID })
	if err := schema.WriteSongsFile(filepath.Join(catalog2, "songs.parquet"), rows, schema.WriterOptions{RowGroupRows: 5}); err != nil {
		t.Fatal(err)
	}
	cfg.Catalog = filepath.Join(catalog2, "*.parquet")
	s3 := reindexOnce(t, cfg)
	if s3.Version != "v0003" || s3.Added != 1 || s3.Changed != 1 || s3.Removed != 1 || s3.Carried != n-2 || s3.Embedded != 2 {
		t.Fatalf("third run: %+v, want 1 added, 1 changed, 1 removed, %d carried, 2 embedded", s3, n-2)
	}
	v3 := readSet(t, filepath.Join(idx, "v0003"), index.EmbeddingsDir)
	if _, ok := v3[removed]; ok {
		t.Errorf("removed song %s still in v0003", removed)
	}
	if cur, _ := Current(idx); cur != "v0003" {
		t.Fatalf("CURRENT = %q after the third run", cur)
	}
	// Retention (Keep 2) removed v0001 after the switch.
	vs, err := Versions(context.Background(), idx)
	if err != nil {
		t.Fatal(err)
	}
	if len(vs) != 2 || vs[0].Name != "v0002" || vs[1].Name != "v0003" || !vs[1].Current || vs[0].Current ||
		vs[1].Info == nil || vs[1].Info.Songs != int64(n) || vs[1].MAP == nil {
		t.Errorf("versions after the third run: %+v, want v0002 and v0003 (current, %d songs, with MAP)", vs, n)
	}
	if len(s3.Pruned) != 1 || s3.Pruned[0] != "v0001" {
		t.Errorf("third run pruned %v, want [v0001]", s3.Pruned)
	}
	// Every published file is readable by other users (umask 022 here).
	assertModes(t, idx, 0o644, 0o755)

	// Roll back to v0002, atomically and under the lock.
	prev, err := Rollback(context.Background(), idx, "v0002", 0, "test")
	if err != nil || prev != "v0003" {
		t.Fatalf("Rollback = %q, %v; want previous v0003", prev, err)
	}
	if cur, _ := Current(idx); cur != "v0002" {
		t.Fatalf("CURRENT = %q after rollback", cur)
	}
	if _, err := Rollback(context.Background(), idx, "v0001", 0, "test"); err == nil {
		t.Error("rollback to a removed version: want an error")
	}
}

// assertModes checks the permissions of every file and folder under root.
func assertModes(t *testing.T, root string, file, dir os.FileMode) {
	t.Helper()
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		st, err := d.Info()
		if err != nil {
			return err
		}
		want := file
		if d.IsDir() {
			want = dir
		}
		if st.Mode().Perm() != want {
			t.Errorf("%s: mode %v, want %v", p, st.Mode().Perm(), want)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// writeInfo makes dir/name a complete (if empty) version.
func writeInfo(t *testing.T, dir, name string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Join(dir, name), 0o755); err != nil {
		t.Fatal(err)
	}
	b := []byte(`{"format": "` + index.FormatVersion + `", "songs": 1}`)
	if err := os.WriteFile(filepath.Join(dir, name, index.InfoFile), b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestIncompleteVersionIsRemoved checks that a version folder without
// index.json (a failed or killed run) is never current and is removed by
// the next run, whose version takes its number.
func TestIncompleteVersionIsRemoved(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	writeInfo(t, dir, "v0001")
	if err := os.MkdirAll(filepath.Join(dir, "v0002", "embeddings"), 0o755); err != nil { // killed run
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "v0002", "embeddings", "part-x.parquet"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := switchCurrent(ctx, dir, nil, "v0001"); err != nil {
		t.Fatal(err)
	}
	removed, err := removeIncomplete(ctx, dir, "v0001")
	if err != nil || len(removed) != 1 || removed[0] != "v0002" {
		t.Fatalf("removeIncomplete = %v, %v; want [v0002]", removed, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "v0002")); !os.IsNotExist(err) {
		t.Fatalf("v0002 still there: %v", err)
	}
	v, err := nextVersion(ctx, dir)
	if err != nil || v != "v0002" {
		t.Fatalf("nextVersion = %q, %v; want v0002", v, err)
	}
	if cur, _ := Current(dir); cur != "v0001" {
		t.Fatalf("Current = %q, want v0001", cur)
	}
	if _, err := CurrentDir(t.TempDir()); err == nil {
		t.Fatal("CurrentDir of an empty folder: want an error")
	}
	for _, bad := range []string{"..", "v0001/..", "../v0001", "x"} {
		if err := os.WriteFile(filepath.Join(dir, CurrentFile), []byte(bad+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := CurrentDir(dir); err == nil {
			t.Errorf("CURRENT %q: want an error", bad)
		}
	}
}

// TestSwitchConflict: of two runs started from the same CURRENT, exactly
// one switches it; the other gets a ConflictError naming the winner.
func TestSwitchConflict(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	for _, v := range []string{"v0001", "v0002", "v0003"} {
		writeInfo(t, dir, v)
	}
	if err := switchCurrent(ctx, dir, nil, "v0001"); err != nil {
		t.Fatal(err)
	}
	_, raw, err := readCurrent(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 2)
	for _, v := range []string{"v0002", "v0003"} {
		go func() { errs <- switchCurrent(ctx, dir, raw, v) }()
	}
	var won, lost int
	var conflict *ConflictError
	for range 2 {
		err := <-errs
		switch {
		case err == nil:
			won++
		case errors.As(err, &conflict):
			lost++
		default:
			t.Fatal(err)
		}
	}
	cur, _ := Current(dir)
	if won != 1 || lost != 1 || conflict.Won != cur || conflict.Version == cur {
		t.Fatalf("won %d, lost %d (%v), CURRENT %s; want exactly one winner, named by the loser", won, lost, conflict, cur)
	}
}

// TestLock: a second run cannot take a held lock (the error names the
// holder), waits for it with a wait time, and breaks a stale one.
func TestLock(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	a, err := AcquireLock(ctx, dir, time.Hour, 0, "run a")
	if err != nil {
		t.Fatal(err)
	}
	_, err = AcquireLock(ctx, dir, time.Hour, 0, "run b")
	var locked *LockedError
	if !errors.As(err, &locked) || locked.Holder.Run != a.Run || locked.Holder.PID != os.Getpid() ||
		!strings.Contains(err.Error(), a.Host) {
		t.Fatalf("second lock: %v, want a LockedError naming run %s on %s", err, a.Run, a.Host)
	}
	go func() {
		time.Sleep(300 * time.Millisecond)
		a.Release(ctx)
	}()
	b, err := AcquireLock(ctx, dir, time.Hour, 30*time.Second, "run b")
	if err != nil {
		t.Fatalf("waiting for the lock: %v", err)
	}
	// b's lock is stale for a run that allows 1 ns: broken and taken.
	c, err := AcquireLock(ctx, dir, time.Nanosecond, 0, "run c")
	if err != nil {
		t.Fatalf("breaking a stale lock: %v", err)
	}
	if b.Held(ctx) || !c.Held(ctx) {
		t.Error("after breaking: b still holds the lock, or c does not")
	}
	if err := b.Release(ctx); err == nil {
		t.Error("b released c's lock")
	}
	if err := c.Release(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, LockFile)); !os.IsNotExist(err) {
		t.Errorf("lock still there after release: %v", err)
	}

	// A live run refreshes its lock: older than the stale limit, it still holds.
	d, err := AcquireLock(ctx, dir, 400*time.Millisecond, 0, "run d")
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second)
	if _, err := AcquireLock(ctx, dir, 400*time.Millisecond, 0, "run e"); !errors.As(err, &locked) || locked.Holder.Run != d.Run {
		t.Fatalf("a refreshed lock older than the stale limit: %v, want it held by run %s", err, d.Run)
	}
	if err := d.Release(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestReindexDuplicateSongIDs: a song_id repeated in another file is a
// reject of stage dedupe in every version (the copy in the later file),
// whether the song is embedded (first run) or carried over (second run).
func TestReindexDuplicateSongIDs(t *testing.T) {
	dir := t.TempDir()
	catalog := filepath.Join(dir, "in", "catalog")
	cat := tinyCatalog()
	if _, err := synth.Generate(cat, catalog); err != nil {
		t.Fatal(err)
	}
	n := cat.Works*cat.Versions + cat.Noise
	files, err := schema.ListDataset(catalog)
	if err != nil {
		t.Fatal(err)
	}
	songs, err := schema.ReadSongsFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	copyFile := filepath.Join(dir, "in", "extra", "copy.parquet")
	dupe := songs[2] // same features (same content hash), other metadata
	dupe.Title = "the copy"
	if err := schema.WriteSongsFile(copyFile, []schema.Song{dupe}, schema.WriterOptions{}); err != nil {
		t.Fatal(err)
	}
	weights := filepath.Join(dir, "w.safetensors")
	if err := model.SeededCheckpointFile(weights, 64, 3); err != nil {
		t.Fatal(err)
	}
	idx := filepath.Join(dir, "index")
	cfg := Config{Catalog: filepath.Join(dir, "in", "*", "*.parquet"), Index: idx, Weights: weights,
		Fit: transforms.FitConfig{Method: reduce.PCA, K: 8}, Shards: 2, Command: "test"}
	for i, version := range []string{"v0001", "v0002"} {
		sum := reindexOnce(t, cfg)
		if sum.Version != version || sum.Added+sum.Carried != n || sum.Rejected != 1 || sum.MAP == nil {
			t.Fatalf("run %d: %+v, want %s with %d songs, 1 rejected, a MAP", i+1, sum, version, n)
		}
		if i == 1 && (sum.Carried != n || sum.Embedded != 0) {
			t.Errorf("run 2: %+v, want every song carried", sum)
		}
		vdir := filepath.Join(idx, version)
		if err := index.Verify(vdir); err != nil {
			t.Errorf("%s: %v", version, err)
		}
		rfiles, err := schema.ListDataset(filepath.Join(vdir, index.RejectsDir))
		if err != nil || len(rfiles) != 1 {
			t.Fatalf("%s: reject files %v, %v", version, rfiles, err)
		}
		rows, err := parquet.ReadFile[schema.Reject](rfiles[0])
		if err != nil {
			t.Fatal(err)
		}
		if r := rows[0]; len(rows) != 1 || r.SongID != songs[2].SongID || r.Stage != schema.StageDedupe || r.File != copyFile || !strings.Contains(r.Reason, files[0]) {
			t.Errorf("%s: rejects %+v, want the copy of %s in %s, naming %s", version, rows, songs[2].SongID, copyFile, files[0])
		}
		if got := readSet(t, vdir, index.CompactDir)[songs[2].SongID]; got.Title != songs[2].Title {
			t.Errorf("%s: kept %+v, want the catalog's row", version, got)
		}
		cfg.Weights = "" // the second run takes the current version's
	}
}
