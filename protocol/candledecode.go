package protocol

import (
	"fmt"

	"github.com/shopspring/decimal"
)

// Fields of a "candle" message, in wire order. An element of a "candles"
// history message has the fields from "start" on.
var candleFields = [...]string{"type", "symbol", "interval", "start", "open", "high", "low", "close", "volume", "trades", "closed"}

// Fields of a "candles" history message, in wire order.
var candlesFields = [...]string{"type", "symbol", "interval", "candles"}

const (
	cfType = iota
	cfSymbol
	cfInterval
	cfStart // the first field of a history element
	cfOpen  // open … close: cfOpen to cfClose
	cfHigh
	cfLow
	cfClose
	cfVolume
	cfTrades
	cfClosed
	cfCandles = cfStart // in candlesFields
)

// DecodeCandle parses a "candle" message as strictly as DecodeTick parses
// a tick: one JSON object, every field present once, "interval" one of the
// four, "start" a signed and "trades" an unsigned integer, "closed" a
// boolean, and open, high, low, close and volume canonical decimal strings,
// the four prices with the same number of decimals. Unknown fields are
// skipped. It sets PricePrec and VolumePrec from the decimals of "open" and
// "volume", so AppendCandle of the result gives back canonical input byte
// for byte. Epoch is not on the wire and stays 0.
func DecodeCandle(data []byte) (Candle, error) {
	var c Candle
	var vals [len(candleFields)]token
	s := scanner{data: data}
	s.ws()
	if err := s.allFields(candleFields[:], vals[:], 1); err != nil {
		return c, candleError("candle", err)
	}
	if err := s.end(); err != nil {
		return c, candleError("candle", err)
	}
	if err := decodeCandleHead(data, vals[:cfStart], "candle", &c.Symbol, &c.Interval); err != nil {
		return c, err
	}
	if err := decodeCandleItem(data, &vals, &c); err != nil {
		return c, candleError("candle", err)
	}
	return c, nil
}

// DecodeCandles parses a "candles" history message: "type", "symbol" and
// "interval" as in a "candle" message, and "candles", an array of objects
// each read like the fields of DecodeCandle from "start" on. Every
// candle returned has Symbol and Interval set. An empty array gives no
// candles and no error.
func DecodeCandles(data []byte) (symbol string, iv Interval, candles []Candle, err error) {
	var vals [len(candlesFields)]token
	s := scanner{data: data}
	s.ws()
	if err := s.allFields(candlesFields[:], vals[:], 1); err != nil {
		return "", 0, nil, candleError("candles", err)
	}
	if err := s.end(); err != nil {
		return "", 0, nil, candleError("candles", err)
	}
	if err := decodeCandleHead(data, vals[:cfCandles], "candles", &symbol, &iv); err != nil {
		return "", 0, nil, err
	}
	v := vals[cfCandles]
	if v.kind != kindArray {
		return "", 0, nil, fmt.Errorf("protocol: candles: candles %s is not an array", snippet(data[v.start:v.end]))
	}
	// The array was scanned as a whole already; read its elements now.
	a := scanner{data: data, pos: v.start}
	if a.enter(']') {
		return symbol, iv, nil, nil
	}
	var item [len(candleFields)]token
	for i := 0; ; i++ {
		c := Candle{Symbol: symbol, Interval: iv}
		err := a.allFields(candleFields[cfStart:], item[cfStart:], 2)
		if err == nil {
			err = decodeCandleItem(data, &item, &c)
		}
		if err != nil {
			return "", 0, nil, fmt.Errorf("protocol: candles: candles[%d]: %w", i, err)
		}
		candles = append(candles, c)
		if more, _ := a.next(']'); !more {
			return symbol, iv, candles, nil
		}
	}
}

// allFields is fields for an object that must have every one of names.
func (s *scanner) allFields(names []string, vals []token, depth int) error {
	seen, err := s.fields(names, vals, depth)
	if err == nil {
		err = missingField(seen, 1<<len(names)-1, names)
	}
	return err
}

// end checks that only whitespace follows the message.
func (s *scanner) end() error {
	s.ws()
	if s.pos != len(s.data) {
		return s.fail("trailing data after the object")
	}
	return nil
}

// decodeCandleHead reads the "type", "symbol" and "interval" values of a
// message whose type must be typ.
func decodeCandleHead(data []byte, vals []token, typ string, symbol *string, iv *Interval) error {
	if v := vals[cfType]; v.kind != kindString || !stringIs(data, v, typ) {
		return fmt.Errorf("protocol: %s: type %s is not %q", typ, snippet(data[v.start:v.end]), typ)
	}
	v := vals[cfSymbol]
	if v.kind != kindString || v.end-v.start == 2 {
		return fmt.Errorf("protocol: %s: symbol must be a non-empty string", typ)
	}
	*symbol = string(appendUnquoted(nil, data[v.start:v.end]))
	v = vals[cfInterval]
	var ok bool
	if v.kind == kindString && v.end-v.start <= 6*2+2 { // "\u0031\u0073" at the longest
		var buf [8]byte
		*iv, ok = ParseInterval(string(appendUnquoted(buf[:0], data[v.start:v.end])))
	}
	if !ok {
		return fmt.Errorf(`protocol: %s: interval %s is not "1s", "1m", "5m" or "1h"`, typ, snippet(data[v.start:v.end]))
	}
	return nil
}

// decodeCandleItem reads the values of the fields "start" to "closed",
// vals[cfStart:], into c.
func decodeCandleItem(data []byte, vals *[len(candleFields)]token, c *Candle) error {
	raw := func(f int) string { return snippet(data[vals[f].start:vals[f].end]) }
	var ok bool
	if c.Start, ok = parseInt(data, vals[cfStart]); !ok {
		return fmt.Errorf("start %s is not a 64-bit integer", raw(cfStart))
	}
	if c.Trades, ok = parseUint(data, vals[cfTrades]); !ok {
		return fmt.Errorf("trades %s is not an unsigned 64-bit integer", raw(cfTrades))
	}
	if vals[cfClosed].kind != kindBool {
		return fmt.Errorf("closed %s is not true or false", raw(cfClosed))
	}
	c.Closed = data[vals[cfClosed].start] == 't'
	values := [...]*decimal.Decimal{&c.Open, &c.High, &c.Low, &c.Close, &c.Volume}
	for i, p := range values {
		f := cfOpen + i
		v := vals[f]
		var prec int32
		if v.kind == kindString && !v.esc {
			*p, prec, ok = parseDecimal(data[v.start+1 : v.end-1])
		}
		switch {
		case v.kind != kindString || v.esc || !ok:
			return fmt.Errorf("%s %s is not a decimal string", candleFields[f], raw(f))
		case f == cfOpen:
			c.PricePrec = prec
		case f == cfVolume:
			c.VolumePrec = prec
		case prec != c.PricePrec:
			return fmt.Errorf("%s has %d decimals, open has %d", candleFields[f], prec, c.PricePrec)
		}
	}
	return nil
}

func candleError(typ string, err error) error {
	return fmt.Errorf("protocol: %s: %w", typ, err)
}
