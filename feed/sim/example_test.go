package sim_test

import (
	"context"
	"fmt"
	"time"

	"github.com/tickerd/tickerd/feed"
	"github.com/tickerd/tickerd/feed/sim"
	"github.com/tickerd/tickerd/protocol"
)

// A steady market of three symbols, round-robin, with a fixed clock: the
// output is the same on every run because the seed fixes the sequence.
func Example() {
	m, err := sim.New(sim.Config{
		Seed:    1,
		Rate:    100000,
		Symbols: 3,
		Steady:  true,
		Clock:   func() time.Time { return time.Unix(1763718000, 0) },
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, s := range m.Symbols() {
		fmt.Printf("%s %s tick %s\n", s.Name, s.Class, s.TickSize)
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	n := 0
	err = m.Run(ctx, feed.SinkFuncs{Tick: func(t *protocol.Tick) {
		if n++; n > 6 {
			cancel() // Run notices soon and returns nil
			return
		}
		fmt.Println(t.Symbol, t.Seq, t.Bid.StringFixed(t.PricePrec), t.Price.StringFixed(t.PricePrec),
			t.Ask.StringFixed(t.PricePrec), t.Volume.StringFixed(t.VolumePrec), t.TS)
	}})
	fmt.Println("Run:", err)
	// Output:
	// AAPL equity tick 0.01
	// MSFT equity tick 0.01
	// NVDA equity tick 0.01
	// AAPL 1 268.59 268.59 268.60 4332 1763718000000000000
	// MSFT 1 507.31 507.31 507.32 5893 1763718000000000000
	// NVDA 1 186.58 186.58 186.59 1798 1763718000000000000
	// AAPL 2 268.59 268.59 268.60 5377 1763718000000000000
	// MSFT 2 507.31 507.32 507.32 6407 1763718000000000000
	// NVDA 2 186.58 186.59 186.59 2686 1763718000000000000
	// Run: <nil>
}

func ExampleNew_invalid() {
	_, err := sim.New(sim.Config{Symbols: 1000})
	fmt.Println(err)
	// Output: sim: symbols 1000 is more than the 106 in the universe
}
