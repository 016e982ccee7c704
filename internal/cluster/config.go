package cluster

import "time"

// Config configures a Publisher or an Edge. The zero value works; both
// sides of a cluster must agree on Prefix. The stream limits (Last*,
// Trade*, Candle*) are the Publisher's, which creates the streams; a
// memory stream's byte limits are reserved in each NATS server's
// JetStream memory (the defaults take 160 MiB of it).
type Config struct {
	// Prefix is the first token of every subject and the start of every
	// stream's name (PREFIX_last, PREFIX_trades, PREFIX_candles).
	// Letters, digits, '-' and '_'. Default "tickerd".
	Prefix string

	// Replicas is the number of copies of each stream the Publisher
	// creates. 0 keeps an existing stream's count and creates a new one
	// with 3 replicas, or 1 on a server that is not clustered.
	Replicas int
	// FileStorage keeps the streams on disk; by default they are in
	// memory, so a NATS cluster that restarts whole loses them and a feed
	// node that then starts begins new seq spaces (see Epochs in the
	// package doc).
	FileStorage bool
	// PublishOnly makes the Publisher hand nothing to its local sink: a
	// dedicated feed node that serves no clients itself.
	PublishOnly bool

	// LastBytes bounds the last-value stream: every symbol's definition,
	// last tick and last book snapshot. Default 64 MiB.
	LastBytes int64
	// TradeHistory and TradeAge bound each symbol's trades kept for
	// edges (and, through them, for clients resuming with "since"):
	// default the last 10,000, and none older than 5 minutes. TradeBytes
	// bounds the whole trade stream; default 64 MiB.
	TradeHistory int
	TradeAge     time.Duration
	TradeBytes   int64
	// CandleHistory is how many closed candles are kept per symbol and
	// interval; default 500. CandleBytes bounds the candle stream;
	// default 32 MiB.
	CandleHistory int
	CandleBytes   int64

	// BookSnapshot is how often the Publisher stores a full snapshot of
	// each book that changed, for edges that start watching it. Default
	// 1 s; edges that need one sooner ask for it.
	BookSnapshot time.Duration
	// BookMaxSideBytes bounds a side of the Publisher's copy of each book
	// (book.Config.MaxSideBytes; 0 is that package's default). Give it the
	// hub's value, so both drop the same levels.
	BookMaxSideBytes int
	// BookBuffer bounds the book updates an Edge holds for one symbol
	// while it waits for a snapshot to apply them to, in bytes, the oldest
	// going first; over all symbols it holds 16 times that at most.
	// Default 1 MiB.
	BookBuffer int

	// DelistTTL is how long a delisting stays in the last-value stream,
	// for edges that were disconnected when it happened. Default 1 hour.
	DelistTTL time.Duration

	// Heartbeat is how often the Publisher tells edges it is alive.
	// Default 1 s.
	Heartbeat time.Duration
	// FeedTimeout is how long an Edge goes without a heartbeat before it
	// reports the feed node down. Default 3 heartbeats.
	FeedTimeout time.Duration
	// StaleAfter is how long an Edge drops a symbol's updates as older
	// than what it delivered before Health reports it. Default 3 s.
	StaleAfter time.Duration
	// RequestTimeout bounds one JetStream request, and the wait for the
	// next message while reading a stream. Default 2 s.
	RequestTimeout time.Duration
	// Buffer is how many received messages an Edge holds before handing
	// them to the hub; when it is full NATS drops new ones (counted as a
	// slow consumer; ticks carry the full state, so the next one heals
	// it, and a book resyncs from a snapshot). Default 8192. In bytes that
	// is at most Buffer times the largest message: a tick takes a few
	// hundred bytes, a book update a few dozen, a snapshot 3 to 6 a level.
	Buffer int
	// MirrorBytes bounds what an Edge's stream readers (trades, candles,
	// listings) hold ahead of it; at least the server's largest message.
	// Default 1 MiB.
	MirrorBytes int
	// Settle is how long after a new subscription or a reconnect an Edge
	// fetches the last values a second time, to cover ticks published
	// while the server was still learning of the new interest. Default 1 s.
	Settle time.Duration
}

func (c Config) withDefaults() Config {
	def := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	defInt := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	defBytes := func(v *int64, d int64) {
		if *v <= 0 {
			*v = d
		}
	}
	defBytes(&c.LastBytes, 64<<20)
	defInt(&c.TradeHistory, 10_000)
	def(&c.TradeAge, 5*time.Minute)
	defBytes(&c.TradeBytes, 64<<20)
	defInt(&c.CandleHistory, 500)
	defBytes(&c.CandleBytes, 32<<20)
	def(&c.BookSnapshot, time.Second)
	defInt(&c.BookBuffer, 1<<20)
	def(&c.DelistTTL, time.Hour)
	def(&c.Heartbeat, time.Second)
	def(&c.FeedTimeout, 3*c.Heartbeat)
	def(&c.StaleAfter, 3*time.Second)
	def(&c.RequestTimeout, 2*time.Second)
	defInt(&c.Buffer, 8192)
	defInt(&c.MirrorBytes, 1<<20)
	def(&c.Settle, time.Second)
	return c
}
