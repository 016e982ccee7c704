package protocol

import "strconv"

// Limits a server announces to each client in a "limits" message, the
// first message on every connection:
//
//	{"type":"limits","max_message_bytes":65536,"max_symbols":1000,"max_request_symbols":1000,
//	 "messages_per_second":20,"burst":40,"ping_interval_ms":30000,"backlog_timeout_ms":30000,"auth":false,
//	 "channels":["quotes","trades","candles","book"],"max_rate":0,"trade_history":10000,
//	 "trade_history_ms":300000,"candle_history":500,"book_depths":[10,50,200],"compression":true}
//
// Fields are only ever added at the end, so a client may read a prefix.
type ServerLimits struct {
	MaxMessageBytes   int     // larger client messages close the connection (1009)
	MaxSymbols        int     // subscriptions per connection
	MaxRequestSymbols int     // symbols in one request
	MessagesPerSecond float64 // sustained client message rate; 0: unlimited
	Burst             int     // messages allowed at once above the rate
	PingIntervalMS    int64   // the server pings this often; silence for two intervals closes
	BacklogTimeoutMS  int64   // a client this far behind is closed (1008 slow consumer)
	Auth              bool    // a token is required (Authorization header, ?token= or an auth message)

	Channels []Channel // the channels the server carries
	// MaxRate is the most updates per second per subscription the server
	// sends this client, whatever the max_rate it asks for; 0: no cap
	// below MaxMaxRate.
	MaxRate        float64
	TradeHistory   int   // trades kept per symbol for "since"
	TradeHistoryMS int64 // and for how long, at most
	CandleHistory  int   // closed candles a candles subscribe starts with, at most
	BookDepths     []int // the book depths a client may ask for
	Compression    bool  // permessage-deflate can be negotiated
}

// AppendLimits appends the "limits" message for l.
func AppendLimits(dst []byte, l *ServerLimits) []byte {
	dst = append(dst, `{"type":"limits","max_message_bytes":`...)
	dst = strconv.AppendInt(dst, int64(l.MaxMessageBytes), 10)
	dst = append(dst, `,"max_symbols":`...)
	dst = strconv.AppendInt(dst, int64(l.MaxSymbols), 10)
	dst = append(dst, `,"max_request_symbols":`...)
	dst = strconv.AppendInt(dst, int64(l.MaxRequestSymbols), 10)
	dst = append(dst, `,"messages_per_second":`...)
	dst = strconv.AppendFloat(dst, l.MessagesPerSecond, 'f', -1, 64)
	dst = append(dst, `,"burst":`...)
	dst = strconv.AppendInt(dst, int64(l.Burst), 10)
	dst = append(dst, `,"ping_interval_ms":`...)
	dst = strconv.AppendInt(dst, l.PingIntervalMS, 10)
	dst = append(dst, `,"backlog_timeout_ms":`...)
	dst = strconv.AppendInt(dst, l.BacklogTimeoutMS, 10)
	dst = append(dst, `,"auth":`...)
	dst = strconv.AppendBool(dst, l.Auth)
	dst = append(dst, `,"channels":[`...)
	for i, c := range l.Channels {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = AppendString(dst, c.String())
	}
	dst = append(dst, `],"max_rate":`...)
	dst = strconv.AppendFloat(dst, l.MaxRate, 'f', -1, 64)
	dst = append(dst, `,"trade_history":`...)
	dst = strconv.AppendInt(dst, int64(l.TradeHistory), 10)
	dst = append(dst, `,"trade_history_ms":`...)
	dst = strconv.AppendInt(dst, l.TradeHistoryMS, 10)
	dst = append(dst, `,"candle_history":`...)
	dst = strconv.AppendInt(dst, int64(l.CandleHistory), 10)
	dst = append(dst, `,"book_depths":[`...)
	for i, d := range l.BookDepths {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = strconv.AppendInt(dst, int64(d), 10)
	}
	dst = append(dst, `],"compression":`...)
	dst = strconv.AppendBool(dst, l.Compression)
	return append(dst, '}')
}

// AppendAuthenticated appends the reply to a successful "auth" request:
//
//	{"type":"authenticated","id":7,"subject":"alice","expires":1763721600000000000}
//
// expires is Unix nanoseconds, 0 when the token does not expire.
func AppendAuthenticated(dst []byte, id []byte, subject string, expires int64) []byte {
	dst = appendReplyStart(dst, "authenticated", id)
	dst = append(dst, `,"subject":`...)
	dst = AppendString(dst, subject)
	dst = append(dst, `,"expires":`...)
	dst = strconv.AppendInt(dst, expires, 10)
	return append(dst, '}')
}
