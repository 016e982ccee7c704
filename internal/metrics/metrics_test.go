package metrics_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/tickerd/tickerd/feed"
	"github.com/tickerd/tickerd/hub"
	"github.com/tickerd/tickerd/internal/hubtest"
	"github.com/tickerd/tickerd/internal/metrics"
	"github.com/tickerd/tickerd/internal/testutil"
	"github.com/tickerd/tickerd/protocol"
)

// server is a hub with /ws and /metrics on a real socket.
type server struct {
	h   *hub.Hub
	url string // http://127.0.0.1:port
}

func newServer(t *testing.T, cfg hub.Config) *server {
	t.Helper()
	syms := []feed.Symbol{
		{Name: "AAPL", Class: "equity", PricePrec: 2},
		{Name: "MSFT", Class: "equity", PricePrec: 2},
	}
	h, err := hub.New(cfg, syms, nil)
	if err != nil {
		t.Fatal(err)
	}
	s := hubtest.Start(t, h, hubtest.Config{})
	s.Mux.Handle("GET /metrics", metrics.Handler(metrics.NewRegistry(metrics.NewCollector(h), metrics.NewChannelCollector(h.Stats))))
	return &server{h: h, url: "http://" + s.Addr}
}

// tick is an update of sym with the given seq whose event time is age ago.
func tick(sym string, seq uint64, age time.Duration) *protocol.Tick {
	t := testutil.Tick(sym, seq, "187.00")
	t.TS -= int64(age)
	return t
}

// client is the test client (testutil's) counting what it receives.
type client struct {
	*testutil.Client
	t    *testing.T
	data int   // data frames (ticks, snapshots) read
	wire int64 // bytes read off the wire: frame headers and payloads
}

func dial(t *testing.T, base, query string) *client {
	t.Helper()
	tc, err := testutil.Dial("ws"+strings.TrimPrefix(base, "http")+"/ws"+query, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tc.Close() })
	c := &client{Client: tc, t: t, wire: frameLen(len(tc.Limits.Raw))}
	tc.C.SetPingHandler(func(data string) error {
		c.wire += frameLen(len(data))
		return tc.C.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(time.Second))
	})
	return c
}

// frameLen is the wire size of an unmasked server frame with n payload bytes.
func frameLen(n int) int64 {
	switch {
	case n <= 125:
		return int64(2 + n)
	case n <= 65535:
		return int64(4 + n)
	}
	return int64(10 + n)
}

// read returns the next message, counting it.
func (c *client) read() testutil.Msg {
	c.t.Helper()
	m, err := c.Next(time.Now().Add(10 * time.Second))
	if err != nil {
		c.t.Fatalf("read: %v", err)
	}
	c.wire += frameLen(len(m.Raw))
	if m.IsData() {
		c.data++
	}
	return m
}

// readUntil reads until a message for which ok is true.
func (c *client) readUntil(what string, ok func(testutil.Msg) bool) testutil.Msg {
	c.t.Helper()
	for {
		m := c.read()
		if ok(m) {
			return m
		}
		if m.Type == "error" {
			c.t.Fatalf("waiting for %s: got error %+v", what, m)
		}
	}
}

func (c *client) send(s string) {
	c.t.Helper()
	if err := c.Send(s); err != nil {
		c.t.Fatalf("send: %v", err)
	}
}

// scrape fetches base's /metrics in the text format and parses it.
func scrape(t *testing.T, base string) map[string]*dto.MetricFamily {
	t.Helper()
	mfs, err := scrapeErr(base)
	if err != nil {
		t.Fatal(err)
	}
	return mfs
}

func scrapeErr(base string) (map[string]*dto.MetricFamily, error) {
	req, err := http.NewRequest("GET", base+"/metrics", nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "text/plain;version=0.0.4")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("scrape: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("scrape: %s", resp.Status)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		return nil, fmt.Errorf("scrape: Content-Type %q, want text/plain", ct)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("parse scrape: %w", err)
	}
	return mfs, nil
}

// value returns the value of the counter or gauge name{labels}, labels
// given as name, value pairs, and whether it exists.
func value(mfs map[string]*dto.MetricFamily, name string, labels ...string) (float64, bool) {
	mf := mfs[name]
	if mf == nil {
		return 0, false
	}
next:
	for _, m := range mf.GetMetric() {
		for i := 0; i+1 < len(labels); i += 2 {
			found := false
			for _, lp := range m.GetLabel() {
				if lp.GetName() == labels[i] && lp.GetValue() == labels[i+1] {
					found = true
				}
			}
			if !found {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue(), true
		case m.Gauge != nil:
			return m.Gauge.GetValue(), true
		case m.Untyped != nil:
			return m.Untyped.GetValue(), true
		}
	}
	return 0, false
}

func metricName(name string, labels []string) string {
	if len(labels) == 0 {
		return name
	}
	var b strings.Builder
	for i := 0; i+1 < len(labels); i += 2 {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%s=%q", labels[i], labels[i+1])
	}
	return name + "{" + b.String() + "}"
}

// want checks that name{labels} is v in mfs.
func want(t *testing.T, mfs map[string]*dto.MetricFamily, v float64, name string, labels ...string) {
	t.Helper()
	got, ok := value(mfs, name, labels...)
	if !ok {
		t.Errorf("%s missing from the scrape", metricName(name, labels))
		return
	}
	if got != v {
		t.Errorf("%s = %v, want %v", metricName(name, labels), got, v)
	}
}

// eventually scrapes until name{labels} is v (counters move a moment
// after the client sees the effect) and returns that scrape; after 5 s it
// fails the test.
func eventually(t *testing.T, base string, v float64, name string, labels ...string) map[string]*dto.MetricFamily {
	t.Helper()
	var mfs map[string]*dto.MetricFamily
	var got float64
	if !testutil.Eventually(5*time.Second, func() bool {
		mfs = scrape(t, base)
		got, _ = value(mfs, name, labels...)
		return got == v
	}) {
		t.Fatalf("%s = %v, want %v (waited 5 s)", metricName(name, labels), got, v)
	}
	return mfs
}

// TestMetricsKnownWorkload drives a hub with a known workload and checks
// that every metric moves by exactly what the workload implies.
func TestMetricsKnownWorkload(t *testing.T) {
	s := newServer(t, hub.Config{Shards: 2, MaxMessageBytes: 1024})
	const (
		n   = 4   // clients
		k   = 2   // symbols each
		p   = 300 // AAPL updates
		age = 250 * time.Millisecond
	)

	mfs := scrape(t, s.url)
	for _, name := range []string{
		"tickerd_connections", "tickerd_connections_opened_total", "tickerd_connections_closed_total",
		"tickerd_slow_consumer_closes_total", "tickerd_protocol_closes_total", "tickerd_subscriptions",
		"tickerd_messages_sent_total", "tickerd_bytes_sent_total", "tickerd_writes_total",
		"tickerd_merged_updates_total", "tickerd_feed_updates_total", "tickerd_feed_stale_total",
		"tickerd_feed_unknown_total", "tickerd_feed_lag_seconds", "tickerd_tick_to_write_seconds",
		"tickerd_handshake_failures_total", "tickerd_client_errors_total", "tickerd_draining",
		"go_goroutines", "process_resident_memory_bytes", "process_cpu_seconds_total",
	} {
		if mfs[name] == nil {
			t.Errorf("%s missing from the scrape before any traffic", name)
		}
	}
	for _, reason := range []string{"peer", "protocol", "slow", "idle", "shutdown", "write_error", "error", "auth"} {
		want(t, mfs, 0, "tickerd_connections_closed_total", "reason", reason)
	}
	want(t, mfs, 0, "tickerd_connections")
	want(t, mfs, 0, "tickerd_messages_sent_total")

	// n clients subscribe to k symbols each.
	clients := make([]*client, n)
	for i := range clients {
		c := dial(t, s.url, "?symbols=AAPL,MSFT")
		c.readUntil("subscribed", func(m testutil.Msg) bool { return m.Type == "subscribed" })
		clients[i] = c
	}
	mfs = scrape(t, s.url)
	want(t, mfs, n, "tickerd_connections")
	want(t, mfs, n, "tickerd_connections_opened_total")
	want(t, mfs, n*k, "tickerd_subscriptions")

	// The first update reaches everyone as a snapshot; the next p-1 as
	// ticks, some of them merged if a client falls behind.
	s.h.Publish(tick("AAPL", 1, age))
	for _, c := range clients {
		c.readUntil("snapshot", func(m testutil.Msg) bool { return m.Type == "snapshot" && m.Seq == 1 })
	}
	for seq := uint64(2); seq <= p; seq++ {
		s.h.Publish(tick("AAPL", seq, age))
	}
	s.h.Publish(tick("AAPL", 5, age))  // stale: seq not above the last
	s.h.Publish(tick("GOOGL", 1, age)) // not served
	var data int64
	for _, c := range clients {
		c.readUntil("last tick", func(m testutil.Msg) bool { return m.Type == "tick" && m.Seq == p })
		data += int64(c.data)
	}

	// Bytes: what the clients read must be what the hub counts. The hub
	// also pings on its own schedule, so each client first reads up to a
	// pong, which the hub queues behind any ping it sent before; the byte
	// counter moves just after the write returns.
	var wire int64
	var got float64
	if !testutil.Eventually(5*time.Second, func() bool {
		wire = 0
		for _, c := range clients {
			c.send(`{"op":"ping","id":"sync"}`)
			c.readUntil("pong", func(m testutil.Msg) bool { return m.Type == "pong" })
			wire += c.wire
		}
		mfs = scrape(t, s.url)
		got, _ = value(mfs, "tickerd_bytes_sent_total")
		return got == float64(wire)
	}) {
		t.Fatalf("tickerd_bytes_sent_total = %v, want %d: the bytes the clients read", got, wire)
	}
	want(t, mfs, p, "tickerd_feed_updates_total")
	want(t, mfs, 1, "tickerd_feed_stale_total")
	want(t, mfs, 1, "tickerd_feed_unknown_total")
	want(t, mfs, float64(data), "tickerd_messages_sent_total")
	merged, _ := value(mfs, "tickerd_merged_updates_total")
	if got := float64(data) + merged; got != n*p {
		t.Errorf("messages_sent (%d) + merged_updates (%v) = %v, want every update to every client: %d", data, merged, got, n*p)
	}
	if w, _ := value(mfs, "tickerd_writes_total"); w < 1 {
		t.Errorf("tickerd_writes_total = %v, want at least 1", w)
	}
	if lag, _ := value(mfs, "tickerd_feed_lag_seconds"); lag < age.Seconds() || lag > age.Seconds()+5 {
		t.Errorf("tickerd_feed_lag_seconds = %v, want about %v", lag, age.Seconds())
	}
	want(t, mfs, 0, "tickerd_draining")

	// Every data frame is in the latency histogram, and each was at
	// least age old when written.
	hist := mfs["tickerd_tick_to_write_seconds"].GetMetric()[0].GetHistogram()
	if got := hist.GetSampleCount(); got != uint64(data) {
		t.Errorf("tick_to_write_seconds count = %d, want %d (one per data frame)", got, data)
	}
	if got, least := hist.GetSampleSum(), float64(data)*age.Seconds(); got < least {
		t.Errorf("tick_to_write_seconds sum = %v, want at least %v", got, least)
	}
	var prev uint64
	for _, b := range hist.GetBucket() {
		if b.GetCumulativeCount() < prev {
			t.Errorf("tick_to_write_seconds bucket le=%v = %d, below the previous %d: not cumulative", b.GetUpperBound(), b.GetCumulativeCount(), prev)
		}
		prev = b.GetCumulativeCount()
		if b.GetUpperBound() < age.Seconds() && b.GetCumulativeCount() != 0 {
			t.Errorf("tick_to_write_seconds bucket le=%v = %d, want 0: every tick was %v old", b.GetUpperBound(), b.GetCumulativeCount(), age)
		}
	}
	if prev != uint64(data) {
		t.Errorf("tick_to_write_seconds last finite bucket = %d, want %d (all below 8 s)", prev, data)
	}

	// Error replies, by code; the connection stays open.
	c0 := clients[0]
	c0.send(`{"op":"subscribe","symbols":["XYZ"],"id":2}`)
	if m := c0.readUntil("error", func(m testutil.Msg) bool { return m.Type == "error" || m.Type == "subscribed" }); m.Code != "unknown_symbol" {
		t.Errorf("subscribe XYZ: got %+v, want error unknown_symbol", m)
	}
	c0.send(`not json`)
	if m := c0.readUntil("error", func(m testutil.Msg) bool { return true }); m.Code != "bad_request" {
		t.Errorf("send garbage: got %+v, want error bad_request", m)
	}
	mfs = scrape(t, s.url)
	want(t, mfs, 1, "tickerd_client_errors_total", "code", "unknown_symbol")
	want(t, mfs, 1, "tickerd_client_errors_total", "code", "bad_request")
	want(t, mfs, 0, "tickerd_client_errors_total", "code", "too_many_symbols")

	// Refused handshakes, by cause.
	hdr := http.Header{"Origin": {"http://evil.example"}}
	_, resp, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(s.url, "http")+"/ws", hdr)
	if err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Errorf("dial with a foreign Origin: err %v, response %v; want 403", err, resp)
	}
	if resp != nil {
		_ = resp.Body.Close()
	}
	resp, err = http.Get(s.url + "/ws") // not a WebSocket handshake
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	// The upgrader answers before the handler counts the failure.
	mfs = eventually(t, s.url, 1, "tickerd_handshake_failures_total", "cause", "bad_request")
	want(t, mfs, 1, "tickerd_handshake_failures_total", "cause", "origin")
	want(t, mfs, 0, "tickerd_handshake_failures_total", "cause", "draining")
	eventually(t, s.url, n, "tickerd_connections")

	// A message over the limit closes its connection with 1009.
	c1 := clients[1]
	c1.send(`{"op":"ping","pad":"` + strings.Repeat("x", 2048) + `"}`)
	_ = c1.C.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		if _, _, err := c1.C.ReadMessage(); err != nil {
			if !websocket.IsCloseError(err, websocket.CloseMessageTooBig) {
				t.Errorf("after an oversized message: %v, want close 1009", err)
			}
			break
		}
	}
	mfs = eventually(t, s.url, 1, "tickerd_connections_closed_total", "reason", "protocol")
	want(t, mfs, 1, "tickerd_protocol_closes_total")

	// The others close normally.
	for _, c := range clients {
		if c == c1 {
			continue
		}
		_ = c.C.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
	}
	mfs = eventually(t, s.url, n-1, "tickerd_connections_closed_total", "reason", "peer")
	want(t, mfs, 0, "tickerd_connections")
	want(t, mfs, 0, "tickerd_subscriptions")
	want(t, mfs, n, "tickerd_connections_opened_total")
	want(t, mfs, 0, "tickerd_slow_consumer_closes_total")
	want(t, mfs, 0, "tickerd_connections_closed_total", "reason", "slow")
}

// TestMetricsDraining checks the draining gauge and the draining cause of
// refused handshakes.
func TestMetricsDraining(t *testing.T) {
	s := newServer(t, hub.Config{})
	c := dial(t, s.url, "")
	// Dial returns on the 101 response; the hub registers the connection
	// with its shard just after.
	if !testutil.Eventually(5*time.Second, func() bool { return s.h.Stats().Opened >= 1 }) {
		t.Fatal("the hub did not register the connection in 5 s")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- s.h.Shutdown(ctx) }()
	_ = c.C.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		if _, _, err := c.C.ReadMessage(); err != nil {
			if !websocket.IsCloseError(err, websocket.CloseGoingAway) {
				t.Errorf("read during shutdown: %v, want close 1001", err)
			}
			break
		}
	}
	mfs := scrape(t, s.url)
	want(t, mfs, 1, "tickerd_draining")
	if err := <-done; err != nil {
		t.Errorf("Shutdown: %v", err)
	}
	_, resp, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(s.url, "http")+"/ws", nil)
	if err == nil || resp == nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("dial while draining: err %v, response %v; want 503", err, resp)
	}
	if resp != nil {
		_ = resp.Body.Close()
	}
	mfs = scrape(t, s.url)
	want(t, mfs, 1, "tickerd_handshake_failures_total", "cause", "draining")
	want(t, mfs, 1, "tickerd_connections_closed_total", "reason", "shutdown")
}

// TestMetricsLint runs Prometheus's own linter over the tickerd metrics.
func TestMetricsLint(t *testing.T) {
	s := newServer(t, hub.Config{})
	var fams []*dto.MetricFamily
	for name, mf := range scrape(t, s.url) {
		if strings.HasPrefix(name, "tickerd_") {
			fams = append(fams, mf)
		}
	}
	problems, err := promlint.NewWithMetricFamilies(fams).Lint()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("%s: %s", p.Metric, p.Text)
	}
}

// TestScrapeConcurrent scrapes from several goroutines while clients come
// and go, for the race detector.
func TestScrapeConcurrent(t *testing.T) {
	s := newServer(t, hub.Config{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 5 {
				if _, err := scrapeErr(s.url); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	for seq := uint64(1); seq <= 50; seq++ {
		s.h.Publish(tick("MSFT", seq, 0))
		if seq%10 == 0 {
			c := dial(t, s.url, "")
			_ = c.Close()
		}
	}
	wg.Wait()
}

// BenchmarkScrape measures one full scrape of the handler: what a
// Prometheus server costs tickerd per scrape interval.
func BenchmarkScrape(b *testing.B) {
	syms := []feed.Symbol{{Name: "AAPL", PricePrec: 2}}
	h, err := hub.New(hub.Config{}, syms, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer h.Close()
	handler := metrics.Handler(metrics.NewRegistry(metrics.NewCollector(h)))
	req := httptest.NewRequest("GET", "/metrics", nil)
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		handler.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			b.Fatal(w.Code)
		}
	}
}
