package protocol

import (
	"encoding/json"
	"strings"
	"testing"
)

func aaplTrade() *Trade {
	return &Trade{Symbol: "AAPL", Seq: 88123, Price: dec("187.24"), Size: dec("100"), Side: SideBuy,
		TS: 1763718000123456789, PricePrec: 2, SizePrec: 0}
}

const aaplTradeJSON = `{"type":"trade","symbol":"AAPL","seq":88123,"price":"187.24","size":"100","side":"buy","ts":1763718000123456789}`

func TestAppendTrade(t *testing.T) {
	tests := []struct {
		name string
		in   *Trade
		want string
	}{
		{"aapl", aaplTrade(), aaplTradeJSON},
		{"crypto sell", &Trade{Symbol: "BTC-USD", Seq: 1, Price: dec("91549.3"), Size: dec("0.00012"), Side: SideSell, TS: -1, PricePrec: 2, SizePrec: 8},
			`{"type":"trade","symbol":"BTC-USD","seq":1,"price":"91549.30","size":"0.00012000","side":"sell","ts":-1}`},
		{"zero", &Trade{}, `{"type":"trade","symbol":"","seq":0,"price":"0","size":"0","side":"","ts":0}`},
		{"rounded", &Trade{Symbol: "X", Price: dec("1.005"), Size: dec("2.5"), Side: Side(9), PricePrec: 2},
			`{"type":"trade","symbol":"X","seq":0,"price":"1.01","size":"3","side":"","ts":0}`},
		{"escaped symbol", &Trade{Symbol: "a\"b", Price: dec("1"), Size: dec("1")},
			`{"type":"trade","symbol":"a\"b","seq":0,"price":"1","size":"1","side":"","ts":0}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := AppendTrade([]byte("x"), tt.in)
			if string(got) != "x"+tt.want {
				t.Errorf("AppendTrade(%s) =\n%s\nwant\nx%s", tt.name, got, tt.want)
			}
			if !json.Valid(got[1:]) {
				t.Errorf("AppendTrade(%s) is not valid JSON: %s", tt.name, got[1:])
			}
			replay := ReplayFromTrade(nil, got[1:])
			if want := tt.want[:len(tt.want)-1] + `,"replay":true}`; string(replay) != want {
				t.Errorf("ReplayFromTrade(%s) =\n%s\nwant\n%s", tt.name, replay, want)
			}
		})
	}
}

func TestReplayFromTrade(t *testing.T) {
	replay := aaplTradeJSON[:len(aaplTradeJSON)-1] + ReplaySuffix
	tests := []struct{ name, dst, in, want string }{
		{"live", "", aaplTradeJSON, replay},
		{"appends", "x", aaplTradeJSON, "x" + replay},
		{"already replay", "x", replay, "x" + replay},
		{"tick", "x", aaplJSON, "x"},
		{"prefix only", "x", TradePrefix + "}", "x"},
		{"no brace", "x", aaplTradeJSON[:len(aaplTradeJSON)-1], "x"},
		{"empty", "x", "", "x"},
	}
	for _, tt := range tests {
		if got := ReplayFromTrade([]byte(tt.dst), []byte(tt.in)); string(got) != tt.want {
			t.Errorf("ReplayFromTrade(%s) = %q, want %q", tt.name, got, tt.want)
		}
	}
}

type encoder struct {
	name string
	f    func(dst []byte) []byte
}

// encoders calls each encoder of the channel messages (not those of ticks)
// with typical arguments.
func encoders() []encoder {
	tr := aaplTrade()
	live := AppendTrade(nil, tr)
	lim := ServerLimits{Channels: []Channel{ChannelQuotes, ChannelTrades, ChannelCandles, ChannelBook}, BookDepths: []int{10, 50, 200}}
	id, syms := []byte(`9`), []string{"AAPL", "AAL", "AAP"}
	return []encoder{
		{"trade", func(dst []byte) []byte { return AppendTrade(dst, tr) }},
		{"replay", func(dst []byte) []byte { return ReplayFromTrade(dst, live) }},
		{"gap", func(dst []byte) []byte { return AppendGap(dst, ChannelTrades, "AAPL", 88101, 88110) }},
		{"reset", func(dst []byte) []byte { return AppendReset(dst, ChannelTrades, "AAPL", 2) }},
		{"delisted", func(dst []byte) []byte { return AppendDelisted(dst, "AAPL", 1763718000123456789) }},
		{"subscribed", func(dst []byte) []byte {
			return AppendSubscribed(dst, id, Stream{Channel: ChannelCandles, Interval: Interval5m}, syms)
		}},
		{"unsubscribed", func(dst []byte) []byte { return AppendUnsubscribed(dst, id, Stream{Channel: ChannelBook}, syms) }},
		{"search", func(dst []byte) []byte { return AppendSearch(dst, id, "AA", syms, true) }},
		{"limits", func(dst []byte) []byte { return AppendLimits(dst, &lim) }},
	}
}

// TestEncoderAllocs checks that the encoders do not allocate once dst has
// room, and write valid JSON.
func TestEncoderAllocs(t *testing.T) {
	buf := make([]byte, 0, 1024)
	for _, e := range encoders() {
		if n := testing.AllocsPerRun(100, func() { buf = e.f(buf[:0]) }); n != 0 {
			t.Errorf("%s allocates %v times per call, want 0", e.name, n)
		}
		if !json.Valid(buf) {
			t.Errorf("%s wrote invalid JSON: %s", e.name, buf)
		}
	}
}

// tradeWith returns the AAPL trade message with field name's value
// replaced by raw, or the field removed when raw is "".
func tradeWith(name, raw string) string {
	return messageWith([]string{`"type":"trade"`, `"symbol":"AAPL"`, `"seq":88123`, `"price":"187.24"`, `"size":"100"`,
		`"side":"buy"`, `"ts":1763718000123456789`}, name, raw)
}

func sameTrade(a, b Trade) bool {
	return a.Symbol == b.Symbol && a.Seq == b.Seq && a.Epoch == b.Epoch && a.Side == b.Side && a.TS == b.TS &&
		a.PricePrec == b.PricePrec && a.SizePrec == b.SizePrec && a.Price.Equal(b.Price) && a.Size.Equal(b.Size)
}

func TestDecodeTrade(t *testing.T) {
	replayed := aaplTradeJSON[:len(aaplTradeJSON)-1] + ReplaySuffix
	with := func(f func(*Trade)) *Trade { tr := aaplTrade(); f(tr); return tr }
	tests := []struct {
		name   string
		in     string
		want   *Trade // nil: an error containing msg
		replay bool
		msg    string
	}{
		{name: "doc example", in: aaplTradeJSON, want: aaplTrade()},
		{name: "replay", in: replayed, want: aaplTrade(), replay: true},
		{name: "replay false", in: strings.Replace(aaplTradeJSON, `}`, `,"replay":false}`, 1), want: aaplTrade()},
		{name: "replay first", in: `{"replay":true,` + aaplTradeJSON[1:], want: aaplTrade(), replay: true},
		{name: "reordered and spaced", in: ` { "ts" : 1763718000123456789 , "side":"buy","size":"100","price":"187.24","seq":88123,"symbol":"AAPL","type":"trade"} `, want: aaplTrade()},
		{name: "unknown fields ignored", in: strings.Replace(aaplTradeJSON, `"seq"`, `"venue":{"mic":"XNAS"},"seq"`, 1), want: aaplTrade()},
		{name: "sell", in: tradeWith("side", `"sell"`), want: with(func(t *Trade) { t.Side = SideSell })},
		{name: "unknown side", in: tradeWith("side", `""`), want: with(func(t *Trade) { t.Side = SideUnknown })},
		{name: "escaped side and symbol", in: tradeWith("side", `"s\u0065ll"`), want: with(func(t *Trade) { t.Side = SideSell })},
		{name: "size decimals", in: tradeWith("size", `"0.00012000"`), want: with(func(t *Trade) { t.Size = dec("0.00012"); t.SizePrec = 8 })},
		{name: "max seq", in: tradeWith("seq", `18446744073709551615`), want: with(func(t *Trade) { t.Seq = 1<<64 - 1 })},

		{name: "tick", in: aaplJSON, msg: `missing field "size"`},
		{name: "empty", in: ``, msg: "unexpected end of input"},
		{name: "wrong type", in: tradeWith("type", `"tick"`), msg: `type "tick" is not "trade"`},
		{name: "missing side", in: tradeWith("side", ""), msg: `missing field "side"`},
		{name: "duplicate", in: strings.Replace(aaplTradeJSON, `"seq":88123`, `"seq":1,"seq":2`, 1), msg: `duplicate field "seq"`},
		{name: "replay not bool", in: strings.Replace(aaplTradeJSON, `}`, `,"replay":1}`, 1), msg: "replay 1 is not true or false"},
		{name: "side other", in: tradeWith("side", `"short"`), msg: `side "short" is not "buy", "sell" or ""`},
		{name: "side number", in: tradeWith("side", `1`), msg: `side 1 is not`},
		{name: "empty symbol", in: tradeWith("symbol", `""`), msg: `symbol "" is not a non-empty string`},
		{name: "seq negative", in: tradeWith("seq", `-1`), msg: "seq -1 is not an unsigned 64-bit integer"},
		{name: "ts float", in: tradeWith("ts", `1.5`), msg: "ts 1.5 is not a 64-bit integer"},
		{name: "price number", in: tradeWith("price", `187.24`), msg: "price 187.24 is not a decimal string"},
		{name: "size exponent", in: tradeWith("size", `"1e2"`), msg: "size"},
		{name: "size escaped", in: tradeWith("size", `"1\u0030"`), msg: "size"},
		{name: "trailing data", in: aaplTradeJSON + "x", msg: "trailing data"},
		{name: "invalid UTF-8", in: tradeWith("symbol", "\"A\xffB\""), msg: "invalid UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, replay, err := DecodeTrade([]byte(tt.in))
			if tt.want == nil {
				if err == nil || !strings.Contains(err.Error(), tt.msg) || !strings.HasPrefix(err.Error(), "protocol: trade: ") {
					t.Errorf("DecodeTrade(%q) error %v, want one containing %q", tt.in, err, tt.msg)
				}
				return
			}
			if err != nil || replay != tt.replay || !sameTrade(got, *tt.want) {
				t.Errorf("DecodeTrade(%q) = %+v, %v, %v; want %+v, %v", tt.in, got, replay, err, *tt.want, tt.replay)
			}
		})
	}
}

func TestScanTrade(t *testing.T) {
	replayed := aaplTradeJSON[:len(aaplTradeJSON)-1] + ReplaySuffix
	tests := []struct {
		name, in string
		symbol   string
		seq      uint64
		ts       int64
		replay   bool
		ok       bool
	}{
		{"live", aaplTradeJSON, "AAPL", 88123, 1763718000123456789, false, true},
		{"replay", replayed, "AAPL", 88123, 1763718000123456789, true, true},
		{"reordered", `{"ts":-5,"replay":true,"seq":7,"symbol":"B","type":"trade"}`, "B", 7, -5, true, true},
		{"replay false", `{"type":"trade","symbol":"B","seq":7,"ts":1,"replay":false}`, "B", 7, 1, false, true},
		{"extra after ts", `{"type":"trade","symbol":"B","seq":7,"ts":1,"x":[1]}`, "B", 7, 1, false, true},
		{"tick", aaplJSON, "", 0, 0, false, false},
		{"replay not bool", `{"type":"trade","symbol":"B","seq":7,"ts":1,"replay":"yes"}`, "", 0, 0, false, false},
		{"no ts", `{"type":"trade","symbol":"B","seq":7}`, "", 0, 0, false, false},
		{"bad seq", `{"type":"trade","symbol":"B","seq":-7,"ts":1}`, "", 0, 0, false, false},
		{"truncated", replayed[:len(replayed)-1], "", 0, 0, false, false},
		{"not an object", `[]`, "", 0, 0, false, false},
	}
	for _, tt := range tests {
		sym, seq, ts, replay, ok := ScanTrade([]byte(tt.in))
		if string(sym) != tt.symbol || seq != tt.seq || ts != tt.ts || replay != tt.replay || ok != tt.ok {
			t.Errorf("ScanTrade(%s) = %q, %d, %d, %v, %v; want %q, %d, %d, %v, %v",
				tt.name, sym, seq, ts, replay, ok, tt.symbol, tt.seq, tt.ts, tt.replay, tt.ok)
		}
	}
	for _, in := range []string{aaplTradeJSON, replayed, `{"ts":-5,"replay":true,"seq":7,"symbol":"B","type":"trade"}`} {
		data := []byte(in)
		if n := testing.AllocsPerRun(100, func() { ScanTrade(data) }); n != 0 {
			t.Errorf("ScanTrade(%s) allocates %v times per call, want 0", in, n)
		}
	}
}
