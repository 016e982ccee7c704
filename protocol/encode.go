package protocol

import (
	"iter"
	"math"
	"slices"
	"strconv"
	"unicode/utf8"
)

// Prefixes of the two market-data messages. Every AppendTick output starts
// with TickPrefix and every AppendSnapshot output with SnapshotPrefix; the
// rest of the two is identical.
const (
	TickPrefix     = `{"type":"tick",`
	SnapshotPrefix = `{"type":"snapshot",`
)

// AppendTick appends t as a "tick" message to dst and returns the extended
// slice. It does not allocate when dst has room, except for prices whose
// coefficient does not fit an int64 (see appendDecimal).
func AppendTick(dst []byte, t *Tick) []byte {
	return appendTickFields(append(dst, TickPrefix...), t)
}

// AppendSnapshot appends t as a "snapshot" message to dst.
func AppendSnapshot(dst []byte, t *Tick) []byte {
	return appendTickFields(append(dst, SnapshotPrefix...), t)
}

func appendTickFields(dst []byte, t *Tick) []byte {
	dst = appendSymbolSeq(dst, t.Symbol, t.Seq)
	dst = append(dst, `,"price":"`...)
	dst = appendDecimal(dst, t.Price, t.PricePrec)
	dst = append(dst, `","bid":"`...)
	dst = appendDecimal(dst, t.Bid, t.PricePrec)
	dst = append(dst, `","ask":"`...)
	dst = appendDecimal(dst, t.Ask, t.PricePrec)
	dst = append(dst, `","open":"`...)
	dst = appendDecimal(dst, t.Open, t.PricePrec)
	dst = append(dst, `","high":"`...)
	dst = appendDecimal(dst, t.High, t.PricePrec)
	dst = append(dst, `","low":"`...)
	dst = appendDecimal(dst, t.Low, t.PricePrec)
	dst = append(dst, `","volume":"`...)
	dst = appendDecimal(dst, t.Volume, t.VolumePrec)
	dst = append(dst, `","ts":`...)
	dst = strconv.AppendInt(dst, t.TS, 10)
	return append(dst, '}')
}

// appendSymbolSeq appends the "symbol" and "seq" fields that market-data
// messages start with, after their type.
func appendSymbolSeq(dst []byte, symbol string, seq uint64) []byte {
	dst = append(dst, `"symbol":`...)
	dst = AppendString(dst, symbol)
	dst = append(dst, `,"seq":`...)
	return strconv.AppendUint(dst, seq, 10)
}

// SnapshotFromTick appends the snapshot form of the tick message tick to dst:
// the same bytes with TickPrefix replaced by SnapshotPrefix, so the result is
// exactly what AppendSnapshot gives for the same Tick. A message that already
// starts with SnapshotPrefix is appended unchanged. Anything else (a message
// not written by AppendTick) appends nothing: callers can compare lengths.
func SnapshotFromTick(dst, tick []byte) []byte {
	switch {
	case len(tick) > len(TickPrefix) && string(tick[:len(TickPrefix)]) == TickPrefix:
		dst = append(dst, SnapshotPrefix...)
		return append(dst, tick[len(TickPrefix):]...)
	case len(tick) > len(SnapshotPrefix) && string(tick[:len(SnapshotPrefix)]) == SnapshotPrefix:
		return append(dst, tick...)
	}
	return dst
}

// AppendSubscribed appends the reply to a subscribe request. id is the raw
// JSON of the request's id (Request.ID) or nil to leave it out; st is what
// was subscribed to (Request.Stream). For the quote channel the reply has
// no "channel":
//
//	{"type":"subscribed","id":1,"symbols":["AAPL"]}
//	{"type":"subscribed","id":7,"channel":"candles","interval":"1m","symbols":["AAPL"]}
//	{"type":"subscribed","id":9,"channel":"book","symbols":["BTC-USD"],"depth":10}
func AppendSubscribed(dst []byte, id []byte, st Stream, symbols []string) []byte {
	return appendStreamReply(dst, "subscribed", id, st, symbols)
}

// AppendUnsubscribed appends the reply to an unsubscribe request, in the
// shape of AppendSubscribed's.
func AppendUnsubscribed(dst []byte, id []byte, st Stream, symbols []string) []byte {
	return appendStreamReply(dst, "unsubscribed", id, st, symbols)
}

func appendStreamReply(dst []byte, typ string, id []byte, st Stream, symbols []string) []byte {
	dst = appendReplyStart(dst, typ, id)
	dst = appendChannel(dst, st)
	dst = appendSymbolsField(dst, symbols)
	if st.Channel == ChannelBook && st.Depth != 0 {
		dst = append(dst, `,"depth":`...)
		dst = strconv.AppendInt(dst, int64(st.Depth), 10)
	}
	return append(dst, '}')
}

// appendChannel appends the "channel" field, and "interval" for candles;
// nothing for quotes.
func appendChannel(dst []byte, st Stream) []byte {
	if st.Channel == ChannelQuotes {
		return dst
	}
	dst = append(dst, `,"channel":`...)
	dst = AppendString(dst, st.Channel.String())
	if st.Channel == ChannelCandles {
		dst = append(dst, `,"interval":`...)
		dst = AppendString(dst, st.Interval.String())
	}
	return dst
}

// AppendSearch appends the reply to a search request: the symbols whose
// names start with prefix, and whether more matched than were sent.
//
//	{"type":"search","id":11,"prefix":"AA","symbols":["AAL","AAPL"],"more":false}
func AppendSearch(dst []byte, id []byte, prefix string, symbols []string, more bool) []byte {
	dst = appendReplyStart(dst, "search", id)
	dst = append(dst, `,"prefix":`...)
	dst = AppendString(dst, prefix)
	dst = appendSymbolsField(dst, symbols)
	dst = append(dst, `,"more":`...)
	dst = strconv.AppendBool(dst, more)
	return append(dst, '}')
}

// AppendGap appends a "gap" message: the subscriber missed the messages of
// the channel for symbol with seqs from to to, inclusive, and the next one
// it gets is to+1.
//
//	{"type":"gap","channel":"trades","symbol":"AAPL","from":88101,"to":88110}
func AppendGap(dst []byte, ch Channel, symbol string, from, to uint64) []byte {
	dst = appendEventStart(dst, "gap", ch, symbol)
	dst = append(dst, `,"from":`...)
	dst = strconv.AppendUint(dst, from, 10)
	dst = append(dst, `,"to":`...)
	dst = strconv.AppendUint(dst, to, 10)
	return append(dst, '}')
}

// AppendReset appends a "reset" message: the seq space of the channel for
// symbol restarted at epoch (the feed lost its state), so seqs start over.
//
//	{"type":"reset","channel":"trades","symbol":"AAPL","epoch":2}
func AppendReset(dst []byte, ch Channel, symbol string, epoch uint64) []byte {
	dst = appendEventStart(dst, "reset", ch, symbol)
	dst = append(dst, `,"epoch":`...)
	dst = strconv.AppendUint(dst, epoch, 10)
	return append(dst, '}')
}

// appendEventStart appends `{"type":"<typ>","channel":…,"symbol":…`. typ
// needs no escaping.
func appendEventStart(dst []byte, typ string, ch Channel, symbol string) []byte {
	dst = append(dst, `{"type":"`...)
	dst = append(dst, typ...)
	dst = append(dst, `","channel":`...)
	dst = AppendString(dst, ch.String())
	dst = append(dst, `,"symbol":`...)
	return AppendString(dst, symbol)
}

// AppendDelisted appends a "delisted" message: symbol is gone and every
// subscription of the connection to it has ended. ts is when, in Unix
// nanoseconds.
//
//	{"type":"delisted","symbol":"AAPL261218C00190000","ts":1763718000123456789}
func AppendDelisted(dst []byte, symbol string, ts int64) []byte {
	dst = append(dst, `{"type":"delisted","symbol":`...)
	dst = AppendString(dst, symbol)
	dst = append(dst, `,"ts":`...)
	dst = strconv.AppendInt(dst, ts, 10)
	return append(dst, '}')
}

// AppendSymbols appends the reply to a list request.
func AppendSymbols(dst []byte, id []byte, symbols []string) []byte {
	dst = appendReplyStart(dst, "symbols", id)
	return append(appendSymbolsField(dst, symbols), '}')
}

// AppendSymbolsSeq is AppendSymbols with the names from a sequence, which
// it ranges over twice: once to grow dst, once to append them. Unlike
// AppendSymbols it allocates (a few closures), once a call.
func AppendSymbolsSeq(dst []byte, id []byte, symbols iter.Seq[string]) []byte {
	n := len(`,"symbols":[]}`)
	for s := range symbols {
		n += len(s) + 3
	}
	dst = appendReplyStart(slices.Grow(dst, len(`{"type":"symbols","id":}`)+len(id)+n), "symbols", id)
	dst = append(dst, `,"symbols":[`...)
	sep := false
	for s := range symbols {
		dst = appendSymbol(dst, s, sep)
		sep = true
	}
	return append(dst, "]}"...)
}

// AppendPong appends the reply to a ping request; ts is the server's time in
// Unix nanoseconds.
func AppendPong(dst []byte, id []byte, ts int64) []byte {
	dst = appendReplyStart(dst, "pong", id)
	dst = append(dst, `,"ts":`...)
	dst = strconv.AppendInt(dst, ts, 10)
	return append(dst, '}')
}

// AppendError appends an "error" message. The "symbols" field is left out
// when symbols is empty.
func AppendError(dst []byte, id []byte, code Code, message string, symbols []string) []byte {
	dst = appendReplyStart(dst, "error", id)
	dst = append(dst, `,"code":`...)
	dst = AppendString(dst, string(code))
	dst = append(dst, `,"message":`...)
	dst = AppendString(dst, message)
	if len(symbols) > 0 {
		dst = appendSymbolsField(dst, symbols)
	}
	return append(dst, '}')
}

// appendReplyStart appends `{"type":"<typ>"` and the id, if any. typ needs
// no escaping.
func appendReplyStart(dst []byte, typ string, id []byte) []byte {
	dst = append(dst, `{"type":"`...)
	dst = append(dst, typ...)
	dst = append(dst, '"')
	if len(id) > 0 {
		dst = append(dst, `,"id":`...)
		dst = append(dst, id...)
	}
	return dst
}

func appendSymbolsField(dst []byte, symbols []string) []byte {
	// Grown once for the whole list (quotes and a comma a name; escapes
	// grow it further): grown name by name, the 2 MB list of 100,000
	// symbols left twice its size in garbage.
	n := len(`,"symbols":[]}`)
	for _, s := range symbols {
		n += len(s) + 3
	}
	dst = slices.Grow(dst, n)
	dst = append(dst, `,"symbols":[`...)
	for i, s := range symbols {
		dst = appendSymbol(dst, s, i > 0)
	}
	return append(dst, ']')
}

// appendSymbol appends a name of a "symbols" array, after a comma if sep.
func appendSymbol(dst []byte, s string, sep bool) []byte {
	if sep {
		dst = append(dst, ',')
	}
	return AppendString(dst, s)
}

// AppendRequest appends r as a client request in canonical form, fields in
// this order:
//
//	{"op":…,"id":…,"channel":…,"interval":…,"symbols":[…],"since":{…},
//	 "depth":…,"max_rate":…,"prefix":…,"limit":…,"token":…}
//
// It leaves out an absent id, ChannelQuotes, empty symbols, since, prefix
// and token, and zero depth, max_rate and limit; "interval" is written for
// ChannelCandles only. Clients (the load tester, tests) use it;
// DecodeRequest reads it back to the same Request, or says what is wrong
// with it.
func AppendRequest(dst []byte, r *Request) []byte {
	dst = append(dst, `{"op":`...)
	dst = AppendString(dst, r.Op.String())
	if len(r.ID) > 0 {
		dst = append(dst, `,"id":`...)
		dst = append(dst, r.ID...)
	}
	if r.Channel != ChannelQuotes {
		dst = append(dst, `,"channel":`...)
		dst = AppendString(dst, r.Channel.String())
	}
	if r.Channel == ChannelCandles {
		dst = append(dst, `,"interval":`...)
		dst = AppendString(dst, r.Interval.String())
	}
	if len(r.Symbols) > 0 {
		dst = appendSymbolsField(dst, r.Symbols)
	}
	if len(r.Since) > 0 {
		dst = append(dst, `,"since":{`...)
		for i, e := range r.Since {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = AppendString(dst, e.Symbol)
			dst = append(dst, ':')
			dst = strconv.AppendUint(dst, e.Seq, 10)
		}
		dst = append(dst, '}')
	}
	if r.Depth != 0 {
		dst = append(dst, `,"depth":`...)
		dst = strconv.AppendInt(dst, int64(r.Depth), 10)
	}
	if r.MaxRate != 0 && !math.IsNaN(r.MaxRate) && !math.IsInf(r.MaxRate, 0) {
		dst = append(dst, `,"max_rate":`...)
		dst = strconv.AppendFloat(dst, r.MaxRate, 'g', -1, 64)
	}
	if r.Prefix != "" {
		dst = append(dst, `,"prefix":`...)
		dst = AppendString(dst, r.Prefix)
	}
	if r.Limit != 0 {
		dst = append(dst, `,"limit":`...)
		dst = strconv.AppendInt(dst, int64(r.Limit), 10)
	}
	if r.Token != "" {
		dst = append(dst, `,"token":`...)
		dst = AppendString(dst, r.Token)
	}
	return append(dst, '}')
}

const hexDigits = "0123456789abcdef"

// AppendString appends s as a JSON string literal. It escapes '"', '\\' and
// control characters (as \n, \r, \t, \b, \f or \u00XX), and U+2028 and
// U+2029 so the output is also safe inside JavaScript. Invalid UTF-8 bytes
// become \ufffd, as with encoding/json, so the output is always valid JSON.
func AppendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0 // s[start:i] is pending, needs no escaping
	for i := 0; i < len(s); {
		c := s[i]
		if plain[c] {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
