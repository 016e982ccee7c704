package hub

import (
	"time"

	"github.com/gobwas/ws"
	"github.com/tickerd/tickerd/protocol"
)

const wsText = ws.OpText

// maxCmdsPerConn bounds the commands one connection may have in flight to
// its shard; a client past it is flooding and is closed.
const maxCmdsPerConn = 1024

// request handles one client message on a reader goroutine: it decodes it,
// answers what it can at once and hands subscription changes to the shard.
func (h *Hub) request(c *conn, op ws.OpCode, p []byte) {
	if c.cmds.Load() > maxCmdsPerConn {
		h.protocolClose(c, &closeErr{ws.StatusPolicyViolation, "too many requests in flight"})
		return
	}
	if op != ws.OpText {
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
	switch req.Op {
	case protocol.OpSubscribe, protocol.OpUnsubscribe:
		m := h.resolve(req.Symbols)
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

// reply queues frame for c. Safe from any goroutine.
func (h *Hub) reply(c *conn, frame []byte) {
	c.shard.post(cmd{kind: cmdReply, c: c, frame: frame})
}

// replyError queues an error reply and counts it.
func (h *Hub) replyError(c *conn, id []byte, code protocol.Code, msg string, symbols []string) {
	h.stats.errors[codeIndex(code)].Add(1)
	h.reply(c, textFrame(protocol.AppendError(nil, id, code, msg, symbols)))
}

// protocolClose closes c with the error's status code.
func (h *Hub) protocolClose(c *conn, e *closeErr) {
	if c.closing.Swap(true) {
		return
	}
	h.stats.protocolErrors.Add(1)
	c.shard.post(cmd{kind: cmdClose, c: c, code: e.code, reason: e.reason, why: reasonProtocol})
}

// peerClosed reports the client's close frame.
func (h *Hub) peerClosed(c *conn, code ws.StatusCode) {
	c.shard.post(cmd{kind: cmdPeerClose, c: c, code: code})
}

// hangup reports EOF or a read error.
func (h *Hub) hangup(c *conn) {
	c.closing.Store(true)
	c.shard.post(cmd{kind: cmdPeerClose, c: c, hangup: true})
}
