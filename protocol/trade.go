package protocol

import (
	"fmt"
	"strconv"
)

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

// Fields of a trade message, in wire order.
var tradeFields = [...]string{"type", "symbol", "seq", "price", "size", "side", "ts", "replay"}

const (
	trType = iota
	trSymbol
	trSeq
	trPrice
	trSize
	trSide
	trTS
	trReplay // the only optional one
)

// DecodeTrade parses a "trade" message strictly, as DecodeTick does a tick:
// one JSON object, every field but "replay" present once, seq an unsigned
// and ts a signed integer, price and size decimal strings in canonical form,
// side "buy", "sell" or "", replay a boolean. Fields it does not know are
// skipped. It sets PricePrec and SizePrec from the decimals of "price" and
// "size", so AppendTrade of the result (and ReplayFromTrade of that, for a
// replayed trade) gives back canonical input byte for byte. Epoch is not on
// the wire and stays 0.
func DecodeTrade(data []byte) (t Trade, replay bool, err error) {
	var vals [len(tradeFields)]token
	seen, err := readObject(data, tradeFields[:], vals[:])
	if err == nil {
		err = missingField(seen, 1<<trReplay-1, tradeFields[:])
	}
	if err != nil {
		return t, false, fmt.Errorf("protocol: trade: %w", err)
	}
	bad := func(f int, want string) (Trade, bool, error) {
		v := vals[f]
		return Trade{}, false, fmt.Errorf("protocol: trade: %s %s is not %s", tradeFields[f], snippet(data[v.start:v.end]), want)
	}
	if v := vals[trType]; v.kind != kindString || !stringIs(data, v, "trade") {
		return bad(trType, `"trade"`)
	}
	var ok bool
	if t.Symbol, ok = symbolValue(data, vals[trSymbol]); !ok {
		return bad(trSymbol, "a non-empty string")
	}
	if t.Seq, ok = parseUint(data, vals[trSeq]); !ok {
		return bad(trSeq, "an unsigned 64-bit integer")
	}
	if t.Price, t.PricePrec, ok = decimalValue(data, vals[trPrice]); !ok {
		return bad(trPrice, "a decimal string")
	}
	if t.Size, t.SizePrec, ok = decimalValue(data, vals[trSize]); !ok {
		return bad(trSize, "a decimal string")
	}
	v := vals[trSide]
	side, ok := 0, v.kind == kindString
	if ok {
		side, ok = matchName(data, v, sideNames[:])
	}
	if !ok {
		return bad(trSide, `"buy", "sell" or ""`)
	}
	t.Side = Side(side)
	if t.TS, ok = parseInt(data, vals[trTS]); !ok {
		return bad(trTS, "a 64-bit integer")
	}
	if v := vals[trReplay]; seen&(1<<trReplay) != 0 {
		if v.kind != kindBool {
			return bad(trReplay, "true or false")
		}
		replay = data[v.start] == 't'
	}
	return t, replay, nil
}

// ScanTrade is the zero-allocation fast path for load testers: it finds the
// "symbol", "seq" and "ts" fields of a "trade" message and whether it is
// replayed, without decoding the decimals. symbol aliases data and is the
// raw string content (symbols never have escapes). ok is false if data is
// not a trade or one of the fields is missing or malformed. Like ScanTick
// it does not validate the rest; use DecodeTrade for that.
func ScanTrade(data []byte) (symbol []byte, seq uint64, ts int64, replay, ok bool) {
	if len(data) > len(TradePrefix) && string(data[:len(TradePrefix)]) == TradePrefix {
		rest := data[len(TradePrefix):]
		end := "}"
		if replay = len(rest) > len(ReplaySuffix) && string(rest[len(rest)-len(ReplaySuffix):]) == ReplaySuffix; replay {
			end = ReplaySuffix
		}
		if symbol, seq, ts, ok = scanLayout(rest, end); ok {
			return symbol, seq, ts, replay, true
		}
	}
	_, symbol, seq, ts, replay, ok = scanMembers(data, [2]string{"trade", "trade"}, true)
	return symbol, seq, ts, replay, ok
}
