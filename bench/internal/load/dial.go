package load

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/gobwas/httphead"
	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsflate"
	"golang.org/x/sys/unix"

	"github.com/tickerd/tickerd/internal/rawfd"
	"github.com/tickerd/tickerd/internal/wsframe"
	"github.com/tickerd/tickerd/protocol"
)

// target is a parsed ws:// URL.
type target struct {
	u    *url.URL
	addr string // host:port
}

func parseTarget(s string) (target, error) {
	u, err := url.Parse(s)
	if err != nil {
		return target{}, fmt.Errorf("load: target %q: %w", s, err)
	}
	if u.Scheme != "ws" {
		return target{}, fmt.Errorf("load: target %q: scheme must be ws", s)
	}
	addr := u.Host
	if u.Port() == "" {
		addr = net.JoinHostPort(u.Hostname(), "80")
	}
	return target{u: u, addr: addr}, nil
}

// dialer opens connections for one worker.
type dialer struct {
	targets []target
	srcIPs  []net.IP
	names   []string // the symbol universe
	timeout time.Duration
	query   bool
	sub     Subscription
	slow    func(gidx int) bool // whether connection gidx is of the slow fraction
}

// dialed is an open, subscribed connection whose socket is owned by fd
// alone: the net.Conn used for the handshake is closed.
type dialed struct {
	fd      int
	initial []byte // bytes the server sent right after the handshake
	subAt   int64  // Unix ns just before the subscribe was written; 0: none
	deflate bool   // permessage-deflate was negotiated
}

// deflateOffer is the permessage-deflate offer of Subscription.Deflate: no
// context takeover either way, so the server can compress a message once
// for every client.
var deflateOffer = wsflate.Parameters{ServerNoContextTakeover: true, ClientNoContextTakeover: true}.Option()

// sockopt is an integer socket option a dialer sets before it connects.
type sockopt struct{ level, opt, value int }

// bindNoPort defers the source port to connect time (see Dialer).
var bindNoPort = sockopt{unix.IPPROTO_IP, unix.IP_BIND_ADDRESS_NO_PORT, 1}

// control returns a net.Dialer Control that sets opts on the socket.
func control(opts ...sockopt) func(network, address string, c syscall.RawConn) error {
	return func(_, _ string, c syscall.RawConn) error {
		var serr error
		if err := c.Control(func(fd uintptr) {
			for _, o := range opts {
				if serr = unix.SetsockoptInt(int(fd), o.level, o.opt, o.value); serr != nil {
					return
				}
			}
		}); err != nil {
			return err
		}
		return serr
	}
}

// Dialer returns a TCP dialer bound to the source address src (nil: the
// kernel's choice) that leaves the source port to connect time, so ports
// are unique per (source, destination) pair instead of per source address.
func Dialer(src net.IP, timeout time.Duration) *net.Dialer {
	d := &net.Dialer{Timeout: timeout, Control: control(bindNoPort)}
	if src != nil {
		d.LocalAddr = &net.TCPAddr{IP: src}
	}
	return d
}

// open dials connection gidx (its source address and target follow from
// gidx), upgrades it, and subscribes to syms, with since[i] the trade seq
// to resume syms[i] after (since nil: no resume; a 0 in it: none for that
// symbol). If keepConn, it returns the net.Conn for blocking use;
// otherwise it moves the socket to a bare non-blocking fd for epoll, and
// offers compression if d.sub asks for it.
func (d *dialer) open(ctx context.Context, gidx int, syms []uint32, keepConn bool, since []uint64) (net.Conn, *bufio.Reader, dialed, error) {
	t := d.targets[gidx%len(d.targets)]
	var src net.IP
	if len(d.srcIPs) > 0 {
		src = d.srcIPs[gidx%len(d.srcIPs)]
	}
	dl := Dialer(src, d.timeout)
	opts := []sockopt{bindNoPort}
	if n := d.sub.SlowRcvBuf; n > 0 && !keepConn && d.slow(gidx) {
		opts = append(opts, sockopt{unix.SOL_SOCKET, unix.SO_RCVBUF, n})
	}
	if since != nil {
		opts = append(opts, stamps) // a resume is timed to its replay's arrival (stamp.go)
	}
	if len(opts) > 1 {
		dl.Control = control(opts...)
	}
	nc, err := dl.DialContext(ctx, "tcp", t.addr)
	if err != nil {
		return nil, nil, dialed{}, err
	}
	fail := func(err error) (net.Conn, *bufio.Reader, dialed, error) {
		nc.Close()
		return nil, nil, dialed{}, err
	}
	if err := nc.SetDeadline(time.Now().Add(d.timeout)); err != nil {
		return fail(err)
	}
	u := t.u
	if d.query && len(syms) > 0 {
		cp := *u
		q := cp.Query()
		q.Set("symbols", d.join(syms))
		cp.RawQuery = q.Encode()
		u = &cp
	}
	var wd ws.Dialer
	if d.sub.Deflate && !keepConn {
		wd.Extensions = []httphead.Option{deflateOffer}
	}
	br, hs, err := wd.Upgrade(nc, u)
	if err != nil {
		return fail(err)
	}
	var dc dialed
	for _, e := range hs.Extensions {
		if string(e.Name) == wsflate.ExtensionName {
			dc.deflate = true
		}
	}
	if !d.query && len(syms) > 0 {
		req := d.request(protocol.OpSubscribe, syms, 1, gidx, since)
		dc.subAt = time.Now().UnixNano()
		if _, err := nc.Write(req); err != nil {
			if br != nil {
				ws.PutReader(br)
			}
			return fail(err)
		}
	}
	if keepConn {
		if err := nc.SetDeadline(time.Time{}); err != nil {
			return fail(err)
		}
		return nc, br, dialed{}, nil
	}
	var initial []byte
	if br != nil {
		b, _ := br.Peek(br.Buffered()) // cannot fail: the bytes are buffered
		initial = append([]byte(nil), b...)
		ws.PutReader(br)
	}
	fd, err := rawfd.Take(nc)
	if err != nil {
		return nil, nil, dialed{}, err
	}
	dc.fd, dc.initial = fd, initial
	return nil, nil, dc, nil
}

func (d *dialer) join(syms []uint32) string {
	return strings.Join(d.symbols(syms), ",")
}

func (d *dialer) symbols(syms []uint32) []string {
	names := make([]string, len(syms))
	for i, s := range syms {
		names[i] = d.names[s]
	}
	return names
}

// request returns a masked text frame carrying the request op (subscribe
// or unsubscribe) of connection gidx for syms with id, and what d.sub
// asks for; since is as for open.
func (d *dialer) request(op protocol.Op, syms []uint32, id, gidx int, since []uint64) []byte {
	r := protocol.Request{Op: op, ID: strconv.AppendInt(nil, int64(id), 10), Symbols: d.symbols(syms)}
	r.Channel, _ = protocol.ParseChannel(d.sub.Channel) // checked by newWorker
	if op == protocol.OpSubscribe {
		r.MaxRate = d.sub.MaxRate
		if r.Channel == protocol.ChannelBook {
			r.Depth = d.depth(gidx)
		}
		for i, s := range since {
			if s > 0 {
				r.Since = append(r.Since, protocol.SinceSeq{Symbol: r.Symbols[i], Seq: s})
			}
		}
	}
	return wsframe.AppendClient(nil, wsframe.OpText, protocol.AppendRequest(nil, &r))
}

// depth returns the book depth connection gidx asks for: 0 for the
// server's default.
func (d *dialer) depth(gidx int) int {
	if len(d.sub.Depths) == 0 {
		return 0
	}
	return d.sub.Depths[gidx%len(d.sub.Depths)]
}

// Cause names the reason of a failed dial or a lost connection, for counting.
func Cause(err error) string {
	var se ws.StatusError
	var errno syscall.Errno
	var ne net.Error
	switch {
	case err == nil:
		return "none"
	case errors.Is(err, errUnexpectedClose):
		return "server_close"
	case errors.Is(err, errServer):
		return "server_error"
	case errors.As(err, &se):
		return "http_" + strconv.Itoa(int(se))
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	case errors.As(err, &errno):
		switch errno {
		case unix.ECONNREFUSED:
			return "refused"
		case unix.ECONNRESET:
			return "reset"
		case unix.EADDRNOTAVAIL, unix.EADDRINUSE:
			return "no_source_port"
		case unix.EMFILE, unix.ENFILE:
			return "fd_limit"
		case unix.ETIMEDOUT:
			return "timeout"
		case unix.EPIPE:
			return "broken_pipe"
		}
		return "errno_" + strings.ReplaceAll(errno.Error(), " ", "_")
	case errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "eof"
	case errors.Is(err, ws.ErrHandshakeBadProtocol), errors.Is(err, ws.ErrHandshakeBadUpgrade),
		errors.Is(err, ws.ErrHandshakeBadConnection), errors.Is(err, ws.ErrHandshakeBadSecAccept):
		return "bad_handshake"
	}
	return "other"
}
