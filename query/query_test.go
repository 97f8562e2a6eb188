package query

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/fsouza/fake-gcs-server/fakestorage"

	"github.com/vindex/vindex/model"
	"github.com/vindex/vindex/model/search"
	"github.com/vindex/vindex/pipelines/index"
	"github.com/vindex/vindex/pipelines/reindex"
	"github.com/vindex/vindex/schema"
)

// writeVersion writes an index folder at dir: embeddings with manifest,
// index.json and, when withSearchFile, the search file.
func writeVersion(t *testing.T, dir string, embs []schema.Embedding, info index.Info, withSearchFile bool) {
	t.Helper()
	set := filepath.Join(dir, index.EmbeddingsDir)
	if err := schema.WriteEmbeddingsDataset(set, embs, schema.WriterOptions{}); err != nil {
		t.Fatal(err)
	}
	if withSearchFile {
		mx := &search.Matrix{Dim: len(embs[0].Embedding)}
		for _, e := range embs {
			mx.IDs = append(mx.IDs, e.SongID)
			mx.WorkIDs = append(mx.WorkIDs, e.WorkID)
			mx.Titles = append(mx.Titles, e.Title)
			mx.Artists = append(mx.Artists, e.Artist)
			mx.Vecs = append(mx.Vecs, e.Embedding...)
		}
		b, err := search.Marshal(mx)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, search.FileName), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	info.Format = index.FormatVersion
	info.Search = index.EmbeddingsDir
	b, _ := json.Marshal(info)
	if err := os.WriteFile(filepath.Join(dir, index.InfoFile), b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func randomEmbeddings(n, d int, seed uint64) []schema.Embedding {
	rng := rand.New(rand.NewPCG(seed, 1))
	embs := make([]schema.Embedding, n)
	for i := range embs {
		v := make([]float32, d)
		for j := range v {
			v[j] = float32(rng.NormFloat64())
		}
		embs[i] = schema.Embedding{SongID: fmt.Sprintf("s%03d", (i*7)%n), WorkID: fmt.Sprintf("w%d", i/3), Embedding: v, Model: "m", Title: "t"}
	}
	return embs
}

// TestSearchFileAndParquetAgree: a version answers the same from its search
// file and from its Parquet dataset, through CURRENT or as a plain folder.
func TestSearchFileAndParquetAgree(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	embs := randomEmbeddings(50, 8, 1)
	for _, dist := range []string{"cosine", "sqeuclidean", "pearson"} {
		withFile := filepath.Join(root, dist, "v0001")
		plain := filepath.Join(root, dist+"-plain")
		writeVersion(t, withFile, embs, index.Info{Model: "m", Dim: 8, Distance: dist}, true)
		writeVersion(t, plain, embs, index.Info{Model: "m", Dim: 8, Distance: dist}, false)
		if err := os.WriteFile(filepath.Join(root, dist, reindex.CurrentFile), []byte("v0001\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		a, err := Load(ctx, filepath.Join(root, dist), Options{})
		if err != nil {
			t.Fatal(err)
		}
		b, err := Load(ctx, plain, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if a.Name != "v0001" || a.Dir != withFile || b.Name != "" || b.Dir != plain {
			t.Errorf("%s: loaded %s (%s) and %s (%s)", dist, a.Name, a.Dir, b.Name, b.Dir)
		}
		req := Request{SongIDs: []string{"s000", "s017", "s049"}, K: 7}
		ra, err := a.Neighbors(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		rb, err := b.Neighbors(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(ra, rb) {
			t.Errorf("%s: search file and Parquet answers differ", dist)
		}
		for _, ans := range ra {
			if len(ans.Neighbors) != 7 || ans.Neighbors[0].SongID == ans.SongID {
				t.Errorf("%s: %s: %d neighbours, first %s", dist, ans.SongID, len(ans.Neighbors), ans.Neighbors[0].SongID)
			}
		}
	}
}

func TestLoadErrors(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	if _, err := Load(ctx, root, Options{}); !errors.Is(err, ErrNoVersion) {
		t.Errorf("empty folder: %v", err)
	}
	embs := randomEmbeddings(10, 4, 2)
	writeVersion(t, filepath.Join(root, "v0001"), embs, index.Info{Model: "m", Dim: 4, Distance: "cosine"}, true)
	for name, current := range map[string]string{"bad name": "../x\n", "missing version": "v0009\n"} {
		if err := os.WriteFile(filepath.Join(root, reindex.CurrentFile), []byte(current), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := Load(ctx, root, Options{}); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	// The manifest disagrees with the search file: Verify refuses it.
	m := filepath.Join(root, "v0001", index.EmbeddingsDir, schema.ManifestName)
	b, err := os.ReadFile(m)
	if err != nil {
		t.Fatal(err)
	}
	var man map[string]any
	json.Unmarshal(b, &man)
	man["rows"] = 11
	b, _ = json.Marshal(man)
	os.WriteFile(m, b, 0o644)
	os.WriteFile(filepath.Join(root, reindex.CurrentFile), []byte("v0001"), 0o644)
	if _, err := Load(ctx, root, Options{}); err == nil {
		t.Error("manifest rows differ from the search file: no error")
	}
	// index.json says another dimension.
	writeVersion(t, filepath.Join(root, "v0002"), embs, index.Info{Model: "m", Dim: 5, Distance: "cosine"}, true)
	os.WriteFile(filepath.Join(root, reindex.CurrentFile), []byte("v0002"), 0o644)
	if _, err := Load(ctx, root, Options{}); err == nil {
		t.Error("dimension differs from index.json: no error")
	}
}

// TestFeatures: feature rows embedded with the index's weights find their
// copies; bad rows are SongErrors naming the song; k < 1 is ErrK.
func TestFeatures(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	weights := filepath.Join(dir, "w.safetensors")
	if err := model.SeededCheckpointFile(weights, 16, 1); err != nil {
		t.Fatal(err)
	}
	info := index.Info{Weights: weights, Dim: 16, Distance: "cosine", Search: index.EmbeddingsDir, Created: time.Now()}
	e, err := NewEmbedder(ctx, "", &info, 16)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(3, 3))
	var songs []schema.Song
	var embs []schema.Embedding
	for i := range 5 {
		s := schema.Song{SongID: fmt.Sprintf("x%d", i), Crema: make([]float32, 12*400)}
		for j := range s.Crema {
			s.Crema[j] = rng.Float32()
		}
		v, err := e.Embed(&s)
		if err != nil {
			t.Fatal(err)
		}
		songs = append(songs, s)
		embs = append(embs, schema.Embedding{SongID: "copy-" + s.SongID, Embedding: v, Model: e.Model()})
	}
	info.Model = e.Model()
	ix := filepath.Join(dir, "index")
	writeVersion(t, ix, embs, info, true)
	v, err := Load(ctx, ix, Options{Embedder: true})
	if err != nil {
		t.Fatal(err)
	}
	got, err := v.Neighbors(ctx, Request{Songs: songs, K: 1})
	if err != nil {
		t.Fatal(err)
	}
	for i, a := range got {
		if a.Neighbors[0].SongID != "copy-"+songs[i].SongID || a.InIndex {
			t.Errorf("%s: nearest %s (in index %v)", a.SongID, a.Neighbors[0].SongID, a.InIndex)
		}
	}
	bad := append([]schema.Song(nil), songs...)
	bad[3].Crema = bad[3].Crema[:12*3]
	bad[4].Hop = 7
	var se *SongError
	if _, err := v.Neighbors(ctx, Request{Songs: bad, K: 1}); !errors.As(err, &se) || se.Index != 3 || se.SongID != "x3" {
		t.Errorf("too short song: %v", err)
	}
	if _, err := v.Neighbors(ctx, Request{SongIDs: []string{"nope"}, K: 1}); !errors.Is(err, search.ErrNotFound) {
		t.Errorf("unknown song: %v", err)
	}
	if _, err := v.Neighbors(ctx, Request{SongIDs: []string{"copy-x0"}}); !errors.Is(err, ErrK) {
		t.Errorf("k 0: %v", err)
	}
	plain, err := Load(ctx, ix, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := plain.Neighbors(ctx, Request{Songs: songs[:1], K: 1}); !errors.Is(err, ErrNoEmbedder) {
		t.Errorf("features without the model: %v", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := v.Neighbors(cctx, Request{Songs: songs, K: 1}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}

func TestCurrentFileIsReindexs(t *testing.T) {
	if CurrentFile != reindex.CurrentFile {
		t.Errorf("query reads %q, reindex writes %q", CurrentFile, reindex.CurrentFile)
	}
}

// TestLoadFromGCS loads a version from gs:// (an in-process GCS API,
// fake-gcs-server, reached through Beam's gcs filesystem and package
// storage), from its search file and from Parquet, with the answers of the
// same version on local disk.
func TestLoadFromGCS(t *testing.T) {
	// The Go client reads objects by path at the emulator's address, which
	// the fake server routes only when it is its public host: pick the port.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	srv, err := fakestorage.NewServerWithOptions(fakestorage.Options{Scheme: "http", Host: "127.0.0.1", Port: uint16(port),
		PublicHost: fmt.Sprintf("127.0.0.1:%d", port)})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	t.Setenv("STORAGE_EMULATOR_HOST", strings.TrimPrefix(srv.URL(), "http://"))
	srv.CreateBucketWithOpts(fakestorage.CreateBucketOpts{Name: "b"})
	ctx := context.Background()
	local := t.TempDir()
	embs := randomEmbeddings(40, 6, 9)
	writeVersion(t, filepath.Join(local, "v0001"), embs, index.Info{Model: "m", Dim: 6, Distance: "cosine"}, true)
	writeVersion(t, filepath.Join(local, "v0002"), embs, index.Info{Model: "m", Dim: 6, Distance: "cosine"}, false)
	if err := os.WriteFile(filepath.Join(local, CurrentFile), []byte("v0001\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	err = filepath.WalkDir(local, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(local, p)
		srv.CreateObject(fakestorage.Object{ObjectAttrs: fakestorage.ObjectAttrs{BucketName: "b", Name: "idx/" + filepath.ToSlash(rel)}, Content: b})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want, err := Load(ctx, local, Options{})
	if err != nil {
		t.Fatal(err)
	}
	req := Request{SongIDs: []string{"s003", "s021"}, K: 5}
	wantAns, err := want.Neighbors(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"v0001", "v0002"} { // search file, then Parquet
		var v *Version
		if name == "v0001" {
			v, err = Load(ctx, "gs://b/idx", Options{})
		} else {
			v, err = LoadDir(ctx, "gs://b/idx", "gs://b/idx/v0002", name, Options{})
		}
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if v.Dir != "gs://b/idx/"+name || v.Name != name {
			t.Errorf("loaded %s as %s", v.Dir, v.Name)
		}
		got, err := v.Neighbors(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, wantAns) {
			t.Errorf("%s from gs:// answers differently from local disk", name)
		}
	}
}
