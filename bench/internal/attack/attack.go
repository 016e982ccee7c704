// Package attack runs hostile clients against a tickerd: connections that
// cost the server memory, file descriptors or CPU while breaking no rule a
// server can see at once (issue 13). Each Class is one behaviour; Run opens
// n connections of a class, keeps them at it until its context ends, then
// closes every one and reports what the server did to them.
//
//	rep := attack.Run(ctx, attack.Classes[0], attack.Target{Addr: "127.0.0.1:8080"}, 1000)
//	fmt.Println(rep.Opened, rep.Closed, rep.Held)
//
// Run owns the goroutines it starts (one per connection) and returns after
// every one has ended. Targets must be loopback: the caller checks.
package attack

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	gws "github.com/gobwas/ws"
	"golang.org/x/sys/unix"

	"github.com/tickerd/tickerd/bench/internal/load"
	"github.com/tickerd/tickerd/internal/wsframe"
)

// Target says where attackers connect.
type Target struct {
	Addr    string        // host:port
	Path    string        // the WebSocket path; "" means /ws
	SrcIPs  []net.IP      // connection i binds SrcIPs[i%len]; empty: the kernel chooses
	Symbols []string      // real symbols, for the classes that subscribe
	Timeout time.Duration // connect and handshake of one connection; 0 means 10 s
	// TLS is the client configuration of the classes that connect over
	// wss:// (Class.TLS); they fail to open without it.
	TLS *tls.Config
}

// Class is one kind of hostile client.
type Class struct {
	Name  string
	What  string // what each connection does, in a line
	Conns int    // how many connections a run opens by default
	TLS   bool   // connect over TLS (wss://), with Target.TLS
	ws    bool   // upgrade to a WebSocket and read the limits message first
	run   func(ctx context.Context, c *conn) error
}

// Classes are the attacks, in the order a run takes them.
var Classes = []Class{
	{Name: "idle-http", Conns: 1000, run: idleHTTP,
		What: "sends one keep-alive GET /healthz, reads the answer, then stays silent"},
	{Name: "slow-headers", Conns: 1000, run: slowHeaders,
		What: "sends an HTTP request header one byte a second, never finishing it"},
	{Name: "huge-query", Conns: 1, run: hugeQuery,
		What: "asks GET /ws?symbols= with 4,000 distinct names, again and again on one keep-alive connection"},
	{Name: "partial-frame", Conns: 1000, ws: true, run: partialFrame,
		What: "sends a frame header announcing the largest message allowed, then one payload byte a second"},
	{Name: "fragments", Conns: 200, ws: true, run: fragments,
		What: "sends a fragmented message just under the size limit, 4 KiB every 100 ms, then keeps it open with empty fragments"},
	{Name: "reply-flood", Conns: 10, ws: true, run: replyFlood,
		What: "subscribes to 1,000 unknown 32-character names at 90% of the message rate and never reads the error replies"},
	{Name: "ping-burst", Conns: 50, ws: true, run: pingBurst,
		What: "sends 300 pings of 125 bytes in one write every 2 s and reads everything"},
	{Name: "ping-paced", Conns: 20, ws: true, run: pingPaced,
		What: "sends a ping every 5 ms (200/s, ten times the message rate) and reads everything"},
	{Name: "stalled-readers", Conns: 500, ws: true, run: stalledReader,
		What: "subscribes to every symbol (up to the limits) and never reads"},
	{Name: "idle-wss", Conns: 1000, ws: true, TLS: true, run: idleWS,
		What: "over wss:// (TLS): reads the limits, subscribes to nothing, stays silent and answers pings"},
	{Name: "stalled-wss", Conns: 500, ws: true, TLS: true, run: stalledReader,
		What: "over wss:// (TLS): subscribes to every symbol (up to the limits) and never reads"},
}

// Select returns the classes named in a comma-separated list, in the order
// of Classes; "" or "all" selects every class.
func Select(list string) ([]Class, error) {
	if list == "" || list == "all" {
		return Classes, nil
	}
	want := map[string]bool{}
	for _, n := range strings.Split(list, ",") {
		if n = strings.TrimSpace(n); n != "" {
			want[n] = true
		}
	}
	var out []Class
	for _, c := range Classes {
		if want[c.Name] {
			out = append(out, c)
			delete(want, c.Name)
		}
	}
	for n := range want {
		return nil, fmt.Errorf("attack: unknown class %q", n)
	}
	return out, nil
}

// Report is what one run of a class saw.
type Report struct {
	Class     string           `json:"class"`
	Attempted int              `json:"attempted"`
	Opened    int              `json:"opened"`             // connected (and upgraded, for WebSocket classes)
	Failures  map[string]int   `json:"failures,omitempty"` // could not open, by cause
	Closed    map[string]int   `json:"closed_by_server,omitempty"`
	Held      int              `json:"held_to_end"` // still open when the run ended
	SentBytes int64            `json:"sent_bytes"`
	Requests  int64            `json:"requests"`          // HTTP requests, WebSocket messages or pings sent
	Answers   map[string]int64 `json:"answers,omitempty"` // what came back: http_400, pong, error, text
	Seconds   float64          `json:"seconds"`
}

// dialConcurrency bounds the connections being opened at once.
const dialConcurrency = 32

// Run opens n connections of class cl to t and keeps them at it until ctx
// ends; then it closes them all and returns. A connection the server ends
// is not reopened.
func Run(ctx context.Context, cl Class, t Target, n int) *Report {
	start := time.Now()
	tl := &tally{rep: Report{Class: cl.Name, Attempted: n,
		Failures: map[string]int{}, Closed: map[string]int{}, Answers: map[string]int64{}}}
	sem := make(chan struct{}, dialConcurrency)
	var wg sync.WaitGroup
	for i := range n {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			tl.ended(func(r *Report) { r.Failures["not_attempted"] += n - i })
			wg.Wait()
			return tl.report(start)
		}
		wg.Go(func() {
			c, err := t.open(ctx, i, cl, tl)
			<-sem
			if err != nil {
				tl.ended(func(r *Report) { r.Failures[load.Cause(err)]++ })
				return
			}
			defer c.raw.Close()
			stop := context.AfterFunc(ctx, c.end)
			err = cl.run(ctx, c)
			stop()
			how := ""
			switch {
			case ctx.Err() == nil:
				how = cause(err)
			default:
				how = peerGone(c.raw) // "" unless the server hung up unnoticed (a connection that never reads)
			}
			tl.ended(func(r *Report) {
				r.Opened++
				if how == "" {
					r.Held++
				} else {
					r.Closed[how]++
				}
			})
		})
	}
	wg.Wait()
	return tl.report(start)
}

// tally collects a run's counts from its connections' goroutines.
type tally struct {
	mu  sync.Mutex
	rep Report // guarded by mu
}

// ended records how a connection ended, under the lock.
func (tl *tally) ended(f func(r *Report)) {
	tl.mu.Lock()
	f(&tl.rep)
	tl.mu.Unlock()
}

func (tl *tally) sent(bytes, requests int) {
	tl.mu.Lock()
	tl.rep.SentBytes += int64(bytes)
	tl.rep.Requests += int64(requests)
	tl.mu.Unlock()
}

func (tl *tally) answer(kind string) {
	tl.mu.Lock()
	tl.rep.Answers[kind]++
	tl.mu.Unlock()
}

// report returns the counts; call it after every connection has ended.
func (tl *tally) report(start time.Time) *Report {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	r := tl.rep
	r.Seconds = time.Since(start).Seconds()
	if len(r.Failures) == 0 {
		r.Failures = nil
	}
	if len(r.Closed) == 0 {
		r.Closed = nil
	}
	if len(r.Answers) == 0 {
		r.Answers = nil
	}
	return &r
}

// conn is one attacking connection, used by its own goroutine; end runs
// on the context's.
type conn struct {
	nc  net.Conn // the TCP connection, or the TLS one over it
	raw net.Conn // the TCP connection
	r   *bufio.Reader
	fr  *load.FrameReader // WebSocket classes
	t   *Target
	tl  *tally
	lim limits // WebSocket classes: what the server announced
	// pong: readFor answers pings, as a well-behaved client does
	pong bool

	mu    sync.Mutex
	ended bool // guarded by mu: the run is over, deadlines stay in the past
}

// limits is the part of the server's "limits" message the attacks use.
type limits struct {
	MaxMessageBytes   int     `json:"max_message_bytes"`
	MaxSymbols        int     `json:"max_symbols"`
	MaxRequestSymbols int     `json:"max_request_symbols"`
	MessagesPerSecond float64 `json:"messages_per_second"`
}

// open dials connection i, makes the TLS handshake for a TLS class and,
// for a WebSocket class, upgrades it and reads the limits message.
func (t *Target) open(ctx context.Context, i int, cl Class, tl *tally) (*conn, error) {
	var src net.IP
	if len(t.SrcIPs) > 0 {
		src = t.SrcIPs[i%len(t.SrcIPs)]
	}
	timeout := t.Timeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	if cl.TLS && t.TLS == nil {
		return nil, errors.New("attack: a TLS class needs Target.TLS")
	}
	raw, err := load.Dialer(src, timeout).DialContext(ctx, "tcp", t.Addr)
	if err != nil {
		return nil, err
	}
	nc := raw
	c := &conn{nc: nc, raw: raw, t: t, tl: tl}
	fail := func(err error) (*conn, error) {
		raw.Close()
		return nil, err
	}
	stop := context.AfterFunc(ctx, func() { raw.SetDeadline(time.Now()) })
	defer stop()
	if err := raw.SetDeadline(time.Now().Add(timeout)); err != nil {
		return fail(err)
	}
	scheme := "ws"
	if cl.TLS {
		tc := tls.Client(raw, t.TLS)
		if err := tc.HandshakeContext(ctx); err != nil {
			return fail(err)
		}
		nc, c.nc, scheme = tc, tc, "wss"
	}
	if !cl.ws {
		if err := raw.SetDeadline(time.Time{}); err != nil {
			return fail(err)
		}
		c.r = bufio.NewReaderSize(nc, 4096)
		return c, nil
	}
	path := t.Path
	if path == "" {
		path = "/ws"
	}
	br, _, err := gws.Dialer{}.Upgrade(nc, &url.URL{Scheme: scheme, Host: t.Addr, Path: path})
	if err != nil {
		return fail(err)
	}
	if br == nil {
		br = bufio.NewReaderSize(nc, 4096)
	}
	c.r, c.fr = br, load.NewFrameReader(br)
	f, err := c.fr.Next()
	if err != nil {
		return fail(err)
	}
	if err := json.Unmarshal(f.Payload, &c.lim); err != nil || !strings.HasPrefix(string(f.Payload), `{"type":"limits"`) {
		return fail(fmt.Errorf("attack: first message %.80q, want the limits", f.Payload))
	}
	if err := raw.SetDeadline(time.Time{}); err != nil {
		return fail(err)
	}
	return c, nil
}

// end puts every deadline in the past, so blocked calls return; the run
// is over.
func (c *conn) end() {
	c.mu.Lock()
	c.ended = true
	_ = c.nc.SetDeadline(time.Unix(1, 0))
	c.mu.Unlock()
}

// readDeadline sets the read deadline unless the run is over.
func (c *conn) readDeadline(t time.Time) {
	c.mu.Lock()
	if !c.ended {
		_ = c.nc.SetReadDeadline(t)
	}
	c.mu.Unlock()
}

// write writes b, counting it as requests requests.
func (c *conn) write(b []byte, requests int) error {
	n, err := c.nc.Write(b)
	c.tl.sent(n, requests)
	return err
}

// closeError is a close frame from the server.
type closeError struct{ code wsframe.StatusCode }

func (e *closeError) Error() string { return "attack: closed " + strconv.Itoa(int(e.code)) }

// readFor reads server frames for d, counting pongs and replies; it
// returns nil when d has passed, and an error when the server closed.
func (c *conn) readFor(d time.Duration) error {
	c.readDeadline(time.Now().Add(d))
	for {
		f, err := c.fr.Next()
		if isTimeout(err) {
			return nil
		}
		if err != nil {
			return err
		}
		switch f.Op {
		case wsframe.OpClose:
			code, _, _ := wsframe.ParseCloseBody(f.Payload)
			return &closeError{code}
		case wsframe.OpPong:
			c.tl.answer("pong")
		case wsframe.OpPing:
			c.tl.answer("ping")
			if c.pong {
				if err := c.write(wsframe.AppendClient(nil, wsframe.OpPong, f.Payload), 0); err != nil {
					return err
				}
			}
		case wsframe.OpText:
			if strings.HasPrefix(string(f.Payload), `{"type":"error"`) {
				c.tl.answer("error")
			} else {
				c.tl.answer("text")
			}
		}
	}
}

// cause names how the server ended a connection.
func cause(err error) string {
	var ce *closeError
	if errors.As(err, &ce) {
		return "close_" + strconv.Itoa(int(ce.code))
	}
	return load.Cause(err)
}

// peerGone reports "eof" or "reset" when the server has ended nc, without
// reading from it.
func peerGone(nc net.Conn) string {
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return ""
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return ""
	}
	how := ""
	_ = rc.Control(func(fd uintptr) {
		p := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLRDHUP}}
		if n, err := unix.Poll(p, 0); err != nil || n == 0 {
			return
		}
		switch {
		case p[0].Revents&unix.POLLERR != 0:
			how = "reset"
		case p[0].Revents&(unix.POLLRDHUP|unix.POLLHUP) != 0:
			how = "eof"
		}
	})
	return how
}
