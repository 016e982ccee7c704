// Package app wires a feed, the hub and the HTTP endpoints into one
// tickerd server. cmd/tickerd runs it from flags; tests run it in-process.
//
//	a, err := app.New(app.Config{}) // the simulated market, defaults everywhere
//	if err != nil { ... }
//	ln, _ := net.Listen("tcp", "127.0.0.1:0")
//	err = a.Serve(ctx, ln) // until ctx is done; then every client gets 1001
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/tickerd/tickerd/feed"
	"github.com/tickerd/tickerd/feed/sim"
	"github.com/tickerd/tickerd/hub"
	"github.com/tickerd/tickerd/internal/auth"
	"github.com/tickerd/tickerd/internal/metrics"
	"github.com/tickerd/tickerd/protocol"
	"github.com/tickerd/tickerd/web"
)

// Config configures a server. The zero value serves the simulated market
// with every default.
type Config struct {
	// Feed is the source of ticks; nil means the simulated market with Sim.
	Feed feed.Feed
	// Sim configures the simulated market when Feed is nil.
	Sim sim.Config
	// Hub holds the hub's limits. Hub.OnWatch is set by New when the feed
	// is a feed.Watcher.
	Hub hub.Config
	// Tee, when set, also receives every tick the feed publishes, before
	// the hub does (a node that shares its feed with others puts its
	// publisher here).
	Tee feed.Sink
	// Logger receives the server's logs; nil discards them.
	Logger *slog.Logger

	// ReadHeaderTimeout bounds reading an HTTP request's header, the
	// WebSocket handshake included. Default 5 s.
	ReadHeaderTimeout time.Duration
	// MaxHeaderBytes caps an HTTP request's header. Default 8 KiB.
	MaxHeaderBytes int
	// Auth, when set, makes every client authenticate with a token it
	// verifies; its grants decide which symbols a client may watch.
	Auth *auth.Verifier
	// AllowedOrigins lists the Origins a browser may connect from: host
	// names ("example.com", "example.com:8443") or full origins
	// ("https://example.com"), or "*" for any. Empty: same host only, or
	// any Origin when Auth is set (the token is the credential then).
	AllowedOrigins []string
	// TLSCertFile and TLSKeyFile, when both set, serve HTTPS and wss://.
	TLSCertFile, TLSKeyFile string

	// ReadyMaxFeedAge is how long the feed may go without an update before
	// /readyz says 503. 0: DefaultReadyMaxFeedAge; negative: not checked,
	// for a feed that is quiet by design.
	ReadyMaxFeedAge time.Duration

	// DrainWindow is the time over which clients are closed with 1001 at
	// shutdown, in random order, so they do not all reconnect at once.
	// Default 5 s; negative closes all at once.
	DrainWindow time.Duration
}

// App is one tickerd server. It serves once: after Serve returns, make a
// new App to serve again.
type App struct {
	cfg  Config
	log  *slog.Logger
	feed feed.Feed
	hub  *hub.Hub
	mux  *http.ServeMux
}

// New builds the server: the feed, the hub and the routes. It starts the
// hub's goroutines; Serve or Close stops them.
func New(cfg Config) (*App, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.ReadHeaderTimeout <= 0 {
		cfg.ReadHeaderTimeout = 5 * time.Second
	}
	if cfg.MaxHeaderBytes <= 0 {
		cfg.MaxHeaderBytes = 8 << 10
	}
	if cfg.DrainWindow == 0 {
		cfg.DrainWindow = 5 * time.Second
	}
	if cfg.DrainWindow < 0 {
		cfg.DrainWindow = 0
	}
	f := cfg.Feed
	if f == nil {
		m, err := sim.New(cfg.Sim)
		if err != nil {
			return nil, fmt.Errorf("app: %w", err)
		}
		f = m
	}
	if cfg.Auth != nil {
		cfg.Hub.Authenticate = authenticate(cfg.Auth)
		cfg.Hub.Token = auth.TokenFromRequest
	}
	if cfg.Hub.CheckOrigin == nil {
		check, err := originChecker(cfg.AllowedOrigins, cfg.Auth != nil)
		if err != nil {
			return nil, fmt.Errorf("app: %w", err)
		}
		cfg.Hub.CheckOrigin = check
	}
	if (cfg.TLSCertFile == "") != (cfg.TLSKeyFile == "") {
		return nil, errors.New("app: TLS needs both a certificate and a key file")
	}
	if w, ok := f.(feed.Watcher); ok && cfg.Hub.OnWatch == nil {
		cfg.Hub.OnWatch = w.Watch
	}
	h, err := hub.New(cfg.Hub, f.Symbols(), cfg.Logger)
	if err != nil {
		return nil, fmt.Errorf("app: %w", err)
	}
	a := &App{cfg: cfg, log: cfg.Logger, feed: f, hub: h, mux: http.NewServeMux()}
	a.routes()
	return a, nil
}

func (a *App) routes() {
	a.mux.Handle("GET /ws", a.hub)
	a.mux.HandleFunc("GET /api/symbols", a.symbols)
	a.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})
	a.mux.Handle("GET /readyz", newReadiness(a.hub, a.feed, a.cfg.ReadyMaxFeedAge))
	a.mux.Handle("GET /metrics", metrics.Handler(a.hub, metrics.NewFeedCollector(a.feed)))
	a.mux.Handle("/", web.Handler())
}

// Handler returns the server's routes.
func (a *App) Handler() http.Handler { return a.mux }

// Hub returns the server's hub.
func (a *App) Hub() *hub.Hub { return a.hub }

func (a *App) symbols(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(a.hub.AppendSnapshots(make([]byte, 0, 64<<10)))
}

// Serve runs the feed and serves HTTP and WebSocket clients on ln until ctx
// is done. Then it drains: /readyz turns unready, new connections are
// refused, every client gets a close 1001 (going away) at a random moment
// within DrainWindow, the feed stops and Serve returns. It returns nil
// after a shutdown asked for by ctx.
func (a *App) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           a.mux,
		ReadHeaderTimeout: a.cfg.ReadHeaderTimeout,
		MaxHeaderBytes:    a.cfg.MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(a.log.Handler(), slog.LevelDebug),
	}
	feedCtx, stopFeed := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(2)
	serveErr := make(chan error, 1)
	go func() {
		defer wg.Done()
		var sink feed.Sink = a.hub
		if a.cfg.Tee != nil {
			sink = tee{a.cfg.Tee, a.hub}
		}
		if err := a.feed.Run(feedCtx, sink); err != nil {
			a.log.Error("feed stopped", "err", err)
		}
	}()
	go func() {
		defer wg.Done()
		if a.cfg.TLSCertFile != "" {
			serveErr <- srv.ServeTLS(ln, a.cfg.TLSCertFile, a.cfg.TLSKeyFile)
			return
		}
		serveErr <- srv.Serve(ln)
	}()
	a.log.Info("listening", "addr", ln.Addr().String(), "symbols", len(a.hub.Symbols()))

	var err error
	select {
	case <-ctx.Done():
	case err = <-serveErr:
		err = fmt.Errorf("app: serve: %w", err)
	}
	a.log.Info("draining", "conns", a.hub.Conns(), "window", a.cfg.DrainWindow)
	// The hub refuses upgrades from here on; the HTTP server keeps
	// answering (/readyz says 503) until the clients are gone.
	// Past the window, clients get the hub's CloseTimeout to answer, and
	// a little more, before the rest are cut.
	dctx, dcancel := context.WithTimeout(context.Background(), a.cfg.DrainWindow+3*time.Second)
	if herr := a.hub.Drain(dctx, a.cfg.DrainWindow); herr != nil {
		a.log.Warn("drain cut short", "err", herr, "conns", a.hub.Conns())
	}
	dcancel()
	sctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	// Shutdown stops the listener and idle HTTP connections; it leaves
	// the hijacked WebSocket connections to the hub.
	if serr := srv.Shutdown(sctx); serr != nil && err == nil {
		err = fmt.Errorf("app: http shutdown: %w", serr)
	}
	stopFeed()
	wg.Wait()
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	a.log.Info("stopped")
	return err
}

// tee publishes to two sinks in turn.
type tee struct{ a, b feed.Sink }

func (t tee) Publish(tk *protocol.Tick) {
	t.a.Publish(tk)
	t.b.Publish(tk)
}

func (t tee) PublishTrade(tr *protocol.Trade) {
	t.a.PublishTrade(tr)
	t.b.PublishTrade(tr)
}

func (t tee) PublishBook(b *protocol.BookUpdate) {
	t.a.PublishBook(b)
	t.b.PublishBook(b)
}

func (t tee) PublishCandle(c *protocol.Candle) {
	t.a.PublishCandle(c)
	t.b.PublishCandle(c)
}

func (t tee) List(syms []feed.Symbol) {
	t.a.List(syms)
	t.b.List(syms)
}

func (t tee) Delist(names []string) {
	t.a.Delist(names)
	t.b.Delist(names)
}

// Close stops the hub without serving; for an App whose Serve never ran.
func (a *App) Close() error { return a.hub.Close() }
