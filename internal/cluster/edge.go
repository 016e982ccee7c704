package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/tickerd/tickerd/feed"
	"github.com/tickerd/tickerd/protocol"
)

// Edge is a node that serves clients from NATS: a feed.Feed whose symbols
// and ticks come from the feed node, and a feed.Watcher that subscribes to
// a symbol's subject only while local clients watch it. A new subscription
// first gets the symbol's last tick from the stream, so a client on a
// fresh edge has the current state at once. Ticks reach the hub as the
// bytes the feed node encoded (hub.PublishEncoded), so clients of every
// node get the same frames with the same seq.
//
// After a reconnect (NATS resubscribes by itself) the Edge fetches the last
// value of every watched symbol again; ticks missed while disconnected are
// thus conflated into that one. An update whose seq is not above the last
// one delivered for its symbol is dropped, so a sink never sees a seq go
// back or repeat.
type Edge struct {
	// Static after NewEdge.
	nc       *nats.Conn
	cfg      Config
	log      *slog.Logger
	subj     subjects
	syms     []feed.Symbol
	index    map[string]int // by name
	bySubj   map[string]int // by tick subject
	tickSubj []string

	running atomic.Bool
	wake    chan struct{} // capacity 1; never closed: watch changes are waiting

	mu      sync.Mutex // guards want, isDirty and dirty
	want    []bool     // symbol is watched by local clients
	isDirty []bool     // symbol is in dirty
	dirty   []int      // symbols whose want changed since Run last looked

	watching atomic.Int64                  // symbols subscribed on NATS
	lastBeat atomic.Int64                  // Unix ns a heartbeat last arrived
	lastTick atomic.Int64                  // Unix ns a tick was last delivered
	gaps     atomic.Uint64                 // seq numbers skipped on subscribed symbols
	bad      atomic.Uint64                 // messages that were not a tick of their subject's symbol
	upstream atomic.Pointer[[]feed.Health] // the feed node's sources, from its last heartbeat
}

// NewEdge reads the symbol list the feed node published, waiting for it
// until ctx is done (give ctx a deadline: a cluster with no feed node
// never gets one). nc is a connection from Connect; the caller closes it
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
	cfg = cfg.withDefaults()
	syms, err := waitSymbols(ctx, nc, subj, cfg.RequestTimeout)
	if err != nil {
		return nil, err
	}
	e := &Edge{
		nc: nc, cfg: cfg, log: log, subj: subj, syms: syms,
		index:  make(map[string]int, len(syms)),
		bySubj: make(map[string]int, len(syms)),
		wake:   make(chan struct{}, 1),
		want:   make([]bool, len(syms)), isDirty: make([]bool, len(syms)),
	}
	for i, s := range syms {
		e.index[s.Name] = i
		e.tickSubj = append(e.tickSubj, subj.tick(s.Name))
		e.bySubj[e.tickSubj[i]] = i
	}
	log.Info("edge got the symbol list", "symbols", len(syms), "server", nc.ConnectedUrlRedacted())
	return e, nil
}

// waitSymbols polls the stream for the symbol list until ctx is done.
func waitSymbols(ctx context.Context, nc *nats.Conn, subj subjects, timeout time.Duration) ([]feed.Symbol, error) {
	var last error
	for {
		rctx, cancel := context.WithTimeout(ctx, timeout)
		data, err := directLast(rctx, nc, subj.stream(), subj.symbols())
		cancel()
		switch {
		case err != nil:
			last = err
		case data == nil:
			last = errors.New("the stream has no symbol list")
		default:
			return decodeSymbols(data)
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("cluster: no symbol list on %s in stream %s (is a feed node publishing?): %v",
				subj.symbols(), subj.stream(), last)
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// Symbols returns the feed node's symbols.
func (e *Edge) Symbols() []feed.Symbol { return e.syms }

// Watch records that local clients started or stopped watching symbol; Run
// subscribes or unsubscribes. It never blocks. Changes are coalesced: only
// the latest state of each symbol counts.
func (e *Edge) Watch(symbol string, watched bool) {
	i, ok := e.index[symbol]
	if !ok {
		return
	}
	e.mu.Lock()
	e.want[i] = watched
	if !e.isDirty[i] {
		e.isDirty[i] = true
		e.dirty = append(e.dirty, i)
	}
	e.mu.Unlock()
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

// Watching returns how many symbols the Edge is subscribed to on NATS.
func (e *Edge) Watching() int { return int(e.watching.Load()) }

// Run delivers the watched symbols' ticks into sink until ctx is done,
// then unsubscribes and returns nil. If sink has PublishEncoded (the hub
// does) it gets the feed node's bytes as they are; otherwise each tick is
// decoded and given to Publish.
func (e *Edge) Run(ctx context.Context, sink feed.Sink) error {
	if !e.running.CompareAndSwap(false, true) {
		return errors.New("cluster: edge already running")
	}
	defer e.running.Store(false)
	r := &edgeRun{
		e: e, sink: sink,
		msgs:    make(chan *nats.Msg, e.cfg.Buffer),
		subs:    make([]*nats.Subscription, len(e.syms)),
		last:    make([]uint64, len(e.syms)),
		live:    make([]uint64, len(e.syms)),
		settled: make([]bool, len(e.syms)),
	}
	r.enc, _ = sink.(encodedSink)
	hb, err := e.nc.ChanSubscribe(e.subj.heartbeat(), r.msgs)
	if err != nil {
		return fmt.Errorf("cluster: subscribe %s: %w", e.subj.heartbeat(), err)
	}
	fetched := make(chan fetchedMsg, 64)
	r.fetch = newFetcher(e, fetched)
	fctx, stopFetch := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		r.fetch.run(fctx)
	}()
	defer func() {
		stopFetch()
		wg.Wait()
		_ = hb.Unsubscribe()
		for i, s := range r.subs {
			if s != nil {
				_ = s.Unsubscribe()
				r.subs[i] = nil
			}
		}
		e.watching.Store(0)
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
			r.deliver(f.idx, f.data)
		case now := <-tick.C:
			if n := e.nc.Stats().Reconnects; n != reconnects {
				reconnects = n
				k := 0
				for i, s := range r.subs {
					if s != nil {
						r.fetch.add(i)
						r.settle(i, now)
						k++
					}
				}
				e.log.Info("edge refetching the last values after a reconnect", "symbols", k, "server", e.nc.ConnectedUrlRedacted())
			}
			if len(r.settling) > 0 && now.After(r.settleAt) {
				for _, i := range r.settling {
					r.settled[i] = false
					if r.subs[i] != nil {
						r.fetch.add(i)
					}
				}
				r.settling = r.settling[:0]
			}
		}
	}
}

// edgeRun is the state of one Run, owned by its goroutine.
type edgeRun struct {
	e     *Edge
	sink  feed.Sink
	enc   encodedSink // sink, when it takes encoded ticks
	msgs  chan *nats.Msg
	fetch *fetcher

	subs []*nats.Subscription // by symbol; nil when not subscribed
	last []uint64             // seq last delivered, by symbol
	live []uint64             // seq last delivered while subscribed; 0 after unsubscribing

	settling []int // symbols to fetch again at settleAt
	settled  []bool
	settleAt time.Time

	changes []change // scratch for applyWatches
}

type change struct {
	idx  int
	want bool
}

func (r *edgeRun) applyWatches() {
	e := r.e
	e.mu.Lock()
	r.changes = r.changes[:0]
	for _, i := range e.dirty {
		e.isDirty[i] = false
		r.changes = append(r.changes, change{i, e.want[i]})
	}
	e.dirty = e.dirty[:0]
	e.mu.Unlock()
	now := time.Now()
	for _, c := range r.changes {
		switch s := r.subs[c.idx]; {
		case c.want && s == nil:
			s, err := e.nc.ChanSubscribe(e.tickSubj[c.idx], r.msgs)
			if err != nil {
				e.log.Warn("edge cannot subscribe", "symbol", e.syms[c.idx].Name, "err", err)
				continue
			}
			r.subs[c.idx] = s
			e.watching.Add(1)
			r.fetch.add(c.idx)
			r.settle(c.idx, now)
		case !c.want && s != nil:
			if err := s.Unsubscribe(); err != nil {
				e.log.Warn("edge cannot unsubscribe", "symbol", e.syms[c.idx].Name, "err", err)
			}
			r.subs[c.idx] = nil
			r.live[c.idx] = 0
			e.watching.Add(-1)
		}
	}
}

// settle schedules symbol i to be fetched again Config.Settle from now.
func (r *edgeRun) settle(i int, now time.Time) {
	if r.settled[i] {
		return
	}
	if len(r.settling) == 0 {
		r.settleAt = now.Add(r.e.cfg.Settle)
	}
	r.settled[i] = true
	r.settling = append(r.settling, i)
}

func (r *edgeRun) message(m *nats.Msg) {
	if m.Subject == r.e.subj.heartbeat() {
		var hb heartbeat
		if err := json.Unmarshal(m.Data, &hb); err != nil {
			r.e.bad.Add(1)
			return
		}
		r.e.upstream.Store(&hb.Sources)
		r.e.lastBeat.Store(time.Now().UnixNano())
		return
	}
	i, ok := r.e.bySubj[m.Subject]
	if !ok {
		r.e.bad.Add(1)
		return
	}
	r.deliver(i, m.Data)
}

// deliver hands one encoded tick of symbol i to the sink unless it is not
// newer than the last one.
func (r *edgeRun) deliver(i int, data []byte) {
	e := r.e
	typ, sym, seq, ts, ok := protocol.ScanTick(data)
	if !ok || string(typ) != "tick" || string(sym) != e.syms[i].Name {
		if e.bad.Add(1) == 1 {
			e.log.Warn("edge dropped a message that is not a tick of its subject's symbol", "symbol", e.syms[i].Name, "len", len(data))
		}
		return
	}
	if seq <= r.last[i] {
		return // duplicate or older: the fetch and the subscription overlap
	}
	if r.subs[i] != nil {
		if live := r.live[i]; live != 0 && seq > live+1 {
			e.gaps.Add(seq - live - 1)
		}
		r.live[i] = seq
	}
	r.last[i] = seq
	e.lastTick.Store(time.Now().UnixNano())
	if r.enc != nil {
		if err := r.enc.PublishEncoded(e.syms[i].Name, seq, ts, data); err != nil {
			e.bad.Add(1)
		}
		return
	}
	t, _, err := protocol.DecodeTick(data)
	if err != nil {
		e.bad.Add(1)
		return
	}
	r.sink.Publish(&t)
}

// Health reports two sources, plus the feed node's own ones from its last
// heartbeat: "nats" (the connection) and "feed-node" (connected while
// heartbeats arrive; LastUpdate is the last tick delivered; Gaps counts
// seqs skipped on subscribed symbols, by reconnects or drops). It
// implements feed.HealthReporter.
func (e *Edge) Health() []feed.Health {
	n := feed.Health{Source: "nats", Reconnects: e.nc.Stats().Reconnects}
	if st := e.nc.Status(); st != nats.CONNECTED {
		n.Err = "nats connection " + st.String()
	} else {
		n.Connected = true
	}
	f := feed.Health{Source: "feed-node", Gaps: e.gaps.Load()}
	if ns := e.lastTick.Load(); ns != 0 {
		f.LastUpdate = time.Unix(0, ns)
	}
	beat := e.lastBeat.Load()
	age := time.Since(time.Unix(0, beat))
	switch {
	case !e.running.Load():
		f.Err = "edge not running"
	case beat == 0:
		f.Err = "no heartbeat from the feed node yet"
	case age > e.cfg.FeedTimeout:
		f.Err = fmt.Sprintf("no heartbeat from the feed node for %s", age.Round(100*time.Millisecond))
	default:
		f.Connected = true
	}
	out := []feed.Health{n, f}
	if up := e.upstream.Load(); up != nil && f.Connected {
		for _, h := range *up {
			h.Source = "feed-node/" + h.Source
			out = append(out, h)
		}
	}
	return out
}
