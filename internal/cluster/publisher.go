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
	PublishEncoded(symbol string, epoch, seq uint64, ts int64, tick []byte) error
}

// Publisher is the feed node's side: a feed.Feed that runs another feed
// and publishes everything it produces to NATS (see the package doc for
// the subjects), then hands the same to its own sink (the local hub)
// unless Config.PublishOnly. Ticks, trades and candles are encoded once,
// as client frames, and the hub gets a tick's very bytes; book updates
// travel in a compact binary form, and the Publisher keeps a copy of each
// book to store a snapshot of it every Config.BookSnapshot.
//
// Each run has an epoch, and each symbol's channels continue the seq space
// stored in the streams or start the run's (see Epochs in the package
// doc), so a sink never sees a seq go back within an epoch.
//
// The wrapped feed may list and delist symbols while it runs (its sink's
// List and Delist): the Publisher stores the definitions, and a delisting
// removes the symbol's stored state, so new edges see the current list.
type Publisher struct {
	// Static after NewPublisher.
	nc    *nats.Conn
	js    jetstream.JetStream
	inner feed.Feed
	cfg   Config
	log   *slog.Logger
	subj  subjects
	syms  []feed.Symbol // the wrapped feed's symbols at start

	running  atomic.Bool
	ready    atomic.Bool               // streams set up, feed running
	setupErr atomic.Pointer[string]    // why the last setup failed; nil once it worked
	pubErr   atomic.Pointer[string]    // the last publish error; nil after a success
	lastPub  atomic.Int64              // Unix ns of the last publish
	epoch    atomic.Uint64             // the running run's epoch
	streams  atomic.Pointer[streamIDs] // the streams the run publishes into
	run      atomic.Pointer[pubRun]    // the running run, nil between runs
	dropped  atomic.Uint64             // messages not published: larger than the server takes
	bookErrs atomic.Uint64             // book updates the Publisher's copy of the book refused

	setupMu sync.Mutex // serialises stream setup (Run and maintain)
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
		return nil, errNoSymbols
	}
	if err := checkSymbols(p.syms); err != nil {
		return nil, err
	}
	msg := "not started"
	p.setupErr.Store(&msg)
	return p, nil
}

// Symbols returns the wrapped feed's symbols.
func (p *Publisher) Symbols() []feed.Symbol { return p.syms }

// Run sets up the streams, reads what they hold, publishes the symbol
// definitions, then runs the wrapped feed into NATS and sink until ctx is
// done. While NATS cannot be reached it retries the setup every second
// without starting the feed (seqs published before the stored ones are
// known could go back). It returns nil when ctx ends it, or the feed's
// error.
func (p *Publisher) Run(ctx context.Context, sink feed.Sink) error {
	if !p.running.CompareAndSwap(false, true) {
		return errors.New("cluster: publisher already running")
	}
	defer p.running.Store(false)
	st, ok := p.prepare(ctx)
	if !ok {
		return nil
	}
	r := newPubRun(p, st, sink)
	wants, err := p.nc.Subscribe(p.subj.wants(), r.wantMsg)
	if err != nil {
		return fmt.Errorf("cluster: subscribe %s: %w", p.subj.wants(), err)
	}
	bctx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { p.heartbeat(bctx) })
	wg.Go(func() { r.maintain(bctx) })
	wg.Go(func() { r.snapshots(bctx) })
	p.run.Store(r)
	p.epoch.Store(st.epoch)
	defer func() {
		_ = wants.Unsubscribe()
		stop()
		wg.Wait()
		p.ready.Store(false)
		p.run.Store(nil)
	}()
	p.ready.Store(true)
	p.log.Info("publishing the feed to NATS", "symbols", len(p.syms), "epoch", st.epoch, "server", connectedURL(p.nc))
	return p.inner.Run(ctx, r)
}

// setupState is what setup found in the streams.
type setupState struct {
	epoch  uint64                 // the run's epoch
	defs   map[string]feed.Symbol // stored definitions, by name
	ticks  map[string]stored      // stored last tick, by name
	trades map[string]stored      // stored last trade, by name
}

// prepare runs setup until it succeeds or ctx ends.
func (p *Publisher) prepare(ctx context.Context) (*setupState, bool) {
	for attempt := 0; ; attempt++ {
		st, err := p.setup(ctx)
		if err == nil {
			p.setupErr.Store(nil)
			return st, true
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

// setup ensures the streams and reads the stored definitions and each
// symbol's last tick and trade; the run's epoch is above every stored one.
func (p *Publisher) setup(ctx context.Context) (*setupState, error) {
	if err := p.ensureStreams(ctx); err != nil {
		return nil, err
	}
	st := &setupState{defs: map[string]feed.Symbol{}, ticks: map[string]stored{}, trades: map[string]stored{}}
	top := uint64(0)
	read := func(stream, filter string, fn func(token string, data []byte) error) error {
		var bad error
		_, err := lastPerSubject(ctx, p.js, stream, filter, p.cfg.RequestTimeout, p.mirrorBytes(), func(subject string, data []byte) {
			if len(data) == 0 {
				return // a delisting
			}
			tok, _, ok := p.subj.parseSymbol(subject)
			if !ok {
				tok, ok = p.subj.tradeToken(subject)
			}
			if !ok {
				return
			}
			if err := fn(tok, data); err != nil && bad == nil {
				bad = err
			}
		})
		if bad != nil {
			p.log.Warn("ignoring a stored message", "stream", stream, "err", bad)
		}
		return err
	}
	lastOf := func(into map[string]stored, scan func([]byte) ([]byte, uint64, bool)) func(string, []byte) error {
		return func(tok string, data []byte) error {
			epoch, frame, ok := cutEpoch(data)
			var sym []byte
			var seq uint64
			if ok {
				sym, seq, ok = scan(frame)
			}
			if !ok || SubjectToken(string(sym)) != tok {
				return fmt.Errorf("cluster: stored message %.40q on token %q", data, tok)
			}
			into[string(sym)] = stored{epoch: epoch, seq: seq, ok: true}
			top = max(top, epoch)
			return nil
		}
	}
	err := errors.Join(
		read(p.subj.lastStream(), p.subj.allOf(kindDef), func(tok string, data []byte) error {
			s, err := decodeSymbol(tok, data)
			if err == nil {
				st.defs[s.Name] = s
			}
			return err
		}),
		read(p.subj.lastStream(), p.subj.allOf(kindTick), lastOf(st.ticks, func(f []byte) ([]byte, uint64, bool) {
			_, sym, seq, _, ok := protocol.ScanTick(f)
			return sym, seq, ok
		})),
		read(p.subj.tradeStream(), p.subj.trades(), lastOf(st.trades, func(f []byte) ([]byte, uint64, bool) {
			sym, seq, _, _, ok := protocol.ScanTrade(f)
			return sym, seq, ok
		})),
	)
	if err != nil {
		return nil, err
	}
	st.epoch = freshEpoch(time.Now(), top)
	return st, nil
}

// ensureStreams ensures the streams and records their identities for the
// heartbeat.
func (p *Publisher) ensureStreams(ctx context.Context) error {
	p.setupMu.Lock()
	defer p.setupMu.Unlock()
	rctx, cancel := context.WithTimeout(ctx, 2*p.cfg.RequestTimeout)
	defer cancel()
	ids, err := ensureStreams(rctx, p.js, p.subj, p.cfg)
	if err != nil {
		return err
	}
	p.streams.Store(&ids)
	return nil
}

// mirrorBytes is the byte bound of a stream reader: Config.MirrorBytes,
// and at least the largest message the server takes.
func (p *Publisher) mirrorBytes() int { return mirrorBytes(p.nc, p.cfg) }

func mirrorBytes(nc *nats.Conn, cfg Config) int {
	return max(cfg.MirrorBytes, int(nc.MaxPayload())+4096)
}

// heartbeat is the JSON the feed node publishes on PREFIX.heartbeat: its
// clock, its run's epoch, the identities of the streams it publishes into
// (an edge whose stream readers started on an older stream starts them
// again), and its feed's health.
type heartbeat struct {
	TS      int64         `json:"ts"`
	Epoch   uint64        `json:"epoch"`
	Streams streamIDs     `json:"streams,omitempty"`
	Sources []feed.Health `json:"sources,omitempty"`
}

// heartbeat publishes the feed node's liveness every Config.Heartbeat
// until ctx is done.
func (p *Publisher) heartbeat(ctx context.Context) {
	t := time.NewTicker(p.cfg.Heartbeat)
	defer t.Stop()
	for {
		hb := heartbeat{TS: time.Now().UnixNano(), Epoch: p.epoch.Load(), Sources: feed.HealthOf(p.inner)}
		if ids := p.streams.Load(); ids != nil {
			hb.Streams = *ids
		}
		beat, err := json.Marshal(hb)
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

// maintain repairs the streams. After a reconnect it sets them up again
// (a cluster that restarted with memory storage has lost them) and
// republishes the last values; after the last-value stream elects a new
// leader it republishes them too, since what was published while it had
// no leader was delivered to edges but not stored.
func (r *pubRun) maintain(ctx context.Context) {
	p := r.p
	elected := make(chan struct{}, 1)
	sub, err := p.nc.Subscribe("$JS.EVENT.ADVISORY.STREAM.LEADER_ELECTED."+p.subj.lastStream(), func(*nats.Msg) {
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
			r.republish("stream leader elected")
			continue
		case <-t.C:
		}
		if n := p.nc.Stats().Reconnects; n != seen {
			seen, pending = n, true
		}
		if !pending || !p.nc.IsConnected() {
			continue
		}
		if err := p.ensureStreams(ctx); err != nil {
			msg := err.Error()
			p.setupErr.Store(&msg)
			p.log.Warn("stream setup after reconnect failed; retrying", "err", err)
			continue
		}
		p.setupErr.Store(nil)
		pending = false
		r.republish("reconnected")
	}
}

// Health reports the wrapped feed's sources and a "nats" source: connected
// when the connection is up, the streams are set up and the last publish
// worked. Rejected counts messages not published because the server would
// not take them (larger than its maximum payload) and book updates the
// Publisher's copy of a book refused. It implements feed.HealthReporter.
func (p *Publisher) Health() []feed.Health {
	h := feed.Health{Source: "nats", Reconnects: p.nc.Stats().Reconnects, Rejected: p.dropped.Load() + p.bookErrs.Load()}
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
