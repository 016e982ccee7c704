package feed_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/shopspring/decimal"
	"github.com/tickerd/tickerd/feed"
	"github.com/tickerd/tickerd/protocol"
)

// lineFeed is a complete adapter: it publishes one update per "SYMBOL PRICE"
// line it reads, reports its health, and hears which symbols are watched.
type lineFeed struct {
	r     io.Reader
	clock func() time.Time

	mu      sync.Mutex // guards the fields below
	last    time.Time
	err     string
	watched map[string]bool
}

// Symbols declares every symbol with the precision of its prices and volume.
func (f *lineFeed) Symbols() []feed.Symbol {
	return []feed.Symbol{
		{Name: "ACME", Class: "equity", PricePrec: 2, VolumePrec: 0, TickSize: decimal.New(1, -2)},
		{Name: "WIDG", Class: "equity", PricePrec: 2, VolumePrec: 0, TickSize: decimal.New(1, -2)},
	}
}

// Run publishes until the input ends or ctx is done. It reuses one Tick:
// the sink only borrows it for the duration of Publish.
func (f *lineFeed) Run(ctx context.Context, sink feed.Sink) error {
	seq := map[string]uint64{}
	var t protocol.Tick
	t.PricePrec, t.VolumePrec = 2, 0
	sc := bufio.NewScanner(f.r)
	for sc.Scan() && ctx.Err() == nil {
		sym, p, _ := strings.Cut(sc.Text(), " ")
		price, err := decimal.NewFromString(p) // never via float64
		if err != nil {
			f.mu.Lock()
			f.err = fmt.Sprintf("bad price %q", p) // report it, skip the line
			f.mu.Unlock()
			continue
		}
		seq[sym]++
		t.Symbol, t.Seq = sym, seq[sym]
		t.Price, t.Bid, t.Ask = price, price.Sub(decimal.New(1, -2)), price.Add(decimal.New(1, -2))
		t.Open, t.High, t.Low, t.Volume = price, price, price, decimal.Zero
		now := f.clock()
		t.TS = now.UnixNano()
		sink.Publish(&t)
		f.mu.Lock()
		f.last = now
		f.mu.Unlock()
	}
	return sc.Err()
}

// Health makes lineFeed a feed.HealthReporter.
func (f *lineFeed) Health() []feed.Health {
	f.mu.Lock()
	defer f.mu.Unlock()
	return []feed.Health{{Source: "lines", Connected: true, LastUpdate: f.last, Err: f.err}}
}

// Watch makes lineFeed a feed.Watcher; a network adapter would subscribe
// upstream here (from Run, since Watch must not block).
func (f *lineFeed) Watch(symbol string, watched bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.watched[symbol] = watched
}

// printSink encodes each tick the way the hub does.
type printSink struct{ feed.SinkFuncs }

func (printSink) Publish(t *protocol.Tick) {
	os.Stdout.Write(append(protocol.AppendTick(nil, t), '\n'))
}

func Example() {
	var f feed.Feed = &lineFeed{
		r:       strings.NewReader("ACME 12.5\nWIDG 7.25\nACME 12.51\nACME twelve\n"),
		clock:   func() time.Time { return time.Unix(1763718000, 0) },
		watched: map[string]bool{},
	}
	for _, s := range f.Symbols() {
		fmt.Println(s.Name, s.PricePrec)
	}
	if w, ok := f.(feed.Watcher); ok {
		w.Watch("ACME", true)
	}
	if err := f.Run(context.Background(), printSink{}); err != nil {
		fmt.Println(err)
	}
	for _, h := range feed.HealthOf(f) {
		fmt.Println(h.Source, h.Connected, h.LastUpdate.Unix(), h.Err)
	}
	// Output:
	// ACME 2
	// WIDG 2
	// {"type":"tick","symbol":"ACME","seq":1,"price":"12.50","bid":"12.49","ask":"12.51","open":"12.50","high":"12.50","low":"12.50","volume":"0","ts":1763718000000000000}
	// {"type":"tick","symbol":"WIDG","seq":1,"price":"7.25","bid":"7.24","ask":"7.26","open":"7.25","high":"7.25","low":"7.25","volume":"0","ts":1763718000000000000}
	// {"type":"tick","symbol":"ACME","seq":2,"price":"12.51","bid":"12.50","ask":"12.52","open":"12.51","high":"12.51","low":"12.51","volume":"0","ts":1763718000000000000}
	// lines true 1763718000 bad price "twelve"
}
