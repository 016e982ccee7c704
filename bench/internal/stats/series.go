package stats

import (
	"fmt"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
)

// Series is a run's measurements second by second: second t covers
// [t0+t s, t0+(t+1) s). Add merges, so the same Series collects several
// readers or several workers. The zero value is empty and ready to use; a
// Series is not safe for concurrent use.
type Series struct {
	secs []second
}

type second struct {
	c Counters
	h *hdr.Histogram // nil until a latency is added
}

// Add merges counters and a latency histogram (which may be nil) into second t.
func (s *Series) Add(t int, c Counters, h *hdr.Histogram) error {
	if t < 0 {
		return fmt.Errorf("stats: negative second %d", t)
	}
	for len(s.secs) <= t {
		s.secs = append(s.secs, second{})
	}
	sec := &s.secs[t]
	sec.c.Add(c)
	if h != nil && h.TotalCount() > 0 {
		if sec.h == nil {
			sec.h = NewLatency()
		}
		return Merge(sec.h, h)
	}
	return nil
}

// Len returns the number of seconds the series spans.
func (s *Series) Len() int { return len(s.secs) }

// At returns second t's counters and latency histogram (never nil).
func (s *Series) At(t int) (Counters, *hdr.Histogram) {
	if t < 0 || t >= len(s.secs) || s.secs[t].h == nil {
		var c Counters
		if t >= 0 && t < len(s.secs) {
			c = s.secs[t].c
		}
		return c, NewLatency()
	}
	return s.secs[t].c, s.secs[t].h
}

// Window returns the counters and the merged latency histogram of seconds
// [from, to).
func (s *Series) Window(from, to int) (Counters, *hdr.Histogram, error) {
	var c Counters
	h := NewLatency()
	for t := max(from, 0); t < to && t < len(s.secs); t++ {
		c.Add(s.secs[t].c)
		if err := Merge(h, s.secs[t].h); err != nil {
			return c, h, err
		}
	}
	return c, h, nil
}

// WireSecond is one second of a Series as it travels between processes.
type WireSecond struct {
	T int `json:"t"`
	Counters
	Hist string `json:"hist,omitempty"` // Encode form
}

// Wire returns the non-empty seconds of s in wire form.
func (s *Series) Wire() ([]WireSecond, error) {
	var out []WireSecond
	for t, sec := range s.secs {
		if sec.c == (Counters{}) && (sec.h == nil || sec.h.TotalCount() == 0) {
			continue
		}
		enc, err := Encode(sec.h)
		if err != nil {
			return nil, err
		}
		out = append(out, WireSecond{T: t, Counters: sec.c, Hist: enc})
	}
	return out, nil
}

// AddWire merges seconds in wire form into s.
func (s *Series) AddWire(w []WireSecond) error {
	for _, ws := range w {
		var h *hdr.Histogram
		if ws.Hist != "" {
			var err error
			if h, err = Decode(ws.Hist); err != nil {
				return err
			}
		}
		if err := s.Add(ws.T, ws.Counters, h); err != nil {
			return err
		}
	}
	return nil
}
