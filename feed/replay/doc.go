// Package replay plays a recording as a feed, and records a feed in the
// same form.
//
// # Format
//
// The input is either NDJSON, one message a line, or CSV of quotes with a
// header row. NDJSON lines are protocol v1 messages where the protocol has
// them, so a client's capture replays as is:
//
//	{"type":"tick","symbol":"AAPL","seq":1042,"price":"187.23","bid":"187.22","ask":"187.24","open":"185.00","high":"188.10","low":"184.90","volume":"1203344","ts":1763718000123456789}
//	{"type":"trade","symbol":"AAPL","seq":88123,"price":"187.24","size":"100","side":"buy","ts":1763718000123456789}
//	{"type":"book","symbol":"BTC-USD","seq":500,"snapshot":true,"bids":[["91549.30","0.52"]],"asks":[["91549.40","1.20"]],"ts":1763718000123456789}
//	{"type":"book","symbol":"BTC-USD","seq":501,"bids":[["91549.30","0"]],"asks":[],"ts":1763718000223456789}
//	{"type":"listed","symbol":"AAPL261218C00190000","class":"option","price_prec":2,"volume_prec":0,"tick_size":"0.01"}
//	{"type":"delisted","symbol":"AAPL261218C00190000","ts":1763718000223456789}
//
// The kinds of line:
//
//   - "tick" is a quote (protocol.Tick); a "snapshot" line plays as one when
//     it is newer than what was played for its symbol, so the snapshots of a
//     capture that re-subscribed are not played twice.
//   - "trade" is a trade (protocol.Trade); one with "replay":true plays when
//     it is newer than what was played.
//   - "book" is what a feed publishes for an order book (protocol.BookUpdate):
//     the whole book with "snapshot":true, or the changed levels, a size of
//     "0" removing one. A symbol's first book line must be a snapshot. The
//     fields of a client's book frames ("depth", "prev_seq", "checksum") are
//     accepted and ignored, so a capture replays its depth of the book.
//   - "listed" lists a symbol while the feed runs (feed.Sink.List) with its
//     precisions, tick size (default: one unit of the last decimal) and
//     class (default: guessed from the name); "delisted", the message a
//     client gets, delists one (feed.Sink.Delist). The Recorder stamps a
//     delisting with the ts of the update before it. Listings do not drive
//     the timing: they play right after the line before them, and
//     consecutive ones reach the sink in one call.
//
// Other message types (replies, pongs, gaps) and blank lines are skipped.
// Files of ticks alone, as earlier versions recorded, are files of this
// format. Every decimal, in NDJSON and CSV, is parsed within the bounds of
// protocol.ParseDecimal, so a number like "1e100000000" is a quick error
// naming its line, never a long computation.
//
// In CSV, columns are named after the tick's fields in any order:
//
//	symbol,seq,price,bid,ask,open,high,low,volume,ts
//	AAPL,1042,187.23,187.22,187.24,185.00,188.10,184.90,1203344,1763718000123456789
//
// symbol, price and ts are required, and the others are derived per symbol
// when absent or empty: seq counts from 1, bid and ask equal the price, open
// is the first price, high and low track the prices seen, volume is 0. ts
// may be an integer Unix time (seconds, milliseconds, microseconds or
// nanoseconds, told apart by size), decimal Unix seconds or RFC 3339.
//
// Open reads the file once up front and rejects it, naming the file and the
// line, if a line is malformed, if a symbol's seq on a channel does not
// grow, if a book starts with changes, or if an update names a symbol that
// is delisted at that point. It learns the symbols and their precision (the
// most decimals seen in each symbol's prices and sizes): Symbols returns
// those whose first line is not a "listed" line; the others are listed as
// the file says.
//
// # Playback
//
// Playback keeps the recorded rhythm at Speed 1, runs k times faster at
// Speed k, and as fast as possible at math.Inf(1). Seqs and prices reach the
// sink exactly as in the file. Loop repeats forever: each pass starts by
// putting the listings back as they were before the first line, then
// publishes the file's seqs unchanged with Epoch set to the pass number (0,
// 1, 2, …). Bumping the epoch, rather than shifting seqs to keep them
// growing, says what happens: the file's first state (a volume back at its
// start, another book) does not continue its last one, so consumers start
// the symbol's seq space over, as after a feed that lost its state.
//
//	r, err := replay.Open("testdata/sample.ndjson", replay.Config{Speed: 10})
//	if err != nil {
//		return err
//	}
//	symbols := r.Symbols()
//	err = r.Run(ctx, sink) // nil at the end of the file, or when ctx ends
//
// Recording is a Sink in front of another one:
//
//	rec := replay.NewRecorder(file, hub) // everything goes to hub, then to file
//	err := market.Run(ctx, rec)
//	rec.Flush()
//
// testdata/sample.ndjson is a 10-second recording of the first ten symbols
// of feed/sim (seed 1, books ten levels deep) at 20 quotes a second, with
// the trades and book updates between them; testdata/sample.csv is a small
// hand-written CSV.
package replay
