package hub

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/tickerd/tickerd/internal/candle"
	"github.com/tickerd/tickerd/protocol"
)

// This file is the candle channel. The hub keeps every symbol's recent
// candles in a candle.History (Config.CandleHistory closed candles per
// symbol and interval) and a stream per (symbol, interval) whose updates
// are candle messages. A subscriber gets the history message first (its
// "snapshot": the closed candles, oldest first, then the open one), then
// every candle message in order; one that fell behind gets the closed
// candles it missed from the stream's ring and the latest, or, past the
// ring, the history message again. A closed candle is never merged away.

// frameCache is one message of a stream made into a frame once, for
// every subscriber that needs it: a candles history, a book snapshot.
// The source message is recognised by identity (the slice the store
// returns, which it shares until the next change).
type frameCache struct {
	mu    sync.Mutex
	src   []byte                 // the message last framed
	frame []byte                 // it as a text frame
	z     atomic.Pointer[[]byte] // frame's compressed twin, made on first use (Hub.zframe)
}

// get returns msg as a text frame for c, made once per distinct msg, and
// compressed once if c negotiated compression. Any shard.
func (fc *frameCache) get(h *Hub, c *conn, msg []byte) []byte {
	fc.mu.Lock()
	defer fc.mu.Unlock()
	if len(msg) == 0 || len(fc.src) != len(msg) || &fc.src[0] != &msg[0] {
		fc.src, fc.frame = msg, textFrame(msg)
		fc.z.Store(nil)
	}
	return h.zframe(c, &fc.z, fc.frame)
}

// PublishCandle stores c in the hub's candle history and hands it to the
// shards whose connections watch c's symbol and interval. It implements
// feed.Sink; call it in the order candles were made (a candle.Builder's
// goroutine, or a relay of another node's candles), never from two
// goroutines at once for one symbol. A candle of an earlier start than
// the stream's last, or the same start once it closed, is dropped as
// Stale; a higher epoch resets the stream's subscribers (a reset, then
// the history); a lower one is dropped (StaleEpoch).
func (h *Hub) PublishCandle(c *protocol.Candle) {
	sym := h.uni.lookup(c.Symbol)
	if sym == nil || c.Interval >= protocol.NumIntervals {
		h.stats.unknown.Add(1)
		return
	}
	st := &sym.channels().candles[c.Interval]
	h.encMu.Lock()
	h.encBuf = protocol.AppendCandle(h.encBuf[:0], c)
	u := newRichUpdate()
	u.tick = textFrame(h.encBuf)
	h.encMu.Unlock()
	now := time.Now().UnixNano()
	u.ts, u.at, u.more.closed = now, now, c.Closed
	start := uint64(c.Start)

	st.mu.Lock()
	last := st.latest.Load()
	ok, reset := h.admit(st, last == nil, c.Epoch, last != nil && (start > st.seq || start == st.seq && !last.more.closed))
	if !ok {
		st.mu.Unlock()
		return
	}
	if reset {
		st.mark = &epochMark{reset: textFrame(protocol.AppendReset(nil, protocol.ChannelCandles, sym.name, c.Epoch))}
	}
	// Stored under the stream's mutex, before the stream: a subscriber
	// that loads latest, then the history, finds u in it.
	h.candles.PublishCandle(c)
	st.epoch, st.seq = c.Epoch, start
	f := st.accept(u)
	st.mu.Unlock()
	h.stats.candles.Add(1)
	if f != nil {
		h.notify(f)
	}
}

// accept makes u st's latest update, with the next ver and the epoch mark,
// puts it in the ring if st is watched and returns st's fanout (nil if
// none). The caller holds the lock that serialises st's publishers.
func (st *stream) accept(u *update) *fanout {
	st.ver++
	if st.ver == 0 {
		st.ver = 1 // 0 means "nothing sent" in subRef.sent
	}
	u.ver = st.ver
	if m := st.mark; m != nil {
		if m.ver == 0 {
			m.ver = u.ver
		}
		u.epoch = m
	}
	st.latest.Store(u)
	// Loaded after latest is stored: a shard that joins the fan-out
	// after this load sees u when it links (see shard.link).
	f := st.fan.Load()
	if f != nil {
		f.ring[u.ver%ringSize].Store(u)
	}
	return f
}

// candleHistory returns the history message of st, a candles stream, as a
// frame: shared by every subscriber until the history changes.
func (h *Hub) candleHistory(c *conn, st *stream) []byte {
	iv := protocol.Interval(st.param)
	msg := h.candles.Message(st.sym.name, iv)
	if msg == nil {
		msg = protocol.AppendCandles(nil, st.sym.name, iv, nil)
	}
	return st.sym.chans.Load().candleH[iv].get(h, c, msg)
}

// appendCandles appends what e, c's subscription to st, a candles stream,
// is owed up to u: the history message if it needs a snapshot; else each closed
// candle after the last one it was sent that the ring still holds, then
// u; or, past the ring, the history message again.
func (s *shard) appendCandles(c *conn, e *subRef, st *stream, u *update, o origin, bufs [][]byte, from []origin) ([][]byte, []origin) {
	if e.bits&subSnap == 0 && u.ver-e.sent > 1 {
		f := st.fan.Load()
		var got [ringSize]*update
		n := 0
		ok := u.ver-e.sent <= ringSize
		for v := e.sent + 1; ok && v != u.ver; v++ {
			p := f.ring[v%ringSize].Load()
			if ok = p != nil && p.ver == v; ok && p.more.closed {
				got[n] = p
				n++
			}
		}
		if ok {
			for _, p := range got[:n] {
				o.ts = p.ts
				bufs, from = append(bufs, s.h.zframe(c, &p.ztick, p.tick)), append(from, o)
				o.prev = p.ver
			}
			o.skipped = u.ver - o.prev - 1
			o.ts = u.ts
			e.sent = u.ver
			return append(bufs, s.h.zframe(c, &u.ztick, u.tick)), append(from, o)
		}
		e.bits |= subSnap // behind the ring: the history has every closed candle
	}
	if e.bits&subSnap != 0 {
		e.bits &^= subSnap
		o.snap = true
		bufs = append(bufs, s.h.candleHistory(c, st))
	} else {
		bufs = append(bufs, s.h.zframe(c, &u.ztick, u.tick))
	}
	e.sent = u.ver
	return bufs, append(from, o)
}

// newCandleHistory returns the hub's candle store.
func newCandleHistory(cfg Config) *candle.History {
	return candle.NewHistory(candle.HistoryConfig{Candles: cfg.CandleHistory, MaxBytes: cfg.CandleHistoryBytes})
}
