package hub

import (
	"math"
	"slices"
	"sync/atomic"
	"time"

	"github.com/tickerd/tickerd/protocol"
)

// LatencyBuckets are the upper bounds, in seconds, of the tick-to-write
// latency histogram in Stats: half-octave steps (×√2) from 16 µs to about
// 11.9 s, fine enough to read a p99 against a 50 or 70 ms target.
var LatencyBuckets = func() []float64 {
	b := make([]float64, len(latBounds))
	for i, ns := range latBounds {
		b[i] = float64(ns) / 1e9
	}
	return b
}()

// latBounds are LatencyBuckets in nanoseconds.
var latBounds = func() []int64 {
	b := make([]int64, latBuckets-1)
	for i := range b {
		b[i] = int64(math.Round(16384 * math.Pow(math.Sqrt2, float64(i))))
	}
	return b
}()

const latBuckets = 41 // the last one is +Inf

// latBucket returns the bucket of a latency of d nanoseconds.
func latBucket(d int64) int {
	i, _ := slices.BinarySearch(latBounds, d)
	return i // len(latBounds) is the +Inf bucket
}

// errorCodes are the codes counted in Stats.Errors.
var errorCodes = []protocol.Code{
	protocol.CodeBadRequest, protocol.CodeUnknownOp, protocol.CodeUnknownSymbol,
	protocol.CodeTooManySymbols, protocol.CodeRateLimited, protocol.CodeForbiddenSymbol,
	protocol.CodeUnauthorized, protocol.CodeMessageTooBig,
}

func codeIndex(c protocol.Code) int {
	for i, k := range errorCodes {
		if k == c {
			return i
		}
	}
	return 0
}

// shardStats are written by one shard goroutine and read by anyone.
type shardStats struct {
	msgs   atomic.Uint64 // data frames (ticks, snapshots) written
	merged atomic.Uint64 // updates skipped because a newer one replaced them
	writes atomic.Uint64 // send/sendmsg system calls
	bytes  atomic.Uint64 // bytes the sockets took
	subs   atomic.Int64  // current subscriptions
	closed [numReasons]atomic.Uint64
	// Tick-to-write latency of every data frame written: now minus the
	// tick's ts, when the shard hands the frame to the kernel.
	lat    [latBuckets]atomic.Uint64
	latSum atomic.Int64 // nanoseconds
}

// counts are the hot-path counters of a shard, plain fields its goroutine
// adds to per message and publishes to shardStats once per pass: one
// atomic add per counter per pass instead of several per message.
type counts struct {
	msgs, merged, writes, bytes uint64
	lat                         [latBuckets]uint64
	latSum                      int64
}

// observe counts one data frame written d nanoseconds after its tick's ts.
func (n *counts) observe(d int64) {
	n.lat[latBucket(d)]++
	n.latSum += d
}

// addTo adds n to st and zeroes n.
func (n *counts) addTo(st *shardStats) {
	if n.msgs != 0 {
		st.msgs.Add(n.msgs)
	}
	if n.merged != 0 {
		st.merged.Add(n.merged)
	}
	if n.writes != 0 {
		st.writes.Add(n.writes)
	}
	if n.bytes != 0 {
		st.bytes.Add(n.bytes)
	}
	for i, v := range n.lat {
		if v != 0 {
			st.lat[i].Add(v)
		}
	}
	if n.latSum != 0 {
		st.latSum.Add(n.latSum)
	}
	*n = counts{}
}

type hubStats struct {
	opened         atomic.Uint64
	published      atomic.Uint64
	stale          atomic.Uint64 // updates dropped: seq not above the last of their epoch
	staleEpoch     atomic.Uint64 // updates dropped: epoch below the stream's
	resets         atomic.Uint64 // updates that began a higher epoch
	listed         atomic.Uint64 // symbols added by List (not those of New)
	delisted       atomic.Uint64 // symbols removed by Delist
	unknown        atomic.Uint64 // updates for symbols the hub does not serve
	trades         atomic.Uint64 // trades taken into a tape
	tradeGaps      atomic.Uint64 // holes in a feed's trade seqs (a gap entry in the tape)
	gapsSent       atomic.Uint64 // gap messages made for a subscriber that fell behind its tape
	candles        atomic.Uint64 // candle updates taken
	books          atomic.Uint64 // book updates taken
	bookErrors     atomic.Uint64 // book updates the book refused (not stale ones)
	bookSnapshots  atomic.Uint64 // book snapshots sent to a subscriber
	protocolErrors atomic.Uint64
	pingsDropped   atomic.Uint64 // client pings answered by a later pong, or not at all (over the rate)
	rejected       [numRejects]atomic.Uint64
	errors         [8]atomic.Uint64 // by errorCodes index
	lastLag        atomic.Int64     // ns between the last tick's ts and its publish
}

// Stats is a snapshot of the hub's counters.
type Stats struct {
	Conns         int64
	Opened        uint64
	Closed        map[string]uint64 // by reason
	Subscriptions int64
	Published     uint64
	// Stale counts updates dropped because their seq was not above the
	// last of their epoch, StaleEpoch those of an epoch below their
	// stream's, Resets the updates that began a higher epoch (each
	// subscriber of their stream was sent a reset and a snapshot).
	Stale      uint64
	StaleEpoch uint64
	Resets     uint64
	Unknown    uint64 // updates of symbols not listed, or of channels not served
	// Trades counts the trades taken into a tape; TradeHoles the holes
	// in a feed's trade seqs (each a gap message in the tape, sent to
	// every subscriber); GapsSent the gap messages made for a subscriber
	// that fell behind its tape (past TradeLag or past the history) or
	// resumed ("since") from before it.
	Trades     uint64
	TradeHoles uint64
	GapsSent   uint64
	// Candles counts the candle updates taken (PublishCandle).
	Candles uint64
	// Books counts the book updates taken (PublishBook), BookErrors those
	// the book refused (a delta that does not follow, a crossed book, …;
	// an old one counts as Stale), BookSnapshots the snapshots sent to
	// subscribers (new, resubscribed, behind, rate-limited, or owed a
	// delta they could not apply).
	Books         uint64
	BookErrors    uint64
	BookSnapshots uint64
	// Symbols is the size of the universe now; Listed and Delisted count
	// the symbols List added and Delist removed.
	Symbols        int64
	Listed         uint64
	Delisted       uint64
	Messages       uint64
	Merged         uint64
	Writes         uint64
	Bytes          uint64
	ProtocolErrors uint64 // connections closed for breaking RFC 6455 or a limit
	// PingsDropped counts client pings that got no pong of their own:
	// answered by the pong of a later ping (RFC 6455 5.5.3 allows it), or
	// over the message rate.
	PingsDropped uint64
	Rejected     map[string]uint64 // upgrades refused, by cause
	Errors       map[string]uint64 // error replies sent, by code
	// FeedLag is how old the last published tick was when it reached the
	// hub (publish time minus its ts).
	FeedLag time.Duration
	// Latency counts data frames by tick-to-write latency: Latency[i] is
	// the count in bucket i, whose upper bound is LatencyBuckets[i] (the
	// last bucket has none). LatencySum is their total.
	Latency    []uint64
	LatencySum time.Duration
}

// Stats returns the hub's counters. It takes no lock.
func (h *Hub) Stats() Stats {
	st := Stats{
		Conns:          h.conns.Load(),
		Opened:         h.stats.opened.Load(),
		Published:      h.stats.published.Load(),
		Stale:          h.stats.stale.Load(),
		StaleEpoch:     h.stats.staleEpoch.Load(),
		Resets:         h.stats.resets.Load(),
		Unknown:        h.stats.unknown.Load(),
		Trades:         h.stats.trades.Load(),
		TradeHoles:     h.stats.tradeGaps.Load(),
		GapsSent:       h.stats.gapsSent.Load(),
		Candles:        h.stats.candles.Load(),
		Books:          h.stats.books.Load(),
		BookErrors:     h.stats.bookErrors.Load(),
		BookSnapshots:  h.stats.bookSnapshots.Load(),
		Symbols:        int64(len(h.uni.current().syms)),
		Listed:         h.stats.listed.Load(),
		Delisted:       h.stats.delisted.Load(),
		ProtocolErrors: h.stats.protocolErrors.Load(),
		PingsDropped:   h.stats.pingsDropped.Load(),
		Closed:         make(map[string]uint64, numReasons),
		Rejected:       make(map[string]uint64, numRejects),
		Errors:         make(map[string]uint64, len(errorCodes)),
		FeedLag:        time.Duration(h.stats.lastLag.Load()),
		Latency:        make([]uint64, latBuckets),
	}
	for i, c := range errorCodes {
		st.Errors[string(c)] = h.stats.errors[i].Load()
	}
	for _, s := range h.shards {
		st.Messages += s.stats.msgs.Load()
		st.Merged += s.stats.merged.Load()
		st.Writes += s.stats.writes.Load()
		st.Bytes += s.stats.bytes.Load()
		st.Subscriptions += s.stats.subs.Load()
		for i := range s.stats.lat {
			st.Latency[i] += s.stats.lat[i].Load()
		}
		st.LatencySum += time.Duration(s.stats.latSum.Load())
		for r := range numReasons {
			st.Closed[r.String()] += s.stats.closed[r].Load()
		}
	}
	for r := range numRejects {
		st.Rejected[r.String()] = h.stats.rejected[r].Load()
	}
	return st
}
