package hub

import (
	"sync"
	"sync/atomic"

	"github.com/gobwas/ws"

	"github.com/tickerd/tickerd/internal/deflate"
	"github.com/tickerd/tickerd/internal/wsframe"
)

// This file is the hub's permessage-deflate (RFC 7692, internal/deflate).
// Every connection that negotiates it agrees to no context takeover both
// ways, so it holds no compression state, and a shared frame (an update's
// tick and snapshot, the limits message, the list reply's tail) is
// compressed once for every compressing connection: its compressed twin
// sits in an atomic slot next to the plain frame, made the first time a
// compressing connection needs it (zframe). A frame below
// Config.CompressMinSize, or one DEFLATE does not make smaller, stays
// plain for everyone (RSV1 clear), which RFC 7692 allows. Replies made
// for one connection are compressed for it alone (personal). A client's
// compressed message is inflated under MaxMessageBytes by a pooled
// Inflater (inflate), so no connection holds a decompressor either.
//
// To give another shared frame a twin: put a slot beside it,
//
//	type trade struct {
//		frame  []byte
//		zframe atomic.Pointer[[]byte] // compressed twin, made on first use
//	}
//
// and append h.zframe(c, &t.zframe, t.frame) where collect appends
// t.frame for connection c.

// compression is the hub's compression state: shared by every goroutine,
// none of it per connection.
type compression struct {
	on     bool // Config.DisableCompression unset
	min    int  // Config.CompressMinSize
	comp   deflate.Compressor
	limits atomic.Pointer[[]byte] // the limits frame's twin

	inflaters sync.Pool // of *deflate.Inflater, for limit bytes
	limit     int       // Config.MaxMessageBytes

	frames   atomic.Uint64 // frames compressed (deflate calls that paid)
	in, out  atomic.Uint64 // payload bytes of those frames before and after
	plain    atomic.Uint64 // frames tried and left plain: DEFLATE did not make them smaller
	inflated atomic.Uint64 // client messages inflated
	conns    atomic.Int64  // open connections that negotiated compression
}

// init sets z up from cfg, its defaults applied.
func (z *compression) init(cfg *Config) {
	z.on = !cfg.DisableCompression
	z.min = cfg.CompressMinSize
	z.comp.MinSize = cfg.CompressMinSize
	z.limit = cfg.MaxMessageBytes
}

// negotiate offers compression on the upgrader; negotiated reports, after
// the upgrade, whether the client took it. The HTTP goroutine of the
// upgrade calls both.
func (z *compression) negotiate(up *ws.HTTPUpgrader) (negotiated func() bool) {
	if !z.on {
		return func() bool { return false }
	}
	neg := new(deflate.Negotiation)
	up.Negotiate = neg.Negotiate
	return neg.Accepted
}

// opened counts a connection that negotiated compression; closed uncounts
// it when it finishes.
func (z *compression) opened(c *conn) {
	if c.deflate {
		z.conns.Add(1)
	}
}

func (z *compression) closed(c *conn) {
	if c.deflate {
		z.conns.Add(-1)
	}
}

// zframe returns what connection c is sent for plain, a final server data
// frame shared by many connections: plain itself if c did not negotiate
// compression, else plain's compressed twin, kept in slot. The twin is
// made the first time a compressing connection needs it, at most once
// (two goroutines that need it at the same instant may both make it; one
// is kept), and is plain itself when plain is below CompressMinSize or
// DEFLATE does not shrink it. Any goroutine may call it.
func (h *Hub) zframe(c *conn, slot *atomic.Pointer[[]byte], plain []byte) []byte {
	if !c.deflate || len(plain) < h.z.min {
		return plain
	}
	if p := slot.Load(); p != nil {
		return *p
	}
	twin := h.z.compress(plain)
	if !slot.CompareAndSwap(nil, &twin) {
		return *slot.Load()
	}
	return twin
}

// personal returns what connection c is sent for frame, a reply made for
// c alone: frame, or its compressed form if c negotiated compression and
// frame is an uncompressed text frame worth compressing.
func (h *Hub) personal(c *conn, frame []byte) []byte {
	if !c.deflate || len(frame) < h.z.min || frame[0] != 0x80|byte(wsframe.OpText) {
		return frame
	}
	return h.z.compress(frame)
}

// compress returns the compressed form of plain, a final unmasked data
// frame with RSV clear, or plain itself when that does not pay.
func (z *compression) compress(plain []byte) []byte {
	hd, hlen, err := wsframe.ParseHeader(plain)
	if err != nil || hlen == 0 || int64(len(plain)-hlen) != hd.Length {
		return plain // not one whole frame: never made by the hub
	}
	if f, ok := z.compressPayload(hd.Op, plain[hlen:]); ok {
		return f
	}
	return plain
}

// compressPayload returns a final frame of opcode op carrying payload
// compressed, and true; or false when it is below the threshold or
// DEFLATE does not make it smaller. It counts what it did.
func (z *compression) compressPayload(op wsframe.OpCode, payload []byte) ([]byte, bool) {
	if len(payload) < z.comp.MinSize {
		return nil, false
	}
	f, ok := z.comp.AppendFrame(nil, op, payload)
	if !ok {
		z.plain.Add(1)
		return nil, false
	}
	_, hlen, _ := wsframe.ParseHeader(f)
	z.frames.Add(1)
	z.in.Add(uint64(len(payload)))
	z.out.Add(uint64(len(f) - hlen))
	return f, true
}

// inflate returns the message whose compressed payload is p (its first
// frame had RSV1) to handle, inflated under MaxMessageBytes with a pooled
// Inflater; done gives the Inflater back and must be called once the
// message is handled. A message that inflates past the limit fails with
// 1009, one that is not DEFLATE with 1007.
func (z *compression) inflate(p []byte) (msg []byte, done func(), cerr *closeErr) {
	inf, _ := z.inflaters.Get().(*deflate.Inflater)
	if inf == nil {
		inf = deflate.NewInflater(z.limit)
	}
	done = func() { z.inflaters.Put(inf) }
	msg, err := inf.Inflate(p)
	if err != nil {
		done()
		return nil, nil, protoErr(err)
	}
	z.inflated.Add(1)
	return msg, done, nil
}

// rsv is the RSV bits c's client may set on a message's first frame.
func (c *conn) rsv() byte {
	if c.deflate {
		return wsframe.Rsv1
	}
	return 0
}

// listReply returns the "list" reply for request id as pieces sent back
// to back as one frame (see listing.listReply); for a compressing
// connection the frame is compressed and its large second piece, the
// names, compressed once per listing.
func (h *Hub) listReply(c *conn, id []byte) (head []byte, tail [][]byte) {
	l := h.uni.current()
	if c.deflate {
		if head, ztail, ok := l.zlistReply(h.uni, id, &h.z); ok {
			return head, [][]byte{ztail}
		}
	}
	return l.listReply(h.uni, id)
}

// zlistReply is listReply compressed: the head is a stored DEFLATE block
// (the request's type and id, as they are), the tail the names compressed
// from a fresh window once per listing; a DEFLATE stream may follow a
// byte-aligned stored block with any blocks, and the tail's matches
// reach no further back than its own start. ok is false when the tail
// does not compress or the id is too long for one stored block.
func (l *listing) zlistReply(u *universe, id []byte, z *compression) (head, tail []byte, ok bool) {
	l.zOnce.Do(func() {
		if f, ok := z.compressPayload(wsframe.OpText, l.tail(u)); ok {
			_, hlen, _ := wsframe.ParseHeader(f)
			l.zTail = f[hlen:]
		}
	})
	if l.zTail == nil {
		return nil, nil, false
	}
	js := appendListHead(nil, id)
	if len(js) > 0xffff {
		return nil, nil, false
	}
	n := 5 + len(js) + len(l.zTail)
	head = wsframe.AppendHeader(make([]byte, 0, 10+5+len(js)), wsframe.Header{Fin: true, Rsv: wsframe.Rsv1, Op: wsframe.OpText, Length: int64(n)})
	// A stored block, not final (RFC 1951 3.2.4): header bits 000, padding
	// to the byte, then LEN and its complement NLEN, little-endian.
	head = append(head, 0, byte(len(js)), byte(len(js)>>8), ^byte(len(js)), ^byte(len(js)>>8))
	return append(head, js...), l.zTail, true
}
