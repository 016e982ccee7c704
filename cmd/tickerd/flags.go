package main

import (
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"strings"
	"time"

	"github.com/tickerd/tickerd"
	"github.com/tickerd/tickerd/feed/coinbase"
	"github.com/tickerd/tickerd/feed/replay"
	"github.com/tickerd/tickerd/feed/sim"
	"github.com/tickerd/tickerd/feed/source"
	"github.com/tickerd/tickerd/hub"
	"github.com/tickerd/tickerd/internal/cluster"
	"github.com/tickerd/tickerd/protocol"
)

// options holds every flag's value, typed.
type options struct {
	addr          string
	logLevel      slog.Level
	gcPercent     int
	pprof         string
	flagsMarkdown bool

	feed                   string
	seed                   int64
	rate                   float64
	symbols                int
	steady                 bool
	universe, bookDepth    int
	universeDay            time.Duration
	quotesOnly             bool
	replaySpeed            float64
	replayLoop, replayTS   bool
	record                 string
	cbProducts, cbURL      string
	cbOnDemand             bool
	shards, maxConns       int
	maxSymbols, maxPerReq  int
	maxMessage             int
	backlog, ping, upgrade time.Duration
	msgRate                float64
	msgBurst, perIP        int
	compression            bool
	compressMin            int
	drain, readyAge        time.Duration
	maxRate                float64
	replayAge              time.Duration
	tradeLagKiB            int

	readHeader, read, write, idle time.Duration
	maxHeader, maxSnapshots       int
	maxWaiting                    int

	origins                   string
	authSecret, authPub, jwks string
	authIssuer, authAudience  string
	authWait                  time.Duration
	tlsCert, tlsKey           string
	nats, embed, store        string
	role                      tickerd.Role
	replicas                  int
	fileStorage               bool
	natsWait                  time.Duration
	prefix                    string
	lastMiB, tradeMiB         int64
	candleMiB                 int64
	tradeHistory, candles     int
	tradeAge                  time.Duration
}

// flags defines the flag set over o, with its defaults.
func flags(o *options) *flag.FlagSet {
	fs := flag.NewFlagSet("tickerd", flag.ContinueOnError)
	fs.StringVar(&o.addr, "addr", ":8080", "listen address")
	fs.TextVar(&o.logLevel, "log-level", slog.LevelInfo, "log level: debug, info, warn, error")
	fs.IntVar(&o.gcPercent, "gc-percent", 50, "Go GC target (as GOGC; -1: off): lower trades a little CPU for less memory per connection; a GOGC environment variable wins")
	fs.StringVar(&o.pprof, "pprof", "", "serve net/http/pprof on this separate address (e.g. 127.0.0.1:6060); empty: off")
	fs.BoolVar(&o.flagsMarkdown, "flags-markdown", false, "print this flag table as Markdown (docs/flags.md) and exit")

	fs.StringVar(&o.feed, "feed", "sim", "where ticks come from: "+source.Usage)
	fs.Int64Var(&o.seed, "seed", 1, "simulated market: random seed (same seed, same ticks)")
	fs.Float64Var(&o.rate, "rate", sim.DefaultRate, "simulated market: total updates per second (0: no updates, the symbols only)")
	fs.IntVar(&o.symbols, "symbols", 0, "simulated market: run only the first N symbols (0: all)")
	fs.BoolVar(&o.steady, "steady", false, "simulated market: uniform rate, symbols round-robin")
	fs.IntVar(&o.universe, "universe", 0, "simulated market: run N symbols (the built-in ones, generated equities, option contracts listed and expired each simulated day); 0: the built-in ones only")
	fs.DurationVar(&o.universeDay, "universe-day", sim.DefaultDayLength, "with -universe: length of a simulated trading day; options expire at its end")
	fs.IntVar(&o.bookDepth, "book-depth", sim.DefaultBookDepth, "simulated market: price levels a side of each built-in symbol's book (generated symbols keep 10)")
	fs.BoolVar(&o.quotesOnly, "quotes-only", false, "simulated market: publish quotes only, no trades or books (load tests of the quote path)")
	fs.Float64Var(&o.replaySpeed, "replay-speed", 1, "replay: speed multiplier (2: twice as fast; inf: as fast as possible)")
	fs.BoolVar(&o.replayLoop, "replay-loop", false, "replay: start again at the end of the file")
	fs.BoolVar(&o.replayTS, "replay-keep-ts", false, "replay: keep the file's ts instead of the time of publishing")
	fs.StringVar(&o.record, "record", "", "write every published tick to this file as NDJSON (replayable with -feed replay:FILE)")
	fs.StringVar(&o.cbProducts, "coinbase-products", "", "coinbase: products as ID[=SYMBOL][:QUOTE_INC:BASE_INC],... (empty: the built-in list)")
	fs.StringVar(&o.cbURL, "coinbase-url", coinbase.DefaultURL, "coinbase: WebSocket feed URL")
	fs.BoolVar(&o.cbOnDemand, "coinbase-on-demand", false, "coinbase: subscribe upstream only to symbols clients watch")

	fs.IntVar(&o.shards, "shards", 0, "hub shards (0: GOMAXPROCS)")
	fs.IntVar(&o.maxConns, "max-conns", 100_000, "maximum WebSocket connections")
	fs.IntVar(&o.maxSymbols, "max-symbols", 1000, "maximum subscriptions per connection")
	fs.IntVar(&o.maxPerReq, "max-request-symbols", 1000, "maximum symbols in one request")
	fs.IntVar(&o.maxMessage, "max-message", 64<<10, "maximum client message size in bytes (larger: close 1009)")
	fs.DurationVar(&o.backlog, "backlog-timeout", 30*time.Second, "close a client backlogged this long (1008 slow consumer)")
	fs.DurationVar(&o.ping, "ping-interval", 30*time.Second, "ping every client this often; close after two silent intervals")
	fs.DurationVar(&o.upgrade, "handshake-timeout", 5*time.Second, "time allowed to write the WebSocket upgrade response")
	fs.Float64Var(&o.msgRate, "message-rate", 20, "client messages per second per connection (token bucket; -1: unlimited)")
	fs.IntVar(&o.msgBurst, "message-burst", 40, "client messages allowed at once above -message-rate")
	fs.Float64Var(&o.maxRate, "max-rate", 0, "updates per second per subscription at most, whatever max_rate a client asks (announced in limits; 0: no cap)")
	fs.DurationVar(&o.replayAge, "max-replay-age", 0, "a client owed an update older than this is behind: it gets the latest quote, a book snapshot (0: 250ms)")
	fs.IntVar(&o.tradeLagKiB, "trade-lag-kib", 0, "KiB of trades a subscription may fall behind before it skips, with a gap message (0: 512)")
	fs.IntVar(&o.perIP, "max-conns-per-ip", 0, "connections from one source address (0: no cap; behind a proxy all clients share its address)")
	fs.BoolVar(&o.compression, "compression", true, "accept permessage-deflate from clients that offer it (each shared message is compressed once for all of them); false: plain frames only")
	fs.IntVar(&o.compressMin, "compression-min-size", 100, "smallest message compressed for a compressing client, in bytes; smaller ones go plain")
	fs.DurationVar(&o.drain, "drain", 5*time.Second, "at shutdown, close clients with 1001 spread over this window (0: at once)")
	fs.DurationVar(&o.readyAge, "ready-max-feed-age", 0, "/readyz says 503 when the feed published nothing for this long (0: 10s, not checked with -rate 0; negative: not checked)")

	fs.DurationVar(&o.readHeader, "http-read-header-timeout", 5*time.Second, "time allowed to send an HTTP request's header, the WebSocket handshake included")
	fs.DurationVar(&o.read, "http-read-timeout", 10*time.Second, "time allowed to send a whole HTTP request")
	fs.DurationVar(&o.write, "http-write-timeout", 10*time.Second, "time allowed to write an HTTP response (WebSocket connections are not affected)")
	fs.DurationVar(&o.idle, "http-idle-timeout", 30*time.Second, "close a keep-alive HTTP connection idle this long")
	fs.IntVar(&o.maxHeader, "max-header-bytes", 8<<10, "maximum HTTP request header size")
	fs.IntVar(&o.maxWaiting, "http-max-waiting", 1024, "most HTTP connections waiting on their client (for a request header; over TLS also idle keep-alive); past it the longest waiting is closed")
	fs.IntVar(&o.maxSnapshots, "http-max-snapshots", tickerd.DefaultMaxSnapshots, "most snapshots one GET /api/symbols answer holds (about 250 bytes each); a request that would get more is refused (400) and asks for part with ?prefix= or ?symbols=")

	fs.StringVar(&o.origins, "allowed-origins", "", "comma-separated browser Origins allowed (host, https://host, or *); empty: same host, or any with -auth-*")
	fs.StringVar(&o.authSecret, "auth-hs256-secret-file", "", "require JWTs signed with the HS256 secret in this file")
	fs.StringVar(&o.authPub, "auth-public-key-file", "", "require JWTs signed with this PEM public key (RS256 or ES256)")
	fs.StringVar(&o.jwks, "auth-jwks-file", "", "require JWTs signed with a key of this JWKS file")
	fs.StringVar(&o.authIssuer, "auth-issuer", "", "with -auth-*: required iss claim")
	fs.StringVar(&o.authAudience, "auth-audience", "", "with -auth-*: required aud claim")
	fs.DurationVar(&o.authWait, "auth-timeout", 10*time.Second, "with -auth-*: time a client has to send its auth message")
	fs.StringVar(&o.tlsCert, "tls-cert", "", "serve HTTPS and wss:// with this PEM certificate (with -tls-key)")
	fs.StringVar(&o.tlsKey, "tls-key", "", "PEM private key for -tls-cert")

	fs.StringVar(&o.nats, "nats", "", "NATS server URLs, comma-separated: share the feed between nodes (empty: single node, all in-process)")
	fs.TextVar(&o.role, "role", tickerd.RoleBoth, "with NATS: feed (publish the feed, serve no clients), edge (serve clients from NATS), both (publish and serve)")
	fs.StringVar(&o.embed, "nats-embed", "", "start a NATS server with JetStream in this process, listening on this address (e.g. 127.0.0.1:4222); -nats defaults to it")
	fs.StringVar(&o.store, "nats-store", "", "JetStream directory of the -nats-embed server (empty: a temporary directory, removed at exit)")
	fs.IntVar(&o.replicas, "nats-replicas", 0, "feed node: replicas of each stream (0: keep an existing stream's; new: 3 on a cluster, 1 on a single server)")
	fs.BoolVar(&o.fileStorage, "nats-file", false, "feed node: keep the streams on disk instead of in memory")
	fs.DurationVar(&o.natsWait, "nats-wait", 30*time.Second, "edge: how long to wait at start for the feed node's symbol list")
	fs.StringVar(&o.prefix, "nats-prefix", cluster.DefaultPrefix, "first token of every NATS subject and start of every stream name, the same on every node; letters, digits, - and _ (one per cluster sharing NATS servers)")
	fs.Int64Var(&o.lastMiB, "nats-last-mib", 0, "feed node: MiB bound of the last-value stream (definitions, last ticks, book snapshots; 0: 64)")
	fs.Int64Var(&o.tradeMiB, "nats-trades-mib", 0, "feed node: MiB bound of the trade stream (0: 64)")
	fs.Int64Var(&o.candleMiB, "nats-candles-mib", 0, "feed node: MiB bound of the candle stream (0: 32)")
	fs.IntVar(&o.tradeHistory, "nats-trade-history", 0, "trades kept per symbol for since: in the hub's history, and on a feed node in NATS for edges (0: 10000)")
	fs.DurationVar(&o.tradeAge, "nats-trade-age", 0, "oldest trade kept for since: in the hub's history, and on a feed node in NATS for edges (0: 5m)")
	fs.IntVar(&o.candles, "nats-candle-history", 0, "closed candles kept per symbol and interval: in the hub, and on a feed node in NATS (0: 500)")
	return fs
}

// envName is the environment variable of a flag.
func envName(flag string) string {
	return "TICKERD_" + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

// parseFlags reads args, then sets every flag not on the command line
// from its environment variable (lookup is os.LookupEnv outside tests),
// then checks the values.
func parseFlags(args []string, lookup func(string) (string, bool)) (*options, *flag.FlagSet, error) {
	o := &options{}
	fs := flags(o)
	fs.SetOutput(io.Discard) // errors are returned; -h prints usage itself
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(os.Stderr)
			fs.Usage()
		}
		return nil, nil, err
	}
	from := map[string]string{}
	fs.Visit(func(f *flag.Flag) { from[f.Name] = "-" + f.Name })
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		if from[f.Name] != "" || err != nil {
			return
		}
		env := envName(f.Name)
		if v, ok := lookup(env); ok {
			if serr := f.Value.Set(v); serr != nil {
				err = fmt.Errorf("%s=%q: %w", env, v, serr)
			}
			from[f.Name] = env
		}
	})
	if err != nil {
		return nil, nil, err
	}
	if err := o.check(fs, from); err != nil {
		return nil, nil, err
	}
	return o, fs, nil
}

// check refuses values no server can run with, naming the flag (or the
// environment variable that set it). fs is the flag set over o.
func (o *options) check(fs *flag.FlagSet, from map[string]string) error {
	type rule struct {
		flag string
		ok   bool
		want string
	}
	const (
		positive    = "must be more than 0"
		notNegative = "must be 0 or more"
	)
	streamMiB := fmt.Sprintf("must be from 0 to %d (1 TiB)", maxStreamMiB)
	rules := []rule{
		{"max-conns", o.maxConns > 0, positive},
		{"max-symbols", o.maxSymbols > 0, positive},
		{"max-request-symbols", o.maxPerReq > 0, positive},
		{"max-header-bytes", o.maxHeader > 0, positive},
		{"http-max-waiting", o.maxWaiting > 0, positive},
		{"message-burst", o.msgBurst > 0, positive},
		{"backlog-timeout", o.backlog > 0, positive},
		{"ping-interval", o.ping > 0, positive},
		{"handshake-timeout", o.upgrade > 0, positive},
		{"auth-timeout", o.authWait > 0, positive},
		{"http-read-header-timeout", o.readHeader > 0, positive},
		{"http-read-timeout", o.read > 0, positive},
		{"http-write-timeout", o.write > 0, positive},
		{"http-idle-timeout", o.idle > 0, positive},
		{"nats-wait", o.natsWait > 0, positive},
		{"rate", o.rate >= 0 && !math.IsInf(o.rate, 1), "must be a number, 0 or more"},
		{"symbols", o.symbols >= 0, notNegative},
		{"universe", o.universe == 0 || o.universe >= len(sim.Universe()) && o.universe <= sim.MaxUniverse,
			fmt.Sprintf("must be 0, or from %d (the built-in symbols) to %d", len(sim.Universe()), sim.MaxUniverse)},
		{"universe", o.universe == 0 || o.symbols == 0, "cannot go with -symbols"},
		{"universe-day", o.universeDay > 0, positive},
		{"book-depth", o.bookDepth > 0 && o.bookDepth <= sim.MaxBookDepth, fmt.Sprintf("must be from 1 to %d", sim.MaxBookDepth)},
		{"shards", o.shards >= 0, notNegative},
		{"drain", o.drain >= 0, notNegative},
		{"max-conns-per-ip", o.perIP >= 0, notNegative},
		{"nats-replicas", o.replicas >= 0, notNegative},
		{"http-max-snapshots", o.maxSnapshots > 0, positive},
		{"nats-last-mib", o.lastMiB >= 0 && o.lastMiB <= maxStreamMiB, streamMiB},
		{"nats-trades-mib", o.tradeMiB >= 0 && o.tradeMiB <= maxStreamMiB, streamMiB},
		{"nats-candles-mib", o.candleMiB >= 0 && o.candleMiB <= maxStreamMiB, streamMiB},
		{"nats-trade-history", o.tradeHistory >= 0, notNegative},
		{"nats-trade-age", o.tradeAge >= 0, notNegative},
		{"nats-candle-history", o.candles >= 0, notNegative},
		{"max-rate", o.maxRate == 0 || o.maxRate >= protocol.MinMaxRate && o.maxRate <= protocol.MaxMaxRate,
			fmt.Sprintf("must be 0 (no cap) or from %g to %d", protocol.MinMaxRate, protocol.MaxMaxRate)},
		{"max-replay-age", o.replayAge >= 0, notNegative},
		{"trade-lag-kib", o.tradeLagKiB >= 0 && o.tradeLagKiB <= 1<<20, "must be from 0 to 1048576"},
		{"max-message", o.maxMessage >= 125, "must be at least 125 (a control frame's payload)"},
		{"compression-min-size", o.compressMin >= 1, "must be at least 1"},
		{"message-rate", o.msgRate > 0 && !math.IsInf(o.msgRate, 1) || o.msgRate == -1, "must be more than 0, or -1 for unlimited"},
		{"gc-percent", o.gcPercent > 0 || o.gcPercent == -1, "must be more than 0, or -1 for off"},
		{"replay-speed", o.replaySpeed > 0, "must be a positive number or inf"},
		{"tls-key", (o.tlsCert == "") == (o.tlsKey == ""), "-tls-cert and -tls-key go together"},
		{"role", o.role == tickerd.RoleBoth || o.nats != "" || o.embed != "", "needs -nats or -nats-embed"},
		{"nats-store", o.store == "" || o.embed != "", "needs -nats-embed"},
		{"auth-issuer", o.authIssuer == "" || o.authOn(), "needs an -auth-* key file"},
		{"auth-audience", o.authAudience == "" || o.authOn(), "needs an -auth-* key file"},
	}
	var errs []error
	for _, r := range rules {
		if r.ok {
			continue
		}
		where := from[r.flag]
		if where == "" {
			where = "-" + r.flag // its default, for the flags that go together
		}
		if v := fs.Lookup(r.flag).Value.String(); v != "" {
			where += " " + v
		}
		errs = append(errs, fmt.Errorf("%s: %s", where, r.want))
	}
	return errors.Join(errs...)
}

// maxStreamMiB bounds the -nats-*-mib flags, far above any use and far
// below an int64 of bytes.
const maxStreamMiB = 1 << 20

func (o *options) authOn() bool { return o.authSecret != "" || o.authPub != "" || o.jwks != "" }

// config turns the options into a tickerd.Config. It opens the -record
// file and reads the key and certificate files; closeRecord closes the
// recording after the server has returned.
func (o *options) config(log *slog.Logger) (cfg tickerd.Config, closeRecord func() error, err error) {
	closeRecord = func() error { return nil }
	cfg = tickerd.Config{
		Addr:   o.addr,
		Source: o.feed,
		Sim: sim.Config{Seed: o.seed, Rate: o.rate, Symbols: o.symbols, Steady: o.steady,
			Universe: o.universe, DayLength: o.universeDay, BookDepth: o.bookDepth, QuotesOnly: o.quotesOnly},
		Replay:   replay.Config{Speed: o.replaySpeed, Loop: o.replayLoop, KeepTS: o.replayTS},
		Coinbase: coinbase.Config{URL: o.cbURL, OnDemand: o.cbOnDemand, Logger: log},
		Hub: hub.Config{
			Shards:               o.shards,
			MaxConns:             o.maxConns,
			MaxSymbolsPerConn:    o.maxSymbols,
			MaxSymbolsPerRequest: o.maxPerReq,
			MaxMessageBytes:      o.maxMessage,
			BacklogTimeout:       o.backlog,
			PingInterval:         o.ping,
			HandshakeTimeout:     o.upgrade,
			AuthTimeout:          o.authWait,
			MessageRate:          o.msgRate,
			MessageBurst:         o.msgBurst,
			MaxConnsPerIP:        o.perIP,
			DisableCompression:   !o.compression,
			CompressMinSize:      o.compressMin,
			MaxRate:              o.maxRate,
			MaxReplayAge:         o.replayAge,
			TradeLag:             o.tradeLagKiB << 10,
			// One bound for the history, in the hub and in NATS.
			TradeHistory:    o.tradeHistory,
			TradeHistoryAge: o.tradeAge,
			CandleHistory:   o.candles,
		},
		HTTP: tickerd.HTTPConfig{
			ReadHeaderTimeout: o.readHeader, ReadTimeout: o.read, WriteTimeout: o.write,
			IdleTimeout: o.idle, MaxHeaderBytes: o.maxHeader, MaxWaiting: o.maxWaiting, MaxSnapshots: o.maxSnapshots,
		},
		Cluster: tickerd.ClusterConfig{
			Role: o.role, EmbedAddr: o.embed, EmbedStoreDir: o.store, Prefix: o.prefix,
			Replicas: o.replicas, FileStorage: o.fileStorage, Wait: o.natsWait,
			LastBytes: o.lastMiB << 20, TradeBytes: o.tradeMiB << 20, CandleBytes: o.candleMiB << 20,
			TradeHistory: o.tradeHistory, TradeAge: o.tradeAge, CandleHistory: o.candles,
		},
		Logger:          log,
		ReadyMaxFeedAge: o.readyAge,
		DrainWindow:     o.drain,
	}
	if o.drain == 0 {
		cfg.DrainWindow = -1 // at once
	}
	if o.rate == 0 && (o.feed == "sim" || o.feed == "") {
		cfg.Source = "idle"
	}
	if o.cbProducts != "" {
		if cfg.Coinbase.Products, err = coinbase.ParseProducts(o.cbProducts); err != nil {
			return cfg, closeRecord, fmt.Errorf("-coinbase-products: %w", err)
		}
	}
	if o.nats != "" {
		cfg.Cluster.NATS = strings.Split(o.nats, ",")
	}
	if o.origins != "" {
		cfg.AllowedOrigins = strings.Split(o.origins, ",")
	}
	if o.authOn() {
		a, err := tickerd.NewJWTAuth(tickerd.JWTConfig{
			HMACSecretFile: o.authSecret, PublicKeyFile: o.authPub, JWKSFile: o.jwks,
			Issuer: o.authIssuer, Audience: o.authAudience, Logger: log,
		})
		if err != nil {
			return cfg, closeRecord, err
		}
		cfg.Auth = a
	}
	if o.tlsCert != "" {
		cert, err := tls.LoadX509KeyPair(o.tlsCert, o.tlsKey)
		if err != nil {
			return cfg, closeRecord, fmt.Errorf("-tls-cert, -tls-key: %w", err)
		}
		cfg.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	}
	if o.record != "" {
		f, err := os.Create(o.record)
		if err != nil {
			return cfg, closeRecord, fmt.Errorf("-record: %w", err)
		}
		cfg.Record, closeRecord = f, f.Close
	}
	return cfg, closeRecord, nil
}
