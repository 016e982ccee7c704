package hub

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tickerd/tickerd/feed"
	"github.com/tickerd/tickerd/internal/candle"
	"github.com/tickerd/tickerd/protocol"
)

// Hub fans updates out to WebSocket clients. Create it with New, give it
// connections through ServeHTTP, updates through Publish (it is a
// feed.Sink), and stop it with Shutdown, Drain or Close.
//
// Its exported methods may be called from any goroutine, concurrently;
// each says so where a caller must know more. Unexported methods of Hub
// run on the goroutine kind their comment names: the HTTP server's
// (upgrades) or a feed's (publishing). Readers, shards and the poller have
// receivers of their own (reader, shard, poller).
type Hub struct {
	// Static after New.
	cfg     Config
	log     *slog.Logger
	limits  []byte // the "limits" frame every connection gets first
	shards  []*shard
	readers readers
	poll    *poller

	uni   *universe   // the symbols served; List and Delist change it
	z     compression // permessage-deflate: the shared compressor and its counters (deflate.go)
	floor uint32      // the period of Config.MaxRate, in rate clock units; 0: none

	tapeLimits tapeLimits      // Config.TradeHistory*, for every tape
	candles    *candle.History // every symbol's recent candles (PublishCandle)

	conns    atomic.Int64 // open connections, counted from the upgrade
	perIP    ipCounts
	next     atomic.Uint32 // round robin of upgrades over the shards
	draining atomic.Bool
	fdWarned atomic.Int64 // Unix ns of the last "out of file descriptors" warning
	stats    hubStats

	encMu  sync.Mutex
	encBuf []byte // guarded by encMu: Publish's scratch for encoding one tick

	done     chan struct{}
	wg       sync.WaitGroup // shards, TLS writers and flushers
	tlsReads sync.WaitGroup // TLS readers: started by epoll callbacks too, so waited after the poller stops
	stopOnce sync.Once
}

// New starts a hub serving symbols, the initial universe (List and Delist
// change it later; it may be empty). It starts the shard, reader and epoll
// goroutines; Close stops them.
func New(cfg Config, symbols []feed.Symbol, log *slog.Logger) (*Hub, error) {
	h, err := newHub(cfg, symbols, log)
	if err != nil {
		return nil, err
	}
	if h.poll, err = newPoller(h); err != nil {
		return nil, fmt.Errorf("hub: epoll: %w", err)
	}
	for _, s := range h.shards {
		h.wg.Add(1)
		go func() {
			defer h.wg.Done()
			s.run(h.done)
		}()
	}
	h.readers.start(h, h.cfg.Readers)
	return h, nil
}

// newHub is New without the goroutines and the poller: white-box tests
// drive its shards themselves.
func newHub(cfg Config, symbols []feed.Symbol, log *slog.Logger) (*Hub, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cfg = cfg.withDefaults()
	if cfg.Authenticate != nil && cfg.Token == nil {
		return nil, fmt.Errorf("hub: Config.Authenticate needs Config.Token")
	}
	seen := make(map[string]bool, len(symbols))
	for i, s := range symbols {
		if s.Name == "" {
			return nil, fmt.Errorf("hub: symbol %d has no name", i)
		}
		if seen[s.Name] {
			return nil, fmt.Errorf("hub: duplicate symbol %q", s.Name)
		}
		seen[s.Name] = true
	}
	h := &Hub{
		cfg:  cfg,
		log:  log,
		uni:  newUniverse(),
		done: make(chan struct{}),
	}
	h.uni.add(symbols)
	h.floor = periodOf(cfg.MaxRate)
	h.z.init(&cfg)
	h.candles = newCandleHistory(cfg)
	h.tapeLimits = tapeLimits{count: cfg.TradeHistory, age: int64(cfg.TradeHistoryAge), bytes: cfg.TradeHistoryBytes}
	lim := protocol.ServerLimits{
		MaxMessageBytes:   cfg.MaxMessageBytes,
		MaxSymbols:        cfg.MaxSymbolsPerConn,
		MaxRequestSymbols: cfg.MaxSymbolsPerRequest,
		MessagesPerSecond: max(cfg.MessageRate, 0),
		Burst:             cfg.MessageBurst,
		PingIntervalMS:    cfg.PingInterval.Milliseconds(),
		BacklogTimeoutMS:  cfg.BacklogTimeout.Milliseconds(),
		Auth:              cfg.Authenticate != nil,
		Channels:          []protocol.Channel{protocol.ChannelQuotes, protocol.ChannelTrades, protocol.ChannelCandles, protocol.ChannelBook},
		MaxRate:           cfg.MaxRate,
		Compression:       !cfg.DisableCompression,
		TradeHistory:      cfg.TradeHistory,
		TradeHistoryMS:    cfg.TradeHistoryAge.Milliseconds(),
		CandleHistory:     cfg.CandleHistory,
		BookDepths:        []int{10, 50, protocol.MaxBookDepth},
	}
	h.limits = textFrame(protocol.AppendLimits(nil, &lim))
	for i := range cfg.Shards {
		h.shards = append(h.shards, newShard(h, i))
	}
	return h, nil
}

// Conns returns the number of open connections.
func (h *Hub) Conns() int { return int(h.conns.Load()) }

// Shutdown stops taking connections and closes every client with 1001
// (going away) at once. It is Drain with no window.
func (h *Hub) Shutdown(ctx context.Context) error { return h.Drain(ctx, 0) }

// Drain stops taking connections and closes every client with 1001 (going
// away), in random order spread evenly over window, so that clients do
// not all reconnect at the same moment. It returns when every connection
// is closed, or when ctx is done, in which case it closes the rest at
// once. Either way the hub is stopped when Drain returns.
func (h *Hub) Drain(ctx context.Context, window time.Duration) error {
	h.draining.Store(true)
	for _, s := range h.shards {
		s.post(nil, &shutdownCmd{window: window})
	}
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	var err error
	for h.conns.Load() > 0 && err == nil {
		select {
		case <-ctx.Done():
			err = ctx.Err()
		case <-t.C:
		}
	}
	h.Close()
	return err
}

// Draining reports whether the hub has stopped taking connections.
func (h *Hub) Draining() bool { return h.draining.Load() }

// Close stops the hub at once: every connection's socket is closed and
// every goroutine the hub started has returned when Close returns.
func (h *Hub) Close() error {
	h.draining.Store(true)
	h.stopOnce.Do(func() {
		close(h.done)
		h.wg.Wait() // shards close their connections
		// The poller first: its Close waits for the epoll goroutine, so
		// no callback can queue a connection after the readers stop.
		_ = h.poll.close()
		h.tlsReads.Wait()
		h.readers.close()
	})
	return nil
}
