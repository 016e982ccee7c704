package testutil

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// Msg is any server message of protocol v1, decoded with encoding/json
// (independently of package protocol). Raw keeps the exact bytes.
type Msg struct {
	Type    string          `json:"type"`
	ID      json.RawMessage `json:"id"`
	Symbol  string          `json:"symbol"`
	Seq     uint64          `json:"seq"`
	Price   string          `json:"price"`
	Bid     string          `json:"bid"`
	Ask     string          `json:"ask"`
	Open    string          `json:"open"`
	High    string          `json:"high"`
	Low     string          `json:"low"`
	Volume  string          `json:"volume"`
	TS      int64           `json:"ts"`
	Symbols []string        `json:"symbols"`
	Code    string          `json:"code"`
	Message string          `json:"message"`

	Raw []byte `json:"-"`
}

// IsData reports whether m is market data (tick or snapshot).
func (m Msg) IsData() bool { return m.Type == "tick" || m.Type == "snapshot" }

// Client is a protocol v1 client over gorilla/websocket. It is not safe
// for concurrent use.
type Client struct {
	C *websocket.Conn
	// Limits is the "limits" message the server sends first.
	Limits Msg
	// OnData, when set, sees every tick and snapshot that Await skips.
	OnData func(m Msg)
}

// Dial connects a Client to url (ws://host/ws?...).
func Dial(url string, timeout time.Duration) (*Client, error) {
	return DialWith(&websocket.Dialer{HandshakeTimeout: timeout}, url)
}

// DialWith connects with a prepared dialer and reads the "limits" message
// every connection starts with.
func DialWith(d *websocket.Dialer, url string) (*Client, error) {
	c, resp, err := d.Dial(url, nil)
	if err != nil {
		if resp != nil {
			return nil, fmt.Errorf("testutil: dial %s: %w (status %d)", url, err, resp.StatusCode)
		}
		return nil, fmt.Errorf("testutil: dial %s: %w", url, err)
	}
	cl := &Client{C: c}
	timeout := d.HandshakeTimeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	m, err := cl.Next(time.Now().Add(timeout))
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("testutil: dial %s: first message: %w", url, err)
	}
	if m.Type != "limits" {
		c.Close()
		return nil, fmt.Errorf("testutil: dial %s: first message %s, want the limits message", url, m.Raw)
	}
	cl.Limits = m
	return cl, nil
}

// SmallRecvBuf returns a gorilla dialer whose sockets have a receive
// buffer of about n bytes (SmallRecvBufDialer).
func SmallRecvBuf(n int, timeout time.Duration) *websocket.Dialer {
	nd := SmallRecvBufDialer(n, timeout)
	return &websocket.Dialer{HandshakeTimeout: timeout, NetDial: nd.Dial, ReadBufferSize: 512}
}

// SmallRecvBufDialer returns a dialer whose sockets have a receive buffer
// of about n bytes, set before connect so the TCP window stays small: a
// client that stops reading then backs up the server quickly.
func SmallRecvBufDialer(n int, timeout time.Duration) *net.Dialer {
	return &net.Dialer{Timeout: timeout, Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		err := rc.Control(func(fd uintptr) {
			serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, n)
		})
		return errors.Join(err, serr)
	}}
}

// Send writes one text message.
func (c *Client) Send(s string) error {
	_ = c.C.SetWriteDeadline(time.Now().Add(10 * time.Second))
	return c.C.WriteMessage(websocket.TextMessage, []byte(s))
}

// Next reads one message, waiting until deadline.
func (c *Client) Next(deadline time.Time) (Msg, error) {
	_ = c.C.SetReadDeadline(deadline)
	typ, p, err := c.C.ReadMessage()
	if err != nil {
		return Msg{}, err
	}
	if typ != websocket.TextMessage {
		return Msg{}, fmt.Errorf("testutil: message type %d, want text", typ)
	}
	var m Msg
	if err := json.Unmarshal(p, &m); err != nil {
		return Msg{}, fmt.Errorf("testutil: bad JSON from server %q: %w", p, err)
	}
	m.Raw = p
	return m, nil
}

// Await reads until a message that is not market data and whose id is
// the raw JSON id ("" for none), passing data to OnData. Replies with other
// ids are an error.
func (c *Client) Await(id string, timeout time.Duration) (Msg, error) {
	deadline := time.Now().Add(timeout)
	for {
		m, err := c.Next(deadline)
		if err != nil {
			return m, err
		}
		if m.IsData() {
			if c.OnData != nil {
				c.OnData(m)
			}
			continue
		}
		if !bytes.Equal(m.ID, []byte(id)) {
			return m, fmt.Errorf("testutil: reply %s, want id %s", m.Raw, id)
		}
		return m, nil
	}
}

// Request sends req and awaits the reply carrying id.
func (c *Client) Request(req, id string, timeout time.Duration) (Msg, error) {
	if err := c.Send(req); err != nil {
		return Msg{}, err
	}
	return c.Await(id, timeout)
}

// Ping sends a ping request with id and waits for its pong.
func (c *Client) Ping(id string, timeout time.Duration) error {
	m, err := c.Request(`{"op":"ping","id":`+id+`}`, id, timeout)
	if err != nil {
		return err
	}
	if m.Type != "pong" {
		return fmt.Errorf("testutil: ping %s: got %s, want a pong", id, m.Raw)
	}
	return nil
}

// CloseCode reads until the connection closes and returns the close code
// the server sent (websocket.CloseError), or an error if it ended another
// way or the timeout passed.
func (c *Client) CloseCode(timeout time.Duration) (int, error) {
	_ = c.C.SetReadDeadline(time.Now().Add(timeout))
	for {
		_, _, err := c.C.ReadMessage()
		if err == nil {
			continue
		}
		if ce, ok := err.(*websocket.CloseError); ok {
			return ce.Code, nil
		}
		return 0, err
	}
}

// Close closes the socket without a closing handshake.
func (c *Client) Close() error { return c.C.Close() }

// HTTPGet fetches url with a client that keeps no idle connection.
func HTTPGet(url string, timeout time.Duration) (int, []byte, http.Header, error) {
	cl := &http.Client{Timeout: timeout, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := cl.Get(url)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	_, err = b.ReadFrom(resp.Body)
	return resp.StatusCode, b.Bytes(), resp.Header, err
}

// IsTimeout reports whether err is a network timeout.
func IsTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// WantClose fails the test unless the server closes each client with
// code within timeout; it closes the clients.
func WantClose(t testing.TB, code int, timeout time.Duration, clients ...*Client) {
	t.Helper()
	for i, c := range clients {
		got, err := c.CloseCode(timeout)
		switch {
		case err != nil:
			t.Errorf("client %d: %v, want close %d", i, err, code)
		case got != code:
			t.Errorf("client %d: close %d, want %d", i, got, code)
		}
		c.Close() // gorilla echoed the close frame
	}
}
