package sim

import (
	"testing"
	"time"
)

func TestScheduleWholeSeconds(t *testing.T) {
	for _, tt := range []struct {
		rate   float64
		steady bool
	}{
		{1000, false}, {1000, true}, {10, false}, {10, true}, {2.5, false}, {100000, false}, {100000, true},
	} {
		s := newSchedule(tt.rate, tt.steady, 1)
		for sec := int64(1); sec <= 20; sec++ {
			got := s.due(time.Duration(sec) * time.Second)
			if want := uint64(tt.rate * float64(sec)); got != want {
				t.Errorf("rate %v steady %v: due(%ds) = %d, want %d", tt.rate, tt.steady, sec, got, want)
			}
		}
	}
}

// TestScheduleMonotone: due never goes down, and at(n) is the time n
// updates become due.
func TestScheduleMonotone(t *testing.T) {
	for _, steady := range []bool{false, true} {
		const rate = 997
		s := newSchedule(rate, steady, 5)
		var last uint64
		for d := time.Duration(0); d < 3*time.Second; d += 37 * time.Microsecond {
			n := s.due(d)
			if n < last {
				t.Fatalf("steady %v: due(%v) = %d after %d", steady, d, n, last)
			}
			last = n
		}

		s = newSchedule(rate, steady, 5)
		var prev time.Duration
		for n := uint64(1); n <= 3*rate; n++ {
			d := s.at(n)
			for tries := 0; s.due(d) < n; tries++ {
				// at returned a window start; asking again must converge.
				if tries > 2 {
					t.Fatalf("steady %v: due(at(%d) = %v) = %d, want >= %d", steady, n, d, s.due(d), n)
				}
				d = s.at(n)
			}
			if d < prev {
				t.Fatalf("steady %v: at(%d) = %v before at(%d) = %v", steady, n, d, n-1, prev)
			}
			// at is (close to) the earliest such time. due only moves
			// forward, so ask a fresh schedule with the same seed.
			if early := d - 10*time.Microsecond; early > 0 && newSchedule(rate, steady, 5).due(early) >= n {
				t.Fatalf("steady %v: %d updates already due at %v, before at(%d) = %v", steady, n, early, n, d)
			}
			prev = d
		}
	}
}

// TestScheduleBursty: bursty slots see several times the mean, steady ones
// never deviate from it by more than one update.
func TestScheduleBursty(t *testing.T) {
	const rate = 10000
	mean := float64(rate) * slotTime.Seconds() // per slot
	for _, steady := range []bool{false, true} {
		s := newSchedule(rate, steady, 11)
		var maxSlot, minSlot uint64 = 0, 1 << 62
		var prev uint64
		for i := 1; i <= 10*slots; i++ {
			n := s.due(time.Duration(i) * slotTime)
			maxSlot, minSlot = max(maxSlot, n-prev), min(minSlot, n-prev)
			prev = n
		}
		switch {
		case steady && (float64(maxSlot) > mean+1 || float64(minSlot) < mean-1):
			t.Errorf("steady: slots between %d and %d updates, want %v +- 1", minSlot, maxSlot, mean)
		case !steady && float64(maxSlot) < 4*mean:
			t.Errorf("bursty: busiest slot has %d updates, want a burst >= 4x the mean %v", maxSlot, mean)
		case !steady && float64(minSlot) > mean/4:
			t.Errorf("bursty: quietest slot has %d updates, want a lull <= mean/4 (%v)", minSlot, mean/4)
		}
	}
}
