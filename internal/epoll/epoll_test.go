package epoll_test

import (
	"runtime"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/tickerd/tickerd/internal/epoll"
	"github.com/tickerd/tickerd/internal/testutil"
)

type sock struct {
	id     int
	fd     int // the watched end
	peer   int // the other end, written by the test
	events chan uint32
}

// pair makes a non-blocking socket pair whose ends the test closes.
func pair(t *testing.T, id int) *sock {
	t.Helper()
	fd, peer := testutil.SocketPair(t)
	return &sock{id: id, fd: fd, peer: peer, events: make(chan uint32, 16)}
}

func newSet(t *testing.T) *epoll.Set[sock] {
	t.Helper()
	set, err := epoll.New(func(s *sock, ev uint32) {
		// Drain, as an edge-triggered owner must.
		var buf [64]byte
		for {
			if n, _ := unix.Read(s.fd, buf[:]); n <= 0 {
				break
			}
		}
		s.events <- ev
	}, func(err error) { t.Errorf("wait failed: %v", err) })
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { set.Close() })
	return set
}

func event(t *testing.T, s *sock) uint32 {
	t.Helper()
	select {
	case ev := <-s.events:
		return ev
	case <-time.After(5 * time.Second):
		t.Fatalf("socket %d: no event in 5 s", s.id)
		return 0
	}
}

func noEvent(t *testing.T, s *sock) {
	t.Helper()
	select {
	case ev := <-s.events:
		t.Fatalf("socket %d: event %#x, want none", s.id, ev)
	case <-time.After(100 * time.Millisecond):
	}
}

func write(t *testing.T, s *sock) {
	t.Helper()
	if _, err := unix.Write(s.peer, []byte("x")); err != nil {
		t.Fatal(err)
	}
}

// TestEdges: every write after a drain brings one event, also after the
// set's goroutine has been parked on the runtime's poller for a while.
func TestEdges(t *testing.T) {
	set := newSet(t)
	s := pair(t, 1)
	if err := set.Add(s.fd, unix.EPOLLIN|unix.EPOLLRDHUP|unix.EPOLLET, s); err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		write(t, s)
		if ev := event(t, s); ev&unix.EPOLLIN == 0 {
			t.Fatalf("write %d: event %#x without EPOLLIN", i, ev)
		}
		time.Sleep(time.Duration(i) * 20 * time.Millisecond)
	}
	noEvent(t, s)
	unix.Shutdown(s.peer, unix.SHUT_WR)
	if ev := event(t, s); ev&unix.EPOLLRDHUP == 0 {
		t.Fatalf("peer shut down: event %#x without EPOLLRDHUP", ev)
	}
}

// TestMany: a thousand descriptors, each event to its own value (the
// table grows past its first size on the way).
func TestMany(t *testing.T) {
	set := newSet(t)
	socks := make([]*sock, 1000)
	for i := range socks {
		socks[i] = pair(t, i)
		if err := set.Add(socks[i].fd, unix.EPOLLIN|unix.EPOLLET, socks[i]); err != nil {
			t.Fatal(err)
		}
	}
	for _, s := range socks {
		write(t, s)
	}
	for _, s := range socks {
		event(t, s)
	}
	noEvent(t, socks[0]) // one wait is enough: the others were drained above
}

// TestDel: no event reaches a value after its Del; a new Add of the
// same descriptor number gets its own.
func TestDel(t *testing.T) {
	set := newSet(t)
	s := pair(t, 1)
	if err := set.Add(s.fd, unix.EPOLLIN|unix.EPOLLET, s); err != nil {
		t.Fatal(err)
	}
	if err := set.Del(s.fd); err != nil {
		t.Fatal(err)
	}
	write(t, s)
	noEvent(t, s)
	if err := set.Del(s.fd); err == nil {
		t.Fatal("a second Del succeeded")
	}
	again := &sock{id: 2, fd: s.fd, peer: s.peer, events: make(chan uint32, 16)}
	if err := set.Add(again.fd, unix.EPOLLIN, again); err != nil { // level-triggered: a byte is unread
		t.Fatal(err)
	}
	event(t, again)
	noEvent(t, s)
	if err := set.Add(-1, unix.EPOLLIN, s); err == nil {
		t.Fatal("Add of fd -1 succeeded")
	}
	if err := set.Add(s.fd, unix.EPOLLIN, s); err == nil {
		t.Fatal("a second Add of a watched fd succeeded")
	}
}

// TestCallbackAddsAndDels: the callback may change the set.
func TestCallbackAddsAndDels(t *testing.T) {
	a, b := pair(t, 1), pair(t, 2)
	var set *epoll.Set[sock]
	ready := make(chan struct{})
	set, err := epoll.New(func(s *sock, ev uint32) {
		<-ready
		set.Del(s.fd)
		if s == a {
			set.Add(b.fd, unix.EPOLLIN, b)
		}
		s.events <- ev
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer set.Close()
	close(ready)
	if err := set.Add(a.fd, unix.EPOLLIN, a); err != nil {
		t.Fatal(err)
	}
	write(t, a)
	event(t, a)
	write(t, b)
	event(t, b)
	noEvent(t, a)
}

// TestClose: Close returns once the goroutine has, and closes the epoll
// descriptor but not the watched ones.
func TestClose(t *testing.T) {
	before := runtime.NumGoroutine()
	set, err := epoll.New(func(*sock, uint32) {}, func(err error) { t.Errorf("wait failed: %v", err) })
	if err != nil {
		t.Fatal(err)
	}
	s := pair(t, 1)
	if err := set.Add(s.fd, unix.EPOLLIN, s); err != nil {
		t.Fatal(err)
	}
	if err := set.Close(); err != nil {
		t.Fatal(err)
	}
	if n := runtime.NumGoroutine(); n > before {
		t.Fatalf("%d goroutines after Close, %d before New", n, before)
	}
	if _, err := unix.Write(s.peer, []byte("x")); err != nil {
		t.Fatalf("the watched socket was closed: %v", err)
	}
	if err := set.Add(s.fd, unix.EPOLLIN, s); err == nil {
		t.Fatal("Add after Close succeeded")
	}
}

// TestTableBound: Add of a number no descriptor has fails before the
// table grows to it: the table is bounded by the descriptors the kernel
// took, not by what a caller passes.
func TestTableBound(t *testing.T) {
	set := newSet(t)
	s := pair(t, 1)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	if err := set.Add(1<<28, unix.EPOLLIN, s); err == nil {
		t.Fatal("Add of fd 1<<28 succeeded")
	}
	runtime.ReadMemStats(&after)
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 1<<20 {
		t.Fatalf("a failed Add allocated %d bytes", grew)
	}
}
