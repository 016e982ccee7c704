package replay

import (
	"bufio"
	"io"
	"math"
	"strconv"
	"sync"
	"time"

	"github.com/tickerd/tickerd/feed"
	"github.com/tickerd/tickerd/protocol"
)

// flushEvery bounds how long a recorded line may sit in the buffer while
// lines keep coming.
const flushEvery = time.Second

// Recorder is a feed.Sink that writes everything it receives to w, one
// line each in the format Open reads (see the package doc), and passes it
// on to next, if next is not nil. Quotes and trades are written as the
// bytes a client receives. Candles are passed on but not recorded: the
// server builds them from the trades, which are.
//
// Writes are buffered: the buffer is flushed when full, at the first line
// a second after the last flush, and by Flush, which the owner calls after
// the feed's Run has returned. A write error stops the recording (Err
// reports it) but not the forwarding. Its methods may be called from any
// goroutine.
type Recorder struct {
	next feed.Sink

	mu        sync.Mutex // guards the fields below
	w         *bufio.Writer
	buf       []byte
	lastFlush time.Time
	lastTS    int64 // ts of the last update recorded: the ts of "delisted" lines
	err       error
}

// NewRecorder returns a Recorder writing to w and forwarding to next.
func NewRecorder(w io.Writer, next feed.Sink) *Recorder {
	return &Recorder{next: next, w: bufio.NewWriterSize(w, 64<<10), lastFlush: time.Now()}
}

// Publish forwards t to the next sink, then records it as a "tick" line.
func (r *Recorder) Publish(t *protocol.Tick) {
	if r.next != nil {
		r.next.Publish(t)
	}
	r.write(t.TS, func(b []byte, _ int64) []byte { return protocol.AppendTick(b, t) })
}

// PublishTrade forwards t to the next sink, then records it as a "trade"
// line.
func (r *Recorder) PublishTrade(t *protocol.Trade) {
	if r.next != nil {
		r.next.PublishTrade(t)
	}
	r.write(t.TS, func(b []byte, _ int64) []byte { return protocol.AppendTrade(b, t) })
}

// PublishBook forwards u to the next sink, then records it as a "book"
// line.
func (r *Recorder) PublishBook(u *protocol.BookUpdate) {
	if r.next != nil {
		r.next.PublishBook(u)
	}
	r.write(u.TS, func(b []byte, _ int64) []byte { return appendBook(b, u) })
}

// PublishCandle forwards c to the next sink; candles are not recorded.
func (r *Recorder) PublishCandle(c *protocol.Candle) {
	if r.next != nil {
		r.next.PublishCandle(c)
	}
}

// List forwards syms to the next sink, then records a "listed" line per
// symbol.
func (r *Recorder) List(syms []feed.Symbol) {
	if r.next != nil {
		r.next.List(syms)
	}
	for i := range syms {
		r.write(noTS, func(b []byte, _ int64) []byte { return appendListed(b, &syms[i]) })
	}
}

// Delist forwards names to the next sink, then records a "delisted" line
// per name, the message a client gets, stamped with the ts of the last
// update recorded.
func (r *Recorder) Delist(names []string) {
	if r.next != nil {
		r.next.Delist(names)
	}
	for _, n := range names {
		r.write(noTS, func(b []byte, last int64) []byte { return protocol.AppendDelisted(b, n, last) })
	}
}

// noTS is the ts of a line that is not an update.
const noTS = math.MinInt64

// write records the line encode appends, unless the recording stopped. ts
// is the update's ts, or noTS; encode gets the ts of the last update.
func (r *Recorder) write(ts int64, encode func(b []byte, lastTS int64) []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if ts != noTS {
		r.lastTS = ts
	}
	if r.err != nil {
		return
	}
	r.buf = append(encode(r.buf[:0], r.lastTS), '\n')
	if _, r.err = r.w.Write(r.buf); r.err != nil {
		return
	}
	if now := time.Now(); now.Sub(r.lastFlush) >= flushEvery {
		r.lastFlush = now
		r.err = r.w.Flush()
	}
}

// Flush writes out any buffered lines and returns the first write error.
func (r *Recorder) Flush() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err == nil {
		r.err = r.w.Flush()
		r.lastFlush = time.Now()
	}
	return r.err
}

// appendBook appends u as a "book" line:
//
//	{"type":"book","symbol":"BTC-USD","seq":500,"snapshot":true,"bids":[["91549.30","0.52"]],"asks":[["91549.40","1.2"]],"ts":1763718000123456789}
//
// "snapshot" is there only for a snapshot.
func appendBook(b []byte, u *protocol.BookUpdate) []byte {
	b = append(b, `{"type":"book","symbol":`...)
	b = protocol.AppendString(b, u.Symbol)
	b = append(b, `,"seq":`...)
	b = strconv.AppendUint(b, u.Seq, 10)
	if u.Snapshot {
		b = append(b, `,"snapshot":true`...)
	}
	b = appendLevels(append(b, `,"bids":`...), u.Bids, u.PricePrec, u.SizePrec)
	b = appendLevels(append(b, `,"asks":`...), u.Asks, u.PricePrec, u.SizePrec)
	b = append(b, `,"ts":`...)
	b = strconv.AppendInt(b, u.TS, 10)
	return append(b, '}')
}

func appendLevels(b []byte, lv []protocol.Level, prec, sizePrec int32) []byte {
	b = append(b, '[')
	for i, l := range lv {
		if i > 0 {
			b = append(b, ',')
		}
		b = protocol.AppendFixed(append(b, `["`...), l.Price, prec)
		b = protocol.AppendFixed(append(b, `","`...), l.Size, sizePrec)
		b = append(b, `"]`...)
	}
	return append(b, ']')
}

// appendListed appends s as a "listed" line:
//
//	{"type":"listed","symbol":"AAPL261218C00190000","class":"option","price_prec":2,"volume_prec":0,"tick_size":"0.01"}
//
// "tick_size" is left out when s has none.
func appendListed(b []byte, s *feed.Symbol) []byte {
	b = append(b, `{"type":"listed","symbol":`...)
	b = protocol.AppendString(b, s.Name)
	b = protocol.AppendString(append(b, `,"class":`...), s.Class)
	b = strconv.AppendInt(append(b, `,"price_prec":`...), int64(s.PricePrec), 10)
	b = strconv.AppendInt(append(b, `,"volume_prec":`...), int64(s.VolumePrec), 10)
	if s.TickSize.IsPositive() {
		b = append(append(append(b, `,"tick_size":"`...), s.TickSize.String()...), '"')
	}
	return append(b, '}')
}
