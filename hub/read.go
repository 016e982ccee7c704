package hub

import (
	"errors"
	"runtime"
	"runtime/debug"
	"slices"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/tickerd/tickerd/internal/wsframe"
	"golang.org/x/sys/unix"
)

// readers is the pool of goroutines that read client frames. The poller
// queues a connection when epoll reports data; a connection is queued at
// most once (conn.rstate), so the queue is bounded by MaxConns.
type readers struct {
	h    *Hub
	mu   sync.Mutex
	cond *sync.Cond
	q    []*conn // guarded by mu
	stop bool    // guarded by mu
	wg   sync.WaitGroup
}

// readBudget is how many reads one connection gets before it goes to the
// back of the queue, so a flooding client cannot hold a reader.
const readBudget = 8

// shardWaiting reports whether a shard has work it has not taken yet.
// Any goroutine.
func (h *Hub) shardWaiting() bool {
	return slices.ContainsFunc(h.shards, (*shard).waiting)
}

// readSlice is how long a reader serves bulk requests (a connection
// whose requests named over bulkNames symbols) before it yields
// (runtime.Gosched) to a shard that waits to run. With GOMAXPROCS=1 the
// Go scheduler preempts a goroutine only after 10 ms: without it, ten
// clients that each sent a 36 KB subscribe, or 500 that subscribed to
// 100 symbols at once, held every other client's quotes back for as long
// as the reader took over all of them (`go run ./bench -scenario hostile
// -attacks reply-flood,stalled-readers`). Small requests do not count:
// 10,000 clients resuming a tape at once (`-scenario trades`) each send
// a one-symbol subscribe, and yielding among those left them waiting on
// the reader while the shard wrote (the storm's p99 417-447 ms became
// 721-755 ms).
const (
	readSlice = 200 * time.Microsecond
	bulkNames = 32
)

func (r *readers) start(h *Hub, n int) {
	r.h = h
	r.cond = sync.NewCond(&r.mu)
	for range n {
		rd := newReader(h, make([]byte, h.cfg.MaxMessageBytes+maxClientHeader+readChunk))
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			r.loop(rd)
		}()
	}
}

// schedule queues c for a reader: the poller calls it when c is readable,
// and a shard when c's client sent frames right behind its upgrade
// request. It never blocks.
// A connection is in the queue or held by a reader at most once: rstate
// counts the events since a reader last looked, and a reader that is done
// resets it only if no event came meanwhile.
func (r *readers) schedule(c *conn) {
	for {
		v := c.rstate.Load()
		if v&rDead != 0 {
			return // finished; a callback that ran after epoll Del
		}
		if c.rstate.CompareAndSwap(v, v+1) {
			if v == 0 {
				r.push(c)
			}
			return
		}
	}
}

func (r *readers) push(c *conn) {
	r.mu.Lock()
	r.q = append(r.q, c)
	r.mu.Unlock()
	r.cond.Signal()
}

// close stops the readers. The shards have finished every connection and
// the poller has stopped by then; the fds of those still queued are
// released here.
func (r *readers) close() {
	r.mu.Lock()
	r.stop = true
	r.mu.Unlock()
	r.cond.Broadcast()
	r.wg.Wait()
	r.mu.Lock()
	q := r.q
	r.q = nil
	r.mu.Unlock()
	for _, c := range q {
		if c.rstate.Load()&rDead != 0 {
			c.release()
		}
	}
}

func (r *readers) loop(rd *reader) {
	var busy time.Duration // on bulk requests since it last let a shard run
	for {
		r.mu.Lock()
		for len(r.q) == 0 && !r.stop {
			busy = 0
			r.cond.Wait()
		}
		if r.stop {
			r.mu.Unlock()
			return
		}
		c := r.q[0]
		r.q[0] = nil
		r.q = r.q[1:]
		if len(r.q) == 0 {
			r.q = r.q[:0:0]
		}
		r.mu.Unlock()

		start := time.Now()
		rd.names = 0
		for {
			seen := c.rstate.Load()
			if seen&rDead != 0 {
				c.release() // finished while queued or held: the fd is ours to close
				break
			}
			if !rd.safeServe(c) {
				r.push(c) // budget spent, data left: go to the back
				break
			}
			if c.rstate.CompareAndSwap(seen, 0) {
				break
			}
		}
		if rd.names > bulkNames {
			busy += time.Since(start)
		}
		if busy > readSlice && r.h.shardWaiting() {
			// Bulk requests keep coming: let the shard they may have
			// held back write before serving the next.
			runtime.Gosched()
			busy = 0
		}
	}
}

const (
	maxClientHeader = wsframe.MaxHeaderLen
	readChunk       = 16 << 10
	// minPartial is the least a partial frame's buffer is made for: a
	// header and a little, so a frame that arrives in small pieces is not
	// copied on each.
	minPartial = 64
)

// reader is one reading goroutine's state.
type reader struct {
	h       *Hub
	buf     []byte    // scratch: a carried-over partial frame, then what was read
	out     frameSink // where whole messages and control frames go: the reader itself
	max     int       // the largest message: h.cfg.MaxMessageBytes
	timeout int64     // ns to finish a frame or message: h.cfg.FrameTimeout; 0: none

	// The bytes being parsed.
	now   int64 // Unix ns of the read they came from
	start int64 // Unix ns when the frame being parsed began
	// ping holds the latest ping not answered yet, if pinged: a run of
	// pings gets one pong, sent before anything else the client caused.
	ping   [125]byte
	pingN  uint8
	pinged bool
	// names counts the symbols the requests served name, for the
	// reader's time slice (readSlice).
	names int
}

// frameSink takes what the frame parser finds: the reader itself (see
// request.go); the fuzz test records instead.
type frameSink interface {
	request(c *conn, op wsframe.OpCode, p []byte) // a whole data message; p is only valid during the call
	pong(c *conn, p []byte)                       // answer the ping with payload p (only valid during the call)
	peerClosed(c *conn, code wsframe.StatusCode)  // the client's close frame
	pingDropped()                                 // a ping answered by a later one's pong
}

func newReader(h *Hub, buf []byte) *reader {
	rd := &reader{h: h, buf: buf, max: h.cfg.MaxMessageBytes, timeout: int64(h.cfg.FrameTimeout)}
	rd.out = rd
	return rd
}

// errFrameTimeout closes a client that did not finish a frame or a
// fragmented message within FrameTimeout.
var errFrameTimeout = &closeErr{wsframe.StatusPolicyViolation, "frame not finished in time", reasonFrameTimeout}

// consume parses data, whose first carried bytes are those c's partial
// frame carried over, handles every whole frame and carries the rest. now
// is when data was read (Unix ns).
func (rd *reader) consume(c *conn, data []byte, carried int, now int64) *closeErr {
	rd.now, rd.start = now, now
	if p := c.part; carried > 0 && p != nil && p.frameAt != 0 {
		rd.start = p.frameAt
	}
	rest, cerr := rd.frames(c, data)
	rd.answerPing(c) // before the close an error brings, as if it came alone
	if cerr != nil {
		return cerr
	}
	rd.keep(c, rest, carried > 0 && len(rest) == len(data))
	if p := c.part; p != nil && rd.timeout > 0 {
		if at := p.started(); at != 0 && now-at > rd.timeout {
			return errFrameTimeout
		}
	}
	c.dropPartial()
	return nil
}

// keep carries rest, the start of an incomplete frame, to the next read;
// same says it is the frame that was carried before. The buffer grows
// with the bytes that arrived, never with the length a header announces:
// it is made for at most twice what is in it (and never more than the
// whole frame), so each byte is still copied only a few times on its way.
func (rd *reader) keep(c *conn, rest []byte, same bool) {
	if len(rest) == 0 {
		if c.part != nil {
			c.part.rbuf, c.part.frameAt = nil, 0
		}
		return
	}
	if c.part == nil {
		c.part = &partial{}
	}
	p := c.part
	if !same || p.frameAt == 0 {
		p.frameAt = rd.now // began in this read
	}
	if old := p.rbuf; len(old) > 0 && &old[0] == &rest[0] {
		p.rbuf = rest // the same frame, already in its own buffer
		return
	}
	size := len(rest)
	if len(rest) >= 2 {
		if h, hlen, err := wsframe.ParseHeader(rest); err == nil && hlen > 0 && h.Length <= int64(rd.max) {
			size = min(hlen+int(h.Length), max(2*len(rest), minPartial))
		}
	}
	b := make([]byte, len(rest), size)
	copy(b, rest)
	p.rbuf = b
}

// room returns the free tail of p's buffer if the next read should go
// straight there: when it holds the rest of the frame, or a fair amount.
// Otherwise the read goes to the reader's scratch, behind a copy of rbuf.
func (p *partial) room() []byte {
	b := p.rbuf
	free := b[len(b):cap(b)]
	if len(b) < 2 || len(free) == 0 {
		return nil
	}
	if len(free) >= readChunk/4 {
		return free
	}
	if h, hlen, err := wsframe.ParseHeader(b); err == nil && hlen > 0 && int64(hlen)+h.Length-int64(len(b)) <= int64(len(free)) {
		return free
	}
	return nil
}

// started returns when the oldest unfinished part of what p holds began
// (Unix ns): the fragmented message, or else the partial frame; 0: none.
func (p *partial) started() int64 {
	if p.fragT != 0 && p.msgAt != 0 {
		return p.msgAt
	}
	return p.frameAt
}

var errEOF = errors.New("hub: connection closed by peer")

// serve reads what c has, up to readBudget reads, and handles each whole
// frame. It reports false when the budget ran out with data maybe left.
func (rd *reader) serve(c *conn) bool {
	for range readBudget {
		// The fd stays open while this reader holds c (see rDead), and it
		// is non-blocking: a read never waits.
		var data []byte
		n, err, carried := 0, error(nil), 0
		if p := c.part; p != nil && len(p.rbuf) > 0 {
			carried = len(p.rbuf)
			if room := p.room(); room != nil {
				// Straight into the partial frame's buffer: each byte is
				// copied once.
				n, err = readFD(int(c.fd), room)
				data = p.rbuf[:len(p.rbuf)+max(n, 0)]
			} else {
				off := copy(rd.buf, p.rbuf)
				n, err = readFD(int(c.fd), rd.buf[off:off+readChunk])
				data = rd.buf[:off+max(n, 0)]
			}
		} else {
			n, err = readFD(int(c.fd), rd.buf[:readChunk])
			data = rd.buf[:max(n, 0)]
		}
		if err == nil && n == 0 {
			err = errEOF
		}
		if err == unix.EAGAIN {
			// Nothing new. Carried bytes are parsed again, which costs
			// nothing for a partial frame and handles bytes that came
			// right behind the upgrade request.
			n, err = 0, nil
			if len(data) == 0 {
				c.dropPartial()
				return true
			}
		}
		if err != nil {
			rd.hangup(c)
			return true
		}
		now := time.Now()
		if n > 0 {
			c.lastIn.Store(now.Unix())
		}
		if cerr := rd.consume(c, data, carried, now.UnixNano()); cerr != nil {
			rd.protocolClose(c, cerr)
			return true
		}
		if n == 0 {
			return true
		}
	}
	return false
}

// safeServe is serve with a last line of defence: a bug that panics on
// some client's bytes closes that client (1011) and is logged, instead of
// taking every other client down with the process.
func (rd *reader) safeServe(c *conn) (done bool) {
	defer func() {
		if v := recover(); v != nil {
			rd.pinged = false // the next connection must not answer this one's ping
			rd.h.log.Error("reader panic: closing the connection", "panic", v, "stack", string(debug.Stack()))
			rd.protocolClose(c, &closeErr{wsframe.StatusInternalServerError, "internal error", reasonError})
			done = true
		}
	}()
	return rd.serve(c)
}

// readFD reads from a non-blocking fd, retrying EINTR.
func readFD(fd int, b []byte) (int, error) {
	for {
		n, err := unix.Read(fd, b)
		if err != unix.EINTR {
			return n, err
		}
	}
}

// dropPartial frees c.part once nothing is pending in it.
func (c *conn) dropPartial() {
	if p := c.part; p != nil && p.rbuf == nil && p.fragT == 0 {
		c.part = nil
	}
}

// closeErr is a reason to close the connection with a status code, and
// the reason it is counted under (a protocol error unless set).
type closeErr struct {
	code   wsframe.StatusCode
	reason string
	why    closeReason
}

func (e *closeErr) Error() string { return e.reason }

// protoErr closes a client that broke RFC 6455 with the status the
// violation calls for (wsframe.ProtocolError).
func protoErr(err error) *closeErr {
	if pe, ok := err.(*wsframe.ProtocolError); ok {
		return &closeErr{pe.Status, pe.Reason, reasonProtocol}
	}
	return &closeErr{wsframe.StatusProtocolError, err.Error(), reasonProtocol}
}

// errTooBig closes a client whose message is over MaxMessageBytes.
var errTooBig = &closeErr{wsframe.StatusMessageTooBig, "message too big", reasonProtocol}

// frames handles every whole frame in b and returns the bytes of an
// incomplete one at its end.
func (rd *reader) frames(c *conn, b []byte) ([]byte, *closeErr) {
	for ; len(b) >= 2; rd.start = rd.now {
		if c.gotClose {
			return nil, nil // nothing after the client's close frame counts
		}
		if c.stopped || c.closing.Load() {
			// After a close only the client's close frame matters; the
			// shard closes the socket when it comes or times out.
			return rd.drainClosing(c, b)
		}
		h, hlen, err := wsframe.ParseHeader(b)
		if err != nil {
			return nil, protoErr(err)
		}
		if hlen == 0 {
			break
		}
		if h.Length > int64(rd.max) {
			return nil, errTooBig
		}
		fragmented := c.part != nil && c.part.fragT != 0
		if fragmented && h.Op == wsframe.OpContinuation && int64(len(c.part.frag))+h.Length > int64(rd.max) {
			return nil, errTooBig // known from the header: no need to wait for the bytes
		}
		if err := h.Check(wsframe.ServerSide, fragmented, c.rsv()); err != nil {
			return nil, protoErr(err)
		}
		if int64(len(b)-hlen) < h.Length {
			break
		}
		payload := b[hlen : hlen+int(h.Length)]
		b = b[hlen+int(h.Length):]
		wsframe.Cipher(payload, h.Mask, 0)
		if cerr := rd.frame(c, h, payload); cerr != nil {
			return nil, cerr
		}
	}
	return b, nil
}

// drainClosing looks for the client's close frame in b and drops the rest.
func (rd *reader) drainClosing(c *conn, b []byte) ([]byte, *closeErr) {
	for len(b) >= 2 {
		h, hlen, err := wsframe.ParseHeader(b)
		if err != nil {
			return nil, nil // nothing more will be read: drop it
		}
		if hlen == 0 || int64(len(b)-hlen) < h.Length {
			if len(b) > maxClientHeader+wsframe.MaxControlPayload {
				return nil, nil // a data frame we will not read: drop it
			}
			return b, nil
		}
		if h.Op == wsframe.OpClose {
			c.gotClose = true
			rd.out.peerClosed(c, 0)
			return nil, nil
		}
		b = b[hlen+int(h.Length):]
	}
	return b, nil
}

// frame handles one complete, unmasked frame.
func (rd *reader) frame(c *conn, h wsframe.Header, p []byte) *closeErr {
	switch h.Op {
	case wsframe.OpPing:
		if rd.pinged {
			rd.out.pingDropped()
		}
		rd.pingN = uint8(copy(rd.ping[:], p))
		rd.pinged = true
		return nil
	case wsframe.OpPong:
		return nil
	case wsframe.OpClose:
		rd.answerPing(c)
		return rd.closeFrame(c, p)
	case wsframe.OpText, wsframe.OpBinary:
		if !h.Fin {
			if c.part == nil {
				c.part = &partial{}
			}
			c.part.fragT, c.part.msgAt = h.Op, rd.start
			c.part.fragZ = h.Rsv&wsframe.Rsv1 != 0
			c.part.frag = append(make([]byte, 0, len(p)), p...)
			return nil
		}
		return rd.message(c, h.Op, p, h.Rsv&wsframe.Rsv1 != 0)
	case wsframe.OpContinuation:
		f := c.part // not nil: CheckHeader refused a continuation without a start
		if need := len(f.frag) + len(p); need > cap(f.frag) {
			// Grow with what came, within the message limit.
			f.frag = slices.Grow(f.frag, min(max(2*cap(f.frag), need), rd.max)-len(f.frag))
		}
		f.frag = append(f.frag, p...)
		if !h.Fin {
			return nil
		}
		op, msg, z := f.fragT, f.frag, f.fragZ
		f.frag, f.fragT, f.msgAt, f.fragZ = nil, 0, 0, false
		return rd.message(c, op, msg, z)
	}
	return protoErr(wsframe.ErrReservedOpcode)
}

// answerPing sends the pong for the latest ping, if one is unanswered.
func (rd *reader) answerPing(c *conn) {
	if rd.pinged {
		rd.pinged = false
		rd.out.pong(c, rd.ping[:rd.pingN])
	}
}

func (rd *reader) closeFrame(c *conn, p []byte) *closeErr {
	code, _, err := wsframe.ParseCloseBody(p)
	if err != nil {
		return protoErr(err)
	}
	if code == wsframe.StatusNoStatus {
		code = 0 // no body: the echo has none either
	}
	c.gotClose = true
	rd.out.peerClosed(c, code)
	return nil
}

// message handles one whole data message; compressed says its first
// frame had RSV1 (permessage-deflate): p is inflated first.
func (rd *reader) message(c *conn, op wsframe.OpCode, p []byte, compressed bool) *closeErr {
	if compressed {
		msg, done, cerr := rd.h.z.inflate(p)
		if cerr != nil {
			return cerr
		}
		defer done()
		p = msg
	}
	if op == wsframe.OpText && !utf8.Valid(p) {
		return errInvalidUTF8Text
	}
	rd.answerPing(c)
	rd.out.request(c, op, p)
	return nil
}

// errInvalidUTF8Text closes a client that sent a text message that is not UTF-8.
var errInvalidUTF8Text = &closeErr{wsframe.StatusInvalidFramePayloadData, "invalid utf-8 in text message", reasonProtocol}

func pongFrame(p []byte) []byte {
	return serverFrame(wsframe.OpPong, p)
}
