// Package coinbase is a feed of the public Coinbase Exchange market-data
// WebSocket (wss://ws-feed.exchange.coinbase.com): quotes from the "ticker"
// channel, trades from "matches" and order books from "level2_batch".
//
// It subscribes, exactly as documented at
// docs.cdp.coinbase.com/exchange/websocket-feed, to heartbeats for every
// product and to the data channels of the products it follows:
//
//	{"type":"subscribe","channels":[{"name":"heartbeat","product_ids":["BTC-USD","ETH-USD"]},
//	                                {"name":"ticker","product_ids":["BTC-USD","ETH-USD"]},
//	                                {"name":"matches","product_ids":["BTC-USD","ETH-USD"]},
//	                                {"name":"level2_batch","product_ids":["BTC-USD","ETH-USD"]}]}
//
// Each product publishes as one symbol (BTC-USD stays BTC-USD unless
// Product.Symbol renames it), at the precision of the product's
// quote_increment and base_increment (a built-in table for common products,
// or given explicitly). Decimals are parsed from their strings with
// protocol.ParseDecimal and protocol.ParseFixed, never through float64, and
// a number beyond their bounds ("1e100000000") rejects its message at
// once.
//
// Quotes: each ticker message is a tick; the seq is the feed's own. Stale
// tickers (an upstream sequence not above the last one) are dropped. A
// heartbeat announcing a trade no ticker covered by the next heartbeat is a
// gap, counted and logged.
//
// Trades: each match is a trade whose seq is its trade_id, which Coinbase
// numbers +1 per trade of a product; so a hole in the trade_ids is a skipped
// seq, which the server reports to subscribers as a "gap", and which the
// feed counts in Health.Gaps. The last_match sent after each subscribe
// catches up with trades missed while disconnected (as a gap) and is not
// published twice. Coinbase's "side" of a match is the maker's; the trade's
// is the aggressor's, the other one.
//
// Books: "level2" needs authentication since 2023; "level2_batch" is the
// same snapshot and l2update messages, batched every 50 ms, without
// authentication. Neither carries a sequence number, so the feed keeps its
// own copy of each book and checks every message against it: an update
// before its snapshot, a message or level it cannot decode, a snapshot
// listing a price twice, or a crossed book make it re-fetch the book
// (unsubscribe and subscribe again, which brings a fresh snapshot),
// counted in Health.Resyncs. It publishes the snapshot and then the level
// changes, in fixed point, each update with the next seq of the symbol's
// book; changes that change nothing are not sent. Each side keeps its best
// Config.BookLevels levels.
//
// The feed keeps itself up: a connection that fails, or receives nothing
// for Config.IdleTimeout, is dropped and redialled with exponential backoff
// and jitter, and the new connection resubscribes to what is wanted and
// starts each book from a snapshot. Messages it cannot use are logged,
// counted in Health.Rejected and skipped; the connection stays. The
// connection is a gobwas/ws client, the library the server itself is
// built on.
//
// With Config.OnDemand, the feed subscribes to a product's data channels
// only while clients watch its symbol (feed.Watcher).
//
//	products, err := coinbase.ParseProducts("BTC-USD,ETH-USD,DOGE-USD")
//	...
//	f, err := coinbase.New(coinbase.Config{Products: products, Logger: logger})
//	...
//	go func() { errc <- f.Run(ctx, sink) }() // reconnects until ctx ends
package coinbase
