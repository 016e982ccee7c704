package tickerd_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/shopspring/decimal"

	"github.com/tickerd/tickerd"
	"github.com/tickerd/tickerd/feed"
	"github.com/tickerd/tickerd/internal/apptest"
	"github.com/tickerd/tickerd/internal/testutil"
	"github.com/tickerd/tickerd/protocol"
)

// traded is a feed of one symbol that trades three times at its start:
// 100.00 × 10, 101.00 × 20, 99.50 × 5, all now.
func traded() scripted {
	sym := feed.Symbol{Name: "AAPL", Class: "equity", PricePrec: 2, TickSize: decimal.New(1, -2)}
	return scripted{syms: []feed.Symbol{sym}, script: func(sink feed.Sink) {
		for i, tr := range [][2]string{{"100.00", "10"}, {"101.00", "20"}, {"99.50", "5"}} {
			sink.PublishTrade(testutil.Trade(sym.Name, uint64(i+1), tr[0], tr[1]))
		}
	}}
}

// waitMetric polls the server's /metrics until name (with its labels)
// reads want.
func waitMetric(t *testing.T, s *tickerd.Server, name string, ok func(float64) bool, want string) {
	t.Helper()
	var v float64
	var found bool
	if !testutil.Eventually(wait, func() bool {
		v, found = metricValue(t, s, name)
		return found && ok(v)
	}) {
		t.Fatalf("%s = %v (present %v), want %s", name, v, found, want)
	}
}

// TestCandlesSingleNode: a single node builds candles from its feed's
// trades, the Builder's goroutine closes a quiet candle by the clock, and
// the candles reach the hub.
func TestCandlesSingleNode(t *testing.T) {
	r := apptest.Start(t, tickerd.Config{Feed: traded(), ReadyMaxFeedAge: -1, DrainWindow: -1})
	waitMetric(t, r.Server, "tickerd_candle_symbols", func(v float64) bool { return v == 1 }, "1")
	// No trade comes after the three: only the clock (Run) closes the 1s
	// candle, half a second after its end, leaving 1m, 5m and 1h open. A
	// run that crosses a minute (or five, or an hour) closes those too, so
	// fewer than three may stay open; four means the clock closed nothing.
	waitMetric(t, r.Server, "tickerd_candles_open", func(v float64) bool { return v <= 3 },
		"at most 3 (the 1s candle closed by the clock)")
	// The hub takes the three trades into its tape, and the candles:
	// four opened and the 1s one closed.
	waitMetric(t, r.Server, "tickerd_trades_total", func(v float64) bool { return v == 3 }, "3")
	waitMetric(t, r.Server, "tickerd_candle_updates_total", func(v float64) bool { return v >= 4+1 }, "at least 5")
}

// TestCandlesThroughNATS: a feed node builds candles in front of its
// Publisher, so they are in NATS for edges, with the OHLCV of the trades;
// an edge builds none.
func TestCandlesThroughNATS(t *testing.T) {
	ns := apptest.StartNATS(t)
	natsURL := []string{ns.ClientURL()}
	feedNode := apptest.Start(t, tickerd.Config{Feed: traded(),
		Cluster: tickerd.ClusterConfig{Role: tickerd.RoleFeed, NATS: natsURL}, ReadyMaxFeedAge: -1, DrainWindow: -1})
	edge := apptest.Start(t, tickerd.Config{
		Cluster: tickerd.ClusterConfig{Role: tickerd.RoleEdge, NATS: natsURL}, ReadyMaxFeedAge: -1, DrainWindow: -1})

	nc, err := nats.Connect(ns.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	last := func(subject string) []byte {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		s, err := js.Stream(ctx, "tickerd_candles")
		if err != nil {
			return nil
		}
		m, err := s.GetLastMsgForSubject(ctx, subject)
		if err != nil {
			return nil
		}
		return m.Data
	}
	var closed []byte
	if !testutil.Eventually(wait, func() bool { closed = last("tickerd.candle.AAPL.1s.closed"); return closed != nil }) {
		t.Fatal("no closed 1s candle of AAPL in NATS")
	}
	// EPOCH, a space, the frame.
	_, frame, _ := bytes.Cut(closed, []byte(" "))
	c, err := protocol.DecodeCandle(frame)
	if err != nil {
		t.Fatalf("closed candle %q: %v", closed, err)
	}
	if c.Symbol != "AAPL" || c.Interval != protocol.Interval1s || !c.Closed || c.Open.String() != "100" ||
		c.High.String() != "101" || c.Low.String() != "99.5" || c.Close.String() != "99.5" ||
		c.Volume.String() != "35" || c.Trades != 3 {
		t.Errorf("closed 1s candle %s, want AAPL open 100.00 high 101.00 low 99.50 close 99.50 volume 35 trades 3", frame)
	}
	if last("tickerd.candle.AAPL.1h.open") == nil {
		t.Error("no open 1h candle of AAPL in NATS")
	}
	if v, ok := metricValue(t, feedNode.Server, "tickerd_candle_symbols"); !ok || v != 1 {
		t.Errorf("feed node tickerd_candle_symbols = %v (%v), want 1", v, ok)
	}
	waitStatus(t, "http://"+edge.Addr+"/readyz", 200)
	if _, ok := metricValue(t, edge.Server, "tickerd_candle_symbols"); ok {
		t.Error("the edge exports candle builder metrics: it builds none")
	}
}
