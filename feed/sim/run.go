package sim

import (
	"context"
	"time"

	"github.com/tickerd/tickerd/feed"
	"github.com/tickerd/tickerd/protocol"
)

// minWait is the shortest timer Run sets. At high rates Run wakes at most
// this often and publishes every update due since the start in one batch;
// it never sleeps per tick.
const minWait = time.Millisecond

// ctxCheck is how many updates Run publishes between looks at ctx while
// catching up.
const ctxCheck = 256

// Run publishes updates into sink at the configured rate until ctx is done,
// then returns nil. It is synchronous: the caller runs it in a goroutine of
// its own and cancels ctx to stop it. Calling Run again continues the
// sequence where the last call stopped; calling it while it runs is an
// error.
//
// Timing is catch-up, not sleep-per-tick: at each wake-up Run publishes every
// update due since it started, so a slow sink or a loaded machine delays
// updates but never loses them, and the long-run count is Rate*elapsed. The
// tick passed to sink is reused; Publish must not keep it.
func (m *Market) Run(ctx context.Context, sink feed.Sink) error {
	if !m.running.CompareAndSwap(false, true) {
		return errRunning
	}
	defer m.running.Store(false)

	sched := newSchedule(m.rate, m.cfg.Steady, m.cfg.Seed)
	var t protocol.Tick
	start := time.Now()
	var sent uint64 // updates published by this call
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-timer.C:
		}
		due := sched.due(time.Since(start))
		for sent < due {
			m.next(&t)
			sink.Publish(&t)
			sent++
			if sent%ctxCheck == 0 {
				m.lastTS.Store(t.TS)
				if ctx.Err() != nil {
					return nil
				}
			}
		}
		if t.TS != 0 {
			m.lastTS.Store(t.TS)
		}
		wait := max(sched.at(sent+1)-time.Since(start), minWait)
		timer.Reset(wait)
	}
}
