package metrics

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tickerd/tickerd/hub"
)

// Collector is a prometheus.Collector over a hub's Stats, read at scrape
// time. It may be collected from several goroutines at once.
type Collector struct {
	h *hub.Hub

	conns, opened, closed, slow, protoCloses  *prometheus.Desc
	subs, msgs, bytes, writes, merged         *prometheus.Desc
	published, stale, unknown, lag, latency   *prometheus.Desc
	handshakeFailures, clientErrors, draining *prometheus.Desc
	pingsDropped                              *prometheus.Desc
	change                                    *prometheus.Desc
	zFrames, zIn, zOut, zSkipped, zInflated   *prometheus.Desc
	zConns                                    *prometheus.Desc
}

// NewCollector returns a collector of h's metrics, for a registry other
// than Handler's.
func NewCollector(h *hub.Hub) *Collector {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc("tickerd_"+name, help, labels, nil)
	}
	return &Collector{
		h:           h,
		conns:       d("connections", "Open WebSocket connections, counted from the upgrade."),
		opened:      d("connections_opened_total", "WebSocket connections upgraded and registered."),
		closed:      d("connections_closed_total", "WebSocket connections closed, by reason.", "reason"),
		slow:        d("slow_consumer_closes_total", "Connections closed with 1008 because their backlog lasted longer than the backlog timeout."),
		protoCloses: d("protocol_closes_total", "Connections closed for breaking RFC 6455 or the message size limit (1002, 1007, 1009)."),
		subs:        d("subscriptions", "Current subscriptions (connection, symbol pairs)."),
		msgs:        d("messages_sent_total", "Data frames written to clients: quotes (ticks and snapshots), trades, candles and books."),
		bytes:       d("bytes_sent_total", "Bytes written to client sockets: data frames, replies and control frames."),
		writes: d("writes_total", "send/sendmsg system calls to client sockets. "+
			"Frames per write: rate(tickerd_messages_sent_total) / rate(tickerd_writes_total)."),
		merged:    d("merged_updates_total", "Updates a client never got because a newer update of the symbol replaced them (conflation)."),
		published: d("feed_updates_total", "Updates the feed published into the hub."),
		stale:     d("feed_stale_total", "Feed updates dropped because their seq was not above the symbol's last."),
		unknown:   d("feed_unknown_total", "Feed updates dropped because the hub does not serve their symbol or their channel."),
		lag:       d("feed_lag_seconds", "Publish time minus event time (ts) of the last update the feed published."),
		latency: d("tick_to_write_seconds", "Time from a tick's event time (ts) to the write of its data frame "+
			"to a client socket, per frame written."),
		handshakeFailures: d("handshake_failures_total", "WebSocket upgrades refused, by cause.", "cause"),
		clientErrors:      d("client_errors_total", "Error replies sent to clients, by protocol error code.", "code"),
		draining:          d("draining", "1 while the server drains for shutdown and refuses new connections, else 0."),
		pingsDropped: d("pings_dropped_total", "Client pings that got no pong of their own: answered by the pong of a later ping "+
			"(RFC 6455 allows it), or over the message rate."),
		change: d("universe_change_seconds", "Time one change of the universe took its caller (a List or Delist call "+
			"that changed it), by op.", "op"),
		zFrames: d("compressed_frames_total", "Frames compressed for clients that negotiated permessage-deflate: "+
			"a frame shared by many clients once, a reply made for one client once."),
		zIn:       d("compress_in_bytes_total", "Payload bytes of the frames compressed, before compression."),
		zOut:      d("compress_out_bytes_total", "Payload bytes of the frames compressed, after compression."),
		zSkipped:  d("compress_skipped_total", "Frames tried and sent plain because DEFLATE did not make them smaller."),
		zInflated: d("inflated_messages_total", "Compressed client messages inflated."),
		zConns:    d("compressing_connections", "Open connections that negotiated permessage-deflate."),
	}
}

// Describe implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{
		c.conns, c.opened, c.closed, c.slow, c.protoCloses,
		c.subs, c.msgs, c.bytes, c.writes, c.merged,
		c.published, c.stale, c.unknown, c.lag, c.latency,
		c.handshakeFailures, c.clientErrors, c.draining, c.pingsDropped,
		c.change,
		c.zFrames, c.zIn, c.zOut, c.zSkipped, c.zInflated, c.zConns,
	} {
		ch <- d
	}
}

// Collect implements prometheus.Collector. It reads the hub's counters
// once, without a lock.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	st := c.h.Stats()
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}

	gauge(c.conns, float64(st.Conns))
	counter(c.opened, st.Opened)
	for reason, n := range st.Closed {
		counter(c.closed, n, reason)
	}
	counter(c.slow, st.Closed["slow"])
	counter(c.protoCloses, st.ProtocolErrors)
	counter(c.pingsDropped, st.PingsDropped)
	gauge(c.subs, float64(st.Subscriptions))
	counter(c.msgs, st.Messages)
	counter(c.bytes, st.Bytes)
	counter(c.writes, st.Writes)
	counter(c.merged, st.Merged)
	counter(c.published, st.Published)
	counter(c.stale, st.Stale)
	counter(c.unknown, st.Unknown)
	gauge(c.lag, st.FeedLag.Seconds())
	ch <- durationHistogram(c.latency, hub.LatencyBuckets, hub.Histogram{Counts: st.Latency, Sum: st.LatencySum})
	ch <- durationHistogram(c.change, hub.ChangeBuckets, st.ListTime, "list")
	ch <- durationHistogram(c.change, hub.ChangeBuckets, st.DelistTime, "delist")
	counter(c.zFrames, st.CompressedFrames)
	counter(c.zIn, st.CompressedIn)
	counter(c.zOut, st.CompressedOut)
	counter(c.zSkipped, st.CompressSkipped)
	counter(c.zInflated, st.Inflated)
	gauge(c.zConns, float64(st.CompressingConns))
	for cause, n := range st.Rejected {
		counter(c.handshakeFailures, n, cause)
	}
	for code, n := range st.Errors {
		counter(c.clientErrors, n, code)
	}
	draining := 0.0
	if c.h.Draining() {
		draining = 1
	}
	gauge(c.draining, draining)
}

// durationHistogram turns a hub histogram's per-bucket counts into
// Prometheus's cumulative buckets.
func durationHistogram(d *prometheus.Desc, bounds []float64, h hub.Histogram, labels ...string) prometheus.Metric {
	if len(h.Counts) != len(bounds)+1 {
		return prometheus.NewInvalidMetric(d, fmt.Errorf(
			"metrics: hub reports %d buckets for %d bounds", len(h.Counts), len(bounds)))
	}
	buckets := make(map[float64]uint64, len(bounds))
	var cum uint64
	for i, ub := range bounds {
		cum += h.Counts[i]
		buckets[ub] = cum
	}
	m, err := prometheus.NewConstHistogram(d, cum+h.Counts[len(bounds)], h.Sum.Seconds(), buckets, labels...)
	if err != nil {
		return prometheus.NewInvalidMetric(d, err)
	}
	return m
}
