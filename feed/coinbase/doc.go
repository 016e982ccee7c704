// Package coinbase is a feed of the public Coinbase Exchange market-data
// WebSocket (wss://ws-feed.exchange.coinbase.com), channel "ticker".
//
// It subscribes to the ticker and heartbeat channels of its products,
// exactly as documented at docs.cdp.coinbase.com/exchange/websocket-feed:
//
//	{"type":"subscribe","channels":[{"name":"heartbeat","product_ids":["BTC-USD","ETH-USD"]},
//	                                {"name":"ticker","product_ids":["BTC-USD","ETH-USD"]}]}
//
// and turns each ticker message into a tick of the symbol mapped from its
// product_id (BTC-USD stays BTC-USD unless Product.Symbol renames it).
// Decimals are parsed from their strings with protocol.ParseDecimal, never
// through float64, and a number beyond its bounds ("1e100000000") rejects
// its message at once; each symbol's precision comes from the product's
// quote_increment and base_increment (a built-in table for common products,
// or given explicitly).
//
// The feed keeps itself up: a connection that fails, or receives nothing
// for Config.IdleTimeout, is dropped and redialled with exponential backoff
// and jitter, and the new connection resubscribes to what is wanted.
// Messages it cannot use are logged, counted in Health.Rejected and
// skipped; the connection stays. The connection is a gobwas/ws client, the
// library the server itself is built on. Stale tickers (an
// upstream sequence not above the last one) are dropped. Gaps — a heartbeat
// announcing a trade that no ticker covered by the next heartbeat — are
// counted and logged. Health reports all of it.
//
// With Config.OnDemand, the feed subscribes to a product's ticker only while
// clients watch its symbol (feed.Watcher).
//
//	products, err := coinbase.ParseProducts("BTC-USD,ETH-USD,DOGE-USD")
//	...
//	f, err := coinbase.New(coinbase.Config{Products: products, Logger: logger})
//	...
//	go func() { errc <- f.Run(ctx, sink) }() // reconnects until ctx ends
package coinbase
