package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/tickerd/tickerd/feed"
)

// FeedCollector exports a feed's health (feed.HealthReporter), one series
// per source, read at scrape time. A feed that does not report its health
// exports nothing.
type FeedCollector struct {
	f                                       feed.Feed
	connected, lastUpdate, reconnects, gaps *prometheus.Desc
	resyncs, rejected                       *prometheus.Desc
}

// NewFeedCollector returns the collector for f.
func NewFeedCollector(f feed.Feed) *FeedCollector {
	src := []string{"source"}
	return &FeedCollector{
		f:          f,
		connected:  prometheus.NewDesc("tickerd_feed_connected", "1 while the feed source is up (connected, or playing).", src, nil),
		lastUpdate: prometheus.NewDesc("tickerd_feed_last_update_timestamp_seconds", "When the feed source last published, Unix seconds (absent before the first update).", src, nil),
		reconnects: prometheus.NewDesc("tickerd_feed_reconnects_total", "Connections to the feed source lost and re-established.", src, nil),
		gaps:       prometheus.NewDesc("tickerd_feed_gaps_total", "Upstream updates known to be missed by the feed source.", src, nil),
		resyncs: prometheus.NewDesc("tickerd_feed_resyncs_total",
			"Order books the feed source fetched whole again after an inconsistency (on an edge: also seq resets).", src, nil),
		rejected: prometheus.NewDesc("tickerd_feed_rejected_total",
			"Upstream messages the feed source rejected as malformed or refused (logged, skipped).", src, nil),
	}
}

// Describe implements prometheus.Collector.
func (c *FeedCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.connected
	ch <- c.lastUpdate
	ch <- c.reconnects
	ch <- c.gaps
	ch <- c.resyncs
	ch <- c.rejected
}

// Collect implements prometheus.Collector.
func (c *FeedCollector) Collect(ch chan<- prometheus.Metric) {
	for _, h := range feed.HealthOf(c.f) {
		up := 0.0
		if h.Connected {
			up = 1
		}
		ch <- prometheus.MustNewConstMetric(c.connected, prometheus.GaugeValue, up, h.Source)
		if !h.LastUpdate.IsZero() {
			ch <- prometheus.MustNewConstMetric(c.lastUpdate, prometheus.GaugeValue, float64(h.LastUpdate.UnixNano())/1e9, h.Source)
		}
		ch <- prometheus.MustNewConstMetric(c.reconnects, prometheus.CounterValue, float64(h.Reconnects), h.Source)
		ch <- prometheus.MustNewConstMetric(c.gaps, prometheus.CounterValue, float64(h.Gaps), h.Source)
		ch <- prometheus.MustNewConstMetric(c.resyncs, prometheus.CounterValue, float64(h.Resyncs), h.Source)
		ch <- prometheus.MustNewConstMetric(c.rejected, prometheus.CounterValue, float64(h.Rejected), h.Source)
	}
}
