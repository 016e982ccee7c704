package replay

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/shopspring/decimal"
	"github.com/tickerd/tickerd/feed"
	"github.com/tickerd/tickerd/protocol"
)

// Config configures a Replay. The zero value plays once, in real time,
// stamping each tick with the time it is published.
type Config struct {
	// Speed is the playback rate: 1 (or 0) plays at the pace of the
	// recorded timestamps, k plays k times faster, math.Inf(1) plays as
	// fast as the sink takes it.
	Speed float64

	// Loop restarts from the top at the end of the input, forever. Seq
	// keeps growing by one per update across passes (each pass adds the
	// symbol's seq span of the file), so clients never see it go back.
	Loop bool

	// KeepTS publishes each tick with the ts of the file (shifted by the
	// file's duration on later passes) instead of the time of publishing.
	KeepTS bool

	// Clock gives the TS of published ticks unless KeepTS; nil means
	// time.Now.
	Clock func() time.Time
}

// Replay plays recorded ticks from a file. It implements feed.Feed and
// feed.HealthReporter.
type Replay struct {
	// Static after Open.
	path    string
	cfg     Config
	speed   float64
	clock   func() time.Time
	symbols []feed.Symbol
	prec    map[string]precision
	span    map[string]uint64 // seq span (last - first + 1) per symbol
	firstTS int64
	period  int64 // ts units (ns) from the start of one pass to the next

	running atomic.Bool
	lastPub atomic.Int64 // wall time of the last publish, Unix ns
	mu      sync.Mutex   // guards err
	err     string
}

type precision struct{ price, volume int32 }

// Open scans the file at path once, checking every line and learning its
// symbols and their precision (the most decimals seen in each symbol's
// prices and volume), and returns a Replay of it.
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
		prec:  map[string]precision{},
		span:  map[string]uint64{},
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

// scan reads the whole input once: symbols, precision, seq spans, timing.
func (r *Replay) scan() error {
	f, rd, err := r.open()
	if err != nil {
		return err
	}
	defer f.Close()
	firstSeq := map[string]uint64{}
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
		t := &rec.tick
		p, seen := r.prec[t.Symbol]
		if !seen {
			r.symbols = append(r.symbols, feed.Symbol{Name: t.Symbol, Class: classOf(t.Symbol)})
			firstSeq[t.Symbol] = t.Seq
		}
		r.prec[t.Symbol] = precision{max(p.price, t.PricePrec), max(p.volume, t.VolumePrec)}
		if t.Seq < firstSeq[t.Symbol] {
			return r.wrap(lineError(rec.line, fmt.Errorf("%s seq %d is below its first seq %d", t.Symbol, t.Seq, firstSeq[t.Symbol])))
		}
		r.span[t.Symbol] = max(r.span[t.Symbol], t.Seq-firstSeq[t.Symbol]+1)
		if n == 0 {
			r.firstTS, lastTS = t.TS, t.TS
		}
		lastTS = max(lastTS, t.TS)
		n++
	}
	if n == 0 {
		return fmt.Errorf("replay: %s holds no ticks", r.path)
	}
	for i := range r.symbols {
		s := &r.symbols[i]
		p := r.prec[s.Name]
		s.PricePrec, s.VolumePrec = p.price, p.volume
		s.TickSize = decimal.New(1, -p.price)
	}
	// The next pass starts one mean interval after the last tick, so a
	// loop keeps the recorded rhythm; a file of one instant loops each second.
	dur := lastTS - r.firstTS
	gap := int64(time.Second)
	if n > 1 && dur > 0 {
		gap = max(dur/int64(n-1), 1)
	}
	r.period = dur + gap
	return nil
}

// classOf guesses an instrument class from the name, with the conventions of
// feed/sim: "EUR/USD" is fx, "BTC-USD" crypto, anything else equity.
func classOf(name string) string {
	switch {
	case strings.Contains(name, "/"):
		return "fx"
	case strings.Contains(name, "-"):
		return "crypto"
	}
	return "equity"
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

// Symbols returns the symbols of the file in order of first appearance, with
// the precision learned by Open and a tick size of one unit of the last
// decimal. The class is guessed from the name ("EUR/USD" fx, "BTC-USD"
// crypto, else equity).
func (r *Replay) Symbols() []feed.Symbol {
	return append([]feed.Symbol(nil), r.symbols...)
}

// ctxCheck is how many ticks Run publishes between looks at ctx when it
// does not wait (fast playback, or catching up).
const ctxCheck = 256

// Run plays the file into sink: once, or forever with Loop. It returns nil
// at the end of the input or when ctx ends, and an error if the file can no
// longer be read or no longer matches what Open saw.
//
// Each tick is due at (its ts - the first ts) / Speed after Run starts (ts
// that go backwards count as no time). Run publishes every tick that is due
// and sleeps until the next one, so a slow sink delays ticks but never
// drops them, and it never publishes early.
func (r *Replay) Run(ctx context.Context, sink feed.Sink) error {
	if !r.running.CompareAndSwap(false, true) {
		return errors.New("replay: Run is already running")
	}
	defer r.running.Store(false)

	start := time.Now()
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	var t protocol.Tick
	for pass := int64(0); ; pass++ {
		done, err := r.play(ctx, sink, &t, pass, start, timer)
		if err != nil {
			r.setErr(err)
			return err
		}
		if done || !r.cfg.Loop {
			return nil
		}
	}
}

// play plays one pass; done reports that ctx ended.
func (r *Replay) play(ctx context.Context, sink feed.Sink, t *protocol.Tick, pass int64, start time.Time, timer *time.Timer) (done bool, err error) {
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
			return false, nil
		}
		if err != nil {
			return false, r.wrap(err)
		}
		p, ok := r.prec[rec.tick.Symbol]
		if !ok || rec.tick.PricePrec > p.price || rec.tick.VolumePrec > p.volume {
			return false, r.wrap(lineError(rec.line, fmt.Errorf("%s changed since Open: the file was modified", rec.tick.Symbol)))
		}

		maxTS = max(maxTS, rec.tick.TS)
		if !math.IsInf(r.speed, 1) {
			due := time.Duration(float64(maxTS-r.firstTS+offset) / r.speed)
			if wait := due - time.Since(start); wait > 0 {
				timer.Reset(wait)
				select {
				case <-ctx.Done():
					timer.Stop()
					return true, nil
				case <-timer.C:
				}
			}
		}
		if n%ctxCheck == 0 && ctx.Err() != nil {
			return true, nil
		}

		*t = rec.tick
		t.Seq += uint64(pass) * r.span[t.Symbol]
		t.PricePrec, t.VolumePrec = p.price, p.volume
		if r.cfg.KeepTS {
			t.TS += offset
		} else {
			t.TS = r.clock().UnixNano()
		}
		sink.Publish(t)
		r.lastPub.Store(time.Now().UnixNano())
	}
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
