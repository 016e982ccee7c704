package cluster

import (
	"errors"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/tickerd/tickerd/feed"
	"github.com/tickerd/tickerd/protocol"
)

// purgeTTL is the life of a delisting's tombstone on a symbol's data
// subjects: long enough to replace (or, with a rollup, purge) what they
// held, then nothing is left of the symbol there.
const purgeTTL = "1s"

// pubRun is one run of a Publisher and the feed.Sink its feed publishes
// into. Every sink method holds mu for its whole call, as do the
// republishing and the book snapshots: the feed publishes from its
// goroutine and a candle builder in front of the Publisher from its own,
// and mu keeps each subject's messages in the order their state changed
// and the local sink's calls one at a time.
type pubRun struct {
	// Static after newPubRun.
	p     *Publisher
	next  feed.Sink   // the local sink; nil when PublishOnly
	enc   encodedSink // next, when it takes encoded ticks
	epoch uint64      // the run's epoch: seq spaces that start in this run
	st    *setupState
	// Headers of delisting tombstones; shared, never modified.
	delistHdr, purgeHdr, rollupHdr nats.Header
	rollupOpen                     nats.Header // an open candle replaces the one before

	mu       sync.Mutex
	syms     map[string]*pubSym // listed symbols, by name
	withBook []*pubSym          // symbols that have had a book update
	buf      []byte             // the message being published
	tick     protocol.Tick      // a tick with its seq and epoch placed
	trade    protocol.Trade
	bu       protocol.BookUpdate
	candle   protocol.Candle
	snap     protocol.BookUpdate // a stored snapshot being written
	failing  bool                // the last publish failed

	wantMu sync.Mutex      // guards wanted
	wanted map[string]bool // tokens whose book edges asked a snapshot of
	wake   chan struct{}   // capacity 1: wants are waiting
}

// pubSym is a listed symbol of a run. Guarded by pubRun.mu.
type pubSym struct {
	def                  feed.Symbol
	token                string
	tickSubj, tradeSubj  string
	ticks, trades, books lane
	stTick, stTrade      stored   // what the streams held at the start
	latest               []byte   // the last tick message published
	ob                   *pubBook // nil until its first book update
	delisted             bool
}

func newPubRun(p *Publisher, st *setupState, sink feed.Sink) *pubRun {
	r := &pubRun{
		p: p, epoch: st.epoch, st: st,
		delistHdr:  nats.Header{"Nats-TTL": {p.cfg.DelistTTL.String()}},
		purgeHdr:   nats.Header{"Nats-TTL": {purgeTTL}},
		rollupHdr:  nats.Header{"Nats-TTL": {purgeTTL}, "Nats-Rollup": {"sub"}},
		rollupOpen: nats.Header{"Nats-Rollup": {"sub"}},
		syms:       make(map[string]*pubSym, len(p.syms)),
		wanted:     map[string]bool{},
		wake:       make(chan struct{}, 1),
	}
	if !p.cfg.PublishOnly {
		r.next = sink
		r.enc, _ = sink.(encodedSink)
	}
	// The definitions: the feed's, and the end of the stored ones the
	// feed no longer has.
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, d := range p.syms {
		s := r.addLocked(d)
		if old, ok := st.defs[d.Name]; !ok || !sameSymbol(old, d) {
			r.publishDefLocked(s)
		}
	}
	for name, d := range st.defs {
		if r.syms[name] == nil {
			r.tombstonesLocked(SubjectToken(d.Name))
		}
	}
	st.defs = nil // stored ticks and trades stay, for symbols listed later
	return r
}

// addLocked lists d, which is not listed.
func (r *pubRun) addLocked(d feed.Symbol) *pubSym {
	tok := SubjectToken(d.Name)
	s := &pubSym{
		def: d, token: tok,
		tickSubj:  r.p.subj.symbol(tok, kindTick),
		tradeSubj: r.p.subj.trade(tok),
		stTick:    r.st.ticks[d.Name],
		stTrade:   r.st.trades[d.Name],
	}
	r.syms[d.Name] = s
	return s
}

func (r *pubRun) publishDefLocked(s *pubSym) {
	data, err := encodeSymbol(s.def)
	if err != nil {
		r.p.log.Warn("symbol definition not published", "symbol", s.def.Name, "err", err)
		return
	}
	r.publishLocked(&nats.Msg{Subject: r.p.subj.symbol(s.token, kindDef), Data: data})
}

// tombstonesLocked ends a symbol's state in the streams: its definition
// becomes an empty message for Config.DelistTTL (edges learn the
// delisting from it); its last tick and book snapshot, trades and candles
// are replaced or purged by empty messages that live a second.
func (r *pubRun) tombstonesLocked(tok string) {
	subj := r.p.subj
	r.publishLocked(&nats.Msg{Subject: subj.symbol(tok, kindDef), Header: r.delistHdr})
	r.publishLocked(&nats.Msg{Subject: subj.symbol(tok, kindTick), Header: r.purgeHdr})
	r.publishLocked(&nats.Msg{Subject: subj.symbol(tok, kindSnap), Header: r.purgeHdr})
	r.publishLocked(&nats.Msg{Subject: subj.trade(tok), Header: r.rollupHdr})
	for iv := range protocol.NumIntervals {
		for _, closed := range []bool{false, true} {
			r.publishLocked(&nats.Msg{Subject: subj.candle(tok, iv, closed), Header: r.rollupHdr})
		}
	}
}

// publishLocked publishes m, keeping the Publisher's health: a message the
// server would refuse (larger than its maximum payload) is counted and
// logged, any other failure is reported until a publish works again.
func (r *pubRun) publishLocked(m *nats.Msg) {
	p := r.p
	err := p.nc.PublishMsg(m)
	switch {
	case err == nil:
		p.lastPub.Store(time.Now().UnixNano())
		if r.failing {
			r.failing = false
			p.pubErr.Store(nil)
			p.log.Info("publishing to NATS again")
		}
	case errors.Is(err, nats.ErrMaxPayload):
		if p.dropped.Add(1) == 1 {
			p.log.Warn("a message is larger than the NATS server takes; not published (counted in Rejected)", "subject", m.Subject, "bytes", len(m.Data), "max", p.nc.MaxPayload())
		}
	default:
		if !r.failing {
			r.failing = true
			msg := "publish: " + err.Error()
			p.pubErr.Store(&msg)
			p.log.Warn("publishing to NATS failed", "err", err)
		}
	}
}

func (r *pubRun) publishDataLocked(subject string, data []byte) {
	r.publishLocked(&nats.Msg{Subject: subject, Data: data})
}

// Publish publishes a tick on its symbol's tick subject and gives it to
// the local sink: the same bytes when it takes encoded ticks. A tick of a
// symbol that is not listed goes to the local sink only (the hub counts
// it as unknown), as does every other kind of update of one.
func (r *pubRun) Publish(t *protocol.Tick) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var frame []byte
	if s := r.syms[t.Symbol]; s != nil {
		t, frame = r.tickLocked(s, t)
	}
	switch {
	case r.enc != nil && frame != nil:
		_ = r.enc.PublishEncoded(t.Symbol, t.Epoch, t.Seq, t.TS, frame)
	case r.next != nil:
		r.next.Publish(t)
	}
}

// tickLocked publishes a tick of s and returns it in the run's seq space,
// and its frame.
func (r *pubRun) tickLocked(s *pubSym, t *protocol.Tick) (*protocol.Tick, []byte) {
	epoch, seq := s.ticks.place(t.Epoch, t.Seq, s.stTick, r.epoch)
	if epoch != t.Epoch || seq != t.Seq {
		r.tick = *t
		r.tick.Epoch, r.tick.Seq = epoch, seq
		t = &r.tick
	}
	r.buf = appendEpoch(r.buf[:0], epoch)
	n := len(r.buf)
	r.buf = protocol.AppendTick(r.buf, t)
	r.publishDataLocked(s.tickSubj, r.buf)
	s.latest = append(s.latest[:0], r.buf...)
	return t, r.buf[n:]
}

// PublishTrade publishes a trade on its symbol's trade subject, kept in
// the trade stream, and gives it to the local sink.
func (r *pubRun) PublishTrade(t *protocol.Trade) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if s := r.syms[t.Symbol]; s != nil {
		epoch, seq := s.trades.place(t.Epoch, t.Seq, s.stTrade, r.epoch)
		if epoch != t.Epoch || seq != t.Seq {
			r.trade = *t
			r.trade.Epoch, r.trade.Seq = epoch, seq
			t = &r.trade
		}
		r.buf = protocol.AppendTrade(appendEpoch(r.buf[:0], epoch), t)
		r.publishDataLocked(s.tradeSubj, r.buf)
	}
	if r.next != nil {
		r.next.PublishTrade(t)
	}
}

// PublishCandle publishes a candle: a closed one on its interval's closed
// subject, where the stream keeps Config.CandleHistory of them, an open
// one on the open subject, replacing the one before. Its epoch is that
// of the trades it was built from. The local sink gets it too.
func (r *pubRun) PublishCandle(c *protocol.Candle) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if s := r.syms[c.Symbol]; s != nil && c.Interval < protocol.NumIntervals {
		if epoch := s.trades.epochOf(c.Epoch, s.stTrade, r.epoch); epoch != c.Epoch {
			r.candle = *c
			r.candle.Epoch = epoch
			c = &r.candle
		}
		r.buf = protocol.AppendCandle(appendEpoch(r.buf[:0], c.Epoch), c)
		m := &nats.Msg{Subject: r.p.subj.candle(s.token, c.Interval, c.Closed), Data: r.buf}
		if !c.Closed {
			m.Header = r.rollupOpen
		}
		r.publishLocked(m)
	}
	if r.next != nil {
		r.next.PublishCandle(c)
	}
}

// List lists new symbols and updates the definitions of listed ones, in
// the last-value stream, and gives them to the local sink.
func (r *pubRun) List(syms []feed.Symbol) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, d := range syms {
		if d.Name == "" {
			continue
		}
		s := r.syms[d.Name]
		switch {
		case s == nil:
			s = r.addLocked(d)
		case sameSymbol(s.def, d):
			continue
		default:
			s.def = d
		}
		r.publishDefLocked(s)
	}
	if r.next != nil {
		r.next.List(syms)
	}
}

// Delist removes symbols: their definitions become delistings and what
// the streams held of them goes (see tombstonesLocked). The local sink
// gets the delisting too.
func (r *pubRun) Delist(names []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, name := range names {
		s := r.syms[name]
		if s == nil {
			continue
		}
		r.tombstonesLocked(s.token)
		s.delisted = true
		delete(r.syms, name)
	}
	if r.next != nil {
		r.next.Delist(names)
	}
}

// republish publishes every symbol's definition and last tick again, so
// the stream holds them (edges drop the copies they already have: the same
// definition, the same epoch and seq), and has every book's snapshot
// stored again within Config.BookSnapshot. It holds mu for a batch of
// symbols at a time, so the feed goes on meanwhile.
func (r *pubRun) republish(why string) {
	const batch = 1024
	r.mu.Lock()
	all := make([]*pubSym, 0, len(r.syms))
	for _, s := range r.syms {
		all = append(all, s)
	}
	for _, s := range r.withBook {
		if s.ob != nil {
			s.ob.dirty = true
		}
	}
	r.mu.Unlock()
	n := 0
	for i := 0; i < len(all); i += batch {
		r.mu.Lock()
		for _, s := range all[i:min(i+batch, len(all))] {
			if s.delisted {
				continue
			}
			r.publishDefLocked(s)
			if s.latest != nil {
				r.publishDataLocked(s.tickSubj, s.latest)
				n++
			}
		}
		r.mu.Unlock()
	}
	r.p.log.Info("republished the definitions and last ticks", "why", why, "symbols", len(all), "ticks", n)
}
