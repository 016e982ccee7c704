package hub

import (
	"strconv"
	"strings"

	"github.com/tickerd/tickerd/internal/wsframe"
	"github.com/tickerd/tickerd/protocol"
)

// This file is the shard side of subscriptions: it runs on the shard
// goroutine that owns the connection.

// subscribe subscribes c to set and replies with id: "subscribed" with the
// names subscribed (or already so), then errors for unknown names and
// those over MaxSymbolsPerConn.
func (s *shard) subscribe(c *conn, id []byte, set symbolSet) {
	m := &set
	// Mark what c already has, so the request is checked in O(len).
	for i := range c.subs {
		s.mark[c.subs[i].sym] = int32(i) + 1
	}
	names := m.names[:0:0]
	var over []string
	limit := s.h.cfg.MaxSymbolsPerConn
	if need := min(len(c.subs)+len(m.syms), limit); cap(c.subs) < need {
		// Grow once, to the size asked for: no slack per connection.
		c.subs = append(make([]sub, 0, need), c.subs...)
	}
	for k, sym := range m.syms {
		if s.mark[sym] != 0 {
			names = append(names, m.names[k]) // already subscribed
			continue
		}
		if len(c.subs) >= limit {
			over = append(over, m.names[k])
			continue
		}
		s.link(c, sym)
		s.mark[sym] = int32(len(c.subs))
		names = append(names, m.names[k])
	}
	for i := range c.subs {
		s.mark[c.subs[i].sym] = 0
	}
	if len(names) > 0 {
		s.reply(c, textFrame(protocol.AppendSubscribed(nil, id, protocol.Stream{}, names)))
	}
	if len(m.unknown) > 0 {
		s.h.stats.errors[codeIndex(protocol.CodeUnknownSymbol)].Add(1)
		s.reply(c, errorFrame(id, protocol.CodeUnknownSymbol, "unknown symbol: ", m.unknown))
	}
	if len(over) > 0 {
		s.h.stats.errors[codeIndex(protocol.CodeTooManySymbols)].Add(1)
		s.reply(c, errorFrame(id, protocol.CodeTooManySymbols, "subscription limit reached, not subscribed: ", over))
	}
}

// reauth applies a fresh token: it queues the "authenticated" reply
// (m.frame, charged by the reader), ends every subscription the new
// identity does not allow and tells the client which, with an
// "unsubscribed" reply and a forbidden_symbol error, both with the auth
// request's id.
func (s *shard) reauth(c *conn, m *reauthCmd) {
	id := m.id
	defer func() {
		// Allows is the application's: a bug in it must not take the
		// shard down, only this connection.
		if v := recover(); v != nil {
			s.h.log.Error("Identity.Allows panicked: closing the connection", "panic", v)
			s.startClose(c, wsframe.StatusInternalServerError, "internal error", reasonError)
		}
	}()
	s.queue(c, m.frame)
	var ended []string
	for i := len(c.subs) - 1; i >= 0; i-- { // unlink moves a checked entry into i
		if name := s.h.names[c.subs[i].sym]; !m.ident.Allows(name) {
			ended = append(ended, name)
			s.unlink(c, i)
		}
	}
	if len(ended) == 0 {
		return
	}
	s.reply(c, textFrame(protocol.AppendUnsubscribed(nil, id, protocol.Stream{}, ended)))
	s.h.stats.errors[codeIndex(protocol.CodeForbiddenSymbol)].Add(1)
	s.reply(c, errorFrame(id, protocol.CodeForbiddenSymbol, "the new token does not allow: ", ended))
}

// unsubscribe ends c's subscriptions to set and replies with id.
func (s *shard) unsubscribe(c *conn, id []byte, set symbolSet) {
	m := &set
	for _, sym := range m.syms {
		for i := range c.subs {
			if c.subs[i].sym == sym {
				s.unlink(c, i)
				break
			}
		}
	}
	s.reply(c, textFrame(protocol.AppendUnsubscribed(nil, id, protocol.Stream{}, m.names)))
	if len(m.unknown) > 0 {
		s.h.stats.errors[codeIndex(protocol.CodeUnknownSymbol)].Add(1)
		s.reply(c, errorFrame(id, protocol.CodeUnknownSymbol, "unknown symbol: ", m.unknown))
	}
}

// link subscribes c to sym; the first write for it is a snapshot.
func (s *shard) link(c *conn, sym uint32) {
	list := s.subs[sym]
	c.subs = append(c.subs, sub{sym: sym, pos: uint32(len(list)) | subSnap})
	s.subs[sym] = append(list, subRef{ci: uint32(c.idx), idx: uint32(len(c.subs) - 1)})
	st := s.h.syms[sym]
	st.watch(1, s.h.cfg.OnWatch)
	if st.latest.Load() != nil {
		s.markDirty(c)
	}
	s.stats.subs.Add(1)
}

// unlink removes c.subs[i], swapping the last entries into the holes on
// both sides.
func (s *shard) unlink(c *conn, i int) {
	e := c.subs[i]
	pos := e.index()
	list := s.subs[e.sym]
	last := len(list) - 1
	if int(pos) != last {
		moved := list[last]
		list[pos] = moved
		s.all[moved.ci].subs[moved.idx].setIndex(pos)
	}
	list[last] = subRef{}
	s.subs[e.sym] = list[:last]

	lastSub := len(c.subs) - 1
	if i != lastSub {
		moved := c.subs[lastSub]
		c.subs[i] = moved
		s.subs[moved.sym][moved.index()].idx = uint32(i)
	}
	c.subs = c.subs[:lastSub]
	if len(c.subs) == 0 {
		c.subs = nil
	}
	s.h.syms[e.sym].watch(-1, s.h.cfg.OnWatch)
	s.stats.subs.Add(-1)
}

func (s *shard) unlinkAll(c *conn) {
	for len(c.subs) > 0 {
		s.unlink(c, len(c.subs)-1)
	}
}

// maxEcho is how many of the names an error is about it echoes: a client
// that names a thousand unknown symbols gets the first few and a count,
// not its request back.
const maxEcho = 16

// errorFrame returns an error reply about names: the message is prefix
// followed by the first maxEcho names and how many more there are, and the
// "symbols" array holds those first names.
func errorFrame(id []byte, code protocol.Code, prefix string, names []string) []byte {
	shown := names[:min(len(names), maxEcho)]
	msg := prefix + strings.Join(shown, ", ")
	if more := len(names) - len(shown); more > 0 {
		msg += " and " + strconv.Itoa(more) + " more"
	}
	return textFrame(protocol.AppendError(nil, id, code, msg, shown))
}
