package replay

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/tickerd/tickerd/internal/testutil"
	"github.com/tickerd/tickerd/protocol"
)

type failWriter struct{ n int }

func (w *failWriter) Write(p []byte) (int, error) {
	if w.n--; w.n < 0 {
		return 0, errors.New("disk full")
	}
	return len(p), nil
}

// tick is an AAPL tick at a fixed time, so that recorded lines compare.
func tick(seq uint64) *protocol.Tick {
	t := testutil.Tick("AAPL", seq, "187.20")
	t.TS = 1763718000000000000
	return t
}

func TestRecorder(t *testing.T) {
	var buf bytes.Buffer
	var forwarded []uint64
	rec := NewRecorder(&buf, feedFunc(func(t *protocol.Tick) { forwarded = append(forwarded, t.Seq) }))
	for seq := uint64(1); seq <= 3; seq++ {
		rec.Publish(tick(seq))
	}
	if buf.Len() != 0 {
		t.Errorf("Recorder wrote %d bytes before Flush, want buffering", buf.Len())
	}
	if err := rec.Flush(); err != nil {
		t.Fatal(err)
	}
	want := `{"type":"tick","symbol":"AAPL","seq":1,"price":"187.20","bid":"187.20","ask":"187.20","open":"187.20","high":"187.20","low":"187.20","volume":"1","ts":1763718000000000000}`
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) != 3 || lines[0] != want {
		t.Errorf("recorded %q, want 3 lines starting with %s", buf.String(), want)
	}
	if len(forwarded) != 3 {
		t.Errorf("forwarded %v, want 3 ticks", forwarded)
	}
}

// TestRecorderError: a failing writer stops the recording, not the feed.
func TestRecorderError(t *testing.T) {
	var forwarded int
	w := &failWriter{n: 0}
	rec := NewRecorder(w, feedFunc(func(*protocol.Tick) { forwarded++ }))
	rec.Publish(tick(1))
	if err := rec.Flush(); err == nil || err.Error() != "disk full" {
		t.Errorf("Flush = %v, want disk full", err)
	}
	rec.Publish(tick(2))
	if forwarded != 2 {
		t.Errorf("forwarded %d ticks, want 2", forwarded)
	}
	if err := rec.Flush(); err == nil || err.Error() != "disk full" {
		t.Errorf("Flush after a write error = %v, want disk full again", err)
	}
}
