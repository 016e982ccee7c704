// Package hub fans market-data updates out to WebSocket clients.
//
// Every update is encoded once, as a tick frame and a snapshot frame, and
// the same bytes are written to every subscriber. A connection has no
// goroutine and no buffer while idle: one epoll instance watches every
// socket and wakes a small pool of readers when a client sends something;
// a fixed number of shards each own the writes, subscriptions and lifetime
// of their connections.
//
// Writes never wait for a client. A shard marks the subscribers of an
// updated symbol dirty and then writes to each, with one gathered send of its
// replies and the latest update of each symbol it has not yet sent. A
// socket that cannot take it all keeps the rest and is written again when
// epoll says it has room; updates that arrive meanwhile replace each
// other, so a slow client holds at most one pending update per symbol and
// sees a seq jump. A client backlogged past Config.BacklogTimeout is
// closed with 1008.
//
// Use:
//
//	h, err := hub.New(hub.Config{}, feed.Symbols(), logger)
//	if err != nil { ... }
//	defer h.Close()
//	http.Handle("/ws", h)
//	go feed.Run(ctx, h) // h is a feed.Sink
//	...
//	h.Shutdown(ctx) // every client gets 1001, then the hub stops
//
// See docs/ARCHITECTURE.md for which goroutine owns what.
package hub
