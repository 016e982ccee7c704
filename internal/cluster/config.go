package cluster

import "time"

// Config configures a Publisher or an Edge. The zero value works; both
// sides of a cluster must agree on Prefix.
type Config struct {
	// Prefix is the first token of every subject (PREFIX.tick.TOKEN,
	// PREFIX.symbols, PREFIX.heartbeat) and the stream is PREFIX_last.
	// Letters, digits, '-' and '_'. Default "tickerd".
	Prefix string

	// Replicas is the number of copies of the last-value stream the
	// Publisher creates. 0 keeps an existing stream's count and creates a
	// new one with 3 replicas, or 1 on a server that is not clustered.
	Replicas int
	// FileStorage keeps the stream on disk; by default it is in memory
	// (it only holds the newest tick of each symbol, which the feed keeps
	// rewriting).
	FileStorage bool
	// PublishOnly makes the Publisher hand nothing to its local sink: a
	// dedicated feed node that serves no clients itself.
	PublishOnly bool

	// Heartbeat is how often the Publisher tells edges it is alive.
	// Default 1 s.
	Heartbeat time.Duration
	// FeedTimeout is how long an Edge goes without a heartbeat before it
	// reports the feed node down. Default 3 heartbeats.
	FeedTimeout time.Duration
	// RequestTimeout bounds one JetStream request. Default 2 s.
	RequestTimeout time.Duration
	// Buffer is how many received messages an Edge holds before handing
	// them to the hub; when it is full NATS drops new ones (counted as a
	// slow consumer; ticks carry the full state, so the next one heals
	// it). Default 8192.
	Buffer int
	// Settle is how long after a new subscription or a reconnect an Edge
	// fetches the last values a second time, to cover ticks published
	// while the server was still learning of the new interest. Default 1 s.
	Settle time.Duration
}

func (c Config) withDefaults() Config {
	if c.Heartbeat <= 0 {
		c.Heartbeat = time.Second
	}
	if c.FeedTimeout <= 0 {
		c.FeedTimeout = 3 * c.Heartbeat
	}
	if c.RequestTimeout <= 0 {
		c.RequestTimeout = 2 * time.Second
	}
	if c.Buffer <= 0 {
		c.Buffer = 8192
	}
	if c.Settle <= 0 {
		c.Settle = time.Second
	}
	return c
}
