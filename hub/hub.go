package hub

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tickerd/tickerd/feed"
	"github.com/tickerd/tickerd/internal/wsframe"
	"github.com/tickerd/tickerd/protocol"
)

// Hub fans updates out to WebSocket clients. Create it with New, give it
// connections through ServeHTTP, updates through Publish, and stop it with
// Shutdown or Close.
type Hub struct {
	cfg Config
	log *slog.Logger

	syms   []*symbol          // by id; static after New
	byName map[string]*symbol // static after New
	names  []string           // symbol names by id

	shards  []*shard
	readers readers
	poll    *poller

	conns    atomic.Int64 // open connections, counted from the upgrade
	perIP    ipCounts
	limits   []byte // the "limits" frame every connection gets first
	next     atomic.Uint32
	draining atomic.Bool
	fdWarned atomic.Int64 // Unix ns of the last "out of file descriptors" warning
	stats    hubStats

	encMu  sync.Mutex
	encBuf []byte // guarded by encMu: scratch for encoding one tick

	done     chan struct{}
	wg       sync.WaitGroup
	stopOnce sync.Once
}

// New starts a hub serving the given symbols. It starts the shard, reader
// and epoll goroutines; Close stops them.
func New(cfg Config, symbols []feed.Symbol, log *slog.Logger) (*Hub, error) {
	if len(symbols) == 0 {
		return nil, errors.New("hub: no symbols")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	h := &Hub{
		cfg:    cfg.withDefaults(),
		log:    log,
		byName: make(map[string]*symbol, len(symbols)),
		done:   make(chan struct{}),
	}
	for i, s := range symbols {
		if s.Name == "" {
			return nil, fmt.Errorf("hub: symbol %d has no name", i)
		}
		if _, dup := h.byName[s.Name]; dup {
			return nil, fmt.Errorf("hub: duplicate symbol %q", s.Name)
		}
		sym := &symbol{id: uint32(i), name: s.Name, meta: s}
		h.syms = append(h.syms, sym)
		h.byName[s.Name] = sym
		h.names = append(h.names, s.Name)
	}
	if h.cfg.Authenticate != nil && h.cfg.Token == nil {
		return nil, errors.New("hub: Config.Authenticate needs Config.Token")
	}
	lim := protocol.ServerLimits{
		MaxMessageBytes:   h.cfg.MaxMessageBytes,
		MaxSymbols:        h.cfg.MaxSymbolsPerConn,
		MaxRequestSymbols: h.cfg.MaxSymbolsPerRequest,
		MessagesPerSecond: max(h.cfg.MessageRate, 0),
		Burst:             h.cfg.MessageBurst,
		PingIntervalMS:    h.cfg.PingInterval.Milliseconds(),
		BacklogTimeoutMS:  h.cfg.BacklogTimeout.Milliseconds(),
		Auth:              h.cfg.Authenticate != nil,
	}
	h.limits = textFrame(protocol.AppendLimits(nil, &lim))
	p, err := newPoller(h)
	if err != nil {
		return nil, fmt.Errorf("hub: epoll: %w", err)
	}
	h.poll = p
	for i := range h.cfg.Shards {
		s := newShard(h, i)
		h.shards = append(h.shards, s)
		h.wg.Add(1)
		go func() {
			defer h.wg.Done()
			s.run(h.done)
		}()
	}
	h.readers.start(h, h.cfg.Readers)
	return h, nil
}

// Publish encodes t once and hands it to every shard. It implements
// feed.Sink: it never blocks on a client. An update whose seq is not above
// the symbol's last one is dropped and counted, so clients never see a
// duplicate or a step back; an unknown symbol is dropped and counted.
func (h *Hub) Publish(t *protocol.Tick) {
	sym := h.byName[t.Symbol]
	if sym == nil {
		h.stats.unknown.Add(1)
		return
	}
	h.encMu.Lock()
	h.encBuf = protocol.AppendTick(h.encBuf[:0], t)
	h.publish(sym, t.Seq, t.TS, h.encBuf)
	h.encMu.Unlock()
}

// PublishEncoded publishes a tick already encoded by protocol.AppendTick,
// for instance received from another node. It must start with
// protocol.TickPrefix.
func (h *Hub) PublishEncoded(symbol string, seq uint64, ts int64, tick []byte) error {
	sym := h.byName[symbol]
	if sym == nil {
		h.stats.unknown.Add(1)
		return fmt.Errorf("hub: unknown symbol %q", symbol)
	}
	if len(tick) < len(protocol.TickPrefix) || string(tick[:len(protocol.TickPrefix)]) != protocol.TickPrefix {
		return errors.New("hub: encoded tick does not start with the tick prefix")
	}
	h.publish(sym, seq, ts, tick)
	return nil
}

func (h *Hub) publish(sym *symbol, seq uint64, ts int64, tick []byte) {
	// Both frames in one allocation: tick frame, then snapshot frame.
	snapLen := len(tick) - len(protocol.TickPrefix) + len(protocol.SnapshotPrefix)
	buf := make([]byte, 0, 2*wsframe.MaxServerHeaderLen+len(tick)+snapLen)
	buf = appendTextHeader(buf, len(tick))
	buf = append(buf, tick...)
	tickEnd := len(buf)
	buf = appendTextHeader(buf, snapLen)
	snapOff := len(buf) - tickEnd
	buf = protocol.SnapshotFromTick(buf, tick)
	u := &update{tick: buf[:tickEnd:tickEnd], snap: buf[tickEnd:], snapOff: snapOff, seq: seq, ts: ts}

	sym.mu.Lock()
	if seq <= sym.lastSeq {
		sym.mu.Unlock()
		h.stats.stale.Add(1)
		return
	}
	sym.lastSeq = seq
	sym.ver++
	if sym.ver == 0 {
		sym.ver = 1 // 0 means "nothing sent" in sub.sent
	}
	u.ver = sym.ver
	sym.recent[u.ver%ringSize].Store(u)
	sym.latest.Store(u)
	sym.mu.Unlock()

	h.stats.published.Add(1)
	h.stats.lastLag.Store(time.Now().UnixNano() - ts)
	for _, s := range h.shards {
		s.notify(sym.id)
	}
}

// PublishTrade, PublishBook, PublishCandle, List and Delist complete
// feed.Sink. Transient: the hub does not serve these channels yet, so it
// counts them as unknown and drops them.
func (h *Hub) PublishTrade(*protocol.Trade)     { h.stats.unknown.Add(1) }
func (h *Hub) PublishBook(*protocol.BookUpdate) { h.stats.unknown.Add(1) }
func (h *Hub) PublishCandle(*protocol.Candle)   { h.stats.unknown.Add(1) }
func (h *Hub) List([]feed.Symbol)               {}
func (h *Hub) Delist([]string)                  {}

// Symbols returns the names of the symbols the hub serves, in feed order.
func (h *Hub) Symbols() []string { return h.names }

// AppendSnapshots appends a JSON array of the latest snapshot of every
// symbol that has one.
func (h *Hub) AppendSnapshots(dst []byte) []byte {
	dst = append(dst, '[')
	first := true
	for _, s := range h.syms {
		u := s.latest.Load()
		if u == nil {
			continue
		}
		if !first {
			dst = append(dst, ',')
		}
		first = false
		dst = append(dst, u.snap[u.snapOff:]...)
	}
	return append(dst, ']')
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
		h.readers.close()
		_ = h.poll.close()
	})
	return nil
}

// symbolSet is a request's symbol names resolved by a reader or at the
// upgrade: the hub's symbols, their names in the same order, and the
// requested names that are not symbols.
type symbolSet struct {
	syms    []uint32
	names   []string // the hub's copies, not the request buffer's
	unknown []string
}

// resolve maps names to symbols. Any goroutine may call it.
func (h *Hub) resolve(names []string) symbolSet {
	var set symbolSet
	for _, n := range names {
		if s := h.byName[n]; s != nil {
			set.syms = append(set.syms, s.id)
			set.names = append(set.names, s.name)
		} else {
			set.unknown = append(set.unknown, n)
		}
	}
	return set
}
