package replay

import (
	"bytes"
	"context"
	"flag"
	"os"
	"testing"
	"time"

	"github.com/tickerd/tickerd/feed"
	"github.com/tickerd/tickerd/feed/sim"
	"github.com/tickerd/tickerd/protocol"
)

var update = flag.Bool("update", false, "rewrite testdata/sample.ndjson from feed/sim")

const (
	samplePath  = "testdata/sample.ndjson"
	sampleTicks = 600
)

// limitSink passes the first n ticks to next, then cancels.
type limitSink struct {
	feed.SinkFuncs
	n      int
	next   interface{ Publish(*protocol.Tick) }
	cancel context.CancelFunc
}

func (s *limitSink) Publish(t *protocol.Tick) {
	if s.n > 0 {
		s.next.Publish(t)
		if s.n--; s.n == 0 {
			s.cancel()
		}
	}
}

// recordSim records the first n ticks of the simulated market (seed 1, the
// first ten symbols, a clock stepping 50 ms per tick: 20 updates a second).
func recordSim(t *testing.T, n int) []byte {
	t.Helper()
	clock := time.Date(2025, 11, 21, 14, 30, 0, 0, time.UTC)
	m, err := sim.New(sim.Config{Seed: 1, Symbols: 10, Rate: 1e6, Clock: func() time.Time {
		clock = clock.Add(50 * time.Millisecond)
		return clock
	}})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	rec := NewRecorder(&buf, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := m.Run(ctx, &limitSink{n: n, next: rec, cancel: cancel}); err != nil {
		t.Fatal(err)
	}
	if err := rec.Flush(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestSample checks that testdata/sample.ndjson is what the simulator and the
// Recorder produce today; run with -update to rewrite it.
func TestSample(t *testing.T) {
	got := recordSim(t, sampleTicks)
	if *update {
		if err := os.WriteFile(samplePath, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(samplePath)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("recording the simulator differs from %s (run go test -run TestSample -update if sim changed on purpose)", samplePath)
	}
	if lines := bytes.Count(got, []byte("\n")); lines != sampleTicks {
		t.Errorf("the recording has %d lines, want %d", lines, sampleTicks)
	}
}
