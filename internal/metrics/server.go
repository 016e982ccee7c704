package metrics

import "github.com/prometheus/client_golang/prometheus"

// ServerStats are a server's own counters, beside its hub's and its
// feed's.
type ServerStats struct {
	AcceptErrors uint64 // listener accept errors
	FeedPanics   uint64 // panics of the feed recovered
}

// ServerCollector exports a server's ServerStats, read at scrape time.
type ServerCollector struct {
	stats                   func() ServerStats
	acceptErrors, feedPanic *prometheus.Desc
}

// NewServerCollector returns the collector of the counters stats reads;
// stats may be called from several goroutines at once.
func NewServerCollector(stats func() ServerStats) *ServerCollector {
	return &ServerCollector{
		stats: stats,
		acceptErrors: prometheus.NewDesc("tickerd_accept_errors_total",
			"Errors accepting a connection on the listener (EMFILE: out of file descriptors); accepting resumes after a pause.", nil, nil),
		feedPanic: prometheus.NewDesc("tickerd_feed_panics_total",
			"Panics of the feed recovered; the feed was run again after a backoff.", nil, nil),
	}
}

// Describe implements prometheus.Collector.
func (c *ServerCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.acceptErrors
	ch <- c.feedPanic
}

// Collect implements prometheus.Collector.
func (c *ServerCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.stats()
	ch <- prometheus.MustNewConstMetric(c.acceptErrors, prometheus.CounterValue, float64(st.AcceptErrors))
	ch <- prometheus.MustNewConstMetric(c.feedPanic, prometheus.CounterValue, float64(st.FeedPanics))
}
