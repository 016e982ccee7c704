package app

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/shopspring/decimal"

	"github.com/tickerd/tickerd/feed"
	"github.com/tickerd/tickerd/feed/sim"
	"github.com/tickerd/tickerd/hub"
	"github.com/tickerd/tickerd/protocol"
)

// quietFeed publishes nothing and reports the health it is given.
type quietFeed struct {
	mu  sync.Mutex
	err error
}

func (f *quietFeed) Symbols() []feed.Symbol {
	return []feed.Symbol{{Name: "AAPL", Class: "equity", PricePrec: 2}}
}

func (f *quietFeed) Run(ctx context.Context, _ feed.Sink) error {
	<-ctx.Done()
	return nil
}

func (f *quietFeed) Health() []feed.Health {
	f.mu.Lock()
	defer f.mu.Unlock()
	h := feed.Health{Source: "quiet", Connected: f.err == nil}
	if f.err != nil {
		h.Err = f.err.Error()
	}
	return []feed.Health{h}
}

func (f *quietFeed) set(err error) {
	f.mu.Lock()
	f.err = err
	f.mu.Unlock()
}

func testTick(seq uint64, ts time.Time) *protocol.Tick {
	p := decimal.New(18723, -2)
	return &protocol.Tick{Symbol: "AAPL", Seq: seq, Price: p, Bid: p, Ask: p, Open: p, High: p, Low: p,
		Volume: decimal.NewFromInt(1), TS: ts.UnixNano(), PricePrec: 2}
}

// probe asks r's handler once and returns the status and body.
func probe(r http.Handler) (int, string) {
	w := httptest.NewRecorder()
	r.ServeHTTP(w, httptest.NewRequest("GET", "/readyz", nil))
	return w.Code, w.Body.String()
}

// TestReadyz walks a hub and a feed through the states /readyz knows, on
// a clock the test moves.
func TestReadyz(t *testing.T) {
	f := &quietFeed{}
	h, err := hub.New(hub.Config{}, f.Symbols(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	now := time.Now()
	r := newReadiness(h, f, 2*time.Second)
	r.now = func() time.Time { return now }
	var seq uint64
	publish := func(age time.Duration) {
		seq++
		h.Publish(testTick(seq, time.Now().Add(-age)))
	}

	steps := []struct {
		name   string
		do     func()
		status int
		reason string // a line the body must contain
	}{
		{"no update yet", func() {}, 503, "feed: no update received yet"},
		{"first update", func() { publish(0) }, 200, "ready"},
		{"quiet within the limit", func() { now = now.Add(1500 * time.Millisecond) }, 200, "ready"},
		{"quiet past the limit", func() { now = now.Add(time.Second) }, 503, "feed: no update for 2.5s (limit 2s)"},
		{"updates again", func() { publish(0) }, 200, "ready"},
		{"late update", func() { publish(3 * time.Second) }, 503, "old when published (limit 2s)"},
		{"fresh update", func() { publish(0) }, 200, "ready"},
		{"feed unhealthy", func() { f.set(errors.New("upstream disconnected")) }, 503, "feed: quiet: upstream disconnected"},
		{"feed healthy", func() { f.set(nil) }, 200, "ready"},
	}
	for _, s := range steps {
		s.do()
		status, body := probe(r)
		if status != s.status || !strings.Contains(body, s.reason) {
			t.Errorf("%s: /readyz = %d %q, want %d with %q", s.name, status, body, s.status, s.reason)
		}
	}

	// Draining comes first and adds its own line.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := h.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	f.set(errors.New("upstream disconnected"))
	status, body := probe(r)
	want := "draining: shutting down, new connections refused\nfeed: quiet: upstream disconnected\n"
	if status != 503 || body != want {
		t.Errorf("draining: /readyz = %d %q, want 503 %q", status, body, want)
	}
}

// TestReadyzQuietFeed: with freshness off, a feed that never publishes is
// ready as long as it says it is healthy.
func TestReadyzQuietFeed(t *testing.T) {
	f := &quietFeed{}
	h, err := hub.New(hub.Config{}, f.Symbols(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	r := newReadiness(h, f, -1)
	if status, body := probe(r); status != 200 || body != "ready\n" {
		t.Errorf("quiet feed, freshness off: /readyz = %d %q, want 200 \"ready\\n\"", status, body)
	}
	f.set(errors.New("no session"))
	if status, body := probe(r); status != 503 || body != "feed: quiet: no session\n" {
		t.Errorf("quiet feed, unhealthy: /readyz = %d %q, want 503 \"feed: quiet: no session\\n\"", status, body)
	}
}

// served is an App serving on a real socket.
type served struct {
	a    *App
	url  string // http://127.0.0.1:port
	stop context.CancelFunc
	done chan error // Serve's result
}

func serve(t *testing.T, cfg Config) *served {
	t.Helper()
	a, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		_ = a.Close()
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &served{a: a, url: "http://" + ln.Addr().String(), stop: cancel, done: make(chan error, 1)}
	go func() { s.done <- a.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-s.done:
		case <-time.After(20 * time.Second):
			t.Error("Serve did not return 20 s after its context ended")
		}
	})
	return s
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	return resp.StatusCode, string(b)
}

// waitStatus polls url until it answers status, for at most 10 s.
func waitStatus(t *testing.T, url string, status int) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		got, body := get(t, url)
		if got == status {
			return body
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET %s = %d %q after 10 s, want %d", url, got, body, status)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestOpsEndpoints checks /healthz, /readyz and /metrics on a serving App.
func TestOpsEndpoints(t *testing.T) {
	s := serve(t, Config{Sim: sim.Config{Rate: 200, Steady: true, Symbols: 2}})
	if status, body := get(t, s.url+"/healthz"); status != 200 || body != "ok\n" {
		t.Errorf("/healthz = %d %q, want 200 \"ok\\n\"", status, body)
	}
	if body := waitStatus(t, s.url+"/readyz", 200); body != "ready\n" {
		t.Errorf("/readyz body %q, want \"ready\\n\"", body)
	}
	status, body := get(t, s.url+"/metrics")
	if status != 200 {
		t.Fatalf("/metrics = %d", status)
	}
	for _, line := range []string{"tickerd_connections 0", "tickerd_draining 0", "# TYPE tickerd_tick_to_write_seconds histogram", "# TYPE go_goroutines gauge"} {
		if !strings.Contains(body, "\n"+line+"\n") {
			t.Errorf("/metrics has no line %q", line)
		}
	}
}

// TestReadyzFlipsDuringDrain: once Serve starts draining, /readyz answers
// 503 while clients are still connected, new WebSocket connections are
// refused, and every client gets a close 1001 within the drain window.
func TestReadyzFlipsDuringDrain(t *testing.T) {
	const (
		clients = 10
		window  = time.Second
	)
	s := serve(t, Config{Sim: sim.Config{Rate: 200, Steady: true, Symbols: 2}, DrainWindow: window})
	waitStatus(t, s.url+"/readyz", 200)

	wsURL := "ws" + strings.TrimPrefix(s.url, "http") + "/ws?symbols=" + sim.Universe()[0].Name
	conns := make([]*websocket.Conn, clients)
	for i := range conns {
		c, resp, err := websocket.DefaultDialer.Dial(wsURL, nil)
		if err != nil {
			t.Fatalf("dial: %v", err)
		}
		_ = resp.Body.Close()
		defer c.Close()
		conns[i] = c
	}

	// Each client reads until its close, noting the code and the time.
	type result struct {
		code int
		at   time.Time
		err  error
	}
	results := make(chan result, clients)
	for _, c := range conns {
		go func() {
			_ = c.SetReadDeadline(time.Now().Add(15 * time.Second))
			for {
				if _, _, err := c.ReadMessage(); err != nil {
					r := result{at: time.Now(), err: err}
					var ce *websocket.CloseError
					if errors.As(err, &ce) {
						r.code = ce.Code
					}
					results <- r
					return
				}
			}
		}()
	}
	// Dial returns on the 101 response; the hub registers the connection
	// with its shard just after.
	for deadline := time.Now().Add(5 * time.Second); s.a.Hub().Stats().Opened < clients; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("hub registered %d connections in 5 s, want %d", s.a.Hub().Stats().Opened, clients)
		}
	}

	start := time.Now()
	s.stop()
	body := waitStatus(t, s.url+"/readyz", 503)
	if !strings.Contains(body, "draining") {
		t.Errorf("/readyz during drain: %q, want a draining reason", body)
	}
	select {
	case err := <-s.done:
		t.Fatalf("Serve returned (%v) before /readyz was seen unready", err)
	default:
	}
	_, resp, err := websocket.DefaultDialer.Dial(wsURL, nil)
	if err == nil || resp == nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("dial during drain: err %v, response %v; want 503", err, resp)
	}
	if resp != nil {
		_ = resp.Body.Close()
	}

	var first, last time.Duration
	for i := range clients {
		r := <-results
		if r.code != websocket.CloseGoingAway {
			t.Errorf("client close: %v, want 1001 (going away)", r.err)
			continue
		}
		d := r.at.Sub(start)
		if i == 0 || d < first {
			first = d
		}
		last = max(last, d)
	}
	t.Logf("%d clients closed with 1001 from %v to %v after shutdown began (window %v)", clients, first, last, window)
	// Closes are spread over the window; allow a little for scheduling.
	if last > window+time.Second {
		t.Errorf("last client closed %v after shutdown began, want within the %v window", last, window)
	}
	if last-first < window/4 {
		t.Errorf("closes spread over %v (%v to %v), want spread over the %v window", last-first, first, last, window)
	}
	select {
	case err := <-s.done:
		if err != nil {
			t.Errorf("Serve: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return 10 s after the drain")
	}
	s.done <- nil // for the cleanup
}
