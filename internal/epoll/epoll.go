// Package epoll watches many sockets with one epoll instance whose own
// descriptor waits in Go's runtime poller, so that no thread sits in
// epoll_wait: the goroutine that runs the callbacks is parked and woken as
// any network goroutine is, and on a busy process it never holds a thread
// that the scheduler has to hand its P to and take it back from.
//
//	set, err := epoll.New(func(c *client, ev uint32) {
//		// runs on the set's goroutine; it must not block
//		if ev&unix.EPOLLIN != 0 {
//			readers.queue(c)
//		}
//	}, func(err error) { log.Error("epoll", "err", err) })
//	if err != nil {
//		return err
//	}
//	defer set.Close() // stops the goroutine and waits for it
//	err = set.Add(c.fd, unix.EPOLLIN|unix.EPOLLRDHUP|unix.EPOLLET, c)
//	...
//	set.Del(c.fd) // before c.fd is closed
//
// Each watched descriptor costs one pointer in a table indexed by fd
// (descriptors are small and dense). Written by hand: mailru/easygo's
// netpoll, which it replaces, blocks a thread in epoll_wait and keeps a
// closure in a map per descriptor; no kept library puts an epoll set on
// Go's own poller.
package epoll

import (
	"errors"
	"os"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// Set is an epoll instance and the goroutine that serves its events. Add
// and Del may be called from any goroutine; the callback runs on the
// set's goroutine only, for one event at a time.
type Set[T any] struct {
	fd     int
	file   *os.File // fd, registered with Go's poller
	raw    syscall.RawConn
	handle func(*T, uint32)
	onErr  func(error)
	done   chan struct{} // closed when the goroutine has returned

	mu     sync.RWMutex
	byFD   []*T // what Add gave for each descriptor; nil when not watched
	closed bool // fd is closed or closing: Add and Del fail
}

// New makes a set and starts its goroutine, which calls handle for each
// event of a watched descriptor with what Add gave for it and the event
// bits (unix.EPOLLIN, ...), until Close. onErr, if not nil, is told once
// if waiting fails for another reason than Close; the goroutine then
// stops.
func New[T any](handle func(v *T, events uint32), onErr func(error)) (*Set[T], error) {
	fd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, os.NewSyscallError("epoll_create1", err)
	}
	// Non-blocking, so that os.NewFile puts it on the runtime's poller:
	// an epoll descriptor is readable while it has events to report.
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return nil, os.NewSyscallError("fcntl", err)
	}
	s := &Set[T]{fd: fd, file: os.NewFile(uintptr(fd), "epoll"), handle: handle, onErr: onErr, done: make(chan struct{})}
	if s.raw, err = s.file.SyscallConn(); err != nil {
		s.file.Close()
		return nil, err
	}
	go s.run()
	return s, nil
}

// Add watches fd for events (unix.EPOLLIN, unix.EPOLLOUT, unix.EPOLLET,
// ...) and hands v to the callback with each. The table grows to fd+1
// entries only once the kernel has taken fd, so it is bounded by the
// process's descriptor limit (8 bytes each).
func (s *Set[T]) Add(fd int, events uint32, v *T) error {
	if fd < 0 || v == nil {
		return errors.New("epoll: Add needs a descriptor and a value")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return os.ErrClosed
	}
	// Under the lock: Close cannot close s.fd (whose number a new
	// descriptor could take) meanwhile, and the goroutine cannot look up
	// an event of fd before v is in the table.
	ev := unix.EpollEvent{Events: events, Fd: int32(fd)}
	if err := unix.EpollCtl(s.fd, unix.EPOLL_CTL_ADD, fd, &ev); err != nil {
		return os.NewSyscallError("epoll_ctl", err)
	}
	if fd >= len(s.byFD) {
		grown := make([]*T, max(fd+1, 2*len(s.byFD), 64))
		copy(grown, s.byFD)
		s.byFD = grown
	}
	s.byFD[fd] = v
	return nil
}

// Del stops watching fd; call it before fd is closed. An event the
// goroutine took before Del may still reach the callback afterwards.
func (s *Set[T]) Del(fd int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return os.ErrClosed
	}
	if fd >= 0 && fd < len(s.byFD) {
		s.byFD[fd] = nil
	}
	if err := unix.EpollCtl(s.fd, unix.EPOLL_CTL_DEL, fd, nil); err != nil {
		return os.NewSyscallError("epoll_ctl", err)
	}
	return nil
}

// Close stops the goroutine, waits for it and closes the epoll
// descriptor. The watched descriptors stay open: they are their owners'.
func (s *Set[T]) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		<-s.done
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	err := s.file.Close() // wakes the goroutine's wait with an error
	<-s.done
	return err
}

// run takes events with a zero-timeout epoll_wait, which never blocks,
// and, when there are none, parks on the runtime's poller until the epoll
// descriptor is readable. It drains before it parks: the runtime's poller
// watches the descriptor edge-triggered.
func (s *Set[T]) run() {
	defer close(s.done)
	var (
		evs  [128]unix.EpollEvent
		vals [128]*T
		n    int
		werr error
	)
	for {
		err := s.raw.Read(func(uintptr) bool {
			for {
				n, werr = unix.EpollWait(s.fd, evs[:], 0)
				if werr != unix.EINTR {
					return n > 0 || werr != nil
				}
			}
		})
		if err == nil && werr != nil {
			err = os.NewSyscallError("epoll_wait", werr)
		}
		if err != nil { // reported once, unless Close caused it
			s.mu.RLock()
			closing := s.closed
			s.mu.RUnlock()
			if !closing && s.onErr != nil {
				s.onErr(err)
			}
			return
		}
		// Look every value up under one read lock, then call out
		// without it: a callback may Add or Del.
		s.mu.RLock()
		for i := range n {
			if fd := int(evs[i].Fd); fd < len(s.byFD) {
				vals[i] = s.byFD[fd]
			}
		}
		s.mu.RUnlock()
		for i := range n {
			if v := vals[i]; v != nil {
				vals[i] = nil
				s.handle(v, evs[i].Events)
			}
		}
	}
}
