// Package replay plays recorded ticks as a feed, and records a feed's ticks
// in the same form.
//
// The input is either NDJSON whose lines are protocol v1 messages, exactly
// what a tickerd client receives (so a client's capture replays as is), or
// CSV with a header row:
//
//	{"type":"tick","symbol":"AAPL","seq":1042,"price":"187.23","bid":"187.22","ask":"187.24","open":"185.00","high":"188.10","low":"184.90","volume":"1203344","ts":1763718000123456789}
//
//	symbol,seq,price,bid,ask,open,high,low,volume,ts
//	AAPL,1042,187.23,187.22,187.24,185.00,188.10,184.90,1203344,1763718000123456789
//
// In NDJSON, "tick" lines play; "snapshot" lines play when they are newer
// than what was played for their symbol; other messages are skipped. In
// CSV, columns are named after the protocol's fields in any order; symbol,
// price and ts are required, and the others are derived per symbol when
// absent or empty: seq counts from 1, bid and ask equal the price, open is
// the first price, high and low track the prices seen, volume is 0. ts may
// be an integer Unix time (seconds, milliseconds, microseconds or
// nanoseconds, told apart by size), decimal Unix seconds or RFC 3339. Open
// reads the file once up front to learn its symbols and their precision (the
// most decimals seen), and rejects a bad line with its file name and line
// number.
//
// Playback keeps the recorded rhythm at Speed 1, runs k times faster at
// Speed k, and as fast as possible at math.Inf(1); Loop repeats forever.
// Seq and prices reach the sink exactly as in the file (on later passes of a
// loop, seq is shifted up so it keeps growing by one).
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
//	rec := replay.NewRecorder(file, hub) // every tick goes to hub, then to file
//	err := market.Run(ctx, rec)
//	rec.Flush()
//
// testdata/sample.ndjson is a 30-second recording of the first ten symbols
// of feed/sim (seed 1) at 20 updates a second; testdata/sample.csv is a
// small hand-written CSV.
package replay
