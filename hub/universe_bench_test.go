package hub

import (
	"fmt"
	"math/rand/v2"
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
	for _, op := range []string{"list", "delist", "list-chain", "reply"} {
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
					if op == "list-chain" || op == "reply" {
						names[i] = fmt.Sprintf("CHAIN%d-%04d", round, i)
					}
					syms[i] = feed.Symbol{Name: names[i]}
				}
				if op == "delist" || op == "reply" {
					h.List(syms)
				}
				b.StartTimer()
				switch op {
				case "reply":
					h.uni.current().listReply(h.uni, []byte(`"p"`))
				case "delist":
					h.Delist(names)
				default:
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

// BenchmarkUniverseLookup is the name lookup every update of the feed
// makes, in a universe of 100,000 symbols after eight days of the bench's
// churn (11,250 delisted and as many listed a day, in calls of 1,000).
//
//	go test ./hub -run '^$' -bench UniverseLookup
func BenchmarkUniverseLookup(b *testing.B) {
	const n, day, batch = 100_000, 11_250, 1000
	u := newUniverse()
	syms := symbolsNamed("OPT%06d", n)
	u.add(syms)
	names := make([]string, n)
	for i := range syms {
		names[i] = syms[i].Name
	}
	next := n
	for d := range 8 {
		for i := 0; i < day; i += batch {
			gone := names[d*day+i : d*day+min(i+batch, day)]
			u.delist(gone)
			add := make([]feed.Symbol, len(gone))
			for j := range add {
				add[j].Name = fmt.Sprintf("OPT%06d", next)
				names[d*day+i+j] = add[j].Name
				next++
			}
			u.list(add)
		}
	}
	r := rand.New(rand.NewPCG(1, 2))
	r.Shuffle(len(names), func(i, j int) { names[i], names[j] = names[j], names[i] })
	i := 0
	for b.Loop() {
		if u.lookup(names[i]) == nil {
			b.Fatalf("%s not found", names[i])
		}
		if i++; i == len(names) {
			i = 0
		}
	}
}
