// Package metrics exposes a tickerd server's counters to Prometheus.
//
// The collectors read their counters when Prometheus scrapes, so the hot
// path pays nothing for metrics: the hub keeps its own per-shard atomic
// counters, and nothing here runs per delivered message.
//
//	reg := metrics.NewRegistry(metrics.NewCollector(h), metrics.NewFeedCollector(f))
//	mux.Handle("GET /metrics", metrics.Handler(reg))
//
// A registry from NewRegistry serves the tickerd_* metrics below plus the
// standard Go runtime (go_*) and process (process_*) metrics; nothing is
// registered globally. A collector may be registered later (an edge's hub
// exists only once it has its symbol list).
//
// Metrics (all counters count since the process started):
//
//	tickerd_connections                        open WebSocket connections (gauge)
//	tickerd_connections_opened_total           connections upgraded and registered
//	tickerd_connections_closed_total{reason}   closed, by reason: peer, protocol, slow, idle,
//	                                           shutdown, write_error, error, auth
//	tickerd_slow_consumer_closes_total         closed with 1008 "slow consumer" (= reason="slow")
//	tickerd_protocol_closes_total              closed for breaking RFC 6455 or the message size limit
//	tickerd_subscriptions                      current subscriptions, all connections (gauge)
//	tickerd_messages_sent_total                data frames (ticks, snapshots) written
//	tickerd_bytes_sent_total                   bytes the sockets took, frames and replies
//	tickerd_writes_total                       send/sendmsg system calls
//	tickerd_merged_updates_total               updates a client never got because a newer one replaced them
//	tickerd_feed_updates_total                 updates the feed published into the hub
//	tickerd_feed_stale_total                   updates dropped: seq not above the symbol's last
//	tickerd_feed_unknown_total                 updates dropped: symbol not served
//	tickerd_feed_lag_seconds                   publish time minus event time of the last update (gauge)
//	tickerd_tick_to_write_seconds              histogram: event time to the write of each data frame
//	tickerd_handshake_failures_total{cause}    upgrades refused: draining, max_conns, origin, bad_request,
//	                                           transport, auth, max_conns_per_ip
//	tickerd_client_errors_total{code}          error replies sent, by protocol error code
//	tickerd_draining                           1 while the hub drains for shutdown (gauge)
//	tickerd_accept_errors_total                listener accept errors (EMFILE: out of file descriptors)
//	tickerd_feed_panics_total                  panics of the feed recovered; the feed was run again
//
// Frames per write (how well writes are batched) is the ratio of two
// counters:
//
//	rate(tickerd_messages_sent_total[1m]) / rate(tickerd_writes_total[1m])
package metrics

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// NewRegistry returns a registry holding cs and the Go runtime's and the
// process's collectors. Like prometheus.MustRegister it panics if a
// collector clashes with another (a programming error).
func NewRegistry(cs ...prometheus.Collector) *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	reg.MustRegister(cs...)
	return reg
}

// Handler serves reg's metrics in the Prometheus exposition formats.
func Handler(reg *prometheus.Registry) http.Handler {
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		// A collector failing does not hide the others' metrics.
		ErrorHandling: promhttp.ContinueOnError,
	})
}
