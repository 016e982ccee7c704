package testutil

import (
	"bufio"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/tickerd/tickerd/internal/wsframe"
)

// Opcodes, for building a Frame.
const (
	OpContinuation = wsframe.OpContinuation
	OpText         = wsframe.OpText
	OpBinary       = wsframe.OpBinary
	OpClose        = wsframe.OpClose
	OpPing         = wsframe.OpPing
	OpPong         = wsframe.OpPong
)

// Frame is one WebSocket frame as a client writes it. The zero Rsv, a false
// NoMask and a zero Length give a well-formed masked frame; set the fields
// to break it on purpose.
type Frame struct {
	Fin     bool
	Rsv     byte // the three RSV bits, 0..7
	Op      wsframe.OpCode
	NoMask  bool  // send unmasked (a protocol error from a client)
	Length  int64 // announced payload length; <= 0: len(Payload)
	Payload []byte
}

// AppendFrame appends the wire form of f to dst, masked with a fresh key
// unless f.NoMask.
func AppendFrame(dst []byte, f Frame) []byte {
	h := wsframe.Header{Fin: f.Fin, Rsv: f.Rsv, Op: f.Op, Masked: !f.NoMask}
	if h.Masked {
		h.Mask = wsframe.NewMask()
	}
	frame := wsframe.AppendFrame(nil, h, f.Payload)
	if f.Length <= 0 {
		return append(dst, frame...)
	}
	// A header that announces f.Length, then the payload there is.
	h.Length = f.Length
	return append(wsframe.AppendHeader(dst, h), frame[len(frame)-len(f.Payload):]...)
}

// CloseBody returns the body of a close frame: the code, then the reason,
// as given.
func CloseBody(code uint16, reason string) []byte {
	return wsframe.AppendCloseBody(nil, wsframe.StatusCode(code), reason)
}

// ServerFrame is a frame read from the server.
type ServerFrame struct{ wsframe.Frame }

// CloseCode returns the code and reason of a close frame; 1005 for a close
// frame without a body.
func (f ServerFrame) CloseCode() (uint16, string) {
	code, reason, _ := wsframe.ParseCloseBody(f.Payload) // the caller judges a bad body by the code
	return uint16(code), string(reason)
}

// RawConn is a WebSocket client connection that reads and writes frames
// exactly as told, for feeding a server malformed input.
type RawConn struct {
	net.Conn
	R      *bufio.Reader
	Header http.Header // the server's upgrade response headers
}

// handshake returns an upgrade request for path with a fresh key, each
// value of extra on a header line of its own, and the Sec-WebSocket-Accept
// the server must answer.
func handshake(host, path string, extra http.Header) (req []byte, accept string) {
	var k [16]byte
	_, _ = rand.Read(k[:])
	key := base64.StdEncoding.EncodeToString(k[:])
	sum := sha1.Sum([]byte(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	req = []byte("GET " + path + " HTTP/1.1\r\nHost: " + host +
		"\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " + key +
		"\r\nSec-WebSocket-Version: 13\r\n")
	for name, values := range extra {
		for _, v := range values {
			req = append(req, name+": "+v+"\r\n"...)
		}
	}
	return append(req, "\r\n"...), base64.StdEncoding.EncodeToString(sum[:])
}

// DialRaw connects to addr and upgrades to a WebSocket at path.
func DialRaw(addr, path string, timeout time.Duration) (*RawConn, error) {
	return DialRawWith(&net.Dialer{Timeout: timeout}, addr, path, nil, timeout)
}

// DialRawHeader is DialRaw with more request headers, each value on a
// line of its own (several Sec-WebSocket-Extensions offers, an Origin).
func DialRawHeader(addr, path string, h http.Header, timeout time.Duration) (*RawConn, error) {
	return dialRaw(nil, addr, path, h, nil, timeout)
}

// DialRawWith is DialRaw with a dialer (for a source address or socket
// options) and bytes sent in the same write as the upgrade request.
func DialRawWith(d *net.Dialer, addr, path string, after []byte, timeout time.Duration) (*RawConn, error) {
	return dialRaw(d, addr, path, nil, after, timeout)
}

func dialRaw(d *net.Dialer, addr, path string, h http.Header, after []byte, timeout time.Duration) (*RawConn, error) {
	if d == nil {
		d = &net.Dialer{Timeout: timeout}
	}
	nc, err := d.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	rc, err := upgrade(nc, addr, path, h, after, timeout)
	if err != nil {
		nc.Close()
		return nil, err
	}
	return rc, nil
}

// Upgrade performs the client handshake on nc, sending after right behind
// the request in one write.
func Upgrade(nc net.Conn, host, path string, after []byte, timeout time.Duration) (*RawConn, error) {
	return upgrade(nc, host, path, nil, after, timeout)
}

func upgrade(nc net.Conn, host, path string, h http.Header, after []byte, timeout time.Duration) (*RawConn, error) {
	req, accept := handshake(host, path, h)
	_ = nc.SetDeadline(time.Now().Add(timeout))
	defer nc.SetDeadline(time.Time{})
	if _, err := nc.Write(append(req, after...)); err != nil {
		return nil, err
	}
	br := bufio.NewReaderSize(nc, 64<<10)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		return nil, fmt.Errorf("testutil: read upgrade response: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSwitchingProtocols {
		return nil, fmt.Errorf("testutil: upgrade: status %d", resp.StatusCode)
	}
	if got := resp.Header.Get("Sec-Websocket-Accept"); got != accept {
		return nil, fmt.Errorf("testutil: upgrade: Sec-WebSocket-Accept %q, want %q", got, accept)
	}
	return &RawConn{Conn: nc, R: br, Header: resp.Header}, nil
}

// WriteFrame writes f in one write.
func (c *RawConn) WriteFrame(f Frame) error {
	_, err := c.Write(AppendFrame(nil, f))
	return err
}

// WriteText writes one final masked text frame.
func (c *RawConn) WriteText(s string) error {
	return c.WriteFrame(Frame{Fin: true, Op: OpText, Payload: []byte(s)})
}

// maxServerFrame bounds the frames ReadFrame accepts.
const maxServerFrame = 16 << 20

// ReadFrame reads one server frame, waiting until the deadline. It fails
// on a masked frame or one over 16 MiB, and checks nothing else.
func (c *RawConn) ReadFrame(deadline time.Time) (ServerFrame, error) {
	_ = c.SetReadDeadline(deadline)
	var h wsframe.Header
	for need := 2; ; need++ {
		b, err := c.R.Peek(need)
		if err != nil {
			return ServerFrame{}, err
		}
		var n int
		if h, n, err = wsframe.ParseHeader(b); err != nil {
			return ServerFrame{}, err
		}
		if n > 0 {
			_, _ = c.R.Discard(n) // cannot fail: the bytes are buffered
			break
		}
	}
	f := ServerFrame{wsframe.Frame{Header: h}}
	switch {
	case h.Length > maxServerFrame:
		return f, fmt.Errorf("testutil: server frame of %d bytes", h.Length)
	case h.Masked:
		return f, errors.New("testutil: masked server frame")
	}
	f.Payload = make([]byte, h.Length)
	_, err := io.ReadFull(c.R, f.Payload)
	return f, err
}

// ReadClose reads frames until the server's close frame and returns its
// code and reason. It fails if the connection ends first or the timeout
// passes.
func (c *RawConn) ReadClose(timeout time.Duration) (uint16, string, error) {
	deadline := time.Now().Add(timeout)
	for {
		f, err := c.ReadFrame(deadline)
		if err != nil {
			return 0, "", fmt.Errorf("testutil: no close frame: %w", err)
		}
		if f.Op == OpClose {
			code, reason := f.CloseCode()
			return code, reason, nil
		}
	}
}

// ReadEOF reads until the server ends the connection (EOF or reset) and
// fails if it is still open when the timeout passes.
func (c *RawConn) ReadEOF(timeout time.Duration) error {
	_, err := ReadEOF(c.Conn, c.R, timeout)
	return err
}

// ReadEOF reads r, nc or a reader that buffers it, until the peer ends
// the connection (EOF or reset), and returns how long that took. It fails
// if nc is still open when the timeout passes.
func ReadEOF(nc net.Conn, r io.Reader, timeout time.Duration) (time.Duration, error) {
	start := time.Now()
	_ = nc.SetReadDeadline(start.Add(timeout))
	_, err := io.Copy(io.Discard, r)
	if IsTimeout(err) {
		return timeout, fmt.Errorf("testutil: connection still open after %v", timeout)
	}
	return time.Since(start), nil
}

// ReadText reads frames until a text frame for which keep reports true,
// answering nothing; it returns that frame's payload.
func (c *RawConn) ReadText(timeout time.Duration, keep func(p []byte) bool) ([]byte, error) {
	deadline := time.Now().Add(timeout)
	for {
		f, err := c.ReadFrame(deadline)
		if err != nil {
			return nil, err
		}
		if f.Op == OpClose {
			code, reason := f.CloseCode()
			return nil, fmt.Errorf("testutil: closed %d %q while waiting for a message", code, reason)
		}
		if f.Op == OpText && keep(f.Payload) {
			return f.Payload, nil
		}
	}
}

// ReadLimits reads the "limits" message every connection starts with.
func (c *RawConn) ReadLimits(timeout time.Duration) error {
	f, err := c.ReadFrame(time.Now().Add(timeout))
	if err != nil {
		return fmt.Errorf("testutil: first message: %w", err)
	}
	if f.Op != OpText || !strings.HasPrefix(string(f.Payload), `{"type":"limits",`) {
		return fmt.Errorf("testutil: first frame op %#x %q, want the limits message", f.Op, f.Payload)
	}
	return nil
}

// HasID reports whether a reply payload carries "id":id (id as raw JSON).
func HasID(id string) func([]byte) bool {
	return func(p []byte) bool { return strings.Contains(string(p), `"id":`+id+`,`) }
}
