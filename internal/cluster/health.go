package cluster

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/tickerd/tickerd/feed"
)

// EdgeStats are an Edge's counters since NewEdge.
type EdgeStats struct {
	Watching int    // symbols subscribed on NATS
	Resets   uint64 // seq spaces that restarted (a higher epoch), over every channel and symbol
	Stale    uint64 // updates dropped as older than what was delivered: a lower epoch, or a lower seq live
	Gaps     uint64 // seqs skipped on subscribed ticks and on trades
	Resyncs  uint64 // books that missed an update and waited for a snapshot
	Held     uint64 // trades and candles dropped: their symbol's listing did not come in time
	Bad      uint64 // messages that could not be read or were not what their subject says
	Listed   uint64 // listings and definition changes handed to the sink
	Delisted uint64 // delistings handed to the sink

	// StoredBooks counts books a newly watched symbol's clients got from
	// the stored snapshot (up to Config.BookSnapshot old) because the fresh
	// one asked for did not come within 500 ms (is the feed node running?).
	StoredBooks uint64
}

// Stats returns the Edge's counters. It may be called at any time.
func (e *Edge) Stats() EdgeStats {
	st := &e.stats
	return EdgeStats{
		Watching: e.Watching(),
		Resets:   st.resets.Load(), Stale: st.stale.Load(), Gaps: st.gaps.Load(), Resyncs: st.resyncs.Load(),
		Held: st.held.Load(), Bad: st.bad.Load(), Listed: st.listed.Load(), Delisted: st.delisted.Load(),
		StoredBooks: st.storedBooks.Load(),
	}
}

// Health reports two sources, plus the feed node's own ones from its last
// heartbeat: "nats" (the connection) and "feed-node", connected while
// heartbeats arrive and no symbol's updates have been dropped as stale
// for Config.StaleAfter (Err names them). Its LastUpdate is the last tick
// delivered, Gaps counts seqs skipped (Stats.Gaps), Resyncs the seq
// resets and book resyncs (Stats.Resets + Stats.Resyncs) and Rejected the
// updates dropped as stale and the messages that could not be read
// (Stats.Stale + Stats.Bad). It implements feed.HealthReporter.
func (e *Edge) Health() []feed.Health {
	n := feed.Health{Source: "nats", Reconnects: e.nc.Stats().Reconnects}
	if st := e.nc.Status(); st != nats.CONNECTED {
		n.Err = "nats connection " + st.String()
	} else {
		n.Connected = true
	}
	st := e.Stats()
	f := feed.Health{Source: "feed-node", Gaps: st.Gaps, Resyncs: st.Resets + st.Resyncs, Rejected: st.Stale + st.Bad}
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
	case e.staleNote.Load() != nil:
		f.Err = *e.staleNote.Load()
	default:
		f.Connected = true
	}
	out := []feed.Health{n, f}
	if up := e.upstream.Load(); up != nil && beat != 0 && age <= e.cfg.FeedTimeout {
		for _, h := range *up {
			h.Source = "feed-node/" + h.Source
			out = append(out, h)
		}
	}
	return out
}

// dropStale counts an update of s dropped because it is older than the
// last one delivered on its channel (last), and notes the run of such
// drops Health reports when it lasts.
func (r *edgeRun) dropStale(s *edgeSym, channel string, last seqState, epoch, seq uint64) {
	r.e.stats.stale.Add(1)
	now := time.Now()
	if _, ok := r.stale[s]; !ok {
		r.stale[s] = struct{}{}
		s.staleSince = now
		s.staleWhy = fmt.Sprintf("%s %s: epoch %d seq %d after epoch %d seq %d", s.def.Name, channel, epoch, seq, last.epoch, last.seq)
	}
	s.staleLast = now
}

// fresh ends s's run of stale drops: an update was delivered.
func (r *edgeRun) fresh(s *edgeSym) {
	if len(r.stale) > 0 {
		delete(r.stale, s)
	}
}

// reset counts a seq space that restarted and logs the first of each new
// epoch.
func (r *edgeRun) reset(s *edgeSym, channel string, from, to uint64) {
	r.e.stats.resets.Add(1)
	if to != r.lastReset {
		r.lastReset = to
		r.e.log.Info("the feed node started a new seq space; passing it on", "symbol", s.def.Name, "channel", channel, "epoch", to, "was", from)
	}
}

// staleReport sets what Health says of the symbols whose updates have
// been dropped as stale for Config.StaleAfter and still are: a run ends
// when an update is delivered or none is dropped for StaleAfter.
func (r *edgeRun) staleReport(now time.Time) {
	after := r.e.cfg.StaleAfter
	var names []string
	why := ""
	for s := range r.stale {
		switch {
		case now.Sub(s.staleLast) > after:
			delete(r.stale, s)
		case s.staleLast.Sub(s.staleSince) >= after:
			names = append(names, s.def.Name)
			if why == "" || s.staleWhy < why {
				why = s.staleWhy
			}
		}
	}
	if len(names) == 0 {
		r.e.staleNote.Store(nil)
		return
	}
	slices.Sort(names)
	list := strings.Join(names[:min(len(names), 5)], ", ")
	if len(names) > 5 {
		list += fmt.Sprintf(" and %d more", len(names)-5)
	}
	note := fmt.Sprintf("updates of %s dropped as stale for %s or more (%s)", list, after, why)
	r.e.staleNote.Store(&note)
}
