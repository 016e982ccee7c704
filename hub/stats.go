package hub

import "sync/atomic"

// shardStats are written by one shard goroutine and read by anyone.
type shardStats struct {
	msgs   atomic.Uint64 // data frames (ticks, snapshots) written
	merged atomic.Uint64 // updates skipped because a newer one replaced them
	writes atomic.Uint64 // writev system calls
	bytes  atomic.Uint64 // bytes the sockets took
	subs   atomic.Int64  // current subscriptions
	closed [numReasons]atomic.Uint64
}

type hubStats struct {
	opened         atomic.Uint64
	published      atomic.Uint64
	stale          atomic.Uint64 // updates dropped: seq not above the last
	unknown        atomic.Uint64 // updates for symbols the hub does not serve
	badRequests    atomic.Uint64
	protocolErrors atomic.Uint64
	rejected       [numRejects]atomic.Uint64
}

// Stats is a snapshot of the hub's counters.
type Stats struct {
	Conns          int64
	Opened         uint64
	Closed         map[string]uint64 // by reason
	Subscriptions  int64
	Published      uint64
	Stale          uint64
	Unknown        uint64
	Messages       uint64
	Merged         uint64
	Writes         uint64
	Bytes          uint64
	BadRequests    uint64
	ProtocolErrors uint64
	Rejected       map[string]uint64 // upgrades refused, by cause
}

// Stats returns the hub's counters. It takes no lock.
func (h *Hub) Stats() Stats {
	st := Stats{
		Conns:          h.conns.Load(),
		Opened:         h.stats.opened.Load(),
		Published:      h.stats.published.Load(),
		Stale:          h.stats.stale.Load(),
		Unknown:        h.stats.unknown.Load(),
		BadRequests:    h.stats.badRequests.Load(),
		ProtocolErrors: h.stats.protocolErrors.Load(),
		Closed:         make(map[string]uint64, numReasons),
		Rejected:       make(map[string]uint64, numRejects),
	}
	for _, s := range h.shards {
		st.Messages += s.stats.msgs.Load()
		st.Merged += s.stats.merged.Load()
		st.Writes += s.stats.writes.Load()
		st.Bytes += s.stats.bytes.Load()
		st.Subscriptions += s.stats.subs.Load()
		for r := range numReasons {
			st.Closed[r.String()] += s.stats.closed[r].Load()
		}
	}
	for r := range numRejects {
		st.Rejected[r.String()] = h.stats.rejected[r].Load()
	}
	return st
}
