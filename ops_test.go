package tickerd_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/tickerd/tickerd"
	"github.com/tickerd/tickerd/feed/sim"
	"github.com/tickerd/tickerd/internal/apptest"
	"github.com/tickerd/tickerd/internal/testutil"
)

// get fetches url and returns the status and body.
func get(t *testing.T, url string) (int, string) {
	t.Helper()
	status, body, _, err := testutil.HTTPGet(url, wait)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	return status, string(body)
}

// waitStatus polls url until it answers status.
func waitStatus(t *testing.T, url string, status int) string {
	t.Helper()
	var got int
	var body string
	if !testutil.Eventually(wait, func() bool {
		got, body = get(t, url)
		return got == status
	}) {
		t.Fatalf("GET %s = %d %q after %v, want %d", url, got, body, wait, status)
	}
	return body
}

// TestOpsEndpoints checks /healthz, /readyz and /metrics on a serving server.
func TestOpsEndpoints(t *testing.T) {
	r := apptest.Start(t, tickerd.Config{Sim: sim.Config{Rate: 200, Steady: true, Symbols: 2}})
	if status, body := get(t, "http://"+r.Addr+"/healthz"); status != 200 || body != "ok\n" {
		t.Errorf("/healthz = %d %q, want 200 \"ok\\n\"", status, body)
	}
	if body := waitStatus(t, "http://"+r.Addr+"/readyz", 200); body != "ready\n" {
		t.Errorf("/readyz body %q, want \"ready\\n\"", body)
	}
	status, body := get(t, "http://"+r.Addr+"/metrics")
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
	r := apptest.Start(t, tickerd.Config{Sim: sim.Config{Rate: 200, Steady: true, Symbols: 2}, DrainWindow: window})
	waitStatus(t, "http://"+r.Addr+"/readyz", 200)

	wsURL := r.WS + "?symbols=" + sim.Universe()[0].Name
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
	if !testutil.Eventually(5*time.Second, func() bool { return r.Hub().Stats().Opened >= clients }) {
		t.Fatalf("hub registered %d connections in 5 s, want %d", r.Hub().Stats().Opened, clients)
	}

	start := time.Now()
	r.Stop()
	body := waitStatus(t, "http://"+r.Addr+"/readyz", 503)
	if !strings.Contains(body, "draining") {
		t.Errorf("/readyz during drain: %q, want a draining reason", body)
	}
	select {
	case <-r.Done():
		t.Fatal("Serve returned before /readyz was seen unready")
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
	if _, ok := r.Wait(wait); !ok { // its error is checked at cleanup
		t.Fatalf("Serve did not return %v after the drain", wait)
	}
}
