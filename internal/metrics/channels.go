package metrics

import "github.com/tickerd/tickerd/hub"

// NewChannelCollector returns the collector of a hub's universe, epoch
// and channel counters (trades, candles, books), from stats (Hub.Stats).
func NewChannelCollector(stats func() hub.Stats) *StatsCollector[hub.Stats] {
	type S = hub.Stats
	return &StatsCollector[S]{stats: stats, metrics: []stat[S]{
		gauge("tickerd_symbols",
			"Symbols the hub serves now.",
			func(st S) float64 { return float64(st.Symbols) }),
		counter("tickerd_symbols_listed_total",
			"Symbols added to the universe while the hub ran (List).",
			func(st S) uint64 { return st.Listed }),
		counter("tickerd_symbols_delisted_total",
			"Symbols removed from the universe (Delist); their subscribers were told.",
			func(st S) uint64 { return st.Delisted }),
		counter("tickerd_feed_resets_total",
			"Updates that began a higher epoch of their stream (the feed's seq space restarted); subscribers got a reset.",
			func(st S) uint64 { return st.Resets }),
		counter("tickerd_feed_stale_epoch_total",
			"Feed updates dropped because their epoch was below their stream's.",
			func(st S) uint64 { return st.StaleEpoch }),
		counter("tickerd_trades_total",
			"Trades taken into the hub's per-symbol trade history (the tape).",
			func(st S) uint64 { return st.Trades }),
		counter("tickerd_trade_holes_total",
			"Holes in a feed's trade seqs; each is a gap message every subscriber of the symbol gets.",
			func(st S) uint64 { return st.TradeHoles }),
		counter("tickerd_trade_gaps_sent_total",
			"Gap messages sent to a trades subscriber that fell behind (past the history or its byte budget) or resumed from before the history.",
			func(st S) uint64 { return st.GapsSent }),
		counter("tickerd_candle_updates_total",
			"Candle updates the hub took and fanned out.",
			func(st S) uint64 { return st.Candles }),
		counter("tickerd_book_updates_total",
			"Book updates the hub applied.",
			func(st S) uint64 { return st.Books }),
		counter("tickerd_book_errors_total",
			"Book updates the book refused (a delta that does not follow, a crossed book, levels over the bound).",
			func(st S) uint64 { return st.BookErrors }),
		counter("tickerd_book_snapshots_sent_total",
			"Book snapshots sent to subscribers: new or resubscribed, behind, rate-limited, or owed a delta they could not apply.",
			func(st S) uint64 { return st.BookSnapshots }),
	}}
}
