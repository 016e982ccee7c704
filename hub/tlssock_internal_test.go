package hub

import (
	"bytes"
	"errors"
	"io"
	"net"
	"testing"
	"time"
)

// TestSockKeepsWhatTheSocketRefuses: once owned, a sock's Write returns at
// once however full the socket is, keeps what the socket did not take
// behind anything written later, and flushNow, called until it has
// nothing more (the shard calls it on EPOLLOUT), delivers all of it in
// order.
// Before own it waits, as a net.TCPConn does.
func TestSockKeepsWhatTheSocketRefuses(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	tl := TLSListener(ln)
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	nc, err := tl.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	sk, ok := nc.(*sock)
	if !ok {
		t.Fatalf("TLSListener accepted a %T, want a *sock", nc)
	}
	if _, err := sk.Write([]byte("before ")); err != nil { // not owned: a plain write
		t.Fatal(err)
	}
	sk.own()
	// Far more than loopback's socket buffers hold: the client reads
	// nothing until every Write has returned.
	var want bytes.Buffer
	want.WriteString("before ")
	start := time.Now()
	for i := range 64 {
		p := bytes.Repeat([]byte{byte('a' + i%26)}, 256<<10)
		want.Write(p)
		if n, err := sk.Write(p); n != len(p) || err != nil {
			t.Fatalf("Write %d = %d, %v; want %d, nil", i, n, err, len(p))
		}
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("64 Writes of 256 KiB to a socket no one reads took %v: they waited", d)
	}
	if !sk.hasPending() {
		t.Fatal("16 MiB written to a socket no one reads, nothing pending")
	}
	_ = sk.SetWriteDeadline(time.Now()) // crypto/tls's close_notify does this: it must not cut the flush
	got := make(chan []byte)
	go func() {
		b, _ := io.ReadAll(io.LimitReader(client, int64(want.Len())))
		got <- b
	}()
	if err := flushAll(sk); err != nil {
		t.Fatalf("flush: %v", err)
	}
	if sk.hasPending() {
		t.Error("pending after a flush that succeeded")
	}
	if b := <-got; !bytes.Equal(b, want.Bytes()) {
		t.Errorf("the client read %d bytes, not the %d written in order", len(b), want.Len())
	}

	// A socket that failed fails every later write, and a flush.
	_ = client.(*net.TCPConn).SetLinger(0)
	client.Close()
	var werr error
	for range 100 {
		if _, werr = sk.Write(make([]byte, 64<<10)); werr != nil {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if werr == nil {
		t.Fatal("writes to a reset connection kept succeeding")
	}
	if _, err := sk.Write([]byte("x")); err == nil {
		t.Error("a write after a failed one succeeded")
	}
	if more, err := sk.flushNow(); err == nil || more {
		t.Errorf("flushNow after a failed write = %v, %v; want an error and nothing more", more, err)
	}
}

// flushAll calls flushNow until nothing is pending, for at most a minute.
func flushAll(sk *sock) error {
	for end := time.Now().Add(time.Minute); time.Now().Before(end); time.Sleep(time.Millisecond) {
		if more, err := sk.flushNow(); err != nil || !more {
			return err
		}
	}
	return errors.New("still pending after a minute")
}
