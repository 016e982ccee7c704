package tickerd_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tickerd/tickerd"
	"github.com/tickerd/tickerd/feed/sim"
	"github.com/tickerd/tickerd/internal/apptest"
	"github.com/tickerd/tickerd/internal/testutil"
)

// TestClusterRoles runs a feed node with the NATS server embedded and an
// edge: the feed node serves no clients (no /ws route, so no refused
// upgrade is counted) and is ready while it publishes; the edge serves
// the feed node's ticks. Credentials in a NATS URL never reach the log.
func TestClusterRoles(t *testing.T) {
	natsAddr := testutil.FreeAddr(t)
	var feedLog testutil.Logs
	feedNode := apptest.Start(t, tickerd.Config{
		Sim: sim.Config{Rate: 200, Symbols: 5, Steady: true},
		Cluster: tickerd.ClusterConfig{
			Role:      tickerd.RoleFeed,
			EmbedAddr: natsAddr,
			NATS:      []string{"nats://alice:s3cret-pw@" + natsAddr, "nats://t0ken-s3cret@127.0.0.1:1"},
		},
		Logger: feedLog.Logger(), DrainWindow: -1,
	})
	base := "http://" + feedNode.Addr
	waitStatus(t, base+"/readyz", 200)
	for _, path := range []string{"/ws", "/api/symbols", "/"} {
		if status, _ := get(t, base+path); status != http.StatusNotFound {
			t.Errorf("feed node GET %s = %d, want 404: it serves no clients", path, status)
		}
	}
	if feedNode.Hub() != nil {
		t.Error("feed node has a hub")
	}
	if _, metrics := get(t, base+"/metrics"); strings.Contains(metrics, `cause="origin"`) || !strings.Contains(metrics, "tickerd_feed_connected") {
		t.Errorf("feed node /metrics: want feed metrics and no origin refusals:\n%s", metrics)
	}

	edge := apptest.Start(t, tickerd.Config{
		Cluster:     tickerd.ClusterConfig{Role: tickerd.RoleEdge, NATS: []string{"nats://" + natsAddr}},
		DrainWindow: -1,
	})
	waitStatus(t, "http://"+edge.Addr+"/readyz", 200) // it has the symbol list and hears the feed node
	c := edge.Dial(t, "?symbols=AAPL")
	var seqs []uint64
	for deadline := time.Now().Add(wait); len(seqs) < 5; {
		m, err := c.Next(deadline)
		if err != nil {
			t.Fatalf("edge client after %v: %v", seqs, err)
		}
		if m.IsData() && m.Symbol == "AAPL" {
			seqs = append(seqs, m.Seq)
		}
	}
	if status, metrics := get(t, "http://"+edge.Addr+"/metrics"); status != 200 || !strings.Contains(metrics, `tickerd_feed_connected{source="feed-node"} 1`) {
		t.Errorf("edge /metrics = %d, want 200 with the feed node's health:\n%s", status, metrics)
	}
	if v, ok := metricValue(t, edge.Server, "tickerd_edge_watching"); !ok || v != 1 {
		t.Errorf("edge tickerd_edge_watching = %v (%v), want 1: its client watches AAPL", v, ok)
	}
	for _, name := range []string{"tickerd_edge_resets_total", "tickerd_edge_stale_total", "tickerd_edge_gaps_total",
		"tickerd_edge_book_resyncs_total", "tickerd_edge_unlisted_dropped_total", "tickerd_edge_bad_messages_total",
		"tickerd_edge_listed_total", "tickerd_edge_delisted_total", `tickerd_feed_resyncs_total{source="feed-node"}`} {
		if _, ok := metricValue(t, edge.Server, name); !ok {
			t.Errorf("edge /metrics has no %s", name)
		}
	}
	if _, ok := metricValue(t, edge.Server, "tickerd_candle_symbols"); ok {
		t.Error("edge /metrics has candle builder metrics: an edge builds no candles")
	}
	// The feed node builds the candles of the simulated market's trades.
	waitMetric(t, feedNode.Server, "tickerd_candle_symbols", func(v float64) bool { return v >= 1 }, "1 or more")
	if _, ok := metricValue(t, feedNode.Server, `tickerd_feed_rejected_total{source="nats"}`); !ok {
		t.Error(`feed node /metrics has no tickerd_feed_rejected_total{source="nats"}`)
	}

	log := feedLog.String()
	if strings.Contains(log, "s3cret") {
		t.Errorf("a NATS credential is in the log:\n%s", log)
	}
	if !strings.Contains(log, "nats://alice:xxxxx@"+natsAddr) || !strings.Contains(log, "nats://xxxxx@127.0.0.1:1") {
		t.Errorf("the config line does not show the NATS URLs redacted:\n%s", log)
	}
}

// TestEdgeWaiting: an edge with no feed node answers 503 on /ws and
// /readyz while it waits for the symbol list, and Run gives up after
// Cluster.Wait, saying so.
func TestEdgeWaiting(t *testing.T) {
	srv, err := tickerd.New(tickerd.Config{Cluster: tickerd.ClusterConfig{
		Role: tickerd.RoleEdge, EmbedAddr: testutil.FreeAddr(t), Wait: 500 * time.Millisecond,
	}})
	if err != nil {
		t.Fatal(err)
	}
	h := srv.Handler()
	for _, path := range []string{"/ws", "/api/symbols", "/readyz"} {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("GET", path, nil))
		if w.Code != http.StatusServiceUnavailable || !strings.Contains(w.Body.String(), "waiting for the feed node's symbol list") {
			t.Errorf("GET %s = %d %q, want 503 saying it waits for the symbol list", path, w.Code, w.Body.String())
		}
	}
	start := time.Now()
	err = srv.Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), "symbol") {
		t.Errorf("Run = %v, want an error about the symbol list", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Run gave up after %v, want about Cluster.Wait (500ms)", d)
	}
	if err := srv.Run(context.Background()); err != tickerd.ErrServerClosed {
		t.Errorf("second Run = %v, want ErrServerClosed", err)
	}
}

// TestShutdownWhileWaiting: Shutdown ends an edge's wait for its symbol
// list at once, and Run returns nil.
func TestShutdownWhileWaiting(t *testing.T) {
	var logs testutil.Logs
	srv, err := tickerd.New(tickerd.Config{Cluster: tickerd.ClusterConfig{
		Role: tickerd.RoleEdge, EmbedAddr: testutil.FreeAddr(t), Wait: time.Minute,
	}, Logger: logs.Logger()})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Run(context.Background()) }()
	if !testutil.Eventually(wait, func() bool { return strings.Contains(logs.String(), "waiting for the feed node's symbol list") }) {
		t.Fatalf("the edge does not say it waits:\n%s", logs.String())
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if err := <-done; err != nil {
		t.Errorf("Run = %v after Shutdown, want nil", err)
	}
}
