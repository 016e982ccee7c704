package hub

import (
	"time"

	"github.com/tickerd/tickerd/internal/wsframe"
)

// closeReason says why a connection ended; each has a counter.
type closeReason uint8

const (
	reasonProtocol     closeReason = iota // the client broke RFC 6455 or a limit (the zero value)
	reasonPeer                            // the client closed or hung up
	reasonSlow                            // backlogged longer than BacklogTimeout
	reasonIdle                            // nothing read for two ping intervals
	reasonShutdown                        // the server is going away
	reasonWriteError                      // the socket failed
	reasonError                           // registration or another local failure
	reasonAuth                            // no token in time, or it expired
	reasonReplies                         // unread replies over MaxPendingReplies or MaxPendingReplyBytes
	reasonFrameTimeout                    // a frame or message not finished within FrameTimeout
	numReasons
)

var reasonNames = [numReasons]string{"protocol", "peer", "slow", "idle", "shutdown", "write_error", "error", "auth",
	"unread_replies", "frame_timeout"}

func (r closeReason) String() string { return reasonNames[r] }

// startClose begins the closing handshake: subscriptions end at once, the
// close frame follows whatever replies are queued, and the socket closes
// when the client answers or CloseTimeout passes.
func (s *shard) startClose(c *conn, code wsframe.StatusCode, reason string, why closeReason) {
	if c.state != stateOpen {
		return
	}
	c.state = stateClosing
	c.closing.Store(true)
	s.unlinkAll(c)
	c.push(closeFrame(code, reason))
	c.closeW = true
	c.more().closeBy = time.Now().Add(s.h.cfg.CloseTimeout).UnixNano()
	c.why = why
	s.closing = append(s.closing, c)
	s.write(c)
}

// peerClose handles the client's close frame (code) or its hang-up
// (hangup true): it answers a close it did not start, then closes.
func (s *shard) peerClose(c *conn, code wsframe.StatusCode, hangup bool) {
	switch c.state {
	case stateClosed:
		return
	case stateOpen:
		if !hangup {
			c.state = stateClosing
			c.closing.Store(true)
			s.unlinkAll(c)
			c.push(closeFrame(code, ""))
			s.write(c)
			if c.tls != nil && c.blocked.Load() {
				// The echo is with the TLS writer: finish when it is out
				// (written), or at the close deadline.
				c.why, c.finAfterWrite = reasonPeer, true
				c.more().closeBy = time.Now().Add(s.h.cfg.CloseTimeout).UnixNano()
				s.closing = append(s.closing, c)
				return
			}
		}
		s.finish(c, reasonPeer)
	case stateClosing:
		if c.tls != nil && c.blocked.Load() {
			// Our close frame may still be with the TLS writer.
			c.finAfterWrite = true
			return
		}
		s.finish(c, c.why)
	}
}

// finish closes c's socket and forgets it. It is the only place a
// connection's fd is closed, always after it left epoll, so a reused fd
// number never reaches a stale callback.
func (s *shard) finish(c *conn, why closeReason) {
	if c.state == stateClosed {
		return
	}
	c.state = stateClosed
	c.closing.Store(true)
	s.unlinkAll(c)
	if len(c.rest()) > 0 || c.blocked.Load() {
		// Data the client never took: a FIN would wait behind it for as
		// long as the client does not read, and the kernel would keep the
		// socket and its buffers. Abort with RST instead.
		c.abort()
	}
	s.h.poll.del(c)
	s.timers.remove(c)
	if c.rstate.Or(rDead) == 0 {
		c.release() // no reader holds it; otherwise the reader releases
	}
	if i := int(c.idx); i >= 0 && i < len(s.all) && s.all[i] == c {
		last := len(s.all) - 1
		if i != last {
			m := s.all[last]
			s.all[i] = m
			m.idx = int32(i)
			for k := range m.subs {
				s.ref(&m.subs[k]).ci = uint32(i)
			}
		}
		s.all[last] = nil
		s.all = s.all[:last]
	}
	c.idx = -1
	c.ctrl = nil
	c.dropRest()
	if s.h.cfg.MaxConnsPerIP > 0 {
		s.h.perIP.put(c.ipKey)
	}
	s.h.conns.Add(-1)
	s.h.z.closed(c)
	s.stats.closed[why].Add(1)
}

// housekeep runs once a second: it closes slow consumers, connections that
// did not answer a close in time, and idle ones, and sends pings.
func (s *shard) housekeep(now time.Time) {
	ns := now.UnixNano()
	cfg := &s.h.cfg

	s.checkBacklogs(ns)

	kept := s.closing[:0]
	for _, c := range s.closing {
		switch {
		case c.state == stateClosed:
			continue
		case ns > c.x.closeBy:
			// No answer to the close frame: counted under the reason it
			// was closed for (a slow consumer never answers).
			s.finish(c, c.why)
			continue
		}
		kept = append(kept, c)
	}
	clear(s.closing[len(kept):])
	s.closing = kept

	if cfg.Authenticate != nil {
		for i := len(s.all) - 1; i >= 0; i-- {
			c := s.all[i]
			if c.state != stateOpen || c.auth == nil {
				continue
			}
			switch id := c.auth.id.Load(); {
			case id == nil && ns > c.auth.deadline:
				s.startClose(c, wsframe.StatusPolicyViolation, "authentication timeout", reasonAuth)
			case id != nil && !id.Expiry.IsZero() && now.After(id.Expiry):
				s.startClose(c, CloseTokenExpired, "token expired", reasonAuth)
			}
		}
	}
	if now.Sub(s.lastPing) < cfg.PingInterval {
		return
	}
	s.lastPing = now
	idle := now.Add(-2 * cfg.PingInterval).Unix()
	for i := len(s.all) - 1; i >= 0; i-- {
		c := s.all[i]
		if c.state != stateOpen {
			continue
		}
		if c.lastIn.Load() < idle {
			s.startClose(c, wsframe.StatusGoingAway, "idle timeout", reasonIdle)
			continue
		}
		c.push(pingFrame)
		s.markDirty(c)
	}
}

// closeAll closes every connection at once; the hub is stopping.
func (s *shard) closeAll() {
	for len(s.all) > 0 {
		c := s.all[len(s.all)-1]
		why := reasonShutdown
		if c.state == stateClosing {
			why = c.why
		}
		s.finish(c, why)
	}
}
