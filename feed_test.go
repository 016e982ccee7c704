package tickerd_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tickerd/tickerd"
	"github.com/tickerd/tickerd/feed"
	"github.com/tickerd/tickerd/feed/sim"
	"github.com/tickerd/tickerd/internal/apptest"
	"github.com/tickerd/tickerd/internal/testutil"
)

// panicky is the simulated market, but its first runs panic after
// publishing a few ticks.
type panicky struct {
	*sim.Market
	panics int // runs that panic

	mu     sync.Mutex
	starts []time.Time // when each run began
}

func (p *panicky) Run(ctx context.Context, sink feed.Sink) error {
	p.mu.Lock()
	p.starts = append(p.starts, time.Now())
	n := len(p.starts)
	p.mu.Unlock()
	if n > p.panics {
		return p.Market.Run(ctx, sink)
	}
	rctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	_ = p.Market.Run(rctx, sink)
	panicIn(n)
	return nil
}

// panicIn panics on the feed's goroutine, from a function the stack names.
func panicIn(run int) { panic(fmt.Sprint("feed bug in run ", run)) }

func (p *panicky) runs() []time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]time.Time(nil), p.starts...)
}

// TestFeedPanicRestarts: a feed that panics is recovered, logged with its
// stack, run again after a backoff that doubles, counted, and reported by
// /readyz while it is down; clients keep their connection and get ticks
// again.
func TestFeedPanicRestarts(t *testing.T) {
	m, err := sim.New(sim.Config{Rate: 200, Symbols: 2, Steady: true})
	if err != nil {
		t.Fatal(err)
	}
	f := &panicky{Market: m, panics: 2}
	var logs testutil.Logs
	r := apptest.Start(t, tickerd.Config{
		Feed: f, FeedRestart: 400 * time.Millisecond, FeedRestartMax: 10 * time.Second,
		Logger: logs.Logger(), DrainWindow: -1,
	})
	c := r.Dial(t, "?symbols=AAPL")

	var body string
	if !testutil.Eventually(wait, func() bool {
		var status int
		status, body = get(t, "http://"+r.Addr+"/readyz")
		return status == 503 && strings.Contains(body, "feed: feed panicked: feed bug in run 1; restarting in 400ms")
	}) {
		t.Errorf("/readyz while the feed is down: %q, want 503 with the panic and the restart", body)
	}
	if !testutil.Eventually(wait, func() bool { return len(f.runs()) == 3 }) {
		t.Fatalf("feed ran %d times, want 3 (two panics, then a good run)", len(f.runs()))
	}
	waitStatus(t, "http://"+r.Addr+"/readyz", 200)
	runs := f.runs()
	// Each run lasts 50 ms before it panics; the waits are 400 ms, then 800.
	if gap := runs[1].Sub(runs[0]); gap < 450*time.Millisecond {
		t.Errorf("second run %v after the first, want at least 50ms + 400ms", gap)
	}
	if gap := runs[2].Sub(runs[1]); gap < 850*time.Millisecond {
		t.Errorf("third run %v after the second, want at least 50ms + 800ms (the backoff doubles)", gap)
	}
	if v, _ := metricValue(t, r.Server, "tickerd_feed_panics_total"); v != 2 {
		t.Errorf("tickerd_feed_panics_total = %v, want 2", v)
	}
	log := logs.String()
	if n := strings.Count(log, `level=ERROR msg="feed panicked; restarting it"`); n != 2 {
		t.Errorf("%d panic lines in the log, want 2:\n%s", n, log)
	}
	if !strings.Contains(log, "tickerd_test.panicIn(") {
		t.Errorf("the panic's log line has no stack naming the panicking function:\n%s", log)
	}
	// The client that stayed connected gets ticks from the restarted feed.
	since := time.Now()
	for deadline := time.Now().Add(wait); ; {
		m, err := c.Next(deadline)
		if err != nil {
			t.Fatalf("waiting for a tick after the restart: %v", err)
		}
		if m.Type == "tick" && time.Unix(0, m.TS).After(since) {
			break
		}
	}
}

// TestFeedStopped: a feed that fails for good (returns an error) is not
// run again; /readyz says why, and the server keeps serving the last
// state.
func TestFeedStopped(t *testing.T) {
	var logs testutil.Logs
	r := apptest.Start(t, tickerd.Config{Feed: failing{}, Logger: logs.Logger(), ReadyMaxFeedAge: -1, DrainWindow: -1})
	body := waitStatus(t, "http://"+r.Addr+"/readyz", 503)
	if body != "feed: feed stopped: upstream gone for good\n" {
		t.Errorf("/readyz = %q, want the feed's error", body)
	}
	if status, _ := get(t, "http://"+r.Addr+"/healthz"); status != 200 {
		t.Errorf("/healthz = %d after the feed stopped, want 200", status)
	}
	if !strings.Contains(logs.String(), `level=ERROR msg="feed stopped" err="upstream gone for good"`) {
		t.Errorf("no error line for the stopped feed:\n%s", logs.String())
	}
}

// failing is a feed whose source fails at once.
type failing struct{}

func (failing) Symbols() []feed.Symbol { return sim.Universe()[:1] }
func (failing) Run(context.Context, feed.Sink) error {
	return errGone
}

var errGone = errors.New("upstream gone for good")

// TestRecord: Config.Record gets every tick the hub is given (among the
// trades and book updates the feed publishes), as NDJSON
// that the replay feed plays, flushed when Serve returns.
func TestRecord(t *testing.T) {
	var rec testutil.Logs // any concurrency-safe writer
	r := apptest.Start(t, tickerd.Config{Sim: sim.Config{Rate: 500, Symbols: 2, Steady: true}, Record: &rec, DrainWindow: -1})
	waitStatus(t, "http://"+r.Addr+"/readyz", 200)
	published := r.Hub().Stats().Published
	r.Stop()
	if _, ok := r.Wait(wait); !ok {
		t.Fatal("Serve did not return")
	}
	lines := strings.Split(strings.TrimSuffix(rec.String(), "\n"), "\n")
	ticks, first := 0, ""
	for _, l := range lines {
		if strings.HasPrefix(l, `{"type":"tick",`) {
			if ticks == 0 {
				first = l
			}
			ticks++
		}
	}
	if uint64(ticks) < published || !strings.HasPrefix(first, `{"type":"tick","symbol":"AAPL","seq":1,`) {
		t.Errorf("recorded %d ticks, first %.60q; want at least the %d published, from AAPL seq 1", ticks, first, published)
	}
}
