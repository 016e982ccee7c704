package metrics_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	promtest "github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/shopspring/decimal"

	"github.com/tickerd/tickerd/feed"
	"github.com/tickerd/tickerd/internal/candle"
	"github.com/tickerd/tickerd/internal/cluster"
	"github.com/tickerd/tickerd/internal/metrics"
	"github.com/tickerd/tickerd/protocol"
)

// compare checks every series c exports, as "name{labels} value" lines
// in the order a registry gathers them, against want, and lints c.
func compare(t *testing.T, c prometheus.Collector, want string) {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c)
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var got strings.Builder
	for _, f := range fams {
		for _, m := range f.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, l.GetName()+`="`+l.GetValue()+`"`)
			}
			name := f.GetName()
			if len(labels) > 0 {
				name += "{" + strings.Join(labels, ",") + "}"
			}
			v := m.GetCounter().GetValue() + m.GetGauge().GetValue() // one of them is set
			fmt.Fprintf(&got, "%s %s\n", name, strconv.FormatFloat(v, 'g', -1, 64))
		}
	}
	if got.String() != strings.TrimLeft(want, "\n") {
		t.Errorf("collected:\n%s\nwant:\n%s", got.String(), want)
	}
	if problems, err := promtest.CollectAndLint(c); err != nil || len(problems) > 0 {
		t.Errorf("lint: %v %v", problems, err)
	}
}

// TestEdgeCollector: each field of cluster.EdgeStats is its own series.
func TestEdgeCollector(t *testing.T) {
	st := cluster.EdgeStats{Watching: 1, Resets: 2, Stale: 3, Gaps: 4, Resyncs: 5, Held: 6, Bad: 7, Listed: 8, Delisted: 9, StoredBooks: 10}
	compare(t, metrics.NewEdgeCollector(func() cluster.EdgeStats { return st }), `
tickerd_edge_bad_messages_total 7
tickerd_edge_book_resyncs_total 5
tickerd_edge_delisted_total 9
tickerd_edge_gaps_total 4
tickerd_edge_listed_total 8
tickerd_edge_resets_total 2
tickerd_edge_stale_total 3
tickerd_edge_stored_books_total 10
tickerd_edge_unlisted_dropped_total 6
tickerd_edge_watching 1
`)
}

// TestCandleCollector: a Builder's counters, late trades per interval.
func TestCandleCollector(t *testing.T) {
	st := candle.Stats{Symbols: 1, Open: 2, Late: [protocol.NumIntervals]uint64{3, 4, 5, 6}, Stale: 7, Rejected: 8}
	compare(t, metrics.NewCandleCollector(func() candle.Stats { return st }), `
tickerd_candle_late_trades_total{interval="1h"} 6
tickerd_candle_late_trades_total{interval="1m"} 4
tickerd_candle_late_trades_total{interval="1s"} 3
tickerd_candle_late_trades_total{interval="5m"} 5
tickerd_candle_rejected_trades_total 8
tickerd_candle_stale_trades_total 7
tickerd_candle_symbols 1
tickerd_candles_open 2
`)

	// A real Builder: one trade opens a candle in each interval; one ten
	// minutes older is late in every interval but the hour's.
	b := candle.NewBuilder(candle.Config{}, candle.NewHistory(candle.HistoryConfig{}))
	now := time.Date(2025, 11, 21, 10, 30, 0, 0, time.UTC).UnixNano()
	for _, ts := range []int64{now, now - int64(10*time.Minute)} {
		b.PublishTrade(&protocol.Trade{Symbol: "AAPL", Seq: 1, Price: decimal.New(100, 0), Size: decimal.New(1, 0), TS: ts})
	}
	compare(t, metrics.NewCandleCollector(b.Stats), `
tickerd_candle_late_trades_total{interval="1h"} 0
tickerd_candle_late_trades_total{interval="1m"} 1
tickerd_candle_late_trades_total{interval="1s"} 1
tickerd_candle_late_trades_total{interval="5m"} 1
tickerd_candle_rejected_trades_total 0
tickerd_candle_stale_trades_total 0
tickerd_candle_symbols 1
tickerd_candles_open 4
`)
}

// reporting is a feed whose health is fixed.
type reporting struct{ h feed.Health }

func (reporting) Symbols() []feed.Symbol                     { return nil }
func (reporting) Run(ctx context.Context, _ feed.Sink) error { <-ctx.Done(); return nil }
func (f reporting) Health() []feed.Health                    { return []feed.Health{f.h} }

// TestFeedCollectorCounters: each counter of feed.Health is its own series.
func TestFeedCollectorCounters(t *testing.T) {
	f := reporting{feed.Health{Source: "coinbase", Connected: true, Reconnects: 1, Gaps: 2, Resyncs: 3, Rejected: 4}}
	compare(t, metrics.NewFeedCollector(f), `
tickerd_feed_connected{source="coinbase"} 1
tickerd_feed_gaps_total{source="coinbase"} 2
tickerd_feed_reconnects_total{source="coinbase"} 1
tickerd_feed_rejected_total{source="coinbase"} 4
tickerd_feed_resyncs_total{source="coinbase"} 3
`)
}
