package web_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/tickerd/tickerd"
	"github.com/tickerd/tickerd/feed"
	"github.com/tickerd/tickerd/feed/sim"
	"github.com/tickerd/tickerd/internal/apptest"
	"github.com/tickerd/tickerd/protocol"
)

// market is a feed of the tests' own: the simulated market of a large
// universe, which it runs through itself so that a test can act on the
// server between the simulator's calls, as a feed does through its
// feed.Sink: delist symbols, or restart a symbol's seq space under a
// higher epoch. It also keeps the names listed, for tests to check the
// server's search against.
//
//	m := newMarket(t, 100_000) // or newMarketOf(t, sim.Config{...})
//	srv := apptest.Start(t, tickerd.Config{Feed: m})
//	m.waitListed(t)
//	m.delist("JPM")
type market struct {
	*sim.Market // Symbols and Health; Run is market's own

	size   int           // the universe's size
	listed chan struct{} // closed once names holds size symbols

	mu      sync.Mutex // serializes every call into sink: the simulator's and the tests'
	sink    feed.Sink  // where Run publishes; nil while it does not run
	running chan struct{}
	names   map[string]bool     // the symbols listed now
	last    map[string]uint64   // the simulator's last seq of each symbol
	spaces  map[string]seqSpace // the symbols whose seq space a test restarted
}

// seqSpace is a restarted seq space: epoch, and the simulator's seq that
// maps to 0 in it.
type seqSpace struct {
	epoch, base uint64
}

// newMarket returns the simulated market of a universe of size symbols,
// or of its built-in symbols when size is 0, publishing quotes only.
func newMarket(t testing.TB, size int) *market {
	t.Helper()
	return newMarketOf(t, sim.Config{Universe: size, QuotesOnly: true})
}

// newMarketOf returns the simulated market cfg configures.
func newMarketOf(t testing.TB, cfg sim.Config) *market {
	t.Helper()
	m, err := sim.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	size := max(cfg.Universe, len(m.Symbols()))
	mk := &market{
		Market:  m,
		size:    size,
		listed:  make(chan struct{}),
		running: make(chan struct{}),
		names:   make(map[string]bool, size),
		last:    make(map[string]uint64),
		spaces:  make(map[string]seqSpace),
	}
	for _, s := range m.Symbols() {
		mk.names[s.Name] = true
	}
	if len(mk.names) == size {
		close(mk.listed)
	}
	return mk
}

// serveMarket starts a server on a market of size symbols and returns both
// once the whole universe is listed, so that search sees all of it.
func serveMarket(t *testing.T, size int) (*apptest.Server, *market) {
	t.Helper()
	m := newMarket(t, size)
	srv := apptest.Start(t, tickerd.Config{Feed: m})
	m.waitListed(t)
	return srv, m
}

// Run runs the simulator into the server's sink, through m.
func (m *market) Run(ctx context.Context, sink feed.Sink) error {
	m.mu.Lock()
	m.sink = sink
	select {
	case <-m.running:
	default:
		close(m.running)
	}
	m.mu.Unlock()
	defer func() {
		m.mu.Lock()
		m.sink = nil
		m.mu.Unlock()
	}()
	return m.Market.Run(ctx, (*simSink)(m))
}

// waitListed waits until the server has been given every symbol of the
// universe (the simulator lists the options at its first update).
func (m *market) waitListed(t testing.TB) {
	t.Helper()
	select {
	case <-m.listed:
	case <-time.After(30 * time.Second):
		m.mu.Lock()
		n := len(m.names)
		m.mu.Unlock()
		t.Fatalf("the market listed %d of its %d symbols in 30 s", n, m.size)
	}
}

// symbols returns the names listed now, in byte order: what search
// answers from.
func (m *market) symbols() []string {
	m.mu.Lock()
	out := make([]string, 0, len(m.names))
	for n := range m.names {
		out = append(out, n)
	}
	m.mu.Unlock()
	slices.Sort(out)
	return out
}

// list lists syms on the server, as a feed does. It waits for Run.
func (m *market) list(syms ...feed.Symbol) {
	<-m.running
	(*simSink)(m).List(syms)
}

// publish publishes t on the server, as a feed does. It waits for Run.
func (m *market) publish(t *protocol.Tick) {
	<-m.running
	(*simSink)(m).Publish(t)
}

// delist delists names on the server, as a feed does. It waits for Run.
func (m *market) delist(names ...string) {
	<-m.running
	(*simSink)(m).Delist(names)
}

// newEpoch restarts sym's seq space: its updates from now on carry the
// next epoch and seqs from 1 again, as those of a feed node that lost its
// state. It waits for Run.
func (m *market) newEpoch(sym string) uint64 {
	<-m.running
	m.mu.Lock()
	defer m.mu.Unlock()
	sp := m.spaces[sym]
	sp.epoch++
	sp.base = m.last[sym]
	m.spaces[sym] = sp
	return sp.epoch
}

// simSink is the sink the simulator publishes into: m, handing everything
// on to the server's sink under m.mu.
type simSink market

// Publish, List and Delist are also the tests', which may come after Run
// returned.

func (s *simSink) Publish(t *protocol.Tick) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sink == nil {
		return
	}
	s.last[t.Symbol] = t.Seq
	if sp, ok := s.spaces[t.Symbol]; ok {
		c := *t
		c.Epoch, c.Seq = sp.epoch, t.Seq-sp.base
		t = &c
	}
	s.sink.Publish(t)
}

func (s *simSink) PublishTrade(t *protocol.Trade) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sink == nil {
		return
	}
	s.sink.PublishTrade(t)
}

func (s *simSink) PublishBook(b *protocol.BookUpdate) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sink == nil {
		return
	}
	s.sink.PublishBook(b)
}

func (s *simSink) PublishCandle(c *protocol.Candle) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sink == nil {
		return
	}
	s.sink.PublishCandle(c)
}

func (s *simSink) List(syms []feed.Symbol) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sink == nil {
		return
	}
	s.sink.List(syms)
	for _, sym := range syms {
		s.names[sym.Name] = true
	}
	if len(s.names) >= s.size {
		select {
		case <-s.listed:
		default:
			close(s.listed)
		}
	}
}

func (s *simSink) Delist(names []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sink == nil {
		return
	}
	s.sink.Delist(names)
	for _, n := range names {
		delete(s.names, n)
		delete(s.last, n)
	}
}
