package stats

import (
	"encoding/json"
	"testing"
)

// record fills a histogram with the values lo..hi (microseconds), each once.
func record(lo, hi int64) *Series {
	var s Series
	h := NewLatency()
	for v := lo; v <= hi; v++ {
		Record(h, v)
	}
	if err := s.Add(0, Counters{Ticks: hi - lo + 1}, h); err != nil {
		panic(err)
	}
	return &s
}

// TestMergeAcrossWorkers sends two workers' series through the wire form (JSON
// of encoded histograms, as the worker processes do) and checks the merged
// percentiles against values computed by hand.
func TestMergeAcrossWorkers(t *testing.T) {
	// Worker A saw 1..1000 µs, worker B saw 1001..2000 µs: together 1..2000,
	// so p50 = 1000 µs, p90 = 1800, p99 = 1980, p99.9 = 1998, max = 2000.
	workers := []*Series{record(1, 1000), record(1001, 2000)}
	var merged Series
	for _, w := range workers {
		wire, err := w.Wire()
		if err != nil {
			t.Fatal(err)
		}
		b, err := json.Marshal(wire)
		if err != nil {
			t.Fatal(err)
		}
		var back []WireSecond
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatal(err)
		}
		if err := merged.AddWire(back); err != nil {
			t.Fatal(err)
		}
	}
	c, h, err := merged.Window(0, 1)
	if err != nil {
		t.Fatal(err)
	}
	if c.Ticks != 2000 {
		t.Errorf("merged ticks = %d, want 2000", c.Ticks)
	}
	got := Summarize(h)
	// Three significant digits: values up to 2047 are exact.
	want := Percentiles{Count: 2000, Mean: 1.0005, P50: 1.000, P90: 1.800, P99: 1.980, P999: 1.998, Max: 2.000}
	if got != want {
		t.Errorf("Summarize(merged) = %+v, want %+v", got, want)
	}
}

func TestSeriesWindow(t *testing.T) {
	var s Series
	for sec := range 5 {
		h := NewLatency()
		Record(h, int64(sec+1)*100) // second t has one value of (t+1)*100 µs
		if err := s.Add(sec, Counters{Ticks: 1, Jumps: int64(sec)}, h); err != nil {
			t.Fatal(err)
		}
	}
	c, h, err := s.Window(1, 4) // seconds 1,2,3: 200, 300, 400 µs
	if err != nil {
		t.Fatal(err)
	}
	if c.Ticks != 3 || c.Jumps != 1+2+3 {
		t.Errorf("Window(1,4) counters = %+v, want 3 ticks, 6 jumps", c)
	}
	if p := Summarize(h); p.Count != 3 || p.P50 != 0.3 || p.Max != 0.4 {
		t.Errorf("Window(1,4) = %+v, want count 3, p50 0.3 ms, max 0.4 ms", p)
	}
	if err := s.Add(-1, Counters{}, nil); err == nil {
		t.Errorf("Add(-1) = nil error, want error")
	}
}

func TestRecordClamps(t *testing.T) {
	h := NewLatency()
	Record(h, -5)
	Record(h, LatencyMax*10)
	if h.TotalCount() != 2 || h.Min() != 0 || h.Max() < LatencyMax {
		t.Errorf("clamped histogram: count %d min %d max %d", h.TotalCount(), h.Min(), h.Max())
	}
}

func TestDecodeBad(t *testing.T) {
	if _, err := Decode("not base64!"); err == nil {
		t.Errorf("Decode(garbage) = nil error, want error")
	}
}

func TestTrackSeq(t *testing.T) {
	// One symbol's sequence as received, and the classification of each.
	seqs := []uint64{100, 101, 102, 105, 105, 104, 106, 110, 107, 111}
	want := []SeqResult{SeqFirst, SeqNext, SeqNext, SeqJump, SeqDuplicate, SeqOutOfOrder, SeqNext, SeqJump, SeqOutOfOrder, SeqNext}
	wantMerged := []uint64{0, 0, 0, 2, 0, 0, 0, 3, 0, 0}
	var last uint64
	var c Counters
	for i, s := range seqs {
		r, m := TrackSeq(&last, s)
		if r != want[i] || m != wantMerged[i] {
			t.Errorf("TrackSeq(seq %d at %d) = %v, %d; want %v, %d", s, i, r, m, want[i], wantMerged[i])
		}
		c.Count(r, m)
	}
	if c.Jumps != 2 || c.Merged != 5 || c.Duplicates != 1 || c.OutOfOrder != 2 {
		t.Errorf("counters = %+v, want 2 jumps, 5 merged, 1 duplicate, 2 out-of-order", c)
	}
	// seq 0 is a valid first sequence number.
	last = 0
	if r, _ := TrackSeq(&last, 0); r != SeqFirst {
		t.Errorf("TrackSeq(0) first = %v, want first", r)
	}
	if r, _ := TrackSeq(&last, 1); r != SeqNext {
		t.Errorf("TrackSeq(1) after 0 = %v, want next", r)
	}
}
