package tickerd_test

import (
	"crypto/tls"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/tickerd/tickerd"
	"github.com/tickerd/tickerd/feed/sim"
	"github.com/tickerd/tickerd/internal/selfsigned"
	"github.com/tickerd/tickerd/internal/testutil"
)

// TestTLSStalledClientHoldsNoBatch: Server serves TLS through
// hub.TLSListener, so a wss client that stops reading is waited for by a
// flusher holding only the records its socket did not take
// (hub.(*sock).flush), not by a writer blocked in crypto/tls with its
// batch.
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
	// The client reads nothing more; the server's socket fills.
	var stacks string
	if !testutil.Eventually(10*time.Second, func() bool {
		buf := make([]byte, 4<<20)
		stacks = string(buf[:runtime.Stack(buf, true)])
		return strings.Contains(stacks, "hub.(*sock).flush")
	}) {
		t.Fatal("no goroutine waits in hub.(*sock).flush for a wss client that stopped reading")
	}
	for _, g := range strings.Split(stacks, "\n\n") {
		if strings.Contains(g, "hub.writeTLS") && strings.Contains(g, "internal/poll.(*FD).Write") {
			t.Errorf("a TLS writer waits on the socket holding its batch:\n%s", g)
		}
	}
}
