package hub

import (
	"crypto/tls"
	"errors"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// tlsConn is the TLS side of a connection served over wss:// directly.
//
// crypto/tls keeps decrypted bytes and whole records that epoll cannot
// see, and a TLS write cannot stop halfway, so a TLS connection is not on
// the raw-fd path. Its socket is on the hub's epoll for reads only: when
// bytes arrive, a TLS reader goroutine starts (readTLSSoon), reads what
// there is (a record it has part of may hold it, never another
// connection), parses it with the same code as the epoll readers, and
// ends when the socket has nothing more; an idle connection has no
// goroutine. A writer goroutine exists only while a batch is being written
// (over a TLSListener's socket, until crypto/tls has handed the batch's
// records to the socket; the shard writes what the socket did not take
// when epoll says it can, see sendTLS). The shard still decides what to
// send: while a batch is out the connection counts as blocked, updates
// merge, and the backlog timeout applies as for any connection. Every
// goroutine of the connection ends when the shard closes the TCP
// connection; Hub.Close waits for them.
//
// For the most connections per byte, terminate TLS in front of tickerd
// (docs/ops/nginx.conf) and serve plain WebSocket.
type tlsConn struct {
	nc   *tls.Conn
	tcp  net.Conn        // under nc; closing it ends every goroutine of the connection
	raw  syscall.RawConn // tcp's
	fd   int32           // tcp's socket, for epoll; valid until the shard closes tcp
	sock *sock           // tcp, if it came from a TLSListener; else nil

	// reading is set while a TLS reader runs for the connection (or it
	// hung up: then no reader starts again).
	reading atomic.Bool
	// waitOut is set by the shard while records of a batch wait in sock
	// for the socket: the poller's EPOLLOUT then wakes the shard.
	waitOut atomic.Bool
}

// newTLSConn wraps the upgraded connection nc, whose socket gets the send
// buffer cap of plain connections (sndbuf, if above 0).
func newTLSConn(nc *tls.Conn, sndbuf int) (*tlsConn, error) {
	tcp := nc.NetConn()
	sc, ok := tcp.(syscall.Conn)
	if !ok {
		return nil, errors.New("hub: TLS connection without a socket")
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return nil, err
	}
	t := &tlsConn{nc: nc, tcp: tcp, raw: raw}
	var serr error
	if err := raw.Control(func(fd uintptr) {
		t.fd = int32(fd)
		if sndbuf > 0 {
			serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_SNDBUF, sndbuf)
		}
	}); err != nil {
		return nil, err
	}
	if serr != nil {
		return nil, os.NewSyscallError("setsockopt", serr)
	}
	if sk, ok := tcp.(*sock); ok {
		sk.own()
		t.sock = sk
	}
	return t, nil
}

// room returns how many bytes t's socket takes now without refusing any:
// its send buffer less what its queue holds, as the kernel counts them
// (SO_MEMINFO: SK_MEMINFO_SNDBUF and SK_MEMINFO_WMEM_QUEUED, where a byte
// queued costs more than a byte when the client's window is small); 0 if
// the kernel does not say. Any goroutine.
func (t *tlsConn) room() int {
	var mem [unix.SK_MEMINFO_VARS]uint32
	var errno syscall.Errno
	_ = t.raw.Control(func(fd uintptr) {
		size := uint32(unsafe.Sizeof(mem))
		_, _, errno = unix.Syscall6(unix.SYS_GETSOCKOPT, fd, unix.SOL_SOCKET, unix.SO_MEMINFO,
			uintptr(unsafe.Pointer(&mem[0])), uintptr(unsafe.Pointer(&size)), 0)
	})
	if errno != 0 {
		return 0
	}
	return max(0, int(mem[unix.SK_MEMINFO_SNDBUF])-int(mem[unix.SK_MEMINFO_WMEM_QUEUED]))
}

// tlsBufSize is the size of the buffers TLS readers and writers borrow:
// a whole record's plaintext.
const tlsBufSize = 16 << 10

// tlsBufs lends TLS readers and writers a buffer only while they move
// bytes, so an idle connection holds none.
var tlsBufs = sync.Pool{New: func() any { b := make([]byte, tlsBufSize); return &b }}

// readTLSSoon starts c's TLS reader unless one runs: first on early
// (bytes the client sent right behind the upgrade request, which the shard
// passes when it opens c), then on what crypto/tls holds and the socket
// has. It runs on the shard (open) and on the epoll goroutine.
func (h *Hub) readTLSSoon(c *conn, early []byte) {
	if !c.tls.reading.CompareAndSwap(false, true) {
		return
	}
	h.tlsReads.Add(1)
	go func() {
		defer h.tlsReads.Done()
		newReader(h, nil).readTLS(c, early)
	}()
}

// readTLS is a TLS reader goroutine: it reads and parses until the socket
// has nothing more, then ends, unless bytes came while it was ending (their
// epoll event found it running). It ends for good at EOF or an error.
func (rd *reader) readTLS(c *conn, early []byte) {
	t := c.tls
	ok := rd.consumeTLS(c, early)
	if err := rd.drainTLS(c, ok); err != nil {
		rd.hangup(c)
		return
	}
	for {
		t.reading.Store(false)
		if !t.readable() || !t.reading.CompareAndSwap(false, true) {
			return // the next bytes' epoll event starts a reader
		}
		// The first read waits for a whole record, so it takes a small
		// buffer: a client that sends part of a record and stops must not
		// hold a large one.
		small := make([]byte, 512)
		n, err := t.nc.Read(small)
		ok := rd.consumeTLS(c, small[:n])
		if err == nil {
			err = rd.drainTLS(c, ok)
		}
		if err != nil {
			rd.hangup(c) // t.reading stays set: no reader starts again
			return
		}
	}
}

// readable reports whether the socket has bytes, EOF or an error, without
// taking any or waiting.
func (t *tlsConn) readable() bool {
	var err error
	if cerr := t.raw.Control(func(fd uintptr) {
		var b [1]byte
		_, _, err = unix.Recvfrom(int(fd), b[:], unix.MSG_PEEK|unix.MSG_DONTWAIT)
	}); cerr != nil {
		return true // closed: let Read say so
	}
	return err != unix.EAGAIN
}

// longAgo is a read deadline in the past: a read then takes only what
// crypto/tls already holds.
var longAgo = time.Unix(1, 0)

// drainTLS reads what crypto/tls holds already (the rest of a record, and
// records read along with it), which the socket will not signal, without
// waiting for more. crypto/tls treats the deadline error as temporary: a
// record it has only part of stays for the next read. It parses what it
// reads if parse is set, until a protocol error: bytes that came with a
// broken frame are dropped with it, as the epoll readers drop the rest of
// their read.
func (rd *reader) drainTLS(c *conn, parse bool) error {
	nc := c.tls.nc
	bp := tlsBufs.Get().(*[]byte)
	defer tlsBufs.Put(bp)
	_ = nc.SetReadDeadline(longAgo)
	for {
		n, err := nc.Read(*bp)
		if parse {
			parse = rd.consumeTLS(c, (*bp)[:n])
		}
		if err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				return nc.SetReadDeadline(time.Time{})
			}
			return err
		}
	}
}

// consumeTLS parses data, just read from c's TLS connection. It reports
// false if it found a protocol error and is closing the connection.
func (rd *reader) consumeTLS(c *conn, data []byte) bool {
	if len(data) == 0 {
		return true
	}
	carried := 0
	if p := c.part; p != nil && len(p.rbuf) > 0 {
		carried = len(p.rbuf)
		data = append(p.rbuf, data...) // rbuf's free room (reader.keep) takes it if it can
	}
	now := time.Now()
	c.lastIn.Store(now.Unix())
	if cerr := rd.consume(c, data, carried, now.UnixNano()); cerr != nil {
		rd.protocolClose(c, cerr)
		return false
	}
	return true
}

// sendTLS starts a writer goroutine for bufs. It reports false: the
// connection stays blocked until a writtenCmd comes.
//
// Under a socket from a TLSListener the writer does not wait: what the
// socket does not take stays with the socket (sock.pending), the writer
// lets the batch go and ends, and the shard writes the rest when the
// hub's epoll says the socket is writable (written, writable1): a
// stalled connection has no goroutine.
func (s *shard) sendTLS(c *conn, bufs [][]byte, replies int) bool {
	b := append(net.Buffers(nil), bufs...)
	closeSend := false
	if c.state == stateClosing && c.closeW && len(c.ctrl) == 0 {
		closeSend = true
		c.closeW = false
	}
	// The batch's replies leave c's reply budget as they are handed to
	// the writer (see shard.write): the client may have read them and ask
	// again before written comes. A batch is written whole or the
	// connection fails, so none are charged again.
	if replies > 0 { // an atomic add is a locked instruction: not on every batch
		c.replyBytes.Add(-int32(replies))
	}
	if c.ownBytes.Load() != 0 {
		c.recountOwn()
	}
	c.blocked.Store(true)
	s.stalled(c)
	h := s.h
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		t := c.tls
		n, err := writeTLS(t.nc, b)
		b = nil
		if err == nil && closeSend {
			_ = t.nc.CloseWrite() // close_notify after the close frame
		}
		pending := err == nil && t.sock != nil && t.sock.hasPending()
		c.shard.post(c, &writtenCmd{n: n, failed: err != nil, pending: pending})
	}()
	s.n.writes++
	return false
}

// writeTLS writes bufs to nc, gathering small frames into records of up
// to tlsBufSize: one record and one system call for many frames.
func writeTLS(nc *tls.Conn, bufs net.Buffers) (n int, err error) {
	bp := tlsBufs.Get().(*[]byte)
	defer tlsBufs.Put(bp)
	buf := (*bp)[:0]
	for i, b := range bufs {
		if len(b) > cap(buf) { // larger than a record: on its own
			m, err := nc.Write(b)
			if n += m; err != nil {
				return n, err
			}
			continue
		}
		buf = append(buf, b...)
		if i+1 < len(bufs) && len(buf)+len(bufs[i+1]) <= cap(buf) {
			continue // the next one fits as well
		}
		m, err := nc.Write(buf)
		if n += m; err != nil {
			return n, err
		}
		buf = buf[:0]
	}
	return n, nil
}
