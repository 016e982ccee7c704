package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/tickerd/tickerd/feed"
	"github.com/tickerd/tickerd/protocol"
)

// encodedSink is a sink that takes ticks already encoded by
// protocol.AppendTick; *hub.Hub is one.
type encodedSink interface {
	PublishEncoded(symbol string, seq uint64, ts int64, tick []byte) error
}

// Publisher is the feed node's side: a feed.Feed that runs another feed,
// encodes each tick once with protocol.AppendTick and publishes the bytes
// on PREFIX.tick.TOKEN, then hands the same bytes to its own sink (the
// local hub) unless Config.PublishOnly. The stream PREFIX_last keeps the
// newest message of each subject; the symbol list goes to PREFIX.symbols
// and a heartbeat to PREFIX.heartbeat every Config.Heartbeat.
//
// Seq never goes back across restarts: before the feed starts, Run reads
// each symbol's stored seq, and a symbol whose feed seq starts at or below
// it (a restarted simulator) is published with that seq added.
type Publisher struct {
	// Static after NewPublisher.
	nc       *nats.Conn
	js       jetstream.JetStream
	inner    feed.Feed
	cfg      Config
	log      *slog.Logger
	subj     subjects
	syms     []feed.Symbol
	index    map[string]int
	tickSubj []string // by symbol index

	running  atomic.Bool
	ready    atomic.Bool            // stream set up, feed running
	setupErr atomic.Pointer[string] // why the last setup failed; nil once it worked
	pubErr   atomic.Pointer[string] // the last publish error; nil after a success
	lastPub  atomic.Int64           // Unix ns of the last publish

	mu sync.Mutex // serialises stream setup (Run and maintain)

	// lmu orders tick publishes: the feed's, and the republishing of the
	// last ticks (see republish), so the stream never keeps an older one.
	lmu    sync.Mutex
	latest [][]byte // guarded by lmu: the last tick published per symbol
}

// NewPublisher wraps inner, whose symbols it checks. nc is a connection
// from Connect; the caller closes it after Run returns.
func NewPublisher(nc *nats.Conn, inner feed.Feed, cfg Config, log *slog.Logger) (*Publisher, error) {
	if nc == nil || inner == nil {
		return nil, errors.New("cluster: publisher needs a NATS connection and a feed")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	subj, err := newSubjects(cfg.Prefix)
	if err != nil {
		return nil, err
	}
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, fmt.Errorf("cluster: %w", err)
	}
	p := &Publisher{nc: nc, js: js, inner: inner, cfg: cfg.withDefaults(), log: log, subj: subj}
	p.syms = inner.Symbols()
	if len(p.syms) == 0 {
		return nil, errors.New("cluster: the feed has no symbols")
	}
	p.index = make(map[string]int, len(p.syms))
	for i, s := range p.syms {
		if s.Name == "" {
			return nil, fmt.Errorf("cluster: symbol %d has no name", i)
		}
		if _, dup := p.index[s.Name]; dup {
			return nil, fmt.Errorf("cluster: duplicate symbol %q", s.Name)
		}
		p.index[s.Name] = i
		p.tickSubj = append(p.tickSubj, subj.tick(s.Name))
	}
	p.latest = make([][]byte, len(p.syms))
	msg := "not started"
	p.setupErr.Store(&msg)
	return p, nil
}

// Symbols returns the wrapped feed's symbols.
func (p *Publisher) Symbols() []feed.Symbol { return p.syms }

// Run sets up the stream, publishes the symbol list, reads the stored
// seqs, then runs the wrapped feed into NATS and sink until ctx is done.
// While NATS cannot be reached it retries the setup every second without
// starting the feed (ticks published before the stored seqs are known
// could go back). It returns nil when ctx ends it, or the feed's error.
func (p *Publisher) Run(ctx context.Context, sink feed.Sink) error {
	if !p.running.CompareAndSwap(false, true) {
		return errors.New("cluster: publisher already running")
	}
	defer p.running.Store(false)
	base, ok := p.prepare(ctx)
	if !ok {
		return nil
	}
	bctx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		p.heartbeat(bctx)
	}()
	go func() {
		defer wg.Done()
		p.maintain(bctx)
	}()
	defer func() {
		stop()
		wg.Wait()
		p.ready.Store(false)
	}()
	s := &pubSink{p: p, base: base, off: make([]uint64, len(p.syms)), seen: make([]bool, len(p.syms))}
	if !p.cfg.PublishOnly {
		s.next = sink
		s.enc, _ = sink.(encodedSink)
	}
	p.ready.Store(true)
	p.log.Info("publishing the feed to NATS", "symbols", len(p.syms), "stream", p.subj.stream(), "server", p.nc.ConnectedUrlRedacted())
	return p.inner.Run(ctx, s)
}

// prepare runs setup until it succeeds or ctx ends.
func (p *Publisher) prepare(ctx context.Context) (base []uint64, ok bool) {
	for attempt := 0; ; attempt++ {
		base, err := p.setup(ctx)
		if err == nil {
			p.setupErr.Store(nil)
			return base, true
		}
		if ctx.Err() != nil {
			return nil, false
		}
		msg := err.Error()
		p.setupErr.Store(&msg)
		if attempt%10 == 0 {
			p.log.Warn("cluster setup failed; retrying", "err", err, "attempt", attempt+1)
		}
		select {
		case <-ctx.Done():
			return nil, false
		case <-time.After(time.Second):
		}
	}
}

// setup ensures the stream, publishes the symbol list and reads every
// symbol's stored seq.
func (p *Publisher) setup(ctx context.Context) ([]uint64, error) {
	if err := p.setupStream(ctx); err != nil {
		return nil, err
	}
	base := make([]uint64, len(p.syms))
	errs := make([]error, len(p.syms))
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	for i := range p.syms {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			rctx, cancel := context.WithTimeout(ctx, p.cfg.RequestTimeout)
			defer cancel()
			data, err := leaderLast(rctx, p.nc, p.subj.stream(), p.tickSubj[i])
			switch {
			case err != nil:
				errs[i] = err
			case data != nil:
				_, sym, seq, _, ok := protocol.ScanTick(data)
				if ok && string(sym) == p.syms[i].Name {
					base[i] = seq
				}
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return base, nil
}

// setupStream ensures the stream and publishes the symbol list into it.
func (p *Publisher) setupStream(ctx context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	rctx, cancel := context.WithTimeout(ctx, 2*p.cfg.RequestTimeout)
	defer cancel()
	if err := ensureStream(rctx, p.js, p.subj, p.cfg.Replicas, p.cfg.FileStorage); err != nil {
		return err
	}
	list, err := encodeSymbols(p.syms)
	if err != nil {
		return fmt.Errorf("cluster: %w", err)
	}
	if _, err := p.js.Publish(rctx, p.subj.symbols(), list); err != nil {
		return fmt.Errorf("cluster: publish symbol list: %w", err)
	}
	return nil
}

// heartbeat publishes the feed node's liveness, with the wrapped feed's
// health, every Config.Heartbeat until ctx is done.
func (p *Publisher) heartbeat(ctx context.Context) {
	t := time.NewTicker(p.cfg.Heartbeat)
	defer t.Stop()
	for {
		beat, err := json.Marshal(heartbeat{TS: time.Now().UnixNano(), Sources: feed.HealthOf(p.inner)})
		if err == nil {
			err = p.nc.Publish(p.subj.heartbeat(), beat)
		}
		if err != nil && ctx.Err() == nil {
			p.log.Debug("heartbeat not sent", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// maintain repairs the stream. After a reconnect it sets the stream up
// again (a cluster that restarted with memory storage has lost the symbol
// list) and republishes the last ticks; after the stream elects a new
// leader it republishes them too, since ticks published while the stream
// had no leader were delivered to edges but not stored.
func (p *Publisher) maintain(ctx context.Context) {
	elected := make(chan struct{}, 1)
	sub, err := p.nc.Subscribe("$JS.EVENT.ADVISORY.STREAM.LEADER_ELECTED."+p.subj.stream(), func(*nats.Msg) {
		select {
		case elected <- struct{}{}:
		default:
		}
	})
	if err != nil {
		p.log.Warn("cannot follow the stream's leader elections", "err", err)
	} else {
		defer func() { _ = sub.Unsubscribe() }()
	}
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	seen := p.nc.Stats().Reconnects
	pending := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-elected:
			p.republish("stream leader elected")
			continue
		case <-t.C:
		}
		if r := p.nc.Stats().Reconnects; r != seen {
			seen, pending = r, true
		}
		if !pending || !p.nc.IsConnected() {
			continue
		}
		if err := p.setupStream(ctx); err != nil {
			msg := err.Error()
			p.setupErr.Store(&msg)
			p.log.Warn("stream setup after reconnect failed; retrying", "err", err)
			continue
		}
		p.setupErr.Store(nil)
		pending = false
		p.republish("reconnected")
	}
}

// republish publishes the last tick of every symbol again, so the stream
// holds it. Edges drop the copies they already have (same seq).
func (p *Publisher) republish(why string) {
	p.lmu.Lock()
	defer p.lmu.Unlock()
	n := 0
	for i, b := range p.latest {
		if b == nil {
			continue
		}
		if err := p.nc.Publish(p.tickSubj[i], b); err != nil {
			p.log.Warn("republishing the last ticks failed", "why", why, "err", err)
			return
		}
		n++
	}
	p.log.Info("republished the last ticks", "why", why, "symbols", n)
}

// Health reports the wrapped feed's sources and a "nats" source: connected
// when the connection is up, the stream is set up and the last publish
// worked. It implements feed.HealthReporter.
func (p *Publisher) Health() []feed.Health {
	h := feed.Health{Source: "nats", Reconnects: p.nc.Stats().Reconnects}
	if ns := p.lastPub.Load(); ns != 0 {
		h.LastUpdate = time.Unix(0, ns)
	}
	switch st := p.nc.Status(); {
	case st != nats.CONNECTED:
		h.Err = "nats connection " + st.String()
	case p.setupErr.Load() != nil:
		h.Err = *p.setupErr.Load()
	case p.pubErr.Load() != nil:
		h.Err = *p.pubErr.Load()
	case !p.ready.Load():
		h.Err = "feed not running"
	default:
		h.Connected = true
	}
	return append(slices.Clip(feed.HealthOf(p.inner)), h)
}

// heartbeat is the JSON the feed node publishes on PREFIX.heartbeat.
type heartbeat struct {
	TS      int64         `json:"ts"`
	Sources []feed.Health `json:"sources,omitempty"`
}

// pubSink is the sink the wrapped feed publishes into. It is owned by the
// feed's goroutine: Publish is called one at a time.
type pubSink struct {
	feed.SinkFuncs // transient: trades, books and listings are not yet relayed
	p              *Publisher
	next           feed.Sink   // the local sink; nil when PublishOnly
	enc            encodedSink // next, when it takes encoded ticks

	base    []uint64 // stored seq per symbol when Run started
	off     []uint64 // added to the feed's seq, per symbol
	seen    []bool   // the symbol has published since Run started
	buf     []byte
	tmp     protocol.Tick
	failing bool // the last publish failed
	shifted bool // a seq offset has been logged
}

func (s *pubSink) Publish(t *protocol.Tick) {
	i, ok := s.p.index[t.Symbol]
	if !ok {
		if s.next != nil {
			s.next.Publish(t) // the hub counts it as unknown
		}
		return
	}
	if !s.seen[i] {
		s.seen[i] = true
		if t.Seq <= s.base[i] {
			s.off[i] = s.base[i]
			if !s.shifted {
				s.shifted = true
				s.p.log.Info("feed seq is behind the stored one; continuing from it", "symbol", t.Symbol, "feed_seq", t.Seq, "stored_seq", s.base[i])
			}
		}
	}
	if off := s.off[i]; off != 0 {
		s.tmp = *t
		s.tmp.Seq += off
		t = &s.tmp
	}
	s.buf = protocol.AppendTick(s.buf[:0], t)
	s.p.lmu.Lock()
	err := s.p.nc.Publish(s.p.tickSubj[i], s.buf)
	s.p.latest[i] = append(s.p.latest[i][:0], s.buf...)
	s.p.lmu.Unlock()
	if err != nil {
		if !s.failing {
			s.failing = true
			msg := "publish: " + err.Error()
			s.p.pubErr.Store(&msg)
			s.p.log.Warn("publishing to NATS failed", "err", err)
		}
	} else {
		s.p.lastPub.Store(time.Now().UnixNano())
		if s.failing {
			s.failing = false
			s.p.pubErr.Store(nil)
			s.p.log.Info("publishing to NATS again")
		}
	}
	switch {
	case s.enc != nil:
		_ = s.enc.PublishEncoded(t.Symbol, t.Seq, t.TS, s.buf)
	case s.next != nil:
		s.next.Publish(t)
	}
}
