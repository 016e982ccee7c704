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

// Edge is a node that serves clients from NATS: a feed.Feed whose symbols
// and updates come from the feed node, and a feed.Watcher.
//
// Quotes and books follow interest: while local clients watch a symbol
// (Watch), the Edge holds one subscription to its subjects; a new watch
// first gets the symbol's last tick from the last-value stream, so a
// client on a fresh edge has the current quote at once. The stored book
// snapshot may be Config.BookSnapshot old, so a new watch also asks the
// feed node for a fresh one, and the stored one is handed on only when an
// update that follows it comes first, or when nothing fresher came within
// freshWait (EdgeStats.StoredBooks); never once an update shows it old.
// When no local client watches the symbol any more, a sink with DropBook
// (the hub does) is told to forget the book, so a later client is not
// served it as it was then but waits for the snapshot of the new watch.
// Ticks reach the hub as the bytes the feed node encoded
// (hub.PublishEncoded), so clients of every node get the same frames with
// the same seq. A book is handed on from a snapshot, then only updates
// that follow it without a gap; after a gap the Edge holds the updates,
// asks the feed node for a fresh snapshot and goes on from it.
//
// Trades, candles and the symbol list are mirrored whole from their
// streams, from the start of what the streams keep, in order, and live
// afterwards (see the package doc for why): a listing or delisting reaches
// the sink's List and Delist without a restart.
//
// An update that is not newer than the last one delivered on its channel
// (a lower epoch, or the same epoch and a seq not above) is dropped, so a
// sink never sees a seq go back or repeat within an epoch; a higher epoch
// (the feed node lost its state and started a new seq space) is passed on
// as it is, and counted as a reset.
type Edge struct {
	// Static after NewEdge.
	nc         *nats.Conn
	js         jetstream.JetStream
	cfg        Config
	log        *slog.Logger
	subj       subjects
	first      []feed.Symbol // the list NewEdge read
	defsSeq    uint64        // the stream sequence NewEdge read the definitions up to
	defsStream int64         // identity of the stream it read them from

	running atomic.Bool
	wake    chan struct{} // capacity 1; never closed: watch changes are waiting

	mu      sync.Mutex      // guards want, isDirty and dirty
	want    map[string]bool // symbol is watched by local clients
	isDirty map[string]bool // symbol is in dirty
	dirty   []string        // symbols whose want changed since Run last looked

	names atomic.Pointer[[]string] // the listed symbols, in listing order; written by Run
	snaps snapshotCache

	watching    atomic.Int64                  // symbols subscribed on NATS
	lastBeat    atomic.Int64                  // Unix ns a heartbeat last arrived
	lastTick    atomic.Int64                  // Unix ns a tick was last delivered
	upstream    atomic.Pointer[[]feed.Health] // the feed node's sources, from its last heartbeat
	beatStreams atomic.Pointer[streamIDs]     // the feed node's streams, from its last heartbeat
	staleNote   atomic.Pointer[string]        // why symbols are being dropped as stale; nil when none
	stats       edgeCounters
}

// edgeCounters are an Edge's counters; see EdgeStats.
type edgeCounters struct {
	gaps, bad, resets, stale, resyncs, held, listed, delisted, storedBooks atomic.Uint64
}

// NewEdge reads the symbol definitions the feed node stored, waiting for
// them until ctx is done (give ctx a deadline: a cluster with no feed node
// never gets any). nc is a connection from Connect; the caller closes it
// after Run returns.
func NewEdge(ctx context.Context, nc *nats.Conn, cfg Config, log *slog.Logger) (*Edge, error) {
	if nc == nil {
		return nil, errors.New("cluster: edge needs a NATS connection")
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
	e := &Edge{
		nc: nc, js: js, cfg: cfg.withDefaults(), log: log, subj: subj,
		wake: make(chan struct{}, 1),
		want: map[string]bool{}, isDirty: map[string]bool{},
	}
	if err := e.readDefinitions(ctx); err != nil {
		return nil, err
	}
	names := make([]string, len(e.first))
	for i, s := range e.first {
		names[i] = s.Name
	}
	e.names.Store(&names)
	log.Info("edge got the symbol list", "symbols", len(e.first), "server", connectedURL(nc))
	return e, nil
}

// readDefinitions reads the stored symbol definitions until there is at
// least one or ctx is done.
func (e *Edge) readDefinitions(ctx context.Context) error {
	var last error
	for {
		err := e.readDefinitionsOnce(ctx)
		switch {
		case err != nil:
			last = err
			e.log.Debug("edge cannot read the symbol list yet", "err", err)
		case len(e.first) == 0:
			last = errors.New("the stream has no symbol definitions")
		default:
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("cluster: no symbol list on %s in stream %s (is a feed node publishing?): %v",
				e.subj.allOf(kindDef), e.subj.lastStream(), last)
		case <-time.After(250 * time.Millisecond):
		}
	}
}

func (e *Edge) readDefinitionsOnce(ctx context.Context) error {
	rctx, cancel := context.WithTimeout(ctx, e.cfg.RequestTimeout)
	st, err := e.js.Stream(rctx, e.subj.lastStream())
	cancel()
	if err != nil {
		return err
	}
	e.defsStream = st.CachedInfo().Created.UnixNano()
	e.first = e.first[:0]
	bad := 0
	e.defsSeq, err = lastPerSubject(ctx, e.js, e.subj.lastStream(), e.subj.allOf(kindDef), e.cfg.RequestTimeout, mirrorBytes(e.nc, e.cfg),
		func(subject string, data []byte) {
			if len(data) == 0 {
				return // delisted
			}
			tok, _, _ := e.subj.parseSymbol(subject)
			d, err := decodeSymbol(tok, data)
			if err != nil {
				if bad++; bad == 1 {
					e.log.Warn("edge ignores a malformed symbol definition", "err", err)
				}
				return
			}
			e.first = append(e.first, d)
		})
	return err
}

// Symbols returns the feed node's symbols when NewEdge read them; later
// listings and delistings reach the sink.
func (e *Edge) Symbols() []feed.Symbol { return e.first }

// Watch records that local clients started or stopped watching symbol; Run
// subscribes or unsubscribes. It never blocks. Changes are coalesced: only
// the latest state of each symbol counts. A symbol that is not listed
// (yet) is subscribed when it is.
func (e *Edge) Watch(symbol string, watched bool) {
	e.mu.Lock()
	if watched {
		e.want[symbol] = true
	} else {
		delete(e.want, symbol)
	}
	if !e.isDirty[symbol] {
		e.isDirty[symbol] = true
		e.dirty = append(e.dirty, symbol)
	}
	e.mu.Unlock()
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

// wanted reports whether local clients watch symbol.
func (e *Edge) wanted(symbol string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.want[symbol]
}

// Watching returns how many symbols the Edge is subscribed to on NATS.
func (e *Edge) Watching() int { return int(e.watching.Load()) }

// Run delivers into sink until ctx is done, then stops everything it
// started and returns nil: the watched symbols' ticks and book updates,
// and every symbol's trades, candles, listings and delistings. If sink
// has PublishEncoded (the hub does) it gets the feed node's tick bytes as
// they are; otherwise each tick is decoded and given to Publish.
func (e *Edge) Run(ctx context.Context, sink feed.Sink) error {
	if !e.running.CompareAndSwap(false, true) {
		return errors.New("cluster: edge already running")
	}
	defer e.running.Store(false)
	r := newEdgeRun(e, sink)
	hb, err := e.nc.ChanSubscribe(e.subj.heartbeat(), r.msgs)
	if err != nil {
		return fmt.Errorf("cluster: subscribe %s: %w", e.subj.heartbeat(), err)
	}
	fetched := make(chan fetchedMsg, 64)
	r.fetch = newFetcher(e, fetched)
	fctx, stopFetch := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { r.fetch.run(fctx) })
	r.startMirrors(ctx)
	defer func() {
		stopFetch()
		wg.Wait()
		for _, m := range r.mirrors {
			m.halt()
		}
		_ = hb.Unsubscribe()
		for _, s := range r.syms {
			r.unsubscribe(s)
		}
	}()

	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	reconnects := e.nc.Stats().Reconnects
	r.applyWatches() // Watch may have been called before Run
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-e.wake:
			r.applyWatches()
		case m := <-r.msgs:
			r.message(m)
		case f := <-fetched:
			r.fetched(f)
		case mm := <-r.mirrored:
			r.mirror(mm)
			if len(r.mirrored) == 0 {
				r.flushListings()
			}
		case now := <-tick.C:
			if n := e.nc.Stats().Reconnects; n != reconnects {
				reconnects = n
				k := 0
				for _, s := range r.syms {
					if s.sub != nil {
						r.bookWatched(s, now)
						r.fetchLast(s)
						r.settle(s, now)
						k++
					}
				}
				e.log.Info("edge refetching the last values after a reconnect", "symbols", k, "server", connectedURL(e.nc))
			}
			r.periodic(ctx, now)
		}
	}
}

// edgeRun is the state of one Run, owned by its goroutine.
type edgeRun struct {
	e        *Edge
	sink     feed.Sink
	enc      encodedSink // sink, when it takes encoded ticks
	drop     bookDropper // sink, when it forgets books
	msgs     chan *nats.Msg
	mirrored chan mirrorMsg
	fetch    *fetcher
	mirrors  []*mirror
	defs     *mirror

	syms      map[string]*edgeSym // listed symbols, by name
	byToken   map[string]*edgeSym
	names     []string // listed symbols in listing order, for AppendSnapshots
	toList    []feed.Symbol
	toDelist  []string
	held      map[string]*heldMsgs // trades and candles of symbols not listed yet
	heldBytes int                  // their size as they came

	settling []*edgeSym // symbols to fetch again at settleAt
	settleAt time.Time

	stale     map[*edgeSym]struct{} // symbols whose updates were dropped as stale lately
	unsynced  map[*edgeSym]struct{} // watched books waiting for a snapshot
	storing   map[*edgeSym]struct{} // books with a stored snapshot waiting (edgeBook.stored)
	bookHeld  int                   // bytes of book updates held, over all symbols
	lastReset uint64                // the epoch of the last reset logged

	bu      protocol.BookUpdate // scratch for decoding book messages
	changes []watchChange       // scratch for applyWatches
}

// edgeSym is a listed symbol of a Run.
type edgeSym struct {
	def   feed.Symbol
	token string
	sub   *nats.Subscription // PREFIX.sym.TOKEN.*; nil when not watched

	tick, trade seqState
	live        uint64 // tick seq last delivered while subscribed; 0 after unsubscribing
	book        edgeBook
	settled     bool // in settling

	staleSince, staleLast time.Time // the current run of stale drops
	staleWhy              string
	delisted              bool
}

type watchChange struct {
	name string
	want bool
}

// heldMsgs are mirrored messages of a symbol whose listing has not come
// yet (the streams are read independently).
type heldMsgs struct {
	since time.Time
	msgs  []mirrorMsg
}

// Bounds of the held messages: their size in all (as they came; decoded
// they take about three times as much), and how long for a symbol.
const (
	maxHeldBytes = 1 << 20
	holdTime     = 10 * time.Second
)

func newEdgeRun(e *Edge, sink feed.Sink) *edgeRun {
	r := &edgeRun{
		e: e, sink: sink,
		msgs:     make(chan *nats.Msg, e.cfg.Buffer),
		mirrored: make(chan mirrorMsg, 256),
		syms:     make(map[string]*edgeSym, len(e.first)),
		byToken:  make(map[string]*edgeSym, len(e.first)),
		held:     map[string]*heldMsgs{},
		stale:    map[*edgeSym]struct{}{},
		unsynced: map[*edgeSym]struct{}{},
		storing:  map[*edgeSym]struct{}{},
	}
	r.enc, _ = sink.(encodedSink)
	r.drop, _ = sink.(bookDropper)
	for _, d := range e.first {
		r.addSym(d)
	}
	return r
}

func (r *edgeRun) addSym(d feed.Symbol) *edgeSym {
	s := &edgeSym{def: d, token: SubjectToken(d.Name)}
	r.syms[d.Name] = s
	r.byToken[s.token] = s
	r.names = append(r.names, d.Name)
	return s
}

// startMirrors starts reading the definitions after what NewEdge read, and
// the trades and candles from the start of their streams.
func (r *edgeRun) startMirrors(ctx context.Context) {
	subj := r.e.subj
	r.defs = defMirror(subj)
	trades, candles := tradeMirror(subj), candleMirror(subj)
	r.mirrors = []*mirror{r.defs, trades, candles}
	r.defs.start(ctx, r.e, r.mirrored, r.e.defsSeq+1, r.e.defsStream)
	trades.start(ctx, r.e, r.mirrored, 0, 0)
	candles.start(ctx, r.e, r.mirrored, 0, 0)
}

// restartMirror reads m's stream again from the start: it is a new
// stream (its sequence numbers started again), so reading on after the
// last sequence read would wait for messages that are already there.
// What was delivered before is dropped as not newer.
func (r *edgeRun) restartMirror(ctx context.Context, m *mirror) {
	r.e.log.Info("edge reading a new stream from its start", "stream", m.stream)
	m.halt()
	m.start(ctx, r.e, r.mirrored, 0, 0)
}

func (r *edgeRun) applyWatches() {
	e := r.e
	e.mu.Lock()
	r.changes = r.changes[:0]
	for _, name := range e.dirty {
		r.changes = append(r.changes, watchChange{name, e.want[name]})
	}
	clear(e.isDirty)
	clear(e.dirty)
	e.dirty = e.dirty[:0]
	e.mu.Unlock()
	now := time.Now()
	for _, c := range r.changes {
		s := r.syms[c.name]
		switch {
		case s == nil:
		case c.want && s.sub == nil:
			r.subscribe(s, now)
		case !c.want && s.sub != nil:
			r.unsubscribe(s)
		}
	}
}

// subscribe starts following s: one subscription to its subjects, then
// its last tick and book snapshot from the stream.
func (r *edgeRun) subscribe(s *edgeSym, now time.Time) {
	e := r.e
	sub, err := e.nc.ChanSubscribe(e.subj.symbolAll(s.token), r.msgs)
	if err != nil {
		e.log.Warn("edge cannot subscribe", "symbol", s.def.Name, "err", err)
		return
	}
	s.sub = sub
	e.watching.Add(1)
	r.bookWatched(s, now)
	r.fetchLast(s)
	r.settle(s, now)
}

func (r *edgeRun) unsubscribe(s *edgeSym) {
	if s.sub == nil {
		return
	}
	if err := s.sub.Unsubscribe(); err != nil {
		r.e.log.Warn("edge cannot unsubscribe", "symbol", s.def.Name, "err", err)
	}
	s.sub = nil
	s.live = 0
	r.bookUnwatched(s)
	r.e.watching.Add(-1)
}

func (r *edgeRun) fetchLast(s *edgeSym) {
	r.fetch.add(r.e.subj.symbol(s.token, kindTick))
	r.fetch.add(r.e.subj.symbol(s.token, kindSnap))
}

// settle schedules s to be fetched again Config.Settle from now.
func (r *edgeRun) settle(s *edgeSym, now time.Time) {
	if s.settled {
		return
	}
	if len(r.settling) == 0 {
		r.settleAt = now.Add(r.e.cfg.Settle)
	}
	s.settled = true
	r.settling = append(r.settling, s)
}

// periodic does what is due every 100 ms.
func (r *edgeRun) periodic(ctx context.Context, now time.Time) {
	if len(r.settling) > 0 && now.After(r.settleAt) {
		for _, s := range r.settling {
			s.settled = false
			if s.sub != nil && !s.delisted {
				r.fetchLast(s)
			}
		}
		clear(r.settling)
		r.settling = r.settling[:0]
	}
	// A mirror whose reader went on from its last sequence in a stream
	// the feed node has since made again reads the new one from the start.
	if beat := r.e.beatStreams.Load(); beat != nil {
		for _, m := range r.mirrors {
			if want, have := (*beat)[m.stream], m.created.Load(); have != 0 && want > have {
				r.restartMirror(ctx, m)
			}
		}
	}
	r.bookRetries(now)
	r.staleReport(now)
	for name, h := range r.held {
		if now.Sub(h.since) > holdTime {
			r.e.stats.held.Add(uint64(len(h.msgs)))
			r.unhold(name, h)
		}
	}
}

func (r *edgeRun) message(m *nats.Msg) {
	e := r.e
	if m.Subject == e.subj.heartbeat() {
		r.heartbeat(m.Data)
		return
	}
	tok, kind, ok := e.subj.parseSymbol(m.Subject)
	if !ok {
		e.stats.bad.Add(1)
		return
	}
	s := r.byToken[tok]
	if s == nil || s.sub == nil {
		return // unsubscribed meanwhile
	}
	switch kind {
	case kindTick:
		r.tickMsg(s, m.Data, true)
	case kindBook:
		r.bookMsg(s, m.Data, false)
	case kindSnap:
		r.bookMsg(s, m.Data, true)
	}
}

func (r *edgeRun) fetched(f fetchedMsg) {
	tok, kind, ok := r.e.subj.parseSymbol(f.subject)
	s := r.byToken[tok]
	if !ok || s == nil {
		return
	}
	switch kind {
	case kindTick:
		r.tickMsg(s, f.data, false)
	case kindSnap:
		if s.sub != nil {
			r.fetchedBook(s, f.data, time.Now())
		}
	}
}

// heartbeat records the feed node's beat.
func (r *edgeRun) heartbeat(data []byte) {
	e := r.e
	var hb heartbeat
	if err := json.Unmarshal(data, &hb); err != nil {
		e.stats.bad.Add(1)
		return
	}
	e.upstream.Store(&hb.Sources)
	e.beatStreams.Store(&hb.Streams)
	e.lastBeat.Store(time.Now().UnixNano())
}

// tickMsg hands one tick message of s to the sink unless it is not newer
// than the last one. live is false for a tick fetched from the stream.
func (r *edgeRun) tickMsg(s *edgeSym, data []byte, live bool) {
	e := r.e
	if len(data) == 0 {
		return // what a delisting left
	}
	epoch, frame, ok := cutEpoch(data)
	var typ, sym []byte
	var seq uint64
	var ts int64
	if ok {
		typ, sym, seq, ts, ok = protocol.ScanTick(frame)
	}
	if !ok || string(typ) != "tick" || string(sym) != s.def.Name {
		if e.stats.bad.Add(1) == 1 {
			e.log.Warn("edge dropped a message that is not a tick of its subject's symbol", "symbol", s.def.Name, "len", len(data))
		}
		return
	}
	switch v := s.tick.check(epoch, seq); v {
	case dropDup:
		return // the fetch and the subscription overlap
	case dropOlder, dropStale:
		if live || v == dropStale {
			r.dropStale(s, "quotes", s.tick, epoch, seq)
		}
		return
	case deliverReset:
		r.reset(s, "quotes", s.tick.epoch, epoch)
		s.live = 0
	}
	if live {
		if s.live != 0 && seq > s.live+1 {
			e.stats.gaps.Add(seq - s.live - 1)
		}
		s.live = seq
	}
	s.tick.take(epoch, seq)
	r.fresh(s)
	e.lastTick.Store(time.Now().UnixNano())
	r.flushListings()
	if r.enc != nil {
		if err := r.enc.PublishEncoded(s.def.Name, epoch, seq, ts, frame); err != nil {
			e.stats.bad.Add(1)
		}
		return
	}
	t, _, err := protocol.DecodeTick(frame)
	if err != nil {
		e.stats.bad.Add(1)
		return
	}
	t.Epoch = epoch
	r.sink.Publish(&t)
}

// mirror handles one message of the mirrors.
func (r *edgeRun) mirror(mm mirrorMsg) {
	switch {
	case mm.listed != nil:
		r.list(*mm.listed)
	case mm.delisted != "":
		r.delist(mm.delisted)
	case mm.trade != nil:
		s := r.syms[mm.trade.Symbol]
		if s == nil {
			r.hold(mm.trade.Symbol, mm)
			return
		}
		r.trade(s, mm.trade)
	case mm.candle != nil:
		if r.syms[mm.candle.Symbol] == nil {
			r.hold(mm.candle.Symbol, mm)
			return
		}
		r.flushListings()
		r.sink.PublishCandle(mm.candle)
	}
}

// trade hands a mirrored trade to the sink unless it is not newer than the
// last one (the mirror read it again after a restart).
func (r *edgeRun) trade(s *edgeSym, t *protocol.Trade) {
	switch v := s.trade.check(t.Epoch, t.Seq); v {
	case dropDup, dropOlder:
		return
	case dropStale:
		r.dropStale(s, "trades", s.trade, t.Epoch, t.Seq)
		return
	case deliverReset:
		r.reset(s, "trades", s.trade.epoch, t.Epoch)
	default:
		if s.trade.set && t.Seq > s.trade.seq+1 {
			r.e.stats.gaps.Add(t.Seq - s.trade.seq - 1)
		}
	}
	s.trade.take(t.Epoch, t.Seq)
	r.fresh(s)
	r.flushListings()
	r.sink.PublishTrade(t)
}

// hold keeps a mirrored message of a symbol whose listing has not come,
// within maxHeldBytes.
func (r *edgeRun) hold(name string, mm mirrorMsg) {
	if r.heldBytes+mm.size > maxHeldBytes {
		r.e.stats.held.Add(1)
		return
	}
	h := r.held[name]
	if h == nil {
		h = &heldMsgs{since: time.Now()}
		r.held[name] = h
	}
	h.msgs = append(h.msgs, mm)
	r.heldBytes += mm.size
}

func (r *edgeRun) unhold(name string, h *heldMsgs) {
	for _, mm := range h.msgs {
		r.heldBytes -= mm.size
	}
	delete(r.held, name)
}

// list lists d, or updates its definition.
func (r *edgeRun) list(d feed.Symbol) {
	s := r.syms[d.Name]
	switch {
	case s == nil:
		r.addSym(d)
	case sameSymbol(s.def, d):
		return
	default:
		s.def = d
	}
	if len(r.toDelist) > 0 {
		r.flushListings() // keep the order of listings and delistings
	}
	r.toList = append(r.toList, d)
	if len(r.toList) >= 1024 {
		r.flushListings()
	}
}

// delist ends a symbol: its subscription and everything kept of it.
func (r *edgeRun) delist(name string) {
	s := r.syms[name]
	if s == nil {
		return
	}
	r.unsubscribe(s)
	s.delisted = true
	delete(r.syms, name)
	delete(r.byToken, s.token)
	delete(r.stale, s)
	if h := r.held[name]; h != nil {
		r.unhold(name, h)
	}
	r.names = slices.DeleteFunc(r.names, func(n string) bool { return n == name })
	if len(r.toList) > 0 {
		r.flushListings()
	}
	r.toDelist = append(r.toDelist, name)
}

// flushListings hands the listings and delistings read so far to the
// sink, then what was held for the new symbols, and subscribes the new
// symbols local clients already watch.
func (r *edgeRun) flushListings() {
	if len(r.toList) == 0 && len(r.toDelist) == 0 {
		return
	}
	e := r.e
	names := slices.Clone(r.names)
	e.names.Store(&names)
	if len(r.toDelist) > 0 {
		r.sink.Delist(r.toDelist)
		e.stats.delisted.Add(uint64(len(r.toDelist)))
		clear(r.toDelist)
		r.toDelist = r.toDelist[:0]
	}
	if len(r.toList) == 0 {
		return
	}
	listed := r.toList
	r.toList = nil
	r.sink.List(listed)
	e.stats.listed.Add(uint64(len(listed)))
	now := time.Now()
	for _, d := range listed {
		s := r.syms[d.Name]
		if s == nil {
			continue
		}
		if h := r.held[d.Name]; h != nil {
			r.unhold(d.Name, h)
			for _, mm := range h.msgs {
				r.mirror(mm)
			}
		}
		if s.sub == nil && e.wanted(d.Name) {
			r.subscribe(s, now)
		}
	}
	r.toList = listed[:0]
}
