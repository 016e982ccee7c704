package deflate

import (
	"bytes"
	stdflate "compress/flate"
	"slices"
	"sync"

	"github.com/klauspost/compress/flate"

	"github.com/tickerd/tickerd/internal/wsframe"
)

// The DEFLATE encoders. Every message is compressed from a fresh window
// (server_no_context_takeover), so an encoder is Reset per message, and
// only levels whose Reset is cheap are usable: the levels of both
// libraries that search harder clear a 640 KiB match table on Reset.
// From smallCut bytes on, klauspost/compress level 6 (kpLevel) compresses
// best (a 500-candle history to 14% instead of 19%); below it, its fast
// levels find few matches (none at all under 128 bytes) and store many
// payloads as they are, so compress/flate's BestSpeed takes those (a
// 111-byte trade: 87% instead of 100%). TestEncoderChoice checks the cut
// on the market mix; BenchmarkEngines measures the candidates. A pooled
// encoder holds both writers, about 2.2 MiB.
const (
	kpLevel  = 6
	smallCut = 160
)

// DefaultMinSize is the smallest payload Compressor compresses by default.
// A 90-byte "subscribed" reply would keep 97% of its size; a 111-byte
// trade keeps 87%.
const DefaultMinSize = 100

// maxKeep bounds the output buffer a pooled encoder keeps between calls: a
// rare huge message does not pin its buffer.
const maxKeep = 256 << 10

// Compressor makes compressed server frames for clients that negotiated
// permessage-deflate (see Negotiation): each message is compressed once,
// from a fresh window, and the frame is shared by every such client.
// Its zero value is ready and it is safe for concurrent use: encoders are
// kept for reuse, so a call allocates nothing but the frame it returns.
type Compressor struct {
	// MinSize is the smallest payload compressed; a smaller one is left to
	// the plain frame. 0 means DefaultMinSize; negative compresses every
	// payload.
	MinSize int

	// free keeps up to maxFree encoders between calls. Not a sync.Pool:
	// a pool is emptied by every other garbage collection (and, under the
	// race detector, drops items at random), and an encoder is 2.2 MiB
	// to make; a short list under a mutex keeps them.
	mu   sync.Mutex
	free []*encoder
}

// maxFree is how many idle encoders a Compressor keeps: as many as
// goroutines that compress at once on a busy server (one per shard), with
// room to spare. More are made when needed and dropped after.
const maxFree = 8

// encoder is one pooled pair of DEFLATE writers and their output. Each
// writer is made the first time a payload of its size comes.
type encoder struct {
	fw    *flate.Writer    // payloads of smallCut bytes or more
	small *stdflate.Writer // shorter payloads
	out   buffer
}

// deflate compresses p into e.out from a fresh window and flushes it: the
// output ends with syncTail.
func (e *encoder) deflate(p []byte) error {
	e.out.b = e.out.b[:0]
	var w interface {
		Write([]byte) (int, error)
		Flush() error
	}
	if len(p) < smallCut {
		if e.small == nil {
			e.small, _ = stdflate.NewWriter(&e.out, stdflate.BestSpeed) // only a bad level fails
		}
		e.small.Reset(&e.out)
		w = e.small
	} else {
		if e.fw == nil {
			e.fw, _ = flate.NewWriter(&e.out, kpLevel)
		}
		e.fw.Reset(&e.out)
		w = e.fw
	}
	if _, err := w.Write(p); err != nil {
		return err
	}
	return w.Flush()
}

// buffer is an io.Writer that appends to b.
type buffer struct{ b []byte }

func (w *buffer) Write(p []byte) (int, error) {
	w.b = append(w.b, p...)
	return len(p), nil
}

// syncTail ends every DEFLATE sync flush: the empty stored block that RFC
// 7692 section 7.2.1 removes from a compressed message.
var syncTail = []byte{0x00, 0x00, 0xff, 0xff}

// AppendFrame appends to dst a final server frame of opcode op (text or
// binary) carrying payload compressed (RSV1 set) and reports true, or
// leaves dst as it is and reports false when the payload is below MinSize
// or DEFLATE would not make it smaller: the client then gets the plain
// frame, which RFC 7692 allows on a compressed connection. When dst lacks
// room it grows once, to the frame's exact size:
//
//	z, ok := c.AppendFrame(nil, wsframe.OpText, msg)
//	if !ok {
//		z = plain // the uncompressed frame serves these clients too
//	}
func (c *Compressor) AppendFrame(dst []byte, op wsframe.OpCode, payload []byte) ([]byte, bool) {
	least := c.MinSize
	if least == 0 {
		least = DefaultMinSize
	}
	if len(payload) < least {
		return dst, false
	}
	e := c.get()
	defer c.put(e)
	if err := e.deflate(payload); err != nil {
		return dst, false // buffer.Write never fails; the plain frame is always right
	}
	z, ok := bytes.CutSuffix(e.out.b, syncTail)
	if !ok || len(z) >= len(payload) {
		return dst, false
	}
	h := wsframe.Header{Fin: true, Rsv: wsframe.Rsv1, Op: op, Length: int64(len(z))}
	dst = slices.Grow(dst, h.Len()+len(z))
	dst = wsframe.AppendHeader(dst, h)
	return append(dst, z...), true
}

func (c *Compressor) get() *encoder {
	c.mu.Lock()
	defer c.mu.Unlock()
	if n := len(c.free); n > 0 {
		e := c.free[n-1]
		c.free = c.free[:n-1]
		return e
	}
	return &encoder{}
}

func (c *Compressor) put(e *encoder) {
	if cap(e.out.b) > maxKeep {
		e.out.b = nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.free) < maxFree {
		c.free = append(c.free, e)
	}
}
