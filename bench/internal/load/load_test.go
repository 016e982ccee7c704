package load

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/tickerd/tickerd"
	"github.com/tickerd/tickerd/bench/internal/stats"
	"github.com/tickerd/tickerd/feed/sim"
	"github.com/tickerd/tickerd/internal/apptest"
)

func TestPicker(t *testing.T) {
	for _, dist := range []string{DistSame, DistUniform, DistZipf} {
		p, err := NewPicker(dist, 100, 10, 0, 7)
		if err != nil {
			t.Fatal(err)
		}
		counts := make([]int, 100)
		for g := range 2000 {
			syms := p.Pick(g)
			if len(syms) != 10 {
				t.Fatalf("%s: Pick(%d) has %d symbols, want 10", dist, g, len(syms))
			}
			seen := map[uint32]bool{}
			for _, s := range syms {
				if seen[s] || s >= 100 {
					t.Fatalf("%s: Pick(%d) = %v: duplicate or out of range", dist, g, syms)
				}
				seen[s] = true
				counts[s]++
			}
			if again := p.Pick(g); !equal(again, syms) {
				t.Fatalf("%s: Pick(%d) not deterministic: %v then %v", dist, g, syms, again)
			}
		}
		switch dist {
		case DistSame:
			if counts[0] != 2000 || counts[10] != 0 {
				t.Errorf("same: counts[0]=%d counts[10]=%d, want 2000, 0", counts[0], counts[10])
			}
		case DistUniform:
			if counts[0] < 100 || counts[0] > 300 { // mean 200
				t.Errorf("uniform: counts[0]=%d, want about 200", counts[0])
			}
		case DistZipf:
			if counts[0] < 1500 || counts[99] > counts[0]/4 {
				t.Errorf("zipf: counts[0]=%d counts[99]=%d, want a heavy head", counts[0], counts[99])
			}
		}
	}
	if _, err := NewPicker("normal", 10, 1, 0, 0); err == nil {
		t.Errorf("NewPicker(normal) = nil error, want error")
	}
}

func equal(a, b []uint32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestIsSlow(t *testing.T) {
	n := 0
	for g := range 1000 {
		if isSlow(g, 0.25) {
			n++
		}
	}
	if n != 250 {
		t.Errorf("isSlow(0.25) picked %d of 1000, want 250", n)
	}
	if isSlow(5, 0) {
		t.Errorf("isSlow(5, 0) = true, want false")
	}
}

// startServer runs a real tickerd in-process on a loopback port.
func startServer(t *testing.T, cfg sim.Config) string {
	t.Helper()
	return apptest.Serve(t, tickerd.Config{Sim: cfg})
}

// TestWorkerEndToEnd drives the worker protocol over pipes against a real
// server: 40 connections, 5 of them never reading, a 2 s run, with readers
// that take events as they come and readers that take them every 1 ms.
func TestWorkerEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	for _, every := range []time.Duration{0, time.Millisecond} {
		t.Run(fmt.Sprintf("read-every=%v", every), func(t *testing.T) { testWorkerEndToEnd(t, every) })
	}
}

func testWorkerEndToEnd(t *testing.T, every time.Duration) {
	addr := startServer(t, sim.Config{Rate: 200, Symbols: 4, Steady: true, Seed: 1})
	plan := Plan{
		Targets:   []string{"ws://" + addr + "/ws"},
		Count:     40,
		SrcIPs:    []string{"127.0.0.2", "127.0.0.3"},
		Symbols:   []string{"AAPL", "MSFT", "NVDA", "TSLA"},
		K:         2,
		Dist:      DistUniform,
		Slow:      0.125,
		Readers:   2,
		ReadEvery: every,
		Churn:     ChurnPlan{Rate: 20, Concurrency: 2},
	}
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	errc := make(chan error, 1)
	go func() {
		errc <- Run(context.Background(), inR, outW)
		outW.Close()
	}()
	enc := json.NewEncoder(inW)
	dec := json.NewDecoder(outR)
	if err := enc.Encode(map[string]any{"plan": plan}); err != nil {
		t.Fatal(err)
	}
	var ev Event
	if err := dec.Decode(&ev); err != nil || ev.Event != "connected" {
		t.Fatalf("first event = %+v, %v; want connected", ev, err)
	}
	if c := ev.Connected; c.Established != 40 || c.Slow != 5 {
		t.Fatalf("connected = %+v, want 40 established, 5 slow", c)
	}
	t0 := time.Now().Add(100 * time.Millisecond)
	if err := enc.Encode(Command{Op: "start", T0: t0.UnixNano(), Seconds: 2, WindowFrom: 0, WindowTo: 2}); err != nil {
		t.Fatal(err)
	}
	if err := dec.Decode(&ev); err != nil || ev.Event != "result" {
		t.Fatalf("second event = %+v, %v; want result", ev, err)
	}
	inW.Close()
	if err := <-errc; err != nil {
		t.Fatalf("Run: %v", err)
	}
	var s stats.Series
	if err := s.AddWire(ev.Result.Series); err != nil {
		t.Fatal(err)
	}
	c, h, err := s.Window(0, 2)
	if err != nil {
		t.Fatal(err)
	}
	// 35 readers x 2 of 4 symbols x 50 updates/s per symbol x 2 s = 7000
	// updates, each either received or skipped in a seq jump (merged).
	if got := c.Ticks + c.Merged; c.Ticks == 0 || got < 5600 || got > 8400 {
		t.Errorf("ticks %d + merged %d = %d, want about 7000", c.Ticks, c.Merged, got)
	}
	if c.OutOfOrder != 0 || c.Duplicates != 0 || c.Unexpected != 0 {
		t.Errorf("counters = %+v, want no out-of-order, duplicate or unexpected", c)
	}
	t.Logf("counters %+v latency %+v churn %+v lost %v pings %d", c, stats.Summarize(h), ev.Result.Churn.Cycles, ev.Result.Lost, ev.Result.Pings)
	if p := stats.Summarize(h); p.Count != c.Ticks || p.P50 <= 0 || p.P50 > 1000 {
		t.Errorf("latency = %+v, want one value per tick, p50 in (0, 1 s]", p)
	}
	if ev.Result.Open != 35 || ev.Result.Slow.Count != 5 {
		t.Errorf("open %d slow %+v, want 35 open, 5 slow", ev.Result.Open, ev.Result.Slow)
	}
	if ch := ev.Result.Churn; ch.Cycles < 10 || len(ch.Failures) != 0 {
		t.Errorf("churn = %+v, want >= 10 cycles, no failures", ch)
	}
	if len(ev.Result.CPU) != 3 {
		t.Errorf("cpu samples = %v, want 3", ev.Result.CPU)
	}
}
