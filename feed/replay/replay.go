package replay

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/shopspring/decimal"
	"github.com/tickerd/tickerd/feed"
	"github.com/tickerd/tickerd/protocol"
)

// Config configures a Replay. The zero value plays once, in real time,
// stamping each update with the time it is published.
type Config struct {
	// Speed is the playback rate: 1 (or 0) plays at the pace of the
	// recorded timestamps, k plays k times faster, math.Inf(1) plays as
	// fast as the sink takes it.
	Speed float64

	// Loop restarts from the top at the end of the input, forever. Each
	// pass publishes the file's seqs unchanged with the pass number as
	// Epoch (0, 1, 2, …): the seq space starts over, as it does for a feed
	// that lost its state, and consumers treat it so.
	Loop bool

	// KeepTS publishes each update with the ts of the file (shifted by the
	// file's duration on later passes) instead of the time of publishing.
	KeepTS bool

	// Clock gives the TS of published updates unless KeepTS; nil means
	// time.Now.
	Clock func() time.Time
}

// Replay plays a recording. It implements feed.Feed and
// feed.HealthReporter.
type Replay struct {
	// Static after Open.
	path    string
	cfg     Config
	speed   float64
	clock   func() time.Time
	symbols []feed.Symbol       // the symbols listed before the first line
	order   []string            // every symbol, in order of first appearance
	info    map[string]*symInfo // every symbol
	firstTS int64
	period  int64 // ts units (ns) from the start of one pass to the next

	running atomic.Bool
	lastPub atomic.Int64 // wall time of the last publish, Unix ns
	mu      sync.Mutex   // guards err
	err     string
}

// symInfo is what Open learns about a symbol.
type symInfo struct {
	sym     feed.Symbol // with the most decimals of any of its lines
	upfront bool        // listed before the first line (its first line is not "listed")
	classed bool        // sym.Class and sym.TickSize come from a "listed" line
}

// Open scans the file at path once, checking every line and learning its
// symbols and their precision (the most decimals seen in each symbol's
// prices and sizes), and returns a Replay of it.
func Open(path string, cfg Config) (*Replay, error) {
	switch {
	case math.IsNaN(cfg.Speed) || cfg.Speed < 0:
		return nil, fmt.Errorf("replay: speed %v must be a positive number or +Inf", cfg.Speed)
	}
	r := &Replay{
		path:  path,
		cfg:   cfg,
		speed: cfg.Speed,
		clock: cfg.Clock,
		info:  map[string]*symInfo{},
	}
	if r.speed == 0 {
		r.speed = 1
	}
	if r.clock == nil {
		r.clock = time.Now
	}
	if err := r.scan(); err != nil {
		return nil, err
	}
	return r, nil
}

// scanState is what scan tracks per symbol to check the file's order.
type scanState struct {
	listed bool
	seq    [3]uint64 // last seq per channel: tick, trade, book
	seen   [3]bool
	book   bool // a book snapshot came
}

// scan reads the whole input once: symbols, precision, order, timing.
func (r *Replay) scan() error {
	f, rd, err := r.open()
	if err != nil {
		return err
	}
	defer f.Close()
	state := map[string]*scanState{}
	var n int
	var lastTS int64
	for {
		rec, err := rd.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return r.wrap(err)
		}
		if err := r.learn(&rec, state); err != nil {
			return r.wrap(lineError(rec.line, err))
		}
		if ts, ok := rec.ts(); ok {
			if n == 0 {
				r.firstTS, lastTS = ts, ts
			}
			lastTS = max(lastTS, ts)
			n++
		}
	}
	if n == 0 {
		return fmt.Errorf("replay: %s holds no updates", r.path)
	}
	for _, name := range r.order {
		in := r.info[name]
		if !in.classed {
			in.sym.TickSize = decimal.New(1, -in.sym.PricePrec)
		}
		if in.upfront {
			r.symbols = append(r.symbols, in.sym)
		}
	}
	// The next pass starts one mean interval after the last update, so a
	// loop keeps the recorded rhythm; a file of one instant loops each second.
	dur := lastTS - r.firstTS
	gap := int64(time.Second)
	if n > 1 && dur > 0 {
		gap = max(dur/int64(n-1), 1)
	}
	r.period = dur + gap
	return nil
}

// learn checks one record against what came before it and learns from it.
func (r *Replay) learn(rec *record, state map[string]*scanState) error {
	name := rec.symbol()
	in, st := r.info[name], state[name]
	if in == nil {
		in = &symInfo{sym: feed.Symbol{Name: name, Class: classOf(name)}, upfront: rec.kind != kindListed}
		st = &scanState{listed: in.upfront}
		r.info[name], state[name] = in, st
		r.order = append(r.order, name)
	}
	p, v := rec.prec()
	in.sym.PricePrec, in.sym.VolumePrec = max(in.sym.PricePrec, p), max(in.sym.VolumePrec, v)
	switch rec.kind {
	case kindListed:
		if !in.classed {
			in.sym.Class, in.sym.TickSize, in.classed = rec.sym.Class, rec.sym.TickSize, true
		}
		st.listed = true
		return nil
	case kindDelisted:
		if !st.listed {
			return fmt.Errorf("%s is delisted but not listed", name)
		}
		st.listed = false
		return nil
	}
	if !st.listed {
		return fmt.Errorf("%s was delisted: no %s may follow until it is listed again", name, channelOf(rec.kind))
	}
	_, seq, _ := rec.seqKey()
	if rec.kind == kindBook {
		if !rec.book.Snapshot && !st.book {
			return fmt.Errorf("%s book changes at seq %d before any snapshot", name, seq)
		}
		st.book = true
	}
	c := rec.kind - kindTick
	if st.seen[c] && seq <= st.seq[c] {
		return fmt.Errorf("%s %s seq %d is not above the one before, %d", name, channelOf(rec.kind), seq, st.seq[c])
	}
	st.seq[c], st.seen[c] = seq, true
	return nil
}

func channelOf(k kind) string {
	return [...]string{kindTick: "tick", kindTrade: "trade", kindBook: "book"}[k]
}

func (r *Replay) open() (*os.File, reader, error) {
	f, err := os.Open(r.path)
	if err != nil {
		return nil, nil, fmt.Errorf("replay: %w", err)
	}
	rd, err := newReader(f)
	if err != nil {
		f.Close()
		return nil, nil, r.wrap(err)
	}
	return f, rd, nil
}

func (r *Replay) wrap(err error) error {
	var pe *posError
	if errors.As(err, &pe) {
		return fmt.Errorf("replay: %s:%d: %w", r.path, pe.line, pe.err)
	}
	return fmt.Errorf("replay: %s: %w", r.path, err)
}

// Symbols returns the symbols listed before the file's first line (those
// whose first line is not a "listed" line), in order of first appearance,
// with the precision learned by Open. A symbol without a "listed" line has
// a tick size of one unit of its last decimal and a class guessed from its
// name ("EUR/USD" fx, "BTC-USD" crypto, else equity).
func (r *Replay) Symbols() []feed.Symbol {
	return append([]feed.Symbol(nil), r.symbols...)
}

// ctxCheck is how many lines Run plays between looks at ctx when it does
// not wait (fast playback, or catching up).
const ctxCheck = 256

// Run plays the file into sink: once, or forever with Loop. It returns nil
// at the end of the input or when ctx ends, and an error if the file can no
// longer be read or no longer matches what Open saw.
//
// Each update is due at (its ts - the first ts) / Speed after Run starts
// (ts that go backwards count as no time). Run publishes every update that
// is due and sleeps until the next one, so a slow sink delays updates but
// never drops them, and it never publishes early. Listings and delistings
// play right after the line before them.
func (r *Replay) Run(ctx context.Context, sink feed.Sink) error {
	if !r.running.CompareAndSwap(false, true) {
		return errors.New("replay: Run is already running")
	}
	defer r.running.Store(false)

	p := &player{r: r, sink: sink, start: time.Now(), timer: time.NewTimer(time.Hour), listed: map[string]bool{}}
	p.timer.Stop()
	defer p.timer.Stop()
	for _, s := range r.symbols {
		p.listed[s.Name] = true
	}
	for pass := int64(0); ; pass++ {
		done, err := p.play(ctx, pass)
		if err != nil {
			r.setErr(err)
			return err
		}
		if done || !r.cfg.Loop {
			return nil
		}
	}
}

// player is the state of one Run.
type player struct {
	r      *Replay
	sink   feed.Sink
	start  time.Time
	timer  *time.Timer
	listed map[string]bool // what the sink has been told is listed now

	// Reused values handed to the sink.
	tick  protocol.Tick
	trade protocol.Trade
	book  protocol.BookUpdate
	syms  []feed.Symbol // pending List
	names []string      // pending Delist
}

// play plays one pass; done reports that ctx ended.
func (p *player) play(ctx context.Context, pass int64) (done bool, err error) {
	r := p.r
	if pass > 0 {
		p.restore()
	}
	f, rd, err := r.open()
	if err != nil {
		return false, err
	}
	defer f.Close()
	offset := pass * r.period // in file ts units
	maxTS := r.firstTS
	for n := 0; ; n++ {
		rec, err := rd.next()
		if err == io.EOF {
			p.flush()
			return false, nil
		}
		if err != nil {
			return false, r.wrap(err)
		}
		in := r.info[rec.symbol()]
		if pp, vp := rec.prec(); in == nil || pp > in.sym.PricePrec || vp > in.sym.VolumePrec {
			return false, r.wrap(lineError(rec.line, fmt.Errorf("%s changed since Open: the file was modified", rec.symbol())))
		}
		if rec.kind == kindListed || rec.kind == kindDelisted {
			p.listing(&rec, in)
			continue
		}
		p.flush()

		ts, _ := rec.ts()
		maxTS = max(maxTS, ts)
		if !math.IsInf(r.speed, 1) {
			due := time.Duration(float64(maxTS-r.firstTS+offset) / r.speed)
			if wait := due - time.Since(p.start); wait > 0 {
				p.timer.Reset(wait)
				select {
				case <-ctx.Done():
					p.timer.Stop()
					return true, nil
				case <-p.timer.C:
				}
			}
		}
		if n%ctxCheck == 0 && ctx.Err() != nil {
			return true, nil
		}
		if r.cfg.KeepTS {
			ts += offset
		} else {
			ts = r.clock().UnixNano()
		}
		if err := p.publish(&rec, in, uint64(pass), ts); err != nil {
			return false, r.wrap(lineError(rec.line, err))
		}
		r.lastPub.Store(time.Now().UnixNano())
	}
}

// publish hands one update to the sink, at the symbol's precision.
func (p *player) publish(rec *record, in *symInfo, epoch uint64, ts int64) error {
	prec, vprec := in.sym.PricePrec, in.sym.VolumePrec
	switch rec.kind {
	case kindTick:
		t := &p.tick
		*t = rec.tick
		t.Epoch, t.TS, t.PricePrec, t.VolumePrec = epoch, ts, prec, vprec
		p.sink.Publish(t)
	case kindTrade:
		t := &p.trade
		*t = rec.trade
		t.Epoch, t.TS, t.PricePrec, t.SizePrec = epoch, ts, prec, vprec
		p.sink.PublishTrade(t)
	case kindBook:
		b := &p.book
		l := &rec.book
		var err error
		if b.Bids, err = fixedLevels(b.Bids[:0], l.Bids, prec, vprec); err != nil {
			return err
		}
		if b.Asks, err = fixedLevels(b.Asks[:0], l.Asks, prec, vprec); err != nil {
			return err
		}
		b.Symbol, b.Seq, b.Epoch, b.TS, b.Snapshot = l.Symbol, l.Seq, epoch, ts, l.Snapshot
		b.PricePrec, b.SizePrec = prec, vprec
		p.sink.PublishBook(b)
	}
	return nil
}

// fixedLevels appends the levels of a "book" line in fixed point.
func fixedLevels(dst []protocol.Level, lv [][]string, prec, sizePrec int32) ([]protocol.Level, error) {
	for _, l := range lv {
		price, err := protocol.ParseFixed(l[0], prec)
		if err != nil {
			return dst, err
		}
		size, err := protocol.ParseFixed(l[1], sizePrec)
		if err != nil {
			return dst, err
		}
		dst = append(dst, protocol.Level{Price: price, Size: size})
	}
	return dst, nil
}

// maxBatch bounds how many consecutive listings (or delistings) one List
// (or Delist) call carries.
const maxBatch = 1000

// listing queues a listing or a delisting; consecutive ones reach the sink
// in one call.
func (p *player) listing(rec *record, in *symInfo) {
	name := in.sym.Name
	if rec.kind == kindListed {
		if len(p.names) > 0 || len(p.syms) == maxBatch {
			p.flush()
		}
		p.syms = append(p.syms, in.sym)
		p.listed[name] = true
		return
	}
	if len(p.syms) > 0 || len(p.names) == maxBatch {
		p.flush()
	}
	p.names = append(p.names, name)
	delete(p.listed, name)
}

// flush hands the queued listings or delistings to the sink.
func (p *player) flush() {
	if len(p.syms) > 0 {
		p.sink.List(p.syms)
		p.syms = p.syms[:0]
	}
	if len(p.names) > 0 {
		p.sink.Delist(p.names)
		p.names = p.names[:0]
	}
}

// restore brings the listings back to the start of the file before a new
// pass: it delists what the last pass listed and lists again what it
// delisted.
func (p *player) restore() {
	for _, name := range p.r.order {
		if in := p.r.info[name]; p.listed[name] && !in.upfront {
			p.listing(&record{kind: kindDelisted}, in)
		}
	}
	for _, name := range p.r.order {
		if in := p.r.info[name]; !p.listed[name] && in.upfront {
			p.listing(&record{kind: kindListed}, in)
		}
	}
	p.flush()
}

func (r *Replay) setErr(err error) {
	r.mu.Lock()
	r.err = err.Error()
	r.mu.Unlock()
}

// Health reports one source, "replay:PATH", connected while Run plays.
func (r *Replay) Health() []feed.Health {
	h := feed.Health{Source: "replay:" + r.path, Connected: r.running.Load()}
	if ns := r.lastPub.Load(); ns != 0 {
		h.LastUpdate = time.Unix(0, ns)
	}
	r.mu.Lock()
	h.Err = r.err
	r.mu.Unlock()
	return []feed.Health{h}
}
