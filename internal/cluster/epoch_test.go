package cluster

import (
	"math"
	"strconv"
	"testing"
	"time"
)

func TestCutEpoch(t *testing.T) {
	for _, tt := range []struct {
		in    string
		epoch uint64
		frame string
		ok    bool
	}{
		{`0 {"type":"tick"}`, 0, `{"type":"tick"}`, true},
		{`1763718000123 {"a":1}`, 1763718000123, `{"a":1}`, true},
		{strconv.FormatUint(math.MaxUint64, 10) + " x", math.MaxUint64, "x", true},
		{"18446744073709551616 x", 0, "", false}, // overflows
		{"01 x", 0, "", false},
		{"1 ", 0, "", false}, // no frame
		{"1", 0, "", false},
		{" 1 x", 0, "", false},
		{"-1 x", 0, "", false},
		{"1x", 0, "", false},
		{`{"type":"tick"}`, 0, "", false},
		{"", 0, "", false},
		{"123456789012345678901 x", 0, "", false},
	} {
		epoch, frame, ok := cutEpoch([]byte(tt.in))
		if ok != tt.ok || epoch != tt.epoch || string(frame) != tt.frame {
			t.Errorf("cutEpoch(%q) = %d, %q, %v, want %d, %q, %v", tt.in, epoch, frame, ok, tt.epoch, tt.frame, tt.ok)
		}
	}
}

func FuzzCutEpoch(f *testing.F) {
	f.Add([]byte(`1763718000123 {"type":"tick","symbol":"AAPL","seq":1}`))
	f.Add([]byte("0 x"))
	f.Fuzz(func(t *testing.T, data []byte) {
		epoch, frame, ok := cutEpoch(data)
		if !ok {
			return
		}
		if back := string(appendEpoch(nil, epoch)) + string(frame); back != string(data) {
			t.Fatalf("cutEpoch(%q) = %d, %q; written back %q", data, epoch, frame, back)
		}
	})
}

func TestLane(t *testing.T) {
	const run = 5000
	t.Run("stored state continues", func(t *testing.T) {
		var l lane
		st := stored{epoch: 40, seq: 900, ok: true}
		if e, s := l.place(0, 1, st, run); e != 40 || s != 901 {
			t.Errorf("first = %d/%d, want 40/901", e, s)
		}
		if e, s := l.place(0, 2, st, run); e != 40 || s != 902 {
			t.Errorf("second = %d/%d, want 40/902", e, s)
		}
	})
	t.Run("a feed seq above the stored one is kept", func(t *testing.T) {
		var l lane
		if e, s := l.place(0, 1200, stored{epoch: 40, seq: 900, ok: true}, run); e != 40 || s != 1200 {
			t.Errorf("= %d/%d, want 40/1200", e, s)
		}
	})
	t.Run("no stored state: the run's epoch", func(t *testing.T) {
		var l lane
		if e, s := l.place(0, 1, stored{}, run); e != run || s != 1 {
			t.Errorf("= %d/%d, want %d/1", e, s, run)
		}
	})
	t.Run("the feed's new epoch moves on", func(t *testing.T) {
		var l lane
		l.place(0, 7, stored{}, run)
		e, s := l.place(1, 1, stored{}, run)
		if e <= run || s != 1 || e < uint64(time.Now().UnixMilli())-1000 {
			t.Errorf("= %d/%d, want above %d and the clock, seq 1", e, s, run)
		}
		if got := l.epochOf(0, stored{}, run); got != run {
			t.Errorf("epochOf the previous feed epoch = %d, want %d", got, run)
		}
		if got := l.epochOf(1, stored{}, run); got != e {
			t.Errorf("epochOf the current feed epoch = %d, want %d", got, e)
		}
	})
	t.Run("epochOf before the first message", func(t *testing.T) {
		var l lane
		if got := l.epochOf(0, stored{epoch: 40, seq: 9, ok: true}, run); got != 40 || l.started {
			t.Errorf("= %d (started %v), want 40 and not started", got, l.started)
		}
		if got := l.epochOf(0, stored{}, run); got != run {
			t.Errorf("= %d, want %d", got, run)
		}
	})
}

func TestFreshEpoch(t *testing.T) {
	now := time.UnixMilli(1_763_718_000_123)
	if got := freshEpoch(now, 0); got != 1_763_718_000_123 {
		t.Errorf("freshEpoch = %d, want the clock in ms", got)
	}
	if got := freshEpoch(now, 1_763_718_000_200); got != 1_763_718_000_201 {
		t.Errorf("freshEpoch below a stored epoch = %d, want it + 1", got)
	}
}

func TestSeqStateCheck(t *testing.T) {
	s := seqState{}
	if v := s.check(3, 10); v != deliverNew {
		t.Errorf("first: %v", v)
	}
	s.take(3, 10)
	for _, tt := range []struct {
		epoch, seq uint64
		want       verdict
	}{
		{3, 11, deliverNew}, {3, 15, deliverNew}, {3, 10, dropDup}, {3, 9, dropOlder},
		{4, 1, deliverReset}, {2, 100, dropStale},
	} {
		if v := s.check(tt.epoch, tt.seq); v != tt.want {
			t.Errorf("check(%d, %d) after 3/10 = %v, want %v", tt.epoch, tt.seq, v, tt.want)
		}
	}
}
