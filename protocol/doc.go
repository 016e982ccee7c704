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
