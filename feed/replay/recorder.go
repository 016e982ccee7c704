package replay

import (
	"bufio"
	"io"
	"sync"
	"time"

	"github.com/tickerd/tickerd/feed"
	"github.com/tickerd/tickerd/protocol"
)

// flushEvery bounds how long a recorded tick may sit in the buffer while
// ticks keep coming.
const flushEvery = time.Second

// Recorder is a feed.Sink that writes every tick it receives to w as one
// protocol v1 "tick" line (NDJSON, exactly the bytes a client receives) and
// passes it on to next, if next is not nil. Its output is a file Open can
// replay.
//
// Writes are buffered: the buffer is flushed when full, at the first tick a
// second after the last flush, and by Flush, which the owner calls after
// the feed's Run has returned. A write error stops the recording (Err
// reports it) but not the forwarding.
type Recorder struct {
	feed.SinkFuncs // transient: trades and books are not yet recorded
	next           feed.Sink

	mu        sync.Mutex // guards the fields below
	w         *bufio.Writer
	buf       []byte
	lastFlush time.Time
	err       error
}

// NewRecorder returns a Recorder writing to w and forwarding to next.
func NewRecorder(w io.Writer, next feed.Sink) *Recorder {
	return &Recorder{next: next, w: bufio.NewWriterSize(w, 64<<10), lastFlush: time.Now()}
}

// Publish forwards t to the next sink, then records it.
func (r *Recorder) Publish(t *protocol.Tick) {
	if r.next != nil {
		r.next.Publish(t)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err != nil {
		return
	}
	r.buf = append(protocol.AppendTick(r.buf[:0], t), '\n')
	if _, r.err = r.w.Write(r.buf); r.err != nil {
		return
	}
	if now := time.Now(); now.Sub(r.lastFlush) >= flushEvery {
		r.lastFlush = now
		r.err = r.w.Flush()
	}
}

// Flush writes out any buffered ticks and returns the first write error.
func (r *Recorder) Flush() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err == nil {
		r.err = r.w.Flush()
		r.lastFlush = time.Now()
	}
	return r.err
}

// Err returns the write error that stopped the recording, if any.
func (r *Recorder) Err() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.err
}
