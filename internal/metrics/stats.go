package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/tickerd/tickerd/internal/candle"
	"github.com/tickerd/tickerd/internal/cluster"
	"github.com/tickerd/tickerd/protocol"
)

// StatsCollector exports the counters of one stats value of type S, which
// its function returns at scrape time: a server's own (ServerStats), an
// edge's (cluster.EdgeStats), a candle builder's (candle.Stats). The
// function may be called from several goroutines at once.
type StatsCollector[S any] struct {
	stats   func() S
	metrics []stat[S]
}

// stat is one metric of S: emit gives its value, once per label set.
type stat[S any] struct {
	desc *prometheus.Desc
	typ  prometheus.ValueType
	emit func(st S, put func(v float64, labels ...string))
}

func counter[S any](name, help string, v func(S) uint64) stat[S] {
	return stat[S]{
		desc: prometheus.NewDesc(name, help, nil, nil),
		typ:  prometheus.CounterValue,
		emit: func(st S, put func(float64, ...string)) { put(float64(v(st))) },
	}
}

func gauge[S any](name, help string, v func(S) float64) stat[S] {
	return stat[S]{
		desc: prometheus.NewDesc(name, help, nil, nil),
		typ:  prometheus.GaugeValue,
		emit: func(st S, put func(float64, ...string)) { put(v(st)) },
	}
}

// Describe implements prometheus.Collector.
func (c *StatsCollector[S]) Describe(ch chan<- *prometheus.Desc) {
	for _, m := range c.metrics {
		ch <- m.desc
	}
}

// Collect implements prometheus.Collector. It reads the stats once.
func (c *StatsCollector[S]) Collect(ch chan<- prometheus.Metric) {
	st := c.stats()
	for _, m := range c.metrics {
		m.emit(st, func(v float64, labels ...string) {
			ch <- prometheus.MustNewConstMetric(m.desc, m.typ, v, labels...)
		})
	}
}

// ServerStats are a server's own counters, beside its hub's and its
// feed's.
type ServerStats struct {
	AcceptErrors uint64 // listener accept errors
	FeedPanics   uint64 // panics of the feed recovered
	// HTTPWaiting is how many HTTP connections wait on their client (a
	// request header, or over TLS the next keep-alive request); HTTPWaitingClosed
	// counts those closed because too many waited.
	HTTPWaiting       int
	HTTPWaitingClosed uint64
	// HTTPQueued is how many requests whose header has come wait for a
	// handshake goroutine; HTTPBusy counts those refused with 503
	// because as many as the cap waited.
	HTTPQueued int
	HTTPBusy   uint64
}

// NewServerCollector returns the collector of a server's own counters.
func NewServerCollector(stats func() ServerStats) *StatsCollector[ServerStats] {
	type S = ServerStats
	return &StatsCollector[S]{stats: stats, metrics: []stat[S]{
		counter("tickerd_accept_errors_total",
			"Errors accepting a connection on the listener (EMFILE: out of file descriptors); accepting resumes after a pause.",
			func(st S) uint64 { return st.AcceptErrors }),
		counter("tickerd_feed_panics_total",
			"Panics of the feed recovered; the feed was run again after a backoff.",
			func(st S) uint64 { return st.FeedPanics }),
		gauge("tickerd_http_waiting",
			"HTTP connections waiting on their client: for a request header, or (over TLS) idle between keep-alive requests.",
			func(st S) float64 { return float64(st.HTTPWaiting) }),
		counter("tickerd_http_waiting_closed_total",
			"HTTP connections closed because more than the HTTP max-waiting cap waited on their clients (the longest waiting goes).",
			func(st S) uint64 { return st.HTTPWaitingClosed }),
		gauge("tickerd_http_handshakes_queued",
			"Requests whose header has come waiting for a handshake goroutine (plain listener), in arrival order.",
			func(st S) float64 { return float64(st.HTTPQueued) }),
		counter("tickerd_http_busy_total",
			"Requests refused with 503 because as many as the HTTP max-waiting cap had come and waited for a handshake goroutine.",
			func(st S) uint64 { return st.HTTPBusy }),
	}}
}

// NewEdgeCollector returns the collector of a cluster edge's counters
// (cluster.Edge.Stats).
func NewEdgeCollector(stats func() cluster.EdgeStats) *StatsCollector[cluster.EdgeStats] {
	type S = cluster.EdgeStats
	return &StatsCollector[S]{stats: stats, metrics: []stat[S]{
		gauge("tickerd_edge_watching",
			"Symbols the edge follows on NATS because its clients watch them.",
			func(st S) float64 { return float64(st.Watching) }),
		counter("tickerd_edge_resets_total",
			"Seq spaces the feed node restarted (an update with a higher epoch), over every channel and symbol.",
			func(st S) uint64 { return st.Resets }),
		counter("tickerd_edge_stale_total",
			"Updates dropped as older than what the edge delivered: a lower epoch, or a seq not above the last.",
			func(st S) uint64 { return st.Stale }),
		counter("tickerd_edge_gaps_total",
			"Seqs skipped on the ticks of watched symbols and on trades.",
			func(st S) uint64 { return st.Gaps }),
		counter("tickerd_edge_book_resyncs_total",
			"Books that missed an update and waited for a snapshot.",
			func(st S) uint64 { return st.Resyncs }),
		counter("tickerd_edge_stored_books_total",
			"Books a newly watched symbol's clients got from the stored snapshot because the fresh one asked for did not come within 500 ms.",
			func(st S) uint64 { return st.StoredBooks }),
		counter("tickerd_edge_unlisted_dropped_total",
			"Trades and candles dropped because their symbol's listing did not come in time.",
			func(st S) uint64 { return st.Held }),
		counter("tickerd_edge_bad_messages_total",
			"NATS messages that could not be read or were not what their subject says.",
			func(st S) uint64 { return st.Bad }),
		counter("tickerd_edge_listed_total",
			"Listings and definition changes the edge handed to its hub.",
			func(st S) uint64 { return st.Listed }),
		counter("tickerd_edge_delisted_total",
			"Delistings the edge handed to its hub.",
			func(st S) uint64 { return st.Delisted }),
	}}
}

// NewCandleCollector returns the collector of a candle builder's counters
// (candle.Builder.Stats).
func NewCandleCollector(stats func() candle.Stats) *StatsCollector[candle.Stats] {
	type S = candle.Stats
	late := stat[S]{
		desc: prometheus.NewDesc("tickerd_candle_late_trades_total",
			"Trades left out of an interval's candles because their candle had closed, by interval.", []string{"interval"}, nil),
		typ: prometheus.CounterValue,
		emit: func(st S, put func(float64, ...string)) {
			for iv, n := range st.Late {
				put(float64(n), protocol.Interval(iv).String())
			}
		},
	}
	return &StatsCollector[S]{stats: stats, metrics: []stat[S]{
		gauge("tickerd_candle_symbols",
			"Symbols the candle builder holds candles of.",
			func(st S) float64 { return float64(st.Symbols) }),
		gauge("tickerd_candles_open",
			"Open candles, over every symbol and interval.",
			func(st S) float64 { return float64(st.Open) }),
		late,
		counter("tickerd_candle_stale_trades_total",
			"Trades of an older epoch than their symbol's, left out of its candles.",
			func(st S) uint64 { return st.Stale }),
		counter("tickerd_candle_rejected_trades_total",
			"Trades left out of the candles because a value does not fit (see package candle).",
			func(st S) uint64 { return st.Rejected }),
	}}
}
