// Package tickerd is a real-time market-data push server: it takes updates
// from a feed and pushes them over WebSocket to many subscribed clients.
// Each update is encoded once and the same bytes go to every subscriber;
// an idle connection costs about a kilobyte and no goroutine; a slow
// client gets the latest price instead of a growing queue.
//
// cmd/tickerd is one program built on this package. A program of your own
// imports it to serve its own feed, with its own authentication, from its
// own HTTP server. This one serves a feed of one symbol whose price moves
// once a second, with the dashboard at http://localhost:8080/:
//
//	package main
//
//	import (
//		"context"
//		"log"
//		"os"
//		"os/signal"
//		"time"
//
//		"github.com/shopspring/decimal"
//		"github.com/tickerd/tickerd"
//		"github.com/tickerd/tickerd/feed"
//		"github.com/tickerd/tickerd/protocol"
//	)
//
//	// clock is the feed: tickerd calls Symbols once, then Run on a goroutine of its own.
//	type clock struct{}
//
//	func (clock) Symbols() []feed.Symbol {
//		return []feed.Symbol{{Name: "TICK", Class: "equity", PricePrec: 2, TickSize: decimal.New(1, -2)}}
//	}
//
//	func (clock) Run(ctx context.Context, sink feed.Sink) error {
//		t := protocol.Tick{Symbol: "TICK", PricePrec: 2}
//		every := time.NewTicker(time.Second)
//		for {
//			select {
//			case <-ctx.Done():
//				return nil // the server is shutting down
//			case now := <-every.C:
//				p := decimal.New(int64(100_00+now.Second()), -2) // 100.00 + seconds/100
//				t.Seq++                                            // +1 per update of the symbol
//				t.Price, t.Bid, t.Ask, t.Open, t.High, t.Low = p, p, p, p, p, p
//				t.TS = now.UnixNano() // event time
//				sink.Publish(&t)      // borrowed: encoded once for every subscriber
//			}
//		}
//	}
//
//	func main() {
//		srv, err := tickerd.New(tickerd.Config{Feed: clock{}}) // the zero Config serves a simulated market
//		if err != nil {
//			log.Fatal(err)
//		}
//		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
//		defer stop()
//		if err := srv.ListenAndServe(ctx); err != nil { // :8080 until Ctrl-C, then a graceful drain
//			log.Fatal(err)
//		}
//	}
//
// A client connects to ws://localhost:8080/ws?symbols=TICK and gets a
// snapshot of TICK, then a tick per update (see package protocol). The
// server runs the feed on a goroutine of its own; if it panics, the panic
// and its stack are logged, /readyz reports it, and the feed is run again
// after a backoff that doubles. The module's examples/ directory has a
// bigger sibling of this program and a Go client.
//
// # Serving
//
// Serve (or ListenAndServe) runs the feed and an HTTP server with the
// timeouts of Config.HTTP, and TLS with Config.TLS. To serve tickerd from
// an http.Server of your own, mount Handler (or the single endpoints of
// Handlers) on your mux and call Run, which runs the feed and drains the
// WebSocket clients at the end but listens on nothing:
//
//	mux.Handle("/market/", http.StripPrefix("/market", srv.Handler())) // /market/ws, /market/readyz, ...
//	go func() { errc <- srv.Run(ctx) }()
//
// Either way the server stops when ctx is done or Shutdown is called:
// /readyz turns 503, new WebSocket connections are refused, and every
// client gets a close 1001 (going away) at a random moment within
// Config.DrainWindow, so that they do not all reconnect at once. A Server
// serves once.
//
// # Authentication
//
// With Config.Auth, every client presents a bearer token (an Authorization
// header, a ?token= parameter, or an {"op":"auth"} message) and may watch
// only the symbols its Identity allows; /api/symbols lists only those.
// NewJWTAuth verifies JWTs signed with a key from a file; MintToken makes
// development tokens. Any Authenticator will do.
//
// # Scaling out
//
// Config.Cluster shares one feed between nodes through NATS: a feed node
// (RoleFeed or RoleBoth) publishes each update once, encoded, and the
// candles it builds from the feed's trades; edges (RoleEdge) serve
// clients from it, following the quotes and books of the symbols their
// clients watch and mirroring the trades, candles and symbol list. Every
// node answers /api/symbols alike. With Cluster.EmbedAddr the NATS server
// runs in the process.
//
// The wire protocol is described in package protocol; the hub's limits are
// hub.Config, a field of Config.
package tickerd
