// Package protocol is tickerd's wire protocol, version 1: the message types
// and their JSON encoding and decoding. It starts no goroutines and does no
// I/O; everything is safe for concurrent use.
//
// Each WebSocket text frame carries one JSON object.
//
// # Client to server
//
//	{"op":"subscribe","symbols":["AAPL","BTC-USD"],"id":1}
//	{"op":"unsubscribe","symbols":["AAPL"],"id":2}
//	{"op":"list","id":3}
//	{"op":"ping","id":4}
//	{"op":"auth","token":"eyJhbGciOi…","id":5}
//
// The "id" is optional. It is a JSON number or string, and the reply echoes
// it exactly as sent (`1` stays `1`, `"a"` stays `"a"`, `1e3` stays `1e3`).
// "auth" is for browsers, which cannot set headers on a WebSocket request.
// Connecting to /ws?symbols=AAPL,MSFT subscribes at connect time.
//
// # Server to client
//
//	{"type":"limits","max_message_bytes":65536,"max_symbols":1000,"max_request_symbols":1000,"messages_per_second":20,"burst":40,"ping_interval_ms":30000,"backlog_timeout_ms":30000,"auth":false}
//	{"type":"subscribed","id":1,"symbols":["AAPL","BTC-USD"]}
//	{"type":"snapshot","symbol":"AAPL","seq":1042,"price":"187.23","bid":"187.22","ask":"187.24","open":"185.00","high":"188.10","low":"184.90","volume":"1203344","ts":1763718000123456789}
//	{"type":"tick","symbol":"AAPL","seq":1043,"price":"187.24","bid":"187.23","ask":"187.25","open":"185.00","high":"188.10","low":"184.90","volume":"1203400","ts":1763718000223456789}
//	{"type":"unsubscribed","id":2,"symbols":["AAPL"]}
//	{"type":"symbols","id":3,"symbols":["AAPL","BTC-USD","MSFT"]}
//	{"type":"pong","id":4,"ts":1763718000123456789}
//	{"type":"error","id":1,"code":"unknown_symbol","message":"unknown symbol: XYZ","symbols":["XYZ"]}
//	{"type":"authenticated","id":5,"subject":"alice","expires":1763721600000000000}
//
// "limits" is the first message on every connection: the server's limits
// for this client (ServerLimits). "authenticated" answers a good "auth".
// A subscriber first gets a "snapshot" per symbol, then a "tick" per update.
// Both carry the full state of the symbol in the same field order, so a
// snapshot is a tick with another prefix (SnapshotFromTick). "seq" counts
// updates per symbol at the feed; a client that sees it jump knows updates
// were merged (conflated) and its view is still correct. "ts" is the feed's
// event time in Unix nanoseconds; in "pong" it is the server's clock. Fields
// may be added in later versions, so readers ignore fields they do not know
// (DecodeTick does). Replies without an id leave "id" out; "error" leaves
// "symbols" out when it is about none.
//
// # Prices and precision
//
// Prices and volume are decimal strings, never JSON numbers, so no float
// rounding can creep in. Every symbol has a fixed precision: Tick.PricePrec
// digits after the point for price, bid, ask, open, high and low, and
// Tick.VolumePrec for volume. The encoder always writes exactly that many
// ("185.00", not "185"; "0.00" for zero; no point when the precision is 0),
// with '-' for negatives, never an exponent and never "-0". A value with
// more decimals than the precision is rounded half away from zero, like
// decimal.Decimal.StringFixed. DecodeTick reads the precisions back from the
// number of decimals in "price" and "volume", so encoding what it decoded
// gives the same bytes.
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
// # Requests
//
// DecodeRequest is strict and bounded (Limits): one JSON object in valid
// UTF-8, only the fields op, id, symbols and token, each once; no trailing
// data. Symbols are 1 to 32 bytes (Limits.MaxSymbolLen) of printable ASCII
// without spaces, quotes, backslashes or commas; duplicates are dropped. The first problem
// found decides the error, and the id is echoed whenever it could be read,
// even if it comes after the problem.
//
// # Errors
//
// Codes (type Code):
//
//	bad_request       malformed JSON, wrong types, unknown or repeated fields, bad symbol names
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
// # Usage
//
// Encode each update once and send the same bytes to every subscriber:
//
//	buf = protocol.AppendTick(buf[:0], &tick) // no allocation once buf has grown
//	snap := protocol.SnapshotFromTick(nil, buf)
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
//		reply = protocol.AppendSubscribed(reply[:0], req.ID, subscribed)
//	case protocol.OpPing:
//		reply = protocol.AppendPong(reply[:0], req.ID, time.Now().UnixNano())
//	}
//
// Clients read market data with DecodeTick, or with ScanTick when they only
// need the type, symbol, seq and ts (load testers: it does not allocate).
// AppendRequest writes requests.
package protocol
