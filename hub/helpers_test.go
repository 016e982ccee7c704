package hub_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/tickerd/tickerd/feed"
	"github.com/tickerd/tickerd/feed/sim"
	"github.com/tickerd/tickerd/hub"
	"github.com/tickerd/tickerd/internal/testutil"
	"github.com/tickerd/tickerd/protocol"
)

// wait is the generous bound of every wait in these tests: long enough for
// a loaded 2-core machine under -race, short enough to fail fast.
const wait = 10 * time.Second

// testServer is a hub behind a real http.Server on 127.0.0.1, configured
// like internal/app's (ReadHeaderTimeout, MaxHeaderBytes).
type testServer struct {
	h    *hub.Hub
	addr string // host:port
	url  string // ws://addr/ws
	syms []feed.Symbol
}

// startHub starts a hub with cfg. With simCfg non-nil a simulated market
// publishes into it; otherwise the hub serves sim.Universe() and the test
// publishes itself. Everything stops at the end of the test.
func startHub(t testing.TB, cfg hub.Config, simCfg *sim.Config) *testServer {
	t.Helper()
	var m *sim.Market
	syms := sim.Universe()
	if simCfg != nil {
		var err error
		if m, err = sim.New(*simCfg); err != nil {
			t.Fatal(err)
		}
		syms = m.Symbols()
	}
	h, err := hub.New(cfg, syms, nil)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		h.Close()
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /ws", h)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 2 * time.Second, MaxHeaderBytes: 8 << 10}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("Serve: %v", err)
		}
	}()
	if m != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = m.Run(ctx, h)
		}()
	}
	t.Cleanup(func() {
		cancel()
		_ = srv.Close()
		wg.Wait()
		_ = h.Close()
	})
	addr := ln.Addr().String()
	return &testServer{h: h, addr: addr, url: "ws://" + addr + "/ws", syms: syms}
}

// dial connects a gorilla client to path (e.g. "/ws?symbols=AAPL") and
// closes it at the end of the test.
func (s *testServer) dial(t testing.TB, query string) *testutil.Client {
	t.Helper()
	c, err := testutil.Dial(s.url+query, wait)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if strings.Contains(query, "symbols=") {
		if _, err := c.Await("", wait); err != nil { // the reply to ?symbols=
			t.Fatal(err)
		}
	}
	return c
}

// dialRaw connects a raw client and closes it at the end of the test.
func (s *testServer) dialRaw(t testing.TB, query string) *testutil.RawConn {
	t.Helper()
	rc, err := testutil.DialRaw(s.addr, "/ws"+query, wait)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rc.Close() })
	if err := rc.ReadLimits(wait); err != nil {
		t.Fatal(err)
	}
	return rc
}

// publish publishes one AAPL-like tick of sym with price p (two decimals).
func publish(h *hub.Hub, sym string, seq uint64, p string) {
	d := decimal.RequireFromString(p)
	h.Publish(&protocol.Tick{
		Symbol: sym, Seq: seq,
		Price: d, Bid: d, Ask: d, Open: d, High: d, Low: d,
		Volume: decimal.NewFromInt(int64(seq)), TS: time.Now().UnixNano(),
		PricePrec: 2,
	})
}

// checkServed fails the test unless c still gets answers promptly.
func checkServed(t testing.TB, c *testutil.Client, id string) {
	t.Helper()
	if err := c.Ping(id, wait); err != nil {
		t.Errorf("other client: ping %s: %v", id, err)
	}
}
