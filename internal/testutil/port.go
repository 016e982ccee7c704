package testutil

import (
	"net"
	"strconv"
	"testing"
)

// FreePorts returns n distinct 127.0.0.1 ports that are free right now:
// it holds them all open at once, then lets them go for the caller's
// servers. Another process may take one in between; tests that can pass
// a listener (or port 0) should.
func FreePorts(t testing.TB, n int) []int {
	t.Helper()
	ports := make([]int, 0, n)
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	return ports
}

// FreeAddr returns a 127.0.0.1 address whose port is free right now.
func FreeAddr(t testing.TB) string {
	t.Helper()
	return "127.0.0.1:" + strconv.Itoa(FreePorts(t, 1)[0])
}
