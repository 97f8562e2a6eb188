package serve

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vindex/vindex/model"
	"github.com/vindex/vindex/pipelines/index"
	"github.com/vindex/vindex/pipelines/reindex"
	"github.com/vindex/vindex/query"
	"github.com/vindex/vindex/schema"
)

// fixture is an index folder with seeded 16-d weights whose songs are
// embedded copies of feature rows the tests query with.
type fixture struct {
	root    string
	weights string
	songs   []schema.Song // features; the index holds "copy-<id>" of each
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	fx := &fixture{root: t.TempDir()}
	fx.weights = filepath.Join(fx.root, "w.safetensors")
	if err := model.SeededCheckpointFile(fx.weights, 16, 1); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(5, 6))
	for i := range 6 {
		s := schema.Song{SongID: fmt.Sprintf("q%d", i), WorkID: fmt.Sprintf("w%d", i/2), Crema: make([]float32, 12*400)}
		for j := range s.Crema {
			s.Crema[j] = rng.Float32()
		}
		fx.songs = append(fx.songs, s)
	}
	return fx
}

// publish writes version name (its songs: copies of the fixture's first n
// songs) and points CURRENT at it.
func (fx *fixture) publish(t *testing.T, name string, n int) {
	t.Helper()
	fx.write(t, name, n)
	fx.point(t, name)
}

func (fx *fixture) point(t *testing.T, name string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(fx.root, reindex.CurrentFile), []byte(name+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}

func (fx *fixture) write(t *testing.T, name string, n int) {
	t.Helper()
	info := index.Info{Format: index.FormatVersion, Created: time.Now().UTC(), Weights: fx.weights, Dim: 16,
		Distance: "cosine", Search: index.EmbeddingsDir}
	e, err := query.NewEmbedder(context.Background(), "", &info, 16)
	if err != nil {
		t.Fatal(err)
	}
	info.Model = e.Model()
	var embs []schema.Embedding
	for _, s := range fx.songs[:n] {
		v, err := e.Embed(&s)
		if err != nil {
			t.Fatal(err)
		}
		embs = append(embs, schema.Embedding{SongID: "copy-" + s.SongID, WorkID: s.WorkID, Embedding: v, Model: info.Model, Title: "T" + s.SongID})
	}
	dir := filepath.Join(fx.root, name)
	set := filepath.Join(dir, index.EmbeddingsDir)
	if err := os.MkdirAll(set, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := schema.WriteEmbeddingsFile(filepath.Join(set, "part-00000.parquet"), embs, schema.WriterOptions{}); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(filepath.Join(set, "part-00000.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	m := schema.Manifest{Version: schema.ManifestVersion, Schema: schema.EmbeddingSchemaVersion, Rows: int64(len(embs)),
		Files: []schema.ManifestFile{{Name: "part-00000.parquet", Rows: int64(len(embs)), Bytes: st.Size(), Schema: schema.EmbeddingSchemaVersion}}}
	if err := schema.WriteManifest(set, m); err != nil {
		t.Fatal(err)
	}
	info.Songs = int64(len(embs))
	b, _ := json.Marshal(info)
	if err := os.WriteFile(filepath.Join(dir, index.InfoFile), b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// start runs a server over the fixture on a free loopback port.
func start(t *testing.T, cfg Config) (*Server, string) {
	t.Helper()
	if cfg.Poll == 0 {
		cfg.Poll = -1
	}
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return s, "http://" + ln.Addr().String()
}

func waitVersion(t *testing.T, s *Server, name string) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if v := s.Version(); v != nil && v.Name == name {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("version %q never served", name)
		}
	}
}

func do(t *testing.T, method, url, ctype string, body []byte) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	b, _ := io.ReadAll(resp.Body)
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(b, &out); err != nil {
			t.Fatalf("%s %s: %v: %s", method, url, err, b)
		}
	}
	return resp.StatusCode, out
}

func featuresJSON(songs []schema.Song, nested bool, k int) []byte {
	type song struct {
		SongID string `json:"song_id"`
		Hop    int32  `json:"hop,omitempty"`
		Crema  any    `json:"crema"`
	}
	var body struct {
		K     int    `json:"k,omitempty"`
		Songs []song `json:"songs"`
	}
	body.K = k
	for _, s := range songs {
		var c any = s.Crema
		if nested {
			rows := make([][]float32, 0, len(s.Crema)/12)
			for i := 0; i < len(s.Crema); i += 12 {
				rows = append(rows, s.Crema[i:i+12])
			}
			c = rows
		}
		body.Songs = append(body.Songs, song{SongID: s.SongID, Hop: s.Hop, Crema: c})
	}
	b, _ := json.Marshal(body)
	return b
}

func TestNeighbors(t *testing.T) {
	fx := newFixture(t)
	fx.publish(t, "v0001", 6)
	s, base := start(t, Config{Index: fx.root})
	waitVersion(t, s, "v0001")

	code, res := do(t, "GET", base+"/v1/songs/copy-q0/neighbors?k=2", "", nil)
	if code != http.StatusOK {
		t.Fatalf("song neighbors: %d %v", code, res)
	}
	want, err := s.Version().Neighbors(context.Background(), query.Request{SongIDs: []string{"copy-q0"}, K: 2})
	if err != nil {
		t.Fatal(err)
	}
	var wantAny any
	wb, _ := json.Marshal(want)
	if err := json.Unmarshal(wb, &wantAny); err != nil {
		t.Fatal(err)
	}
	wb, _ = json.Marshal(wantAny)
	gb, _ := json.Marshal(res["queries"])
	if !bytes.Equal(wb, gb) || res["version"] != "v0001" {
		t.Errorf("song neighbors %s, query package %s", gb, wb)
	}

	// Features, nested and flat, and as Parquet: each finds its copy first.
	var pq bytes.Buffer
	sw, err := schema.NewSongWriter(&pq, schema.WriterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := sw.Write(fx.songs[:3]...); err != nil {
		t.Fatal(err)
	}
	if err := sw.Close(); err != nil {
		t.Fatal(err)
	}
	for name, req := range map[string][2]any{
		"nested":  {"application/json", featuresJSON(fx.songs[:3], true, 1)},
		"flat":    {"application/json", featuresJSON(fx.songs[:3], false, 1)},
		"parquet": {"application/vnd.apache.parquet", pq.Bytes()},
	} {
		url := base + "/v1/neighbors?k=1"
		code, res := do(t, "POST", url, req[0].(string), req[1].([]byte))
		if code != http.StatusOK {
			t.Fatalf("%s: %d %v", name, code, res)
		}
		qs := res["queries"].([]any)
		if len(qs) != 3 {
			t.Fatalf("%s: %d answers", name, len(qs))
		}
		for i, q := range qs {
			n := q.(map[string]any)["neighbors"].([]any)[0].(map[string]any)
			if n["song_id"] != "copy-"+fx.songs[i].SongID || math.Abs(n["similarity"].(float64)-1) > 1e-5 {
				t.Errorf("%s: query %d: nearest %v", name, i, n)
			}
		}
	}

	code, res = do(t, "GET", base+"/v1/index", "", nil)
	if code != http.StatusOK || res["songs"].(float64) != 6 || res["distance"] != "cosine" || res["model"] == "" {
		t.Errorf("index: %d %v", code, res)
	}
}

func TestErrors(t *testing.T) {
	fx := newFixture(t)
	fx.publish(t, "v0001", 6)
	s, base := start(t, Config{Index: fx.root, MaxBody: 1 << 20, MaxSongs: 2, MaxK: 50})
	waitVersion(t, s, "v0001")
	short := fx.songs[0]
	short.Crema = short.Crema[:12*5]
	badHop := fx.songs[0]
	badHop.Hop = 1000
	for _, c := range []struct {
		name, method, path, ctype string
		body                      []byte
		status                    int
		code                      string
	}{
		{"unknown song", "GET", "/v1/songs/nope/neighbors", "", nil, 404, "unknown_song"},
		{"k zero", "GET", "/v1/songs/copy-q0/neighbors?k=0", "", nil, 400, "k_out_of_range"},
		{"k too large", "GET", "/v1/songs/copy-q0/neighbors?k=51", "", nil, 400, "k_out_of_range"},
		{"k not a number", "GET", "/v1/songs/copy-q0/neighbors?k=ten", "", nil, 400, "bad_k"},
		{"malformed", "POST", "/v1/neighbors", "application/json", []byte(`{"songs": [`), 400, "malformed_body"},
		{"unknown field", "POST", "/v1/neighbors", "application/json", []byte(`{"sngs": []}`), 400, "malformed_body"},
		{"no songs", "POST", "/v1/neighbors", "application/json", []byte(`{"songs": []}`), 400, "no_songs"},
		{"oversized", "POST", "/v1/neighbors", "application/json", bytes.Repeat([]byte(" "), 2<<20), 413, "body_too_large"},
		{"too many songs", "POST", "/v1/neighbors", "application/json", featuresJSON(fx.songs[:3], false, 1), 413, "too_many_songs"},
		{"too short", "POST", "/v1/neighbors", "application/json", featuresJSON([]schema.Song{short}, false, 1), 422, "features_too_short"},
		{"wrong hop", "POST", "/v1/neighbors", "application/json", featuresJSON([]schema.Song{badHop}, false, 1), 422, "bad_hop"},
		{"ragged frames", "POST", "/v1/neighbors", "application/json", []byte(`{"songs": [{"song_id": "x", "crema": [[0.1, 0.2]]}]}`), 422, "invalid_features"},
		{"flat not 12", "POST", "/v1/neighbors", "application/json", []byte(`{"songs": [{"song_id": "x", "crema": [0.1, 0.2]}]}`), 422, "invalid_features"},
		{"out of range", "POST", "/v1/neighbors", "application/json", []byte(`{"songs": [{"song_id": "x", "crema": [2,0,0,0,0,0,0,0,0,0,0,0]}]}`), 422, "invalid_features"},
		{"body k", "POST", "/v1/neighbors", "application/json", featuresJSON(fx.songs[:1], false, 99), 400, "k_out_of_range"},
		{"not parquet", "POST", "/v1/neighbors", "application/vnd.apache.parquet", []byte("PAR1 nope"), 400, "malformed_body"},
		{"content type", "POST", "/v1/neighbors", "text/csv", []byte("a,b"), 415, "bad_content_type"},
		{"no route", "GET", "/v1/nothing", "", nil, 404, "no_route"},
	} {
		status, res := do(t, c.method, base+c.path, c.ctype, c.body)
		if status != c.status || res["error"] != c.code || res["message"] == "" {
			t.Errorf("%s: %d %v, want %d %q", c.name, status, res, c.status, c.code)
		}
	}
	_, res := do(t, "POST", base+"/v1/neighbors", "application/json", featuresJSON([]schema.Song{short}, false, 1))
	if res["song_id"] != short.SongID {
		t.Errorf("too short: error names song %v, want %s", res["song_id"], short.SongID)
	}
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`vindex_serve_requests_total{code="404",route="song_neighbors"} 1`,
		`vindex_serve_index_songs 6`, `vindex_serve_request_duration_seconds_bucket{route="neighbors"`,
		`vindex_serve_index_info{dir="` + filepath.Join(fx.root, "v0001")} {
		if !bytes.Contains(b, []byte(want)) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

// TestSwap: not ready before a version exists; a new version is picked up
// by polling; a broken one leaves the old serving; a request holding the
// old version keeps it while new requests see the new one, and the old one
// is released only after it finishes.
func TestSwap(t *testing.T) {
	fx := newFixture(t)
	s, base := start(t, Config{Index: fx.root, Poll: 10 * time.Millisecond})
	if code, _ := do(t, "GET", base+"/readyz", "", nil); code != http.StatusServiceUnavailable {
		t.Errorf("readyz before any version: %d", code)
	}
	if code, res := do(t, "GET", base+"/v1/index", "", nil); code != http.StatusServiceUnavailable || res["error"] != "not_ready" {
		t.Errorf("index before any version: %d %v", code, res)
	}
	fx.publish(t, "v0001", 4)
	waitVersion(t, s, "v0001")
	if code, _ := do(t, "GET", base+"/readyz", "", nil); code != http.StatusOK {
		t.Errorf("readyz: %d", code)
	}
	held := s.acquire() // a request in flight on v0001

	// A broken version: CURRENT names a folder whose search file is garbage.
	bad := filepath.Join(fx.root, "v0002")
	fx.write(t, "v0002", 5)
	if err := os.WriteFile(filepath.Join(bad, "search.vxs"), []byte("garbage"), 0o644); err != nil {
		t.Fatal(err)
	}
	fx.point(t, "v0002")
	for deadline := time.Now().Add(10 * time.Second); !bytes.Contains(metricsText(t, base), []byte(`vindex_serve_reloads_total{result="failed"}`)); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the broken version was never tried")
		}
	}
	if v := s.Version(); v.Name != "v0001" {
		t.Fatalf("serving %s after a failed load", v.Name)
	}
	fx.publish(t, "v0003", 6)
	waitVersion(t, s, "v0003")
	if held.v == nil || held.v.Name != "v0001" || held.v.Index.Len() != 4 {
		t.Fatalf("the request in flight lost its version")
	}
	code, res := do(t, "GET", base+"/v1/songs/copy-q5/neighbors?k=1", "", nil)
	if code != http.StatusOK || res["version"] != "v0003" {
		t.Errorf("after the swap: %d %v", code, res)
	}
	select {
	case <-held.drained:
		t.Fatal("the old version was released while a request used it")
	default:
	}
	held.release()
	select {
	case <-held.drained: // drain cleared v and returned its memory
	case <-time.After(10 * time.Second):
		t.Fatal("the old version was never released")
	}
}

func metricsText(t *testing.T, base string) []byte {
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return b
}
