package cluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/tickerd/tickerd/feed"
	"github.com/tickerd/tickerd/hub"
	"github.com/tickerd/tickerd/internal/hubtest"
	"github.com/tickerd/tickerd/internal/testutil"
	"github.com/tickerd/tickerd/protocol"
)

// testLog is the log of the code under test: silent unless
// TICKERD_TEST_LOG=1.
func testLog() *slog.Logger {
	if os.Getenv("TICKERD_TEST_LOG") == "" {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// ready returns nil when every source r reports is connected, else an
// error naming each one that is not and why. (The server's readiness,
// feed.CheckHealth, passes a source that is connecting without an error
// yet; these tests wait for all of them.)
func ready(r feed.HealthReporter) error {
	var why []string
	for _, h := range r.Health() {
		if !h.Connected {
			why = append(why, h.Source+": "+h.Err)
		}
	}
	if len(why) == 0 {
		return nil
	}
	return errors.New(strings.Join(why, "; "))
}

// natsCluster is n NATS servers with JetStream, fully routed, on fixed
// loopback ports so that a restarted server is found where it was.
type natsCluster struct {
	t       *testing.T
	cfgs    []ServerConfig
	servers []*server.Server
	alive   []bool
}

func startNATSCluster(t *testing.T, n int) *natsCluster {
	t.Helper()
	ports := testutil.FreePorts(t, 2*n)
	var routes []string
	for i := range n {
		routes = append(routes, fmt.Sprintf("nats-route://127.0.0.1:%d", ports[n+i]))
	}
	c := &natsCluster{t: t}
	for i := range n {
		c.cfgs = append(c.cfgs, ServerConfig{
			Name: fmt.Sprintf("n%d", i), Port: ports[i], StoreDir: t.TempDir(), MaxMemory: 256 << 20,
			Cluster: "tickerd-test", ClusterHost: "127.0.0.1", ClusterPort: ports[n+i], Routes: routes,
		})
		c.servers = append(c.servers, nil)
		c.alive = append(c.alive, false)
		c.start(i)
	}
	t.Cleanup(func() {
		for i := range c.servers {
			c.kill(i)
		}
	})
	c.waitRoutes()
	return c
}

func (c *natsCluster) start(i int) {
	c.t.Helper()
	s, err := StartServer(c.cfgs[i], testLog())
	if err != nil {
		c.t.Fatal(err)
	}
	c.servers[i], c.alive[i] = s, true
}

func (c *natsCluster) waitRoutes() {
	c.t.Helper()
	testutil.WaitFor(c.t, 15*time.Second, "routes between the servers", func() bool {
		for _, s := range c.servers {
			if s.NumRoutes() < len(c.servers)-1 {
				return false
			}
		}
		return true
	})
}

func (c *natsCluster) kill(i int) {
	if c.alive[i] {
		c.servers[i].Shutdown()
		c.servers[i].WaitForShutdown()
		c.alive[i] = false
	}
}

// byName returns the index of the server named name, or -1.
func (c *natsCluster) byName(name string) int {
	for i, s := range c.servers {
		if s.Name() == name {
			return i
		}
	}
	return -1
}

// literalSubs counts, over the live servers, subscriptions on exactly
// subject (wildcards such as the stream's are not counted).
func (c *natsCluster) literalSubs(t *testing.T, subject string) int {
	t.Helper()
	n := 0
	for i, s := range c.servers {
		if !c.alive[i] {
			continue
		}
		test := strings.ReplaceAll(subject, "*", "x") // a subject the wildcard matches
		sz, err := s.Subsz(&server.SubszOptions{Subscriptions: true, Limit: 1 << 16, Test: test})
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range sz.Subs {
			if d.Subject == subject {
				n++
			}
		}
	}
	return n
}

func dialNATS(t *testing.T, s *server.Server, name string) *nats.Conn {
	t.Helper()
	nc, err := Connect(s.ClientURL(), name, testLog())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	testutil.WaitFor(t, 5*time.Second, name+" connected", nc.IsConnected)
	return nc
}

// startNode serves a hub fed by f, WebSocket clients at /ws on a
// loopback port, until its Stop or the end of the test. (The tickerd
// package wires this package in, so its tests cannot use tickerd.Server.)
func startNode(t *testing.T, f feed.Feed) *hubtest.Server {
	t.Helper()
	var hc hub.Config
	if w, ok := f.(feed.Watcher); ok {
		hc.OnWatch = w.Watch
	}
	h, err := hub.New(hc, f.Symbols(), testLog())
	if err != nil {
		t.Fatal(err)
	}
	return hubtest.Start(t, h, hubtest.Config{Feed: f})
}

// gate is a feed that passes its feed's ticks on only while open. The
// wrapped feed keeps running (and counting seq) while it is shut.
type gate struct {
	feed.Feed
	shut atomic.Bool
}

func (g *gate) Run(ctx context.Context, sink feed.Sink) error {
	return g.Feed.Run(ctx, gateSink{g: g, sink: sink})
}

type gateSink struct {
	feed.SinkFuncs
	g    *gate
	sink feed.Sink
}

func (s gateSink) Publish(t *protocol.Tick) {
	if !s.g.shut.Load() {
		s.sink.Publish(t)
	}
}

// client is the independent test client (testutil's, on gorilla) with a
// goroutine that records every tick and snapshot and checks that seq only
// grows per symbol.
type client struct {
	t    *testing.T
	name string
	conn *testutil.Client
	done chan struct{} // closed when read returns

	mu       sync.Mutex
	bodies   map[string]map[uint64]string // symbol -> seq -> message without its type
	last     map[string]uint64
	count    map[string]int
	first    map[string]testutil.Msg // first market-data message per symbol
	problems []string
	closeErr error
}

func dialClient(t *testing.T, name, addr string, symbols ...string) *client {
	t.Helper()
	u := url.URL{Scheme: "ws", Host: addr, Path: "/ws", RawQuery: "symbols=" + url.QueryEscape(strings.Join(symbols, ","))}
	conn, err := testutil.Dial(u.String(), 10*time.Second)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	c := &client{
		t: t, name: name, conn: conn, done: make(chan struct{}),
		bodies: map[string]map[uint64]string{}, last: map[string]uint64{},
		count: map[string]int{}, first: map[string]testutil.Msg{},
	}
	go c.read()
	t.Cleanup(c.close)
	return c
}

func (c *client) read() {
	defer close(c.done)
	for {
		m, err := c.conn.Next(time.Time{})
		if err != nil {
			c.mu.Lock()
			c.closeErr = err
			c.mu.Unlock()
			return
		}
		if !m.IsData() {
			continue
		}
		body := string(m.Raw)
		body = body[strings.Index(body, ",")+1:] // drop "type"
		c.mu.Lock()
		if _, ok := c.first[m.Symbol]; !ok {
			c.first[m.Symbol] = m
		}
		// A tick must move seq forward; a snapshot (the first message
		// after a subscribe, also a re-subscribe) may repeat the last.
		if last := c.last[m.Symbol]; m.Seq < last || m.Seq == last && m.Type == "tick" {
			c.problems = append(c.problems, fmt.Sprintf("%s: %s seq %d after %d", m.Type, m.Symbol, m.Seq, last))
		}
		c.last[m.Symbol] = m.Seq
		c.count[m.Symbol]++
		if c.bodies[m.Symbol] == nil {
			c.bodies[m.Symbol] = map[uint64]string{}
		}
		c.bodies[m.Symbol][m.Seq] = body
		c.mu.Unlock()
	}
}

func (c *client) send(v any) {
	c.t.Helper()
	if err := c.conn.C.WriteJSON(v); err != nil {
		c.t.Fatalf("%s: write: %v", c.name, err)
	}
}

func (c *client) close() {
	c.conn.Close()
	<-c.done
}

// seen returns how many ticks and snapshots of symbol arrived and the last seq.
func (c *client) seen(symbol string) (n int, last uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.count[symbol], c.last[symbol]
}

func (c *client) body(symbol string, seq uint64) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	b, ok := c.bodies[symbol][seq]
	return b, ok
}

// check reports every seq that went back or repeated, and an unexpected close.
func (c *client) check() {
	c.t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, p := range c.problems {
		c.t.Errorf("%s: %s", c.name, p)
	}
	select {
	case <-c.done:
		c.t.Errorf("%s: connection closed: %v", c.name, c.closeErr)
	default:
	}
}

// waitTicks waits until the client has n more messages of each symbol than
// it had in before.
func (c *client) waitTicks(t *testing.T, d time.Duration, before map[string]int, n int, symbols ...string) {
	t.Helper()
	testutil.WaitFor(t, d, fmt.Sprintf("%s: %d more ticks of %v", c.name, n, symbols), func() bool {
		for _, s := range symbols {
			if got, _ := c.seen(s); got < before[s]+n {
				return false
			}
		}
		return true
	})
}

func (c *client) counts() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	m := make(map[string]int, len(c.count))
	for k, v := range c.count {
		m[k] = v
	}
	return m
}

// waitCommon waits until a and b have seen n seqs of each symbol in
// common (one may lag the other) and checks those are the same messages.
func waitCommon(t *testing.T, d time.Duration, a, b *client, n int, symbols ...string) {
	t.Helper()
	for _, s := range symbols {
		testutil.WaitFor(t, d, fmt.Sprintf("%s and %s to have %d %s seqs in common", a.name, b.name, n, s), func() bool {
			return commonSeqs(a, b, s) >= n
		})
		sameBodies(t, a, b, s)
	}
}

func commonSeqs(a, b *client, symbol string) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	b.mu.Lock()
	defer b.mu.Unlock()
	n := 0
	for seq := range a.bodies[symbol] {
		if _, ok := b.bodies[symbol][seq]; ok {
			n++
		}
	}
	return n
}

// sameBodies checks that for every seq both clients saw, they got the same
// message, and returns how many they had in common.
func sameBodies(t *testing.T, a, b *client, symbol string) int {
	t.Helper()
	a.mu.Lock()
	defer a.mu.Unlock()
	b.mu.Lock()
	defer b.mu.Unlock()
	common := 0
	for seq, ab := range a.bodies[symbol] {
		bb, ok := b.bodies[symbol][seq]
		if !ok {
			continue
		}
		common++
		if ab != bb {
			t.Errorf("%s seq %d: %s got %s, %s got %s", symbol, seq, a.name, ab, b.name, bb)
		}
	}
	return common
}
