package cluster

import (
	"context"
	"testing"
	"time"

	"github.com/tickerd/tickerd/feed"
	"github.com/tickerd/tickerd/feed/sim"
	"github.com/tickerd/tickerd/protocol"
)

// BenchmarkPublish is the feed node's cost per tick: encode once, publish
// to NATS and hand the bytes to the local sink. The NATS server runs in the
// process, so its work shows in allocs/op and in the CPU time: "stream"
// has it store every tick in the last-value stream, "core" publishes on
// subjects no stream captures (what the last value costs is the
// difference).
func BenchmarkPublish(b *testing.B) {
	for _, stream := range []bool{true, false} {
		name := "core"
		if stream {
			name = "stream"
		}
		b.Run(name, func(b *testing.B) { benchPublish(b, stream) })
	}
}

func benchPublish(b *testing.B, stream bool) {
	s, err := StartServer(ServerConfig{Port: -1, StoreDir: b.TempDir(), MaxMemory: 256 << 20}, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer func() {
		s.Shutdown()
		s.WaitForShutdown()
	}()
	nc, err := Connect(s.ClientURL(), "bench", nil)
	if err != nil {
		b.Fatal(err)
	}
	defer nc.Close()
	m, err := sim.New(sim.Config{Symbols: 10})
	if err != nil {
		b.Fatal(err)
	}
	p, err := NewPublisher(nc, m, Config{}, nil)
	if err != nil {
		b.Fatal(err)
	}
	st := &setupState{epoch: 1}
	if stream {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if st, err = p.setup(ctx); err != nil {
			b.Fatal(err)
		}
	}
	var local encodedCounter
	sink := newPubRun(p, st, &local)
	syms := p.Symbols()
	px := syms[0].TickSize.Shift(4)
	t := protocol.Tick{Price: px, Bid: px, Ask: px, Open: px, High: px, Low: px, Volume: px}
	b.ReportAllocs()
	for b.Loop() {
		sym := &syms[t.Seq%uint64(len(syms))]
		t.Symbol, t.PricePrec, t.VolumePrec = sym.Name, sym.PricePrec, sym.VolumePrec
		t.Seq++
		t.TS = time.Now().UnixNano()
		sink.Publish(&t)
	}
	b.StopTimer()
	if err := nc.FlushTimeout(10 * time.Second); err != nil {
		b.Fatal(err)
	}
	if local.n != uint64(b.N) {
		b.Fatalf("local sink got %d ticks, want %d", local.n, b.N)
	}
}

// encodedCounter counts what a hub would get.
type encodedCounter struct {
	feed.SinkFuncs
	n uint64
}

func (c *encodedCounter) Publish(*protocol.Tick) { c.n++ }
func (c *encodedCounter) PublishEncoded(string, uint64, uint64, int64, []byte) error {
	c.n++
	return nil
}
