package hub

import (
	"sync"
	"sync/atomic"

	"github.com/tickerd/tickerd/internal/book"
	"github.com/tickerd/tickerd/protocol"
)

// A stream is one fan-out unit: a symbol's channel (for candles, an
// interval; for books, a depth). It keeps what its channel's delivery rule
// needs, and its subscribers per shard once someone watches it. The quote
// stream is part of the symbol; the other kinds live in the symbol's
// channels, made on first use.
//
// Publishers of a stream serialise on its mutex (the book's depths on
// their book's); shards read latest and the ring without a lock, and each
// shard touches only its own entry of the fan-out.
type stream struct {
	sym    *symbol
	latest atomic.Pointer[update] // quotes, candles, book depths; trades keep a tape
	fan    atomic.Pointer[fanout] // nil while no connection watches the stream

	mu    sync.Mutex // serialises publishers (a book's depths: book.mu)
	epoch uint64     // guarded by mu: the seq space of the last accepted update
	seq   uint64     // guarded by mu: the last accepted seq
	mark  *epochMark // guarded by mu: the current epoch's, once the epoch went up
	ver   uint32     // guarded by mu: the last accepted update's ver
	kind  streamKind // static
	param uint8      // static: a candles stream's interval, a book stream's depth
}

// streamKind says what a stream carries, and so its delivery rule.
type streamKind uint8

const (
	kindQuote   streamKind = iota // latest value wins; in order while the client keeps up
	kindTrades                    // every trade in order, from the tape; never merged
	kindCandles                   // latest value per candle; a closed one is never merged away
	kindBook                      // deltas in order, or a fresh snapshot
)

// symbol is one instrument of the universe, from List (or New) to Delist.
// An unwatched symbol that never traded costs its name and this struct
// (see universe.go for the rest of the per-symbol cost).
type symbol struct {
	name     string
	num      uint64      // listing number: its place in the listing order
	delisted atomic.Bool // set by Delist before any shard is told
	quote    stream
	chans    atomic.Pointer[channels] // nil until a trade, candle, book or subscribe of one

	// watchMu makes the birth and death of a fanout of any of the
	// symbol's streams, the count of them and the OnWatch call that
	// reports the first and the last one step, so calls from two shards
	// never cross.
	watchMu sync.Mutex
	watched int32 // guarded by watchMu: the symbol's streams that have a fanout
}

func newSymbol(name string) *symbol {
	sym := &symbol{name: name}
	sym.quote.sym = sym
	sym.quote.kind = kindQuote
	return sym
}

// channels holds a symbol's streams besides its quotes.
type channels struct {
	trades  stream // kindTrades; its mu guards tape's publisher side
	tape    tape
	candles [protocol.NumIntervals]stream
	candleH [protocol.NumIntervals]frameCache // each interval's history message as a frame
	book    bookStreams
}

// channels returns sym's channels, making them if it has none. Any
// goroutine may call it.
func (sym *symbol) channels() *channels {
	if ch := sym.chans.Load(); ch != nil {
		return ch
	}
	ch := &channels{}
	ch.trades = stream{sym: sym, kind: kindTrades}
	for i := range ch.candles {
		ch.candles[i] = stream{sym: sym, kind: kindCandles, param: uint8(i)}
	}
	for d := range ch.book.depths {
		ch.book.depths[d] = stream{sym: sym, kind: kindBook, param: uint8(d)}
	}
	if !sym.chans.CompareAndSwap(nil, ch) {
		return sym.chans.Load()
	}
	return ch
}

// streams appends every stream of sym to dst: its quotes, and the others
// if it has them.
func (sym *symbol) streams(dst []*stream) []*stream {
	dst = append(dst, &sym.quote)
	if ch := sym.chans.Load(); ch != nil {
		dst = append(dst, &ch.trades)
		for i := range ch.candles {
			dst = append(dst, &ch.candles[i])
		}
		for d := range ch.book.depths {
			dst = append(dst, &ch.book.depths[d])
		}
	}
	return dst
}

// update is one accepted state of a stream, encoded once and shared,
// read-only, by every connection that writes it.
type update struct {
	tick []byte // text frame: the message of a subscriber that keeps up (tick, candle, book message)
	snap []byte // quotes: text frame of the {"type":"snapshot",...}
	// ztick and zsnap are their compressed twins, made when a connection
	// that negotiated compression first needs one (Hub.zframe).
	ztick, zsnap atomic.Pointer[[]byte]
	// snapOff is where the JSON payload starts in snap.
	snapOff int32
	ver     uint32 // hub-assigned, +1 per accepted update of the stream; never 0
	seq     uint64 // the feed's seq (books: the view's version; candles: 0)
	ts      int64  // the feed's event time, Unix ns (candles: when it was accepted)
	at      int64  // when the hub accepted it, Unix ns: how long a client has owed it
	// epoch is where the update's epoch began, nil for the stream's
	// first epoch: a subscriber sent anything before it gets a reset.
	epoch *epochMark
	more  *updateMore // candles and books; nil for quotes
}

// updateMore is what candle and book updates carry besides a quote's
// fields, allocated with their update (see newRichUpdate).
type updateMore struct {
	// Books: prevSeq is the view version a delta applies to; full marks
	// a snapshot message, which applies to any state.
	prevSeq uint64
	full    bool
	// Candles: the candle closed; a subscriber that skips updates is
	// still sent it.
	closed bool
}

// newRichUpdate returns an update with its updateMore, in one
// allocation.
func newRichUpdate() *update {
	r := &struct {
		u update
		m updateMore
	}{}
	r.u.more = &r.m
	return &r.u
}

// epochMark is the start of an epoch of a stream after its first: the
// feed's seq space restarted (a feed node lost its state), so seqs start
// over. Every update of the epoch points at it.
type epochMark struct {
	ver   uint32 // the first update of the epoch (trades: the ver before it)
	reset []byte // the {"type":"reset",...} frame its subscribers get first
}

// owesReset reports whether a subscription that was last sent ver sent
// must be told of a reset before u: something was sent before u's epoch
// began.
func (u *update) owesReset(sent uint32) bool {
	return u.epoch != nil && sent != 0 && int32(u.epoch.ver-sent) > 0
}

// ringSize is how many recent updates of a watched stream stay reachable
// for a connection that missed a few between two of its writes.
const ringSize = 8

// fanout is a watched stream's subscribers, one list per shard, and its
// recent updates. It exists while some connection watches the stream:
// the first subscription makes it (join) and the last one's end drops it
// (leave), so an unwatched stream holds no ring and no lists.
type fanout struct {
	st *stream
	// ring holds the last ringSize updates by ver%ringSize, so a
	// connection that missed a few can be sent each of them. Trades do
	// not use it: their tape is their history.
	ring [ringSize]atomic.Pointer[update]

	watchers int // guarded by st.sym.watchMu: shards with at least one subscriber

	shards []fanShard // by shard id
}

// fanShard is one shard's part of a fanout. Only that shard touches subs
// and mark; active and queued are how publishers reach it.
type fanShard struct {
	subs   []subRef    // the shard's subscribers of the stream
	active atomic.Bool // len(subs) > 0: publishers notify the shard
	queued atomic.Bool // in the shard's notified list
	mark   int32       // shard scratch: index+1 in the connection at hand's subs
	slot   uint32      // the fanout's index in the shard's fans, while subs is not empty
}

// join returns st's fanout with shard s counted among its watchers, making
// one if st has none. The symbol's first watched stream is reported to
// onWatch. Only shard s's goroutine calls it, when its list for st is
// empty.
func (st *stream) join(s *shard, onWatch func(string, bool)) *fanout {
	sym := st.sym
	sym.watchMu.Lock()
	defer sym.watchMu.Unlock()
	f := st.fan.Load()
	if f == nil {
		f = &fanout{st: st, shards: make([]fanShard, len(s.h.shards))}
		st.fan.Store(f)
		if st.kind == kindBook {
			sym.chans.Load().book.watch(book.Depth(st.param), true)
		}
		if sym.watched++; sym.watched == 1 && onWatch != nil {
			onWatch(sym.name, true)
		}
	}
	f.watchers++
	return f
}

// leave takes shard s out of f's watchers, its list for f being empty
// now; the last watcher drops f from its stream, and the symbol's last
// watched stream is reported to onWatch. Only shard s's goroutine calls
// it.
func (f *fanout) leave(onWatch func(string, bool)) {
	st := f.st
	sym := st.sym
	sym.watchMu.Lock()
	defer sym.watchMu.Unlock()
	f.watchers--
	if f.watchers > 0 {
		return
	}
	st.fan.Store(nil)
	if st.kind == kindBook {
		sym.chans.Load().book.watch(book.Depth(st.param), false)
	}
	if sym.watched--; sym.watched == 0 && onWatch != nil {
		onWatch(sym.name, false)
	}
}
