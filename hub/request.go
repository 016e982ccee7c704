package hub

import (
	"errors"
	"math"
	"time"

	"github.com/tickerd/tickerd/internal/wsframe"
	"github.com/tickerd/tickerd/protocol"
	"golang.org/x/time/rate"
)

// This file is the reader side of a connection: what a reader goroutine
// (an epoll reader, or a wss:// connection's own) does with a whole
// client message. It answers what it can at once and hands the rest to
// the connection's shard as a command. Every method here runs on the
// reader that holds the connection.

// maxCmdsPerConn bounds the commands one connection may have in flight to
// its shard; a client past it is flooding and is closed.
const maxCmdsPerConn = 1024

// request handles one client message: it decodes it, answers what it can
// at once and hands subscription changes to the shard.
func (rd *reader) request(c *conn, op wsframe.OpCode, p []byte) {
	h := rd.h
	if c.cmds.Load() > maxCmdsPerConn {
		rd.protocolClose(c, &closeErr{wsframe.StatusPolicyViolation, "too many requests in flight", reasonProtocol})
		return
	}
	if !rd.allow(c) {
		return
	}
	if op != wsframe.OpText {
		rd.replyError(c, nil, protocol.CodeBadRequest, "binary messages are not supported: send JSON text", nil)
		return
	}
	req, perr := protocol.DecodeRequest(p, protocol.Limits{
		MaxBytes:   h.cfg.MaxMessageBytes,
		MaxSymbols: h.cfg.MaxSymbolsPerRequest,
	})
	if perr != nil {
		rd.replyError(c, perr.ID, perr.Code, perr.Message, perr.Symbols)
		return
	}
	id := cloneBytes(req.ID) // req.ID aliases the read buffer
	rd.names += len(req.Symbols)
	var ident *Identity
	if c.auth != nil {
		if req.Op == protocol.OpAuth {
			rd.authenticate(c, id, req.Token)
			return
		}
		if ident = c.auth.id.Load(); ident == nil {
			rd.replyError(c, id, protocol.CodeUnauthorized, `authenticate first: {"op":"auth","token":"..."}`, nil)
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
				rd.reply(c, errorFrame(id, protocol.CodeForbiddenSymbol, "not entitled to: ", forbidden))
				if len(names) == 0 {
					return
				}
			}
		}
		set := h.resolveStream(names, req.Stream())
		if len(set.streams) == 0 {
			h.stats.errors[codeIndex(protocol.CodeUnknownSymbol)].Add(1)
			rd.reply(c, errorFrame(id, protocol.CodeUnknownSymbol, "unknown symbol: ", set.unknown))
			return
		}
		if req.Op == protocol.OpUnsubscribe {
			c.shard.post(c, &unsubscribeCmd{id: id, set: set})
		} else {
			c.shard.post(c, &subscribeCmd{id: id, set: set, rate: req.MaxRate, since: sinceMap(req.Since)})
		}
	case protocol.OpList:
		head, tail := h.listReply(c, id)
		rd.replyPieces(c, head, tail)
	case protocol.OpSearch:
		names, more := h.uni.current().search(req.Prefix, req.Limit)
		rd.reply(c, textFrame(protocol.AppendSearch(nil, id, req.Prefix, names, more)))
	case protocol.OpPing:
		rd.reply(c, textFrame(protocol.AppendPong(nil, id, time.Now().UnixNano())))
	default:
		rd.replyError(c, id, protocol.CodeUnknownOp, "op "+req.Op.String()+" is not enabled on this server", nil)
	}
}

// pong answers a client's ping with payload p, within the message rate: a
// ping over it gets no pong (RFC 6455 wants one "as soon as practical";
// the rate is what is practical) and is counted, but costs the client no
// strike, so one that pings in bursts yet reads everything stays.
func (rd *reader) pong(c *conn, p []byte) {
	if !rd.allowPing(c) {
		rd.h.stats.pingsDropped.Add(1)
		return
	}
	rd.reply(c, pongFrame(p))
}

// pingDropped counts a ping answered by the pong of a later one.
func (rd *reader) pingDropped() { rd.h.stats.pingsDropped.Add(1) }

// limiter returns c's message rate limiter, made at its first message;
// nil when the rate is unlimited.
func (rd *reader) limiter(c *conn) *rate.Limiter {
	cfg := &rd.h.cfg
	if cfg.MessageRate < 0 {
		return nil
	}
	if c.lim == nil {
		c.lim = rate.NewLimiter(rate.Limit(cfg.MessageRate), cfg.MessageBurst)
	}
	return c.lim
}

// allowPing takes a token of c's message rate for a pong.
func (rd *reader) allowPing(c *conn) bool {
	lim := rd.limiter(c)
	return lim == nil || lim.Allow()
}

// allow applies the client's message rate. A message over it gets
// rate_limited; a client that keeps going after a burst's worth of refusals
// is closed with 1008.
func (rd *reader) allow(c *conn) bool {
	lim := rd.limiter(c)
	if lim == nil {
		return true
	}
	if lim.Allow() {
		c.strikes = 0
		return true
	}
	if c.strikes < math.MaxUint16 {
		c.strikes++
	}
	if int(c.strikes) > min(rd.h.cfg.MessageBurst, math.MaxUint16-1) {
		rd.protocolClose(c, &closeErr{wsframe.StatusPolicyViolation, "message rate exceeded", reasonProtocol})
		return false
	}
	rd.replyError(c, nil, protocol.CodeRateLimited, "too many messages: the limit is in the limits message", nil)
	return false
}

// authenticate handles an auth request: a first one, or a fresh token
// for an authenticated connection (before its token expires, or with
// narrower rights). A fresh token must be for the same subject; if it is
// not, or is bad, the connection keeps the identity it has. Subscriptions
// a fresh token does not allow end (see shard.reauth).
func (rd *reader) authenticate(c *conn, id []byte, token string) {
	old := c.auth.id.Load()
	ident, err := rd.h.cfg.Authenticate(token)
	if err == nil && old != nil && ident.Subject != old.Subject {
		err = errOtherSubject
	}
	if err != nil {
		rd.replyError(c, id, protocol.CodeUnauthorized, err.Error(), nil)
		if old == nil {
			rd.protocolClose(c, &closeErr{wsframe.StatusPolicyViolation, "authentication failed", reasonAuth})
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
		rd.reply(c, frame)
		return
	}
	if !c.charge(len(frame), rd.h.cfg.MaxPendingReplyBytes) {
		rd.protocolClose(c, errUnreadReplies)
		return
	}
	c.shard.post(c, &reauthCmd{id: id, frame: frame, ident: ident})
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

// sinceMap returns a trades subscribe's "since" by symbol; nil if none.
func sinceMap(since []protocol.SinceSeq) map[string]uint64 {
	if len(since) == 0 {
		return nil
	}
	m := make(map[string]uint64, len(since))
	for _, s := range since {
		m[s.Symbol] = s.Seq
	}
	return m
}

func cloneBytes(b []byte) []byte {
	if b == nil {
		return nil
	}
	return append([]byte(nil), b...)
}

// reply queues frame for c. The frame counts against c's reply budget
// from now on, so replies a client asks for faster than it reads them
// cannot pile up anywhere, not even in the shard's inbox; a client over
// the budget is closed with 1008.
func (rd *reader) reply(c *conn, frame []byte) { rd.replyPieces(c, frame, nil) }

// replyPieces is reply for a frame in pieces (see replyCmd).
func (rd *reader) replyPieces(c *conn, frame []byte, tail [][]byte) {
	if tail == nil {
		frame = rd.h.personal(c, frame)
	}
	if !c.charge(len(frame)+size(tail), rd.h.cfg.MaxPendingReplyBytes) {
		rd.protocolClose(c, errUnreadReplies)
		return
	}
	c.shard.post(c, &replyCmd{frame: frame, tail: tail})
}

// errUnreadReplies closes a client over its reply budget.
var errUnreadReplies = &closeErr{wsframe.StatusPolicyViolation, "too many unread replies", reasonReplies}

// replyError queues an error reply and counts it. It echoes at most
// maxEcho of symbols.
func (rd *reader) replyError(c *conn, id []byte, code protocol.Code, msg string, symbols []string) {
	rd.h.stats.errors[codeIndex(code)].Add(1)
	rd.reply(c, textFrame(protocol.AppendError(nil, id, code, msg, symbols[:min(len(symbols), maxEcho)])))
}

// protocolClose asks the shard to close c with the error's status code,
// once: a connection the reader or the shard is closing already is left
// to that.
func (rd *reader) protocolClose(c *conn, e *closeErr) {
	if c.stopped || c.closing.Load() {
		return
	}
	c.stopped = true
	rd.h.stats.protocolErrors.Add(1)
	c.shard.post(c, &closeCmd{code: e.code, reason: e.reason, why: e.why})
}

// peerClosed reports the client's close frame.
func (rd *reader) peerClosed(c *conn, code wsframe.StatusCode) {
	c.stopped = true
	c.shard.post(c, &peerCloseCmd{code: code})
}

// hangup reports EOF or a read error.
func (rd *reader) hangup(c *conn) {
	c.stopped = true
	c.shard.post(c, &peerCloseCmd{hangup: true})
}
