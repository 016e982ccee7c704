package load

import (
	"cmp"
	"context"
	"sync"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
	"golang.org/x/sys/unix"

	"github.com/tickerd/tickerd/bench/internal/stats"
)

// storm runs a resume storm (see StormPlan): it takes every reading
// connection from the readers, closes them all, and reopens each with a
// trades subscribe whose "since" is sp.Back trades before the last it got
// of each symbol. The readers then track the new connections; finishStorm
// adds what they saw once they have stopped.
func (w *worker) storm(ctx context.Context, sp StormPlan) *StormReport {
	rep := &StormReport{Failures: map[string]int{}}
	var old []*conn
	for _, r := range w.readers {
		out := make(chan *conn)
		select {
		case r.hand <- out:
		case <-ctx.Done():
			return rep
		}
		for c := <-out; c != nil; c = <-out {
			old = append(old, c)
		}
	}
	rep.Clients = len(old)
	type job struct {
		c     *conn
		since []uint64
	}
	jobs := make([]job, len(old))
	for k, c := range old {
		unix.Close(c.fd)
		since := make([]uint64, len(c.syms))
		for i, l := range c.last {
			if l == 0 || l == ended {
				rep.NoHistory++
				continue
			}
			since[i] = max(l-1, sp.Back+1) - sp.Back // the last seq had, less Back; at least 1
		}
		jobs[k] = job{c, since}
	}

	var mu sync.Mutex
	var first, last int64
	sem := make(chan struct{}, cmp.Or(sp.Concurrency, 256))
	var wg sync.WaitGroup
	for _, j := range jobs {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			dialAt := time.Now().UnixNano()
			_, _, dc, err := w.d.open(ctx, j.c.gidx, j.c.syms, false, j.since)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				rep.Failures[Cause(err)]++
				return
			}
			rep.Reconnected++
			if first == 0 || dc.subAt < first {
				first = dc.subAt
			}
			last = max(last, dc.subAt)
			c := w.newConn(j.c.gidx, j.c.syms, dc)
			c.slow, c.phase = j.c.slow, j.c.phase
			n := len(c.syms)
			c.storm = &stormConn{dialAt: dialAt, subAt: dc.subAt, since: j.since, got: make([]bool, n), live: make([]bool, n), replays: make([]int, n)}
			for i, s := range j.since {
				if s > 0 {
					c.last[i] = s + 1 // the next seq expected (stats.TrackSeq)
				}
			}
			w.readers[c.gidx%len(w.readers)].add(c)
		})
	}
	wg.Wait()
	rep.Seconds = time.Duration(last - first).Seconds()
	if len(rep.Failures) == 0 {
		rep.Failures = nil
	}
	return rep
}

// finishStorm adds to rep what the readers saw on the connections the
// storm reopened; call after the readers have stopped.
func (w *worker) finishStorm(rep *StormReport) error {
	h, ha, hw := stats.NewLatency(), stats.NewLatency(), stats.NewLatency()
	rep.MinReplays = -1
	for _, r := range w.readers {
		for _, c := range r.conns {
			if c == nil || c.storm == nil {
				continue
			}
			st := c.storm
			resumed := st.lastReplay > 0
			for i, s := range st.since {
				if s == 0 {
					continue
				}
				if st.replays[i] == 0 {
					resumed = false
				}
				if rep.MinReplays < 0 || st.replays[i] < rep.MinReplays {
					rep.MinReplays = st.replays[i]
				}
				rep.Replays += int64(st.replays[i])
			}
			if resumed {
				rep.Resumed++
				stats.Record(h, (st.lastReplay-st.subAt)/1000)
				if st.lastArrival > 0 {
					rep.Stamped++
					stats.Record(ha, max(st.lastArrival-st.subAt, 0)/1000)
					stats.Record(hw, max(st.lastArrival-st.dialAt, 0)/1000)
				}
			}
			rep.Gaps += st.gaps
			rep.WrongFirst += st.wrongFirst
			rep.Holes += st.holes
			rep.Duplicates += st.dups
			rep.OutOfOrder += st.outOfOrder
			rep.LateReplay += st.lateReplay
		}
	}
	rep.MinReplays = max(rep.MinReplays, 0)
	rep.Errors = rep.WrongFirst + rep.Holes + rep.Duplicates + rep.OutOfOrder + rep.LateReplay
	var err error
	if rep.Latency, err = stats.Encode(h); err != nil {
		return err
	}
	if rep.Arrival, err = stats.Encode(ha); err != nil {
		return err
	}
	rep.Whole, err = stats.Encode(hw)
	return err
}

// StormSummary is the resume storms of every worker together.
type StormSummary struct {
	StormReport
	Latency stats.Percentiles `json:"latency"` // subscribe to the last replayed trade read, of the resumed clients
	Arrival stats.Percentiles `json:"arrival"` // subscribe to its arrival at the socket, of the Stamped ones
	Whole   stats.Percentiles `json:"whole"`   // dial to that arrival, of the Stamped ones
}

// MergeStorm merges the workers' storm reports; nil when there are none.
func MergeStorm(reports []*StormReport) (*StormSummary, error) {
	var out *StormSummary
	h, ha, hw := stats.NewLatency(), stats.NewLatency(), stats.NewLatency()
	for _, r := range reports {
		if r == nil {
			continue
		}
		if out == nil {
			out = &StormSummary{StormReport: StormReport{Failures: map[string]int{}, MinReplays: r.MinReplays}}
		}
		s := &out.StormReport
		s.Clients += r.Clients
		s.Reconnected += r.Reconnected
		for k, v := range r.Failures {
			s.Failures[k] += v
		}
		s.NoHistory += r.NoHistory
		s.Seconds = max(s.Seconds, r.Seconds)
		s.Resumed += r.Resumed
		s.Stamped += r.Stamped
		s.MinReplays = min(s.MinReplays, r.MinReplays)
		s.Replays += r.Replays
		s.Gaps += r.Gaps
		s.WrongFirst += r.WrongFirst
		s.Holes += r.Holes
		s.Duplicates += r.Duplicates
		s.OutOfOrder += r.OutOfOrder
		s.LateReplay += r.LateReplay
		s.Errors += r.Errors
		for _, m := range []struct {
			to  *hdr.Histogram
			enc string
		}{{h, r.Latency}, {ha, r.Arrival}, {hw, r.Whole}} {
			if m.enc == "" {
				continue
			}
			rh, err := stats.Decode(m.enc)
			if err != nil {
				return nil, err
			}
			if err := stats.Merge(m.to, rh); err != nil {
				return nil, err
			}
		}
	}
	if out == nil {
		return nil, nil
	}
	if len(out.Failures) == 0 {
		out.Failures = nil
	}
	out.StormReport.Latency, out.StormReport.Arrival, out.StormReport.Whole = "", "", ""
	out.Latency, out.Arrival, out.Whole = stats.Summarize(h), stats.Summarize(ha), stats.Summarize(hw)
	return out, nil
}
