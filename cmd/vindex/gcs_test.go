package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/fsouza/fake-gcs-server/fakestorage"

	"github.com/vindex/vindex/importer/synth"
	"github.com/vindex/vindex/model"
	"github.com/vindex/vindex/pipelines/reindex"
	"github.com/vindex/vindex/schema"
	"github.com/vindex/vindex/storage"
)

// startGCS serves the GCS JSON API in-process (fake-gcs-server) with one
// bucket and points every GCS client of the process at it through
// STORAGE_EMULATOR_HOST, as Beam's gcs filesystem and storage's ranged
// reader both honour it. No credentials are needed.
func startGCS(t *testing.T, bucket string) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	srv, err := fakestorage.NewServerWithOptions(fakestorage.Options{Scheme: "http", Host: "127.0.0.1", Port: uint16(port),
		PublicHost: "127.0.0.1:" + strconv.Itoa(port)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	srv.CreateBucketWithOpts(fakestorage.CreateBucketOpts{Name: bucket})
	t.Setenv("STORAGE_EMULATOR_HOST", "127.0.0.1:"+strconv.Itoa(port))
}

// scenarioResult is what a nightly scenario prints, with its root replaced
// by ROOT so that local and gs:// runs compare.
type scenarioResult struct {
	reindex  [2]string // the counts lines of the two reindex runs
	queries  []queryResult
	versions string
}

// runScenario runs synth → index → reindex → reindex after an add, a
// change and a removal → query, with every input and output under root.
func runScenario(t *testing.T, root string) scenarioResult {
	t.Helper()
	ctx := context.Background()
	cli := func(args ...string) string {
		t.Helper()
		var stdout, stderr bytes.Buffer
		if err := run(ctx, args, &stdout, &stderr); err != nil {
			t.Fatalf("vindex %v: %v\nstderr:\n%s", args, err, stderr.String())
		}
		return strings.ReplaceAll(stdout.String(), root, "ROOT")
	}
	var w bytes.Buffer
	if err := model.WriteSeededCheckpoint(&w, 64, 3); err != nil {
		t.Fatal(err)
	}
	weights := storage.Join(root, "models", "w.safetensors")
	if err := storage.WriteFile(ctx, weights, w.Bytes()); err != nil {
		t.Fatal(err)
	}
	features := storage.Join(root, "features")
	cli("synth", "--out", features, "--works", "6", "--versions", "3", "--noise", "4", "--seed", "7",
		"--mean-duration", "37", "--sd-duration", "2", "--min-duration", "35", "--max-duration", "40",
		"--songs-per-file", "8", "--row-group-rows", "4")
	plain := cli("index", "--weights", weights, "--in", features, "--out", storage.Join(root, "plain"), "--dim", "8", "--quiet")
	if !strings.Contains(plain, "22 songs embedded") {
		t.Errorf("index output: %s", plain)
	}
	idx := storage.Join(root, "nightly")
	counts := func(out string) string {
		for _, l := range strings.Split(out, "\n") {
			if strings.Contains(l, "added") {
				return strings.TrimSpace(l)
			}
		}
		t.Fatalf("no counts in reindex output:\n%s", out)
		return ""
	}
	var res scenarioResult
	res.reindex[0] = counts(cli("reindex", "--catalog", features, "--index", idx, "--weights", weights, "--dim", "8", "--quiet"))

	// The catalog changes: one song removed, one edited, one added.
	files, err := schema.ListDataset(features)
	if err != nil {
		t.Fatal(err)
	}
	var songs []schema.Song
	for _, f := range files {
		ss, err := schema.ReadSongsFile(f)
		if err != nil {
			t.Fatal(err)
		}
		songs = append(songs, ss...)
	}
	sort.Slice(songs, func(i, j int) bool { return songs[i].SongID < songs[j].SongID })
	added := songs[2]
	added.SongID = "new-song"
	changed := &songs[1]
	changed.Crema = append([]float32(nil), changed.Crema...)
	synth.Roll(changed.Crema[:12*40], 1)
	songs = append(songs[1:], added)
	features2 := storage.Join(root, "features2", "songs.parquet")
	if err := schema.WriteSongsFile(features2, songs, schema.WriterOptions{RowGroupRows: 5}); err != nil {
		t.Fatal(err)
	}
	res.reindex[1] = counts(cli("reindex", "--catalog", features2, "--index", idx, "--dim", "8", "--quiet"))

	for _, args := range [][]string{
		{"--song", songs[3].SongID},
		{"--features", features2, "--song", "new-song"},
	} {
		var q queryResult
		out := cli(append([]string{"query", "--json", "--k", "5", "--index", idx}, args...)...)
		if err := json.Unmarshal([]byte(out), &q); err != nil {
			t.Fatalf("query output: %v\n%s", err, out)
		}
		res.queries = append(res.queries, q)
	}
	res.versions = cli("versions", "--index", idx)
	return res
}

// TestEverythingOnGCS runs the nightly scenario with every input and output
// on gs:// against an in-process GCS API, and on local disk, and compares.
func TestEverythingOnGCS(t *testing.T) {
	beam.Init()
	startGCS(t, "vindex-e2e")
	cwd, _ := os.Getwd()
	gs := runScenario(t, "gs://vindex-e2e/catalog")
	local := runScenario(t, filepath.Join(t.TempDir(), "catalog"))

	if gs.reindex != local.reindex {
		t.Errorf("reindex counts differ:\n gs:    %q\n local: %q", gs.reindex, local.reindex)
	}
	if want := "added 1, changed 1, removed 1, carried 20; embedded 2, rejected 0"; gs.reindex[1] != want {
		t.Errorf("second reindex on gs://: %q, want %q", gs.reindex[1], want)
	}
	for i := range gs.queries {
		a, b := gs.queries[i], local.queries[i]
		if len(a.Queries) != 1 || len(b.Queries) != 1 || len(a.Queries[0].Neighbors) != 5 {
			t.Fatalf("query %d: %+v vs %+v", i, a, b)
		}
		for j, na := range a.Queries[0].Neighbors {
			nb := b.Queries[0].Neighbors[j]
			if na.SongID != nb.SongID || math.Abs(*na.Similarity-*nb.Similarity) > 1e-6 {
				t.Errorf("query %d, rank %d: gs %s (%.7f), local %s (%.7f)", i, j+1, na.SongID, *na.Similarity, nb.SongID, *nb.Similarity)
			}
		}
	}
	for _, want := range []string{"* v0002", "  v0001"} {
		if !strings.Contains(gs.versions, want) {
			t.Errorf("versions on gs:// lack %q:\n%s", want, gs.versions)
		}
	}
	// The published objects: manifests, index.json, CURRENT; no lock left,
	// and nothing written to a local folder named "gs:".
	ctx := context.Background()
	objs, err := storage.ListTree(ctx, "gs://vindex-e2e/catalog/nightly")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"nightly/CURRENT", "nightly/v0002/index.json", "nightly/v0002/embeddings/_manifest.json",
		"nightly/v0002/rejects/_manifest.json", "nightly/v0002/search.vxs"} {
		if !slices.ContainsFunc(objs, func(o string) bool { return strings.HasSuffix(o, want) }) {
			t.Errorf("no object …/%s on gs://", want)
		}
	}
	if slices.ContainsFunc(objs, func(o string) bool { return strings.HasSuffix(o, "/LOCK") }) {
		t.Error("the lock object was left behind")
	}
	if _, err := os.Stat(filepath.Join(cwd, "gs:")); err == nil {
		t.Error("a local folder gs: was written")
	}
}

// TestUnregisteredScheme: an output on a scheme no filesystem is registered
// for fails before anything runs, with exit code 1.
func TestUnregisteredScheme(t *testing.T) {
	beam.Init()
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), []string{"index", "--weights", "w.pt", "--in", "features", "--out", "hdfs://nn/index"}, &stdout, &stderr)
	if err == nil || !strings.Contains(err.Error(), "unsupported scheme") || exitCode(err) != 1 {
		t.Fatalf("hdfs:// output: %v (exit %d), want an unsupported scheme error", err, exitCode(err))
	}
	if _, err := os.Stat("hdfs:"); err == nil {
		t.Error("a local folder hdfs: was written")
	}
}

// TestConditionalWritesOnGCS: the lock and the CURRENT switch on a real GCS
// API. Of two concurrent exclusive creations or swaps from the same
// content, exactly one succeeds; a reindex that finds the lock held exits 1
// naming the holder, before it does any work.
func TestConditionalWritesOnGCS(t *testing.T) {
	beam.Init()
	startGCS(t, "vindex-cond")
	ctx := context.Background()
	cur := "gs://vindex-cond/idx/CURRENT"
	if err := storage.Replace(ctx, cur, nil, []byte("v0001\n")); err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 2)
	for _, v := range []string{"v0002\n", "v0003\n"} {
		go func() { errs <- storage.Replace(ctx, cur, []byte("v0001\n"), []byte(v)) }()
	}
	var won, lost int
	for range 2 {
		switch err := <-errs; {
		case err == nil:
			won++
		case errors.Is(err, storage.ErrChanged):
			lost++
		default:
			t.Fatal(err)
		}
	}
	if won != 1 || lost != 1 {
		t.Fatalf("swaps on gs://: %d won, %d lost; want exactly one winner", won, lost)
	}
	if err := storage.CreateExclusive(ctx, "gs://vindex-cond/idx/x", []byte("a")); err != nil {
		t.Fatal(err)
	}
	if err := storage.CreateExclusive(ctx, "gs://vindex-cond/idx/x", []byte("b")); !errors.Is(err, storage.ErrExists) {
		t.Fatalf("second exclusive create: %v, want ErrExists", err)
	}

	lock, err := reindex.AcquireLock(ctx, "gs://vindex-cond/idx", time.Hour, 0, "test")
	if err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	err = run(ctx, []string{"reindex", "--catalog", "gs://vindex-cond/none", "--index", "gs://vindex-cond/idx", "--quiet"}, &stdout, &stderr)
	var locked *reindex.LockedError
	if !errors.As(err, &locked) || locked.Holder.Run != lock.Run || exitCode(err) != 1 || !strings.Contains(err.Error(), "--wait") {
		t.Fatalf("reindex with the lock held: %v (exit %d), want a LockedError naming run %s", err, exitCode(err), lock.Run)
	}
	if err := lock.Release(ctx); err != nil {
		t.Fatal(err)
	}
	if ok, _ := storage.Exists(ctx, "gs://vindex-cond/idx/LOCK"); ok {
		t.Error("lock not removed on gs://")
	}
}

// smallCatalog writes a 22-song synthetic catalog and seeded weights under root.
func smallCatalog(t *testing.T, root string) (features, weights string) {
	t.Helper()
	ctx := context.Background()
	var w bytes.Buffer
	if err := model.WriteSeededCheckpoint(&w, 64, 3); err != nil {
		t.Fatal(err)
	}
	weights = storage.Join(root, "w.safetensors")
	if err := storage.WriteFile(ctx, weights, w.Bytes()); err != nil {
		t.Fatal(err)
	}
	features = storage.Join(root, "features")
	var stdout, stderr bytes.Buffer
	if err := run(ctx, []string{"synth", "--out", features, "--works", "6", "--versions", "3", "--noise", "4",
		"--mean-duration", "37", "--sd-duration", "2", "--min-duration", "35", "--max-duration", "40"}, &stdout, &stderr); err != nil {
		t.Fatalf("synth: %v\n%s", err, stderr.String())
	}
	return features, weights
}

// TestConcurrentReindexOnGCS starts two nightly runs on one gs:// index at
// once: exactly one publishes; the other exits 1, before any work, naming
// the run that holds the index.
func TestConcurrentReindexOnGCS(t *testing.T) {
	beam.Init()
	startGCS(t, "vindex-conc")
	features, weights := smallCatalog(t, "gs://vindex-conc")
	idx := "gs://vindex-conc/nightly"
	errs := make(chan error, 2)
	for range 2 {
		go func() {
			var stdout, stderr bytes.Buffer
			errs <- run(context.Background(), []string{"reindex", "--catalog", features, "--index", idx, "--weights", weights,
				"--dim", "8", "--quiet"}, &stdout, &stderr)
		}()
	}
	var ok int
	var locked *reindex.LockedError
	for range 2 {
		switch err := <-errs; {
		case err == nil:
			ok++
		case errors.As(err, &locked) && exitCode(err) == 1:
		default:
			t.Fatalf("reindex: %v", err)
		}
	}
	if ok != 1 || locked == nil {
		t.Fatalf("%d runs published, lock error %v; want exactly one of each", ok, locked)
	}
	if cur, err := reindex.Current(idx); err != nil || cur != "v0001" {
		t.Fatalf("CURRENT = %q, %v; want v0001", cur, err)
	}
}

// TestDryRun: index and reindex with --dry_run print the job graph and
// write nothing (the reindex lock is released, no version is left).
func TestDryRun(t *testing.T) {
	beam.Init()
	root := t.TempDir()
	features, weights := smallCatalog(t, root)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout := os.Stdout
	os.Stdout = w // the job graph goes to the process's stdout
	var stderr bytes.Buffer
	ctx := context.Background()
	out := filepath.Join(root, "idx")
	nightly := filepath.Join(root, "nightly")
	err1 := run(ctx, []string{"index", "--dry_run", "--weights", weights, "--in", features, "--out", out, "--dim", "8", "--quiet"}, &bytes.Buffer{}, &stderr)
	err2 := run(ctx, []string{"reindex", "--dry_run", "--weights", weights, "--catalog", features, "--index", nightly, "--dim", "8", "--quiet"}, &bytes.Buffer{}, &stderr)
	w.Close()
	os.Stdout = stdout
	printed, _ := io.ReadAll(r)
	if err1 != nil || err2 != nil {
		t.Fatalf("dry runs: %v, %v\n%s", err1, err2, stderr.String())
	}
	for _, want := range []string{"dry run on prism", "job graph:", "pipelines.index", "ReadSongs"} {
		if !strings.Contains(string(printed), want) {
			t.Errorf("dry run output lacks %q:\n%.3000s", want, printed)
		}
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("index --dry_run wrote %s: %v", out, err)
	}
	files, _ := storage.ListTree(ctx, nightly)
	if len(files) != 0 {
		t.Errorf("reindex --dry_run left %v", files)
	}
}

// TestRejectRateExitCode: a run that publishes but rejects more songs than
// --max-reject-rate allows exits 3, after publishing.
func TestRejectRateExitCode(t *testing.T) {
	beam.Init()
	root := t.TempDir()
	_, weights := smallCatalog(t, root)
	short := schema.Song{SongID: "too-short", WorkID: "w", Hop: schema.ModelHop, Crema: make([]float32, 12*100)}
	if err := schema.WriteSongsFile(filepath.Join(root, "extra", "short.parquet"), []schema.Song{short}, schema.WriterOptions{}); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(root, "idx")
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), []string{"index", "--weights", weights, "--in", filepath.Join(root, "*", "*.parquet"),
		"--out", out, "--dim", "8", "--quiet", "--max-reject-rate", "0.01"}, &stdout, &stderr)
	if exitCode(err) != 3 || !strings.Contains(fmt.Sprint(err), "reject rate") {
		t.Fatalf("index with 1 reject in 23 over a 1%% limit: %v (exit %d), want exit 3\n%s", err, exitCode(err), stderr.String())
	}
	if _, err := os.Stat(filepath.Join(out, "index.json")); err != nil {
		t.Errorf("the index was not published: %v", err)
	}
	emb := filepath.Join(root, "emb")
	err = run(context.Background(), []string{"embed", "--weights", weights, "--in", filepath.Join(root, "*", "*.parquet"),
		"--out", emb, "--quiet", "--max-reject-rate", "0.01"}, &stdout, &stderr)
	if exitCode(err) != 3 {
		t.Fatalf("embed with 1 reject in 23 over a 1%% limit: %v (exit %d), want exit 3", err, exitCode(err))
	}
	err = run(context.Background(), []string{"embed", "--weights", weights, "--in", filepath.Join(root, "*", "*.parquet"),
		"--out", filepath.Join(root, "emb2"), "--quiet", "--max-reject-rate", "0.1"}, &stdout, &stderr)
	if err != nil {
		t.Fatalf("embed with 1 reject in 23 under a 10%% limit: %v", err)
	}
}
