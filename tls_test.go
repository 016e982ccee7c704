package tickerd_test

import (
	"crypto/tls"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/tickerd/tickerd"
	"github.com/tickerd/tickerd/feed/sim"
	"github.com/tickerd/tickerd/internal/selfsigned"
	"github.com/tickerd/tickerd/internal/testutil"
	"golang.org/x/sys/unix"
)

// TestTLSStalledClientHoldsNoBatch: Server serves TLS through
// hub.TLSListener, so a wss client that stops reading is waited for by
// no goroutine at all (the hub's epoll says when its socket takes more),
// not by a writer blocked in crypto/tls with its batch; when the client
// reads again, the updates flow again.
func TestTLSStalledClientHoldsNoBatch(t *testing.T) {
	cert, err := selfsigned.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	const n = 50
	addr := serveSecure(t, tickerd.Config{TLS: cert.ServerTLS(), Sim: sim.Config{Rate: 5000, Symbols: n, Steady: true}})
	var names []string
	for _, s := range sim.Universe()[:n] {
		names = append(names, s.Name)
	}
	d := testutil.SmallRecvBufDialer(4096, 5*time.Second)
	nc, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	tc := tls.Client(nc, cert.ClientTLS())
	if _, err := testutil.Upgrade(tc, addr, "/ws?symbols="+strings.Join(names, ","), nil, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	// The client reads nothing more: its receive queue fills, and stays
	// full while the server's send queue fills behind it.
	raw, err := nc.(*net.TCPConn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	inq := func() (n int64) {
		_ = raw.Control(func(fd uintptr) {
			q, _ := unix.IoctlGetInt(int(fd), unix.SIOCINQ)
			n = int64(q)
		})
		return n
	}
	if q, ok := testutil.Settles(10*time.Second, 300*time.Millisecond, inq); !ok {
		t.Fatalf("the client's receive queue never stopped growing (%d bytes)", q)
	}
	buf := make([]byte, 4<<20)
	stacks := string(buf[:runtime.Stack(buf, true)])
	for _, g := range strings.Split(stacks, "\n\n") {
		if strings.Contains(g, "hub.writeTLS") || strings.Contains(g, "hub.(*sock)") {
			t.Errorf("a goroutine waits for the stalled client's socket:\n%s", g)
		}
	}
	// Reading again, the client gets far more than the sockets held
	// when it stopped: the server wrote on when its socket had room.
	_ = tc.SetReadDeadline(time.Now().Add(10 * time.Second))
	got := 0
	for got < 1<<20 {
		m, err := tc.Read(buf[:64<<10])
		if err != nil {
			t.Fatalf("after %d bytes read again: %v", got, err)
		}
		got += m
	}
}
