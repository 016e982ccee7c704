package tickerd

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/tickerd/tickerd/feed"
	"github.com/tickerd/tickerd/feed/coinbase"
	"github.com/tickerd/tickerd/feed/replay"
	"github.com/tickerd/tickerd/feed/sim"
	"github.com/tickerd/tickerd/hub"
	"github.com/tickerd/tickerd/internal/cluster"
	"github.com/tickerd/tickerd/internal/front"
)

// Config configures a Server. The zero value serves the simulated market
// on :8080 with every default; each zero field takes the default named
// beside it.
type Config struct {
	// Addr is the address ListenAndServe listens on. Default ":8080".
	Addr string

	// Feed is where updates come from: a feed of your own. Nil: the
	// built-in feed Source names. With Cluster.Role RoleEdge the updates
	// come from NATS and Feed must be nil.
	Feed feed.Feed
	// Source names a built-in feed, used when Feed is nil:
	//
	//	"sim" or ""            the simulated market, configured by Sim
	//	"idle"                 the simulated market's symbols with no updates
	//	                       (for measuring what idle connections cost)
	//	"replay:FILE"          recorded ticks (NDJSON or CSV), played per Replay
	//	"coinbase[:PRODUCTS]"  Coinbase Exchange, configured by Coinbase
	Source   string
	Sim      sim.Config
	Replay   replay.Config
	Coinbase coinbase.Config
	// Record, when set, receives every tick the server's hub is given, as
	// NDJSON that Source "replay:FILE" plays (not on a RoleFeed node,
	// which has no hub). The server flushes it when Run returns; closing
	// it is the caller's.
	Record io.Writer
	// FeedRestart is the first wait before a feed that panicked is run
	// again; each panic in a row doubles it, up to FeedRestartMax.
	// Defaults 1 s and 1 min.
	FeedRestart, FeedRestartMax time.Duration

	// Cluster makes the server a node that shares one feed with others
	// through NATS. The zero value is a single node: nothing leaves the
	// process.
	Cluster ClusterConfig

	// Hub holds the WebSocket hub's limits. Its Authenticate and Token
	// are set from Auth, and OnWatch from the feed when the feed is a
	// feed.Watcher; leave them nil.
	Hub hub.Config
	// Auth, when set, makes every client authenticate with a token, and
	// decides which symbols it may watch, on /ws and /api/symbols alike.
	// NewJWTAuth returns one that verifies JWTs.
	Auth Authenticator
	// AllowedOrigins lists the Origins a browser may connect from: host
	// names ("example.com", "example.com:8443"), full origins
	// ("https://example.com"), or "*" for any. Empty: same host only, or
	// any Origin when Auth is set (the token is the credential then).
	// Hub.CheckOrigin, when set, is used instead.
	AllowedOrigins []string
	// TLS, when set, makes Serve answer HTTPS and wss:// with it (it
	// needs a certificate: Certificates or GetCertificate).
	TLS *tls.Config
	// HTTP holds the HTTP server's timeouts and header limit, for Serve.
	HTTP HTTPConfig

	// Logger receives the server's logs; nil discards them.
	Logger *slog.Logger

	// ReadyMaxFeedAge is how long the feed may go without an update before
	// /readyz says 503. 0: DefaultReadyMaxFeedAge (not checked with
	// Source "idle"); negative: not checked, for a feed that is quiet by
	// design.
	ReadyMaxFeedAge time.Duration
	// DrainWindow is the time over which clients are closed with 1001 at
	// shutdown, in random order, so they do not all reconnect at once.
	// Default 5 s; negative closes all at once.
	DrainWindow time.Duration
}

// HTTPConfig bounds what one HTTP connection may hold. A WebSocket
// connection leaves the HTTP server at its upgrade: past it, none of these
// apply (the hub has its own ping and backlog timeouts).
type HTTPConfig struct {
	// ReadHeaderTimeout bounds reading a request's header, the WebSocket
	// handshake included. Default 5 s.
	ReadHeaderTimeout time.Duration
	// ReadTimeout bounds reading a whole request. Default 10 s.
	ReadTimeout time.Duration
	// WriteTimeout bounds writing a response, from the end of the
	// request's header. Default 10 s.
	WriteTimeout time.Duration
	// IdleTimeout is how long a keep-alive connection may wait for its
	// next request before it is closed. Default 30 s. Over TLS only: on
	// a plain listener a request that is not a WebSocket handshake is
	// its connection's last.
	IdleTimeout time.Duration
	// MaxHeaderBytes caps a request's header. Default 8 KiB.
	MaxHeaderBytes int
	// MaxWaiting caps the connections that wait on the client: those
	// whose first request's header has not arrived yet and, over TLS,
	// keep-alive ones idle between requests; past the cap the one that
	// has waited longest is closed. On a plain listener each holds the
	// bytes it sent and about 1.5 KiB besides (no goroutine); over TLS,
	// net/http's goroutine and buffers, about 20 KiB, until
	// ReadHeaderTimeout or IdleTimeout. Applies to Serve and
	// ListenAndServe. Default 1,024.
	MaxWaiting int
	// Handshakes is how many WebSocket handshakes run at once on a plain
	// listener; the others wait in arrival order (at most MaxWaiting of
	// them: past it a new one gets 503). Few at a time, a reconnect storm
	// leaves the CPU to the connections already open: their requests and
	// resumed tapes do not wait behind a thousand handshakes. A handshake
	// that waits (an Authenticate that asks another service) needs more.
	// Default: half of GOMAXPROCS, at least 1.
	Handshakes int
	// MaxSnapshots is the most snapshots one GET /api/symbols answer
	// holds (about 250 bytes each). A request whose answer would hold
	// more gets 400 and is told to ask for part of the list with
	// ?prefix= or ?symbols=. Default DefaultMaxSnapshots.
	MaxSnapshots int
}

// ClusterConfig makes a server a node of a cluster that shares one feed
// through NATS (JetStream): a feed node publishes its feed, edges serve
// clients from it. It is off unless NATS or EmbedAddr is set.
type ClusterConfig struct {
	// NATS lists the NATS servers' URLs ("nats://10.0.0.1:4222"). The
	// client learns the rest of the cluster from them and reconnects
	// forever. Credentials in a URL are never logged.
	NATS []string
	// Role is what this node does. Default RoleBoth.
	Role Role
	// EmbedAddr, when set, starts a NATS server with JetStream in this
	// process, listening on this address ("127.0.0.1:4222"), for a demo
	// or a single machine; NATS defaults to it. It stops when Run
	// returns.
	EmbedAddr string
	// EmbedStoreDir is the embedded server's JetStream directory. Empty: a
	// temporary directory, removed when it stops.
	EmbedStoreDir string
	// Prefix is the first token of every NATS subject and the start of
	// every stream's name, the same on every node of a cluster: clusters
	// that share NATS servers each take their own. Letters, digits, '-'
	// and '_' (a feed node's New, or an edge's Run, refuses others).
	// Default "tickerd".
	Prefix string
	// Replicas is the number of copies of each stream a feed node
	// creates. 0 keeps an existing stream's count, and creates a new one
	// with 3 on a cluster, 1 on a single server.
	Replicas int
	// FileStorage keeps the streams on disk instead of in memory, so a
	// feed node can continue its seqs after every NATS server restarted.
	FileStorage bool
	// LastBytes, TradeBytes and CandleBytes bound the streams a feed node
	// creates: every symbol's definition, last tick and last book
	// snapshot; the recent trades; the closed candles. Defaults 64, 64
	// and 32 MiB. A memory stream's bound is reserved in the JetStream
	// memory of each NATS server that holds a replica, whether used or
	// not: 160 MiB with the defaults. An embedded NATS server (EmbedAddr)
	// gets 256 MiB of JetStream memory plus the bounds set here.
	LastBytes, TradeBytes, CandleBytes int64
	// TradeHistory and TradeAge bound each symbol's trades kept in NATS
	// for edges (and, through them, clients resuming with "since"):
	// defaults the last 10,000, none older than 5 minutes. CandleHistory
	// is how many closed candles are kept per symbol and interval;
	// default 500. A feed node's settings.
	TradeHistory  int
	TradeAge      time.Duration
	CandleHistory int
	// Wait is how long an edge waits at start for the feed node's symbol
	// list before Run gives up with an error saying so. Default 30 s.
	Wait time.Duration
}

// on reports whether the server is a cluster node.
func (c ClusterConfig) on() bool { return len(c.NATS) > 0 || c.EmbedAddr != "" }

// Role is what a cluster node does.
type Role string

const (
	// RoleBoth publishes the feed to NATS and serves clients from it.
	RoleBoth Role = "both"
	// RoleFeed publishes the feed to NATS and serves no WebSocket
	// clients: it has no hub, and /ws, /api/symbols and the dashboard are
	// not routed.
	RoleFeed Role = "feed"
	// RoleEdge serves clients from the feed node's updates in NATS; it
	// runs no feed of its own.
	RoleEdge Role = "edge"
)

// UnmarshalText sets r from "both", "feed" or "edge", so a Role can be a
// flag (flag.TextVar).
func (r *Role) UnmarshalText(b []byte) error {
	switch v := Role(b); v {
	case RoleBoth, RoleFeed, RoleEdge:
		*r = v
		return nil
	}
	return fmt.Errorf("role %q: want both, feed or edge", b)
}

// MarshalText returns the role's name; the zero Role is "both".
func (r Role) MarshalText() ([]byte, error) {
	if r == "" {
		return []byte(RoleBoth), nil
	}
	return []byte(r), nil
}

// DefaultReadyMaxFeedAge is how long the feed may go without an update
// before /readyz reports the server unready, unless configured otherwise.
const DefaultReadyMaxFeedAge = 10 * time.Second

// withDefaults checks c and fills in every default.
func (c Config) withDefaults() (Config, error) {
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Addr == "" {
		c.Addr = ":8080"
	}
	defD := func(v *time.Duration, d time.Duration) {
		if *v == 0 {
			*v = d
		}
	}
	defD(&c.HTTP.ReadHeaderTimeout, 5*time.Second)
	defD(&c.HTTP.ReadTimeout, 10*time.Second)
	defD(&c.HTTP.WriteTimeout, 10*time.Second)
	defD(&c.HTTP.IdleTimeout, 30*time.Second)
	if c.HTTP.MaxWaiting <= 0 {
		c.HTTP.MaxWaiting = 1024
	}
	if c.HTTP.Handshakes <= 0 {
		c.HTTP.Handshakes = front.DefaultHandshakes()
	}
	if c.HTTP.MaxHeaderBytes <= 0 {
		c.HTTP.MaxHeaderBytes = 8 << 10
	}
	if c.HTTP.MaxSnapshots <= 0 {
		c.HTTP.MaxSnapshots = DefaultMaxSnapshots
	}
	defD(&c.DrainWindow, 5*time.Second)
	c.DrainWindow = max(c.DrainWindow, 0)
	if c.ReadyMaxFeedAge == 0 {
		c.ReadyMaxFeedAge = DefaultReadyMaxFeedAge
		if c.Feed == nil && c.Source == "idle" {
			c.ReadyMaxFeedAge = -1 // quiet by design
		}
	}
	defD(&c.FeedRestart, time.Second)
	defD(&c.FeedRestartMax, time.Minute)
	defD(&c.Cluster.Wait, 30*time.Second)
	if c.Cluster.Role == "" {
		c.Cluster.Role = RoleBoth
	}

	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	for name, d := range map[string]time.Duration{
		"HTTP.ReadHeaderTimeout": c.HTTP.ReadHeaderTimeout, "HTTP.ReadTimeout": c.HTTP.ReadTimeout,
		"HTTP.WriteTimeout": c.HTTP.WriteTimeout, "HTTP.IdleTimeout": c.HTTP.IdleTimeout,
		"FeedRestart": c.FeedRestart, "FeedRestartMax": c.FeedRestartMax, "Cluster.Wait": c.Cluster.Wait,
		"Cluster.TradeAge": c.Cluster.TradeAge,
	} {
		if d < 0 {
			bad("%s %v: must not be negative", name, d)
		}
	}
	if c.FeedRestartMax < c.FeedRestart {
		bad("FeedRestartMax %v is below FeedRestart %v", c.FeedRestartMax, c.FeedRestart)
	}
	var role Role
	if err := role.UnmarshalText([]byte(c.Cluster.Role)); err != nil {
		bad("Cluster.%w", err)
	}
	if !c.Cluster.on() && c.Cluster.Role != RoleBoth {
		bad("Cluster.Role %s needs Cluster.NATS or Cluster.EmbedAddr", c.Cluster.Role)
	}
	if c.Cluster.Role == RoleEdge && c.Feed != nil {
		bad("Cluster.Role edge takes its updates from NATS: Feed must be nil")
	}
	if c.Cluster.Role == RoleFeed && c.Record != nil {
		bad("Record takes what the hub is given, and a Cluster.Role feed node has no hub")
	}
	for name, n := range map[string]int64{
		"Cluster.Replicas": int64(c.Cluster.Replicas), "Cluster.LastBytes": c.Cluster.LastBytes,
		"Cluster.TradeBytes": c.Cluster.TradeBytes, "Cluster.CandleBytes": c.Cluster.CandleBytes,
		"Cluster.TradeHistory": int64(c.Cluster.TradeHistory), "Cluster.CandleHistory": int64(c.Cluster.CandleHistory),
	} {
		if n < 0 {
			bad("%s %d: must not be negative", name, n)
		}
	}
	if c.Feed != nil && c.Source != "" {
		bad("both Feed and Source %q are set", c.Source)
	}
	if c.Hub.Authenticate != nil || c.Hub.Token != nil {
		bad("Hub.Authenticate and Hub.Token are set from Auth; leave them nil")
	}
	if c.TLS != nil && len(c.TLS.Certificates) == 0 && c.TLS.GetCertificate == nil && c.TLS.GetConfigForClient == nil {
		bad("TLS has no certificate")
	}
	if err := errors.Join(errs...); err != nil {
		return c, fmt.Errorf("tickerd: config: %w", err)
	}
	return c, nil
}

// redactURLs returns urls with their credentials replaced
// (cluster.RedactURL), for logs.
func redactURLs(urls []string) []string {
	out := make([]string, len(urls))
	for i, u := range urls {
		out[i] = cluster.RedactURL(u)
	}
	return out
}

// LogValue is the configuration as it is logged at start: every setting
// that is not a function, with any credentials in URLs replaced by
// "xxxxx".
func (c Config) LogValue() slog.Value {
	source := c.Source
	if c.Feed != nil {
		source = fmt.Sprintf("%T", c.Feed)
	}
	auth := "off"
	if c.Auth != nil {
		auth = fmt.Sprintf("%T", c.Auth)
	}
	h := c.Hub
	attrs := []slog.Attr{
		slog.String("addr", c.Addr),
		slog.String("feed", source),
		slog.Group("sim", "seed", c.Sim.Seed, "rate", c.Sim.Rate, "symbols", c.Sim.Symbols, "steady", c.Sim.Steady),
		slog.Bool("record", c.Record != nil),
		slog.Group("cluster",
			"nats", redactURLs(c.Cluster.NATS), "role", string(c.Cluster.Role),
			"embed", c.Cluster.EmbedAddr, "embed_store", c.Cluster.EmbedStoreDir, "prefix", c.Cluster.Prefix,
			"replicas", c.Cluster.Replicas, "file", c.Cluster.FileStorage, "wait", c.Cluster.Wait,
			"last_bytes", c.Cluster.LastBytes, "trade_bytes", c.Cluster.TradeBytes, "candle_bytes", c.Cluster.CandleBytes,
			"trade_history", c.Cluster.TradeHistory, "trade_age", c.Cluster.TradeAge, "candle_history", c.Cluster.CandleHistory),
		slog.Group("hub",
			"shards", h.Shards, "max_conns", h.MaxConns, "max_conns_per_ip", h.MaxConnsPerIP,
			"max_symbols", h.MaxSymbolsPerConn, "max_request_symbols", h.MaxSymbolsPerRequest,
			"max_message", h.MaxMessageBytes, "message_rate", h.MessageRate, "message_burst", h.MessageBurst,
			"backlog_timeout", h.BacklogTimeout, "ping_interval", h.PingInterval,
			"handshake_timeout", h.HandshakeTimeout, "auth_timeout", h.AuthTimeout),
		slog.Group("http",
			"read_header_timeout", c.HTTP.ReadHeaderTimeout, "read_timeout", c.HTTP.ReadTimeout,
			"write_timeout", c.HTTP.WriteTimeout, "idle_timeout", c.HTTP.IdleTimeout,
			"max_header_bytes", c.HTTP.MaxHeaderBytes, "max_waiting", c.HTTP.MaxWaiting, "handshakes", c.HTTP.Handshakes, "max_snapshots", c.HTTP.MaxSnapshots),
		slog.String("auth", auth),
		slog.Any("allowed_origins", c.AllowedOrigins),
		slog.Bool("tls", c.TLS != nil),
		slog.Duration("ready_max_feed_age", c.ReadyMaxFeedAge),
		slog.Duration("drain", c.DrainWindow),
	}
	if c.Feed == nil && c.Coinbase.URL != "" {
		attrs = append(attrs, slog.String("coinbase_url", cluster.RedactURL(c.Coinbase.URL)))
	}
	return slog.GroupValue(attrs...)
}
