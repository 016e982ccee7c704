package hub_test

import (
	"bytes"
	"compress/flate"
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	cws "github.com/coder/websocket"
	"github.com/gorilla/websocket"
	"github.com/shopspring/decimal"

	"github.com/tickerd/tickerd/hub"
	"github.com/tickerd/tickerd/internal/deflate"
	"github.com/tickerd/tickerd/internal/testutil"
	"github.com/tickerd/tickerd/internal/wsframe"
	"github.com/tickerd/tickerd/protocol"
)

// wsClient is one client library's way to send a text message and read the
// next one, as bytes.
type wsClient struct {
	name string
	send func(s string) error
	next func() ([]byte, error)
}

func gorillaClient(t *testing.T, srv *testServer, compress bool) wsClient {
	t.Helper()
	d := srv.dialer(0)
	d.EnableCompression = compress
	c, resp, err := d.Dial(srv.url, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	ext := resp.Header.Get("Sec-WebSocket-Extensions")
	if got, want := ext != "", compress; got != want {
		t.Fatalf("gorilla (compression %v): server answered extensions %q", compress, ext)
	}
	if compress {
		c.EnableWriteCompression(true) // its requests go compressed too
	}
	name := "gorilla"
	if compress {
		name += "+deflate"
	}
	return wsClient{name: name,
		send: func(s string) error { return c.WriteMessage(websocket.TextMessage, []byte(s)) },
		next: func() ([]byte, error) {
			_ = c.SetReadDeadline(time.Now().Add(wait))
			_, p, err := c.ReadMessage()
			return p, err
		},
	}
}

func coderClient(t *testing.T, srv *testServer) wsClient {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	c, resp, err := cws.Dial(ctx, srv.url, &cws.DialOptions{
		HTTPClient:           &http.Client{Transport: &http.Transport{TLSClientConfig: srv.tls}},
		CompressionMode:      cws.CompressionNoContextTakeover,
		CompressionThreshold: 1, // its requests go compressed too
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.CloseNow() })
	if ext := resp.Header.Get("Sec-WebSocket-Extensions"); !strings.Contains(ext, "permessage-deflate") {
		t.Fatalf("coder: server answered extensions %q", ext)
	}
	c.SetReadLimit(16 << 20)
	return wsClient{name: "coder+deflate",
		send: func(s string) error { return c.Write(ctx, cws.MessageText, []byte(s)) },
		next: func() ([]byte, error) {
			rctx, cancel := context.WithTimeout(ctx, wait)
			defer cancel()
			_, p, err := c.Read(rctx)
			return p, err
		},
	}
}

// TestCompressionClients puts clients that negotiate permessage-deflate
// (gorilla/websocket and coder/websocket) and one that does not on the
// same server: each subscribes, lists, searches and gets updates, and
// all get the same messages, byte for byte. The compressing ones send
// their requests compressed; the shared frames were compressed once each.
// Over plain TCP and over TLS (the hub's writer goroutine).
func TestCompressionClients(t *testing.T) { forTransports(t, testCompressionClients) }

func testCompressionClients(t *testing.T, tr transport) {
	srv := startHubOn(t, tr, hub.Config{Shards: 2, MessageRate: -1}, nil)
	clients := []wsClient{
		gorillaClient(t, srv, false),
		gorillaClient(t, srv, true),
		coderClient(t, srv),
	}
	syms := srv.h.Symbols()[:20]
	for _, s := range syms {
		publish(srv.h, s, 1, "100.00")
	}
	sub := `{"op":"subscribe","symbols":["` + strings.Join(syms, `","`) + `"],"id":1}`
	got := make([][]string, len(clients))
	read := func(i int, n int) {
		for range n {
			p, err := clients[i].next()
			if err != nil {
				t.Fatalf("%s: %v", clients[i].name, err)
			}
			got[i] = append(got[i], string(p))
		}
	}
	for i, c := range clients {
		if err := c.send(sub); err != nil {
			t.Fatal(err)
		}
		read(i, 1+1+len(syms)) // limits, subscribed, a snapshot each
	}
	if st := srv.h.Stats(); st.CompressingConns != 2 {
		t.Errorf("Stats().CompressingConns = %d, want 2", st.CompressingConns)
	}
	for seq := uint64(2); seq < 12; seq++ {
		for _, s := range syms {
			publish(srv.h, s, seq, fmt.Sprintf("%d.25", 100+seq))
		}
		for i := range clients {
			read(i, len(syms))
		}
	}
	for i, c := range clients {
		for _, req := range []string{`{"op":"list","id":2}`, `{"op":"search","prefix":"A","limit":500,"id":3}`, `{"op":"ping","id":4}`} {
			if err := c.send(req); err != nil {
				t.Fatal(err)
			}
		}
		read(i, 3)
	}
	for i := range clients[1:] {
		a, b := got[0], got[i+1]
		if len(a) != len(b) {
			t.Fatalf("%s got %d messages, the plain client %d", clients[i+1].name, len(b), len(a))
		}
		for j := range a {
			if a[j] != b[j] && !strings.Contains(a[j], `"type":"pong"`) {
				t.Fatalf("message %d: %s got\n%.200s\nthe plain client got\n%.200s", j, clients[i+1].name, b[j], a[j])
			}
		}
	}
	if !strings.HasPrefix(got[0][len(got[0])-3], `{"type":"symbols","id":2,"symbols":["`) {
		t.Errorf("list reply %.60s…", got[0][len(got[0])-3])
	}
	st := srv.h.Stats()
	// Per update: a tick (two shards may race for it); per symbol a
	// snapshot; the limits message; the list tail; the large replies made
	// for one connection (subscribed, search) for two clients.
	updates := uint64(len(syms) * 11)
	if st.CompressedFrames < updates || st.CompressedFrames > 2*updates+8 {
		t.Errorf("%d frames compressed for %d updates, want about one per update whatever the number of clients", st.CompressedFrames, updates)
	}
	if st.CompressedOut >= st.CompressedIn || st.Inflated < 8 {
		t.Errorf("compressed %d bytes into %d, inflated %d client messages; want smaller, and every request of the two inflated", st.CompressedIn, st.CompressedOut, st.Inflated)
	}
	t.Logf("%d frames compressed, %d -> %d bytes (%.0f%%)", st.CompressedFrames, st.CompressedIn, st.CompressedOut, 100*float64(st.CompressedOut)/float64(st.CompressedIn))
}

// TestCompressOnce: with twenty compressing clients on one shard, each
// update is compressed once, not once per client.
func TestCompressOnce(t *testing.T) {
	srv := startHub(t, hub.Config{Shards: 1, MessageRate: -1}, nil)
	sym := srv.h.Symbols()[0]
	publish(srv.h, sym, 1, "100.00")
	var clients []*testutil.Client
	for range 20 {
		d := &websocket.Dialer{HandshakeTimeout: wait, EnableCompression: true}
		c, err := testutil.DialWith(d, srv.url+"?symbols="+sym)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		nextIs(t, c, "subscribed 0 ")
		nextIs(t, c, "snapshot 1 100.00")
		clients = append(clients, c)
	}
	before := srv.h.Stats().CompressedFrames
	const n = 50
	for seq := uint64(2); seq < 2+n; seq++ {
		p := fmt.Sprintf("%d.50", 100+seq)
		publish(srv.h, sym, seq, p)
		for _, c := range clients {
			nextIs(t, c, fmt.Sprintf("tick %d %s", seq, p))
		}
	}
	if got := srv.h.Stats().CompressedFrames - before; got != n {
		t.Errorf("%d frames compressed for %d updates to %d clients, want %d", got, n, len(clients), n)
	}
}

// dialDeflate upgrades a raw connection offering permessage-deflate and
// reads the limits message; ok reports whether the server accepted the
// offer.
func dialDeflate(t *testing.T, srv *testServer, offer string) (rc *testutil.RawConn, ok bool) {
	t.Helper()
	rc, err := testutil.DialRawHeader(srv.addr, "/ws", http.Header{"Sec-WebSocket-Extensions": {offer}}, wait)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rc.Close() })
	f, err := rc.ReadFrame(time.Now().Add(wait))
	if err != nil || !bytes.Contains(inflated(t, f), []byte(`"type":"limits"`)) {
		t.Fatalf("first frame: %v %q", err, f.Payload)
	}
	return rc, rc.Header.Get("Sec-WebSocket-Extensions") != ""
}

// inflated returns a server frame's message, inflated if RSV1 says so.
func inflated(t *testing.T, f testutil.ServerFrame) []byte {
	t.Helper()
	if f.Rsv&wsframe.Rsv1 == 0 {
		return f.Payload
	}
	p, err := deflate.NewInflater(16 << 20).Inflate(f.Payload)
	if err != nil {
		t.Fatalf("server frame does not inflate: %v", err)
	}
	return p
}

// TestCompressedClientMessages: compressed requests are inflated and
// answered, also in fragments; a deflate bomb closes with 1009, bytes
// that are not DEFLATE with 1007, RSV1 on a connection that did not
// negotiate compression (or on a continuation frame) with 1002. The
// reply to the bomb is the close alone.
func TestCompressedClientMessages(t *testing.T) {
	srv := startHub(t, hub.Config{MessageRate: -1, MaxMessageBytes: 4096}, nil)
	ping := testutil.Deflate(t, []byte(`{"op":"ping","id":7}`), flate.BestCompression)

	c, ok := dialDeflate(t, srv, "permessage-deflate; client_max_window_bits")
	if !ok {
		t.Fatal("permessage-deflate not negotiated")
	}
	if err := c.WriteFrame(testutil.Frame{Fin: true, Rsv: wsframe.Rsv1, Op: testutil.OpText, Payload: ping}); err != nil {
		t.Fatal(err)
	}
	// The same, in two fragments: RSV1 on the first only.
	_ = c.WriteFrame(testutil.Frame{Rsv: wsframe.Rsv1, Op: testutil.OpText, Payload: ping[:3]})
	_ = c.WriteFrame(testutil.Frame{Fin: true, Op: testutil.OpContinuation, Payload: ping[3:]})
	for range 2 {
		f, err := c.ReadFrame(time.Now().Add(wait))
		if err != nil || !bytes.Contains(inflated(t, f), []byte(`"type":"pong","id":7`)) {
			t.Fatalf("reply to a compressed ping: %v %q", err, f.Payload)
		}
	}

	bomb := testutil.Deflate(t, make([]byte, 1<<20), flate.BestCompression) // 1 MiB of zeros in about 1 KiB
	for _, tc := range []struct {
		name    string
		offer   string
		frames  []testutil.Frame
		code    uint16
		counted bool
	}{
		{"bomb", "permessage-deflate", []testutil.Frame{{Fin: true, Rsv: wsframe.Rsv1, Op: testutil.OpText, Payload: bomb}}, 1009, true},
		{"one byte over", "permessage-deflate", []testutil.Frame{{Fin: true, Rsv: wsframe.Rsv1, Op: testutil.OpText, Payload: testutil.Deflate(t, make([]byte, 4097), flate.BestCompression)}}, 1009, true},
		{"not deflate", "permessage-deflate", []testutil.Frame{{Fin: true, Rsv: wsframe.Rsv1, Op: testutil.OpText, Payload: []byte{0xff, 0xff, 0xff, 0xff}}}, 1007, true},
		{"rsv1 not negotiated", "x-unknown", []testutil.Frame{{Fin: true, Rsv: wsframe.Rsv1, Op: testutil.OpText, Payload: ping}}, 1002, false},
		{"rsv1 on a continuation", "permessage-deflate", []testutil.Frame{
			{Rsv: wsframe.Rsv1, Op: testutil.OpText, Payload: ping[:3]},
			{Fin: true, Rsv: wsframe.Rsv1, Op: testutil.OpContinuation, Payload: ping[3:]}}, 1002, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, _ := dialDeflate(t, srv, tc.offer)
			for _, f := range tc.frames {
				if err := c.WriteFrame(f); err != nil {
					t.Fatal(err)
				}
			}
			f, err := c.ReadFrame(time.Now().Add(wait))
			if err != nil || f.Op != testutil.OpClose {
				t.Fatalf("got %v %q, want a close frame", err, f.Payload)
			}
			if code, why := f.CloseCode(); code != tc.code {
				t.Errorf("closed with %d %q, want %d", code, why, tc.code)
			}
		})
	}
}

// TestCompressionDisabled: with DisableCompression no offer is accepted,
// the limits message says so, and a client that offers gets plain frames.
func TestCompressionDisabled(t *testing.T) {
	srv := startHub(t, hub.Config{DisableCompression: true}, nil)
	c, ok := dialDeflate(t, srv, "permessage-deflate")
	if ok {
		t.Error("permessage-deflate negotiated with DisableCompression")
	}
	_ = c
	cl := srv.dial(t, "")
	if !strings.Contains(string(cl.Limits.Raw), `"compression":false`) {
		t.Errorf("limits %s, want compression false", cl.Limits.Raw)
	}
	on := startHub(t, hub.Config{}, nil)
	if cl := on.dial(t, ""); !strings.Contains(string(cl.Limits.Raw), `"compression":true`) {
		t.Errorf("limits %s, want compression true", cl.Limits.Raw)
	}
}

// TestListCompressed: the list reply reaches a compressing client
// compressed (a stored block with the request's id, then the names
// compressed once per listing) and inflates to what a plain client gets;
// a second client's list costs no compression.
func TestListCompressed(t *testing.T) {
	srv := startHub(t, hub.Config{MessageRate: -1}, nil)
	plain := srv.dial(t, "")
	want, err := plain.Request(`{"op":"list","id":"a b"}`, `"a b"`, wait)
	if err != nil {
		t.Fatal(err)
	}
	var frames uint64
	for i := range 2 {
		c, _ := dialDeflate(t, srv, "permessage-deflate")
		if err := c.WriteText(`{"op":"list","id":"a b"}`); err != nil {
			t.Fatal(err)
		}
		f, err := c.ReadFrame(time.Now().Add(wait))
		if err != nil {
			t.Fatal(err)
		}
		if f.Rsv&wsframe.Rsv1 == 0 {
			t.Errorf("list reply %d not compressed", i)
		}
		if got := inflated(t, f); !bytes.Equal(got, want.Raw) {
			t.Errorf("list reply %d inflates to %.80q…, want %.80q…", i, got, want.Raw)
		}
		if i == 0 {
			frames = srv.h.Stats().CompressedFrames
		} else if n := srv.h.Stats().CompressedFrames; n != frames {
			t.Errorf("the second list reply compressed %d frames, want none", n-frames)
		}
		t.Logf("list of %d names: %d bytes compressed, %d plain", len(want.Symbols), len(f.Payload), len(want.Raw))
	}
}

// TestCompressionChannels: the trades (live and replayed), book and
// candles messages reach a compressing gorilla client, a compressing
// coder/websocket client and a plain one alike, and each shared frame is
// compressed about once, not once per compressing client.
func TestCompressionChannels(t *testing.T) {
	srv := startHub(t, hub.Config{Shards: 2, MessageRate: -1}, nil)
	clients := []wsClient{gorillaClient(t, srv, false), gorillaClient(t, srv, true), coderClient(t, srv)}
	const sym = "AAPL"
	for seq := uint64(1); seq <= 20; seq++ {
		pubTrade(srv.h, sym, 0, seq)
	}
	bf := newBookFeed(sym, 7)
	srv.h.PublishBook(bf.snapshot(60))
	t0 := time.Date(2026, 1, 2, 15, 0, 0, 0, time.UTC).UnixNano()
	candle := func(start, price int64, closed bool) {
		p := decimal.New(price, -2)
		srv.h.PublishCandle(&protocol.Candle{Symbol: sym, Interval: protocol.Interval1m, Start: start,
			Open: p, High: p, Low: p, Close: p, Volume: decimal.NewFromInt(price), Trades: 1, Closed: closed, PricePrec: 2})
	}
	candle(t0, 18700, true)
	// Trades are never merged: every client gets the same trade messages,
	// byte for byte. Book and candle messages depend on when each client
	// reads (a client a pass behind gets the latest candle, or a book
	// snapshot): they must end at the same state.
	trades := make([][]string, len(clients))
	last := make([]map[string]string, len(clients)) // by type: the last book and candle message
	read := func(i int) string {
		p, err := clients[i].next()
		if err != nil {
			t.Fatalf("%s: %v", clients[i].name, err)
		}
		m := string(p)
		switch {
		case strings.Contains(m, `"type":"trade"`), strings.Contains(m, `"type":"gap"`):
			trades[i] = append(trades[i], m)
		case strings.Contains(m, `"type":"book"`):
			last[i]["book"] = m
		case strings.Contains(m, `"type":"candle`):
			last[i]["candle"] = m
		}
		return m
	}
	for i, c := range clients {
		last[i] = map[string]string{}
		read(i) // limits
		for _, req := range []string{
			`{"op":"subscribe","channel":"trades","symbols":["AAPL"],"since":{"AAPL":5},"id":1}`,
			`{"op":"subscribe","channel":"book","symbols":["AAPL"],"depth":50,"id":2}`,
			`{"op":"subscribe","channel":"candles","interval":"1m","symbols":["AAPL"],"id":3}`,
		} {
			if err := c.send(req); err != nil {
				t.Fatal(err)
			}
		}
		// 3 replies, 15 replayed trades, a book snapshot, a candle history.
		for range 3 + 15 + 2 {
			read(i)
		}
	}
	before := srv.h.Stats().CompressedFrames
	const rounds = 10
	for r := range rounds {
		pubTrade(srv.h, sym, 0, uint64(21+r))
		srv.h.PublishBook(bf.delta(3))
		candle(t0+60e9, 18701+int64(r), false)
	}
	lastTrade := fmt.Sprintf(`"seq":%d,`, 20+rounds)
	lastBook := fmt.Sprintf(`"seq":%d,`, bf.viewSeq(50))
	lastClose := `"close":"` + decimal.New(18701+rounds-1, -2).StringFixed(2) + `"`
	for i := range clients {
		for n := len(trades[i]); n == 0 || !strings.Contains(trades[i][len(trades[i])-1], lastTrade) ||
			!strings.Contains(last[i]["book"], lastBook) || !strings.Contains(last[i]["candle"], lastClose); n = len(trades[i]) {
			read(i)
		}
	}
	compressed := srv.h.Stats().CompressedFrames - before
	checksum := func(m string) string { return m[strings.Index(m, `"checksum":`):] }
	// lastCandle is the fields of the last candle of a candle message or a
	// candles history (a client a pass behind may get either).
	lastCandle := func(m string) string {
		c := m[strings.LastIndex(m, `"start":`):]
		return c[:strings.Index(c, "}")]
	}
	for i := range clients[1:] {
		a, b := trades[0], trades[i+1]
		if strings.Join(a, "\n") != strings.Join(b, "\n") {
			t.Fatalf("%s got trades\n%s\nthe plain client\n%s", clients[i+1].name, strings.Join(b, "\n"), strings.Join(a, "\n"))
		}
		if checksum(last[0]["book"]) != checksum(last[i+1]["book"]) || lastCandle(last[0]["candle"]) != lastCandle(last[i+1]["candle"]) {
			t.Errorf("%s ended at\n%s\n%s\nthe plain client at\n%s\n%s", clients[i+1].name, last[i+1]["book"], last[i+1]["candle"], last[0]["book"], last[0]["candle"])
		}
	}
	if n := len(trades[0]); n != 15+rounds || !strings.Contains(trades[0][0], `"replay":true`) {
		t.Errorf("%d trade messages, the first %s; want %d, from a replay", n, trades[0][0], 15+rounds)
	}
	// Per round a trade, a book delta and a candle: 3 frames, about once
	// each (two shards may race), never once per compressing client.
	if compressed < rounds || compressed > 2*3*rounds {
		t.Errorf("%d frames compressed in %d rounds of a trade, a book delta and a candle; want about 3 per round", compressed, rounds)
	}
	t.Logf("%d frames compressed for %d rounds", compressed, rounds)
}
