// Package sim is a deterministic simulated market: a feed.Feed that
// publishes an L2 order book, trades and quotes per symbol, consistent with
// each other, for the 106 built-in instruments (US equities, crypto pairs,
// FX pairs) or for a large universe of equities and option contracts that
// are listed and expire while it runs.
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
// Each update picks one symbol and plays a little order flow on its book:
//
//   - Its fair price takes a step of a random walk on the tick grid (with
//     per-class volatility and a gentle pull back to the session open,
//     never below ten ticks).
//   - A few passive orders add, cancel and modify levels, mostly near the
//     touch: one book update.
//   - One aggressive order: when the fair price has crossed the touch it
//     sweeps the levels up to it (a trade per level, each followed by the
//     book update that removes the level); otherwise it takes part or all of
//     the touch, or now and then fills hidden inside a wide spread. The
//     aggressor is the buyer when it lifts the ask.
//   - Market makers close a spread wider than one to a few ticks around the
//     last trade, and refill a side that ran short: one book update.
//   - The quote: bid and ask are the book's best levels at that moment, the
//     price is the last trade's, volume the sum of the session's trade
//     sizes, open/high/low the session's.
//
// The book keeps Config.BookDepth levels a side (200 by default; 10 for
// generated symbols), spaced one or more ticks apart, with sizes that decay
// away from the touch. A symbol's first update publishes the whole book
// (BookUpdate.Snapshot), then every update only the changed levels, a size
// of 0 removing one; book seq, trade seq and quote seq each grow by one per
// message per symbol. Every trade is at or inside the touch of the book as
// published just before it. Prices and sizes are exact fixed-point integers;
// no float ever holds a price. TS is Config.Clock at the update, the same
// for everything one update publishes. At the default rate that is about
// 1,600 trades and 7,000 level changes a second besides the 1,000 quotes.
// Config.QuotesOnly keeps the simulation (the quotes do not change) but
// publishes quotes only.
//
// # Determinism and timing
//
// The same Seed and Config give the same sequence of quotes, trades, book
// updates and listings however fast or slow the sink is: the sequence comes
// from a math/rand/v2 PCG source seeded with Seed, and timing only decides
// when each update is published. Rate is the total number of updates (so of
// quotes) per second over all running symbols. Bursty (the default) spreads
// each second's updates unevenly, with bursts several times the mean, and
// picks popular symbols (earlier in the universe) more often, Zipf-like;
// Steady spaces updates evenly and visits the symbols round-robin, so
// Config{Symbols: 1, Steady: true, Rate: 10} publishes exactly ten AAPL
// quotes a second. Either way Run catches up on every update due since it
// started, so the long-run count is Rate times the elapsed time.
//
// # Universe mode
//
// Config.Universe = N runs N symbols: the built-in ones, then generated
// equities with four-letter names (a tenth of the rest), then option
// contracts on the equities (the others), named OCC-style without spaces:
// root, expiry YYMMDD, C or P, strike in thousandths on eight digits, as
// in "AAPL261218C00190000". Each underlying has a chain of daily expiries
// eight trading days deep with up to 25 strikes a side around its price.
// Names and start prices depend on N only, not on the seed.
//
// Time is cut into trading days of Config.DayLength (compressed: ten
// minutes by default), counted in updates (DayLength*Rate) so that the
// calendar is deterministic too. Symbols returns the equities, crypto and
// FX pairs; the first update lists every option of the first day through
// Sink.List, in calls of at most 1,000. At each day boundary the contracts
// that expired at the end of the day are delisted (Sink.Delist) and as many
// of the next expiry are listed, with strikes around their underlying's
// price that day, so the universe keeps its size. Activity is Zipf-like:
// the built-in symbols are hot, generated equities quieter the further they
// are down the list, options busiest near the money and near expiry; most
// symbols do not update for minutes.
//
// # Memory
//
// A symbol costs about 200 bytes (its description, name and session) until
// it updates: TestUniverseMemory measures it and holds it to 256, which
// makes 100,000 symbols about 21 MB. An update adds the symbol's book,
// 32 bytes per level of depth (a level a side): about 400 bytes at depth
// 10, 6.4 KB at depth 200. In
// universe mode a day boundary frees the books of the symbols that did not
// update during the day that ended; their next update starts with a fresh
// snapshot. A Market also holds a cache of decimal values: 512 KiB, or
// 32 KiB with QuotesOnly.
package sim
