package sim

import (
	"math"
	"math/rand/v2"
	"time"
)

// A schedule says how many updates are due a given time after the start.
//
// Steady: due(d) = floor(rate*d), evenly spaced.
//
// Bursty: time is cut into windows of one second, each of slots slots. Every
// window draws a random weight per slot (exponential, and now and then a
// burst several times the mean) and spreads exactly rate updates over its
// slots in proportion to the weights. So within a second the flow is uneven,
// with bursts, but at every whole second exactly rate*seconds updates are
// due: the long-run average is Rate, with no drift.
//
// The schedule has its own random source: how updates are timed never
// changes which updates are produced.
type schedule struct {
	rate   float64
	steady bool

	rng *rand.Rand
	win int64              // index of the window in cum; -1 before the first
	cum [slots + 1]float64 // cumulative slot weights of window win, cum[0]=0, cum[slots]=1
}

const (
	window   = time.Second
	slots    = 100
	slotTime = window / slots
)

func newSchedule(rate float64, steady bool, seed int64) *schedule {
	return &schedule{
		rate:   rate,
		steady: steady,
		rng:    rand.New(rand.NewPCG(uint64(seed), 0x7363686564756c65)), // "schedule"
		win:    -1,
	}
}

// load makes w the current window, drawing every window up to it in order so
// that the weights depend only on the seed.
func (s *schedule) load(w int64) {
	for s.win < w {
		s.win++
		var sum float64
		var ws [slots]float64
		for i := range ws {
			x := s.rng.ExpFloat64() + 0.05 // never zero, so due is strictly increasing
			if s.rng.IntN(20) == 0 {       // a burst: 5-10x the mean
				x *= 5 + 5*s.rng.Float64()
			}
			ws[i] = x
			sum += x
		}
		var c float64
		for i, x := range ws {
			c += x
			s.cum[i+1] = c / sum
		}
		s.cum[slots] = 1
	}
}

// due returns how many updates are due d after the start. d must not go
// backwards between calls by more than a window (it never does: the caller
// reads a monotonic clock).
func (s *schedule) due(d time.Duration) uint64 {
	if d <= 0 {
		return 0
	}
	if s.steady {
		return uint64(s.rate * d.Seconds())
	}
	w := int64(d / window)
	if w < s.win {
		return uint64(s.rate * float64(w+1)) // cannot happen; stay monotone
	}
	s.load(w)
	f := float64(d%window) / float64(slotTime) // position in slots, [0, slots)
	i := int(f)
	frac := s.cum[i] + (f-float64(i))*(s.cum[i+1]-s.cum[i])
	return uint64(s.rate * (float64(w) + frac))
}

// at returns the earliest time after the start at which n updates are due,
// or, when that lies in a window after the current one, the start of the next
// window (the caller then asks again).
func (s *schedule) at(n uint64) time.Duration {
	x := float64(n) / s.rate // in seconds (= windows)
	if s.steady {
		return ceilDuration(x)
	}
	w := int64(x)
	if float64(w) == x && w > 0 {
		w-- // due exactly at the end of window w-1
	}
	if w > s.win {
		if s.win < 0 {
			s.load(0)
			if w == 0 {
				return s.at(n)
			}
		}
		return time.Duration(s.win+1) * window
	}
	frac := x - float64(w)
	// First slot whose cumulative weight reaches frac.
	i := 0
	for i < slots-1 && s.cum[i+1] < frac {
		i++
	}
	part := 0.0
	if d := s.cum[i+1] - s.cum[i]; d > 0 {
		part = (frac - s.cum[i]) / d
	}
	return ceilDuration(float64(w) + (float64(i)+part)/slots)
}

// ceilDuration converts seconds to a Duration, rounding up to the next
// nanosecond so that due(at(n)) >= n despite rounding.
func ceilDuration(sec float64) time.Duration {
	return time.Duration(math.Ceil(sec*1e9)) + 1
}
