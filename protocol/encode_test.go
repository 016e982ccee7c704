package protocol

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/shopspring/decimal"
)

func dec(s string) decimal.Decimal { return decimal.RequireFromString(s) }

// aapl is the tick of the protocol documentation.
func aapl() *Tick {
	return &Tick{
		Symbol: "AAPL", Seq: 1042,
		Price: dec("187.23"), Bid: dec("187.22"), Ask: dec("187.24"),
		Open: dec("185"), High: dec("188.1"), Low: dec("184.90"),
		Volume: dec("1203344"), TS: 1763718000123456789,
		PricePrec: 2, VolumePrec: 0,
	}
}

const aaplJSON = `{"type":"tick","symbol":"AAPL","seq":1042,"price":"187.23","bid":"187.22","ask":"187.24","open":"185.00","high":"188.10","low":"184.90","volume":"1203344","ts":1763718000123456789}`

func TestAppendTick(t *testing.T) {
	big := dec("123456789012345678901234567890.125")
	tests := []struct {
		name string
		tick *Tick
		want string
	}{
		{"doc example", aapl(), aaplJSON},
		{"zero value", &Tick{}, `{"type":"tick","symbol":"","seq":0,"price":"0","bid":"0","ask":"0","open":"0","high":"0","low":"0","volume":"0","ts":0}`},
		{"zero with precision", &Tick{Symbol: "Z", PricePrec: 2, VolumePrec: 3},
			`{"type":"tick","symbol":"Z","seq":0,"price":"0.00","bid":"0.00","ask":"0.00","open":"0.00","high":"0.00","low":"0.00","volume":"0.000","ts":0}`},
		{"negatives and rounding", &Tick{
			Symbol: "SPREAD", Seq: math.MaxUint64,
			Price: dec("-1.005"), Bid: dec("-0.004"), Ask: dec("-0.005"), Open: dec("0.005"), High: dec("2.994999"), Low: dec("-7"),
			Volume: dec("0.123456789"), TS: math.MinInt64, PricePrec: 2, VolumePrec: 8,
		}, `{"type":"tick","symbol":"SPREAD","seq":18446744073709551615,"price":"-1.01","bid":"0.00","ask":"-0.01","open":"0.01","high":"2.99","low":"-7.00","volume":"0.12345679","ts":-9223372036854775808}`},
		{"crypto precision", &Tick{
			Symbol: "BTC-USD", Seq: 1,
			Price: dec("97123.5"), Bid: dec("97123.49999999"), Ask: dec("0.00000001"), Open: dec("1e3"), High: dec("97200"), Low: dec("96000.125"),
			Volume: dec("1234.56789"), TS: 1, PricePrec: 8, VolumePrec: 8,
		}, `{"type":"tick","symbol":"BTC-USD","seq":1,"price":"97123.50000000","bid":"97123.49999999","ask":"0.00000001","open":"1000.00000000","high":"97200.00000000","low":"96000.12500000","volume":"1234.56789000","ts":1}`},
		{"huge coefficient falls back", &Tick{
			Symbol: "BIG", Price: big, Bid: big.Neg(), Ask: dec("9223372036854775808"), Open: dec("-9223372036854775808"),
			High: dec("1e40"), Low: dec("1e-70"), Volume: big, PricePrec: 2, VolumePrec: 0,
		}, `{"type":"tick","symbol":"BIG","seq":0,"price":"123456789012345678901234567890.13","bid":"-123456789012345678901234567890.13","ask":"9223372036854775808.00","open":"-9223372036854775808.00","high":"10000000000000000000000000000000000000000.00","low":"0.00","volume":"123456789012345678901234567890","ts":0}`},
		{"symbol escaping", &Tick{Symbol: "A\"B\\C\n\u2028é\xff", PricePrec: 1},
			`{"type":"tick","symbol":"A\"B\\C\n\u2028é\ufffd","seq":0,"price":"0.0","bid":"0.0","ask":"0.0","open":"0.0","high":"0.0","low":"0.0","volume":"0","ts":0}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := AppendTick(nil, tt.tick)
			if string(got) != tt.want {
				t.Errorf("AppendTick(%s) =\n%s\nwant\n%s", tt.name, got, tt.want)
			}
			if !json.Valid(got) {
				t.Errorf("AppendTick(%s) is not valid JSON: %s", tt.name, got)
			}
			snap := AppendSnapshot([]byte("prefix"), tt.tick)
			want := "prefix" + SnapshotPrefix + tt.want[len(TickPrefix):]
			if string(snap) != want {
				t.Errorf("AppendSnapshot(%s) =\n%s\nwant\n%s", tt.name, snap, want)
			}
		})
	}
}

func TestAppendDecimal(t *testing.T) {
	tests := []struct {
		d    string
		prec int32
		want string
	}{
		{"0", 0, "0"},
		{"0", 3, "0.000"},
		{"0.000", 1, "0.0"},
		{"1", 0, "1"},
		{"-1", 2, "-1.00"},
		{"187.2", 2, "187.20"},
		{"187.235", 2, "187.24"},
		{"187.245", 2, "187.25"},
		{"-187.235", 2, "-187.24"},
		{"187.2349999", 2, "187.23"},
		{"0.5", 0, "1"},
		{"-0.5", 0, "-1"},
		{"0.49", 0, "0"},
		{"-0.49", 0, "0"},
		{"-0.0001", 2, "0.00"},
		{"0.01", 2, "0.01"},
		{"0.001", 5, "0.00100"},
		{"1e5", 2, "100000.00"},
		{"12345", -2, "12300"},
		{"9223372036854775807", 0, "9223372036854775807"},
		{"-9223372036854775808", 0, "-9223372036854775808"},
		{"-9223372036854775808", 1, "-9223372036854775808.0"},
		{"9223372036854775807", 2, "9223372036854775807.00"},
		{"18446744073709551615", 0, "18446744073709551615"},
		{"18446744073709551616", 0, "18446744073709551616"},
		{"0.9999999999999999999", 18, "1.000000000000000000"},
		{"0.0000000000000000000000001", 2, "0.00"},
		{"5e-20", 19, "0.0000000000000000001"},
		{"4.9e-20", 19, "0.0000000000000000000"},
		{"1.5", 30, "1.500000000000000000000000000000"},
	}
	for _, tt := range tests {
		d := dec(tt.d)
		got := string(appendDecimal(nil, d, tt.prec))
		if got != tt.want {
			t.Errorf("appendDecimal(%s, %d) = %q, want %q", tt.d, tt.prec, got, tt.want)
		}
		if sf := d.StringFixed(tt.prec); got != sf {
			t.Errorf("appendDecimal(%s, %d) = %q, StringFixed gives %q", tt.d, tt.prec, got, sf)
		}
	}
}

// TestAppendDecimalMatchesStringFixed checks the fast path against the
// library on random values around every boundary it has.
func TestAppendDecimalMatchesStringFixed(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	coefs := []int64{0, 1, -1, 5, -5, 15, 25, 49, 50, 51, 99, math.MaxInt64, math.MinInt64, math.MaxInt64 - 1, 1 << 53, 999999999999999999}
	var buf []byte
	for i := range 200000 {
		var c int64
		if i < len(coefs)*40 {
			c = coefs[i%len(coefs)]
		} else {
			c = r.Int64() >> r.IntN(64)
			if r.IntN(2) == 0 {
				c = -c
			}
		}
		exp := int32(r.IntN(50) - 35)
		prec := int32(r.IntN(22))
		d := decimal.New(c, exp)
		buf = appendDecimal(buf[:0], d, prec)
		if want := d.StringFixed(prec); string(buf) != want {
			t.Fatalf("appendDecimal(New(%d, %d), %d) = %q, want %q", c, exp, prec, buf, want)
		}
	}
}

func TestAppendTickAllocs(t *testing.T) {
	ticks := []*Tick{aapl(), {Symbol: "BTC-USD", Price: dec("-97123.12345678"), Volume: dec("12.5"), PricePrec: 8, VolumePrec: 8}, {}}
	buf := make([]byte, 0, 1024)
	for _, tk := range ticks {
		if n := testing.AllocsPerRun(100, func() { buf = AppendTick(buf[:0], tk) }); n != 0 {
			t.Errorf("AppendTick(%s) allocates %v times per call, want 0", buf, n)
		}
	}
}

// TestAppendTickMatchesJSON checks that encoding/json reads AppendTick
// output back to the same values.
func TestAppendTickMatchesJSON(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for range 2000 {
		tk := randomTick(r)
		out := AppendTick(nil, &tk)
		if !json.Valid(out) {
			t.Fatalf("AppendTick gives invalid JSON: %s", out)
		}
		var m map[string]any
		d := json.NewDecoder(bytes.NewReader(out))
		d.UseNumber()
		if err := d.Decode(&m); err != nil {
			t.Fatalf("json decode of %s: %v", out, err)
		}
		want := map[string]any{
			"type": "tick", "symbol": tk.Symbol,
			"seq":   json.Number(strconv.FormatUint(tk.Seq, 10)),
			"price": tk.Price.StringFixed(tk.PricePrec), "bid": tk.Bid.StringFixed(tk.PricePrec),
			"ask": tk.Ask.StringFixed(tk.PricePrec), "open": tk.Open.StringFixed(tk.PricePrec),
			"high": tk.High.StringFixed(tk.PricePrec), "low": tk.Low.StringFixed(tk.PricePrec),
			"volume": tk.Volume.StringFixed(tk.VolumePrec),
			"ts":     json.Number(strconv.FormatInt(tk.TS, 10)),
		}
		if len(m) != len(want) {
			t.Fatalf("json decode of %s has %d fields, want %d", out, len(m), len(want))
		}
		for k, v := range want {
			if m[k] != v {
				t.Errorf("json decode of %s: %s = %#v, want %#v", out, k, m[k], v)
			}
		}
	}
}

// randomTick returns a tick whose prices have a random precision and may
// carry more decimals than it (so AppendTick rounds).
func randomTick(r *rand.Rand) Tick {
	symbols := []string{"AAPL", "BTC-USD", "ES=F", "BRK.B", "^GSPC", "EUR/USD", "X", "Ünïcödé", "tab\there", `q"uote`, "日本", "\u2028"}
	pp := int32(r.IntN(9))
	vp := int32(r.IntN(9))
	price := func(prec int32) decimal.Decimal {
		e := -prec
		if r.IntN(4) == 0 {
			e -= int32(r.IntN(4)) // more decimals than the precision
		}
		c := r.Int64N(1_000_000_000_000) - 1_000_000
		if r.IntN(20) == 0 {
			c = r.Int64() - r.Int64()
		}
		return decimal.New(c, e)
	}
	return Tick{
		Symbol: symbols[r.IntN(len(symbols))],
		Seq:    r.Uint64() >> r.IntN(64),
		Price:  price(pp), Bid: price(pp), Ask: price(pp), Open: price(pp), High: price(pp), Low: price(pp),
		Volume:    price(vp).Abs(),
		TS:        int64(r.Uint64()),
		PricePrec: pp, VolumePrec: vp,
	}
}

func TestSnapshotFromTick(t *testing.T) {
	tests := []struct {
		name, dst, in, want string
	}{
		{"tick", "", aaplJSON, string(AppendSnapshot(nil, aapl()))},
		{"appends", "x", aaplJSON, "x" + string(AppendSnapshot(nil, aapl()))},
		{"minimal", "", TickPrefix + `"symbol":"A"}`, SnapshotPrefix + `"symbol":"A"}`},
		{"snapshot unchanged", "", SnapshotPrefix + `"a":1}`, SnapshotPrefix + `"a":1}`},
		{"prefix only", "x", TickPrefix, "x"},
		{"empty", "x", "", "x"},
		{"other message", "x", `{"type":"pong","ts":1}`, "x"},
		{"spaced tick", "x", `{"type": "tick", "symbol":"A"}`, "x"},
		{"field order", "x", `{"symbol":"A","type":"tick"}`, "x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := SnapshotFromTick([]byte(tt.dst), []byte(tt.in)); string(got) != tt.want {
				t.Errorf("SnapshotFromTick(%q, %q) = %q, want %q", tt.dst, tt.in, got, tt.want)
			}
		})
	}
}

func TestReplies(t *testing.T) {
	num, str := []byte(`1`), []byte(`"a\"b"`)
	tests := []struct {
		name string
		got  []byte
		want string
	}{
		{"subscribed", AppendSubscribed(nil, num, Stream{}, []string{"AAPL", "BTC-USD"}), `{"type":"subscribed","id":1,"symbols":["AAPL","BTC-USD"]}`},
		{"subscribed no id", AppendSubscribed(nil, nil, Stream{}, []string{"AAPL"}), `{"type":"subscribed","symbols":["AAPL"]}`},
		{"subscribed empty id", AppendSubscribed(nil, []byte{}, Stream{}, nil), `{"type":"subscribed","symbols":[]}`},
		{"subscribed string id", AppendSubscribed([]byte("x"), str, Stream{}, nil), `x{"type":"subscribed","id":"a\"b","symbols":[]}`},
		{"subscribed trades", AppendSubscribed(nil, []byte(`5`), Stream{Channel: ChannelTrades}, []string{"AAPL"}),
			`{"type":"subscribed","id":5,"channel":"trades","symbols":["AAPL"]}`},
		{"subscribed candles", AppendSubscribed(nil, []byte(`7`), Stream{Channel: ChannelCandles, Interval: Interval1m}, []string{"AAPL"}),
			`{"type":"subscribed","id":7,"channel":"candles","interval":"1m","symbols":["AAPL"]}`},
		{"subscribed book", AppendSubscribed(nil, []byte(`9`), Stream{Channel: ChannelBook, Depth: 10}, []string{"BTC-USD"}),
			`{"type":"subscribed","id":9,"channel":"book","symbols":["BTC-USD"],"depth":10}`},
		{"subscribed stray fields", AppendSubscribed(nil, nil, Stream{Interval: Interval1h, Depth: 50}, []string{"A"}), `{"type":"subscribed","symbols":["A"]}`},
		{"unsubscribed", AppendUnsubscribed(nil, []byte(`2`), Stream{}, []string{"AAPL"}), `{"type":"unsubscribed","id":2,"symbols":["AAPL"]}`},
		{"unsubscribed trades", AppendUnsubscribed(nil, []byte(`10`), Stream{Channel: ChannelTrades}, []string{"AAPL"}),
			`{"type":"unsubscribed","id":10,"channel":"trades","symbols":["AAPL"]}`},
		{"unsubscribed candles", AppendUnsubscribed(nil, nil, Stream{Channel: ChannelCandles, Interval: Interval5m}, []string{"AAPL"}),
			`{"type":"unsubscribed","channel":"candles","interval":"5m","symbols":["AAPL"]}`},
		{"unsubscribed book", AppendUnsubscribed(nil, nil, Stream{Channel: ChannelBook}, []string{"BTC-USD"}),
			`{"type":"unsubscribed","channel":"book","symbols":["BTC-USD"]}`},
		{"search", AppendSearch(nil, []byte(`11`), "AA", []string{"AAL", "AAPL"}, false),
			`{"type":"search","id":11,"prefix":"AA","symbols":["AAL","AAPL"],"more":false}`},
		{"search more", AppendSearch(nil, nil, "", []string{"A"}, true), `{"type":"search","prefix":"","symbols":["A"],"more":true}`},
		{"search none", AppendSearch(nil, nil, "Q\"", nil, false), `{"type":"search","prefix":"Q\"","symbols":[],"more":false}`},
		{"gap", AppendGap(nil, ChannelTrades, "AAPL", 88101, 88110), `{"type":"gap","channel":"trades","symbol":"AAPL","from":88101,"to":88110}`},
		{"gap max", AppendGap(nil, ChannelTrades, "A", 1, math.MaxUint64), `{"type":"gap","channel":"trades","symbol":"A","from":1,"to":18446744073709551615}`},
		{"reset", AppendReset(nil, ChannelTrades, "AAPL", 2), `{"type":"reset","channel":"trades","symbol":"AAPL","epoch":2}`},
		{"reset quotes", AppendReset(nil, ChannelQuotes, "AAPL", 3), `{"type":"reset","channel":"quotes","symbol":"AAPL","epoch":3}`},
		{"delisted", AppendDelisted(nil, "AAPL261218C00190000", 1763718000123456789), `{"type":"delisted","symbol":"AAPL261218C00190000","ts":1763718000123456789}`},
		{"symbols", AppendSymbols(nil, []byte(`3`), []string{"AAPL", "MSFT", `we"ird`}), `{"type":"symbols","id":3,"symbols":["AAPL","MSFT","we\"ird"]}`},
		{"symbols seq", AppendSymbolsSeq(nil, []byte(`3`), slices.Values([]string{"AAPL", "MSFT", `we"ird`})), `{"type":"symbols","id":3,"symbols":["AAPL","MSFT","we\"ird"]}`},
		{"symbols seq none", AppendSymbolsSeq(nil, nil, slices.Values([]string(nil))), `{"type":"symbols","symbols":[]}`},
		{"pong", AppendPong(nil, []byte(`4`), 1763718000123456789), `{"type":"pong","id":4,"ts":1763718000123456789}`},
		{"pong no id", AppendPong(nil, nil, -1), `{"type":"pong","ts":-1}`},
		{"error", AppendError(nil, num, CodeUnknownSymbol, "unknown symbol: XYZ", []string{"XYZ"}),
			`{"type":"error","id":1,"code":"unknown_symbol","message":"unknown symbol: XYZ","symbols":["XYZ"]}`},
		{"error no symbols", AppendError(nil, nil, CodeBadRequest, "unknown field \"x\"\n", nil),
			`{"type":"error","code":"bad_request","message":"unknown field \"x\"\n"}`},
		{"error string id", AppendError(nil, []byte(`"req-7"`), CodeRateLimited, "slow down", []string{}),
			`{"type":"error","id":"req-7","code":"rate_limited","message":"slow down"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if string(tt.got) != tt.want {
				t.Errorf("%s = %s, want %s", tt.name, tt.got, tt.want)
			}
			if got := bytes.TrimPrefix(tt.got, []byte("x")); !json.Valid(got) {
				t.Errorf("%s is not valid JSON: %s", tt.name, got)
			}
		})
	}
}

func TestAppendString(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", `""`},
		{"AAPL", `"AAPL"`},
		{`a"b\c/d`, `"a\"b\\c/d"`},
		{"\n\r\t\b\f", `"\n\r\t\b\f"`},
		{"\x00\x01\x1f\x7f", `"\u0000\u0001\u001f` + "\x7f" + `"`},
		{"<script>&", `"<script>&"`},
		{"é日本🙂", `"é日本🙂"`},
		{"\u2028\u2029", `"\u2028\u2029"`},
		{"a\xffb", `"a\ufffdb"`},
		{"\xed\xa0\x80", `"\ufffd\ufffd\ufffd"`}, // an encoded surrogate is invalid UTF-8
		{"\xe6\x97", `"\ufffd\ufffd"`},
	}
	for _, tt := range tests {
		if got := string(AppendString(nil, tt.in)); got != tt.want {
			t.Errorf("AppendString(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

// TestAppendStringMatchesJSON checks AppendString against encoding/json on
// random strings of bytes, valid and not.
func TestAppendStringMatchesJSON(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	alphabet := []string{"a", "Z", "\"", "\\", "/", "\n", "\x00", "\x1f", "\x7f", "é", "\u2028", "\u2029", "🙂", "\xff", "\xc3", "\xed\xa0\x80", "<", "&"}
	for range 20000 {
		var b strings.Builder
		for range r.IntN(12) {
			b.WriteString(alphabet[r.IntN(len(alphabet))])
		}
		s := b.String()
		out := AppendString(nil, s)
		if !json.Valid(out) {
			t.Fatalf("AppendString(%q) = %s, not valid JSON", s, out)
		}
		var got string
		if err := json.Unmarshal(out, &got); err != nil {
			t.Fatalf("json.Unmarshal(AppendString(%q)): %v", s, err)
		}
		ref, _ := json.Marshal(s)
		var want string
		if err := json.Unmarshal(ref, &want); err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("AppendString(%q) reads back as %q, encoding/json as %q", s, got, want)
		}
		if utf8.ValidString(s) && got != s {
			t.Errorf("AppendString(%q) reads back as %q", s, got)
		}
	}
}

func TestAppendRequest(t *testing.T) {
	tests := []struct {
		req  Request
		want string
	}{
		{Request{Op: OpSubscribe, ID: []byte(`1`), Symbols: []string{"AAPL", "BTC-USD"}}, `{"op":"subscribe","id":1,"symbols":["AAPL","BTC-USD"]}`},
		{Request{Op: OpUnsubscribe, Symbols: []string{"AAPL"}}, `{"op":"unsubscribe","symbols":["AAPL"]}`},
		{Request{Op: OpList, ID: []byte(`"x"`)}, `{"op":"list","id":"x"}`},
		{Request{Op: OpPing}, `{"op":"ping"}`},
		{Request{Op: OpAuth, Token: "t\"ok"}, `{"op":"auth","token":"t\"ok"}`},
	}
	for _, tt := range tests {
		if got := AppendRequest(nil, &tt.req); string(got) != tt.want {
			t.Errorf("AppendRequest(%+v) = %s, want %s", tt.req, got, tt.want)
		}
	}
}
