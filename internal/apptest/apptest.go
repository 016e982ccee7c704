// Package apptest runs a real tickerd server, and a NATS server, in the
// test's process. The clients, waits and other helpers tests share are in
// package testutil, which cannot import tickerd: the hub's own tests use it.
//
//	addr := apptest.Serve(t, tickerd.Config{Sim: sim.Config{Rate: 100, Symbols: 3}})
//	c, _, err := websocket.DefaultDialer.Dial("ws://"+addr+"/ws?symbols=AAPL", nil)
//
// Start returns a handle for tests that stop the server themselves.
package apptest

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/tickerd/tickerd"
	"github.com/tickerd/tickerd/internal/cluster"
	"github.com/tickerd/tickerd/internal/testutil"
)

// Server is a tickerd.Server serving on 127.0.0.1.
type Server struct {
	*tickerd.Server
	Addr string // host:port
	WS   string // ws://host:port/ws

	cancel context.CancelFunc
	done   chan struct{} // closed when Serve has returned
	err    error         // Serve's result, set before done closes
}

// Start builds a server from cfg, serves it on a fresh 127.0.0.1 port and
// returns once it answers /healthz. At the end of the test it is shut down
// if it still runs, and the test fails if Serve reported an error or did
// not return within 30 s.
func Start(t testing.TB, cfg tickerd.Config) *Server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return StartOn(t, ln, cfg)
}

// StartOn is Start on a listener of the test's, for a server that comes
// back on the address of one that stopped. The server closes ln.
func StartOn(t testing.TB, ln net.Listener, cfg tickerd.Config) *Server {
	t.Helper()
	a, err := tickerd.New(cfg)
	if err != nil {
		ln.Close()
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{Server: a, Addr: ln.Addr().String(), cancel: cancel, done: make(chan struct{})}
	s.WS = "ws://" + s.Addr + "/ws"
	go func() {
		defer close(s.done)
		s.err = a.Serve(ctx, ln)
	}()
	t.Cleanup(func() {
		s.Stop()
		err, ok := s.Wait(30 * time.Second)
		switch {
		case !ok:
			t.Errorf("Serve did not return within 30 s of the shutdown")
		case err != nil:
			t.Errorf("Serve: %v", err)
		}
	})
	if !s.healthy(cfg.TLS != nil, 10*time.Second) {
		t.Fatal("the server does not answer /healthz")
	}
	return s
}

// Serve is Start for tests that need only the address.
func Serve(t testing.TB, cfg tickerd.Config) string {
	t.Helper()
	return Start(t, cfg).Addr
}

// Dial connects the test client to /ws with query ("?symbols=AAPL" or "")
// and closes it at the end of the test.
func (s *Server) Dial(t testing.TB, query string) *testutil.Client {
	t.Helper()
	c, err := testutil.Dial(s.WS+query, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// Stop ends Serve's context, which starts the drain. It does not wait.
func (s *Server) Stop() { s.cancel() }

// Done is closed when Serve has returned.
func (s *Server) Done() <-chan struct{} { return s.done }

// Wait waits up to timeout for Serve to return; ok is false if it did not.
func (s *Server) Wait(timeout time.Duration) (err error, ok bool) {
	select {
	case <-s.done:
		return s.err, true
	case <-time.After(timeout):
		return nil, false
	}
}

// healthy polls /healthz until it answers 200 or timeout passes. Over
// TLS it does not check the certificate: tests make their own.
func (s *Server) healthy(useTLS bool, timeout time.Duration) bool {
	tr := &http.Transport{DisableKeepAlives: true}
	url := "http://" + s.Addr + "/healthz"
	if useTLS {
		tr.TLSClientConfig = &tls.Config{InsecureSkipVerify: true}
		url = "https://" + s.Addr + "/healthz"
	}
	c := &http.Client{Timeout: time.Second, Transport: tr}
	return testutil.Eventually(timeout, func() bool {
		resp, err := c.Get(url)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
}

// StartNATS starts a NATS server with JetStream in the process, on a free
// 127.0.0.1 port, its store in a temporary directory, for cluster nodes
// (Cluster.NATS: its ClientURL). It is shut down at the end of the test;
// a test may shut it down sooner (Shutdown, then WaitForShutdown).
func StartNATS(t testing.TB) *server.Server {
	t.Helper()
	ns, err := cluster.StartServer(cluster.ServerConfig{Port: -1, StoreDir: t.TempDir()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ns.Shutdown()
		ns.WaitForShutdown()
	})
	return ns
}
