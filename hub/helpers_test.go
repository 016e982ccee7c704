package hub_test

import (
	"crypto/tls"
	"encoding/json"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/tickerd/tickerd/feed"
	"github.com/tickerd/tickerd/feed/sim"
	"github.com/tickerd/tickerd/hub"
	"github.com/tickerd/tickerd/internal/hubtest"
	"github.com/tickerd/tickerd/internal/selfsigned"
	"github.com/tickerd/tickerd/internal/testutil"
)

// wait is the generous bound of every wait in these tests: long enough for
// a loaded 2-core machine under -race, short enough to fail fast.
const wait = 10 * time.Second

// testServer is a hub behind a real http.Server on 127.0.0.1 (package
// hubtest's), with the client side of its transport.
type testServer struct {
	h    *hub.Hub
	addr string // host:port
	url  string // ws://addr/ws or wss://addr/ws
	syms []feed.Symbol
	tls  *tls.Config // client side, nil for plain TCP
}

// transport is how clients reach the hub: plain TCP (the epoll path) or
// TLS served by the hub itself (a reader and a writer goroutine per
// connection).
type transport string

const (
	plainTCP transport = "ws"
	overTLS  transport = "wss"
)

var transports = []transport{plainTCP, overTLS}

// startHub starts a hub with cfg on plain TCP. With simCfg non-nil a
// simulated market publishes into it; otherwise the hub serves
// sim.Universe() and the test publishes itself. Everything stops at the
// end of the test.
func startHub(t testing.TB, cfg hub.Config, simCfg *sim.Config) *testServer {
	t.Helper()
	return startHubOn(t, plainTCP, cfg, simCfg)
}

// startHubOn is startHub over the given transport.
func startHubOn(t testing.TB, tr transport, cfg hub.Config, simCfg *sim.Config) *testServer {
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
	return startHubWith(t, tr, cfg, syms, m)
}

// startHubWith starts a hub serving syms over tr, with m (if not nil)
// publishing into it.
func startHubWith(t testing.TB, tr transport, cfg hub.Config, syms []feed.Symbol, m *sim.Market) *testServer {
	t.Helper()
	h, err := hub.New(cfg, syms, nil)
	if err != nil {
		t.Fatal(err)
	}
	var hc hubtest.Config
	var clientTLS *tls.Config
	if tr == overTLS {
		hc.TLS, clientTLS = testTLS()
	}
	if m != nil {
		hc.Feed = m
	}
	s := hubtest.Start(t, h, hc)
	return &testServer{h: h, addr: s.Addr, url: s.URL, syms: syms, tls: clientTLS}
}

// dialer returns a gorilla dialer for the server's transport, with the
// receive buffer cut to rcvbuf bytes if rcvbuf > 0.
func (s *testServer) dialer(rcvbuf int) *websocket.Dialer {
	d := &websocket.Dialer{HandshakeTimeout: wait}
	if rcvbuf > 0 {
		d = testutil.SmallRecvBuf(rcvbuf, wait)
	}
	d.TLSClientConfig = s.tls
	return d
}

// rawConn connects a raw client over the server's transport; it does not
// read the limits message.
func (s *testServer) rawConn(path string, after []byte) (*testutil.RawConn, error) {
	nc, err := net.DialTimeout("tcp", s.addr, wait)
	if err != nil {
		return nil, err
	}
	if s.tls != nil {
		tc := tls.Client(nc, s.tls)
		_ = tc.SetDeadline(time.Now().Add(wait))
		if err := tc.Handshake(); err != nil {
			nc.Close()
			return nil, err
		}
		_ = tc.SetDeadline(time.Time{})
		nc = tc
	}
	rc, err := testutil.Upgrade(nc, s.addr, path, after, wait)
	if err != nil {
		nc.Close()
		return nil, err
	}
	return rc, nil
}

// testCert is the self-signed certificate of every TLS server in these
// tests (made once per run).
var testCert = sync.OnceValue(func() *selfsigned.Cert {
	c, err := selfsigned.New(nil)
	if err != nil {
		panic(err)
	}
	return c
})

// testTLS returns a server config with a self-signed certificate for
// 127.0.0.1 and a client config that trusts it.
func testTLS() (server, client *tls.Config) {
	return testCert().ServerTLS(), testCert().ClientTLS()
}

// dial connects a gorilla client to path (e.g. "/ws?symbols=AAPL") and
// closes it at the end of the test.
func (s *testServer) dial(t testing.TB, query string) *testutil.Client {
	t.Helper()
	c, _ := s.dialReply(t, query)
	return c
}

// dialReply is dial, returning the reply to ?symbols= as well (the zero
// Msg without one).
func (s *testServer) dialReply(t testing.TB, query string) (*testutil.Client, testutil.Msg) {
	t.Helper()
	c, err := testutil.DialWith(s.dialer(0), s.url+query)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	var m testutil.Msg
	if strings.Contains(query, "symbols=") {
		if m, err = c.Await("", wait); err != nil {
			t.Fatal(err)
		}
	}
	return c, m
}

// dialRaw connects a raw client and closes it at the end of the test.
func (s *testServer) dialRaw(t testing.TB, query string) *testutil.RawConn {
	t.Helper()
	rc, err := s.rawConn("/ws"+query, nil)
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
	h.Publish(testutil.Tick(sym, seq, p))
}

// subscribe sends the subscribe request req, whose id is id (raw JSON),
// and fails the test unless c gets its "subscribed" reply.
func subscribe(t testing.TB, c *testutil.Client, req, id string) {
	t.Helper()
	if m, err := c.Request(req, id, wait); err != nil || m.Type != "subscribed" {
		t.Fatalf("%s: %s %v", req, m.Raw, err)
	}
}

// describe renders a message as the tests compare it: "type seq price",
// or "reset channel symbol epoch" for a reset.
func describe(m testutil.Msg) string {
	if m.Type == "reset" {
		var r struct {
			Channel string `json:"channel"`
			Epoch   uint64 `json:"epoch"`
		}
		_ = json.Unmarshal(m.Raw, &r)
		return fmt.Sprintf("reset %s %s %d", r.Channel, m.Symbol, r.Epoch)
	}
	return fmt.Sprintf("%s %d %s", m.Type, m.Seq, m.Price)
}

// nextIs reads c's next message and fails the test unless describe gives
// want for it.
func nextIs(t testing.TB, c *testutil.Client, want string) {
	t.Helper()
	m, err := c.Next(time.Now().Add(wait))
	if err != nil {
		t.Fatal(err)
	}
	if got := describe(m); got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

// checkServed fails the test unless c still gets answers promptly.
func checkServed(t testing.TB, c *testutil.Client, id string) {
	t.Helper()
	if err := c.Ping(id, wait); err != nil {
		t.Errorf("other client: ping %s: %v", id, err)
	}
}

// forTransports runs f as a subtest over each transport.
func forTransports(t *testing.T, f func(t *testing.T, tr transport)) {
	for _, tr := range transports {
		t.Run(string(tr), func(t *testing.T) { f(t, tr) })
	}
}
