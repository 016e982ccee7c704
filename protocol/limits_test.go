package protocol

import (
	"encoding/json"
	"testing"
)

func TestAppendLimits(t *testing.T) {
	l := ServerLimits{MaxMessageBytes: 65536, MaxSymbols: 1000, MaxRequestSymbols: 100,
		MessagesPerSecond: 20.5, Burst: 40, PingIntervalMS: 30000, BacklogTimeoutMS: 30000, Auth: true}
	// What the limits message was before the fields of the channels: it
	// must stay a prefix, for clients that read only these.
	const v1 = `{"type":"limits","max_message_bytes":65536,"max_symbols":1000,"max_request_symbols":100,"messages_per_second":20.5,"burst":40,"ping_interval_ms":30000,"backlog_timeout_ms":30000,"auth":true`
	for _, tc := range []struct {
		more func(*ServerLimits)
		want string
	}{
		{func(*ServerLimits) {}, v1 + `,"channels":[],"max_rate":0,"trade_history":0,"trade_history_ms":0,"candle_history":0,"book_depths":[],"compression":false}`},
		{func(l *ServerLimits) {
			l.Channels = []Channel{ChannelQuotes, ChannelTrades, ChannelCandles, ChannelBook}
			l.MaxRate, l.TradeHistory, l.TradeHistoryMS, l.CandleHistory = 2.5, 10000, 300000, 500
			l.BookDepths, l.Compression = []int{10, 50, 200}, true
		}, v1 + `,"channels":["quotes","trades","candles","book"],"max_rate":2.5,"trade_history":10000,"trade_history_ms":300000,"candle_history":500,"book_depths":[10,50,200],"compression":true}`},
	} {
		l := l
		tc.more(&l)
		got := string(AppendLimits(nil, &l))
		if got != tc.want {
			t.Errorf("AppendLimits = %s\nwant %s", got, tc.want)
		}
		if !json.Valid([]byte(got)) {
			t.Errorf("AppendLimits output is not valid JSON: %s", got)
		}
	}
}

func TestAppendAuthenticated(t *testing.T) {
	for _, tc := range []struct {
		id      string
		subject string
		exp     int64
		want    string
	}{
		{"7", "alice", 1763721600000000000, `{"type":"authenticated","id":7,"subject":"alice","expires":1763721600000000000}`},
		{"", `a"b`, 0, `{"type":"authenticated","subject":"a\"b","expires":0}`},
	} {
		var id []byte
		if tc.id != "" {
			id = []byte(tc.id)
		}
		if got := string(AppendAuthenticated(nil, id, tc.subject, tc.exp)); got != tc.want {
			t.Errorf("AppendAuthenticated(%q, %q, %d) = %s, want %s", tc.id, tc.subject, tc.exp, got, tc.want)
		}
	}
}
