package sim

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tickerd/tickerd/feed"
	"github.com/tickerd/tickerd/protocol"
)

type sinkFunc func(t *protocol.Tick)

func (f sinkFunc) Publish(t *protocol.Tick)       { f(t) }
func (sinkFunc) PublishTrade(*protocol.Trade)     {}
func (sinkFunc) PublishBook(*protocol.BookUpdate) {}
func (sinkFunc) PublishCandle(*protocol.Candle)   {}
func (sinkFunc) List([]feed.Symbol)               {}
func (sinkFunc) Delist([]string)                  {}

// runFor runs m until ctx ends and returns Run's error, failing the test if
// Run does not return within a generous bound after ctx ends.
func runFor(t *testing.T, ctx context.Context, m *Market, sink sinkFunc) error {
	t.Helper()
	errc := make(chan error, 1)
	go func() { errc <- m.Run(ctx, sink) }()
	<-ctx.Done()
	select {
	case err := <-errc:
		return err
	case <-time.After(10 * time.Second):
		t.Fatalf("Run did not return 10s after ctx ended")
		return nil
	}
}

// TestRunMatchesNext: what Run publishes is exactly the sequence next
// produces, whatever the timing.
func TestRunMatchesNext(t *testing.T) {
	const n = 3000
	cfg := Config{Seed: 77, Rate: 200000, Clock: fakeClock()}
	var got []string
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	err := runFor(t, ctx, mustNew(t, cfg), func(tk *protocol.Tick) {
		if len(got) < n {
			got = append(got, tickString(tk))
		}
		if len(got) == n {
			cancel()
		}
	})
	if err != nil {
		t.Fatalf("Run = %v, want nil after cancel", err)
	}
	cfg.Clock = fakeClock()
	want := sequence(mustNew(t, cfg), n)
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("Run tick %d = %s, want %s", i, got[i], want[i])
		}
	}
}

func TestRunRate(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
	}{
		{"bursty 2000/s", Config{Rate: 2000}},
		{"steady one symbol 20/s", Config{Rate: 20, Symbols: 1, Steady: true}},
		{"default rate", Config{Symbols: 10}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m := mustNew(t, tt.cfg)
			var count atomic.Int64
			var bad atomic.Value
			seq := map[string]uint64{}
			ctx, cancel := context.WithTimeout(context.Background(), 1200*time.Millisecond)
			defer cancel()
			start := time.Now()
			err := runFor(t, ctx, m, func(tk *protocol.Tick) {
				count.Add(1)
				if tk.Seq != seq[tk.Symbol]+1 {
					bad.Store(tk.Symbol)
				}
				seq[tk.Symbol] = tk.Seq
				if tt.cfg.Symbols == 1 && tk.Symbol != "AAPL" {
					bad.Store(tk.Symbol)
				}
			})
			elapsed := time.Since(start)
			if err != nil {
				t.Errorf("Run = %v, want nil", err)
			}
			if s := bad.Load(); s != nil {
				t.Errorf("unexpected symbol or seq jump at %v", s)
			}
			rate := tt.cfg.Rate
			if rate == 0 {
				rate = DefaultRate
			}
			want := rate * elapsed.Seconds()
			if got := float64(count.Load()); got < 0.5*want || got > 1.5*want {
				t.Errorf("published %v updates in %v, want about %.0f (rate %v)", got, elapsed, want, rate)
			}
		})
	}
}

// TestRunStopsDuringCatchUp: with far more due than the sink can take, Run
// still notices cancellation within ctxCheck updates.
func TestRunStopsDuringCatchUp(t *testing.T) {
	m := mustNew(t, Config{Rate: 1e9})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var count, atCancel int
	err := runFor(t, ctx, m, func(*protocol.Tick) {
		count++
		if count == 10000 {
			atCancel = count
			cancel()
		}
	})
	if err != nil {
		t.Errorf("Run = %v, want nil", err)
	}
	if count > atCancel+ctxCheck {
		t.Errorf("Run published %d updates after cancel, want <= %d", count-atCancel, ctxCheck)
	}
}

func TestRunTwice(t *testing.T) {
	m := mustNew(t, Config{Rate: 1000, Symbols: 1, Steady: true})
	started := make(chan struct{})
	var once bool
	var last atomic.Uint64
	sink := func(tk *protocol.Tick) {
		last.Store(tk.Seq)
		if !once {
			once = true
			close(started)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- m.Run(ctx, sinkFunc(sink)) }()
	<-started
	if err := m.Run(ctx, sinkFunc(func(*protocol.Tick) {})); !errors.Is(err, errRunning) || !strings.HasPrefix(err.Error(), "sim: ") {
		t.Errorf("concurrent Run = %v, want %v", err, errRunning)
	}
	cancel()
	if err := <-errc; err != nil {
		t.Errorf("Run = %v, want nil", err)
	}

	// A second Run continues the sequence.
	before := last.Load()
	ctx, cancel = context.WithCancel(context.Background())
	var first uint64
	err := runFor(t, ctx, m, func(tk *protocol.Tick) {
		if first == 0 {
			first = tk.Seq
			cancel()
		}
	})
	if err != nil || first != before+1 {
		t.Errorf("second Run = %v, first seq %d, want nil and %d", err, first, before+1)
	}
}

func TestHealth(t *testing.T) {
	m := mustNew(t, Config{Rate: 1000, Clock: fakeClock()})
	if h := m.Health(); len(h) != 1 || h[0].Source != "sim" || h[0].Connected || !h[0].LastUpdate.IsZero() {
		t.Errorf("Health() before Run = %+v, want sim, not connected, no update", h)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var health []feed.Health
	n := 0
	err := runFor(t, ctx, m, func(*protocol.Tick) {
		if n++; n == 300 {
			health = m.Health()
			cancel()
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(health) != 1 || !health[0].Connected || health[0].LastUpdate.IsZero() {
		t.Errorf("Health() during Run = %+v, want connected with a last update", health)
	}
	if h := m.Health(); h[0].Connected {
		t.Errorf("Health() after Run = %+v, want not connected", h)
	}
}
