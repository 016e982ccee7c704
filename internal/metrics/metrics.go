// Package metrics exposes a tickerd server's counters to Prometheus.
//
// The collectors read their counters when Prometheus scrapes, so the hot
// path pays nothing for metrics: the hub, the feed, the cluster edge and
// the candle builder keep their own counters, and nothing here runs per
// delivered message.
//
//	reg := metrics.NewRegistry(metrics.NewCollector(h), metrics.NewFeedCollector(f))
//	mux.Handle("GET /metrics", metrics.Handler(reg))
//
// A registry from NewRegistry serves the tickerd_* metrics below plus the
// standard Go runtime (go_*) and process (process_*) metrics; nothing is
// registered globally. A collector may be registered later (an edge's hub
// exists only once it has its symbol list).
//
// Metrics (all counters count since the process started). The hub's
// (NewCollector):
//
//	tickerd_connections                        open WebSocket connections (gauge)
//	tickerd_connections_opened_total           connections upgraded and registered
//	tickerd_connections_closed_total{reason}   closed, by reason: peer, protocol, slow, idle, shutdown,
//	                                           write_error, error, auth, unread_replies, frame_timeout
//	tickerd_slow_consumer_closes_total         closed with 1008 "slow consumer" (= reason="slow")
//	tickerd_protocol_closes_total              closed for breaking RFC 6455 or a limit (size, floods, unread replies, auth)
//	tickerd_pings_dropped_total                client pings with no pong of their own (a later one's
//	                                           answered them, or they were over the message rate)
//	tickerd_subscriptions                      current subscriptions, all connections (gauge)
//	tickerd_messages_sent_total                data frames of every channel written
//	tickerd_bytes_sent_total                   bytes the sockets took, frames and replies
//	tickerd_writes_total                       send/sendmsg system calls
//	tickerd_merged_updates_total               updates a client never got because a newer one replaced them
//	tickerd_feed_updates_total                 updates the feed published into the hub
//	tickerd_feed_stale_total                   updates dropped: seq not above the symbol's last
//	tickerd_feed_unknown_total                 updates dropped: symbol or channel not served
//	tickerd_feed_lag_seconds                   publish time minus event time of the last update (gauge)
//	tickerd_tick_to_write_seconds              histogram: event time to the write of each data frame
//	tickerd_handshake_failures_total{cause}    upgrades refused: draining, max_conns, origin, bad_request,
//	                                           transport, auth, max_conns_per_ip, fd_limit
//	tickerd_client_errors_total{code}          error replies sent, by protocol error code
//	tickerd_draining                           1 while the hub drains for shutdown (gauge)
//
// The feed's, one series per source it reports (NewFeedCollector):
//
//	tickerd_feed_connected{source}                      1 while the source is up (gauge)
//	tickerd_feed_last_update_timestamp_seconds{source}  when it last published (gauge)
//	tickerd_feed_reconnects_total{source}               connections lost and re-established
//	tickerd_feed_gaps_total{source}                     upstream updates known to be missed
//	tickerd_feed_resyncs_total{source}                  order books fetched whole again
//	tickerd_feed_rejected_total{source}                 upstream messages rejected or refused
//
// The server's own (NewServerCollector):
//
//	tickerd_accept_errors_total                listener accept errors (EMFILE: out of file descriptors)
//	tickerd_feed_panics_total                  panics of the feed recovered; the feed was run again
//
// A cluster edge's (NewEdgeCollector, cluster.EdgeStats):
//
//	tickerd_edge_watching                      symbols followed on NATS for local clients (gauge)
//	tickerd_edge_resets_total                  seq spaces the feed node restarted (a higher epoch)
//	tickerd_edge_stale_total                   updates dropped as older than what was delivered
//	tickerd_edge_gaps_total                    seqs skipped on watched ticks and on trades
//	tickerd_edge_book_resyncs_total            books that missed an update and waited for a snapshot
//	tickerd_edge_stored_books_total            books first handed on from a stored snapshot: no fresh one came
//	tickerd_edge_unlisted_dropped_total        trades and candles of a symbol whose listing came too late
//	tickerd_edge_bad_messages_total            NATS messages that could not be read
//	tickerd_edge_listed_total                  listings and definition changes handed to the hub
//	tickerd_edge_delisted_total                delistings handed to the hub
//
// The candle builder's, on a node that runs a feed (NewCandleCollector,
// candle.Stats):
//
//	tickerd_candle_symbols                     symbols with candles (gauge)
//	tickerd_candles_open                       open candles over every symbol and interval (gauge)
//	tickerd_candle_late_trades_total{interval} trades left out: their candle had closed
//	tickerd_candle_stale_trades_total          trades of an older epoch than their symbol's
//	tickerd_candle_rejected_trades_total       trades whose values do not fit
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
