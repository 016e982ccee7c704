package protocol

import (
	"strconv"

	"github.com/shopspring/decimal"
)

// AppendCandle appends c as a "candle" message to dst and returns the
// extended slice:
//
//	{"type":"candle","symbol":"AAPL","interval":"1m","start":1763718000000000000,"open":"187.10","high":"187.40","low":"187.00","close":"187.24","volume":"12033","trades":57,"closed":false}
//
// Open, High, Low and Close are written with c.PricePrec decimals and
// Volume with c.VolumePrec, as in a tick; c.Epoch is not sent. c.Interval
// must be one of the four intervals. It does not allocate when dst has room,
// except for values whose coefficient does not fit an int64 (as AppendTick).
func AppendCandle(dst []byte, c *Candle) []byte {
	dst = append(dst, `{"type":"candle","symbol":`...)
	dst = AppendString(dst, c.Symbol)
	dst = append(dst, `,"interval":"`...)
	dst = append(dst, c.Interval.String()...)
	dst = append(dst, `",`...)
	return appendCandleFields(dst, c)
}

// AppendCandleItem appends c as one element of the "candles" array of a
// history message: the fields of AppendCandle from "start" on, in their own
// object.
//
//	{"start":1763718000000000000,"open":"187.10","high":"187.40","low":"187.00","close":"187.24","volume":"12033","trades":57,"closed":true}
//
// A store that keeps candles encoded (internal/candle.History) keeps these
// and joins them with AppendCandlesItems.
func AppendCandleItem(dst []byte, c *Candle) []byte {
	return appendCandleFields(append(dst, '{'), c)
}

// appendCandleFields appends the fields every candle carries, "start" to
// "closed", and the closing brace.
func appendCandleFields(dst []byte, c *Candle) []byte {
	dst = append(dst, `"start":`...)
	dst = strconv.AppendInt(dst, c.Start, 10)
	values := [...]struct {
		key  string
		v    *decimal.Decimal
		prec int32
	}{
		{`,"open":"`, &c.Open, c.PricePrec},
		{`","high":"`, &c.High, c.PricePrec},
		{`","low":"`, &c.Low, c.PricePrec},
		{`","close":"`, &c.Close, c.PricePrec},
		{`","volume":"`, &c.Volume, c.VolumePrec},
	}
	for _, f := range values {
		dst = appendDecimal(append(dst, f.key...), *f.v, f.prec)
	}
	dst = append(dst, `","trades":`...)
	dst = strconv.AppendUint(dst, c.Trades, 10)
	dst = append(dst, `,"closed":`...)
	dst = strconv.AppendBool(dst, c.Closed)
	return append(dst, '}')
}

// AppendCandles appends the history message of symbol's candles at
// interval iv: cs in order, each as AppendCandleItem writes it. The Symbol
// and Interval fields of cs are not read.
//
//	{"type":"candles","symbol":"AAPL","interval":"1m","candles":[{"start":…,"closed":true},…,{"start":…,"closed":false}]}
func AppendCandles(dst []byte, symbol string, iv Interval, cs []Candle) []byte {
	dst = appendCandlesHead(dst, symbol, iv)
	for i := range cs {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = AppendCandleItem(dst, &cs[i])
	}
	return append(dst, "]}"...)
}

// AppendCandlesItems appends the same message as AppendCandles from
// candles already encoded with AppendCandleItem. The items come in one or
// more runs, joined in order, so a ring buffer passes its two halves:
//
//	msg = protocol.AppendCandlesItems(nil, "AAPL", protocol.Interval1m, ring[head:], ring[:head])
func AppendCandlesItems(dst []byte, symbol string, iv Interval, runs ...[][]byte) []byte {
	dst = appendCandlesHead(dst, symbol, iv)
	first := true
	for _, run := range runs {
		for _, item := range run {
			if !first {
				dst = append(dst, ',')
			}
			first = false
			dst = append(dst, item...)
		}
	}
	return append(dst, "]}"...)
}

func appendCandlesHead(dst []byte, symbol string, iv Interval) []byte {
	dst = append(dst, `{"type":"candles","symbol":`...)
	dst = AppendString(dst, symbol)
	dst = append(dst, `,"interval":"`...)
	dst = append(dst, iv.String()...)
	return append(dst, `","candles":[`...)
}
