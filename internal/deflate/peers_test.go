package deflate

import (
	"bytes"
	"context"
	"encoding/base64"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	coder "github.com/coder/websocket"
	"github.com/gorilla/websocket"
)

// peerMessages are what the peers send: short and long text, a message
// that does not compress (so it spans several frames), an empty one and
// binary. Each is echoed back.
func peerMessages() [][]byte {
	rng := rand.New(rand.NewPCG(5, 6))
	noise := make([]byte, 24<<10)
	for i := range noise {
		noise[i] = byte(rng.Uint32())
	}
	req := `{"op":"subscribe","channel":"book","symbols":["BTC-USD"],"depth":10,"id":9}`
	return [][]byte{
		[]byte(req),
		[]byte(`{"op":"subscribe","symbols":["` + strings.Repeat(`AAPL","MSFT","NVDA","`, 40) + `TSLA"],"id":1}`),
		[]byte(base64.StdEncoding.EncodeToString(noise)),
		{},
		[]byte{0, 1, 2, 3, 0xff, 0xfe},
	}
}

// A gorilla/websocket client with compression: the greeting arrives as
// sent, every message it sends arrives compressed (one of them in several
// frames) and comes back intact, and the greeting was compressed once for
// every client.
func TestGorillaCompressed(t *testing.T) {
	s := newTestServer(t, 64<<10, false)
	before := s.deflates.Load()
	for client := range 3 {
		d := websocket.Dialer{EnableCompression: true, HandshakeTimeout: 5 * time.Second}
		c, resp, err := d.Dial(s.url+"?greet=1", nil)
		if err != nil {
			t.Fatal(err)
		}
		if ext := resp.Header.Get("Sec-WebSocket-Extensions"); !strings.Contains(ext, "permessage-deflate") {
			t.Fatalf("client %d: Sec-WebSocket-Extensions %q", client, ext)
		}
		c.SetReadLimit(1 << 20)
		for _, m := range messages(t) {
			_, got, err := c.ReadMessage()
			if err != nil || !bytes.Equal(got, m.p) {
				t.Fatalf("client %d, greeting %s: %d bytes, %v", client, m.kind, len(got), err)
			}
		}
		sent := peerMessages()
		for i, p := range sent {
			op := websocket.TextMessage
			if i == len(sent)-1 {
				op = websocket.BinaryMessage
			}
			if err := c.WriteMessage(op, p); err != nil {
				t.Fatal(err)
			}
			typ, got, err := c.ReadMessage()
			if err != nil || typ != op || !bytes.Equal(got, p) {
				t.Fatalf("client %d, message %d: echo %d, %d bytes, %v; sent %d, %d bytes", client, i, typ, len(got), err, op, len(p))
			}
		}
		_ = c.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""))
		_, _, _ = c.ReadMessage()
		_ = c.Close()

		log := s.next()
		if !log.compressed || len(log.msgs) != len(sent) {
			t.Fatalf("client %d: server log compressed=%v, %d messages", client, log.compressed, len(log.msgs))
		}
		frames := 0
		for i, m := range log.msgs {
			if !m.compressed {
				t.Errorf("client %d: message %d arrived uncompressed", client, i)
			}
			frames = max(frames, m.frames)
		}
		if frames < 2 {
			t.Errorf("client %d: no message came in several frames; the test does not cover fragments", client)
		}
	}
	// The greeting's five frames were compressed when the server started;
	// the echoes are the only compressions since.
	if got, want := s.deflates.Load()-before, int64(3*len(peerMessages())); got != want {
		t.Errorf("%d compressions for 3 clients' echoes; want %d (the greeting is compressed once)", got, want)
	}
}

// A client without compression on the same server gets the same messages
// as plain frames (gorilla fails a frame with RSV1 it did not negotiate).
func TestGorillaPlain(t *testing.T) {
	s := newTestServer(t, 64<<10, false)
	d := websocket.Dialer{HandshakeTimeout: 5 * time.Second}
	c, resp, err := d.Dial(s.url+"?greet=1", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if ext := resp.Header.Get("Sec-WebSocket-Extensions"); ext != "" {
		t.Fatalf("Sec-WebSocket-Extensions %q without an offer", ext)
	}
	c.SetReadLimit(1 << 20)
	for _, m := range messages(t) {
		_, got, err := c.ReadMessage()
		if err != nil || !bytes.Equal(got, m.p) {
			t.Fatalf("greeting %s: %d bytes, %v", m.kind, len(got), err)
		}
	}
	p := peerMessages()[1]
	if err := c.WriteMessage(websocket.TextMessage, p); err != nil {
		t.Fatal(err)
	}
	if _, got, err := c.ReadMessage(); err != nil || !bytes.Equal(got, p) {
		t.Fatalf("echo: %d bytes, %v", len(got), err)
	}
	_ = c.Close()
	if log := s.next(); log.compressed || len(log.msgs) != 1 || log.msgs[0].compressed {
		t.Errorf("server log: compressed=%v, %d messages", log.compressed, len(log.msgs))
	}
}

// coder/websocket clients, in both of its compression modes. Asked for
// context takeover it still gets client_no_context_takeover in the answer
// and must honour it: similar messages one after another would otherwise
// refer back to each other, which the server's fresh window rejects.
func TestCoder(t *testing.T) {
	for _, mode := range []coder.CompressionMode{coder.CompressionNoContextTakeover, coder.CompressionContextTakeover} {
		s := newTestServer(t, 64<<10, false)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		c, resp, err := coder.Dial(ctx, s.url+"?greet=1", &coder.DialOptions{CompressionMode: mode})
		if err != nil {
			cancel()
			t.Fatal(err)
		}
		if ext := resp.Header.Get("Sec-WebSocket-Extensions"); !strings.Contains(ext, "client_no_context_takeover") {
			t.Fatalf("mode %d: Sec-WebSocket-Extensions %q", mode, ext)
		}
		c.SetReadLimit(1 << 20)
		for _, m := range messages(t) {
			_, got, err := c.Read(ctx)
			if err != nil || !bytes.Equal(got, m.p) {
				t.Fatalf("mode %d, greeting %s: %d bytes, %v", mode, m.kind, len(got), err)
			}
		}
		long := peerMessages()[1] // over coder's 512-byte threshold: compressed
		sent := [][]byte{long, long, peerMessages()[0], long}
		for i, p := range sent {
			if err := c.Write(ctx, coder.MessageText, p); err != nil {
				t.Fatal(err)
			}
			if _, got, err := c.Read(ctx); err != nil || !bytes.Equal(got, p) {
				t.Fatalf("mode %d, message %d: echo %d bytes, %v", mode, i, len(got), err)
			}
		}
		_ = c.Close(coder.StatusNormalClosure, "")
		cancel()
		log := s.next()
		if !log.compressed || len(log.msgs) != len(sent) {
			t.Fatalf("mode %d: server log compressed=%v, %d messages", mode, log.compressed, len(log.msgs))
		}
		for i, m := range log.msgs {
			if want := len(m.p) > 512; m.compressed != want {
				t.Errorf("mode %d, message %d (%d bytes): compressed=%v, want %v", mode, i, len(m.p), m.compressed, want)
			}
		}
	}
}
