package hub

import (
	"errors"
	"fmt"
	"time"

	"github.com/tickerd/tickerd/feed"
	"github.com/tickerd/tickerd/internal/book"
	"github.com/tickerd/tickerd/internal/wsframe"
	"github.com/tickerd/tickerd/protocol"
)

// This file is the feed side of the hub: feed.Sink's methods, the
// universe's changes and what a symbol list looks like from outside. A
// feed's goroutine calls them (several feeds may, concurrently); none of
// them waits for a client.

// Publish encodes t once and hands it to the shards whose connections
// watch it. It implements feed.Sink. An update whose seq is not above the
// symbol's last one in the same epoch is dropped and counted, so clients
// never see a duplicate or a step back; one of a higher epoch (t.Epoch:
// the feed's seq space restarted) is taken whatever its seq, and every
// subscriber gets {"type":"reset",...} and then a snapshot; one of a lower
// epoch is dropped and counted. An update of a symbol not listed is
// dropped and counted.
func (h *Hub) Publish(t *protocol.Tick) {
	sym := h.uni.lookup(t.Symbol)
	if sym == nil {
		h.stats.unknown.Add(1)
		return
	}
	h.encMu.Lock()
	h.encBuf = protocol.AppendTick(h.encBuf[:0], t)
	h.publishQuote(&sym.quote, t.Epoch, t.Seq, t.TS, h.encBuf)
	h.encMu.Unlock()
}

// PublishEncoded publishes a tick already encoded by protocol.AppendTick,
// for instance received from another node, as Publish does; epoch is the
// tick's seq space (protocol.Tick.Epoch). The tick must start with
// protocol.TickPrefix.
func (h *Hub) PublishEncoded(symbol string, epoch, seq uint64, ts int64, tick []byte) error {
	sym := h.uni.lookup(symbol)
	if sym == nil {
		h.stats.unknown.Add(1)
		return fmt.Errorf("hub: unknown symbol %q", symbol)
	}
	if len(tick) < len(protocol.TickPrefix) || string(tick[:len(protocol.TickPrefix)]) != protocol.TickPrefix {
		return errors.New("hub: encoded tick does not start with the tick prefix")
	}
	h.publishQuote(&sym.quote, epoch, seq, ts, tick)
	return nil
}

// publishQuote makes the update of an encoded tick of st (a copy: tick
// is the caller's) and hands it to the shards that have subscribers of
// st. It runs on a feed goroutine.
func (h *Hub) publishQuote(st *stream, epoch, seq uint64, ts int64, tick []byte) {
	// Both frames in one allocation: tick frame, then snapshot frame.
	snapLen := len(tick) - len(protocol.TickPrefix) + len(protocol.SnapshotPrefix)
	buf := make([]byte, 0, 2*wsframe.MaxServerHeaderLen+len(tick)+snapLen)
	buf = appendTextHeader(buf, len(tick))
	buf = append(buf, tick...)
	tickEnd := len(buf)
	buf = appendTextHeader(buf, snapLen)
	snapOff := len(buf) - tickEnd
	buf = protocol.SnapshotFromTick(buf, tick)
	u := &update{tick: buf[:tickEnd:tickEnd], snap: buf[tickEnd:], snapOff: int32(snapOff), seq: seq, ts: ts}

	now := time.Now().UnixNano()
	u.at = now
	st.mu.Lock()
	ok, reset := h.admit(st, st.latest.Load() == nil, epoch, seq > st.seq)
	if !ok {
		st.mu.Unlock()
		return
	}
	if reset { // a new seq space: any seq goes
		st.mark = &epochMark{reset: textFrame(protocol.AppendReset(nil, protocol.ChannelQuotes, st.sym.name, epoch))}
	}
	st.epoch, st.seq = epoch, seq
	f := st.accept(u)
	st.mu.Unlock()

	h.stats.published.Add(1)
	h.stats.lastLag.Store(now - ts)
	if f != nil {
		h.notify(f)
	}
}

// admit decides whether an update of epoch goes on st, under the lock
// that serialises st's publishers: first says st has taken none yet (its
// first epoch is taken silently, whatever it is), newer that the update
// comes after st's last within an epoch. An update of st's epoch that is
// not newer is dropped (Stale), one of a lower epoch too (StaleEpoch);
// one of a higher epoch is taken and begins a new seq space: reset.
func (h *Hub) admit(st *stream, first bool, epoch uint64, newer bool) (ok, reset bool) {
	switch {
	case first || epoch == st.epoch && newer:
		return true, false
	case epoch == st.epoch:
		h.stats.stale.Add(1)
		return false, false
	case epoch < st.epoch:
		h.stats.staleEpoch.Add(1)
		return false, false
	}
	h.stats.resets.Add(1)
	return true, true
}

// notify tells every shard with subscribers of f's stream that it has a
// new update. It runs on a feed goroutine.
func (h *Hub) notify(f *fanout) {
	for i := range f.shards {
		if f.shards[i].active.Load() {
			h.shards[i].notify(f)
		}
	}
}

// List adds symbols to the universe while the hub runs; names already
// listed are left as they are. Clients can subscribe to a new symbol, find
// it with list and search, and see it in Symbols and AppendSnapshots as
// soon as List returns. It implements feed.Sink. Publishers are never
// stopped for it; its own cost is a copy of the index buckets it touches
// and of the listing (pointers), so list symbols in batches.
func (h *Hub) List(syms []feed.Symbol) {
	if n := h.uni.list(syms); n > 0 {
		h.stats.listed.Add(uint64(n))
	}
}

// Delist removes symbols from the universe while the hub runs: each
// connection subscribed to one gets {"type":"delisted",...} and its
// subscription ends, on every shard; the symbol leaves list, search,
// Symbols and AppendSnapshots when Delist returns, and its updates are
// dropped as unknown from then on. Names not listed are ignored. It
// implements feed.Sink.
func (h *Hub) Delist(names []string) {
	gone := h.uni.delist(names)
	if len(gone) == 0 {
		return
	}
	h.stats.delisted.Add(uint64(len(gone)))
	now := time.Now().UnixNano()
	gnames := make([]string, len(gone))
	for i, sym := range gone {
		gnames[i] = sym.name
	}
	h.candles.Delist(gnames)
	for _, s := range h.shards {
		s.post(nil, &delistCmd{syms: gone, ts: now})
	}
}

// Symbols returns the names of the symbols the hub serves, in the order
// they were listed. The slice is shared: do not change it.
func (h *Hub) Symbols() []string { return h.uni.current().symbolNames() }

// AppendSnapshots appends a JSON array of the latest snapshot of every
// listed symbol that has one, in listing order.
func (h *Hub) AppendSnapshots(dst []byte) []byte {
	dst = append(dst, '[')
	first := true
	for s := range h.uni.current().order.all {
		u := s.quote.latest.Load()
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

// symbolSet is a request's symbol names resolved by a reader or at the
// upgrade: the streams asked for, their names in the same order, and the
// requested names that are not listed.
type symbolSet struct {
	ps      protocol.Stream // what the streams are: channel, interval, depth
	streams []*stream
	names   []string // the hub's copies, not the request buffer's
	unknown []string
}

// resolve maps names to the quote streams of listed symbols. Any goroutine
// may call it.
func (h *Hub) resolve(names []string) symbolSet { return h.resolveStream(names, protocol.Stream{}) }

// resolveStream maps names to the streams ps names of listed symbols
// (for a book, of depth ps.Depth; 10 when it is 0, an unsubscribe's),
// making the symbols' channels if they have none. Any goroutine may call
// it.
func (h *Hub) resolveStream(names []string, ps protocol.Stream) symbolSet {
	set := symbolSet{ps: ps}
	for _, n := range names {
		if s := h.uni.lookup(n); s != nil {
			set.streams = append(set.streams, s.stream(ps))
			set.names = append(set.names, s.name)
		} else {
			set.unknown = append(set.unknown, n)
		}
	}
	return set
}

// stream returns sym's stream of ps.
func (sym *symbol) stream(ps protocol.Stream) *stream {
	switch ps.Channel {
	case protocol.ChannelTrades:
		return &sym.channels().trades
	case protocol.ChannelCandles:
		return &sym.channels().candles[min(ps.Interval, protocol.NumIntervals-1)]
	case protocol.ChannelBook:
		d, _ := book.ParseDepth(ps.Depth)
		return &sym.channels().book.depths[d]
	}
	return &sym.quote
}
