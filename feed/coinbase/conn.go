package coinbase

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"
)

// writeTimeout bounds every frame the feed writes upstream.
const writeTimeout = 5 * time.Second

// keepBuffer is the largest message buffer a connection keeps between
// messages; a bigger one (an order-book snapshot) is dropped after use.
const keepBuffer = 1 << 20

// errBinary is returned by readMessage for a binary message, which the
// feed does not use; the message has been skipped.
var errBinary = errors.New("coinbase: unexpected binary message")

// conn is the client side of one WebSocket connection to the upstream, on
// gobwas/ws. The session goroutine writes (subscriptions and the closing
// handshake) and one reader goroutine calls readMessage, which also answers
// pings and close frames; every frame is written whole under mu, so the two
// writers never interleave.
type conn struct {
	nc     net.Conn
	br     *bufio.Reader
	pooled bool // br came from ws.Dialer and goes back with ws.PutReader

	mu sync.Mutex // serializes writes to nc

	// Owned by the reader goroutine.
	rd  wsutil.Reader
	ctl wsutil.FrameHandlerFunc
	buf bytes.Buffer
}

// dial connects to url (ws:// or wss://) and completes the handshake
// within timeout. Messages longer than maxMessage bytes fail the read.
func dial(ctx context.Context, url string, timeout time.Duration, maxMessage int64) (*conn, error) {
	nc, br, _, err := ws.Dialer{Timeout: timeout}.Dial(ctx, url)
	if err != nil {
		return nil, err
	}
	c := &conn{nc: nc, br: br, pooled: br != nil}
	if br == nil { // nothing arrived after the handshake: read through our own buffer
		c.br = bufio.NewReader(nc)
	}
	c.ctl = wsutil.ControlFrameHandler(lockedWriter{c}, ws.StateClientSide)
	c.rd = wsutil.Reader{
		Source:         c.br,
		State:          ws.StateClientSide,
		CheckUTF8:      true,
		MaxMessageSize: maxMessage,
		OnIntermediate: c.ctl,
	}
	return c, nil
}

// readMessage returns the next text message, waiting at most idle for it
// to begin. The bytes are valid until the next call. Control frames are
// handled on the way (a close frame is answered and ends the connection
// with a wsutil.ClosedError). A binary message is skipped with errBinary;
// any other error ends the connection.
func (c *conn) readMessage(idle time.Duration) ([]byte, error) {
	if c.buf.Cap() > keepBuffer {
		c.buf = bytes.Buffer{}
	}
	c.buf.Reset()
	for {
		c.nc.SetReadDeadline(time.Now().Add(idle))
		hdr, err := c.rd.NextFrame()
		if err != nil {
			return nil, err
		}
		if hdr.OpCode.IsControl() {
			if err := c.ctl(hdr, &c.rd); err != nil {
				return nil, err
			}
			continue
		}
		if hdr.OpCode != ws.OpText {
			if err := c.rd.Discard(); err != nil {
				return nil, err
			}
			return nil, fmt.Errorf("%w of %d bytes", errBinary, hdr.Length)
		}
		// The buffer grows with the bytes that arrive, never with the
		// length a header announces; rd stops at MaxMessageSize.
		if _, err := c.buf.ReadFrom(&c.rd); err != nil {
			return nil, err
		}
		return c.buf.Bytes(), nil
	}
}

// writeText sends p as one masked text frame. It masks p in place.
func (c *conn) writeText(p []byte) error {
	frame, err := ws.CompileFrame(ws.MaskFrameInPlace(ws.NewTextFrame(p)))
	if err != nil {
		return err
	}
	_, err = lockedWriter{c}.Write(frame)
	return err
}

// close sends a close frame (going away), best effort, and closes the
// connection; a blocked readMessage returns.
func (c *conn) close() {
	body := ws.NewCloseFrameBody(ws.StatusGoingAway, "")
	if frame, err := ws.CompileFrame(ws.MaskFrameInPlace(ws.NewCloseFrame(body))); err == nil {
		lockedWriter{c}.Write(frame)
	}
	c.nc.Close()
}

// release returns the pooled read buffer. Call it once the reader has
// returned.
func (c *conn) release() {
	if c.pooled {
		ws.PutReader(c.br)
		c.br, c.pooled = nil, false
	}
}

// lockedWriter writes each p with one Write call under c.mu, within
// writeTimeout. Every caller passes a whole frame.
type lockedWriter struct{ c *conn }

func (w lockedWriter) Write(p []byte) (int, error) {
	w.c.mu.Lock()
	defer w.c.mu.Unlock()
	w.c.nc.SetWriteDeadline(time.Now().Add(writeTimeout))
	return w.c.nc.Write(p)
}
