// Package tickerd is a real-time market-data push server: it takes updates
// from a feed and pushes them over WebSocket to many subscribed clients.
// Each update is encoded once and the same bytes go to every subscriber;
// an idle connection costs about a kilobyte and no goroutine; a slow
// client gets the latest price instead of a growing queue.
//
// cmd/tickerd is one program built on this package. A program of your own
// imports it to serve its own feed, with its own authentication, from its
// own HTTP server:
//
//	srv, err := tickerd.New(tickerd.Config{Feed: myFeed}) // the zero Config serves a simulated market
//	if err != nil { ... }
//	err = srv.ListenAndServe(ctx) // :8080 until ctx is done, then a graceful drain
//
// A feed is a feed.Feed: it declares its symbols and publishes updates into
// a feed.Sink until its context ends (see package feed). The server runs
// it on a goroutine of its own; if it panics, the panic and its stack are
// logged, /readyz reports it, and the feed is run again after a backoff.
//
// # Serving
//
// Serve (or ListenAndServe) runs the feed and an HTTP server with the
// timeouts of Config.HTTP, and TLS with Config.TLS. To serve tickerd from
// an http.Server of your own, mount Handler (or the single endpoints of
// Handlers) on your mux and call Run, which runs the feed and drains the
// WebSocket clients at the end but listens on nothing:
//
//	mux.Handle("/", srv.Handler()) // /ws, /api/symbols, /healthz, /readyz, /metrics, the dashboard
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
// (RoleFeed or RoleBoth) publishes each update once, encoded; edges
// (RoleEdge) serve clients from it and hold only the symbols their clients
// watch. With Cluster.EmbedAddr the NATS server runs in the process.
//
// The wire protocol is described in package protocol; the hub's limits are
// hub.Config, a field of Config.
package tickerd
