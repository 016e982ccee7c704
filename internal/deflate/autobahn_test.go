package deflate

import (
	"bytes"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tickerd/tickerd/internal/testutil"
	"github.com/tickerd/tickerd/internal/wsframe"
)

// rawClient is testutil's raw client for one test: it fails the test on
// an error, so a test can send what no library would (RSV1 where it is
// forbidden, a bomb, a broken stream) in a line.
type rawClient struct {
	t testing.TB
	*testutil.RawConn
	ext string // the server's Sec-WebSocket-Extensions
}

// dialRaw upgrades a connection to s, sending each offer as a
// Sec-WebSocket-Extensions header line of its own.
func dialRaw(t testing.TB, s *testServer, query string, offers ...string) *rawClient {
	t.Helper()
	addr := strings.TrimPrefix(strings.TrimSuffix(s.url, "/"), "ws://")
	rc, err := testutil.DialRawHeader(addr, "/"+query, http.Header{"Sec-WebSocket-Extensions": offers}, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rc.Close() })
	return &rawClient{t: t, RawConn: rc, ext: rc.Header.Get("Sec-WebSocket-Extensions")}
}

// send writes client frames, masked, in one write.
func (c *rawClient) send(frames ...wsframe.Frame) {
	c.t.Helper()
	var out []byte
	for _, f := range frames {
		out = testutil.AppendFrame(out, testutil.Frame{Fin: f.Fin, Rsv: f.Rsv, Op: f.Op, Payload: f.Payload})
	}
	if _, err := c.Write(out); err != nil {
		c.t.Fatal(err)
	}
}

// frame reads the next server frame.
func (c *rawClient) frame() wsframe.Frame {
	c.t.Helper()
	f, err := c.ReadFrame(time.Now().Add(10 * time.Second))
	if err != nil {
		c.t.Fatalf("reading a frame: %v", err)
	}
	return f.Frame
}

// message reads the next server frame as a whole message, inflated with
// compress/flate if it has RSV1.
func (c *rawClient) message() (f wsframe.Frame, p []byte) {
	c.t.Helper()
	f = c.frame()
	if !f.Fin {
		c.t.Fatalf("the server fragmented a message: %+v", f.Header)
	}
	if f.Rsv&wsframe.Rsv1 == 0 {
		return f, f.Payload
	}
	p, err := stdInflate(f.Payload)
	if err != nil {
		c.t.Fatalf("inflating the server's frame: %v", err)
	}
	return f, p
}

// closeCode reads frames up to the server's close frame and returns its
// code.
func (c *rawClient) closeCode() wsframe.StatusCode {
	c.t.Helper()
	code, _, err := c.ReadClose(10 * time.Second)
	if err != nil {
		c.t.Fatal(err)
	}
	return wsframe.StatusCode(code)
}

func data(op wsframe.OpCode, fin bool, rsv byte, p []byte) wsframe.Frame {
	return wsframe.Frame{Header: wsframe.Header{Fin: fin, Rsv: rsv, Op: op}, Payload: p}
}

// The greeting on the wire: RSV1 frames that compress/flate inflates to
// the messages for a client that offered permessage-deflate, plain frames
// for one that did not.
func TestGreetingOnTheWire(t *testing.T) {
	s := newTestServer(t, 64<<10, false)
	for _, offer := range []string{"permessage-deflate; client_max_window_bits", ""} {
		var offers []string
		if offer != "" {
			offers = append(offers, offer)
		}
		c := dialRaw(t, s, "?greet=1", offers...)
		for _, m := range messages(t) {
			f, p := c.message()
			if compressed := f.Rsv == wsframe.Rsv1; compressed != (offer != "") || f.Op != wsframe.OpText || !bytes.Equal(p, m.p) {
				t.Errorf("offer %q, %s: header %+v, %d bytes", offer, m.kind, f.Header, len(p))
			}
		}
	}
}

// Compressed client messages, after the Autobahn cases (12.x, 13.x) and
// RFC 7692's rules: each case on its own connection, ending in the echo
// it should get or the close code the server should fail with.
func TestCompressedClientFrames(t *testing.T) {
	const limit = 64 << 10
	s := newTestServer(t, limit, false)
	req := []byte(`{"op":"subscribe","symbols":["AAPL","MSFT","NVDA","AAPL","MSFT","NVDA"],"id":1}`)
	z := testutil.Deflate(t, req, 6)
	bomb := testutil.Deflate(t, make([]byte, 16<<20), 1)
	if len(bomb) > limit/2 {
		t.Fatalf("the bomb is %d bytes; it must fit the frame limit", len(bomb))
	}
	exact := testutil.Deflate(t, bytes.Repeat([]byte("x"), limit), 6)
	over := testutil.Deflate(t, bytes.Repeat([]byte("x"), limit+1), 6)
	tests := []struct {
		name   string
		offer  string // "none", or permessage-deflate is offered
		frames []wsframe.Frame
		echo   []byte             // the message echoed, or
		code   wsframe.StatusCode // the close code
	}{
		{name: "compressed text", frames: []wsframe.Frame{data(wsframe.OpText, true, wsframe.Rsv1, z)}, echo: req},
		{name: "compressed binary", frames: []wsframe.Frame{data(wsframe.OpBinary, true, wsframe.Rsv1, z)}, echo: req},
		{name: "plain message on a compressed connection", frames: []wsframe.Frame{data(wsframe.OpText, true, 0, req)}, echo: req},
		{name: "fragmented compressed message", frames: []wsframe.Frame{
			data(wsframe.OpText, false, wsframe.Rsv1, z[:5]),
			data(wsframe.OpContinuation, false, 0, z[5:9]),
			data(wsframe.OpContinuation, true, 0, z[9:]),
		}, echo: req},
		{name: "fragmented compressed message with a ping inside", frames: []wsframe.Frame{
			data(wsframe.OpText, false, wsframe.Rsv1, z[:5]),
			data(wsframe.OpPing, true, 0, []byte("hi")),
			data(wsframe.OpContinuation, true, 0, z[5:]),
		}, echo: req},
		{name: "RFC 7692 7.2.3.1 fragments", frames: []wsframe.Frame{
			data(wsframe.OpText, false, wsframe.Rsv1, rfcHello[:3]),
			data(wsframe.OpContinuation, true, 0, rfcHello[3:]),
		}, echo: []byte("Hello")},
		{name: "empty fragments around the data", frames: []wsframe.Frame{
			data(wsframe.OpText, false, wsframe.Rsv1, nil),
			data(wsframe.OpContinuation, false, 0, z),
			data(wsframe.OpContinuation, true, 0, nil),
		}, echo: req},
		{name: "empty compressed message (RFC 7692 7.2.3.6)", frames: []wsframe.Frame{data(wsframe.OpText, true, wsframe.Rsv1, rfcEmptyMessage)}, echo: []byte{}},
		{name: "empty compressed payload", frames: []wsframe.Frame{data(wsframe.OpText, true, wsframe.Rsv1, nil)}, echo: []byte{}},
		{name: "inflates to exactly the limit", frames: []wsframe.Frame{data(wsframe.OpBinary, true, wsframe.Rsv1, exact)}, echo: bytes.Repeat([]byte("x"), limit)},
		{name: "inflates to one byte over the limit", frames: []wsframe.Frame{data(wsframe.OpBinary, true, wsframe.Rsv1, over)}, code: wsframe.StatusMessageTooBig},
		{name: "bomb", frames: []wsframe.Frame{data(wsframe.OpBinary, true, wsframe.Rsv1, bomb)}, code: wsframe.StatusMessageTooBig},
		{name: "fragmented bomb", frames: []wsframe.Frame{
			data(wsframe.OpBinary, false, wsframe.Rsv1, bomb[:len(bomb)/2]),
			data(wsframe.OpContinuation, true, 0, bomb[len(bomb)/2:]),
		}, code: wsframe.StatusMessageTooBig},
		{name: "corrupt stream", frames: []wsframe.Frame{data(wsframe.OpText, true, wsframe.Rsv1, []byte{0x06, 0x00})}, code: wsframe.StatusInvalidFramePayloadData},
		{name: "stream cut short", frames: []wsframe.Frame{data(wsframe.OpText, true, wsframe.Rsv1, rfcStored[:8])}, code: wsframe.StatusInvalidFramePayloadData},
		{name: "context from the previous message", frames: []wsframe.Frame{
			data(wsframe.OpText, true, wsframe.Rsv1, rfcHello),
			data(wsframe.OpText, true, wsframe.Rsv1, rfcHelloAgain),
		}, echo: []byte("Hello"), code: wsframe.StatusInvalidFramePayloadData},
		{name: "invalid UTF-8 once inflated", frames: []wsframe.Frame{data(wsframe.OpText, true, wsframe.Rsv1, testutil.Deflate(t, []byte{'{', 0xff, '}'}, 6))}, code: wsframe.StatusInvalidFramePayloadData},
		{name: "RSV1 on a continuation frame", frames: []wsframe.Frame{
			data(wsframe.OpText, false, wsframe.Rsv1, z[:5]),
			data(wsframe.OpContinuation, true, wsframe.Rsv1, z[5:]),
		}, code: wsframe.StatusProtocolError},
		{name: "RSV1 on a continuation of a plain message", frames: []wsframe.Frame{
			data(wsframe.OpText, false, 0, req[:5]),
			data(wsframe.OpContinuation, true, wsframe.Rsv1, req[5:]),
		}, code: wsframe.StatusProtocolError},
		{name: "RSV1 on a ping", frames: []wsframe.Frame{data(wsframe.OpPing, true, wsframe.Rsv1, rfcHello)}, code: wsframe.StatusProtocolError},
		{name: "RSV1 on a close frame", frames: []wsframe.Frame{data(wsframe.OpClose, true, wsframe.Rsv1, wsframe.AppendCloseBody(nil, 1000, ""))}, code: wsframe.StatusProtocolError},
		{name: "RSV2", frames: []wsframe.Frame{data(wsframe.OpText, true, wsframe.Rsv2, req)}, code: wsframe.StatusProtocolError},
		{name: "RSV3 with RSV1", frames: []wsframe.Frame{data(wsframe.OpText, true, wsframe.Rsv1|wsframe.Rsv3, z)}, code: wsframe.StatusProtocolError},
		{name: "RSV1 without negotiation", offer: "none", frames: []wsframe.Frame{data(wsframe.OpText, true, wsframe.Rsv1, z)}, code: wsframe.StatusProtocolError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			offers := []string{"permessage-deflate"}
			if tt.offer == "none" {
				offers = nil
			}
			c := dialRaw(t, s, "", offers...)
			if (c.ext != "") != (offers != nil) {
				t.Fatalf("offers %q answered with %q", offers, c.ext)
			}
			c.send(tt.frames...)
			if tt.echo != nil {
				f := c.frame()
				if f.Op == wsframe.OpPong {
					f = c.frame()
				}
				p := f.Payload
				if f.Rsv&wsframe.Rsv1 != 0 {
					var err error
					if p, err = stdInflate(p); err != nil {
						t.Fatal(err)
					}
				}
				if f.Op == wsframe.OpClose || !bytes.Equal(p, tt.echo) {
					t.Fatalf("got %+v carrying %d bytes; want the %d-byte echo", f.Header, len(p), len(tt.echo))
				}
			}
			if tt.code != 0 {
				if got := c.closeCode(); got != tt.code {
					t.Fatalf("closed with %d, want %d", got, tt.code)
				}
			} else {
				c.send(data(wsframe.OpClose, true, 0, wsframe.AppendCloseBody(nil, wsframe.StatusNormalClosure, "")))
				if got := c.closeCode(); got != wsframe.StatusNormalClosure {
					t.Fatalf("close echo %d", got)
				}
			}
		})
	}
}
