package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"

	"github.com/vindex/vindex/model"
	"github.com/vindex/vindex/schema"
)

// syncBuffer is a bytes.Buffer safe for one writer and concurrent readers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// randomSongs returns n songs of 400 frames at the model rate (37 s), in
// works of 4 versions.
func randomSongs(rng *rand.Rand, prefix string, n int) []schema.Song {
	songs := make([]schema.Song, n)
	for i := range songs {
		s := schema.Song{SongID: fmt.Sprintf("%s%03d", prefix, i), WorkID: fmt.Sprintf("W%d", i/4), Crema: make([]float32, 12*400)}
		for j := range s.Crema {
			s.Crema[j] = rng.Float32()
		}
		songs[i] = s
	}
	return songs
}

func getJSON(t *testing.T, c *http.Client, url string, v any) int {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil && resp.StatusCode == http.StatusOK {
		t.Fatalf("GET %s: %v", url, err)
	}
	return resp.StatusCode
}

// TestServeEndToEnd serves a reindexed index on a free loopback port, asks
// it with a real HTTP client, publishes a new version with 'vindex reindex'
// while a client keeps asking, and sees the answers change without a
// restart and without a failed request.
func TestServeEndToEnd(t *testing.T) {
	beam.Init()
	dir := t.TempDir()
	weights := filepath.Join(dir, "w.safetensors")
	if err := model.SeededCheckpointFile(weights, 64, 3); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(3, 4))
	songs := randomSongs(rng, "S", 16)
	if err := os.MkdirAll(filepath.Join(dir, "cat-a"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := schema.WriteSongsFile(filepath.Join(dir, "cat-a", "songs.parquet"), songs, schema.WriterOptions{}); err != nil {
		t.Fatal(err)
	}
	idx := filepath.Join(dir, "index")
	catalog := filepath.Join(dir, "cat-*", "*.parquet")
	reindexArgs := []string{"reindex", "--catalog", catalog, "--index", idx, "--weights", weights, "--dim", "8"}
	if _, errOut, err := runCLI(reindexArgs...); err != nil {
		t.Fatalf("reindex: %v\n%s", err, errOut)
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr syncBuffer
	served := make(chan error, 1)
	go func() {
		served <- run(ctx, []string{"serve", "--index", idx, "--addr", "127.0.0.1:0", "--poll", "50ms"}, &stdout, &stderr)
	}()
	var base string
	for deadline := time.Now().Add(30 * time.Second); base == ""; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("serve did not start:\n%s\n%s", stdout.String(), stderr.String())
		}
		if _, after, ok := strings.Cut(stdout.String(), "listening on "); ok {
			base = strings.TrimSpace(after)
		}
	}
	c := &http.Client{Timeout: 30 * time.Second}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		resp, err := c.Get(base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve not ready: %v\n%s", err, stderr.String())
		}
	}

	// The answers are vindex query's.
	var got neighborsAnswer
	if code := getJSON(t, c, base+"/v1/songs/S005/neighbors?k=5", &got); code != http.StatusOK {
		t.Fatalf("neighbors: status %d", code)
	}
	want := queryJSON(t, "--index", idx, "--song", "S005", "--k", "5")
	if got.Version != "v0001" || len(got.Queries) != 1 || !sameNeighbors(got.Queries[0].Neighbors, want.Queries[0].Neighbors) {
		t.Fatalf("serve answered %+v, vindex query %+v", got, want.Queries)
	}

	// A client keeps asking while v0002 (with a copy of S005) is published.
	var failed, asked atomic.Int64
	versions := sync.Map{}
	stop := make(chan struct{})
	var stopOnce sync.Once
	var wg sync.WaitGroup
	defer func() { stopOnce.Do(func() { close(stop) }); wg.Wait() }()
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				var a neighborsAnswer
				resp, err := c.Get(base + "/v1/songs/S005/neighbors?k=3")
				if err == nil {
					err = json.NewDecoder(resp.Body).Decode(&a)
					resp.Body.Close()
					if err == nil && resp.StatusCode != http.StatusOK {
						err = fmt.Errorf("status %d", resp.StatusCode)
					}
				}
				asked.Add(1)
				if err != nil {
					failed.Add(1)
					t.Errorf("request during the swap: %v", err)
					continue
				}
				versions.Store(a.Version, true)
			}
		}()
	}
	copySong := songs[5]
	copySong.SongID = "COPY-S005"
	if err := os.MkdirAll(filepath.Join(dir, "cat-b"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := schema.WriteSongsFile(filepath.Join(dir, "cat-b", "new.parquet"), []schema.Song{copySong}, schema.WriterOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, errOut, err := runCLI(append(reindexArgs[:5:5], "--dim", "8")...); err != nil {
		t.Fatalf("second reindex: %v\n%s", err, errOut)
	}
	var info struct {
		Version string `json:"version"`
		Songs   int    `json:"songs"`
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		getJSON(t, c, base+"/v1/index", &info)
		if info.Version == "v0002" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve still on %s:\n%s", info.Version, stderr.String())
		}
	}
	time.Sleep(100 * time.Millisecond) // a few requests on the new version
	stopOnce.Do(func() { close(stop) })
	wg.Wait()
	if info.Songs != 17 {
		t.Errorf("v0002 serves %d songs, want 17", info.Songs)
	}
	if _, ok := versions.Load("v0002"); !ok || failed.Load() > 0 {
		t.Errorf("during the swap: %d of %d requests failed; versions seen %v", failed.Load(), asked.Load(), keys(&versions))
	}
	if code := getJSON(t, c, base+"/v1/songs/S005/neighbors?k=1", &got); code != http.StatusOK {
		t.Fatalf("neighbors after the swap: status %d", code)
	}
	if n := got.Queries[0].Neighbors[0]; n.SongID != "COPY-S005" || n.Similarity == nil || math.Abs(*n.Similarity-1) > 1e-5 {
		t.Errorf("after the swap, S005's nearest is %+v, want COPY-S005 at similarity 1", n)
	}

	cancel() // SIGTERM's path: a graceful shutdown
	select {
	case err := <-served:
		if err != nil {
			t.Errorf("serve: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not shut down")
	}
}

type neighborsAnswer struct {
	Version string `json:"version"`
	Queries []struct {
		SongID    string `json:"song_id"`
		Neighbors []struct {
			SongID     string   `json:"song_id"`
			Similarity *float64 `json:"similarity"`
			Distance   *float64 `json:"distance"`
		} `json:"neighbors"`
	} `json:"queries"`
}

func sameNeighbors[N any](a []struct {
	SongID     string   `json:"song_id"`
	Similarity *float64 `json:"similarity"`
	Distance   *float64 `json:"distance"`
}, b []N) bool {
	ja, _ := json.Marshal(a)
	var bs []struct {
		SongID     string   `json:"song_id"`
		Similarity *float64 `json:"similarity"`
		Distance   *float64 `json:"distance"`
	}
	jb, _ := json.Marshal(b)
	if json.Unmarshal(jb, &bs) != nil {
		return false
	}
	jb, _ = json.Marshal(bs)
	return bytes.Equal(ja, jb) && len(a) == len(b)
}

func keys(m *sync.Map) []any {
	var out []any
	m.Range(func(k, _ any) bool { out = append(out, k); return true })
	return out
}
