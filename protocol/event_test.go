package protocol

import (
	"slices"
	"strings"
	"testing"
)

// appendEvent encodes e with the encoder of its type.
func appendEvent(dst []byte, e *Event) []byte {
	switch e.Type {
	case "subscribed":
		return AppendSubscribed(dst, e.ID, e.Stream, e.Symbols)
	case "unsubscribed":
		return AppendUnsubscribed(dst, e.ID, e.Stream, e.Symbols)
	case "symbols":
		return AppendSymbols(dst, e.ID, e.Symbols)
	case "search":
		return AppendSearch(dst, e.ID, e.Prefix, e.Symbols, e.More)
	case "pong":
		return AppendPong(dst, e.ID, e.TS)
	case "error":
		return AppendError(dst, e.ID, e.Code, e.Message, e.Symbols)
	case "gap":
		return AppendGap(dst, e.Stream.Channel, e.Symbol, e.From, e.To)
	case "reset":
		return AppendReset(dst, e.Stream.Channel, e.Symbol, e.Epoch)
	case "delisted":
		return AppendDelisted(dst, e.Symbol, e.TS)
	}
	panic("appendEvent: type " + e.Type)
}

func sameEvent(a, b Event) bool {
	return a.Type == b.Type && string(a.ID) == string(b.ID) && (a.ID == nil) == (b.ID == nil) && a.Stream == b.Stream &&
		a.Symbol == b.Symbol && slices.Equal(a.Symbols, b.Symbols) && a.From == b.From && a.To == b.To &&
		a.Epoch == b.Epoch && a.TS == b.TS && a.Prefix == b.Prefix && a.More == b.More && a.Code == b.Code && a.Message == b.Message
}

func TestDecodeEvent(t *testing.T) {
	tests := []struct {
		in   string
		want Event  // when msg is ""
		msg  string // part of the error
	}{
		// What the encoders write.
		{in: `{"type":"subscribed","id":1,"symbols":["AAPL","BTC-USD"]}`, want: Event{Type: "subscribed", ID: []byte(`1`), Symbols: []string{"AAPL", "BTC-USD"}}},
		{in: `{"type":"subscribed","id":5,"channel":"trades","symbols":["AAPL"]}`,
			want: Event{Type: "subscribed", ID: []byte(`5`), Stream: Stream{Channel: ChannelTrades}, Symbols: []string{"AAPL"}}},
		{in: `{"type":"subscribed","id":7,"channel":"candles","interval":"1m","symbols":["AAPL"]}`,
			want: Event{Type: "subscribed", ID: []byte(`7`), Stream: Stream{Channel: ChannelCandles, Interval: Interval1m}, Symbols: []string{"AAPL"}}},
		{in: `{"type":"subscribed","id":9,"channel":"book","symbols":["BTC-USD"],"depth":10}`,
			want: Event{Type: "subscribed", ID: []byte(`9`), Stream: Stream{Channel: ChannelBook, Depth: 10}, Symbols: []string{"BTC-USD"}}},
		{in: `{"type":"unsubscribed","channel":"book","symbols":["BTC-USD"]}`,
			want: Event{Type: "unsubscribed", Stream: Stream{Channel: ChannelBook}, Symbols: []string{"BTC-USD"}}},
		{in: `{"type":"symbols","id":"x","symbols":[]}`, want: Event{Type: "symbols", ID: []byte(`"x"`)}},
		{in: `{"type":"search","id":11,"prefix":"AA","symbols":["AAPL","AAL"],"more":false}`,
			want: Event{Type: "search", ID: []byte(`11`), Prefix: "AA", Symbols: []string{"AAPL", "AAL"}}},
		{in: `{"type":"pong","id":4,"ts":1763718000123456789}`, want: Event{Type: "pong", ID: []byte(`4`), TS: 1763718000123456789}},
		{in: `{"type":"error","id":1,"code":"unknown_symbol","message":"unknown symbol: XYZ","symbols":["XYZ"]}`,
			want: Event{Type: "error", ID: []byte(`1`), Code: CodeUnknownSymbol, Message: "unknown symbol: XYZ", Symbols: []string{"XYZ"}}},
		{in: `{"type":"gap","channel":"trades","symbol":"AAPL","from":88101,"to":88110}`,
			want: Event{Type: "gap", Stream: Stream{Channel: ChannelTrades}, Symbol: "AAPL", From: 88101, To: 88110}},
		{in: `{"type":"reset","channel":"trades","symbol":"AAPL","epoch":2}`,
			want: Event{Type: "reset", Stream: Stream{Channel: ChannelTrades}, Symbol: "AAPL", Epoch: 2}},
		{in: `{"type":"delisted","symbol":"AAPL261218C00190000","ts":1763718000123456789}`,
			want: Event{Type: "delisted", Symbol: "AAPL261218C00190000", TS: 1763718000123456789}},

		// Order, escapes, unknown and unused fields.
		{in: ` {"to":5, "from":5,"symbol":"A\u0042","channel":"trades","type":"gap","id":3,"x":[{}]} `,
			want: Event{Type: "gap", Stream: Stream{Channel: ChannelTrades}, Symbol: "AB", From: 5, To: 5}},
		{in: `{"type":"error","code":"future_code","message":"a\nb"}`, want: Event{Type: "error", Code: "future_code", Message: "a\nb"}},

		// Errors.
		{in: `{"type":"tick","symbol":"AAPL"}`, msg: `protocol: event: type "tick" is not one DecodeEvent reads`},
		{in: `{"symbol":"AAPL"}`, msg: `protocol: event: missing field "type"`},
		{in: `{"type":1}`, msg: `type 1 is not`},
		{in: `[]`, msg: `protocol: event: invalid JSON`},
		{in: `{"type":"gap","channel":"trades","symbol":"AAPL","from":1}`, msg: `protocol: gap: missing field "to"`},
		{in: `{"type":"gap","channel":"trades","symbol":"AAPL","from":9,"to":8}`, msg: `protocol: gap: from 9 is after to 8`},
		{in: `{"type":"gap","channel":"trades","symbol":"AAPL","from":-1,"to":8}`, msg: `from -1 is not an unsigned 64-bit integer`},
		{in: `{"type":"gap","channel":"level3","symbol":"AAPL","from":1,"to":8}`, msg: `channel "level3" is not a channel`},
		{in: `{"type":"gap","channel":3,"symbol":"AAPL","from":1,"to":8}`, msg: `channel 3 is not a channel`},
		{in: `{"type":"reset","channel":"trades","symbol":"","epoch":2}`, msg: `symbol "" is not a non-empty string`},
		{in: `{"type":"reset","channel":"trades","symbol":"A","epoch":2.5}`, msg: `epoch 2.5 is not`},
		{in: `{"type":"delisted","symbol":"A","ts":"1"}`, msg: `ts "1" is not a 64-bit integer`},
		{in: `{"type":"subscribed","channel":"candles","symbols":["A"]}`, msg: `channel "candles" without an interval`},
		{in: `{"type":"subscribed","channel":"candles","interval":"2m","symbols":["A"]}`, msg: `interval "2m" is not an interval`},
		{in: `{"type":"subscribed","channel":"candles","interval":60,"symbols":["A"]}`, msg: `interval 60 is not an interval`},
		{in: `{"type":"subscribed","interval":"1m","symbols":["A"]}`, msg: `interval without channel "candles"`},
		{in: `{"type":"subscribed","channel":"book","symbols":["A"],"depth":20}`, msg: `depth 20 is not 10, 50 or 200`},
		{in: `{"type":"subscribed","symbols":["A"],"depth":10}`, msg: `depth 10 is not`},
		{in: `{"type":"subscribed","symbols":"A"}`, msg: `symbols "A" is not an array of strings`},
		{in: `{"type":"subscribed","symbols":["A B"]}`, msg: `invalid symbol "A B"`},
		{in: `{"type":"subscribed","symbols":["A"],"id":null}`, msg: `id null is not a number or a string`},
		{in: `{"type":"search","prefix":"A","symbols":[],"more":1}`, msg: `more 1 is not true or false`},
		{in: `{"type":"search","prefix":1,"symbols":[],"more":true}`, msg: `prefix 1 is not a string`},
		{in: `{"type":"search","symbols":[],"more":true}`, msg: `missing field "prefix"`},
		{in: `{"type":"gap","type":"gap"}`, msg: `duplicate field "type"`},
		{in: `{"type":"pong","ts":1}x`, msg: `trailing data`},
	}
	for _, tt := range tests {
		got, err := DecodeEvent([]byte(tt.in))
		if tt.msg != "" {
			if err == nil || !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("DecodeEvent(%s) = %+v, %v; want error %q", tt.in, got, err, tt.msg)
			}
			continue
		}
		if err != nil || !sameEvent(got, tt.want) {
			t.Errorf("DecodeEvent(%s) = %+v, %v; want %+v", tt.in, got, err, tt.want)
			continue
		}
		if enc := appendEvent(nil, &got); strings.HasPrefix(tt.in, `{"type":`) && string(enc) != tt.in {
			t.Errorf("DecodeEvent(%s) re-encodes as %s", tt.in, enc)
		}
	}
}
