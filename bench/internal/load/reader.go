package load

import (
	"bytes"
	"errors"
	"math"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
	"golang.org/x/sys/unix"

	"github.com/tickerd/tickerd/bench/internal/stats"
	"github.com/tickerd/tickerd/internal/book"
	"github.com/tickerd/tickerd/internal/deflate"
	"github.com/tickerd/tickerd/internal/wsframe"
	"github.com/tickerd/tickerd/protocol"
)

// conn is one reading connection. Owned by its reader after adoption.
type conn struct {
	fd        int
	gidx      int       // global index
	slot      int32     // index in reader.conns
	syms      []uint32  // subscribed symbols (universe indexes), increasing
	last      []uint64  // per syms[i]: highest seq seen + 1, 0 = none (stats.TrackSeq), or ended
	pace      []subPace // per syms[i], in runs with a max_rate only
	books     []book.Mirror
	partial   []byte // an incomplete frame carried to the next read
	closeCode uint16 // status code of a close frame received, 0 = none
	deflate   bool   // permessage-deflate was negotiated
	// slow: a slow reader, paused for Subscription.Stall out of every
	// StallEvery from phase ns after t0; paused while it is.
	slow   bool
	paused bool
	phase  int64
	storm  *stormConn // a connection reopened by a resume storm
}

// stormConn is what a reader tracks of a connection a resume storm
// reopened with "since".
type stormConn struct {
	dialAt     int64    // Unix ns the reconnect started (the dial)
	subAt      int64    // Unix ns of the subscribe
	since      []uint64 // per syms[i]; 0: none asked
	got        []bool   // per syms[i]: a trade or gap came
	live       []bool   // per syms[i]: a live trade came
	replays    []int    // per syms[i]
	lastReplay int64    // Unix ns of the last replayed trade, when read
	// lastArrival is when the bytes of the last replayed trade reached
	// the socket: the kernel's receive timestamp (SO_TIMESTAMPNS) of the
	// read that completed it, which is the newest of the segments that
	// read took, so never before they arrived. 0: none came stamped.
	lastArrival                                           int64
	gaps, wrongFirst, holes, dups, outOfOrder, lateReplay int64
}

// ended marks, in conn.last, a subscription the server said was delisted.
const ended = math.MaxUint64

// index returns the position of sym in c.syms, or -1.
func (c *conn) index(sym uint32) int {
	if i, ok := slices.BinarySearch(c.syms, sym); ok {
		return i
	}
	return -1
}

// clock maps receive times to seconds of the run. It is shared by the readers
// of a worker and set once by the start command.
type clock struct {
	t0      atomic.Int64 // Unix ns; 0 until the run starts
	seconds atomic.Int64
	from    atomic.Int64 // window, in seconds
	to      atomic.Int64
}

// second returns the second of the run that now falls in, or -1 outside it.
func (k *clock) second(now int64) int {
	t0 := k.t0.Load()
	if t0 == 0 || now < t0 {
		return -1
	}
	s := (now - t0) / int64(time.Second)
	if s >= k.seconds.Load() {
		return -1
	}
	return int(s)
}

func (k *clock) inWindow(sec int) bool {
	return sec >= 0 && int64(sec) >= k.from.Load() && int64(sec) < k.to.Load()
}

const (
	maxFrame  = 1 << 20 // the largest server frame accepted; the server's own limit is far lower
	maxEvents = 256
	readBuf   = 64 << 10
	pollMs    = 20
)

// reader reads a share of the connections with one epoll instance and one
// buffer. Everything below mu is owned by the run goroutine.
type reader struct {
	epfd    int
	clk     *clock
	symIdx  map[string]uint32
	maxRate float64 // the plan's max_rate; above 0, conns carry pace

	mu      sync.Mutex
	pending []*conn // handed over by dialers, adopted by run

	stop atomic.Bool
	// every, when set, is the shortest time between two collections of
	// events: after handling a batch the reader sleeps out the rest, so
	// events pile up for the next epoll_wait, as a NIC's interrupt
	// moderation batches packets. It matters on loopback, where the
	// sender's core runs the receiver's TCP input: a reader asleep in, or
	// busy calling, epoll_wait makes each of the server's writes wake it
	// or fight it for the epoll lock, work a remote client's machine
	// would do. Received data waits up to every longer, which the
	// measured latency includes.
	every time.Duration

	conns        []*conn
	free         []int32
	buf          []byte
	wbuf         []byte
	arrived      int64 // the kernel's receive timestamp of the current read; 0: none
	stamp        stampedRecv
	cur          stats.Counters
	curH         *hdr.Histogram
	curSec       int
	series       stats.Series
	perSym       []SymbolCounters
	scratch      SymbolCounters  // per-symbol counts outside the window go here
	busy         []time.Duration // per second
	full         int64
	waits        int64 // epoll waits that returned events, in the window
	backlog      int64 // unread bytes in the kernel at the end
	backlogConns int   // connections with unread bytes at the end
	events       int64 // events those waits returned
	lost         map[string]int
	pings        int64
	pace         *paceStats // with maxRate only

	bm         protocol.BookMessage // scratch for DecodeBook
	inf        *deflate.Inflater    // with Subscription.Deflate only
	stall      time.Duration        // Subscription.Stall; above 0, slow conns pause
	stallEvery time.Duration
	slowConns  []*conn         // the slow readers adopted (stall only), open or not
	hand       chan chan *conn // handoff: run sends every conn (then nil) and forgets them
}

func newReader(clk *clock, names []string, symIdx map[string]uint32) (*reader, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, err
	}
	return &reader{
		epfd:   epfd,
		clk:    clk,
		symIdx: symIdx,
		buf:    make([]byte, readBuf),
		curH:   stats.NewLatency(),
		curSec: -1,
		perSym: make([]SymbolCounters, len(names)),
		lost:   map[string]int{},
		hand:   make(chan chan *conn),
	}, nil
}

// add hands c to the reader; safe from any goroutine.
func (r *reader) add(c *conn) {
	r.mu.Lock()
	r.pending = append(r.pending, c)
	r.mu.Unlock()
}

func (r *reader) adopt() {
	r.mu.Lock()
	p := r.pending
	r.pending = nil
	r.mu.Unlock()
	for _, c := range p {
		if n := len(r.free); n > 0 {
			c.slot = r.free[n-1]
			r.free = r.free[:n-1]
			r.conns[c.slot] = c
		} else {
			c.slot = int32(len(r.conns))
			r.conns = append(r.conns, c)
		}
		// Edge-triggered: read drains the socket, so epoll does not poll
		// every socket a second time just to find it empty.
		ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLRDHUP | unix.EPOLLET, Fd: c.slot}
		if err := unix.EpollCtl(r.epfd, unix.EPOLL_CTL_ADD, c.fd, &ev); err != nil {
			r.drop(c, "epoll_add")
			continue
		}
		if c.slow && r.stall > 0 {
			r.slowConns = append(r.slowConns, c)
		}
		if len(c.partial) > 0 { // frames that came with the handshake response
			r.consume(c, c.partial, time.Now().UnixNano())
		}
	}
}

// run reads until stop is set, then flushes the current second.
func (r *reader) run() {
	events := make([]unix.EpollEvent, maxEvents)
	for !r.stop.Load() {
		select {
		case out := <-r.hand:
			r.handOff(out)
		default:
		}
		r.adopt()
		r.stallSlow()
		n, err := unix.EpollWait(r.epfd, events, pollMs)
		if err != nil {
			continue // EINTR
		}
		start := time.Now()
		for i := range n {
			if c := r.conns[events[i].Fd]; c != nil && !c.paused {
				r.read(c)
			}
		}
		if n == 0 {
			continue
		}
		if sec := r.clk.second(start.UnixNano()); sec >= 0 {
			for len(r.busy) <= sec {
				r.busy = append(r.busy, 0)
			}
			r.busy[sec] += time.Since(start)
			if r.clk.inWindow(sec) {
				r.waits++
				r.events += int64(n)
				if n == maxEvents {
					r.full++
				}
			}
		}
		if r.every > 0 && n < maxEvents {
			if d := r.every - time.Since(start); d > 0 {
				time.Sleep(d)
			}
		}
	}
	r.flush(-1)
	// What the kernel holds unread when we stop: near zero when the readers
	// keep up with the server.
	for _, c := range r.conns {
		if c == nil {
			continue
		}
		if q, err := unix.IoctlGetInt(c.fd, unix.SIOCINQ); err == nil && q > 0 {
			r.backlog += int64(q)
			r.backlogConns++
		}
	}
}

// stallSlow pauses and resumes the slow readers on their schedule; a resumed
// one is read at once, as the poller is edge-triggered.
func (r *reader) stallSlow() {
	if len(r.slowConns) == 0 {
		return
	}
	t0 := r.clk.t0.Load()
	now := time.Now().UnixNano()
	keep := r.slowConns[:0]
	for _, c := range r.slowConns {
		if r.conns[c.slot] != c {
			continue // dropped
		}
		keep = append(keep, c)
		paused := t0 > 0 && now >= t0 && (now-t0+c.phase)%int64(r.stallEvery) < int64(r.stall)
		if c.paused && !paused {
			c.paused = false
			r.read(c)
		}
		c.paused = paused
	}
	clear(r.slowConns[len(keep):])
	r.slowConns = keep
}

// handOff sends every open connection on out, then nil, and forgets them:
// they are no longer polled, and the receiver owns them.
func (r *reader) handOff(out chan *conn) {
	r.adopt()
	for i, c := range r.conns {
		if c == nil {
			continue
		}
		_ = unix.EpollCtl(r.epfd, unix.EPOLL_CTL_DEL, c.fd, nil)
		r.conns[i] = nil
		r.free = append(r.free, int32(i))
		out <- c
	}
	r.slowConns = r.slowConns[:0]
	out <- nil
}

// close closes every connection and the epoll instance; call after run.
// Connections handed over but never adopted are closed too, uncounted.
func (r *reader) close() (open int) {
	for _, c := range r.conns {
		if c != nil {
			unix.Close(c.fd)
			open++
		}
	}
	r.mu.Lock()
	for _, c := range r.pending {
		unix.Close(c.fd)
	}
	r.pending = nil
	r.mu.Unlock()
	unix.Close(r.epfd)
	return open
}

// read drains c (the poller is edge-triggered) and handles the frames in
// it. A read shorter than the buffer emptied the socket, so the usual
// case is one recvfrom per event, without a second one to see EAGAIN.
func (r *reader) read(c *conn) {
	for {
		off := len(c.partial)
		if off+4096 > len(r.buf) {
			r.buf = make([]byte, 2*(off+4096))
		}
		copy(r.buf, c.partial)
		want := len(r.buf) - off
		var n int
		var err error
		if c.storm != nil {
			n, r.arrived, err = r.stamp.recv(c.fd, r.buf[off:])
		} else {
			n, err = recv(c.fd, r.buf[off:])
			r.arrived = 0
		}
		now := time.Now().UnixNano()
		switch {
		case err == unix.EAGAIN:
			return
		case err == unix.EINTR:
			continue
		case err != nil:
			r.drop(c, Cause(err))
			return
		case n == 0:
			r.drop(c, "eof")
			return
		}
		r.consume(c, r.buf[:off+n], now)
		if n < want || r.conns[c.slot] != c {
			return // drained, or dropped by consume
		}
	}
}

// recv is a non-blocking recvfrom: a socket call skips the file layer
// that read(2) goes through, and a raw system call skips the scheduler's
// bookkeeping, as the call cannot block.
func recv(fd int, p []byte) (int, error) {
	n, _, errno := unix.RawSyscall6(unix.SYS_RECVFROM, uintptr(fd), uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)), unix.MSG_DONTWAIT, 0, 0)
	if errno != 0 {
		return 0, errno
	}
	return int(n), nil
}

// consume handles the complete frames in data and keeps the rest in c.partial.
func (r *reader) consume(c *conn, data []byte, now int64) {
	for {
		f, n, err := wsframe.Next(data, maxFrame)
		if err == nil && n > 0 {
			var rsv byte
			if c.deflate {
				rsv = wsframe.Rsv1
			}
			err = f.Check(wsframe.ClientSide, false, rsv)
		}
		if err != nil {
			r.drop(c, "protocol_error")
			return
		}
		if n == 0 {
			break
		}
		data = data[n:]
		switch f.Op {
		case wsframe.OpText:
			wire := len(f.Payload)
			p := f.Payload
			if f.Rsv&wsframe.Rsv1 != 0 { // compressed (Check allows it only when negotiated)
				if p, err = r.inf.Inflate(p); err != nil {
					r.drop(c, "inflate_error")
					return
				}
			}
			r.message(c, p, wire, f.Rsv&wsframe.Rsv1 != 0, now)
		case wsframe.OpPing:
			r.pings++
			r.wbuf = wsframe.AppendClient(r.wbuf[:0], wsframe.OpPong, f.Payload)
			_, _ = unix.Write(c.fd, r.wbuf) // best effort: a full socket means we are far behind anyway
		case wsframe.OpClose:
			code, _, _ := wsframe.ParseCloseBody(f.Payload)
			c.closeCode = uint16(code)
			r.wbuf = wsframe.AppendClient(r.wbuf[:0], wsframe.OpClose, f.Payload[:min(2, len(f.Payload))])
			_, _ = unix.Write(c.fd, r.wbuf)
			r.drop(c, "close_"+strconv.Itoa(int(c.closeCode)))
			return
		default:
			r.count(now, stats.Counters{Frames: 1, Other: 1})
		}
	}
	switch {
	case len(data) == 0 && cap(c.partial) > 4096:
		c.partial = nil
	default:
		c.partial = append(c.partial[:0], data...)
	}
}

func (r *reader) count(now int64, c stats.Counters) {
	if sec := r.clk.second(now); sec >= 0 {
		r.flush(sec)
		r.cur.Add(c)
	}
}

var (
	errorType      = []byte(`"type":"error"`)
	delistedPrefix = []byte(`{"type":"delisted",`)
)

// message accounts one text message, wire bytes on the wire (compressed
// when zipped): market data by its seq, a delisted notice as the end of a
// subscription, anything else as a reply.
func (r *reader) message(c *conn, p []byte, wire int, zipped bool, now int64) {
	// Every second of the run goes into the series (the window is a range
	// of it); per-symbol counters cover the window only.
	sec := r.clk.second(now)
	in := sec >= 0
	if in {
		r.flush(sec)
		r.cur.Frames++
		r.cur.Bytes += int64(len(p))
		r.cur.WireBytes += int64(wire)
		if zipped {
			r.cur.Compressed++
			r.cur.CompressedBytes += int64(wire)
		}
	}
	typ, sym, seq, ts, ok := protocol.ScanTick(p)
	switch {
	case ok:
		r.quote(c, string(typ) == "tick", sym, seq, ts, now, sec)
	case bytes.HasPrefix(p, tradePrefix):
		sym, seq, ts, replay, ok := protocol.ScanTrade(p)
		if !ok {
			r.drop(c, "bad_trade")
			return
		}
		r.trade(c, sym, seq, ts, replay, now, sec)
	case bytes.HasPrefix(p, []byte(protocol.BookPrefix)):
		r.book(c, p, now, sec)
	case bytes.HasPrefix(p, gapPrefix):
		r.gap(c, p, in)
	case bytes.HasPrefix(p, delistedPrefix):
		r.delisted(c, p, in)
	case in:
		r.cur.Other++
		if bytes.Contains(p[:min(len(p), 24)], errorType) {
			r.cur.Errors++
		}
	}
}

var (
	tradePrefix = []byte(`{"type":"trade",`)
	gapPrefix   = []byte(`{"type":"gap",`)
)

// trade accounts a trade of sym received at now, in second sec of the run
// (-1: outside it). Trades are never merged: a seq skipped without a gap
// notice is a hole.
func (r *reader) trade(c *conn, sym []byte, seq uint64, ts int64, replay bool, now int64, sec int) {
	in := sec >= 0
	i := r.index(c, sym, in)
	if i < 0 {
		return
	}
	res, skipped := stats.TrackSeq(&c.last[i], seq)
	if st := c.storm; st != nil {
		switch {
		case !st.got[i] && st.since[i] > 0 && res != stats.SeqNext:
			st.wrongFirst++
		case res == stats.SeqJump:
			st.holes++
		case res == stats.SeqDuplicate:
			st.dups++
		case res == stats.SeqOutOfOrder:
			st.outOfOrder++
		}
		st.got[i] = true
		switch {
		case replay && st.live[i]:
			st.lateReplay++
		case replay:
			st.replays[i]++
			st.lastReplay, st.lastArrival = now, r.arrived
		default:
			st.live[i] = true
		}
	}
	if !in {
		return
	}
	ps := &r.scratch
	if r.clk.inWindow(sec) {
		ps = &r.perSym[c.syms[i]]
	}
	if replay {
		r.cur.Replays++
	} else {
		r.cur.Trades++
		ps.Ticks++
		r.latency(c, now-ts)
	}
	r.cur.Count(res, 0)
	if res == stats.SeqJump {
		r.cur.Holes++
	}
	ps.count(res, skipped)
}

// gap accounts a trades "gap" notice: the seqs it names are missed
// explicitly, so the tape goes on after them. A notice that does not
// start at the next seq expected is a hole (it starts later) or a
// duplicate (it names seqs already delivered).
func (r *reader) gap(c *conn, p []byte, in bool) {
	e, err := protocol.DecodeEvent(p)
	if err != nil || e.To < e.From {
		r.drop(c, "bad_gap")
		return
	}
	i := r.index(c, []byte(e.Symbol), in)
	if i < 0 {
		return
	}
	next := c.last[i]
	st := c.storm
	if st != nil {
		st.gaps++
		if !st.got[i] && st.since[i] > 0 && e.From != st.since[i]+1 {
			st.wrongFirst++
		}
		st.got[i] = true
	}
	bad := next != 0 && e.From != next
	switch {
	case bad && e.From > next:
		if in {
			r.cur.Holes++
		}
		if st != nil {
			st.holes++
		}
	case bad:
		if in {
			r.cur.Duplicates++
		}
		if st != nil {
			st.dups++
		}
	}
	c.last[i] = max(next, e.To+1)
	if in {
		r.cur.Gaps++
		r.cur.GapMissed += int64(e.To - e.From + 1)
	}
}

// book applies a "book" message to the connection's mirror of its symbol
// and counts what it was and whether it applied, its checksum matching.
func (r *reader) book(c *conn, p []byte, now int64, sec int) {
	in := sec >= 0
	m := &r.bm
	if err := protocol.DecodeBook(p, m); err != nil {
		if in {
			r.cur.BadBooks++
		}
		return
	}
	i := r.index(c, []byte(m.Symbol), in)
	if i < 0 {
		return
	}
	if c.books == nil { // not subscribed to books
		if in {
			r.cur.Unexpected++
		}
		return
	}
	mirror := &c.books[i]
	_, valid := mirror.Seq()
	had := c.last[i] != 0
	c.last[i] = m.Seq + 1
	err := mirror.Apply(m)
	if !in {
		return
	}
	if m.Snapshot {
		r.cur.BookSnapshots++
		if had {
			r.cur.Resyncs++
		}
		if c.slow {
			r.cur.SlowSnapshots++
		}
	} else {
		r.cur.BookDeltas++
		r.latency(c, now-m.TS)
	}
	switch {
	case err == nil:
	case !m.Snapshot && !valid:
		// The book broke before; counted then.
	case errors.Is(err, book.ErrChecksum):
		r.cur.Mismatches++
	default:
		r.cur.BadBooks++
	}
}

// latency records a data message's latency (receive time less its ts, in
// ns) on c; a slow reader's are left out, as its stalls make them.
func (r *reader) latency(c *conn, lat int64) {
	if lat < 0 {
		r.cur.Negative++
	}
	if !c.slow {
		stats.Record(r.curH, lat/1000)
	}
}

// index returns the position of sym in c.syms, or -1 (counted as
// unexpected when in) for a symbol c did not subscribe to.
func (r *reader) index(c *conn, sym []byte, in bool) int {
	i := -1
	if id, known := r.symIdx[string(sym)]; known {
		i = c.index(id)
	}
	if i < 0 && in {
		r.cur.Unexpected++
	}
	return i
}

// quote accounts a tick or a snapshot of sym received at now, in second
// sec of the run (-1: outside it).
func (r *reader) quote(c *conn, tick bool, sym []byte, seq uint64, ts, now int64, sec int) {
	in := sec >= 0
	i := -1
	if id, known := r.symIdx[string(sym)]; known {
		i = c.index(id)
	}
	switch {
	case i < 0:
		if in {
			r.cur.Unexpected++
		}
		return
	case c.last[i] == ended:
		if in {
			r.cur.AfterDelisted++
		}
		return
	}
	res, merged := stats.TrackSeq(&c.last[i], seq)
	if !in {
		return
	}
	ps := &r.scratch
	if r.clk.inWindow(sec) {
		ps = &r.perSym[c.syms[i]]
		if c.pace != nil && (res == stats.SeqFirst || res == stats.SeqNext || res == stats.SeqJump) {
			c.pace[i].see(now, seq, r.pace.interval)
		}
	}
	if tick {
		r.cur.Ticks++
		ps.Ticks++
		r.latency(c, now-ts)
	} else {
		r.cur.Snapshots++
	}
	r.cur.Count(res, merged)
	ps.count(res, merged)
}

// delisted ends the subscription a delisted notice names; a notice for a
// symbol c does not hold (or no longer holds) counts as unexpected.
func (r *reader) delisted(c *conn, p []byte, in bool) {
	i := -1
	if e, err := protocol.DecodeEvent(p); err == nil {
		if id, known := r.symIdx[e.Symbol]; known {
			i = c.index(id)
		}
	}
	if i >= 0 && c.last[i] != ended {
		c.last[i] = ended
		if in {
			r.cur.Delisted++
		}
		return
	}
	if in {
		r.cur.Delisted++
		r.cur.Unexpected++
	}
}

// paces adds the pace of every subscription of every open connection to
// r.pace; call after run.
func (r *reader) paces() {
	for _, c := range r.conns {
		if c == nil {
			continue
		}
		for i := range c.pace {
			r.pace.add(&c.pace[i], r.maxRate)
		}
	}
}

// flush moves the current second into the series when sec differs from it
// (-1 always flushes).
func (r *reader) flush(sec int) {
	if sec == r.curSec {
		return
	}
	if r.curSec >= 0 {
		_ = r.series.Add(r.curSec, r.cur, r.curH) // cannot fail: same geometry, second >= 0
		r.cur = stats.Counters{}
		r.curH.Reset()
	}
	r.curSec = sec
}

// drop closes c and counts why.
func (r *reader) drop(c *conn, cause string) {
	if c.slot >= 0 && int(c.slot) < len(r.conns) && r.conns[c.slot] == c {
		_ = unix.EpollCtl(r.epfd, unix.EPOLL_CTL_DEL, c.fd, nil)
		r.conns[c.slot] = nil
		r.free = append(r.free, c.slot)
	}
	unix.Close(c.fd)
	r.lost[cause]++
}
