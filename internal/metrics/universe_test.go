package metrics_test

import (
	"testing"

	"github.com/tickerd/tickerd/feed"
	"github.com/tickerd/tickerd/hub"
)

// TestUniverseMetrics lists and delists symbols and checks the universe's
// size, the listings and delistings counted, and one observation per
// change in tickerd_universe_change_seconds{op}.
func TestUniverseMetrics(t *testing.T) {
	s := newServer(t, hub.Config{Shards: 1})
	mfs := scrape(t, s.url)
	want(t, mfs, 2, "tickerd_symbols")
	want(t, mfs, 0, "tickerd_symbols_listed_total")
	want(t, mfs, 0, "tickerd_symbols_delisted_total")

	s.h.List([]feed.Symbol{{Name: "NVDA"}, {Name: "TSLA"}, {Name: "AMZN"}})
	s.h.List([]feed.Symbol{{Name: "NVDA"}}) // no change: not counted
	s.h.Delist([]string{"AAPL", "NOPE"})
	mfs = scrape(t, s.url)
	want(t, mfs, 4, "tickerd_symbols")
	want(t, mfs, 3, "tickerd_symbols_listed_total")
	want(t, mfs, 1, "tickerd_symbols_delisted_total")
	for _, op := range []string{"list", "delist"} {
		found := false
		for _, m := range mfs["tickerd_universe_change_seconds"].GetMetric() {
			if m.GetLabel()[0].GetValue() != op {
				continue
			}
			found = true
			if h := m.GetHistogram(); h.GetSampleCount() != 1 || h.GetSampleSum() <= 0 {
				t.Errorf("tickerd_universe_change_seconds{op=%q}: %d observations, sum %v; want 1, > 0", op, h.GetSampleCount(), h.GetSampleSum())
			}
		}
		if !found {
			t.Errorf("tickerd_universe_change_seconds{op=%q} missing from the scrape", op)
		}
	}
}
