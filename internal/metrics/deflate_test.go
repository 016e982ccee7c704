package metrics_test

import (
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/tickerd/tickerd/hub"
)

// TestCompressionMetrics: a client that negotiates permessage-deflate is
// counted while open, the frames compressed for it and their bytes before
// and after show, and its compressed requests count as inflated.
func TestCompressionMetrics(t *testing.T) {
	s := newServer(t, hub.Config{Shards: 1})
	d := &websocket.Dialer{HandshakeTimeout: 5 * time.Second, EnableCompression: true}
	ws, resp, err := d.Dial("ws"+strings.TrimPrefix(s.url, "http")+"/ws?symbols=AAPL", nil)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	ws.EnableWriteCompression(true)
	ws.SetCompressionLevel(1)
	read := func(typ string) {
		t.Helper()
		for {
			_ = ws.SetReadDeadline(time.Now().Add(5 * time.Second))
			_, p, err := ws.ReadMessage()
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(string(p), `"type":"`+typ+`"`) {
				return
			}
		}
	}
	read("subscribed")
	s.h.Publish(tick("AAPL", 1, 0))
	read("snapshot")
	s.h.Publish(tick("AAPL", 2, 0))
	read("tick")
	if err := ws.WriteMessage(websocket.TextMessage, []byte(`{"op":"ping","id":1}`)); err != nil {
		t.Fatal(err)
	}
	read("pong")

	mfs := scrape(t, s.url)
	want(t, mfs, 1, "tickerd_compressing_connections")
	want(t, mfs, 1, "tickerd_inflated_messages_total")
	frames, _ := value(mfs, "tickerd_compressed_frames_total")
	in, _ := value(mfs, "tickerd_compress_in_bytes_total")
	out, _ := value(mfs, "tickerd_compress_out_bytes_total")
	if frames != 3 || out <= 0 || out >= in { // limits, snapshot, tick
		t.Errorf("compressed %v frames, %v bytes into %v; want 3, smaller", frames, in, out)
	}
	_ = ws.Close()
	eventually(t, s.url, 0, "tickerd_compressing_connections")
}
