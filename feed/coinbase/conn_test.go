package coinbase

import (
	"strings"
	"testing"

	"github.com/tickerd/tickerd/feed"
)

// padded returns msg with an unknown field that makes it n bytes long.
func padded(t *testing.T, msg string, n int) string {
	t.Helper()
	out := strings.TrimSuffix(msg, "}") + `,"pad":"` + strings.Repeat("x", max(0, n-len(msg)-9)) + `"}`
	if len(out) != n {
		t.Fatalf("padded to %d bytes, want %d", len(out), n)
	}
	return out
}

// TestFramesAndPings: a message in several frames with a ping between two
// of them is read whole, and the ping is answered with its payload.
func TestFramesAndPings(t *testing.T) {
	u := newUpstream(t)
	_, s, _ := start(t, u, Config{})
	c := u.next()
	btc := loadSample(t).byProduct["BTC-USD"]
	c.sendFragmented(padded(t, btc[0], 10_000), "are you there")
	if got := s.next(t); !strings.Contains(got, `"seq":1,`) {
		t.Errorf("tick from a fragmented message = %s, want seq 1", got)
	}
	if got := receive(t, c.pongs, "pong"); got != "are you there" {
		t.Errorf("pong %q, want the ping's payload", got)
	}
}

// TestMaxMessage: a message over MaxMessage drops the connection before
// its bytes are buffered; the feed reconnects and goes on.
func TestMaxMessage(t *testing.T) {
	u := newUpstream(t)
	f, s, logs := start(t, u, Config{MaxMessage: 2000})
	btc := loadSample(t).byProduct["BTC-USD"]
	c1 := u.next()
	c1.send(padded(t, btc[0], 1999))
	s.next(t)
	c1.send(padded(t, btc[1], 2001))
	c1.waitClosed()
	c2 := u.next()
	// Health().Err says "message too large" only until the reconnect
	// succeeds (it is the last error, cleared by a healthy connection),
	// which can be within milliseconds: the log keeps it.
	waitHealth(t, f, func(h feed.Health) bool { return h.Reconnects == 1 })
	if !strings.Contains(logs.String(), "message too large") {
		t.Errorf("the disconnect was not logged as message too large:\n%s", logs.String())
	}
	c2.send(btc[2])
	if got := s.next(t); !strings.Contains(got, `"seq":2,`) {
		t.Errorf("tick after the reconnect = %s, want seq 2", got)
	}
}

// TestUpstreamCloses: a close frame from the upstream (maintenance) ends
// the connection; the feed reconnects.
func TestUpstreamCloses(t *testing.T) {
	u := newUpstream(t)
	f, _, logs := start(t, u, Config{})
	c1 := u.next()
	c1.closeWith(1001)
	c1.waitClosed()
	u.next()
	waitHealth(t, f, func(h feed.Health) bool { return h.Connected && h.Reconnects == 1 })
	if !strings.Contains(logs.String(), "ws closed: 1001 maintenance") {
		t.Errorf("log does not give the close code and reason:\n%s", logs.String())
	}
}
