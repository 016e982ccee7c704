package testutil

import (
	"bufio"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"
)

// Opcodes of RFC 6455.
const (
	OpContinuation byte = 0x0
	OpText         byte = 0x1
	OpBinary       byte = 0x2
	OpClose        byte = 0x8
	OpPing         byte = 0x9
	OpPong         byte = 0xA
)

// Frame is one WebSocket frame as a client writes it. The zero Rsv, a false
// NoMask and a negative Length give a well-formed masked frame; set the
// fields to break it on purpose.
type Frame struct {
	Fin     bool
	Rsv     byte // the three RSV bits, 0..7
	Op      byte
	NoMask  bool  // send unmasked (a protocol error from a client)
	Length  int64 // announced payload length; <0 or 0 with a payload: len(Payload)
	Payload []byte
}

// AppendFrame appends the wire form of f to dst, masked with a random key
// unless f.NoMask.
func AppendFrame(dst []byte, f Frame) []byte {
	n := f.Length
	if n <= 0 {
		n = int64(len(f.Payload))
	}
	b0 := f.Rsv<<4 | f.Op&0x0f
	if f.Fin {
		b0 |= 0x80
	}
	var m byte
	if !f.NoMask {
		m = 0x80
	}
	switch {
	case n <= 125:
		dst = append(dst, b0, m|byte(n))
	case n <= 0xffff:
		dst = append(dst, b0, m|126, byte(n>>8), byte(n))
	default:
		dst = append(dst, b0, m|127)
		dst = binary.BigEndian.AppendUint64(dst, uint64(n))
	}
	if f.NoMask {
		return append(dst, f.Payload...)
	}
	var key [4]byte
	_, _ = rand.Read(key[:])
	dst = append(dst, key[:]...)
	for i, c := range f.Payload {
		dst = append(dst, c^key[i&3])
	}
	return dst
}

// CloseBody returns the body of a close frame: the code, then the reason.
func CloseBody(code uint16, reason string) []byte {
	return append(binary.BigEndian.AppendUint16(nil, code), reason...)
}

// ServerFrame is a frame read from the server.
type ServerFrame struct {
	Fin     bool
	Rsv     byte
	Op      byte
	Masked  bool
	Payload []byte
}

// CloseCode returns the code and reason of a close frame; 1005 for a close
// frame without a body.
func (f ServerFrame) CloseCode() (uint16, string) {
	if len(f.Payload) < 2 {
		return 1005, ""
	}
	return binary.BigEndian.Uint16(f.Payload), string(f.Payload[2:])
}

// RawConn is a WebSocket client connection that reads and writes frames
// exactly as told, for feeding a server malformed input.
type RawConn struct {
	net.Conn
	R *bufio.Reader
}

// handshake returns an upgrade request for path with a fresh key, and the
// Sec-WebSocket-Accept the server must answer.
func handshake(host, path string, extra string) (req, accept string) {
	var k [16]byte
	_, _ = rand.Read(k[:])
	key := base64.StdEncoding.EncodeToString(k[:])
	sum := sha1.Sum([]byte(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	req = "GET " + path + " HTTP/1.1\r\nHost: " + host +
		"\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " + key +
		"\r\nSec-WebSocket-Version: 13\r\n" + extra + "\r\n"
	return req, base64.StdEncoding.EncodeToString(sum[:])
}

// DialRaw connects to addr and upgrades to a WebSocket at path.
func DialRaw(addr, path string, timeout time.Duration) (*RawConn, error) {
	return DialRawWith(&net.Dialer{Timeout: timeout}, addr, path, nil, timeout)
}

// DialRawWith is DialRaw with a dialer (for a source address or socket
// options) and bytes sent in the same write as the upgrade request.
func DialRawWith(d *net.Dialer, addr, path string, after []byte, timeout time.Duration) (*RawConn, error) {
	if d == nil {
		d = &net.Dialer{Timeout: timeout}
	}
	nc, err := d.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	rc, err := Upgrade(nc, addr, path, after, timeout)
	if err != nil {
		nc.Close()
		return nil, err
	}
	return rc, nil
}

// Upgrade performs the client handshake on nc, sending after right behind
// the request in one write.
func Upgrade(nc net.Conn, host, path string, after []byte, timeout time.Duration) (*RawConn, error) {
	req, accept := handshake(host, path, "")
	_ = nc.SetDeadline(time.Now().Add(timeout))
	defer nc.SetDeadline(time.Time{})
	if _, err := nc.Write(append([]byte(req), after...)); err != nil {
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
	return &RawConn{Conn: nc, R: br}, nil
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

// ReadFrame reads one server frame, waiting until the deadline.
func (c *RawConn) ReadFrame(deadline time.Time) (ServerFrame, error) {
	_ = c.SetReadDeadline(deadline)
	var f ServerFrame
	var h [2]byte
	if _, err := io.ReadFull(c.R, h[:]); err != nil {
		return f, err
	}
	f.Fin = h[0]&0x80 != 0
	f.Rsv = h[0] >> 4 & 7
	f.Op = h[0] & 0x0f
	f.Masked = h[1]&0x80 != 0
	n := uint64(h[1] & 0x7f)
	switch n {
	case 126:
		var b [2]byte
		if _, err := io.ReadFull(c.R, b[:]); err != nil {
			return f, err
		}
		n = uint64(binary.BigEndian.Uint16(b[:]))
	case 127:
		var b [8]byte
		if _, err := io.ReadFull(c.R, b[:]); err != nil {
			return f, err
		}
		n = binary.BigEndian.Uint64(b[:])
	}
	if n > 16<<20 {
		return f, fmt.Errorf("testutil: server frame of %d bytes", n)
	}
	if f.Masked {
		return f, errors.New("testutil: masked server frame")
	}
	f.Payload = make([]byte, n)
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
	_ = c.SetReadDeadline(time.Now().Add(timeout))
	_, err := io.Copy(io.Discard, c.R)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return fmt.Errorf("testutil: connection still open after %v", timeout)
	}
	return nil
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
