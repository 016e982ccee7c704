package hub

import (
	"sync"
	"sync/atomic"

	"github.com/tickerd/tickerd/feed"
)

// update is one published state of a symbol, encoded once and shared,
// read-only, by every connection that writes it.
type update struct {
	tick []byte // text frame: header + {"type":"tick",...}
	snap []byte // text frame: header + {"type":"snapshot",...}
	// snapOff is where the JSON payload starts in snap.
	snapOff int
	ver     uint32 // hub-assigned, +1 per accepted update of this symbol
	seq     uint64 // the feed's seq
	ts      int64  // the feed's event time, Unix ns
}

// ringSize is how many recent updates of a symbol stay reachable for a
// connection that missed a few between two shard passes.
const ringSize = 8

// symbol is the hub's view of one instrument.
type symbol struct {
	id   uint32
	name string
	meta feed.Symbol

	latest atomic.Pointer[update]
	// recent holds the last ringSize updates by ver%ringSize, so a shard
	// that is keeping up can write each of them rather than only the
	// latest.
	recent [ringSize]atomic.Pointer[update]

	// watchers counts subscriptions to this symbol over every shard; the
	// feed is told when it goes from 0 to 1 and back. watchMu makes the
	// count and the call one step, so calls from two shards never cross.
	watchMu  sync.Mutex
	watchers int64 // guarded by watchMu
	watched  bool  // guarded by watchMu: what OnWatch was last told

	mu      sync.Mutex // serialises publishers of this symbol
	lastSeq uint64     // guarded by mu
	ver     uint32     // guarded by mu
}

// watch adds d to the symbol's subscriptions and tells onWatch, if set,
// when the symbol becomes watched or unwatched.
func (sym *symbol) watch(d int64, onWatch func(string, bool)) {
	sym.watchMu.Lock()
	defer sym.watchMu.Unlock()
	sym.watchers += d
	if w := sym.watchers > 0; w != sym.watched {
		sym.watched = w
		if onWatch != nil {
			onWatch(sym.name, w)
		}
	}
}
