package candle

import (
	"strings"
	"sync"
	"unsafe"

	"github.com/tickerd/tickerd/protocol"
)

// Defaults of HistoryConfig.
const (
	DefaultCandles  = 500       // closed candles kept per symbol and interval
	DefaultMaxBytes = 256 << 20 // bound of a whole History
)

// HistoryConfig configures a History. The zero value keeps DefaultCandles
// closed candles per symbol and interval within DefaultMaxBytes.
type HistoryConfig struct {
	// Candles is how many closed candles are kept per symbol and
	// interval; 0 means DefaultCandles.
	Candles int
	// MaxBytes bounds the memory of the whole store: candles, cached
	// messages and per-symbol overhead, as History accounts them (see
	// the package doc). 0 means DefaultMaxBytes.
	MaxBytes int64
}

// HistoryStats are a History's counters and sizes.
type HistoryStats struct {
	Series int   // (symbol, interval) pairs held
	Closed int   // closed candles held
	Open   int   // open candles held
	Cached int   // history messages held encoded
	Bytes  int64 // memory as accounted against MaxBytes
	// Evicted counts closed candles dropped before their turn to keep
	// the store under MaxBytes.
	Evicted uint64
	// Dropped counts candles not stored because even after evicting
	// every closed candle the store had no room.
	Dropped uint64
	// Stale counts candles ignored because the store already holds a
	// later one, a closed one with the same start, or a later epoch.
	Stale uint64
	// Uncached counts history messages served without being kept,
	// because keeping them would have crossed MaxBytes.
	Uncached uint64
}

// History keeps the recent candles of every symbol and interval and serves
// them as a "candles" history message. Give it every candle with
// PublishCandle, in the order they were sent (by a Builder, or by a relay
// of another node's candles); read with Message from any goroutine, at any
// time.
type History struct {
	// Static after NewHistory.
	keep     int
	maxBytes int64

	mu sync.Mutex
	// Guarded by mu.
	syms  map[string]*histSymbol
	bytes int64
	// byLen lists the series by their number of closed candles (0 to
	// keep), so that the byte bound takes candles from the longest.
	byLen   [][]*hseries
	longest int        // no byLen index above it is non-empty
	cached  []*hseries // the series whose message is cached
	scratch []byte     // an item being encoded
	stats   HistoryStats
}

type histSymbol struct {
	name   string
	series [protocol.NumIntervals]*hseries
}

// hseries is the history of one symbol at one interval.
type hseries struct {
	sym   *histSymbol
	iv    protocol.Interval
	epoch uint64
	// The closed candles, oldest first, in a ring: items[(head+i)%len(items)]
	// for i < n, each encoded with protocol.AppendCandleItem; starts holds
	// their starts.
	items     [][]byte
	starts    []int64
	head, n   int
	open      []byte // the open candle's item; nil if none
	openStart int64
	msg       []byte // the cached message; nil when it must be built again
	lenPos    int    // index in History.byLen[n]
	cachePos  int    // index in History.cached, or -1
}

// Memory accounted for the parts of a History besides the encoded bytes.
const (
	symbolBytes = int64(unsafe.Sizeof(histSymbol{})) + 64 // and its map entry
	seriesBytes = int64(unsafe.Sizeof(hseries{})) + 16    // and its byLen and cached slots
	slotBytes   = int64(unsafe.Sizeof([]byte(nil)) + unsafe.Sizeof(int64(0)))
)

// NewHistory returns an empty History.
func NewHistory(cfg HistoryConfig) *History {
	h := &History{keep: cfg.Candles, maxBytes: cfg.MaxBytes, syms: make(map[string]*histSymbol)}
	if h.keep <= 0 {
		h.keep = DefaultCandles
	}
	if h.maxBytes <= 0 {
		h.maxBytes = DefaultMaxBytes
	}
	h.byLen = make([][]*hseries, h.keep+1)
	return h
}

// PublishCandle stores c, a candle frame as a Builder sends it: a candle
// replaces the stored one with the same start, a closed one joins the
// history and may push out the oldest. A candle of a later epoch than the
// symbol's drops the stored candles from its start on (its node started
// over); candles older than what is stored are ignored.
func (h *History) PublishCandle(c *protocol.Candle) {
	if c.Interval >= protocol.NumIntervals {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	s := h.seriesLocked(c.Symbol, c.Interval)
	if s == nil {
		h.stats.Dropped++
		return
	}
	if c.Epoch > s.epoch {
		h.restartLocked(s, c.Start)
		s.epoch = c.Epoch
	}
	newest, hasClosed := int64(0), s.n > 0
	if hasClosed {
		newest = s.starts[(s.head+s.n-1)%len(s.items)]
	}
	switch {
	case c.Epoch < s.epoch,
		hasClosed && (c.Start < newest || c.Start == newest && !c.Closed),
		s.open != nil && c.Start < s.openStart:
		h.stats.Stale++
		return
	}
	h.scratch = protocol.AppendCandleItem(h.scratch[:0], c)
	h.uncacheLocked(s)
	h.putLocked(s, c, h.scratch)
}

// putLocked stores item, the encoding of c, in s. It first makes room for
// what it may add; since that may evict s's own oldest candles, it looks
// at s again afterwards to decide where item goes.
func (h *History) putLocked(s *hseries, c *protocol.Candle, item []byte) {
	same := func() int { // the index of the closed candle with c's start, or -1
		if s.n == 0 {
			return -1
		}
		i := (s.head + s.n - 1) % len(s.items)
		if s.starts[i] != c.Start {
			return -1
		}
		return i
	}
	// The buffer item replaces, if it is large enough.
	var target []byte
	switch i := same(); {
	case !c.Closed:
		target = s.open
	case i >= 0:
		target = s.items[i]
	case s.n == h.keep:
		target = s.items[s.head]
	}
	var buf []byte
	var need int64
	if cap(target) < len(item) {
		buf = append([]byte(nil), item...)
		need = int64(cap(buf))
	}
	grow := 0
	if c.Closed && same() < 0 && s.n == len(s.items) && s.n < h.keep {
		grow = min(max(2*len(s.items), 4), h.keep) - len(s.items)
		need += int64(grow) * slotBytes
	}
	if need > 0 && !h.makeRoomLocked(need, true) {
		h.stats.Dropped++
		return
	}
	place := func(dst *[]byte) {
		if buf == nil {
			*dst = append((*dst)[:0], item...)
			return
		}
		h.bytes += int64(cap(buf)) - int64(cap(*dst))
		*dst = buf
	}
	switch i := same(); {
	case !c.Closed:
		place(&s.open)
		s.openStart = c.Start
		return
	case i >= 0:
		place(&s.items[i])
		return
	case s.n == h.keep:
		i := s.head
		place(&s.items[i])
		s.starts[i] = c.Start
		s.head = (s.head + 1) % len(s.items)
	default:
		if s.n == len(s.items) { // grow was reserved: s.n only shrinks in makeRoomLocked
			size := len(s.items) + grow
			items, starts := make([][]byte, size), make([]int64, size)
			for i := range s.n {
				items[i], starts[i] = s.items[(s.head+i)%len(s.items)], s.starts[(s.head+i)%len(s.items)]
			}
			h.bytes += int64(grow) * slotBytes
			s.items, s.starts, s.head = items, starts, 0
		}
		i := (s.head + s.n) % len(s.items)
		place(&s.items[i])
		s.starts[i] = c.Start
		h.resizeLocked(s, s.n+1)
	}
	if s.open != nil { // this candle, or an older one whose close was lost
		h.bytes -= int64(cap(s.open))
		s.open = nil
	}
}

// seriesLocked returns the series of symbol at iv, creating it if there is
// room; nil if there is none.
func (h *History) seriesLocked(symbol string, iv protocol.Interval) *hseries {
	sym := h.syms[symbol]
	if sym != nil && sym.series[iv] != nil {
		return sym.series[iv]
	}
	need := seriesBytes
	if sym == nil {
		need += symbolBytes + int64(len(symbol))
	}
	if !h.makeRoomLocked(need, true) {
		return nil
	}
	if sym == nil {
		sym = &histSymbol{name: strings.Clone(symbol)}
		h.syms[sym.name] = sym
	}
	s := &hseries{sym: sym, iv: iv, cachePos: -1, lenPos: len(h.byLen[0])}
	h.byLen[0] = append(h.byLen[0], s)
	sym.series[iv] = s
	h.bytes += need
	return s
}

// restartLocked drops what a new epoch replaces: the open candle and the
// closed ones from start on.
func (h *History) restartLocked(s *hseries, start int64) {
	h.uncacheLocked(s)
	h.bytes -= int64(cap(s.open))
	s.open = nil
	for s.n > 0 {
		i := (s.head + s.n - 1) % len(s.items)
		if s.starts[i] < start {
			break
		}
		h.bytes -= int64(cap(s.items[i]))
		s.items[i] = nil
		h.resizeLocked(s, s.n-1)
	}
}

// resizeLocked sets s's number of closed candles, keeping byLen in step.
func (h *History) resizeLocked(s *hseries, n int) {
	h.unlistLocked(s)
	s.n, s.lenPos = n, len(h.byLen[n])
	h.byLen[n] = append(h.byLen[n], s)
	h.longest = max(h.longest, n)
}

func (h *History) unlistLocked(s *hseries) {
	list := h.byLen[s.n]
	last := list[len(list)-1]
	list[s.lenPos], last.lenPos = last, s.lenPos
	list[len(list)-1] = nil
	h.byLen[s.n] = list[:len(list)-1]
}

// makeRoomLocked makes room for need more bytes: it drops cached messages,
// then, if evict, the oldest closed candles of the longest series. It
// reports whether there is room.
func (h *History) makeRoomLocked(need int64, evict bool) bool {
	for h.bytes+need > h.maxBytes {
		if n := len(h.cached); n > 0 {
			h.uncacheLocked(h.cached[n-1])
			continue
		}
		for h.longest > 0 && len(h.byLen[h.longest]) == 0 {
			h.longest--
		}
		if !evict || h.longest == 0 {
			return false
		}
		s := h.byLen[h.longest][len(h.byLen[h.longest])-1]
		h.bytes -= int64(cap(s.items[s.head]))
		s.items[s.head] = nil
		s.head = (s.head + 1) % len(s.items)
		h.resizeLocked(s, s.n-1)
		h.stats.Evicted++
	}
	return true
}

func (h *History) uncacheLocked(s *hseries) {
	if s.cachePos < 0 {
		return
	}
	h.bytes -= int64(cap(s.msg))
	s.msg = nil
	last := h.cached[len(h.cached)-1]
	h.cached[s.cachePos], last.cachePos = last, s.cachePos
	h.cached[len(h.cached)-1] = nil
	h.cached = h.cached[:len(h.cached)-1]
	s.cachePos = -1
}

// Message returns the "candles" history message of symbol at iv: its
// closed candles, oldest first, then the open one, if any. It returns nil
// when the store has no candle of symbol at iv; the caller then sends
// protocol.AppendCandles(nil, symbol, iv, nil). The message is encoded
// once and shared until the next change; the caller must not modify it.
// Message may be called from any goroutine.
func (h *History) Message(symbol string, iv protocol.Interval) []byte {
	if iv >= protocol.NumIntervals {
		return nil
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	sym := h.syms[symbol]
	if sym == nil || sym.series[iv] == nil {
		return nil
	}
	s := sym.series[iv]
	if s.n == 0 && s.open == nil {
		return nil
	}
	if s.msg != nil {
		return s.msg
	}
	var first, second [][]byte
	if s.n > 0 {
		end := s.head + s.n
		first = s.items[s.head:min(end, len(s.items))]
		second = s.items[:max(end-len(s.items), 0)]
	}
	open := [][]byte{s.open}
	if s.open == nil {
		open = nil
	}
	var head [128]byte
	size := len(protocol.AppendCandlesItems(head[:0], sym.name, iv)) + len(first) + len(second) + len(open)
	for _, run := range [...][][]byte{first, second, open} {
		for _, item := range run {
			size += len(item)
		}
	}
	msg := protocol.AppendCandlesItems(make([]byte, 0, size), sym.name, iv, first, second, open)
	if !h.makeRoomLocked(int64(cap(msg)), false) {
		h.stats.Uncached++
		return msg
	}
	s.msg, s.cachePos = msg, len(h.cached)
	h.cached = append(h.cached, s)
	h.bytes += int64(cap(msg))
	return msg
}

// Delist forgets the candles of symbols.
func (h *History) Delist(names []string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, name := range names {
		sym := h.syms[name]
		if sym == nil {
			continue
		}
		for _, s := range sym.series {
			if s == nil {
				continue
			}
			h.restartLocked(s, -1<<63) // drops every candle and the cache
			h.unlistLocked(s)
			h.bytes -= seriesBytes + int64(len(s.items))*slotBytes
		}
		h.bytes -= symbolBytes + int64(len(name))
		delete(h.syms, name)
	}
}

// Stats returns the History's counters and sizes. It may be called from
// any goroutine.
func (h *History) Stats() HistoryStats {
	h.mu.Lock()
	defer h.mu.Unlock()
	st := h.stats
	st.Bytes, st.Cached = h.bytes, len(h.cached)
	for n, list := range h.byLen {
		st.Series += len(list)
		st.Closed += n * len(list)
		for _, s := range list {
			if s.open != nil {
				st.Open++
			}
		}
	}
	return st
}
