package front

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"
	"sync"
	"time"
)

// response is the http.ResponseWriter of a WebSocket handshake served by
// the Front. Upgrade either hijacks the connection, or writes a refusal
// that finish sends before it closes the connection. Its methods run on
// the handshake's goroutine.
type response struct {
	nc       *net.TCPConn
	early    []byte // bytes the client sent after its header
	header   http.Header
	status   int
	body     []byte // at most maxRefusal bytes
	hijacked bool
}

// maxRefusal caps the body of a response that is not an upgrade (the
// hub's refusals are a line of text).
const maxRefusal = 4096

func (w *response) Header() http.Header { return w.header }

func (w *response) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
}

func (w *response) Write(b []byte) (int, error) {
	if w.hijacked {
		return 0, http.ErrHijacked
	}
	w.WriteHeader(http.StatusOK)
	w.body = append(w.body, b[:min(len(b), maxRefusal-len(w.body))]...)
	return len(b), nil
}

// Hijack hands the connection over, with the bytes the client sent after
// its header buffered in the reader.
func (w *response) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if w.hijacked {
		return nil, nil, http.ErrHijacked
	}
	w.hijacked = true
	br := bufio.NewReaderSize(io.MultiReader(bytes.NewReader(w.early), w.nc), len(w.early))
	if len(w.early) > 0 {
		_, _ = br.Peek(len(w.early)) // buffers them without reading the socket
	}
	return w.nc, bufio.NewReadWriter(br, bufio.NewWriterSize(w.nc, 512)), nil
}

// finish sends the response Upgrade wrote and closes the connection.
func (w *response) finish(timeout time.Duration) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	w.header.Del("Content-Length")
	w.header.Del("Connection")
	resp := http.Response{StatusCode: w.status, ProtoMajor: 1, ProtoMinor: 1, Header: w.header,
		Body: io.NopCloser(bytes.NewReader(w.body)), ContentLength: int64(len(w.body)), Close: true}
	var b bytes.Buffer
	_ = resp.Write(&b) // net/http's own serialisation: status line, headers, Content-Length, Connection: close
	sendAndClose(w.nc, b.Bytes(), timeout)
}

// sendAndClose writes b to nc and closes it: the write half first, then,
// once the client has closed too (or after rstWait), the rest, so that
// bytes it sent that were not read do not turn the close into a reset
// that loses the response.
func sendAndClose(nc *net.TCPConn, b []byte, timeout time.Duration) {
	defer nc.Close()
	_ = nc.SetWriteDeadline(time.Now().Add(timeout))
	if _, err := nc.Write(b); err != nil {
		return
	}
	_ = nc.CloseWrite()
	_ = nc.SetReadDeadline(time.Now().Add(rstWait))
	drain := drainBufs.Get().(*[]byte)
	defer drainBufs.Put(drain)
	for {
		if _, err := nc.Read(*drain); err != nil {
			return
		}
	}
}

// rstWait is how long a refused connection waits for its client to close
// (net/http waits as long: rstAvoidanceDelay).
const rstWait = 500 * time.Millisecond

var drainBufs = sync.Pool{New: func() any { b := make([]byte, 512); return &b }}
