package hub_test

import (
	"bufio"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tickerd/tickerd/hub"
	"github.com/tickerd/tickerd/internal/testutil"
)

// TestRejectedUpgrade sends upgrade requests the hub must refuse: each
// gets its HTTP status, and the connection is closed and its fd freed.
func TestRejectedUpgrade(t *testing.T) {
	srv := startHub(t, hub.Config{MaxSymbolsPerRequest: 3, MessageRate: -1}, nil)
	const key = "dGhlIHNhbXBsZSBub25jZQ=="
	ws := "Upgrade: websocket\r\nConnection: Upgrade\r\n"
	// taken: the request got as far as the upgrader, which takes the
	// connection over from net/http; after its error response nothing
	// else can use the connection, so it must be closed.
	cases := []struct {
		name   string
		req    string
		status int
		taken  bool
	}{
		{"plain GET", "GET /ws HTTP/1.1\r\nHost: h\r\n\r\n", 400, true},
		{"no key", "GET /ws HTTP/1.1\r\nHost: h\r\n" + ws + "Sec-WebSocket-Version: 13\r\n\r\n", 400, true},
		{"short key", "GET /ws HTTP/1.1\r\nHost: h\r\n" + ws + "Sec-WebSocket-Key: abc\r\nSec-WebSocket-Version: 13\r\n\r\n", 400, true},
		{"version 8", "GET /ws HTTP/1.1\r\nHost: h\r\n" + ws + "Sec-WebSocket-Key: " + key + "\r\nSec-WebSocket-Version: 8\r\n\r\n", 426, true},
		{"no version", "GET /ws HTTP/1.1\r\nHost: h\r\n" + ws + "Sec-WebSocket-Key: " + key + "\r\n\r\n", 400, true},
		{"foreign origin", "GET /ws HTTP/1.1\r\nHost: h\r\nOrigin: http://evil.example\r\n" + ws + "Sec-WebSocket-Key: " + key + "\r\nSec-WebSocket-Version: 13\r\n\r\n", 403, false},
		{"too many ?symbols=", "GET /ws?symbols=A,B,C,D HTTP/1.1\r\nHost: h\r\n" + ws + "Sec-WebSocket-Key: " + key + "\r\nSec-WebSocket-Version: 13\r\n\r\n", 400, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			base := testutil.TakeBaseline()
			nc, err := net.DialTimeout("tcp", srv.addr, wait)
			if err != nil {
				t.Fatal(err)
			}
			defer nc.Close()
			_ = nc.SetDeadline(time.Now().Add(wait))
			if _, err := nc.Write([]byte(c.req)); err != nil {
				t.Fatal(err)
			}
			br := bufio.NewReader(nc)
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatalf("reading the response: %v", err)
			}
			resp.Body.Close()
			if resp.StatusCode != c.status {
				t.Errorf("status %d, want %d", resp.StatusCode, c.status)
			}
			rc := &testutil.RawConn{Conn: nc, R: br}
			if c.taken || resp.Close {
				if err := rc.ReadEOF(wait); err != nil {
					t.Errorf("after a %d: %v", resp.StatusCode, err)
				}
			}
			nc.Close()
			if err := base.Check(wait, 0); err != nil {
				t.Errorf("after a refused upgrade: %v", err)
			}
			// The handler gives its slot back as it returns, which may be
			// just after the client saw the connection close.
			if !testutil.Eventually(wait, func() bool { return srv.h.Conns() == 0 }) {
				t.Errorf("Conns() = %d after a refused upgrade, want 0", srv.h.Conns())
			}
		})
	}
}

// TestMaxConns checks the connection cap: past it upgrades get 503, and a
// closed connection frees its slot.
func TestMaxConns(t *testing.T) {
	srv := startHub(t, hub.Config{MaxConns: 2, MessageRate: -1}, nil)
	a := srv.dial(t, "")
	srv.dial(t, "")
	if _, err := testutil.Dial(srv.url, wait); err == nil || !strings.Contains(err.Error(), "status 503") {
		t.Errorf("third connection: err %v, want status 503", err)
	}
	if got := srv.h.Stats().Rejected["max_conns"]; got != 1 {
		t.Errorf(`Stats().Rejected["max_conns"] = %d, want 1`, got)
	}
	a.Close()
	if !testutil.Eventually(wait, func() bool { return srv.h.Conns() == 1 }) {
		t.Fatalf("Conns() = %d after a client left, want 1", srv.h.Conns())
	}
	c, err := testutil.Dial(srv.url, wait)
	if err != nil {
		t.Fatalf("after a slot was freed: %v", err)
	}
	c.Close()
}
