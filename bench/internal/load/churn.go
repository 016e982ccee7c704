package load

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"net"
	"sync"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
	"golang.org/x/time/rate"

	"github.com/tickerd/tickerd/bench/internal/stats"
	"github.com/tickerd/tickerd/internal/wsframe"
	"github.com/tickerd/tickerd/protocol"
)

// churner runs connect/subscribe/unsubscribe/close cycles at a bounded rate.
type churner struct {
	d     *dialer
	pick  *Picker
	first int // global index of the first churn connection (spreads sources)

	mu       sync.Mutex
	cycles   int64
	failures map[string]int
	lat      *hdr.Histogram
}

var errUnexpectedClose = errors.New("load: server closed the connection")

// run cycles until ctx is done, with at most conc cycles in flight and at
// most perSec cycles started per second.
func (ch *churner) run(ctx context.Context, perSec float64, conc int) ChurnReport {
	ch.failures = map[string]int{}
	ch.lat = stats.NewLatency()
	lim := rate.NewLimiter(rate.Limit(perSec), max(1, int(perSec/10)))
	start := time.Now()
	var wg sync.WaitGroup
	var next int
	var nmu sync.Mutex
	for range max(conc, 1) {
		wg.Go(func() {
			for lim.Wait(ctx) == nil {
				nmu.Lock()
				i := next
				next++
				nmu.Unlock()
				t := time.Now()
				err := ch.cycle(ctx, ch.first+i)
				if ctx.Err() != nil {
					return // cut short by the end of the run: not a failure
				}
				ch.mu.Lock()
				if err != nil {
					ch.failures[Cause(err)]++
				} else {
					ch.cycles++
					stats.Record(ch.lat, time.Since(t).Microseconds())
				}
				ch.mu.Unlock()
			}
		})
	}
	wg.Wait()
	enc, _ := stats.Encode(ch.lat) // cannot fail for a valid histogram
	return ChurnReport{Cycles: ch.cycles, Failures: ch.failures, Latency: enc, Seconds: time.Since(start).Seconds()}
}

// cycle connects, subscribes, waits for the reply, unsubscribes, waits for
// the reply and closes with a close handshake.
func (ch *churner) cycle(ctx context.Context, gidx int) error {
	syms := ch.pick.Pick(gidx)
	nc, br, _, err := ch.d.open(ctx, gidx, nil, true, nil)
	if err != nil {
		return err
	}
	defer nc.Close()
	stop := context.AfterFunc(ctx, func() { nc.SetDeadline(time.Now()) })
	defer stop()
	if err := nc.SetDeadline(time.Now().Add(ch.d.timeout)); err != nil {
		return err
	}
	var rd *bufio.Reader
	if br != nil {
		rd = br
	} else {
		rd = bufio.NewReaderSize(nc, 4096)
	}
	fr := NewFrameReader(rd)
	if _, err := nc.Write(ch.d.request(protocol.OpSubscribe, syms, 1, gidx, nil)); err != nil {
		return err
	}
	if err := fr.await(`"type":"subscribed"`); err != nil {
		return err
	}
	if _, err := nc.Write(ch.d.request(protocol.OpUnsubscribe, syms, 2, gidx, nil)); err != nil {
		return err
	}
	if err := fr.await(`"type":"unsubscribed"`); err != nil {
		return err
	}
	if _, err := nc.Write(wsframe.AppendClient(nil, wsframe.OpClose, wsframe.AppendCloseBody(nil, wsframe.StatusNormalClosure, ""))); err != nil {
		return err
	}
	return fr.awaitClose()
}

// FrameReader reads whole server frames from a blocking connection. A
// read error (a deadline, say) leaves what was read buffered, so Next can
// be called again.
type FrameReader struct {
	r   *bufio.Reader
	buf []byte
}

// NewFrameReader returns a FrameReader reading from r.
func NewFrameReader(r *bufio.Reader) *FrameReader { return &FrameReader{r: r} }

// Next returns the next frame; its payload is the caller's.
func (fr *FrameReader) Next() (wsframe.Frame, error) {
	for {
		if f, n, err := wsframe.Next(fr.buf, maxFrame); err != nil {
			return f, err
		} else if n > 0 {
			// Copy the payload out so buf can be compacted.
			f.Payload = append([]byte(nil), f.Payload...)
			fr.buf = append(fr.buf[:0], fr.buf[n:]...)
			return f, nil
		}
		var tmp [4096]byte
		m, err := fr.r.Read(tmp[:])
		fr.buf = append(fr.buf, tmp[:m]...)
		if err != nil && m == 0 {
			return wsframe.Frame{}, err
		}
	}
}

// await reads until a text message containing marker; an error message
// fails the cycle.
func (fr *FrameReader) await(marker string) error {
	for {
		f, err := fr.Next()
		if err != nil {
			return err
		}
		switch {
		case f.Op == wsframe.OpClose:
			return errUnexpectedClose
		case f.Op != wsframe.OpText:
		case bytes.Contains(f.Payload, []byte(marker)):
			return nil
		case bytes.HasPrefix(f.Payload, []byte(`{"type":"error"`)):
			return errServer
		}
	}
}

var errServer = errors.New("load: server replied with an error")

// awaitClose reads until the server's close frame or EOF.
func (fr *FrameReader) awaitClose() error {
	for {
		f, err := fr.Next()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				return err
			}
			return nil // EOF after our close is a clean end
		}
		if f.Op == wsframe.OpClose {
			return nil
		}
	}
}
