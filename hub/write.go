package hub

import (
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/tickerd/tickerd/internal/wsframe"
)

// iovMax is the kernel's limit on the buffers of one sendmsg.
const iovMax = 1024

// writer holds a shard's reusable write scratch.
type writer struct {
	bufs [][]byte
	iov  []unix.Iovec
	msg  unix.Msghdr
}

// sendFlags are the flags of every send: never block, never raise SIGPIPE.
const sendFlags = unix.MSG_DONTWAIT | unix.MSG_NOSIGNAL

// sendmsg writes bufs to the non-blocking socket fd with as few system
// calls as the kernel allows (sendmsg, or send for a single buffer) and
// returns how many bytes it took. A socket that is full yields n short of
// the total and a nil error.
func (w *writer) sendmsg(fd int, bufs [][]byte) (n int, calls int, err error) {
	for len(bufs) > 0 {
		chunk := bufs
		if len(chunk) > iovMax {
			chunk = chunk[:iovMax]
		}
		w.iov = w.iov[:0]
		want := 0
		for _, b := range chunk {
			if len(b) == 0 {
				continue
			}
			v := unix.Iovec{Base: &b[0]}
			v.SetLen(len(b))
			w.iov = append(w.iov, v)
			want += len(b)
		}
		bufs = bufs[len(chunk):]
		if want == 0 {
			continue
		}
		var m uintptr
		var errno unix.Errno
		for {
			// send/sendmsg rather than write/writev: the socket calls
			// skip the file layer (vfs_write, the position lock), and
			// MSG_NOSIGNAL turns a peer's reset into EPIPE without a
			// SIGPIPE. The socket is non-blocking, so the call cannot
			// park the thread: RawSyscall skips the scheduler's
			// bookkeeping.
			if len(w.iov) == 1 {
				m, _, errno = unix.RawSyscall6(unix.SYS_SENDTO, uintptr(fd), uintptr(unsafe.Pointer(w.iov[0].Base)), uintptr(w.iov[0].Len), sendFlags, 0, 0)
			} else {
				w.msg.Iov = &w.iov[0]
				w.msg.SetIovlen(len(w.iov))
				m, _, errno = unix.RawSyscall(unix.SYS_SENDMSG, uintptr(fd), uintptr(unsafe.Pointer(&w.msg)), sendFlags)
				w.msg.Iov = nil
			}
			if errno != unix.EINTR {
				break
			}
		}
		calls++
		if errno == unix.EAGAIN {
			return n, calls, nil
		}
		if errno != 0 {
			return n, calls, errno
		}
		n += int(m)
		if int(m) < want {
			return n, calls, nil
		}
	}
	return n, calls, nil
}

// collect gathers what c has to send: replies first, then, for each
// subscription on its pending list, what it has not been sent yet. It
// returns s.w.bufs holding them, and the bytes of replies at their front.
// Its cost follows what changed for c, not how many subscriptions c has.
func (s *shard) collect(c *conn) (bufs [][]byte, replies int) {
	bufs = append(s.w.bufs[:0], c.ctrl...)
	for _, f := range c.ctrl {
		replies += len(f)
	}
	c.ctrl = nil // replies are rare: an idle connection holds no slice for them
	if c.state != stateOpen {
		return bufs, replies
	}
	var msgs, merged uint64
	now := time.Now().UnixNano()
	for _, i := range c.pending {
		if int(i) >= len(c.subs) {
			continue // stale: see unlink
		}
		e := &c.subs[i]
		if e.pos&subPending == 0 {
			continue // stale, or a second entry
		}
		e.pos &^= subPending
		u := e.st.latest.Load()
		if u == nil || u.ver == e.sent {
			continue
		}
		if e.pos&subSnap != 0 {
			bufs = append(bufs, u.snap)
			e.pos &^= subSnap
		} else if d := u.ver - e.sent; d == 1 {
			bufs = append(bufs, u.tick)
		} else if s.keepingUp && d <= ringSize && e.st.fan.Load().appendRecent(&bufs, e.sent, u, now, &s.n) {
			msgs += uint64(d - 1)
		} else {
			// Behind, or too far behind: the latest value wins and
			// the client sees the seq jump.
			bufs = append(bufs, u.tick)
			merged += uint64(d - 1)
		}
		e.sent = u.ver
		msgs++
		s.n.observe(now - u.ts)
	}
	c.pending = c.pending[:0]
	s.n.msgs += msgs
	s.n.merged += merged
	return bufs, replies
}

// appendRecent appends the tick frames of the updates after ver sent up
// to and including u, in order, if the ring still holds all of them.
// Their latency goes to st (u's is counted by the caller).
func (f *fanout) appendRecent(bufs *[][]byte, sent uint32, u *update, now int64, st *counts) bool {
	var got [ringSize]*update
	n := 0
	for v := sent + 1; v != u.ver; v++ {
		p := f.ring[v%ringSize].Load()
		if p == nil || p.ver != v {
			return false // overwritten already
		}
		got[n] = p
		n++
	}
	for _, p := range got[:n] {
		*bufs = append(*bufs, p.tick)
		st.observe(now - p.ts)
	}
	*bufs = append(*bufs, u.tick)
	return true
}

// write sends c's pending bytes: first the rest of an earlier short write,
// then everything collect finds. It never waits for the socket.
func (s *shard) write(c *conn) {
	if c.tls != nil {
		if c.blocked.Load() {
			return // the writer is busy; written marks c dirty again
		}
		bufs, replies := s.collect(c)
		if len(bufs) > 0 {
			s.sendTLS(c, bufs, replies) // copies the slice headers
		}
		s.w.reuse(bufs)
		return
	}
	if len(c.out) > 0 {
		out, replies := c.out, int(c.outReply)
		c.out, c.outReply = nil, 0
		if !s.send(c, out, replies) {
			return
		}
	}
	bufs, replies := s.collect(c)
	if len(bufs) > 0 {
		s.send(c, bufs, replies)
	}
	s.w.reuse(bufs)
}

// reuse keeps bufs, collect's result, as scratch for the next write. Only
// the part used is cleared, so frames are not kept alive by it.
func (w *writer) reuse(bufs [][]byte) {
	clear(bufs)
	w.bufs = bufs[:0]
}

// send writes bufs to c; the first replies bytes are replies, given back
// to c's reply budget as the socket takes them. When the socket takes
// everything it reports true. Otherwise the rest is kept in c.out until
// EPOLLOUT says the socket has room (see poller), and send reports false.
func (s *shard) send(c *conn, bufs [][]byte, replies int) bool {
	total := 0
	for _, b := range bufs {
		total += len(b)
	}
	n, calls, err := s.w.sendmsg(c.fd, bufs)
	if err == nil && n < total && !c.blocked.Load() {
		// Mark blocked before trying once more: an EPOLLOUT that comes
		// after this store is seen by the poller, and one that came
		// before it is made up for by the retry.
		c.blocked.Store(true)
		rest := rest(bufs, n)
		var m, k int
		m, k, err = s.w.sendmsg(c.fd, rest)
		n += m
		calls += k
	}
	s.n.writes += uint64(calls)
	s.n.bytes += uint64(n)
	if replies > 0 {
		took := min(n, replies)
		c.replyBytes.Add(-int32(took))
		replies -= took
	}
	if err != nil {
		s.finish(c, reasonWriteError)
		return false
	}
	if n == total {
		c.blocked.Store(false)
		c.blockedAt = 0
		if c.state == stateClosing && c.closeW && len(c.ctrl) == 0 {
			// The close frame is out: half-close so the client reads it
			// followed by EOF, then wait for its close frame.
			_ = unix.Shutdown(c.fd, unix.SHUT_WR)
			c.closeW = false
		}
		return true
	}
	c.out = append([][]byte(nil), rest(bufs, n)...)
	c.outReply = int32(replies)
	if c.blockedAt == 0 {
		c.blockedAt = time.Now().UnixNano()
		s.trackBlocked(c)
	}
	return false
}

// trackBlocked puts c in the list housekeep checks for the backlog
// timeout, once.
func (s *shard) trackBlocked(c *conn) {
	if !c.inBlocked {
		c.inBlocked = true
		s.blocked = append(s.blocked, c)
	}
}

// rest returns bufs without their first n bytes. It may reslice bufs.
func rest(bufs [][]byte, n int) [][]byte {
	for len(bufs) > 0 && n >= len(bufs[0]) {
		n -= len(bufs[0])
		bufs = bufs[1:]
	}
	if n > 0 {
		first := bufs[0][n:]
		out := make([][]byte, len(bufs))
		out[0] = first
		copy(out[1:], bufs[1:])
		return out
	}
	return bufs
}

// serverFrame returns a new slice holding payload as one final, unmasked
// frame of opcode op.
func serverFrame(op wsframe.OpCode, payload []byte) []byte {
	b := make([]byte, 0, wsframe.MaxServerHeaderLen+len(payload))
	return wsframe.AppendFrame(b, wsframe.Header{Fin: true, Op: op}, payload)
}

// textFrame returns a new slice holding payload as one final text frame.
func textFrame(payload []byte) []byte { return serverFrame(wsframe.OpText, payload) }

// appendTextHeader appends the header of a final text frame of n bytes.
func appendTextHeader(dst []byte, n int) []byte {
	return wsframe.AppendHeader(dst, wsframe.Header{Fin: true, Op: wsframe.OpText, Length: int64(n)})
}

// closeFrame returns a close frame with the given code and reason (cut to
// fit). A zero code gives a close frame with no body.
func closeFrame(code wsframe.StatusCode, reason string) []byte {
	if code == 0 {
		return serverFrame(wsframe.OpClose, nil)
	}
	return serverFrame(wsframe.OpClose, wsframe.AppendCloseBody(nil, code, wsframe.TrimReason(reason)))
}

// isPong reports whether frame is a pong frame.
func isPong(frame []byte) bool { return len(frame) > 0 && frame[0] == 0x80|wsframe.OpPong }

// pingFrame is sent to every connection each PingInterval; it is shared
// and never modified.
var pingFrame = serverFrame(wsframe.OpPing, nil)
