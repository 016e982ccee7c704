package hub

import (
	"math"
	"time"
)

// This file is max_rate: a subscription may ask for at most so many
// updates per second (protocol.MinMaxRate to MaxMaxRate), and
// Config.MaxRate caps every subscription of every connection. Each write
// then carries the latest value (the seq jump shows what was merged), and
// the value a client gets is never older than one period plus one pass:
//
//   - a subscription that is due when its stream changes is written at
//     once, so a quiet symbol's update is not held back;
//   - one that is not due stays on its connection's pending list, and the
//     connection waits in its shard's timer heap for the earliest due time
//     among them; when it comes, collect finds the latest value.
//
// Everything here is owned by the shard goroutine. Trades ignore max_rate
// (the decoder refuses it: a tape is never merged).

// clockUnit is the resolution of a rate's clock: due times and periods
// are counted in it, in 32 bits.
const clockUnit = 100 * time.Microsecond

// clockAt returns the rate clock at Unix time ns. It wraps every 4.97
// days; comparisons are wrap-safe (see subRate.wait).
func clockAt(ns int64) uint32 { return uint32(ns / int64(clockUnit)) }

// periodOf returns the period of rate updates per second in clock units,
// rounded up so that a client never gets more than it asked for; 0 for
// no limit.
func periodOf(rate float64) uint32 {
	if rate <= 0 {
		return 0
	}
	return uint32(math.Ceil(float64(time.Second/clockUnit) / rate))
}

// subRate is a rate-limited subscription's pace.
type subRate struct {
	period uint32 // clock units between two writes; 0: no limit
	due    uint32 // clock time from which the next write may go
}

// wait returns how many clock units are left until r is due at clock
// time now; 0 if it is due. A due time more than a period ahead can only
// be one that wrapped around (a subscription quiet for days): it is due.
func (r *subRate) wait(now uint32) uint32 {
	d := int32(r.due - now)
	if d <= 0 || uint32(d) > r.period {
		return 0
	}
	return uint32(d)
}

// wrote notes a write at clock time now: the next one is due a period
// after this one was due, so the pace holds on average, or a period from
// now if the subscription had been quiet for longer than a period.
func (r *subRate) wrote(now uint32) {
	next := r.due + r.period
	if int32(next-now) <= 0 || uint32(int32(next-now)) > r.period {
		next = now + r.period
	}
	r.due = next
}

// setPeriod changes r's period live: a shorter one can make r due sooner.
func (r *subRate) setPeriod(p uint32, now uint32) {
	r.period = p
	if p != 0 && r.wait(now) > p {
		r.due = now + p
	}
}

// rateLimits is a connection's max_rate state, made when it gets its
// first rate-limited subscription: rates is parallel to conn.subs (index
// for index), and timer is the connection's place in its shard's timer
// heap (index+1; 0: not in it).
type rateLimits struct {
	rates  []subRate
	timer  int32
	wakeAt int64 // Unix ns the connection waits for, while in the heap
}

// timers is a shard's min-heap of connections that wait for a
// rate-limited subscription to be due, by rateLimits.wakeAt.
type timers struct {
	heap  []*conn
	timer *time.Timer
	armed int64 // Unix ns timer is set for; 0: stopped
}

func newTimers() timers {
	t := time.NewTimer(time.Hour)
	t.Stop()
	return timers{timer: t}
}

// schedule makes c wake at Unix time at, unless it wakes earlier already.
func (ts *timers) schedule(c *conn, at int64) {
	rl := c.x.rl
	if rl.timer != 0 {
		if at >= rl.wakeAt {
			return
		}
		rl.wakeAt = at
		ts.up(int(rl.timer - 1))
		return
	}
	rl.wakeAt = at
	ts.heap = append(ts.heap, c)
	rl.timer = int32(len(ts.heap))
	ts.up(len(ts.heap) - 1)
}

// remove takes c out of the heap, if it is in it.
func (ts *timers) remove(c *conn) {
	rl := c.rates()
	if rl == nil || rl.timer == 0 {
		return
	}
	i := int(rl.timer - 1)
	last := len(ts.heap) - 1
	ts.swap(i, last)
	ts.heap[last] = nil
	ts.heap = ts.heap[:last]
	rl.timer = 0
	if i < last {
		ts.down(i)
		ts.up(i)
	}
}

// due calls wake for every connection whose time has come by now, taking
// it out of the heap.
func (ts *timers) due(now int64, wake func(*conn)) {
	for len(ts.heap) > 0 && ts.heap[0].x.rl.wakeAt <= now {
		c := ts.heap[0]
		ts.remove(c)
		wake(c)
	}
}

// arm sets the timer for the earliest connection in the heap.
func (ts *timers) arm() {
	if len(ts.heap) == 0 {
		if ts.armed != 0 {
			ts.timer.Stop()
			ts.armed = 0
		}
		return
	}
	if at := ts.heap[0].x.rl.wakeAt; at != ts.armed {
		ts.timer.Reset(time.Duration(at - time.Now().UnixNano()))
		ts.armed = at
	}
}

func (ts *timers) less(i, j int) bool { return ts.heap[i].x.rl.wakeAt < ts.heap[j].x.rl.wakeAt }

func (ts *timers) swap(i, j int) {
	ts.heap[i], ts.heap[j] = ts.heap[j], ts.heap[i]
	ts.heap[i].x.rl.timer = int32(i + 1)
	ts.heap[j].x.rl.timer = int32(j + 1)
}

func (ts *timers) up(i int) {
	for i > 0 {
		p := (i - 1) / 2
		if !ts.less(i, p) {
			return
		}
		ts.swap(i, p)
		i = p
	}
}

func (ts *timers) down(i int) {
	for {
		l := 2*i + 1
		if l >= len(ts.heap) {
			return
		}
		m := l
		if r := l + 1; r < len(ts.heap) && ts.less(r, l) {
			m = r
		}
		if !ts.less(m, i) {
			return
		}
		ts.swap(i, m)
		i = m
	}
}
