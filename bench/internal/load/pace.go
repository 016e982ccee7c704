package load

import (
	hdr "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/tickerd/tickerd/bench/internal/stats"
)

// Pace is how fast each subscription of a run with a max_rate was
// served in the window. A subscription's delivered rate is taken between
// its first and its last data message in the window, (n-1)/span, which a
// periodic delivery makes exact whatever the window's phase; what it was
// offered is its symbol's seq advance over the same span, the updates the
// feed made. It should get min(max_rate, offered).

// subPace is one subscription's data messages in the window.
type subPace struct {
	n                 uint32
	first, last       int64 // receive times, Unix ns
	firstSeq, lastSeq uint64
}

// see notes a data message with seq received at now in the window, and
// records the time since the one before into interval (µs).
func (p *subPace) see(now int64, seq uint64, interval *hdr.Histogram) {
	if p.n == 0 {
		p.first, p.firstSeq = now, seq
	} else {
		stats.Record(interval, (now-p.last)/1000)
	}
	p.last, p.lastSeq = now, seq
	p.n++
}

// withinPace is how far a delivered rate may be from the one expected and
// still count as honoured: issue 17's ±10%.
const withinPace = 0.10

// paceStats collects the paces of many subscriptions.
type paceStats struct {
	subs, few, within, over int
	rate, ratio, interval   *hdr.Histogram
}

func newPaceStats() *paceStats {
	// The latency histogram's range (1 to 60e6) holds rates in
	// thousandths up to 60,000/s and ratios in thousandths.
	return &paceStats{rate: stats.NewLatency(), ratio: stats.NewLatency(), interval: stats.NewLatency()}
}

// add accounts one subscription's pace against maxRate.
func (s *paceStats) add(p *subPace, maxRate float64) {
	if p.n < 2 || p.last <= p.first {
		s.few++
		return
	}
	s.subs++
	span := float64(p.last-p.first) / 1e9
	got := float64(p.n-1) / span
	want := min(maxRate, float64(p.lastSeq-p.firstSeq)/span)
	stats.Record(s.rate, int64(got*1000+0.5))
	if want > 0 {
		r := got / want
		stats.Record(s.ratio, int64(r*1000+0.5))
		if r >= 1-withinPace && r <= 1+withinPace {
			s.within++
		}
	}
	if got > maxRate*(1+withinPace) {
		s.over++
	}
}

// merge adds o into s.
func (s *paceStats) merge(o *paceStats) error {
	s.subs += o.subs
	s.few += o.few
	s.within += o.within
	s.over += o.over
	for _, m := range [][2]*hdr.Histogram{{s.rate, o.rate}, {s.ratio, o.ratio}, {s.interval, o.interval}} {
		if err := stats.Merge(m[0], m[1]); err != nil {
			return err
		}
	}
	return nil
}

// PaceReport is a paceStats on the wire.
type PaceReport struct {
	Subs     int    `json:"subs"`         // subscriptions with two data messages or more in the window
	Few      int    `json:"few"`          // with fewer: no rate to tell
	Within   int    `json:"within_10pct"` // delivered within ±10% of min(max_rate, offered)
	Over     int    `json:"over_10pct"`   // delivered more than 10% above max_rate
	Rate     string `json:"rate"`         // histogram: delivered per second per subscription, thousandths
	Ratio    string `json:"ratio"`        // histogram: delivered / min(max_rate, offered), thousandths
	Interval string `json:"interval"`     // histogram: µs between two data messages of a subscription
}

func (s *paceStats) wire() (*PaceReport, error) {
	r := &PaceReport{Subs: s.subs, Few: s.few, Within: s.within, Over: s.over}
	var err error
	for _, f := range []struct {
		dst *string
		h   *hdr.Histogram
	}{{&r.Rate, s.rate}, {&r.Ratio, s.ratio}, {&r.Interval, s.interval}} {
		if *f.dst, err = stats.Encode(f.h); err != nil {
			return nil, err
		}
	}
	return r, nil
}

func (r *PaceReport) stats() (*paceStats, error) {
	s := &paceStats{subs: r.Subs, few: r.Few, within: r.Within, over: r.Over}
	var err error
	for _, f := range []struct {
		dst **hdr.Histogram
		enc string
	}{{&s.rate, r.Rate}, {&s.ratio, r.Ratio}, {&s.interval, r.Interval}} {
		if *f.dst, err = stats.Decode(f.enc); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// PaceSummary is the merged pace of every worker.
type PaceSummary struct {
	Subs     int               `json:"subs"`
	Few      int               `json:"few"`
	Within   int               `json:"within_10pct"`
	Over     int               `json:"over_10pct"`
	Rate     Spread            `json:"rate_per_s"` // delivered per second per subscription
	Ratio    Spread            `json:"ratio"`      // delivered / min(max_rate, offered)
	Interval stats.Percentiles `json:"interval"`   // between two data messages of a subscription
}

// Spread is a distribution over subscriptions, in its own unit.
type Spread struct {
	Min float64 `json:"min"`
	P1  float64 `json:"p1"`
	P50 float64 `json:"p50"`
	P99 float64 `json:"p99"`
	Max float64 `json:"max"`
}

// spreadOf reads h, whose values are thousandths.
func spreadOf(h *hdr.Histogram) Spread {
	if h.TotalCount() == 0 {
		return Spread{}
	}
	v := h.ValueAtPercentilesSlice([]float64{1, 50, 99})
	return Spread{Min: float64(h.Min()) / 1000, P1: float64(v[0]) / 1000, P50: float64(v[1]) / 1000,
		P99: float64(v[2]) / 1000, Max: float64(h.Max()) / 1000}
}

// MergePace merges the workers' pace reports; nil reports are skipped,
// and no report at all gives nil.
func MergePace(reports []*PaceReport) (*PaceSummary, error) {
	var all *paceStats
	for _, r := range reports {
		if r == nil {
			continue
		}
		s, err := r.stats()
		if err != nil {
			return nil, err
		}
		if all == nil {
			all = newPaceStats()
		}
		if err := all.merge(s); err != nil {
			return nil, err
		}
	}
	if all == nil {
		return nil, nil
	}
	return &PaceSummary{
		Subs: all.subs, Few: all.few, Within: all.within, Over: all.over,
		Rate: spreadOf(all.rate), Ratio: spreadOf(all.ratio), Interval: stats.Summarize(all.interval),
	}, nil
}
