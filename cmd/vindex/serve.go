package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/vindex/vindex/serve"
)

func init() {
	register(command{name: "serve", summary: "answer queries over HTTP, switching to each new index version", run: runServe})
}

const serveHelp = `Serves an index over HTTP (JSON API, docs/api.md): the neighbours of a song
of the index, of feature rows embedded with the index's own model and reducer,
and what the index is; /healthz, /readyz and Prometheus /metrics.

The server watches the index's CURRENT (every --poll, and on SIGHUP), loads a
new version in the background and switches to it without dropping a request;
a version that fails to load is logged and the old one keeps serving. SIGTERM
or SIGINT stop it gracefully (requests in flight finish).`

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("serve", "--index DIR [--addr HOST:PORT] [--poll 30s]", serveHelp, stderr)
	var cfg serve.Config
	addr := fs.String("addr", "127.0.0.1:8080", "address to listen on (HOST:PORT; port 0 picks a free one)")
	fs.StringVar(&cfg.Index, "index", "", "index folder or URI (gs://…): its CURRENT version is served")
	fs.DurationVar(&cfg.Poll, "poll", 30*time.Second, "how often to check CURRENT for a new version (0: only on SIGHUP)")
	fs.DurationVar(&cfg.Timeout, "timeout", 30*time.Second, "longest a request may take")
	fs.Int64Var(&cfg.MaxBody, "max-body", 64<<20, "largest request body, in bytes")
	fs.IntVar(&cfg.MaxK, "max-k", 1000, "largest k a request may ask for")
	fs.IntVar(&cfg.MaxSongs, "max-songs", 64, "most feature rows in one request")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if cfg.Index == "" {
		return errors.New("serve: no index given (--index DIR)")
	}
	if cfg.Poll == 0 {
		cfg.Poll = -1 // Config: negative is never
	}
	cfg.Logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	srv, err := serve.New(cfg)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	fmt.Fprintf(stdout, "vindex serve: listening on http://%s\n", ln.Addr())
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGTERM, os.Interrupt)
	defer stop()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	go func() {
		for {
			select {
			case <-hup:
				srv.Reload()
			case <-ctx.Done():
				return
			}
		}
	}()
	return srv.Run(ctx, ln)
}
