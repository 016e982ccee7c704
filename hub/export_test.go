package hub

import (
	"fmt"
	"runtime"

	"github.com/tickerd/tickerd/feed"
)

// Helpers of the package's own tests, exported to the tests of package
// hub_test as well.
var (
	SymbolsNamed = symbolsNamed
	MemAfterGC   = memAfterGC
)

// symbolsNamed returns n symbols with two decimals, named by format and
// their index (symbolsNamed("S%d", 2): S0 and S1).
func symbolsNamed(format string, n int) []feed.Symbol {
	syms := make([]feed.Symbol, n)
	for i := range syms {
		syms[i] = feed.Symbol{Name: fmt.Sprintf(format, i), PricePrec: 2}
	}
	return syms
}

// memAfterGC returns the memory statistics after enough collections for
// what is garbage to be gone and for the stacks of idle goroutines to
// shrink (each collection halves a stack that uses under a quarter of it).
func memAfterGC() runtime.MemStats {
	for range 4 {
		runtime.GC()
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms
}

// DelistChunk is the subscriptions one delisting command ends before the
// shard writes its connections.
const DelistChunk = delistChunk

// TLSPending returns how many of h's wss connections have records their
// socket did not take, and the bytes of them, counted on each shard's
// goroutine (which owns its connections).
func TLSPending(h *Hub) (conns, bytes int) {
	for _, s := range h.shards {
		m := &onShard{done: make(chan struct{}), f: func(s *shard) {
			for _, c := range s.all {
				if c.tls == nil || c.tls.sock == nil {
					continue
				}
				sk := c.tls.sock
				sk.mu.Lock()
				if len(sk.pending) > 0 {
					conns++
					bytes += len(sk.pending)
				}
				sk.mu.Unlock()
			}
		}}
		s.post(nil, m)
		<-m.done // the hub is open: its shards run
	}
	return conns, bytes
}

// onShard is a command that runs f on the shard's goroutine, for tests.
type onShard struct {
	f    func(*shard)
	done chan struct{}
}

func (m *onShard) apply(s *shard, _ *conn) { m.f(s); close(m.done) }
