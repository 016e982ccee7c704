// Package sim is a deterministic simulated market: a feed.Feed of 106
// instruments (US equities, crypto pairs, FX pairs) that random-walk on
// their tick grids.
//
// Use it like any feed: build a Market from a Config and run it into a sink
// in a goroutine you own, cancelling the context to stop it.
//
//	m, err := sim.New(sim.Config{Seed: 1, Rate: 5000})
//	if err != nil {
//		return err
//	}
//	symbols := m.Symbols()                   // each symbol with its precision
//	go func() { errc <- m.Run(ctx, sink) }() // sink is a feed.Sink, e.g. the hub
//
// # What is simulated
//
// Each update moves one symbol by a whole number of ticks (a random walk with
// per-class volatility and a gentle pull back to the session open, never
// below ten ticks), draws a bid/ask spread of one to a few ticks with the
// last price inside it, adds a trade of realistic size to the cumulative
// volume, and tracks the session open, high and low. Prices are exact
// fixed-point integers on the tick grid, converted to decimal.Decimal with
// the symbol's precision; no float ever holds a price. Seq starts at 1 per
// symbol and grows by one per update; TS is Config.Clock at publish time.
//
// # Determinism and timing
//
// The same Seed and Config give the same sequence of ticks (symbol, seq,
// prices, volume) however fast or slow the sink is: the sequence comes from
// a math/rand/v2 PCG source seeded with Seed, and timing only decides when
// each update is published. Rate is the total number of updates per second
// over all running symbols. Bursty (the default) spreads each second's
// updates unevenly, with bursts several times the mean, and picks popular
// symbols (earlier in Universe) more often, Zipf-like; Steady spaces updates
// evenly and visits the symbols round-robin, so Config{Symbols: 1, Steady:
// true, Rate: 10} publishes exactly ten AAPL ticks a second. Either way Run
// catches up on every update due since it started, so the long-run count is
// Rate times the elapsed time.
package sim
