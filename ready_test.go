package tickerd

import (
	"context"
	"errors"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tickerd/tickerd/feed"
	"github.com/tickerd/tickerd/hub"
	"github.com/tickerd/tickerd/internal/testutil"
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

// quietHub returns a quiet feed and a hub of its symbols, closed at the
// end of the test.
func quietHub(t *testing.T) (*quietFeed, *hub.Hub) {
	t.Helper()
	f := &quietFeed{}
	h, err := hub.New(hub.Config{}, f.Symbols(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	return f, h
}

// probe asks r once about st and returns the status and body.
func probe(r *readiness, st state) (int, string) {
	w := httptest.NewRecorder()
	r.serve(w, st)
	return w.Code, w.Body.String()
}

// TestReadyz walks a hub and a feed through the states /readyz knows, on
// a clock the test moves.
func TestReadyz(t *testing.T) {
	f, h := quietHub(t)
	now := time.Now()
	r := newReadiness(2 * time.Second)
	r.now = func() time.Time { return now }
	st := state{feed: f, hub: h}
	var seq uint64
	publish := func(age time.Duration) {
		seq++
		tk := testutil.Tick("AAPL", seq, "187.23")
		tk.TS -= int64(age)
		h.Publish(tk)
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
		{"feed panicked", func() { st.feedDown = "feed panicked: boom; restarting in 1s" }, 503, "feed: feed panicked: boom; restarting in 1s"},
		{"feed restarted", func() { st.feedDown = "" }, 200, "ready"},
	}
	for _, s := range steps {
		s.do()
		status, body := probe(r, st)
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
	st.draining = true
	status, body := probe(r, st)
	want := "draining: shutting down, new connections refused\nfeed: quiet: upstream disconnected\n"
	if status != 503 || body != want {
		t.Errorf("draining: /readyz = %d %q, want 503 %q", status, body, want)
	}
}

// TestReadyzQuietFeed: with freshness off, a feed that never publishes is
// ready as long as it says it is healthy.
func TestReadyzQuietFeed(t *testing.T) {
	f, h := quietHub(t)
	r := newReadiness(-1)
	st := state{feed: f, hub: h}
	if status, body := probe(r, st); status != 200 || body != "ready\n" {
		t.Errorf("quiet feed, freshness off: /readyz = %d %q, want 200 \"ready\\n\"", status, body)
	}
	f.set(errors.New("no session"))
	if status, body := probe(r, st); status != 503 || body != "feed: quiet: no session\n" {
		t.Errorf("quiet feed, unhealthy: /readyz = %d %q, want 503 \"feed: quiet: no session\\n\"", status, body)
	}
}

// TestReadyzWithoutHub: a node that serves no clients (RoleFeed) goes by
// the newest update its feed's sources report.
func TestReadyzWithoutHub(t *testing.T) {
	now := time.Now()
	r := newReadiness(2 * time.Second)
	r.now = func() time.Time { return now }
	f := &reportingFeed{}
	st := state{feed: f}
	if status, body := probe(r, st); status != 503 || body != "feed: no update published yet\n" {
		t.Errorf("before any update: /readyz = %d %q, want 503 no update published yet", status, body)
	}
	f.last = now.Add(-time.Second)
	if status, body := probe(r, st); status != 200 {
		t.Errorf("an update 1s ago: /readyz = %d %q, want 200", status, body)
	}
	f.last = now.Add(-3 * time.Second)
	if status, body := probe(r, st); status != 503 || !strings.Contains(body, "no update for 3s (limit 2s)") {
		t.Errorf("an update 3s ago: /readyz = %d %q, want 503 no update for 3s", status, body)
	}
	if status, body := probe(r, state{waiting: waitingForSymbols}); status != 503 || body != waitingForSymbols+"\n" {
		t.Errorf("edge without its symbols: /readyz = %d %q, want 503 %q", status, body, waitingForSymbols)
	}
}

// reportingFeed reports one source whose last update is last.
type reportingFeed struct {
	quietFeed
	last time.Time
}

func (f *reportingFeed) Health() []feed.Health {
	return []feed.Health{{Source: "nats", Connected: true, LastUpdate: f.last}}
}
