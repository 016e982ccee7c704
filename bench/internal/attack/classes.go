package attack

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/tickerd/tickerd/internal/wsframe"
)

const (
	trickleEvery   = time.Second // slow-headers, partial-frame, fragments: one write this often
	queryNames     = 4000        // huge-query: names in ?symbols=
	floodNameLen   = 32          // reply-flood: the longest symbol name a request may carry
	pingBurstSize  = 300         // ping-burst: pings in one write
	pingBurstEvery = 2 * time.Second
	pingPacedEvery = 5 * time.Millisecond
)

// idleHTTP asks for /healthz once on a keep-alive connection and then
// waits for the server to hang up.
func idleHTTP(_ context.Context, c *conn) error {
	if err := c.write([]byte("GET /healthz HTTP/1.1\r\nHost: "+c.t.Addr+"\r\n\r\n"), 1); err != nil {
		return err
	}
	if _, err := c.readResponse(); err != nil {
		return err
	}
	return c.drain()
}

// slowHeaders starts a request and adds one byte of header a second.
func slowHeaders(ctx context.Context, c *conn) error {
	if err := c.write([]byte("GET /healthz HTTP/1.1\r\nHost: "+c.t.Addr+"\r\n"), 1); err != nil {
		return err
	}
	line := []byte("X-Slow: 1\r\n")
	for i := 0; ; i++ {
		c.readDeadline(time.Now().Add(trickleEvery))
		if _, err := c.r.Peek(1); err == nil {
			// The server answered the unfinished request (408, 400).
			c.readDeadline(time.Time{})
			if _, err := c.readResponse(); err != nil {
				return err
			}
			return c.drain()
		} else if !isTimeout(err) {
			return err
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err := c.write(line[i%len(line):i%len(line)+1], 0); err != nil {
			return err
		}
	}
}

// hugeQuery asks for a WebSocket with thousands of distinct names in
// ?symbols=, which the server refuses, and asks again on the same
// connection as soon as the answer is in.
func hugeQuery(ctx context.Context, c *conn) error {
	path := c.t.Path
	if path == "" {
		path = "/ws"
	}
	req := []byte("GET " + path + "?symbols=" + shortNames(queryNames) + " HTTP/1.1\r\nHost: " + c.t.Addr + "\r\n\r\n")
	for ctx.Err() == nil {
		if err := c.write(req, 1); err != nil {
			return err
		}
		closing, err := c.readResponse()
		if err != nil {
			return err
		}
		if closing {
			return c.drain()
		}
	}
	return ctx.Err()
}

// nameChars are the characters of shortNames: unreserved in a URL.
const nameChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

// shortNames returns the n shortest distinct names over nameChars, joined
// by commas: A, B, ..., _, AA, AB, ...
func shortNames(n int) string {
	var b strings.Builder
	var name []byte
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		name = name[:0]
		for k := i + 1; k > 0; k = (k - 1) / len(nameChars) { // bijective base 64
			name = append(name, nameChars[(k-1)%len(nameChars)])
		}
		for j := len(name) - 1; j >= 0; j-- {
			b.WriteByte(name[j])
		}
	}
	return b.String()
}

// partialFrame announces the largest message allowed and sends its
// payload a byte at a time, never finishing it.
func partialFrame(ctx context.Context, c *conn) error {
	size := c.maxMessage()
	h := wsframe.Header{Fin: true, Op: wsframe.OpText, Masked: true, Mask: wsframe.NewMask(), Length: int64(size)}
	if err := c.write(wsframe.AppendHeader(nil, h), 1); err != nil {
		return err
	}
	for pos := 0; ; {
		if err := c.readFor(trickleEvery); err != nil {
			return err
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if pos < size-1 {
			b := []byte{' '}
			pos = wsframe.Cipher(b, h.Mask, pos)
			if err := c.write(b, 0); err != nil {
				return err
			}
		}
	}
}

// fragments sends a fragmented message up to just under the size limit,
// then keeps it unfinished with empty continuation frames.
func fragments(ctx context.Context, c *conn) error {
	limit := c.maxMessage()
	chunk := bytes.Repeat([]byte(" "), 4096)
	p, op, held := []byte(`{"op":"ping","pad":"`), wsframe.OpText, 0
	for {
		f := wsframe.AppendFrame(nil, wsframe.Header{Op: op, Masked: true, Mask: wsframe.NewMask()}, p)
		requests := 0
		if op == wsframe.OpText {
			requests = 1
		}
		if err := c.write(f, requests); err != nil {
			return err
		}
		held += len(p)
		wait := trickleEvery
		op, p = wsframe.OpContinuation, nil
		if held+len(chunk) < limit-64 {
			p, wait = chunk, 100*time.Millisecond
		}
		if err := c.readFor(wait); err != nil {
			return err
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
}

// replyFlood subscribes to names that do not exist, as fast as the message
// rate allows, and never reads the error replies.
func replyFlood(ctx context.Context, c *conn) error {
	n := c.lim.MaxRequestSymbols
	if n <= 0 || n > 1000 {
		n = 1000
	}
	n = min(n, (c.maxMessage()-64)/(floodNameLen+3))
	names := make([]string, n)
	for i := range names {
		b := make([]byte, floodNameLen)
		for j := range b {
			b[j] = "abcdefghijklmnopqrstuvwxyz0123456789"[rand.IntN(36)]
		}
		names[i] = string(b)
	}
	payload := subscribe(names)
	every := time.Second / 18
	if r := c.lim.MessagesPerSecond; r > 0 {
		every = time.Duration(float64(time.Second) / (0.9 * r))
	}
	tick := time.NewTicker(every)
	defer tick.Stop()
	buf := make([]byte, 0, len(payload)+wsframe.MaxHeaderLen)
	for {
		buf = wsframe.AppendClient(buf[:0], wsframe.OpText, payload)
		if err := c.write(buf, 1); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
}

// pingBurst sends pingBurstSize pings in one write every pingBurstEvery
// and reads everything in between.
func pingBurst(ctx context.Context, c *conn) error {
	one := wsframe.AppendClient(nil, wsframe.OpPing, bytes.Repeat([]byte("p"), wsframe.MaxControlPayload))
	burst := bytes.Repeat(one, pingBurstSize)
	for ctx.Err() == nil {
		if err := c.write(burst, pingBurstSize); err != nil {
			return err
		}
		if err := c.readFor(pingBurstEvery); err != nil {
			return err
		}
	}
	return ctx.Err()
}

// pingPaced sends a ping every pingPacedEvery and reads everything.
func pingPaced(ctx context.Context, c *conn) error {
	var buf []byte
	for ctx.Err() == nil {
		buf = wsframe.AppendClient(buf[:0], wsframe.OpPing, []byte("paced"))
		if err := c.write(buf, 1); err != nil {
			return err
		}
		if err := c.readFor(pingPacedEvery); err != nil {
			return err
		}
	}
	return ctx.Err()
}

// idleWS subscribes to nothing and stays silent, reading what comes and
// answering the server's pings, as an idle client does.
func idleWS(ctx context.Context, c *conn) error {
	c.pong = true
	for ctx.Err() == nil {
		if err := c.readFor(trickleEvery); err != nil {
			return err
		}
	}
	return ctx.Err()
}

// stalledReader subscribes to as many real symbols as it may and never
// reads again.
func stalledReader(ctx context.Context, c *conn) error {
	n := len(c.t.Symbols)
	if m := c.lim.MaxRequestSymbols; m > 0 {
		n = min(n, m)
	}
	if m := c.lim.MaxSymbols; m > 0 {
		n = min(n, m)
	}
	if n > 0 {
		if err := c.write(wsframe.AppendClient(nil, wsframe.OpText, subscribe(c.t.Symbols[:n])), 1); err != nil {
			return err
		}
	}
	<-ctx.Done()
	return ctx.Err()
}

func subscribe(names []string) []byte {
	b, _ := json.Marshal(struct { // cannot fail: strings only
		Op      string   `json:"op"`
		Symbols []string `json:"symbols"`
		ID      int      `json:"id"`
	}{"subscribe", names, 1})
	return b
}

// maxMessage is the largest message the server takes, from its limits.
func (c *conn) maxMessage() int {
	if n := c.lim.MaxMessageBytes; n > 0 {
		return n
	}
	return 64 << 10
}

// readResponse reads one HTTP response, counts it by status and reports
// whether the server will close the connection after it.
func (c *conn) readResponse() (closing bool, err error) {
	resp, err := http.ReadResponse(c.r, nil)
	if err != nil {
		return false, err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	c.tl.answer("http_" + strconv.Itoa(resp.StatusCode))
	return resp.Close, err
}

// drain reads until the server ends the connection.
func (c *conn) drain() error {
	c.readDeadline(time.Time{})
	for {
		if _, err := c.r.ReadByte(); err != nil {
			return err
		}
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
