// Package hubtest serves a hub.Hub over HTTP on 127.0.0.1, with a feed
// running into it, for the tests of the packages tickerd is built from
// (hub, internal/cluster, internal/metrics). They cannot use package
// apptest: tickerd imports them. Clients and waits are in package
// testutil, which cannot import hub, because the hub's own tests use it.
//
// It is imported only from _test.go files.
//
//	h, err := hub.New(hub.Config{}, m.Symbols(), nil)
//	s := hubtest.Start(t, h, hubtest.Config{Feed: m}) // or TLS: cert.ServerTLS()
//	c, err := testutil.Dial(s.URL+"?symbols=AAPL", 5*time.Second)
//
// The feed, the hub and the HTTP server stop at the end of the test, or
// at s.Stop for a test that stops a server before its end.
package hubtest

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/tickerd/tickerd/feed"
	"github.com/tickerd/tickerd/hub"
)

// Config says how Start serves a hub. The zero Config serves ws:// and
// runs no feed (the test publishes itself).
type Config struct {
	// TLS, when set, is the server's side of TLS: the hub is served at
	// wss:// (a reader and a writer goroutine per connection instead of
	// the epoll path).
	TLS *tls.Config
	// Feed, when set, runs into the hub until the server stops (see
	// RunFeed).
	Feed feed.Feed
}

// Server is a hub served at "GET /ws" on 127.0.0.1.
type Server struct {
	Hub  *hub.Hub
	Addr string         // host:port
	URL  string         // ws://Addr/ws, or wss://Addr/ws with Config.TLS
	Mux  *http.ServeMux // the HTTP server's handler; a test may add routes ("GET /metrics")

	stop func() // once
}

// Start serves h on a fresh 127.0.0.1 port, its HTTP server bounded like
// tickerd.Server's by default (5 s ReadHeaderTimeout, 8 KiB
// MaxHeaderBytes) and its error log discarded, and runs cfg.Feed into h.
// Start owns h from then on: at the end of the test, or at Stop, the feed
// stops first, then h is closed, then the HTTP server; the test fails if
// the feed's Run or the server's Serve reported an error.
func Start(t testing.TB, h *hub.Hub, cfg Config) *Server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		_ = h.Close()
		t.Fatal(err)
	}
	s := &Server{Hub: h, Addr: ln.Addr().String(), Mux: http.NewServeMux()}
	s.Mux.Handle("GET /ws", h)
	srv := &http.Server{Handler: s.Mux, TLSConfig: cfg.TLS,
		ReadHeaderTimeout: 5 * time.Second, MaxHeaderBytes: 8 << 10,
		ErrorLog: log.New(io.Discard, "", 0)}
	served := make(chan error, 1)
	if cfg.TLS != nil {
		s.URL = "wss://" + s.Addr + "/ws"
		go func() { served <- srv.ServeTLS(hub.TLSListener(ln), "", "") }()
	} else {
		s.URL = "ws://" + s.Addr + "/ws"
		go func() { served <- srv.Serve(ln) }()
	}
	stopFeed := func() {}
	if cfg.Feed != nil {
		stopFeed = RunFeed(t, cfg.Feed, h)
	}
	s.stop = sync.OnceFunc(func() {
		stopFeed()
		_ = h.Close()
		_ = srv.Close()
		if err := <-served; !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("hubtest: Serve: %v", err)
		}
	})
	t.Cleanup(s.Stop)
	return s
}

// Stop stops the server as the end of the test would, and returns when
// the feed, the hub and the HTTP server have. Calls after the first do
// nothing.
func (s *Server) Stop() { s.stop() }

// RunFeed runs f into sink (a hub, or whatever a test puts in front of
// one) in a goroutine until stop or the end of the test, and fails the
// test if Run returns an error. stop returns when Run has; calls after the
// first do nothing.
func RunFeed(t testing.TB, f feed.Feed, sink feed.Sink) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.Run(ctx, sink) }()
	stop = sync.OnceFunc(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("hubtest: feed Run: %v", err)
		}
	})
	t.Cleanup(stop)
	return stop
}
