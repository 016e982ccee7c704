package hub

import (
	"fmt"
	"net"
	"runtime"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/tickerd/tickerd/feed"
	"github.com/tickerd/tickerd/internal/rawfd"
	"github.com/tickerd/tickerd/protocol"
)

// benchHub returns a hub serving nsym symbols and n loopback TCP
// connections attached to it, each subscribed to sub(i). The client
// sockets are drained by one goroutine per 256 connections.
func benchHub(tb testing.TB, cfg Config, nsym, n int, sub func(i int) []uint32) *Hub {
	tb.Helper()
	syms := make([]feed.Symbol, nsym)
	for i := range syms {
		syms[i] = feed.Symbol{Name: fmt.Sprintf("S%d", i), PricePrec: 2}
	}
	h, err := New(cfg, syms, nil)
	if err != nil {
		tb.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer ln.Close()
	var clients []net.Conn
	want := int64(0)
	for i := range n {
		cc, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			tb.Fatal(err)
		}
		sc, err := ln.Accept()
		if err != nil {
			tb.Fatal(err)
		}
		fd, err := rawfd.Take(sc)
		if err != nil {
			tb.Fatal(err)
		}
		syms := sub(i)
		want += int64(len(syms))
		h.attach(&conn{fd: fd, idx: -1}, nil, openCmd{set: symbolSet{syms: syms, names: make([]string, len(syms))}})
		clients = append(clients, cc)
	}
	// One blocking reader per client: parked in the runtime poller until
	// data comes, so it costs nothing between updates.
	exited := make(chan struct{}, len(clients))
	for _, c := range clients {
		go func() {
			defer func() { exited <- struct{}{} }()
			buf := make([]byte, 16<<10)
			for {
				if _, err := c.Read(buf); err != nil {
					return
				}
			}
		}()
	}
	tb.Cleanup(func() {
		h.Close()
		for _, c := range clients {
			c.Close()
		}
		for range clients {
			<-exited
		}
	})
	for deadline := time.Now().Add(20 * time.Second); h.Stats().Subscriptions < want; {
		if time.Now().After(deadline) {
			tb.Fatalf("subscriptions = %d, want %d", h.Stats().Subscriptions, want)
		}
		time.Sleep(time.Millisecond)
	}
	return h
}

// msgs is the number of data frames written so far.
func (h *Hub) msgs() (n uint64) {
	for _, s := range h.shards {
		n += s.stats.msgs.Load()
	}
	return n
}

func benchTick(sym string, seq uint64) *protocol.Tick {
	p := decimal.RequireFromString("187.23")
	return &protocol.Tick{Symbol: sym, Seq: seq, Price: p, Bid: p, Ask: p, Open: p, High: p, Low: p,
		Volume: decimal.NewFromInt(1203344), TS: time.Now().UnixNano(), PricePrec: 2}
}

// BenchmarkFanout publishes one update of a symbol that every connection
// watches and waits until the shards have written it to all of them. The
// ns/msg metric is the time per delivered message, the write syscalls
// included; the client reads run in the same process on other goroutines.
func BenchmarkFanout(b *testing.B) {
	for _, n := range []int{100, 1000, 5000} {
		b.Run(fmt.Sprintf("conns=%d", n), func(b *testing.B) {
			h := benchHub(b, Config{}, 1, n, func(int) []uint32 { return []uint32{0} })
			seq := uint64(0)
			sent := h.msgs()
			writes0 := h.Stats().Writes
			b.ReportAllocs()
			for b.Loop() {
				seq++
				h.Publish(benchTick("S0", seq))
				sent += uint64(n)
				for h.msgs() < sent {
					runtime.Gosched()
				}
			}
			st := h.Stats()
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/msg")
			b.ReportMetric(float64(st.Writes-writes0)/float64(b.N*n), "writes/msg")
		})
	}
}

// BenchmarkSubscribe measures subscribing a connection that holds 100
// subscriptions to one more symbol and unsubscribing it again, on a shard
// with about 100 subscribers per symbol.
func BenchmarkSubscribe(b *testing.B) {
	const nsym, others = 1000, 1000
	syms := make([]feed.Symbol, nsym)
	for i := range syms {
		syms[i] = feed.Symbol{Name: fmt.Sprintf("S%d", i)}
	}
	h, err := New(Config{Shards: 1}, syms, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer h.Close()
	// A shard of our own, not run: this goroutine owns it.
	s := newShard(h, 0)
	for i := range others + 1 {
		c := &conn{idx: int32(i)}
		s.all = append(s.all, c)
		for k := range 100 {
			s.link(c, uint32((i+k)%nsym))
		}
	}
	c := s.all[others]
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		sym := uint32(others%nsym + 100 + i%(nsym-200))
		i++
		s.link(c, sym)
		s.unlink(c, len(c.subs)-1)
	}
}
