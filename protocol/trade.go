package protocol

import "strconv"

// Prefix and ending of trade messages. Every AppendTrade output starts with
// TradePrefix; a replayed trade (sent to resume a "since") ends with
// ReplaySuffix instead of the closing brace.
const (
	TradePrefix  = `{"type":"trade",`
	ReplaySuffix = `,"replay":true}`
)

// AppendTrade appends t as a "trade" message to dst and returns the
// extended slice:
//
//	{"type":"trade","symbol":"AAPL","seq":88123,"price":"187.24","size":"100","side":"buy","ts":1763718000123456789}
//
// Price is written with t.PricePrec decimals and Size with t.SizePrec; an
// unknown side is "". It does not allocate when dst has room, except for
// decimals whose coefficient does not fit an int64 (see appendDecimal).
func AppendTrade(dst []byte, t *Trade) []byte {
	dst = appendSymbolSeq(append(dst, TradePrefix...), t.Symbol, t.Seq)
	dst = append(dst, `,"price":"`...)
	dst = appendDecimal(dst, t.Price, t.PricePrec)
	dst = append(dst, `","size":"`...)
	dst = appendDecimal(dst, t.Size, t.SizePrec)
	dst = append(dst, `","side":"`...)
	dst = append(dst, t.Side.String()...)
	dst = append(dst, `","ts":`...)
	dst = strconv.AppendInt(dst, t.TS, 10)
	return append(dst, '}')
}

// ReplayFromTrade appends the replay form of the trade message trade to
// dst: the same bytes with ReplaySuffix in place of the closing brace. A
// trade history keeps the live bytes and derives the replay form by copying
// them. A message already in replay form is appended unchanged; anything
// else (a message not written by AppendTrade) appends nothing: callers can
// compare lengths.
func ReplayFromTrade(dst, trade []byte) []byte {
	n := len(trade)
	switch {
	case n <= len(TradePrefix)+len(ReplaySuffix) || string(trade[:len(TradePrefix)]) != TradePrefix || trade[n-1] != '}':
		return dst
	case string(trade[n-len(ReplaySuffix):]) == ReplaySuffix:
		return append(dst, trade...)
	}
	dst = append(dst, trade[:n-1]...)
	return append(dst, ReplaySuffix...)
}
