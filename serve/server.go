package serve

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"runtime/debug"
	"sync/atomic"
	"time"

	"github.com/vindex/vindex/query"
)

// Config is the server's configuration; Validate fills defaults.
type Config struct {
	Index string // index folder: a local path or a URI (gs://)
	// Poll is how often CURRENT is checked for a new version (0: 30 s;
	// negative: never, only on Reload).
	Poll time.Duration
	// MaxBody bounds a request body in bytes (0: 64 MiB).
	MaxBody int64
	// Timeout bounds a request's handling (0: 30 s).
	Timeout time.Duration
	// MaxK bounds k (0: 1000).
	MaxK int
	// MaxSongs bounds the feature rows of one POST /v1/neighbors (0: 64).
	MaxSongs int
	// Logger receives loads, swaps and failures (nil: slog.Default()).
	Logger *slog.Logger
}

// Validate checks the configuration and fills its defaults.
func (c *Config) Validate() error {
	if c.Index == "" {
		return errors.New("serve: no index given")
	}
	if c.Poll == 0 {
		c.Poll = 30 * time.Second
	}
	if c.MaxBody == 0 {
		c.MaxBody = 64 << 20
	}
	if c.Timeout == 0 {
		c.Timeout = 30 * time.Second
	}
	if c.MaxK == 0 {
		c.MaxK = 1000
	}
	if c.MaxSongs == 0 {
		c.MaxSongs = 64
	}
	switch {
	case c.MaxBody < 0:
		return fmt.Errorf("serve: max body %d bytes: want at least 1", c.MaxBody)
	case c.Timeout < 0:
		return fmt.Errorf("serve: timeout %v: want a positive duration", c.Timeout)
	case c.MaxK < 0:
		return fmt.Errorf("serve: max k %d: want at least 1", c.MaxK)
	case c.MaxSongs < 0:
		return fmt.Errorf("serve: max songs %d: want at least 1", c.MaxSongs)
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return nil
}

// Server serves one index folder and swaps to each new version published
// into it. Create it with New; Run serves until its context ends.
type Server struct {
	cfg     Config
	cur     atomic.Pointer[loaded]
	reload  chan struct{}
	metrics *metrics
	mux     *http.ServeMux
	// failed is the identity of the last version that failed to load, so a
	// broken version is not reloaded at every poll (Reload retries it).
	failed string
}

// loaded is a version in service, with the count of requests using it.
type loaded struct {
	v        *query.Version
	ident    string
	loadedAt time.Time
	refs     atomic.Int64
	drained  chan struct{} // closed once replaced and no longer used
}

// New returns a server for cfg; nothing is loaded until Run.
func New(cfg Config) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, reload: make(chan struct{}, 1), metrics: newMetrics()}
	s.routes()
	return s, nil
}

// Handler is the server's HTTP API (see package doc and docs/api.md).
func (s *Server) Handler() http.Handler { return s.mux }

// Reload asks the server to check CURRENT now (as SIGHUP does), retrying
// a version that failed to load. It does not wait.
func (s *Server) Reload() {
	select {
	case s.reload <- struct{}{}:
	default:
	}
}

// Version returns the version in service, nil before the first load.
func (s *Server) Version() *query.Version {
	if l := s.cur.Load(); l != nil {
		return l.v
	}
	return nil
}

// Run loads the current version in the background, serves ln until ctx
// ends, then shuts down gracefully: the listener closes, requests in flight
// finish (each is bounded by Config.Timeout), and Run returns nil.
func (s *Server) Run(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           s.mux,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       s.cfg.Timeout,
		WriteTimeout:      s.cfg.Timeout + 5*time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(s.cfg.Logger.Handler(), slog.LevelWarn),
	}
	wctx, stopWatch := context.WithCancel(ctx)
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		s.watch(wctx)
	}()
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	var err error
	select {
	case err = <-served:
	case <-ctx.Done():
		s.cfg.Logger.Info("serve: shutting down")
		sctx, cancel := context.WithTimeout(context.Background(), s.cfg.Timeout+10*time.Second)
		err = srv.Shutdown(sctx)
		cancel()
	}
	stopWatch()
	<-watched
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	return nil
}

// watch loads the current version, then checks CURRENT at every poll and
// every Reload until ctx ends. Loads happen only here, one at a time, and
// the next starts only after the replaced version is drained: at most two
// versions are in memory during a switch, one otherwise.
func (s *Server) watch(ctx context.Context) {
	var tick <-chan time.Time
	if s.cfg.Poll > 0 {
		t := time.NewTicker(s.cfg.Poll)
		defer t.Stop()
		tick = t.C
	}
	s.check(ctx, false)
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick:
			s.check(ctx, false)
		case <-s.reload:
			s.check(ctx, true)
		}
	}
}

// check loads and switches to the current version if it is not the one in
// service. A version that fails to load is logged and the old one keeps
// serving.
func (s *Server) check(ctx context.Context, retry bool) {
	dir, name, err := query.Current(ctx, s.cfg.Index)
	var info ident
	if err == nil {
		info, err = identify(ctx, dir)
	}
	if err != nil {
		if ctx.Err() == nil {
			s.metrics.reloads.WithLabelValues("failed").Inc()
			s.cfg.Logger.Error("serve: cannot resolve the current version; the old one keeps serving", "index", s.cfg.Index, "err", err)
		}
		return
	}
	if old := s.cur.Load(); old != nil && old.ident == string(info) {
		return
	}
	if !retry && s.failed == string(info) {
		return
	}
	start := time.Now()
	v, err := query.LoadDir(ctx, s.cfg.Index, dir, name, query.Options{Embedder: true})
	if err != nil {
		if ctx.Err() != nil {
			return
		}
		s.failed = string(info)
		s.metrics.reloads.WithLabelValues("failed").Inc()
		s.cfg.Logger.Error("serve: version failed to load; the old one keeps serving", "dir", dir, "err", err)
		return
	}
	s.failed = ""
	l := &loaded{v: v, ident: string(info), loadedAt: time.Now(), drained: make(chan struct{})}
	old := s.cur.Swap(l)
	s.metrics.setVersion(v, old)
	s.metrics.reloads.WithLabelValues("ok").Inc()
	s.cfg.Logger.Info("serve: serving version", "dir", dir, "version", v.Name, "songs", v.Index.Len(),
		"dim", v.Index.Dim, "distance", v.Index.Distance, "load", time.Since(start).Round(time.Millisecond))
	if old != nil {
		s.drain(ctx, old)
	}
}

// drain waits until no request uses old, then returns its memory.
func (s *Server) drain(ctx context.Context, old *loaded) {
	for old.refs.Load() > 0 && ctx.Err() == nil {
		time.Sleep(time.Millisecond)
	}
	old.v = nil
	runtime.GC()
	debug.FreeOSMemory()
	close(old.drained)
}

// acquire returns the version in service and counts the caller as its
// user until release; nil before the first load.
func (s *Server) acquire() *loaded {
	for {
		l := s.cur.Load()
		if l == nil {
			return nil
		}
		l.refs.Add(1)
		if s.cur.Load() == l {
			return l
		}
		l.refs.Add(-1) // swapped meanwhile: use the new one
	}
}

func (l *loaded) release() { l.refs.Add(-1) }

// ident names a version's content: its folder and index.json's creation
// time, so a plain index folder rebuilt in place is a new version too.
type ident string

func identify(ctx context.Context, dir string) (ident, error) {
	info, err := query.ReadInfo(ctx, dir)
	if err != nil {
		return "", err
	}
	return ident(dir + "@" + info.Created.Format(time.RFC3339Nano)), nil
}
