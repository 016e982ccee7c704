// Package hub fans market-data updates out to WebSocket clients.
//
// Every update is encoded once, as a tick frame and a snapshot frame, and
// the same bytes are written to every subscriber. A connection has no
// goroutine and no buffer while idle: one epoll instance watches every
// socket and wakes a small pool of readers when a client sends something;
// a fixed number of shards each own the writes, subscriptions and lifetime
// of their connections.
//
// What a client subscribes to is a stream: a symbol's channel (quotes,
// trades, candles of an interval, a book of a depth). Each channel has its
// delivery rule: quotes and the open candle merge (the latest value wins);
// trades never merge (a per-symbol history, the tape, is the queue, and a
// client too far behind gets a "gap" naming exactly what it missed); a
// closed candle is never merged away; a book subscriber is sent only
// deltas it can apply, else a snapshot. A stream's subscribers are kept with it, per shard,
// from its first subscriber to its last; a publish reaches only the shards
// that have subscribers of it, which put the subscriptions on their
// connections' pending lists; a write then costs what changed for the
// connection, not how many subscriptions it holds.
//
// Writes never wait for a client. A client that keeps up gets every update
// of its symbols in order; one that is behind (owed more than the last 8
// updates of a symbol, or one older than Config.MaxReplayAge) gets the
// latest only and sees a seq jump. A subscription may ask for a max_rate;
// Config.MaxRate caps them all. A socket that cannot take a write is left
// until epoll says it has room; meanwhile its updates replace each other,
// so a stopped client costs no more the longer it is stopped, and one
// backlogged past Config.BacklogTimeout is closed with 1008.
//
// A client that offers permessage-deflate gets it with no context
// takeover either way: each shared frame is compressed once, the first
// time a compressing client needs it, and serves all of them
// (Config.DisableCompression, Config.CompressMinSize).
//
// The symbols served change while the hub runs: List adds, Delist removes
// (each subscriber gets {"type":"delisted",...}). A feed whose seq space
// restarts publishes a higher epoch; each subscriber then gets a reset and
// a snapshot.
//
// Use:
//
//	h, err := hub.New(hub.Config{}, feed.Symbols(), logger) // the symbols to start with
//	if err != nil { ... }
//	defer h.Close()
//	http.Handle("/ws", h)
//	go feed.Run(ctx, h) // h is a feed.Sink: Publish, PublishTrade, PublishCandle, PublishBook, List, Delist
//	...
//	h.Shutdown(ctx) // every client gets 1001, then the hub stops
//
// See docs/ARCHITECTURE.md for how an update flows, which goroutine owns
// what, and where each limit lives.
package hub
