package hub

import (
	"crypto/tls"
	"net"
	"time"
)

// tlsConn is the TLS side of a connection served over wss:// directly.
//
// A TLS record can hold more than one frame, and crypto/tls keeps
// decrypted bytes that epoll cannot see, and a TLS write cannot stop
// halfway. So a TLS connection is not on the epoll path: it has a reader
// goroutine, blocked in Read, and a writer goroutine that takes one batch
// at a time from its shard. The shard still decides what to send: while
// the writer is busy the connection counts as blocked, updates merge, and
// the backlog timeout applies as for any connection. Both goroutines end
// when the shard closes the TCP connection; Hub.Close waits for them.
//
// For the most connections per byte, terminate TLS in front of tickerd
// (docs/ops/nginx.conf) and serve plain WebSocket.
type tlsConn struct {
	nc      *tls.Conn
	tcp     net.Conn      // under nc; closing it ends both goroutines
	batches chan tlsBatch // cap 1; sent by the shard only while the writer is idle, closed by finish
}

type tlsBatch struct {
	bufs      net.Buffers
	closeSend bool // the close frame is in bufs: send close_notify after it
}

func (h *Hub) startTLS(c *conn, early []byte) {
	t := c.tls
	h.wg.Add(2)
	go func() {
		defer h.wg.Done()
		h.readTLS(c, early)
	}()
	go func() {
		defer h.wg.Done()
		for b := range t.batches {
			n, err := b.bufs.WriteTo(t.nc)
			if err == nil && b.closeSend {
				_ = t.nc.CloseWrite()
			}
			c.shard.post(cmd{kind: cmdWritten, c: c, n: int(n), failed: err != nil})
		}
	}()
}

// readTLS is a TLS connection's reader goroutine.
func (h *Hub) readTLS(c *conn, early []byte) {
	rd := newReader(h, nil)
	buf := make([]byte, 16<<10)
	data := early
	for {
		if len(data) > 0 {
			if c.part != nil && len(c.part.rbuf) > 0 {
				// rbuf has room for its whole frame (reader.keep), so
				// this copies only the new bytes.
				data = append(c.part.rbuf, data...)
			}
			c.lastIn.Store(time.Now().Unix())
			if cerr := rd.consume(c, data); cerr != nil {
				h.protocolClose(c, cerr)
			}
		}
		n, err := c.tls.nc.Read(buf)
		if err != nil && n == 0 {
			h.hangup(c)
			return
		}
		data = buf[:n]
	}
}

// sendTLS hands bufs to c's writer goroutine. It reports false: the
// connection stays blocked until the writer posts cmdWritten.
func (s *shard) sendTLS(c *conn, bufs [][]byte) bool {
	b := tlsBatch{bufs: append(net.Buffers(nil), bufs...)}
	if c.state == stateClosing && c.closeW && len(c.ctrl) == 0 {
		b.closeSend = true
		c.closeW = false
	}
	c.blocked.Store(true)
	if c.blockedAt == 0 {
		c.blockedAt = time.Now().UnixNano()
		s.trackBlocked(c)
	}
	c.tls.batches <- b // never blocks: only sent while the writer is idle
	s.n.writes++
	return false
}

// written is the TLS writer's report that a batch is out.
func (s *shard) written(c *conn, n int, failed bool) {
	s.n.bytes += uint64(n)
	c.blocked.Store(false)
	c.blockedAt = 0
	if c.state == stateClosed {
		return
	}
	if failed {
		s.finish(c, reasonWriteError)
		return
	}
	if c.finAfterWrite {
		if len(c.ctrl) > 0 {
			// The close frame was queued behind the batch just written:
			// send it, and finish when that batch is out.
			s.write(c)
			if c.blocked.Load() {
				return
			}
		}
		s.finish(c, c.why)
		return
	}
	s.markDirty(c) // collect what came meanwhile
}
