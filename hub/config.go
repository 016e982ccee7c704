package hub

import (
	"net/http"
	"runtime"
	"time"

	"github.com/tickerd/tickerd/internal/candle"
)

// Config holds the hub's limits. The zero value is ready to use: every zero
// field takes the default named beside it.
type Config struct {
	// Shards is the number of shard goroutines, each owning the writes of
	// its connections. Default: GOMAXPROCS.
	Shards int
	// Readers is the number of goroutines that read client frames when
	// epoll reports data. Default: GOMAXPROCS.
	Readers int

	// MaxConns caps open WebSocket connections; upgrades past it get 503.
	// Default 100,000.
	MaxConns int
	// MaxSymbolsPerConn caps the subscriptions of one connection.
	// Default 1,000.
	MaxSymbolsPerConn int
	// MaxSymbolsPerRequest caps the symbols named in one request.
	// Default 1,000.
	MaxSymbolsPerRequest int
	// MaxMessageBytes caps one client message (a frame or a fragmented
	// message); a larger one closes the connection with 1009. Default 64 KiB.
	MaxMessageBytes int

	// BacklogTimeout is how long a connection may stay unable to take its
	// pending data before it is closed with 1008 "slow consumer".
	// Default 30 s.
	BacklogTimeout time.Duration
	// PingInterval is how often the server pings every connection; a
	// connection from which nothing was read for two intervals is closed.
	// Default 30 s.
	PingInterval time.Duration
	// HandshakeTimeout bounds writing the upgrade response. Default 5 s.
	// (Reading the request is bounded by the http.Server's ReadHeaderTimeout.)
	HandshakeTimeout time.Duration
	// CloseTimeout is how long a closing connection waits for the client's
	// close frame before its socket is closed. Default 2 s.
	CloseTimeout time.Duration
	// SendBuffer is each connection's socket send buffer (SO_SNDBUF; the
	// kernel doubles it and stops autotuning it). A small buffer makes a
	// slow client's backlog visible to the hub early, so updates merge
	// instead of queueing seconds of old ticks in the kernel, and bounds
	// the kernel memory a client that stops reading can pin. Default
	// 64 KiB; negative: the kernel's autotuning.
	SendBuffer int
	// MaxPendingReplies caps replies (subscribed, errors, pongs) waiting to
	// be written to one connection; a client that sends requests faster
	// than it reads the answers is closed with 1008 "unread replies".
	// Default 256.
	MaxPendingReplies int
	// MaxPendingReplyBytes caps the bytes of those replies, counted from
	// the moment a reader makes one until the socket has taken it; past it
	// the client is closed with 1008 "unread replies". A reply is always
	// queued when nothing else is pending, so one larger reply (a long
	// symbol list) still goes out. Default 64 KiB.
	MaxPendingReplyBytes int
	// MaxReplayAge is how late an update may still be sent in order. A
	// subscription is sent every update of its stream, in order, while
	// the updates it is owed fit the stream's ring (8) and the oldest of
	// them is not older than MaxReplayAge; past that its client is behind
	// and gets the latest value only (a seq jump, counted in
	// Stats.Merged). Default 250 ms.
	MaxReplayAge time.Duration
	// TradeHistory, TradeHistoryAge and TradeHistoryBytes bound each
	// symbol's tape, the trade history "since" resumes from and slow
	// subscribers read from: at most TradeHistory trades (default
	// 10,000), none older than TradeHistoryAge when a trade comes
	// (default 5 min), at most TradeHistoryBytes of frames and
	// bookkeeping (default 4 MiB). The oldest go first.
	TradeHistory      int
	TradeHistoryAge   time.Duration
	TradeHistoryBytes int64
	// TradeLag is how far, in bytes of trade messages, a trades
	// subscription may fall behind its tape. A subscription owed more
	// skips to the newest TradeLag/2 bytes, and its client gets a "gap"
	// message naming the seqs it skipped. Default 512 KiB.
	TradeLag int
	// CandleHistory is how many closed candles per symbol and interval
	// the hub keeps and sends a new candles subscriber first (default
	// 500); CandleHistoryBytes bounds the whole candle store (default
	// 256 MiB; see internal/candle).
	CandleHistory      int
	CandleHistoryBytes int64
	// MaxRate caps the updates per second the server sends per
	// subscription, whatever max_rate a client asks for (announced in the
	// limits message as max_rate). Default 0: no cap.
	MaxRate float64

	// FrameTimeout is how long a client has to finish a frame, or a
	// fragmented message, once its first byte came; past it the connection
	// is closed with 1008, however many bytes of it keep trickling in.
	// A client that goes silent mid-frame is closed by the idle timeout
	// (PingInterval) instead. Default 10 s.
	FrameTimeout time.Duration

	// CheckOrigin reports whether the upgrade request may proceed. Nil
	// allows requests with no Origin header and those whose Origin host
	// equals the request's Host.
	CheckOrigin func(r *http.Request) bool

	// Authenticate, when set, makes every client authenticate with a
	// token: one that Token finds in the upgrade request, or the token of
	// an {"op":"auth"} request, which must then come within AuthTimeout
	// and before any other. A bad token in the upgrade request gets 401.
	// The Identity says what the client may subscribe to and until when;
	// at Expiry the connection is closed with CloseTokenExpired unless a
	// fresh token came in an auth request.
	Authenticate func(token string) (*Identity, error)
	// Token extracts a token from the upgrade request ("" for none).
	// Required with Authenticate.
	Token func(r *http.Request) string
	// AuthTimeout bounds the wait for an auth request. Default 10 s.
	AuthTimeout time.Duration

	// MessageRate is each client's sustained message rate (a token
	// bucket); a message over it gets a rate_limited error, and a client
	// that keeps sending over it is closed with 1008. Default 20 per
	// second; negative: unlimited.
	MessageRate float64
	// MessageBurst is how many messages may come at once. Default 40.
	MessageBurst int
	// MaxConnsPerIP caps the connections from one source address; past it
	// upgrades get 429. 0: no cap (the default, since a reverse proxy
	// sends every client from its own address).
	MaxConnsPerIP int

	// OnWatch, when set, is called when a symbol gains its first
	// subscriber (watched=true) and when it loses its last. It runs on a
	// shard goroutine and must not block.
	OnWatch func(symbol string, watched bool)
}

// Identity is what an authenticated client may do.
type Identity struct {
	Subject string
	Expiry  time.Time // zero: no expiry
	// Allows reports whether the client may subscribe to symbol. It is
	// called from the hub's goroutines, concurrently, and for every
	// subscription when a fresh token comes: it must be fast.
	Allows func(symbol string) bool
}

// CloseTokenExpired is the close code for a connection whose token
// expired: an application code (RFC 6455 4000-4999), so a client can tell
// it apart, fetch a fresh token and reconnect.
const CloseTokenExpired = 4001

func (c Config) withDefaults() Config {
	n := runtime.GOMAXPROCS(0)
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	defD := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&c.Shards, n)
	def(&c.Readers, n)
	def(&c.MaxConns, 100_000)
	def(&c.MaxSymbolsPerConn, 1000)
	def(&c.MaxSymbolsPerRequest, 1000)
	def(&c.MaxMessageBytes, 64<<10)
	def(&c.MaxPendingReplies, 256)
	def(&c.MaxPendingReplyBytes, 64<<10)
	c.MaxPendingReplyBytes = min(c.MaxPendingReplyBytes, 1<<30) // counted in an int32
	if c.SendBuffer == 0 {
		c.SendBuffer = 64 << 10
	}
	defD(&c.BacklogTimeout, 30*time.Second)
	defD(&c.PingInterval, 30*time.Second)
	defD(&c.HandshakeTimeout, 5*time.Second)
	defD(&c.CloseTimeout, 2*time.Second)
	defD(&c.FrameTimeout, 10*time.Second)
	defD(&c.MaxReplayAge, 250*time.Millisecond)
	def(&c.TradeHistory, 10_000)
	defD(&c.TradeHistoryAge, 5*time.Minute)
	if c.TradeHistoryBytes <= 0 {
		c.TradeHistoryBytes = 4 << 20
	}
	def(&c.TradeLag, 512<<10)
	def(&c.CandleHistory, candle.DefaultCandles)
	if c.CandleHistoryBytes <= 0 {
		c.CandleHistoryBytes = candle.DefaultMaxBytes
	}
	c.MaxRate = max(c.MaxRate, 0)
	defD(&c.AuthTimeout, 10*time.Second)
	if c.MessageRate == 0 {
		c.MessageRate = 20
	}
	def(&c.MessageBurst, 40)
	if c.CheckOrigin == nil {
		c.CheckOrigin = sameOrigin
	}
	return c
}
