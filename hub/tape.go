package hub

import (
	"sync/atomic"
	"time"

	"github.com/tickerd/tickerd/internal/wsframe"
	"github.com/tickerd/tickerd/protocol"
)

// This file is the trade channel's history: a symbol's tape. The feed
// goroutine appends to it (PublishTrade, under the trades stream's
// mutex); shards read it without a lock. A subscription's cursor is the
// ver of the last entry written to it (subRef.sent) with what that entry
// covered (subExt): the tape is the queue, held once per symbol, so a
// slow client costs its cursor and nothing more.
//
// The tape keeps at most Config.TradeHistory entries, none older than
// Config.TradeHistoryAge when a trade comes, and at most
// Config.TradeHistoryBytes of entries (frames and their bookkeeping);
// the oldest go first.

// entryKind says what a tape entry carries.
type entryKind uint8

const (
	entryTrade entryKind = iota // a trade, seq from == seq
	entryGap                    // the feed skipped seqs from..seq: a shared "gap" message
	entryReset                  // the seq space restarted: a shared "reset" message; the epoch's trades follow
)

// tapeEntry is one entry of a tape, read-only once published but for
// its replay frame, made once when a subscriber first needs it.
type tapeEntry struct {
	ver  uint32
	kind entryKind
	hdr  uint8  // header length of frame: the message starts there
	from uint64 // the first seq the entry covers (a reset: the epoch's first trade)
	seq  uint64 // the last seq it covers (a reset: from-1)
	// epoch is the entry's seq space, efirst the first seq the tape saw
	// in it: a cursor that crosses into a later epoch learns what it
	// missed there.
	epoch  uint64
	efirst uint64
	off    uint64 // bytes of every entry of the tape up to and including this one
	at     int64  // Unix ns when the hub took it
	ts     int64  // the trade's event time (gaps and resets: the next trade's)
	frame  []byte // text frame, shared by every subscriber
	replay atomic.Pointer[[]byte]
	// z and zreplay are frame's and the replay frame's compressed twins,
	// made when a compressing connection first needs one (Hub.zframe).
	z, zreplay atomic.Pointer[[]byte]
}

// tapeEntryBytes is what an entry costs besides its frame, counted
// against TradeHistoryBytes: the struct (112 B, a size class of its own)
// and its ring slot. The forms made on demand (the replay frame and the
// compressed twins, each at most the frame's size and a few bytes) are
// not counted: at worst they triple what the frames take.
const tapeEntryBytes = 112 + 8

// replayFrame returns p's frame with "replay":true, made the first time
// one is asked for. A gap or reset entry has no replay form. Any shard.
func (p *tapeEntry) replayFrame() []byte {
	if p.kind != entryTrade {
		return p.frame
	}
	if f := p.replay.Load(); f != nil {
		return *f
	}
	f := textFrame(protocol.ReplayFromTrade(nil, p.frame[p.hdr:]))
	if !p.replay.CompareAndSwap(nil, &f) {
		return *p.replay.Load()
	}
	return f
}

// tape is a symbol's trade history. first and last are the vers of the
// oldest and newest entries kept (first == last+1: none); ring holds
// them at ver&mask. A reader loads last, then ring: an entry whose slot
// holds another ver is gone (evicted), since a slot is reused only after
// its entry was evicted.
type tape struct {
	ring  atomic.Pointer[tapeRing]
	first atomic.Uint32
	last  atomic.Uint32

	// Guarded by the trades stream's mu (the publisher).
	n      int
	bytes  int64
	off    uint64
	efirst uint64 // first seq of the current epoch at the tape
	any    bool   // a trade was taken
}

type tapeRing struct {
	mask uint32
	e    []atomic.Pointer[tapeEntry]
}

// nextVer returns the tape ver after v. Tape vers wrap around through
// 0: a trades subscription says "no position" with subExt.fresh, not
// with a 0 ver.
func nextVer(v uint32) uint32 { return v + 1 }

// before reports whether ver a comes before ver b (wrap-safe).
func before(a, b uint32) bool { return int32(a-b) < 0 }

// entry returns the entry of ver v, or nil if the tape no longer (or
// does not yet) hold it. Call it with v at most a last loaded before.
func (tp *tape) entry(v uint32) *tapeEntry {
	r := tp.ring.Load()
	if r == nil {
		return nil
	}
	if p := r.e[v&r.mask].Load(); p != nil && p.ver == v {
		return p
	}
	return nil
}

// tapeLimits are the bounds of every tape.
type tapeLimits struct {
	count int
	age   int64 // ns
	bytes int64
}

// add appends p, giving it the next ver, and evicts what falls out of
// the bounds. Publisher, under the trades stream's mu (st.ver is the
// tape's last ver).
func (tp *tape) add(st *stream, p *tapeEntry, lim tapeLimits) {
	st.ver = nextVer(st.ver)
	p.ver = st.ver
	cost := int64(len(p.frame)) + tapeEntryBytes
	tp.off += uint64(len(p.frame))
	p.off = tp.off
	r := tp.ring.Load()
	if r == nil || tp.n+1 > len(r.e) {
		r = tp.grow(r, lim.count)
	}
	if tp.n == 0 {
		tp.first.Store(p.ver)
	}
	r.e[p.ver&r.mask].Store(p)
	tp.n++
	tp.bytes += cost
	tp.last.Store(p.ver)
	// Evict: over the count or the bytes, or older than the age; the
	// entry just added stays.
	for tp.n > 1 {
		v := tp.first.Load()
		old := r.e[v&r.mask].Load()
		if tp.n <= lim.count && tp.bytes <= lim.bytes && old.at >= p.at-lim.age {
			break
		}
		tp.bytes -= int64(len(old.frame)) + tapeEntryBytes
		tp.n--
		tp.first.Store(nextVer(v))
		// The slot keeps old until reused: readers check the ver.
	}
}

// grow returns a ring twice the size of r (at least 64 slots; it stops
// growing once larger than count, so the slot of the entry being added
// is never the oldest kept one's) with r's entries, and stores it.
func (tp *tape) grow(r *tapeRing, count int) *tapeRing {
	size := 64
	if r != nil {
		size = 2 * len(r.e)
	}
	if r != nil && len(r.e) > count {
		return r // not reached: a ring larger than count never fills
	}
	nr := &tapeRing{mask: uint32(size - 1), e: make([]atomic.Pointer[tapeEntry], size)}
	if r != nil && tp.n > 0 {
		for v, end := tp.first.Load(), nextVer(tp.last.Load()); v != end; v = nextVer(v) {
			nr.e[v&nr.mask].Store(r.e[v&r.mask].Load())
		}
	}
	tp.ring.Store(nr)
	return nr
}

// newTapeEntry returns an entry of kind k holding payload as a text
// frame, at time now.
func newTapeEntry(k entryKind, payload []byte, now int64) *tapeEntry {
	buf := make([]byte, 0, wsframe.MaxServerHeaderLen+len(payload))
	buf = appendTextHeader(buf, len(payload))
	hdr := len(buf)
	return &tapeEntry{kind: k, hdr: uint8(hdr), frame: append(buf, payload...), at: now}
}

// PublishTrade adds t to its symbol's tape and hands it to the shards
// whose connections watch the symbol's trades. It implements feed.Sink.
// A trade is encoded once. Its seq must be above the tape's last in the
// same epoch (else it is dropped and counted as Stale); a seq that skips
// some puts a shared "gap" message in the tape naming them; a higher
// epoch puts a "reset" message first (not for the stream's first
// epoch); a lower epoch is dropped (StaleEpoch).
func (h *Hub) PublishTrade(t *protocol.Trade) {
	sym := h.uni.lookup(t.Symbol)
	if sym == nil {
		h.stats.unknown.Add(1)
		return
	}
	ch := sym.channels()
	st := &ch.trades
	tp := &ch.tape
	h.encMu.Lock()
	h.encBuf = protocol.AppendTrade(h.encBuf[:0], t)
	now := time.Now().UnixNano()
	p := newTapeEntry(entryTrade, h.encBuf, now)
	h.encMu.Unlock()
	p.from, p.seq, p.epoch, p.ts = t.Seq, t.Seq, t.Epoch, t.TS

	lim := h.tapeLimits
	st.mu.Lock()
	ok, reset := h.admit(st, !tp.any, t.Epoch, t.Seq > st.seq)
	switch {
	case !ok:
		st.mu.Unlock()
		return
	case !tp.any:
		tp.efirst = t.Seq // the first epoch, taken silently
	case reset: // a new seq space
		tp.efirst = t.Seq
		r := newTapeEntry(entryReset, protocol.AppendReset(nil, protocol.ChannelTrades, sym.name, t.Epoch), now)
		r.from, r.seq, r.epoch, r.efirst, r.ts = t.Seq, t.Seq-1, t.Epoch, t.Seq, t.TS
		tp.add(st, r, lim)
	case t.Seq > st.seq+1: // the feed skipped some
		g := newTapeEntry(entryGap, protocol.AppendGap(nil, protocol.ChannelTrades, sym.name, st.seq+1, t.Seq-1), now)
		g.from, g.seq, g.epoch, g.efirst, g.ts = st.seq+1, t.Seq-1, t.Epoch, tp.efirst, t.TS
		tp.add(st, g, lim)
		h.stats.tradeGaps.Add(1)
	}
	tp.any = true
	st.epoch, st.seq = t.Epoch, t.Seq
	p.efirst = tp.efirst
	tp.add(st, p, lim)
	// Loaded after last is stored: a shard that joins the fan-out after
	// this load sees the entry as already there when it links.
	f := st.fan.Load()
	st.mu.Unlock()

	h.stats.trades.Add(1)
	if f != nil {
		h.notify(f)
	}
}
