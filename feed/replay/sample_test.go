package replay

import (
	"bytes"
	"context"
	"flag"
	"os"
	"testing"
	"time"

	"github.com/tickerd/tickerd/feed/sim"
	"github.com/tickerd/tickerd/protocol"
)

var update = flag.Bool("update", false, "rewrite testdata/sample.ndjson from feed/sim")

const (
	samplePath   = "testdata/sample.ndjson"
	sampleQuotes = 200
)

// limitSink passes everything to the Recorder until n quotes have passed,
// then cancels.
type limitSink struct {
	*Recorder
	n      int
	cancel context.CancelFunc
}

func (s *limitSink) Publish(t *protocol.Tick) {
	if s.n > 0 {
		s.Recorder.Publish(t)
		if s.n--; s.n == 0 {
			s.cancel()
		}
	}
}

// recordSim records the first n quotes of the simulated market cfg, with
// the book updates, trades and listings that come with them, on a clock
// that steps by step per update from 2025-11-21 14:30 UTC.
func recordSim(t *testing.T, cfg sim.Config, step time.Duration, n int) []byte {
	t.Helper()
	clock := time.Date(2025, 11, 21, 14, 30, 0, 0, time.UTC)
	cfg.Clock = func() time.Time {
		clock = clock.Add(step)
		return clock
	}
	m, err := sim.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	rec := NewRecorder(&buf, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := m.Run(ctx, &limitSink{Recorder: rec, n: n, cancel: cancel}); err != nil {
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
	// Seed 1, the first ten symbols, books ten levels deep, 20 updates a
	// second.
	got := recordSim(t, sim.Config{Seed: 1, Symbols: 10, BookDepth: 10, Rate: 1e6}, 50*time.Millisecond, sampleQuotes)
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
	if quotes := bytes.Count(got, []byte(protocol.TickPrefix)); quotes != sampleQuotes {
		t.Errorf("the recording has %d quotes, want %d", quotes, sampleQuotes)
	}
	for _, prefix := range []string{protocol.TradePrefix, `{"type":"book",`} {
		if !bytes.Contains(got, []byte(prefix)) {
			t.Errorf("the recording has no %s lines", prefix)
		}
	}
}
