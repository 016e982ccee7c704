package sim

import (
	"context"
	"time"

	"github.com/tickerd/tickerd/feed"
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
// values passed to sink are reused: it must not keep them.
//
// In universe mode the first update lists the first day's options, and a
// later call of Run lists again every option listed now, for a sink that
// did not see them listed.
func (m *Market) Run(ctx context.Context, sink feed.Sink) error {
	if !m.running.CompareAndSwap(false, true) {
		return errRunning
	}
	defer m.running.Store(false)

	if m.uni != nil && m.n > 0 {
		m.uni.relist(m, sink)
	}
	sched := newSchedule(m.rate, m.cfg.Steady, m.cfg.Seed)
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
			m.next(sink)
			sent++
			if sent%ctxCheck == 0 {
				m.lastTS.Store(m.ts)
				if ctx.Err() != nil {
					return nil
				}
			}
		}
		if m.ts != 0 {
			m.lastTS.Store(m.ts)
		}
		wait := max(sched.at(sent+1)-time.Since(start), minWait)
		timer.Reset(wait)
	}
}
