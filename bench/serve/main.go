// Command serve is the load generator of 'vindex serve' (issue 15): it
// writes a synthetic index (two versions of n songs at dimension d, seeded
// weights of the same d), serves it on the loopback address (in this
// process, or with -vindex as a 'vindex serve' child process), and measures
// song-id queries at a fixed concurrency for a bounded time and count,
// requests/s and latency percentiles, then the same while a new version is
// swapped in, then feature queries (songs/s) against the network's own
// speed measured in the same run.
//
//	go run ./bench/serve -n 100000 -d 64 -c 16 -duration 10s
//
// Figures are in bench/RESULTS.md, section "Serve (issue 15)".
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"runtime/pprof"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/vindex/vindex/model"
	"github.com/vindex/vindex/model/safetensors"
	"github.com/vindex/vindex/model/search"
	"github.com/vindex/vindex/pipelines/index"
	"github.com/vindex/vindex/query"
	"github.com/vindex/vindex/serve"
	"github.com/vindex/vindex/storage"
)

type config struct {
	dir         string
	n, d        int
	conc        int
	duration    time.Duration
	maxRequests int
	k           int
	swap        bool
	featSongs   int
	featBatch   int
	featConc    int
	featFrames  int
	vindex      string
	rate        float64
	cpuprofile  string
}

func main() {
	var c config
	flag.StringVar(&c.dir, "dir", "", "folder for the synthetic index (default: a temporary folder, removed at the end)")
	flag.IntVar(&c.n, "n", 100000, "songs per version")
	flag.IntVar(&c.d, "d", 64, "dimension (of the seeded model, which the index searches)")
	flag.IntVar(&c.conc, "c", 16, "concurrent clients for song-id queries")
	flag.DurationVar(&c.duration, "duration", 10*time.Second, "length of each song-id phase")
	flag.IntVar(&c.maxRequests, "max-requests", 200000, "most requests in one phase")
	flag.IntVar(&c.k, "k", 10, "neighbours per query")
	flag.BoolVar(&c.swap, "swap", true, "run a second phase during which a new version is swapped in")
	flag.IntVar(&c.featSongs, "feature-songs", 32, "songs to query by features (0: skip)")
	flag.IntVar(&c.featBatch, "feature-batch", 4, "songs per feature request")
	flag.IntVar(&c.featConc, "feature-c", 2, "concurrent feature requests")
	flag.IntVar(&c.featFrames, "feature-frames", 2000, "frames per feature song at the model rate (2000 ≈ 186 s)")
	flag.Float64Var(&c.rate, "rate", 300, "requests/s of the paced phases (0: skip them); latency is measured from each request's scheduled time")
	flag.StringVar(&c.vindex, "vindex", "", "a vindex binary to run as the server (default: serve in this process)")
	flag.StringVar(&c.cpuprofile, "cpuprofile", "", "write a CPU profile of this process (server included when in-process) to this file")
	flag.Parse()
	if c.cpuprofile != "" {
		f, err := os.Create(c.cpuprofile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench/serve:", err)
			os.Exit(1)
		}
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	if err := run(c); err != nil {
		pprof.StopCPUProfile()
		fmt.Fprintln(os.Stderr, "bench/serve:", err)
		os.Exit(1)
	}
}

func run(c config) error {
	if c.dir == "" {
		d, err := os.MkdirTemp("", "vindex-serve-bench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		c.dir = d
	}
	start := time.Now()
	weights, err := writeIndex(c)
	if err != nil {
		return err
	}
	fmt.Printf("index: 2 versions of %d songs at d=%d written in %v (%s)\n", c.n, c.d, time.Since(start).Round(time.Millisecond), c.dir)
	base, reload, stop, err := startServer(c)
	if err != nil {
		return err
	}
	defer stop()
	start = time.Now()
	if err := waitVersion(base, "v0001", 5*time.Minute); err != nil {
		return err
	}
	fmt.Printf("server: %s, GOMAXPROCS %d, ready in %v\n", base, runtime.GOMAXPROCS(0), time.Since(start).Round(time.Millisecond))
	phase(c, base, nil, time.Second, 0) // warm-up
	p := phase(c, base, nil, c.duration, 0)
	p.print(fmt.Sprintf("song-id queries, %d clients as fast as they can", c.conc))
	if c.rate > 0 {
		p := phase(c, base, nil, c.duration, c.rate)
		p.print(fmt.Sprintf("song-id queries, %d clients paced at %.0f/s", c.conc, c.rate))
	}
	if c.swap {
		next := "v0002"
		for _, rate := range []float64{0, c.rate} {
			if rate == 0 && c.rate > 0 {
				continue // the swap is measured at the paced rate when there is one
			}
			if err := setCurrent(c.dir, next); err != nil {
				return err
			}
			sw := phase(c, base, func() { reload() }, c.duration, rate)
			sw.print(fmt.Sprintf("song-id queries at %.0f/s (0: unpaced), swap to %s during the phase", rate, next))
			if sw.swapAt > 0 {
				fmt.Printf("  swap: triggered at %v, %s answering from %v; latency of requests started from the trigger to 1 s after: %s\n",
					sw.swapAt.Round(time.Millisecond), next, sw.swappedAt.Round(time.Millisecond), sw.window.summary())
			}
		}
	}
	if c.featSongs > 0 {
		if err := features(c, base, weights); err != nil {
			return err
		}
	}
	return nil
}

// writeIndex writes versions v0001 and v0002 (different vectors), the
// seeded weights, and points CURRENT at v0001.
func writeIndex(c config) (string, error) {
	weights := storage.Join(c.dir, "weights.safetensors")
	f, err := os.Create(weights)
	if err != nil {
		return "", err
	}
	if err := safetensors.Write(f, model.SeededCheckpoint(c.d, 1), nil); err != nil {
		f.Close()
		return "", err
	}
	if err := f.Close(); err != nil {
		return "", err
	}
	w, err := model.NewWeights(model.SeededCheckpoint(c.d, 1), model.Config{})
	if err != nil {
		return "", err
	}
	for v, name := range []string{"v0001", "v0002"} {
		dir := storage.Join(c.dir, name) // storage.WriteFile creates the folder
		b, err := search.Marshal(synthMatrix(c.n, c.d, uint64(v+1)))
		if err != nil {
			return "", err
		}
		if err := storage.WriteFile(context.Background(), storage.Join(dir, search.FileName), b); err != nil {
			return "", err
		}
		info := index.Info{Format: index.FormatVersion, Created: time.Now().UTC(), Command: "bench/serve", Weights: weights,
			Model: w.ID(), Dim: c.d, Distance: "cosine", Search: index.EmbeddingsDir, Songs: int64(c.n)}
		b, _ = json.MarshalIndent(info, "", "  ")
		if err := storage.WriteFile(context.Background(), storage.Join(dir, index.InfoFile), b); err != nil {
			return "", err
		}
	}
	return weights, setCurrent(c.dir, "v0001")
}

func setCurrent(dir, v string) error {
	return storage.WriteFile(context.Background(), storage.Join(dir, query.CurrentFile), []byte(v+"\n"))
}

// synthMatrix is n songs in works of 4 versions: a work's vector plus noise.
func synthMatrix(n, d int, seed uint64) *search.Matrix {
	rng := rand.New(rand.NewPCG(seed, 15))
	m := &search.Matrix{Dim: d, IDs: make([]string, n), WorkIDs: make([]string, n), Vecs: make([]float32, n*d)}
	work := make([]float32, d)
	for i := range n {
		if i%4 == 0 {
			for j := range work {
				work[j] = float32(rng.NormFloat64())
			}
		}
		m.IDs[i] = fmt.Sprintf("S%07d", i)
		m.WorkIDs[i] = fmt.Sprintf("W%06d", i/4)
		for j := range d {
			m.Vecs[i*d+j] = work[j] + 0.5*float32(rng.NormFloat64())
		}
	}
	return m
}

// startServer serves c.dir on a free loopback port; reload asks for a
// reload (SIGHUP for a child process).
func startServer(c config) (base string, reload, stop func(), err error) {
	if c.vindex == "" {
		s, err := serve.New(serve.Config{Index: c.dir, Poll: -1, MaxK: 1000,
			Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))})
		if err != nil {
			return "", nil, nil, err
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return "", nil, nil, err
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- s.Run(ctx, ln) }()
		return "http://" + ln.Addr().String(), s.Reload, func() { cancel(); <-done }, nil
	}
	cmd := exec.Command(c.vindex, "serve", "--index", c.dir, "--addr", "127.0.0.1:0", "--poll", "0")
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return "", nil, nil, err
	}
	if err := cmd.Start(); err != nil {
		return "", nil, nil, err
	}
	line := make([]byte, 256)
	nr, _ := out.Read(line)
	_, addr, ok := strings.Cut(strings.TrimSpace(string(line[:nr])), "listening on ")
	if !ok {
		cmd.Process.Kill()
		return "", nil, nil, fmt.Errorf("vindex serve printed %q", line[:nr])
	}
	go io.Copy(io.Discard, out)
	return addr, func() { cmd.Process.Signal(syscall.SIGHUP) },
		func() { cmd.Process.Signal(syscall.SIGTERM); cmd.Wait() }, nil
}

func waitVersion(base, v string, timeout time.Duration) error {
	for deadline := time.Now().Add(timeout); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		resp, err := http.Get(base + "/v1/index")
		if err != nil {
			continue
		}
		var info struct {
			Version string `json:"version"`
		}
		json.NewDecoder(resp.Body).Decode(&info)
		resp.Body.Close()
		if info.Version == v {
			return nil
		}
	}
	return fmt.Errorf("version %s not served after %v", v, timeout)
}

// latencies is a set of request durations.
type latencies []time.Duration

func (l latencies) pct(p float64) time.Duration {
	if len(l) == 0 {
		return 0
	}
	s := append(latencies(nil), l...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[min(len(s)-1, int(math.Ceil(p*float64(len(s))))-1)]
}

func (l latencies) summary() string {
	ms := func(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) }
	return fmt.Sprintf("%d requests, p50 %s, p90 %s, p99 %s, max %s", len(l), ms(l.pct(.5)), ms(l.pct(.9)), ms(l.pct(.99)), ms(l.pct(1)))
}

type phaseResult struct {
	cpu       float64 // server CPU seconds during the phase (process_cpu_seconds_total)
	maxRSS    float64 // largest resident set seen during the phase, bytes
	wall      time.Duration
	all       latencies
	errors    int64
	versions  map[string]int
	swapAt    time.Duration // since the phase's start
	swappedAt time.Duration // first answer from the new version
	window    latencies     // requests started between swapAt and swappedAt + 1 s
}

func (p *phaseResult) print(name string) {
	fmt.Printf("%s: %.0f requests/s over %v; %s; %d errors; versions %v; server CPU %.2f ms a request, max RSS %.0f MB\n", name,
		float64(len(p.all))/p.wall.Seconds(), p.wall.Round(time.Millisecond), p.all.summary(), p.errors, p.versions,
		1000*p.cpu/float64(max(1, len(p.all))), p.maxRSS/1e6)
}

// phase runs c.conc clients asking random song ids for d (or until
// c.maxRequests), as fast as they can or, with rate > 0, each request at
// its scheduled time (latency then counts from that time, so a stalled
// server is not hidden by clients that wait for it); swap, when given, is
// called at a third of the phase.
func phase(c config, base string, swap func(), d time.Duration, rate float64) *phaseResult {
	type sample struct {
		start, lat time.Duration
		version    string
	}
	res := &phaseResult{versions: map[string]int{}}
	var next atomic.Int64
	var errs atomic.Int64
	samples := make([][]sample, c.conc)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: c.conc}, Timeout: 30 * time.Second}
	cpu0 := scrape(base, "process_cpu_seconds_total")
	sampled := make(chan struct{})
	stopSampling := make(chan struct{})
	go func() { // the server's resident set, every 50 ms
		defer close(sampled)
		for {
			res.maxRSS = max(res.maxRSS, scrape(base, "process_resident_memory_bytes"))
			select {
			case <-stopSampling:
				return
			case <-time.After(50 * time.Millisecond):
			}
		}
	}()
	t0 := time.Now()
	end := t0.Add(d)
	var wg sync.WaitGroup
	for w := range c.conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 99))
			for i := 0; time.Now().Before(end) && next.Add(1) <= int64(c.maxRequests); i++ {
				url := fmt.Sprintf("%s/v1/songs/S%07d/neighbors?k=%d", base, rng.IntN(c.n), c.k)
				st := time.Now()
				if rate > 0 {
					st = t0.Add(time.Duration(float64(i*c.conc+w) / rate * float64(time.Second)))
					if st.After(end) {
						break
					}
					time.Sleep(time.Until(st))
				}
				v, err := get(client, url)
				lat := time.Since(st)
				if err != nil {
					errs.Add(1)
					fmt.Fprintln(os.Stderr, "request:", err)
					continue
				}
				samples[w] = append(samples[w], sample{st.Sub(t0), lat, v})
			}
		}()
	}
	if swap != nil {
		time.Sleep(d / 3)
		res.swapAt = time.Since(t0)
		swap()
	}
	wg.Wait()
	res.wall = time.Since(t0)
	close(stopSampling)
	<-sampled
	res.cpu = scrape(base, "process_cpu_seconds_total") - cpu0
	res.errors = errs.Load()
	var all []sample
	for _, s := range samples {
		all = append(all, s...)
	}
	sort.Slice(all, func(i, j int) bool { return all[i].start < all[j].start })
	for _, s := range all {
		res.all = append(res.all, s.lat)
		res.versions[s.version]++
		if swap != nil && res.swappedAt == 0 && s.version != all[0].version {
			res.swappedAt = s.start
		}
	}
	if swap != nil {
		for _, s := range all {
			if s.start >= res.swapAt && (res.swappedAt == 0 || s.start <= res.swappedAt+time.Second) {
				res.window = append(res.window, s.lat)
			}
		}
	}
	return res
}

func get(c *http.Client, url string) (string, error) {
	resp, err := c.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var a struct {
		Version string `json:"version"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&a); err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("%s: status %d", url, resp.StatusCode)
	}
	return a.Version, nil
}

// features measures feature queries (songs/s through HTTP: JSON encoding,
// embedding, search) against the network alone in this process (one
// network per core, as 'vindex bench model' runs it).
func features(c config, base, weights string) error {
	rng := rand.New(rand.NewPCG(7, 8))
	songs := make([][]float32, c.featSongs)
	for i := range songs {
		songs[i] = make([]float32, 12*c.featFrames)
		for j := range songs[i] {
			songs[i][j] = rng.Float32()
		}
	}
	// The network alone, one per core.
	w, err := model.NewWeights(model.SeededCheckpoint(c.d, 1), model.Config{})
	if err != nil {
		return err
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	t0 := time.Now()
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			net, dst := w.NewNet(), make([]float32, w.Dim())
			for i := next.Add(1) - 1; i < int64(len(songs)); i = next.Add(1) - 1 {
				if err := net.Embed(dst, songs[i], model.ModelHop); err != nil {
					panic(err)
				}
			}
		}()
	}
	wg.Wait()
	netRate := float64(len(songs)) / time.Since(t0).Seconds()

	// Through the server.
	type song struct {
		SongID string    `json:"song_id"`
		Crema  []float32 `json:"crema"`
	}
	var bodies [][]byte
	for i := 0; i < len(songs); i += c.featBatch {
		var req struct {
			K     int    `json:"k"`
			Songs []song `json:"songs"`
		}
		req.K = c.k
		for j := i; j < min(i+c.featBatch, len(songs)); j++ {
			req.Songs = append(req.Songs, song{fmt.Sprintf("new-%d", j), songs[j]})
		}
		b, _ := json.Marshal(req)
		bodies = append(bodies, b)
	}
	var lat latencies
	var mu sync.Mutex
	var failed error
	next.Store(0)
	t0 = time.Now()
	for range c.featConc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := next.Add(1) - 1; i < int64(len(bodies)); i = next.Add(1) - 1 {
				st := time.Now()
				resp, err := http.Post(base+"/v1/neighbors", "application/json", bytes.NewReader(bodies[i]))
				if err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != http.StatusOK {
						err = fmt.Errorf("status %d", resp.StatusCode)
					}
				}
				mu.Lock()
				lat = append(lat, time.Since(st))
				if err != nil {
					failed = errors.Join(failed, err)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if failed != nil {
		return failed
	}
	httpRate := float64(len(songs)) / time.Since(t0).Seconds()
	fmt.Printf("feature queries: %d songs of %d frames, %d a request, %d concurrent: %.2f songs/s through HTTP (requests: %s); the network alone, %d goroutines: %.2f songs/s (ratio %.2f)\n",
		len(songs), c.featFrames, c.featBatch, c.featConc, httpRate, lat.summary(), runtime.GOMAXPROCS(0), netRate, httpRate/netRate)
	return nil
}

// scrape reads one unlabelled metric from the server's /metrics (0 when
// absent).
func scrape(base, name string) float64 {
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			var f float64
			fmt.Sscan(v, &f)
			return f
		}
	}
	return 0
}
