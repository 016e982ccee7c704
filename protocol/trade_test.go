package protocol

import (
	"encoding/json"
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
