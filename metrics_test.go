package tickerd_test

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/tickerd/tickerd"
	"github.com/tickerd/tickerd/feed/sim"
	"github.com/tickerd/tickerd/hub"
	"github.com/tickerd/tickerd/internal/apptest"
	"github.com/tickerd/tickerd/internal/testutil"
)

// TestMetricsScraped scrapes /metrics of a single node for the counters
// of the hub, the feed and the candle builder: each series is there, and
// pings over the rate and a frame left unfinished move theirs.
func TestMetricsScraped(t *testing.T) {
	r := apptest.Start(t, tickerd.Config{
		Sim:         sim.Config{Rate: 500, Symbols: 3, Steady: true},
		Hub:         hub.Config{MessageRate: 1, MessageBurst: 2, FrameTimeout: 300 * time.Millisecond},
		DrainWindow: -1,
	})
	for _, name := range []string{
		`tickerd_connections_closed_total{reason="unread_replies"}`,
		`tickerd_connections_closed_total{reason="frame_timeout"}`,
		`tickerd_handshake_failures_total{cause="fd_limit"}`,
		`tickerd_pings_dropped_total`,
		`tickerd_feed_resyncs_total{source="sim"}`,
		`tickerd_feed_rejected_total{source="sim"}`,
		`tickerd_candle_late_trades_total{interval="1s"}`,
		`tickerd_candle_late_trades_total{interval="1h"}`,
		`tickerd_candle_stale_trades_total`,
		`tickerd_candle_rejected_trades_total`,
		`tickerd_accept_errors_total`,
		`tickerd_http_handshakes_queued`,
		`tickerd_http_busy_total`,
	} {
		if _, ok := metricValue(t, r.Server, name); !ok {
			t.Errorf("/metrics has no %s", name)
		}
	}
	// The simulated market trades: candles open in all four intervals.
	waitMetric(t, r.Server, "tickerd_candle_symbols", func(v float64) bool { return v >= 1 }, "1 or more")
	waitMetric(t, r.Server, "tickerd_candles_open", func(v float64) bool { return v >= 4 }, "4 or more")

	// Ten pings at once with a rate of 1/s and a burst of 2: each gets
	// its own pong or is counted as dropped.
	c := r.Dial(t, "")
	var pongs atomic.Int64
	c.C.SetPongHandler(func(string) error { pongs.Add(1); return nil })
	const pings = 10
	for i := range pings {
		if err := c.C.WriteControl(websocket.PingMessage, []byte{byte(i)}, time.Now().Add(wait)); err != nil {
			t.Fatal(err)
		}
	}
	waitMetric(t, r.Server, "tickerd_pings_dropped_total", func(v float64) bool { return v >= pings-3 }, "7 or more")
	// Read what came (the pongs) until the server is quiet for a second.
	for {
		if _, err := c.Next(time.Now().Add(time.Second)); err != nil {
			if !testutil.IsTimeout(err) {
				t.Fatal(err)
			}
			break
		}
	}
	if v, _ := metricValue(t, r.Server, "tickerd_pings_dropped_total"); v+float64(pongs.Load()) != pings {
		t.Errorf("tickerd_pings_dropped_total %v with %d pongs, want them to add up to the %d pings", v, pongs.Load(), pings)
	}

	// A frame whose payload trickles in: closed at FrameTimeout (a silent
	// one would wait for the idle timeout).
	raw, err := testutil.DialRaw(r.Addr, "/ws", wait)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if _, err := raw.Write(testutil.AppendFrame(nil, testutil.Frame{Fin: true, Op: testutil.OpText, Length: 1000})); err != nil {
		t.Fatal(err)
	}
	for start := time.Now(); time.Since(start) < wait; time.Sleep(100 * time.Millisecond) {
		if _, err := raw.Write([]byte(" ")); err != nil {
			break // closed
		}
		if v, _ := metricValue(t, r.Server, `tickerd_connections_closed_total{reason="frame_timeout"}`); v == 1 {
			break
		}
	}
	if v, _ := metricValue(t, r.Server, `tickerd_connections_closed_total{reason="frame_timeout"}`); v != 1 {
		t.Errorf(`tickerd_connections_closed_total{reason="frame_timeout"} = %v, want 1`, v)
	}
}
