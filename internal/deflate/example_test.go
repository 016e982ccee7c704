package deflate_test

import (
	"bytes"
	"fmt"

	"github.com/gobwas/httphead"

	"github.com/tickerd/tickerd/internal/deflate"
	"github.com/tickerd/tickerd/internal/wsframe"
)

// A browser's offer is accepted with both no-context-takeover parameters;
// one that limits the server's window is declined.
func ExampleNegotiation() {
	for _, header := range []string{
		"permessage-deflate; client_max_window_bits",
		"permessage-deflate; server_max_window_bits=10",
	} {
		var neg deflate.Negotiation // one per upgrade
		offers, _ := httphead.ParseOptions([]byte(header), nil)
		var answer []httphead.Option
		for _, o := range offers {
			if a, _ := neg.Negotiate(o); a.Size() > 0 {
				answer = append(answer, a)
			}
		}
		var b bytes.Buffer
		httphead.WriteOptions(&b, answer)
		fmt.Printf("%s -> %q, accepted %v\n", header, b.String(), neg.Accepted())
	}
	// Output:
	// permessage-deflate; client_max_window_bits -> "permessage-deflate;server_no_context_takeover;client_no_context_takeover", accepted true
	// permessage-deflate; server_max_window_bits=10 -> "", accepted false
}

// A message is compressed once into a frame every compressing client is
// sent; a client's compressed message is inflated by the reader's
// Inflater.
func ExampleCompressor_AppendFrame() {
	var comp deflate.Compressor
	msg := []byte(`{"type":"symbols","id":1,"symbols":["AAPL","MSFT","NVDA","TSLA","AMZN","GOOGL","META","AAPL261218C00190000","AAPL261218P00190000","AAPL261218C00195000","AAPL261218P00195000"]}`)
	frame, ok := comp.AppendFrame(nil, wsframe.OpText, msg)
	plain := wsframe.Header{Length: int64(len(msg))}.Len() + len(msg)
	fmt.Printf("compressed %v: first byte %#x (FIN, RSV1, text), %d bytes instead of %d\n", ok, frame[0], len(frame), plain)

	f, _, _ := wsframe.Next(frame, 1<<20)
	inf := deflate.NewInflater(64 << 10) // one per reader goroutine
	back, err := inf.Inflate(f.Payload)  // a client's payload inflates the same way
	fmt.Println(bytes.Equal(back, msg), err)
	// Output:
	// compressed true: first byte 0xc1 (FIN, RSV1, text), 112 bytes instead of 179
	// true <nil>
}
