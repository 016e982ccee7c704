package metrics_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	promtest "github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/tickerd/tickerd/feed"
	"github.com/tickerd/tickerd/feed/sim"
	"github.com/tickerd/tickerd/internal/metrics"
	"github.com/tickerd/tickerd/internal/testutil"
	"github.com/tickerd/tickerd/protocol"
)

type discard struct{ feed.SinkFuncs }

func (discard) Publish(*protocol.Tick) {}

// TestFeedCollector runs the simulated market and reads its health as
// metrics: down before Run, up with a last-update time while it runs.
func TestFeedCollector(t *testing.T) {
	m, err := sim.New(sim.Config{Rate: 1000, Symbols: 3})
	if err != nil {
		t.Fatal(err)
	}
	c := metrics.NewFeedCollector(m)
	want := `
# HELP tickerd_feed_connected 1 while the feed source is up (connected, or playing).
# TYPE tickerd_feed_connected gauge
tickerd_feed_connected{source="sim"} 0
`
	if err := promtest.CollectAndCompare(c, strings.NewReader(want), "tickerd_feed_connected"); err != nil {
		t.Errorf("before Run: %v", err)
	}
	if n := promtest.CollectAndCount(c, "tickerd_feed_last_update_timestamp_seconds"); n != 0 {
		t.Errorf("before Run: %d last-update series, want none", n)
	}

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	start := time.Now()
	go func() { done <- m.Run(ctx, discard{}) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	if !testutil.Eventually(10*time.Second, func() bool {
		return promtest.CollectAndCount(c, "tickerd_feed_last_update_timestamp_seconds") > 0
	}) {
		t.Fatal("no last-update series while the feed runs")
	}
	want = strings.Replace(want, "} 0", "} 1", 1)
	if err := promtest.CollectAndCompare(c, strings.NewReader(want), "tickerd_feed_connected"); err != nil {
		t.Errorf("while running: %v", err)
	}
	if problems, err := promtest.CollectAndLint(c); err != nil || len(problems) > 0 {
		t.Errorf("lint: %v %v", problems, err)
	}
	// The gauge holds a Unix time from this run.
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c)
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var ts float64
	for _, f := range fams {
		if f.GetName() == "tickerd_feed_last_update_timestamp_seconds" {
			ts = f.GetMetric()[0].GetGauge().GetValue()
		}
	}
	if got := time.Unix(0, int64(ts*1e9)); got.Before(start.Add(-time.Second)) || got.After(time.Now().Add(time.Second)) {
		t.Errorf("last update = %v, want between %v and now", got, start)
	}
}
