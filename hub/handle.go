package hub

import (
	"errors"
	"time"

	"github.com/tickerd/tickerd/internal/wsframe"
	"github.com/tickerd/tickerd/protocol"
	"golang.org/x/time/rate"
)

// maxCmdsPerConn bounds the commands one connection may have in flight to
// its shard; a client past it is flooding and is closed.
const maxCmdsPerConn = 1024

// request handles one client message on a reader goroutine: it decodes it,
// answers what it can at once and hands subscription changes to the shard.
func (h *Hub) request(c *conn, op wsframe.OpCode, p []byte) {
	if c.cmds.Load() > maxCmdsPerConn {
		h.protocolClose(c, &closeErr{wsframe.StatusPolicyViolation, "too many requests in flight", reasonProtocol})
		return
	}
	if !h.allow(c) {
		return
	}
	if op != wsframe.OpText {
		h.replyError(c, nil, protocol.CodeBadRequest, "binary messages are not supported: send JSON text", nil)
		return
	}
	req, perr := protocol.DecodeRequest(p, protocol.Limits{
		MaxBytes:   h.cfg.MaxMessageBytes,
		MaxSymbols: h.cfg.MaxSymbolsPerRequest,
	})
	if perr != nil {
		h.replyError(c, perr.ID, perr.Code, perr.Message, perr.Symbols)
		return
	}
	id := cloneBytes(req.ID) // req.ID aliases the read buffer
	var ident *Identity
	if c.auth != nil {
		if req.Op == protocol.OpAuth {
			h.authenticate(c, id, req.Token)
			return
		}
		if ident = c.auth.id.Load(); ident == nil {
			h.replyError(c, id, protocol.CodeUnauthorized, `authenticate first: {"op":"auth","token":"..."}`, nil)
			return
		}
	}
	switch req.Op {
	case protocol.OpSubscribe, protocol.OpUnsubscribe:
		names := req.Symbols
		if ident != nil && req.Op == protocol.OpSubscribe {
			var forbidden []string
			names, forbidden = splitAllowed(ident, names)
			if len(forbidden) > 0 {
				h.stats.errors[codeIndex(protocol.CodeForbiddenSymbol)].Add(1)
				h.reply(c, errorFrame(id, protocol.CodeForbiddenSymbol, "not entitled to: ", forbidden))
				if len(names) == 0 {
					return
				}
			}
		}
		m := h.resolve(names)
		m.c, m.id = c, id
		m.kind = cmdSubscribe
		if req.Op == protocol.OpUnsubscribe {
			m.kind = cmdUnsubscribe
		}
		if len(m.syms) == 0 {
			h.stats.errors[codeIndex(protocol.CodeUnknownSymbol)].Add(1)
			h.reply(c, errorFrame(id, protocol.CodeUnknownSymbol, "unknown symbol: ", m.unknown))
			return
		}
		c.shard.post(m)
	case protocol.OpList:
		h.reply(c, textFrame(protocol.AppendSymbols(nil, id, h.names)))
	case protocol.OpPing:
		h.reply(c, textFrame(protocol.AppendPong(nil, id, time.Now().UnixNano())))
	default:
		h.replyError(c, id, protocol.CodeUnknownOp, "op "+req.Op.String()+" is not enabled on this server", nil)
	}
}

// pong answers a client's ping with payload p, within the message rate: a
// ping over it gets no pong (RFC 6455 wants one "as soon as practical";
// the rate is what is practical) and is counted, but costs the client no
// strike, so one that pings in bursts yet reads everything stays.
func (h *Hub) pong(c *conn, p []byte) {
	if !h.allowPing(c) {
		h.stats.pingsDropped.Add(1)
		return
	}
	h.reply(c, pongFrame(p))
}

// pingDropped counts a ping answered by the pong of a later one.
func (h *Hub) pingDropped() { h.stats.pingsDropped.Add(1) }

// limiter returns c's message rate limiter, made at its first message;
// nil when the rate is unlimited.
func (h *Hub) limiter(c *conn) *rate.Limiter {
	if h.cfg.MessageRate < 0 {
		return nil
	}
	if c.lim == nil {
		c.lim = rate.NewLimiter(rate.Limit(h.cfg.MessageRate), h.cfg.MessageBurst)
	}
	return c.lim
}

// allowPing takes a token of c's message rate for a pong.
func (h *Hub) allowPing(c *conn) bool {
	lim := h.limiter(c)
	return lim == nil || lim.Allow()
}

// allow applies the client's message rate. A message over it gets
// rate_limited; a client that keeps going after a burst's worth of refusals
// is closed with 1008.
func (h *Hub) allow(c *conn) bool {
	lim := h.limiter(c)
	if lim == nil {
		return true
	}
	if lim.Allow() {
		c.strikes = 0
		return true
	}
	c.strikes++
	if int(c.strikes) > h.cfg.MessageBurst {
		h.protocolClose(c, &closeErr{wsframe.StatusPolicyViolation, "message rate exceeded", reasonProtocol})
		return false
	}
	h.replyError(c, nil, protocol.CodeRateLimited, "too many messages: the limit is in the limits message", nil)
	return false
}

// authenticate handles an auth request: a first one, or a fresh token
// for an authenticated connection (before its token expires, or with
// narrower rights). A fresh token must be for the same subject; if it is
// not, or is bad, the connection keeps the identity it has. Subscriptions
// a fresh token does not allow end (see shard.reauth).
func (h *Hub) authenticate(c *conn, id []byte, token string) {
	old := c.auth.id.Load()
	ident, err := h.cfg.Authenticate(token)
	if err == nil && old != nil && ident.Subject != old.Subject {
		err = errOtherSubject
	}
	if err != nil {
		h.replyError(c, id, protocol.CodeUnauthorized, err.Error(), nil)
		if old == nil {
			h.protocolClose(c, &closeErr{wsframe.StatusPolicyViolation, "authentication failed", reasonAuth})
		}
		return
	}
	c.auth.id.Store(ident)
	var exp int64
	if !ident.Expiry.IsZero() {
		exp = ident.Expiry.UnixNano()
	}
	frame := textFrame(protocol.AppendAuthenticated(nil, id, ident.Subject, exp))
	if old == nil {
		h.reply(c, frame)
		return
	}
	if !h.charge(c, len(frame)) {
		h.protocolClose(c, errUnreadReplies)
		return
	}
	c.shard.post(cmd{kind: cmdReauth, c: c, id: id, frame: frame, ident: ident})
}

// errOtherSubject refuses a fresh token for another subject than the
// connection's: one connection is one identity.
var errOtherSubject = errors.New("the token is for another subject than this connection's: connect again to change identity")

// splitAllowed splits names into those ident may subscribe to and the rest.
func splitAllowed(ident *Identity, names []string) (ok, forbidden []string) {
	for _, n := range names {
		if ident.Allows(n) {
			ok = append(ok, n)
		} else {
			forbidden = append(forbidden, n)
		}
	}
	return ok, forbidden
}

// resolve maps names to symbol ids; names that are not symbols go to
// unknown.
func (h *Hub) resolve(names []string) cmd {
	var m cmd
	for _, n := range names {
		if s := h.byName[n]; s != nil {
			m.syms = append(m.syms, s.id)
			m.names = append(m.names, s.name) // the hub's copy, not the buffer's
		} else {
			m.unknown = append(m.unknown, n)
		}
	}
	return m
}

func cloneBytes(b []byte) []byte {
	if b == nil {
		return nil
	}
	return append([]byte(nil), b...)
}

// reply queues frame for c; readers call it. The frame counts against
// c's reply budget from now on, so replies a client asks for faster than
// it reads them cannot pile up anywhere, not even in the shard's inbox; a
// client over the budget is closed with 1008.
func (h *Hub) reply(c *conn, frame []byte) {
	if !h.charge(c, len(frame)) {
		h.protocolClose(c, errUnreadReplies)
		return
	}
	c.shard.post(cmd{kind: cmdReply, c: c, frame: frame})
}

// errUnreadReplies closes a client over its reply budget.
var errUnreadReplies = &closeErr{wsframe.StatusPolicyViolation, "too many unread replies", reasonReplies}

// charge counts n more bytes of replies for c and reports whether they fit
// MaxPendingReplyBytes. When nothing else is pending a reply always fits,
// so one larger than the budget (a long symbol list) still goes out.
func (h *Hub) charge(c *conn, n int) bool {
	v := c.replyBytes.Add(int32(n))
	if int(v) <= h.cfg.MaxPendingReplyBytes || int(v) == n {
		return true
	}
	c.replyBytes.Add(-int32(n))
	return false
}

// replyError queues an error reply and counts it. It echoes at most
// maxEcho of symbols.
func (h *Hub) replyError(c *conn, id []byte, code protocol.Code, msg string, symbols []string) {
	h.stats.errors[codeIndex(code)].Add(1)
	h.reply(c, textFrame(protocol.AppendError(nil, id, code, msg, symbols[:min(len(symbols), maxEcho)])))
}

// protocolClose closes c with the error's status code.
func (h *Hub) protocolClose(c *conn, e *closeErr) {
	if c.closing.Swap(true) {
		return
	}
	h.stats.protocolErrors.Add(1)
	c.shard.post(cmd{kind: cmdClose, c: c, code: e.code, reason: e.reason, why: e.why})
}

// peerClosed reports the client's close frame.
func (h *Hub) peerClosed(c *conn, code wsframe.StatusCode) {
	c.shard.post(cmd{kind: cmdPeerClose, c: c, code: code})
}

// hangup reports EOF or a read error.
func (h *Hub) hangup(c *conn) {
	c.closing.Store(true)
	c.shard.post(cmd{kind: cmdPeerClose, c: c, hangup: true})
}
