// Package protocol is tickerd's wire protocol, version 1: the message types
// and their JSON encoding and decoding. It starts no goroutines and does no
// I/O; everything is safe for concurrent use.
//
// Each WebSocket text frame carries one JSON object. A client subscribes
// to symbols on a channel: quotes (the full state of a symbol, the latest
// value wins), trades (every print, in order), candles (OHLCV per interval)
// or book (the L2 order book).
//
// # Client to server
//
//	{"op":"subscribe","symbols":["AAPL","BTC-USD"],"id":1}
//	{"op":"unsubscribe","symbols":["AAPL"],"id":2}
//	{"op":"list","id":3}
//	{"op":"ping","id":4}
//	{"op":"auth","token":"eyJhbGciOi…","id":5}
//	{"op":"subscribe","channel":"quotes","symbols":["AAPL"],"max_rate":1,"id":6}
//	{"op":"subscribe","channel":"trades","symbols":["AAPL"],"since":{"AAPL":88100},"id":7}
//	{"op":"subscribe","channel":"candles","interval":"1m","symbols":["AAPL"],"id":8}
//	{"op":"subscribe","channel":"book","symbols":["BTC-USD"],"depth":10,"id":9}
//	{"op":"unsubscribe","channel":"trades","symbols":["AAPL"],"id":10}
//	{"op":"search","prefix":"AA","limit":50,"id":11}
//
// The "id" is optional. It is a JSON number or string, and the reply echoes
// it exactly as sent (`1` stays `1`, `"a"` stays `"a"`, `1e3` stays `1e3`).
// "auth" is for browsers, which cannot set headers on a WebSocket request.
// Connecting to /ws?symbols=AAPL,MSFT subscribes to their quotes at connect
// time.
//
// The other fields go only where they mean something; anywhere else they
// are a bad_request:
//
//	channel   subscribe, unsubscribe: "quotes" (the default), "trades", "candles" or "book"
//	since     subscribe to trades: {symbol: the last trade seq the client has}, for symbols of the request
//	interval  subscribe, unsubscribe to candles, where it is required: "1s", "1m", "5m" or "1h"
//	depth     subscribe to book: 10 (the default), 50 or 200
//	max_rate  subscribe to quotes, candles or book: updates per second per symbol, 0.1 to 1000
//	prefix    search: the start of the symbol names wanted, possibly empty
//	limit     search: how many names at most, 1 to 500 (default 50)
//
// A connection holds one subscription per (symbol, channel), per interval
// for candles. A subscribe that names symbols already subscribed on the
// channel updates the subscription: a new max_rate takes effect at once
// (leaving it out removes the cap); a book subscribe with another depth
// replaces the book subscription, and a fresh snapshot follows. An
// unsubscribe of a book needs no depth.
//
// # Server to client
//
//	{"type":"limits","max_message_bytes":65536,"max_symbols":1000,"max_request_symbols":1000,"messages_per_second":20,"burst":40,"ping_interval_ms":30000,"backlog_timeout_ms":30000,"auth":false,"channels":["quotes","trades","candles","book"],"max_rate":0,"trade_history":10000,"trade_history_ms":300000,"candle_history":500,"book_depths":[10,50,200],"compression":true}
//	{"type":"subscribed","id":1,"symbols":["AAPL","BTC-USD"]}
//	{"type":"snapshot","symbol":"AAPL","seq":1042,"price":"187.23","bid":"187.22","ask":"187.24","open":"185.00","high":"188.10","low":"184.90","volume":"1203344","ts":1763718000123456789}
//	{"type":"tick","symbol":"AAPL","seq":1043,"price":"187.24","bid":"187.23","ask":"187.25","open":"185.00","high":"188.10","low":"184.90","volume":"1203400","ts":1763718000223456789}
//	{"type":"unsubscribed","id":2,"symbols":["AAPL"]}
//	{"type":"symbols","id":3,"symbols":["AAPL","BTC-USD","MSFT"]}
//	{"type":"pong","id":4,"ts":1763718000123456789}
//	{"type":"error","id":1,"code":"unknown_symbol","message":"unknown symbol: XYZ","symbols":["XYZ"]}
//	{"type":"authenticated","id":5,"subject":"alice","expires":1763721600000000000}
//	{"type":"subscribed","id":7,"channel":"trades","symbols":["AAPL"]}
//	{"type":"trade","symbol":"AAPL","seq":88101,"price":"187.22","size":"300","side":"sell","ts":1763718000023456789,"replay":true}
//	{"type":"trade","symbol":"AAPL","seq":88123,"price":"187.24","size":"100","side":"buy","ts":1763718000123456789}
//	{"type":"gap","channel":"trades","symbol":"AAPL","from":88124,"to":88130}
//	{"type":"subscribed","id":8,"channel":"candles","interval":"1m","symbols":["AAPL"]}
//	{"type":"subscribed","id":9,"channel":"book","symbols":["BTC-USD"],"depth":10}
//	{"type":"unsubscribed","id":10,"channel":"trades","symbols":["AAPL"]}
//	{"type":"search","id":11,"prefix":"AA","symbols":["AAL","AAPL"],"more":false}
//	{"type":"reset","channel":"trades","symbol":"AAPL","epoch":2}
//	{"type":"delisted","symbol":"AAPL261218C00190000","ts":1763718000123456789}
//
// "limits" is the first message on every connection: the server's limits
// for this client (ServerLimits), including the channels it carries, its
// own cap on max_rate (0: none), how many trades and for how long it keeps
// per symbol for "since", how many closed candles a candles subscribe
// starts with, the book depths offered and whether permessage-deflate can
// be negotiated. "authenticated" answers a good "auth". A subscribe is
// answered with "subscribed" naming the symbols subscribed; symbols it
// could not subscribe get an "error" after it. Replies without an id leave
// "id" out; "error" leaves "symbols" out when it is about none. "ts" is
// the feed's event time in Unix nanoseconds; in "pong" it is the server's
// clock.
//
// Every message type has a fixed field order, the one shown; the encoders
// (AppendTick, AppendTrade, AppendGap, …) write it, and readers should
// accept any order. Fields and message types may be added in later
// versions, so readers ignore fields and types they do not know (the
// decoders here do).
//
// # Quotes
//
// A quote subscriber first gets a "snapshot" per symbol, then a "tick" per
// update. Both carry the full state of the symbol in the same field order,
// so a snapshot is a tick with another prefix (SnapshotFromTick). "seq"
// counts updates per symbol at the feed. Quotes merge: a client that keeps
// up gets every update in order; one that falls behind, or that asked for
// a max_rate, gets the latest value of each symbol, and a seq that jumps
// tells it updates were merged (its view is still correct).
//
// # Trades
//
// Trades never merge. "seq" is per symbol and contiguous, +1 per trade, so
// a client that sees a hole knows it lost something, and the server never
// makes one silently: when it cannot deliver trades (the client fell
// further behind than its budget, the history no longer holds what "since"
// asked for, or the feed itself missed trades) it sends a "gap" naming the
// inclusive range of seqs missed, and continues after it. "side" is the
// aggressor side: "buy", "sell", or "" when the venue does not say. "size"
// has the symbol's volume precision.
//
// A trades subscribe with "since" resumes a tape after a reconnect: for
// each symbol named, the client first gets every later trade the server's
// history holds, each with "replay":true (ReplayFromTrade), then the live
// ones; a gap names what the history no longer holds. The history is kept
// per symbol (limits: trade_history trades or trade_history_ms, whichever
// is less), once per server, not per connection. A client resumes by
// remembering the last seq it got per symbol.
//
// max_rate does not go with trades: a rate cap would have to merge prints,
// which this channel never does, or queue them without bound.
//
// # Rates
//
// "max_rate" caps the updates per second per symbol of one subscription,
// from 0.1 to 1000; absent, updates come as fast as they happen (the
// server's cap in "limits" aside). Each update sent is the latest value,
// and it is never older than 1/max_rate plus one delivery pass. For books
// it limits how often deltas are sent (merged deltas, or a snapshot). The
// rate is changed live by subscribing again to the same symbols with the
// new max_rate.
//
// # Search
//
// "search" answers with the server's symbols whose names start with
// "prefix", in byte order, at most "limit" of them; "more" says whether
// more matched. It serves universes far too large to list.
//
// # Listings, delistings and resets
//
// Symbols are listed and delisted while the server runs. A delisted
// symbol's subscribers get one "delisted" message: every subscription of
// the connection to that symbol has ended, on every channel; "list" and
// "search" no longer name it, and subscribing to it is an unknown_symbol.
//
// A "reset" says that the seq space of a symbol's channel started over:
// the feed lost its state and counts from a lower seq, in a new "epoch".
// A quote or book subscriber gets a snapshot after it; a trade subscriber
// gets the new epoch's trades and must forget the seq it would have
// resumed from.
//
// # Prices and precision
//
// Prices, sizes and volume are decimal strings, never JSON numbers, so no
// float rounding can creep in. Every symbol has a fixed precision: digits
// after the point for prices (Tick.PricePrec, Trade.PricePrec) and for
// volumes and sizes (Tick.VolumePrec, Trade.SizePrec). The encoder always
// writes exactly that many ("185.00", not "185"; "0.00" for zero; no point
// when the precision is 0), with '-' for negatives, never an exponent and
// never "-0". A value with more decimals than the precision is rounded
// half away from zero, like decimal.Decimal.StringFixed. DecodeTick and
// DecodeTrade read the precisions back from the number of decimals, so
// encoding what they decoded gives the same bytes.
//
// Feeds parse every decimal they receive with ParseDecimal, or ParseFixed
// for fixed point (book levels): both accept the usual forms ("187.24",
// "-0.5", "1.5e-3") and reject, at once and with an error naming the
// input, anything beyond MaxDecimalDigits significant digits or an
// exponent of MaxDecimalExponent, such as "1e100000000". AppendFixed
// writes fixed point back.
//
// # Candles
//
//	{"op":"subscribe","channel":"candles","interval":"1m","symbols":["AAPL"],"id":7}
//	{"type":"subscribed","id":7,"channel":"candles","interval":"1m","symbols":["AAPL"]}
//	{"type":"candles","symbol":"AAPL","interval":"1m","candles":[{"start":1763717940000000000,"open":"187.02","high":"187.12","low":"186.98","close":"187.10","volume":"11873","trades":49,"closed":true},{"start":1763718000000000000,"open":"187.10","high":"187.40","low":"187.00","close":"187.24","volume":"12033","trades":57,"closed":false}]}
//	{"type":"candle","symbol":"AAPL","interval":"1m","start":1763718000000000000,"open":"187.10","high":"187.40","low":"187.00","close":"187.24","volume":"12033","trades":57,"closed":false}
//
// A candle sums up a symbol's trades whose ts falls in [start,
// start+interval), in Unix nanoseconds, start a multiple of the interval
// ("1s", "1m", "5m" or "1h"): "open" is the first trade's price, "high"
// and "low" the extremes, "close" the last price, "volume" the sum of the
// sizes and "trades" their count. Prices have the symbol's price precision
// and volume its size precision, as in a trade. The node that has the feed
// builds candles from its trades; every edge sends the same frames.
//
// A subscriber first gets "candles": the last closed candles, oldest first
// (500 by default, or as many as exist), then the open one, if any; the
// elements have the fields of "candle" from "start" on. Then it gets a
// "candle" whenever the open candle changes, at most every 250 ms, and
// once more with "closed":true when its interval has ended. A candle frame
// is the latest state of the candle its "start" names, so it has no seq:
// a client keeps candles by start, each frame replacing the one with the
// same start, and an update merged away leaves nothing to fill in; a
// closed frame is final and never merged away. An interval without trades
// has no candle (a gap in the chart).
//
// A candle closes when its symbol trades past its end, or when the
// server's clock (the largest trade ts, running on with the wall clock
// while the feed is quiet) passes its end by half a second; a trade that
// arrives after its candle has closed is left out of it. After a "reset"
// of a symbol's trades, its candles start afresh: a candle may come again
// with a start already sent as closed, and replaces it.
//
// # Order books
//
// A "book" subscriber holds one depth's view of a symbol's L2 order book:
// the best 10, 50 or 200 levels of each side. It gets a snapshot of the
// view first, then deltas:
//
//	{"type":"book","symbol":"BTC-USD","depth":10,"seq":500,"snapshot":true,"bids":[["91549.30","0.52"],["91549.20","1.00"]],"asks":[["91549.40","1.20"],["91549.45","0.80"]],"checksum":624224893,"ts":1763718000123456789}
//	{"type":"book","symbol":"BTC-USD","depth":10,"seq":501,"prev_seq":500,"bids":[["91549.30","0"]],"asks":[],"checksum":2036543682,"ts":1763718000223456789}
//
// Levels are [price, size] pairs of decimal strings at the symbol's
// precision, bids best (highest) first and asks best (lowest) first. A
// delta lists the levels of the view that changed: a new size, size "0"
// for a level that left the view (removed, or pushed below the top N),
// and the full size of a level that entered it (added, or pulled up when
// others left). A client that holds exactly the view at "prev_seq" and
// applies a delta holds exactly the server's view at "seq". "seq" names
// the view: the feed seq of the last update that changed it, so updates
// that leave a view alone send it nothing and seq may jump. The server
// never sends a client a delta whose prev_seq is not the seq it last
// sent it; a client that falls behind gets a fresh snapshot instead. "ts"
// is the event time of the update at seq.
//
// "checksum" lets the client verify its view after every message. It is
// Kraken's book checksum (BookChecksum) of the top 10 levels of each side
// after the message: the asks best first, then the bids best first, each
// level's price string followed by its size string, each with the point
// removed and then its leading zeros; the CRC-32 (IEEE) of the
// concatenation, unsigned. For the snapshot above:
//
//	asks  "91549.40" "1.20"  ->  "9154940" "120"
//	      "91549.45" "0.80"  ->  "9154945" "80"
//	bids  "91549.30" "0.52"  ->  "9154930" "52"
//	      "91549.20" "1.00"  ->  "9154920" "100"
//	CRC-32("91549401209154945809154930529154920100") = 624224893
//
// After the delta the bid at 91549.30 is gone, and the checksum is the
// CRC-32 of "91549401209154945809154920100", 2036543682. Kraken's own
// example ("Book checksum (WebSocket v2)" at docs.kraken.com) gives
// Kraken's published 3310070434 (TestBookChecksumKraken).
//
// AppendBook writes book messages; DecodeBook reads them, strictly, for
// clients; internal/book's Mirror keeps a view from them and verifies
// every checksum.
//
// # Requests
//
// DecodeRequest is strict and bounded (Limits): one JSON object in valid
// UTF-8, only the fields above, each once and where it belongs; no
// trailing data. Symbols are 1 to 32 bytes (Limits.MaxSymbolLen) of
// printable ASCII without spaces, quotes, backslashes or commas;
// duplicates are dropped. The first problem found decides the error, and
// the id is echoed whenever it could be read, even if it comes after the
// problem. Its work is linear in the request's size.
//
// # Errors
//
// Codes (type Code):
//
//	bad_request       malformed JSON, wrong types, unknown, misplaced or repeated fields, bad symbol names or values
//	unknown_op        "op" names no operation
//	unknown_symbol    the server does not carry the symbol; a subscribe subscribes the others
//	too_many_symbols  more symbols than one request or one connection may have
//	rate_limited      requests come too fast
//	forbidden_symbol  the client may not see the symbol
//	unauthorized      missing or invalid credentials
//	message_too_big   over the size limit (default 64 KiB)
//
// A bad request gets an "error" reply and the connection stays open. Only
// protocol violations of RFC 6455 and oversized messages close it (1002,
// 1007, 1009); the server also closes with 1001 on shutdown, 1008 "slow
// consumer" when a client falls behind for too long, 1008 for a client that
// floods requests or fails to authenticate, and 4001 when its token expires.
//
// # Compatibility
//
// The channels extend version 1 without changing it for quote clients: a
// subscribe without "channel" is a quote subscribe, and the replies to it
// and the snapshots and ticks after it are byte for byte what they were
// before channels existed. New fields of "limits" follow the old ones. The
// only new messages a quote client can get are "delisted" and "reset",
// which a client that ignores unknown types can ignore: no ticks follow a
// delisting, and a snapshot follows a reset.
//
// # Usage
//
// Encode each update once and send the same bytes to every subscriber:
//
//	buf = protocol.AppendTick(buf[:0], &tick) // no allocation once buf has grown
//	snap := protocol.SnapshotFromTick(nil, buf)
//	live = protocol.AppendTrade(live[:0], &trade)
//	replay := protocol.ReplayFromTrade(nil, live)
//
// Decode a client frame and reply:
//
//	req, perr := protocol.DecodeRequest(frame, protocol.Limits{})
//	if perr != nil {
//		reply = protocol.AppendError(reply[:0], perr.ID, perr.Code, perr.Message, perr.Symbols)
//		return
//	}
//	switch req.Op {
//	case protocol.OpSubscribe:
//		reply = protocol.AppendSubscribed(reply[:0], req.ID, req.Stream(), subscribed)
//	case protocol.OpPing:
//		reply = protocol.AppendPong(reply[:0], req.ID, time.Now().UnixNano())
//	}
//
// Clients write requests with AppendRequest and read market data with
// DecodeTick and DecodeTrade, or with ScanTick and ScanTrade when they only
// need the type, symbol, seq and ts (load testers: they do not allocate).
// DecodeEvent reads the replies and the gap, reset and delisted notices.
package protocol
