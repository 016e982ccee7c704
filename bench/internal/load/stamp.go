package load

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// A resume storm's latency is measured twice: when the generator reads the
// last replayed trade, and when its bytes reached the client's socket. On
// this machine the generator's one core reads every client's replay (a
// million trades in a second), so the first includes its own queue; the
// second is the kernel's receive timestamp (SO_TIMESTAMPNS), which on
// loopback is taken as the server's send delivers the segment.

// stamps asks the kernel to timestamp what a socket receives; a
// resume's dialer sets it before connecting.
var stamps = sockopt{unix.SOL_SOCKET, unix.SO_TIMESTAMPNS, 1}

// keepStamping makes the kernel stamp received segments from now until
// stop. It does so only while some socket asks, and turns it on a moment
// after the first does: a worker whose plan has a storm asks from its
// start, so that the storm's first resumes are stamped too.
func keepStamping() (stop func()) {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return func() {}
	}
	_ = unix.SetsockoptInt(fd, stamps.level, stamps.opt, stamps.value)
	return func() { _ = unix.Close(fd) }
}

// stampedRecv reads with recvmsg and returns the receive timestamp the
// kernel attached. Hand-written for the hot path: unix.Recvmsg allocates
// a Sockaddr and unix.ParseSocketControlMessage a slice per call. One
// per reader (it reuses its header and control buffer).
type stampedRecv struct {
	msg unix.Msghdr
	iov unix.Iovec
	oob [64]byte
}

// recv is a non-blocking recvmsg of p; ts is the Unix ns of the newest
// segment the read took (Linux reports the last one it copied), 0 if none
// was stamped.
func (s *stampedRecv) recv(fd int, p []byte) (n int, ts int64, err error) {
	s.iov.Base = &p[0]
	s.iov.SetLen(len(p))
	s.msg = unix.Msghdr{Iov: &s.iov, Control: &s.oob[0]}
	s.msg.SetIovlen(1)
	s.msg.SetControllen(len(s.oob))
	r, _, errno := unix.RawSyscall(unix.SYS_RECVMSG, uintptr(fd), uintptr(unsafe.Pointer(&s.msg)), unix.MSG_DONTWAIT)
	s.iov.Base, s.msg.Iov, s.msg.Control = nil, nil, nil
	if errno != 0 {
		return 0, 0, errno
	}
	return int(r), parseStamp(s.oob[:s.msg.Controllen]), nil
}

// parseStamp returns the SCM_TIMESTAMPNS of the control messages in oob,
// in Unix ns; 0 if there is none.
func parseStamp(oob []byte) int64 {
	for len(oob) >= unix.SizeofCmsghdr {
		h := (*unix.Cmsghdr)(unsafe.Pointer(&oob[0]))
		if h.Len < unix.SizeofCmsghdr || uint64(h.Len) > uint64(len(oob)) {
			return 0
		}
		if h.Level == unix.SOL_SOCKET && h.Type == unix.SCM_TIMESTAMPNS && int(h.Len) >= unix.CmsgLen(int(unsafe.Sizeof(unix.Timespec{}))) {
			ts := (*unix.Timespec)(unsafe.Pointer(&oob[unix.CmsgLen(0)]))
			return ts.Nano()
		}
		oob = oob[min(unix.CmsgSpace(int(h.Len)-unix.CmsgLen(0)), len(oob)):]
	}
	return 0
}
