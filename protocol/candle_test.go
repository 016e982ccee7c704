package protocol

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/shopspring/decimal"
)

// The candle message of the package doc.
const candleJSON = `{"type":"candle","symbol":"AAPL","interval":"1m","start":1763718000000000000,"open":"187.10","high":"187.40","low":"187.00","close":"187.24","volume":"12033","trades":57,"closed":false}`

// The history message of the package doc.
const candlesJSON = `{"type":"candles","symbol":"AAPL","interval":"1m","candles":[{"start":1763717940000000000,"open":"187.02","high":"187.12","low":"186.98","close":"187.10","volume":"11873","trades":49,"closed":true},{"start":1763718000000000000,"open":"187.10","high":"187.40","low":"187.00","close":"187.24","volume":"12033","trades":57,"closed":false}]}`

func aaplCandle() *Candle {
	return &Candle{
		Symbol: "AAPL", Interval: Interval1m, Start: 1763718000000000000,
		Open: dec("187.1"), High: dec("187.4"), Low: dec("187"), Close: dec("187.24"), Volume: dec("12033"),
		Trades: 57, PricePrec: 2,
	}
}

// sameCandle compares candles by value: decimals with Equal, since 1.0 and
// 1.00 differ in representation.
func sameCandle(a, b Candle) bool {
	return a.Symbol == b.Symbol && a.Interval == b.Interval && a.Start == b.Start &&
		a.Trades == b.Trades && a.Closed == b.Closed && a.Epoch == b.Epoch &&
		a.PricePrec == b.PricePrec && a.VolumePrec == b.VolumePrec &&
		a.Open.Equal(b.Open) && a.High.Equal(b.High) && a.Low.Equal(b.Low) &&
		a.Close.Equal(b.Close) && a.Volume.Equal(b.Volume)
}

func TestAppendCandle(t *testing.T) {
	if got := AppendCandle(nil, aaplCandle()); string(got) != candleJSON {
		t.Errorf("AppendCandle =\n%s\nwant\n%s", got, candleJSON)
	}
	c := aaplCandle()
	c.Symbol, c.Interval, c.Start, c.Closed = "BTC-USD", Interval1s, -1000000000, true
	c.Open, c.High, c.Low, c.Close = dec("91549.305"), dec("91550"), dec("-0.001"), dec("0")
	c.Volume, c.VolumePrec, c.Trades = dec("1.23456789"), 8, 1<<64-1
	const want = `{"type":"candle","symbol":"BTC-USD","interval":"1s","start":-1000000000,"open":"91549.31","high":"91550.00","low":"0.00","close":"0.00","volume":"1.23456789","trades":18446744073709551615,"closed":true}`
	if got := AppendCandle(nil, c); string(got) != want {
		t.Errorf("AppendCandle =\n%s\nwant\n%s", got, want)
	}
}

func TestAppendCandles(t *testing.T) {
	cs := []Candle{*aaplCandle(), *aaplCandle()}
	cs[0].Closed = true
	cs[1].Start += 60e9
	cs[1].Open = dec("187.24")
	const want = `{"type":"candles","symbol":"AAPL","interval":"1m","candles":[` +
		`{"start":1763718000000000000,"open":"187.10","high":"187.40","low":"187.00","close":"187.24","volume":"12033","trades":57,"closed":true},` +
		`{"start":1763718060000000000,"open":"187.24","high":"187.40","low":"187.00","close":"187.24","volume":"12033","trades":57,"closed":false}]}`
	if got := AppendCandles(nil, "AAPL", Interval1m, cs); string(got) != want {
		t.Errorf("AppendCandles =\n%s\nwant\n%s", got, want)
	}
	items := [][]byte{AppendCandleItem(nil, &cs[0]), AppendCandleItem(nil, &cs[1])}
	for _, runs := range [][][][]byte{{items}, {items[:1], items[1:]}, {nil, items[:1], nil, items[1:], nil}} {
		if got := AppendCandlesItems(nil, "AAPL", Interval1m, runs...); string(got) != want {
			t.Errorf("AppendCandlesItems(%d runs) =\n%s\nwant\n%s", len(runs), got, want)
		}
	}
	const empty = `{"type":"candles","symbol":"A\"B","interval":"1h","candles":[]}`
	if got := AppendCandles(nil, `A"B`, Interval1h, nil); string(got) != empty {
		t.Errorf("AppendCandles(none) = %s, want %s", got, empty)
	}
	if got := AppendCandlesItems(nil, `A"B`, Interval1h); string(got) != empty {
		t.Errorf("AppendCandlesItems(none) = %s, want %s", got, empty)
	}
}

// The encoders do not allocate once the buffer has grown.
func TestAppendCandleAllocs(t *testing.T) {
	c := aaplCandle()
	cs := make([]Candle, 500)
	for i := range cs {
		cs[i] = *c
	}
	buf := make([]byte, 0, 1<<17)
	for name, f := range map[string]func(){
		"AppendCandle":     func() { buf = AppendCandle(buf[:0], c) },
		"AppendCandleItem": func() { buf = AppendCandleItem(buf[:0], c) },
		"AppendCandles":    func() { buf = AppendCandles(buf[:0], "AAPL", Interval1m, cs) },
	} {
		if n := testing.AllocsPerRun(100, f); n != 0 {
			t.Errorf("%s: %v allocations, want 0", name, n)
		}
	}
}

// candleWith returns candleJSON with field name's value replaced by raw, or
// the field removed when raw is "".
func candleWith(name, raw string) string {
	return replaceField(candleJSON, name, raw)
}

func replaceField(msg, name, raw string) string {
	old := msg[strings.Index(msg, `"`+name+`":`):]
	old = old[:strings.IndexAny(old, ",}")]
	if raw == "" {
		if strings.Contains(msg, ","+old) {
			return strings.Replace(msg, ","+old, "", 1)
		}
		return strings.Replace(msg, old+",", "", 1)
	}
	return strings.Replace(msg, old, `"`+name+`":`+raw, 1)
}

func TestDecodeCandle(t *testing.T) {
	closed := func() *Candle { c := aaplCandle(); c.Closed = true; return c }
	tests := []struct {
		name string
		in   string
		want *Candle // nil: an error containing msg
		msg  string
	}{
		{name: "doc example", in: candleJSON, want: aaplCandle()},
		{name: "closed", in: candleWith("closed", "true"), want: closed()},
		{name: "spaced and reordered", in: " {\"closed\" : false ,\"trades\":57,\"volume\":\"12033\",\"close\":\"187.24\",\"low\":\"187.00\",\"high\":\"187.40\",\"open\":\"187.10\",\"start\":1763718000000000000,\"interval\":\"1m\",\"symbol\":\"AAPL\",\"type\":\"candle\"}\n", want: aaplCandle()},
		{name: "unknown fields ignored", in: strings.Replace(candleJSON, `"start"`, `"venue":{"mic":["XNAS",1,null,true]},"start"`, 1), want: aaplCandle()},
		{name: "escapes", in: candleWith("interval", `"1\u006d"`), want: aaplCandle()},
		{name: "escaped symbol", in: candleWith("symbol", `"A\u0041PL"`), want: aaplCandle()},
		{name: "volume decimals", in: candleWith("volume", `"0.500"`), want: func() *Candle { c := aaplCandle(); c.Volume, c.VolumePrec = dec("0.5"), 3; return c }()},

		{name: "empty", in: ``, msg: "unexpected end of input"},
		{name: "tick", in: aaplJSON, msg: `missing field "interval"`},
		{name: "history", in: `{"type":"candles","symbol":"AAPL","interval":"1m","candles":[]}`, msg: `missing field "start"`},
		{name: "wrong type", in: candleWith("type", `"candles"`), msg: `type "candles" is not "candle"`},
		{name: "missing closed", in: candleWith("closed", ""), msg: `missing field "closed"`},
		{name: "missing type", in: candleWith("type", ""), msg: `missing field "type"`},
		{name: "duplicate", in: strings.Replace(candleJSON, `"trades":57`, `"trades":57,"trades":58`, 1), msg: `duplicate field "trades"`},
		{name: "trailing", in: candleJSON + "x", msg: "trailing data"},
		{name: "bad interval", in: candleWith("interval", `"2m"`), msg: `interval "2m" is not`},
		{name: "interval number", in: candleWith("interval", `60`), msg: `interval 60 is not`},
		{name: "empty symbol", in: candleWith("symbol", `""`), msg: "symbol must be a non-empty string"},
		{name: "start float", in: candleWith("start", `1.5`), msg: "start 1.5 is not"},
		{name: "start overflow", in: candleWith("start", `9223372036854775808`), msg: "start"},
		{name: "trades negative", in: candleWith("trades", `-1`), msg: "trades -1 is not"},
		{name: "closed string", in: candleWith("closed", `"true"`), msg: `closed "true" is not true or false`},
		{name: "closed null", in: candleWith("closed", `null`), msg: "closed null"},
		{name: "open number", in: candleWith("open", `187.1`), msg: "open 187.1 is not a decimal string"},
		{name: "high exponent", in: candleWith("high", `"1e2"`), msg: "high"},
		{name: "low escaped", in: candleWith("low", `"18\u0037.00"`), msg: "low"},
		{name: "volume negative zero", in: candleWith("volume", `"-0"`), msg: "volume"},
		{name: "close decimals", in: candleWith("close", `"187.2"`), msg: "close has 1 decimals, open has 2"},
		{name: "bad utf8 key", in: strings.Replace(candleJSON, `"start"`, "\"st\xffart\"", 1), msg: "bad field name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := DecodeCandle([]byte(tt.in))
			if tt.want == nil {
				if err == nil || !strings.Contains(err.Error(), tt.msg) || !strings.HasPrefix(err.Error(), "protocol: candle: ") {
					t.Fatalf("DecodeCandle(%s) error = %v, want one containing %q", tt.in, err, tt.msg)
				}
				return
			}
			if err != nil || !sameCandle(c, *tt.want) {
				t.Fatalf("DecodeCandle(%s) = %+v, %v; want %+v", tt.in, c, err, *tt.want)
			}
		})
	}
}

func TestDecodeCandles(t *testing.T) {
	first, second := *aaplCandle(), *aaplCandle()
	first.Closed, second.Start = true, first.Start+60e9
	msg := string(AppendCandles(nil, "AAPL", Interval1m, []Candle{first, second}))
	tests := []struct {
		name string
		in   string
		want []Candle // nil with msg != "": an error containing msg
		msg  string
	}{
		{name: "two", in: msg, want: []Candle{first, second}},
		{name: "doc example", in: candlesJSON, want: []Candle{{
			Symbol: "AAPL", Interval: Interval1m, Start: 1763717940000000000, Open: dec("187.02"), High: dec("187.12"),
			Low: dec("186.98"), Close: dec("187.1"), Volume: dec("11873"), Trades: 49, Closed: true, PricePrec: 2,
		}, *aaplCandle()}},
		{name: "none", in: `{"type":"candles","symbol":"AAPL","interval":"1m","candles":[ ]}`},
		{name: "spaced", in: strings.ReplaceAll(strings.ReplaceAll(msg, ",", " ,\n"), ":", ": "), want: []Candle{first, second}},
		{name: "unknown fields", in: strings.Replace(strings.Replace(msg, `"start"`, `"x":[{}],"start"`, 1), `"type"`, `"more":true,"type"`, 1), want: []Candle{first, second}},

		{name: "candle message", in: candleJSON, msg: `missing field "candles"`},
		{name: "wrong type", in: replaceField(msg, "type", `"candle"`), msg: `type "candle" is not "candles"`},
		{name: "not an array", in: `{"type":"candles","symbol":"AAPL","interval":"1m","candles":{}}`, msg: "candles {} is not an array"},
		{name: "element not an object", in: `{"type":"candles","symbol":"AAPL","interval":"1m","candles":[1]}`, msg: "candles[0]: invalid JSON"},
		{name: "element missing field", in: strings.Replace(msg, `,"trades":57,"closed":false`, `,"trades":57`, 1), msg: `candles[1]: missing field "closed"`},
		{name: "element bad value", in: strings.Replace(msg, `"open":"187.10"`, `"open":"x"`, 1), msg: `candles[0]: open "x" is not a decimal string`},
		{name: "element duplicate", in: strings.Replace(msg, `"trades":57`, `"trades":57,"trades":1`, 1), msg: `candles[0]: duplicate field "trades"`},
		{name: "bad interval", in: replaceField(msg, "interval", `"1d"`), msg: `interval "1d"`},
		{name: "trailing", in: msg + "]", msg: "trailing data"},
		{name: "unterminated", in: msg[:len(msg)-2], msg: "unexpected end of input"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sym, iv, cs, err := DecodeCandles([]byte(tt.in))
			if tt.msg != "" {
				if err == nil || !strings.Contains(err.Error(), tt.msg) || !strings.HasPrefix(err.Error(), "protocol: candles: ") {
					t.Fatalf("DecodeCandles(%s) error = %v, want one containing %q", tt.in, err, tt.msg)
				}
				return
			}
			if err != nil || sym != "AAPL" || iv != Interval1m || len(cs) != len(tt.want) {
				t.Fatalf("DecodeCandles(%s) = %q, %v, %d candles, %v; want AAPL 1m, %d candles", tt.in, sym, iv, len(cs), err, len(tt.want))
			}
			for i := range cs {
				if !sameCandle(cs[i], tt.want[i]) {
					t.Errorf("candle %d = %+v, want %+v", i, cs[i], tt.want[i])
				}
			}
		})
	}
}

func randomCandle(r *rand.Rand) Candle {
	price := func(prec int32) decimal.Decimal { return decimal.New(r.Int64N(2e9)-1e8, -prec) }
	c := Candle{
		Symbol:    []string{"AAPL", "BTC-USD", "EUR/USD", `we"ird\`, "é"}[r.IntN(5)],
		Interval:  Interval(r.IntN(int(NumIntervals))),
		Start:     r.Int64() - r.Int64(),
		Trades:    r.Uint64() >> r.IntN(64),
		Closed:    r.IntN(2) == 0,
		PricePrec: int32(r.IntN(9)), VolumePrec: int32(r.IntN(9)),
	}
	c.Open, c.High, c.Low, c.Close = price(c.PricePrec), price(c.PricePrec), price(c.PricePrec), price(c.PricePrec)
	c.Volume = decimal.New(r.Int64N(1e15), -c.VolumePrec)
	return c
}

func TestCandleRoundTrip(t *testing.T) {
	for _, doc := range []string{candleJSON, candlesJSON} {
		var enc []byte
		if c, err := DecodeCandle([]byte(doc)); err == nil {
			enc = AppendCandle(nil, &c)
		} else if sym, iv, cs, err := DecodeCandles([]byte(doc)); err == nil {
			enc = AppendCandles(nil, sym, iv, cs)
		}
		if string(enc) != doc {
			t.Errorf("the doc's example\n%s\nencodes back as\n%s", doc, enc)
		}
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 1000 {
		c := randomCandle(r)
		enc := AppendCandle(nil, &c)
		got, err := DecodeCandle(enc)
		if err != nil || !sameCandle(got, c) {
			t.Fatalf("DecodeCandle(%s) = %+v, %v; want %+v", enc, got, err, c)
		}
		var ref map[string]any
		if err := json.Unmarshal(enc, &ref); err != nil || ref["symbol"] != c.Symbol {
			t.Fatalf("encoding/json reads %s as %v, %v", enc, ref, err)
		}
	}
	cs := make([]Candle, 50)
	for i := range cs {
		cs[i] = randomCandle(r)
		cs[i].Symbol, cs[i].Interval = "X", Interval5m
	}
	enc := AppendCandles(nil, "X", Interval5m, cs)
	sym, iv, got, err := DecodeCandles(enc)
	if err != nil || sym != "X" || iv != Interval5m || len(got) != len(cs) {
		t.Fatalf("DecodeCandles(%s) = %q, %v, %d candles, %v", enc, sym, iv, len(got), err)
	}
	for i := range got {
		if !sameCandle(got[i], cs[i]) {
			t.Fatalf("candle %d = %+v, want %+v", i, got[i], cs[i])
		}
	}
}

func FuzzDecodeCandle(f *testing.F) {
	f.Add([]byte(candleJSON))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := DecodeCandle(data)
		if err != nil || foldedKey(data) {
			return
		}
		if !json.Valid(data) {
			t.Fatalf("DecodeCandle(%q) accepts invalid JSON", data)
		}
		checkCandleRef(t, data, []Candle{c}, false)
		enc := AppendCandle(nil, &c)
		c2, err := DecodeCandle(enc)
		if err != nil || !sameCandle(c, c2) {
			t.Fatalf("DecodeCandle(%q) = %+v; re-encoded %s decodes to %+v, %v", data, c, enc, c2, err)
		}
		if enc2 := AppendCandle(nil, &c2); !bytes.Equal(enc, enc2) {
			t.Fatalf("round trip of %q changed the bytes:\n%s\n%s", data, enc, enc2)
		}
	})
}

func FuzzDecodeCandles(f *testing.F) {
	f.Add([]byte(`{"type":"candles","symbol":"AAPL","interval":"1m","candles":[` + candleJSON[strings.Index(candleJSON, `"start"`)-1:] + `]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		sym, iv, cs, err := DecodeCandles(data)
		if err != nil || foldedKey(data) {
			return
		}
		if !json.Valid(data) {
			t.Fatalf("DecodeCandles(%q) accepts invalid JSON", data)
		}
		checkCandleRef(t, data, cs, true)
		enc := AppendCandles(nil, sym, iv, cs)
		sym2, iv2, cs2, err := DecodeCandles(enc)
		if err != nil || sym2 != sym || iv2 != iv || len(cs2) != len(cs) {
			t.Fatalf("DecodeCandles(%q) = %q, %v, %+v; re-encoded %s decodes to %q, %v, %+v, %v", data, sym, iv, cs, enc, sym2, iv2, cs2, err)
		}
		for i := range cs {
			if !sameCandle(cs[i], cs2[i]) || cs[i].Symbol != sym || cs[i].Interval != iv {
				t.Fatalf("DecodeCandles(%q) candle %d = %+v; re-encoded %s gives %+v", data, i, cs[i], enc, cs2[i])
			}
		}
		if enc2 := AppendCandles(nil, sym2, iv2, cs2); !bytes.Equal(enc, enc2) {
			t.Fatalf("round trip of %q changed the bytes:\n%s\n%s", data, enc, enc2)
		}
	})
}

// checkCandleRef checks that encoding/json reads the same symbol, interval,
// start, trades and closed from data as the decoder did.
func checkCandleRef(t *testing.T, data []byte, cs []Candle, history bool) {
	t.Helper()
	type item struct {
		Start  int64
		Trades uint64
		Closed bool
	}
	var ref struct {
		Symbol   string
		Interval string
		item
		Candles []item
	}
	if err := json.Unmarshal(data, &ref); err != nil {
		t.Fatalf("decoder accepts %q, encoding/json does not: %v", data, err)
	}
	items := []item{ref.item}
	if history {
		items = ref.Candles
	}
	if len(items) != len(cs) {
		t.Fatalf("decoder reads %d candles from %q, encoding/json %d", len(cs), data, len(items))
	}
	for i, c := range cs {
		if ref.Symbol != c.Symbol || ref.Interval != c.Interval.String() || items[i] != (item{c.Start, c.Trades, c.Closed}) {
			t.Fatalf("decoder reads %+v from %q, encoding/json %+v", c, data, ref)
		}
	}
}

func BenchmarkAppendCandle(b *testing.B) {
	c := aaplCandle()
	buf := make([]byte, 0, 512)
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendCandle(buf[:0], c)
	}
	b.SetBytes(int64(len(buf)))
}

// BenchmarkAppendCandles encodes a full default history (500 candles).
func BenchmarkAppendCandles(b *testing.B) {
	cs := make([]Candle, 500)
	for i := range cs {
		cs[i] = *aaplCandle()
		cs[i].Start += int64(i) * 60e9
	}
	items := make([][]byte, len(cs))
	for i := range cs {
		items[i] = AppendCandleItem(nil, &cs[i])
	}
	buf := make([]byte, 0, 1<<17)
	b.Run("candles", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			buf = AppendCandles(buf[:0], "AAPL", Interval1m, cs)
		}
		b.SetBytes(int64(len(buf)))
	})
	b.Run("items", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			buf = AppendCandlesItems(buf[:0], "AAPL", Interval1m, items)
		}
		b.SetBytes(int64(len(buf)))
	})
}

func BenchmarkDecodeCandle(b *testing.B) {
	in := []byte(candleJSON)
	b.ReportAllocs()
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		if _, err := DecodeCandle(in); err != nil {
			b.Fatal(err)
		}
	}
}

func TestCandleIntervalsOnWire(t *testing.T) {
	for iv := range NumIntervals {
		c := *aaplCandle()
		c.Interval = iv
		got, err := DecodeCandle(AppendCandle(nil, &c))
		if err != nil || got.Interval != iv {
			t.Errorf("interval %v: got %v, %v", iv, got.Interval, err)
		}
	}
}
