package hub

import (
	"sync"
	"sync/atomic"
)

// A stream is one fan-out unit: a symbol's channel (for candles, an
// interval; for books, a depth). It keeps what its channel's delivery rule
// needs, and its subscribers per shard once someone watches it. The quote
// stream is part of the symbol; the other kinds are made on first use.
//
// Publishers of a stream serialise on its mutex; shards read latest and
// the ring without a lock, and each shard touches only its own entry of
// the fan-out.
type stream struct {
	sym    *symbol
	latest atomic.Pointer[update]
	fan    atomic.Pointer[fanout] // nil while no connection watches the stream

	mu    sync.Mutex // serialises publishers
	epoch uint64     // guarded by mu: the seq space of the last accepted update
	seq   uint64     // guarded by mu: the last accepted seq
	mark  *epochMark // guarded by mu: the current epoch's, once the epoch went up
	ver   uint32     // guarded by mu: the last accepted update's ver
	kind  streamKind // static

	// watchMu makes a fanout's birth and death and the OnWatch call that
	// reports it one step, so calls from two shards never cross.
	watchMu sync.Mutex
}

// streamKind says what a stream carries, and so its delivery rule.
type streamKind uint8

const (
	kindQuote streamKind = iota // latest value wins; in order while the client keeps up
)

// symbol is one instrument of the universe, from List (or New) to Delist.
// An unwatched symbol costs its name and this struct (see universe.go for
// the rest of the per-symbol cost).
type symbol struct {
	name     string
	num      uint64      // listing number: its place in the listing order
	delisted atomic.Bool // set by Delist before any shard is told
	quote    stream
}

func newSymbol(name string) *symbol {
	sym := &symbol{name: name}
	sym.quote.sym = sym
	sym.quote.kind = kindQuote
	return sym
}

// update is one accepted state of a stream, encoded once and shared,
// read-only, by every connection that writes it.
type update struct {
	tick []byte // text frame: header + {"type":"tick",...}
	snap []byte // text frame: header + {"type":"snapshot",...}
	// ztick and zsnap are their compressed twins, made when a connection
	// that negotiated compression first needs one (Hub.zframe).
	ztick, zsnap atomic.Pointer[[]byte]
	// snapOff is where the JSON payload starts in snap.
	snapOff int32
	ver     uint32 // hub-assigned, +1 per accepted update of the stream; never 0
	seq     uint64 // the feed's seq
	ts      int64  // the feed's event time, Unix ns
	at      int64  // when the hub accepted it, Unix ns: how long a client has owed it
	// epoch is where the update's epoch began, nil for the stream's
	// first epoch: a subscriber sent anything before it gets a reset.
	epoch *epochMark
}

// epochMark is the start of an epoch of a stream after its first: the
// feed's seq space restarted (a feed node lost its state), so seqs start
// over. Every update of the epoch points at it.
type epochMark struct {
	ver   uint32 // the first update of the epoch
	reset []byte // the {"type":"reset",...} frame its subscribers get before a snapshot
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
	// connection that missed a few can be sent each of them.
	ring [ringSize]atomic.Pointer[update]

	watchers int // guarded by st.watchMu: shards with at least one subscriber

	shards []fanShard // by shard id
}

// fanShard is one shard's part of a fanout. Only that shard touches subs
// and mark; active and queued are how publishers reach it.
type fanShard struct {
	subs   []subRef    // the shard's subscribers of the stream
	active atomic.Bool // len(subs) > 0: publishers notify the shard
	queued atomic.Bool // in the shard's notified list
	mark   int32       // shard scratch: index+1 in the connection at hand's subs
}

// join returns st's fanout with shard s counted among its watchers, making
// one if st has none. The first watcher overall is reported to onWatch.
// Only shard s's goroutine calls it, when its list for st is empty.
func (st *stream) join(s *shard, onWatch func(string, bool)) *fanout {
	st.watchMu.Lock()
	defer st.watchMu.Unlock()
	f := st.fan.Load()
	if f == nil {
		f = &fanout{st: st, shards: make([]fanShard, len(s.h.shards))}
		st.fan.Store(f)
		if onWatch != nil {
			onWatch(st.sym.name, true)
		}
	}
	f.watchers++
	return f
}

// leave takes shard s out of f's watchers, its list for f being empty
// now; the last watcher drops f from its stream and reports it to
// onWatch. Only shard s's goroutine calls it.
func (f *fanout) leave(onWatch func(string, bool)) {
	st := f.st
	st.watchMu.Lock()
	defer st.watchMu.Unlock()
	f.watchers--
	if f.watchers > 0 {
		return
	}
	st.fan.Store(nil)
	if onWatch != nil {
		onWatch(st.sym.name, false)
	}
}
