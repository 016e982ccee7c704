package hub

import (
	"fmt"
	"testing"

	"github.com/tickerd/tickerd/feed"
)

// BenchmarkUniverseChange is the cost of one List, and of one Delist, of
// 1,000 symbols in a universe of 100,000: the caller's time (Delist's
// shard commands are posted, not waited for). The universe stays at
// 100,000: each listed batch is delisted again outside the timer, and
// each delisted batch listed again. In list and delist the 1,000 names
// are spread over the whole name space (the worst case: every chunk of
// the sorted listing is touched); in list-chain they share a prefix, as
// an option chain listed at once does.
//
//	go test ./hub -run '^$' -bench UniverseChange -benchmem
func BenchmarkUniverseChange(b *testing.B) {
	const n, batch = 100_000, 1000
	for _, op := range []string{"list", "delist", "list-chain"} {
		b.Run(op, func(b *testing.B) {
			h, err := New(Config{Shards: 2}, symbolsNamed("OPT%06d", n), nil)
			if err != nil {
				b.Fatal(err)
			}
			defer h.Close()
			syms := make([]feed.Symbol, batch)
			names := make([]string, batch)
			b.ReportAllocs()
			round := 0
			for b.Loop() {
				b.StopTimer()
				round++
				for i := range syms {
					names[i] = fmt.Sprintf("OPT%06d.%d", (i*97+round)%n, round)
					if op == "list-chain" {
						names[i] = fmt.Sprintf("CHAIN%d-%04d", round, i)
					}
					syms[i] = feed.Symbol{Name: names[i]}
				}
				if op == "delist" {
					h.List(syms)
				}
				b.StartTimer()
				if op == "delist" {
					h.Delist(names)
				} else {
					h.List(syms)
				}
				b.StopTimer()
				if op != "delist" {
					h.Delist(names)
				}
				b.StartTimer()
			}
		})
	}
}
