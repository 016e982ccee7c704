package deflate

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/tickerd/tickerd/feed"
	"github.com/tickerd/tickerd/feed/sim"
	"github.com/tickerd/tickerd/internal/book"
	"github.com/tickerd/tickerd/protocol"
)

// message is one server message of a kind the hub sends, as the real
// encoders write it.
type message struct {
	kind string
	p    []byte
}

var (
	corpusOnce sync.Once
	corpus     []message // the five kinds measured against the targets
	small      []message // smaller everyday messages, for the threshold
	corpusErr  error
)

// messages returns one message of each kind compression is measured on,
// made from the simulated market (seed 1, a fake clock) by the protocol and
// book encoders: an AAPL tick and its snapshot, a 500-candle 1m history
// built from AAPL's trades, AAPL's depth-200 book snapshot and the reply to
// a list request over the first 1,000 symbols of a 1,000-symbol universe
// (equities, crypto, FX and option contracts).
func messages(t testing.TB) []message {
	t.Helper()
	corpusOnce.Do(func() { corpus, small, corpusErr = makeMessages() })
	if corpusErr != nil {
		t.Fatal(corpusErr)
	}
	return corpus
}

// smallMessages returns, from the same market, an AAPL trade, the update of
// its open 1m candle, a depth-10 book delta and a "subscribed" reply.
func smallMessages(t testing.TB) []message {
	messages(t)
	return small
}

func makeMessages() (target, small []message, err error) {
	const candles = 500
	var (
		lastTick protocol.Tick
		trades   []protocol.Trade
		bk       = book.New("AAPL", book.Config{})
		bookErr  error
		delta    []byte
	)
	start := time.Date(2025, 11, 21, 14, 30, 0, 0, time.UTC)
	clock := start
	step := 2 * time.Second // 30 updates a minute
	end := start.Add(candles * time.Minute)
	err = runSim(sim.Config{Seed: 1, Symbols: 1, Steady: true, Rate: 1e9,
		Clock: func() time.Time { clock = clock.Add(step); return clock }},
		func(cancel func()) feed.Sink {
			return feed.SinkFuncs{
				Tick: func(t *protocol.Tick) {
					lastTick = *t
					if t.TS >= end.UnixNano() {
						cancel()
					}
				},
				Trade: func(t *protocol.Trade) {
					if t.TS < end.UnixNano() {
						trades = append(trades, *t)
					}
				},
				Book: func(u *protocol.BookUpdate) {
					if err := bk.Apply(u, book.AllDepths); err != nil && bookErr == nil {
						bookErr = err
					}
					if m, d, ok := bk.AppendDelta(delta[:0], book.Depth10); ok && !d.Snapshot {
						delta = m
					}
				},
			}
		})
	if err != nil {
		return nil, nil, err
	}
	if bookErr != nil {
		return nil, nil, bookErr
	}
	depth200, _, ok := bk.Snapshot(book.Depth200)
	if !ok || delta == nil {
		return nil, nil, errNoBook
	}
	hist := candlesOf(trades, time.Minute)
	if len(hist) != candles {
		return nil, nil, errCandles
	}

	var names []string
	err = runSim(sim.Config{Seed: 1, Universe: 1000, Rate: 1e9}, func(cancel func()) feed.Sink {
		return feed.SinkFuncs{
			Tick: func(*protocol.Tick) { cancel() }, // the options are listed before the first quote
			Listed: func(syms []feed.Symbol) {
				for _, s := range syms {
					names = append(names, s.Name)
				}
			},
		}
	}, func(m *sim.Market) {
		for _, s := range m.Symbols() {
			names = append(names, s.Name)
		}
	})
	if err != nil {
		return nil, nil, err
	}
	if len(names) < 1000 {
		return nil, nil, errSymbols
	}

	open := hist[len(hist)-1]
	open.Closed = false
	target = []message{
		{"tick", protocol.AppendTick(nil, &lastTick)},
		{"snapshot", protocol.AppendSnapshot(nil, &lastTick)},
		{"candles-500", protocol.AppendCandles(nil, "AAPL", protocol.Interval1m, hist)},
		{"book-200", depth200},
		{"symbols-1000", protocol.AppendSymbols(nil, []byte("1"), names[:1000])},
	}
	small = []message{
		{"trade", protocol.AppendTrade(nil, &trades[len(trades)-1])},
		{"candle", protocol.AppendCandle(nil, &open)},
		{"book-delta-10", delta},
		{"subscribed", protocol.AppendSubscribed(nil, []byte("7"), protocol.Stream{Channel: protocol.ChannelCandles, Interval: protocol.Interval1m}, []string{"AAPL", "MSFT"})},
	}
	return target, small, nil
}

var (
	mixOnce sync.Once
	mix     []message
	mixErr  error
)

// marketMix returns what a client subscribed to quotes, trades and
// depth-10 books of 20 simulated symbols is sent over 5,000 updates (seed
// 2, bursty): ticks, trades and book deltas in the order they come.
func marketMix(t testing.TB) []message {
	t.Helper()
	mixOnce.Do(func() { mix, mixErr = makeMix(5000) })
	if mixErr != nil {
		t.Fatal(mixErr)
	}
	return mix
}

func makeMix(updates int) ([]message, error) {
	var out []message
	books := map[string]*book.Book{}
	n := 0
	clock := time.Date(2025, 11, 21, 14, 30, 0, 0, time.UTC)
	err := runSim(sim.Config{Seed: 2, Symbols: 20, Rate: 1e9,
		Clock: func() time.Time { clock = clock.Add(time.Millisecond); return clock }},
		func(cancel func()) feed.Sink {
			return feed.SinkFuncs{
				Tick: func(t *protocol.Tick) {
					out = append(out, message{"tick", protocol.AppendTick(nil, t)})
					if n++; n == updates {
						cancel()
					}
				},
				Trade: func(t *protocol.Trade) {
					out = append(out, message{"trade", protocol.AppendTrade(nil, t)})
				},
				Book: func(u *protocol.BookUpdate) {
					bk := books[u.Symbol]
					if bk == nil {
						bk = book.New(u.Symbol, book.Config{})
						books[u.Symbol] = bk
					}
					_ = bk.Apply(u, book.Depths(0).With(book.Depth10)) // an invalid book sends nothing
					if m, d, ok := bk.AppendDelta(nil, book.Depth10); ok && !d.Snapshot {
						out = append(out, message{"book-delta-10", m})
					}
				},
			}
		})
	return out, err
}

type corpusError string

func (e corpusError) Error() string { return string(e) }

const (
	errNoBook  corpusError = "deflate test: the simulated book never became valid"
	errCandles corpusError = "deflate test: the simulated trades did not make 500 candles"
	errSymbols corpusError = "deflate test: the simulated universe listed fewer than 1,000 symbols"
)

// runSim runs a simulated market into the sink sink returns until the sink
// calls cancel, and waits for it. before, if given, sees the market first.
func runSim(cfg sim.Config, sink func(cancel func()) feed.Sink, before ...func(*sim.Market)) error {
	m, err := sim.New(cfg)
	if err != nil {
		return err
	}
	for _, f := range before {
		f(m)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := m.Run(ctx, sink(cancel)); err != nil {
		return err
	}
	if ctx.Err() == context.DeadlineExceeded {
		return ctx.Err()
	}
	return nil
}

// candlesOf builds the closed candles of trades at interval iv, in order.
func candlesOf(trades []protocol.Trade, iv time.Duration) []protocol.Candle {
	var out []protocol.Candle
	for _, t := range trades {
		start := t.TS - t.TS%int64(iv)
		if len(out) == 0 || out[len(out)-1].Start != start {
			out = append(out, protocol.Candle{
				Symbol: t.Symbol, Interval: protocol.Interval1m, Start: start,
				Open: t.Price, High: t.Price, Low: t.Price, Volume: decimal.Zero,
				Closed: true, PricePrec: t.PricePrec, VolumePrec: t.SizePrec,
			})
		}
		c := &out[len(out)-1]
		if t.Price.GreaterThan(c.High) {
			c.High = t.Price
		}
		if t.Price.LessThan(c.Low) {
			c.Low = t.Price
		}
		c.Close = t.Price
		c.Volume = c.Volume.Add(t.Size)
		c.Trades++
	}
	return out
}
