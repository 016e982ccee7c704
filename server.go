package tickerd

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tickerd/tickerd/feed"
	"github.com/tickerd/tickerd/feed/replay"
	"github.com/tickerd/tickerd/hub"
	"github.com/tickerd/tickerd/internal/cluster"
	"github.com/tickerd/tickerd/internal/front"
	"github.com/tickerd/tickerd/internal/metrics"
	"github.com/tickerd/tickerd/web"
)

// ErrServerClosed is returned by Run, Serve and ListenAndServe on a Server
// that has already run, or was shut down before it ran.
var ErrServerClosed = errors.New("tickerd: server closed")

// Server is one tickerd node: a feed, the hub that fans its updates out to
// WebSocket clients, and the HTTP endpoints. It serves once: after Run or
// Serve has returned, make a new Server to serve again.
//
// Its methods may be called from any goroutine.
type Server struct {
	// Static after New.
	cfg   Config
	log   *slog.Logger
	mux   *http.ServeMux
	reg   *prometheus.Registry
	ready *readiness
	nats  *natsNode // nil on a single node

	// eng is set by New, or on an edge by Run once the feed node's
	// symbol list came; it never changes after.
	eng        atomic.Pointer[engine]
	draining   atomic.Bool
	acceptErrs atomic.Uint64
	acceptLog  atomic.Int64           // Unix ns an accept error was last logged
	waiting    atomic.Pointer[waiter] // set by Serve

	mu        sync.Mutex
	started   bool               // guarded by mu: Run or Serve began, or Shutdown came first
	cancelRun context.CancelFunc // guarded by mu: ends the running Run or Serve

	done chan struct{} // closed when Run or Serve has returned, or by a Shutdown that came first
}

// engine is what moves the updates: the feed, the goroutine that runs it,
// the candle builder and the hub.
type engine struct {
	feed    feed.Feed
	hub     *hub.Hub // nil on a RoleFeed node
	runner  *feedRunner
	candles *candles         // nil on an edge, which builds none
	rec     *replay.Recorder // nil without Config.Record
	snaps   *snapshotCache   // GET /api/symbols; nil without a hub
}

// New builds a server from cfg: it opens the feed, starts the hub's
// goroutines and, on a cluster node, the embedded NATS server and the
// NATS connection. Run, Serve or ListenAndServe then runs it; Shutdown
// stops it, and releases all of this if it never ran.
//
// On an edge, the hub is made by Run once the feed node's symbol list
// has come; until then /ws and /api/symbols answer 503 and /readyz says
// why.
func New(cfg Config) (*Server, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if cfg.Hub.CheckOrigin == nil {
		check, err := originChecker(cfg.AllowedOrigins, cfg.Auth != nil)
		if err != nil {
			return nil, fmt.Errorf("tickerd: %w", err)
		}
		cfg.Hub.CheckOrigin = check
	}
	if cfg.Auth != nil {
		cfg.Hub.Authenticate, cfg.Hub.Token = hubAuth(cfg.Auth), tokenOf
	}
	s := &Server{
		cfg:   cfg,
		log:   cfg.Logger,
		mux:   http.NewServeMux(),
		ready: newReadiness(cfg.ReadyMaxFeedAge),
		done:  make(chan struct{}),
	}
	s.reg = metrics.NewRegistry(metrics.NewServerCollector(s.stats))
	s.log.Info("config", "config", cfg)
	if cfg.Cluster.on() {
		if s.nats, err = joinCluster(cfg.Cluster, s.log); err != nil {
			return nil, err
		}
	}
	if cfg.Cluster.Role != RoleEdge || s.nats == nil {
		f, c, err := feedFor(context.Background(), cfg, s.nats)
		if err == nil {
			err = s.build(f, c)
		}
		if err != nil {
			s.release()
			return nil, err
		}
	}
	h := s.Handlers()
	s.mux.Handle("GET /healthz", h.Health)
	s.mux.Handle("GET /readyz", h.Ready)
	s.mux.Handle("GET /metrics", h.Metrics)
	if cfg.Cluster.Role != RoleFeed {
		s.mux.Handle("GET /ws", h.WebSocket)
		s.mux.Handle("GET /api/symbols", h.Symbols)
		s.mux.Handle("/", h.Dashboard)
	}
	return s, nil
}

// build makes the engine for feed f, whose trades candle stage c (nil on
// an edge) builds candles from: the hub (unless the node serves no
// clients), the sink the feed publishes into, and its metrics.
func (s *Server) build(f feed.Feed, c *candles) error {
	e := &engine{feed: f, candles: c}
	var sink feed.Sink = feed.SinkFuncs{} // a feed node's Publisher hands nothing on
	if s.cfg.Cluster.Role != RoleFeed {
		hc := s.cfg.Hub
		if w, ok := f.(feed.Watcher); ok && hc.OnWatch == nil {
			hc.OnWatch = w.Watch
		}
		h, err := hub.New(hc, f.Symbols(), s.log)
		if err != nil {
			return fmt.Errorf("tickerd: %w", err)
		}
		e.hub, sink = h, h
		read := func(_ context.Context, dst []byte) ([]byte, error) { return h.AppendSnapshots(dst), nil }
		if edge, ok := f.(*cluster.Edge); ok {
			// What the feed node's hub answers, read from NATS: the
			// edge's hub has only what its clients watch.
			read = edge.AppendSnapshots
		}
		e.snaps = &snapshotCache{read: read}
		s.reg.MustRegister(metrics.NewCollector(h), metrics.NewChannelCollector(h.Stats))
	}
	s.reg.MustRegister(metrics.NewFeedCollector(f))
	if edge, ok := f.(*cluster.Edge); ok {
		s.reg.MustRegister(metrics.NewEdgeCollector(edge.Stats))
	}
	if s.cfg.Record != nil {
		e.rec = replay.NewRecorder(s.cfg.Record, nil)
		sink = tee{e.rec, sink}
	}
	if c != nil {
		s.reg.MustRegister(metrics.NewCandleCollector(c.b.Stats))
		if s.nats == nil {
			// A single node: the candle stage is in front of the hub.
			// On a feed node it is in front of the Publisher (feedFor).
			c.attach(sink)
			sink = c
		}
	}
	e.runner = &feedRunner{feed: f, sink: sink, log: s.log, first: s.cfg.FeedRestart, most: s.cfg.FeedRestartMax}
	s.eng.Store(e)
	return nil
}

// hub returns the server's hub, nil while an edge waits for its symbol
// list and on a RoleFeed node.
func (s *Server) hub() *hub.Hub {
	if e := s.eng.Load(); e != nil {
		return e.hub
	}
	return nil
}

// Hub returns the server's hub, for its counters (Stats, Conns) and for
// publishing into it directly. It is nil on a RoleFeed node, and on an
// edge until Run has the feed node's symbol list.
func (s *Server) Hub() *hub.Hub { return s.hub() }

// Handlers are a server's endpoints, for a program that mounts them on a
// mux of its own. Handler has them at their usual paths. The dashboard's
// page connects to /ws and fetches /api/symbols at the root of its host:
// it works where those two are at the root.
type Handlers struct {
	WebSocket http.Handler // GET /ws: the WebSocket endpoint (protocol v1)
	Symbols   http.Handler // GET /api/symbols: the latest snapshot of each symbol the caller may watch, a JSON array
	Health    http.Handler // GET /healthz: 200 while the process serves
	Ready     http.Handler // GET /readyz: 200, or 503 with one reason per line
	Metrics   http.Handler // GET /metrics: Prometheus
	Dashboard http.Handler // GET /: the browser dashboard and the JavaScript client
}

// Handlers returns the server's endpoints. On a RoleFeed node, which
// serves no clients, WebSocket, Symbols and Dashboard are nil.
func (s *Server) Handlers() Handlers {
	h := Handlers{
		Health: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			_, _ = w.Write([]byte("ok\n"))
		}),
		Ready:   http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { s.ready.serve(w, s.state()) }),
		Metrics: metrics.Handler(s.reg),
	}
	if s.cfg.Cluster.Role != RoleFeed {
		h.WebSocket = http.HandlerFunc(s.serveWS)
		h.Symbols = http.HandlerFunc(s.serveSymbols)
		h.Dashboard = web.Handler()
	}
	return h
}

// Handler returns every endpoint at its usual path: /ws, /api/symbols,
// /healthz, /readyz, /metrics and the dashboard at /. Mount it in a mux
// of your own to serve tickerd beside other routes, with Run running the
// feed; under a path prefix (http.StripPrefix) everything but the
// dashboard's page works, since that page looks for /ws at the root.
func (s *Server) Handler() http.Handler { return s.mux }

const waitingForSymbols = "cluster: waiting for the feed node's symbol list"

func (s *Server) serveWS(w http.ResponseWriter, r *http.Request) {
	h := s.hub()
	if h == nil {
		http.Error(w, waitingForSymbols, http.StatusServiceUnavailable)
		return
	}
	h.ServeHTTP(w, r)
}

// state is what /readyz looks at.
func (s *Server) state() state {
	st := state{draining: s.draining.Load()}
	e := s.eng.Load()
	if e == nil {
		st.waiting = waitingForSymbols
		return st
	}
	st.feed, st.hub, st.feedDown = e.feed, e.hub, e.runner.why()
	if e.hub != nil && e.hub.Draining() {
		st.draining = true
	}
	return st
}

// stats are the server's own counters, for /metrics.
func (s *Server) stats() metrics.ServerStats {
	st := metrics.ServerStats{AcceptErrors: s.acceptErrs.Load()}
	if w := s.waiting.Load(); w != nil {
		st.HTTPWaiting, st.HTTPWaitingClosed = (*w).Waiting(), (*w).Evicted()
		st.HTTPQueued, st.HTTPBusy = (*w).Queued(), (*w).Busy()
	}
	if e := s.eng.Load(); e != nil {
		st.FeedPanics = e.runner.panics.Load()
	}
	return st
}

// Run runs the feed and drains the hub's clients at the end, for a
// program that serves Handler (or Handlers) from an http.Server of its
// own; it listens on nothing itself. It blocks until ctx is done or
// Shutdown is called, then drains: /readyz turns 503, new WebSocket
// connections are refused, every client gets a close 1001 (going away)
// at a random moment within DrainWindow, and the feed stops. Shut your
// http.Server down after Run has returned. Run returns nil after a
// shutdown, or why it could not run (an edge that got no symbol list
// within Cluster.Wait).
func (s *Server) Run(ctx context.Context) error { return s.run(ctx, nil, nil, nil) }

// Serve is Run with an HTTP server of its own on ln, which it closes: the
// configured timeouts, TLS when Config.TLS is set, and every endpoint at
// its usual path. After the drain it shuts the HTTP server down. An
// accept error (EMFILE: out of file descriptors) is logged at warn and
// counted in tickerd_accept_errors_total, and accepting goes on after a
// pause. At most HTTPConfig.MaxWaiting connections wait on their client
// for a request header; past that the longest waiting is closed.
//
// On a plain TCP listener a connection waits for its header on epoll,
// holding only the bytes it sent (internal/front): a WebSocket handshake
// for /ws is then upgraded on a goroutine that lives as long as the
// handshake, and any other request is served by net/http, one per
// connection (no keep-alive: an idle keep-alive connection would hold a
// goroutine and its buffers, about 20 KiB, for nothing). Over TLS, or on
// another kind of listener, net/http serves every connection from accept,
// with keep-alive.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           s.mux,
		TLSConfig:         s.cfg.TLS,
		ReadHeaderTimeout: s.cfg.HTTP.ReadHeaderTimeout,
		ReadTimeout:       s.cfg.HTTP.ReadTimeout,
		WriteTimeout:      s.cfg.HTTP.WriteTimeout,
		IdleTimeout:       s.cfg.HTTP.IdleTimeout,
		MaxHeaderBytes:    s.cfg.HTTP.MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
	if s.cfg.TLS == nil {
		f, err := front.New(ln, front.Config{
			Upgrade:           s.mux,
			IsUpgrade:         front.UpgradePath("/ws"),
			ReadHeaderTimeout: s.cfg.HTTP.ReadHeaderTimeout,
			WriteTimeout:      s.cfg.HTTP.WriteTimeout,
			MaxHeaderBytes:    s.cfg.HTTP.MaxHeaderBytes,
			MaxWaiting:        s.cfg.HTTP.MaxWaiting,
			Handshakes:        s.cfg.HTTP.Handshakes,
			OnAcceptError:     s.acceptError,
			ErrorLog:          s.log,
		})
		if err == nil {
			srv.SetKeepAlivesEnabled(false)
			var w waiter = f
			s.waiting.Store(&w)
			return s.run(ctx, srv, f.Listener(), f)
		}
	}
	wc := newWaitingConns(s.cfg.HTTP.MaxWaiting)
	srv.ConnState = wc.connState
	var w waiter = wc
	s.waiting.Store(&w)
	return s.run(ctx, srv, &acceptLogger{Listener: ln, s: s}, nil)
}

// ListenAndServe is Serve on a new listener on Config.Addr. If it cannot
// listen, it shuts the server down and returns why.
func (s *Server) ListenAndServe(ctx context.Context) error {
	ln, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		_ = s.Shutdown(ctx)
		return fmt.Errorf("tickerd: %w", err)
	}
	return s.Serve(ctx, ln)
}

// Shutdown drains the server: it ends a running Run or Serve as a done ctx
// would and waits for it to return, or for ctx to end first (then it
// returns ctx's error and the drain goes on). A server that never ran is
// released: its hub stopped, its NATS connection closed, its embedded NATS
// server stopped.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	started, cancel := s.started, s.cancelRun
	s.started = true
	s.mu.Unlock()
	if !started {
		s.release()
		close(s.done)
		return nil
	}
	if cancel != nil {
		cancel()
	}
	select {
	case <-s.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// begin marks the server started and returns the context Shutdown ends;
// ok is false if it had started before.
func (s *Server) begin(parent context.Context) (ctx context.Context, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started {
		return nil, false
	}
	s.started = true
	ctx, s.cancelRun = context.WithCancel(parent)
	return ctx, true
}

// run runs the server; with srv, it serves ln, and with fr, fr accepts
// and hands srv the connections ln yields.
func (s *Server) run(parent context.Context, srv *http.Server, ln net.Listener, fr *front.Front) (err error) {
	ctx, ok := s.begin(parent)
	if !ok {
		if fr != nil {
			_ = fr.Close()
		} else if ln != nil {
			_ = ln.Close()
		}
		return ErrServerClosed
	}
	defer close(s.done)
	defer s.release()
	defer func() {
		s.mu.Lock()
		s.cancelRun()
		s.mu.Unlock()
	}()

	var serveErr chan error // Serve's result; nil when it has been received
	if srv != nil {
		serveErr = make(chan error, 2)
		go func() {
			if s.cfg.TLS != nil {
				serveErr <- srv.ServeTLS(hub.TLSListener(ln), "", "")
				return
			}
			serveErr <- srv.Serve(ln)
		}()
		if fr != nil {
			go func() {
				if ferr := fr.Serve(); ferr != nil {
					serveErr <- ferr
				}
			}()
		}
		s.log.Info("listening", "addr", ln.Addr().String(), "tls", s.cfg.TLS != nil)
	}
	if s.eng.Load() == nil { // an edge
		f, c, ferr := feedFor(ctx, s.cfg, s.nats)
		if ferr == nil {
			ferr = s.build(f, c)
		}
		if ferr != nil && ctx.Err() == nil {
			err = ferr
		}
	}

	e := s.eng.Load()
	feedCtx, stopFeed := context.WithCancel(context.Background())
	feedDone := make(chan struct{})
	candleCtx, stopCandles := context.WithCancel(context.Background())
	candlesDone := make(chan struct{})
	if e != nil && err == nil {
		go func() {
			defer close(feedDone)
			e.runner.run(feedCtx)
		}()
		if e.candles != nil {
			go func() {
				defer close(candlesDone)
				e.candles.run(candleCtx)
			}()
		} else {
			close(candlesDone)
		}
		s.log.Info("running", "feed", fmt.Sprintf("%T", e.feed), "symbols", len(e.feed.Symbols()), "role", string(s.cfg.Cluster.Role))
		select {
		case <-ctx.Done():
		case err = <-serveErr:
			serveErr = nil
			err = fmt.Errorf("tickerd: serve: %w", err)
		}
	} else {
		close(feedDone)
		close(candlesDone)
	}

	s.draining.Store(true)
	if h := s.hub(); h != nil {
		s.log.Info("draining", "conns", h.Conns(), "window", s.cfg.DrainWindow)
		// The hub refuses upgrades from here on; the HTTP server keeps
		// answering (/readyz says 503) until the clients are gone. Past
		// the window, clients get the hub's CloseTimeout to answer, and
		// a little more, before the rest are cut.
		dctx, cancel := context.WithTimeout(context.Background(), s.cfg.DrainWindow+3*time.Second)
		if derr := h.Drain(dctx, s.cfg.DrainWindow); derr != nil {
			s.log.Warn("drain cut short", "err", derr, "conns", h.Conns())
		}
		cancel()
	}
	if srv != nil {
		// Shutdown stops the listener and idle HTTP connections; it
		// leaves the hijacked WebSocket connections to the hub.
		sctx, cancel := context.WithTimeout(context.Background(), time.Second)
		if serr := srv.Shutdown(sctx); serr != nil {
			s.log.Warn("HTTP requests still running at shutdown were cut", "err", serr)
			_ = srv.Close()
		}
		cancel()
		if fr != nil {
			_ = fr.Close() // after Shutdown: requests it handed on have been answered
		}
		if serveErr != nil {
			if serr := <-serveErr; !errors.Is(serr, http.ErrServerClosed) && err == nil {
				err = fmt.Errorf("tickerd: serve: %w", serr)
			}
		}
	}
	// The candle builder stops first: its publishes go into the sink the
	// feed runs into (a feed node's Publisher), which ends with the feed.
	stopCandles()
	<-candlesDone
	stopFeed()
	<-feedDone
	if e != nil && e.rec != nil {
		if rerr := e.rec.Flush(); rerr != nil {
			s.log.Error("recording", "err", rerr)
		}
	}
	s.log.Info("stopped")
	return err
}

// release stops what New started: the hub (at once, if no drain stopped
// it), then the NATS connection and the embedded NATS server.
func (s *Server) release() {
	if h := s.hub(); h != nil {
		_ = h.Close()
	}
	if s.nats != nil {
		s.nats.close()
	}
}

// acceptLogger counts and logs the listener's accept errors (EMFILE when
// the process is out of file descriptors) before http.Server retries.
type acceptLogger struct {
	net.Listener
	s *Server
}

// acceptLogEvery spaces the warnings of a run of accept errors.
const acceptLogEvery = time.Second

func (l *acceptLogger) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil && !errors.Is(err, net.ErrClosed) {
		l.s.acceptError(err)
	}
	return c, err
}

// acceptError counts an accept error and logs it, at most once a second.
func (s *Server) acceptError(err error) {
	n := s.acceptErrs.Add(1)
	now := time.Now().UnixNano()
	if last := s.acceptLog.Load(); now-last >= int64(acceptLogEvery) && s.acceptLog.CompareAndSwap(last, now) {
		s.log.Warn("accept failed; retrying", "err", err, "accept_errors_total", n)
	}
}
