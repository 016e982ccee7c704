package wsframe_test

import (
	"fmt"

	"github.com/tickerd/tickerd/internal/wsframe"
)

// A server reads whatever arrived, handles each whole frame and keeps the
// rest for its next read.
func ExampleNext() {
	in := wsframe.AppendClient(nil, wsframe.OpText, []byte(`{"op":"ping","id":1}`))
	in = wsframe.AppendClient(in, wsframe.OpPing, []byte("hi"))
	buf := in[:len(in)-3] // the ping is cut short
	for {
		f, n, err := wsframe.Next(buf, 64<<10)
		if err != nil {
			fmt.Println("close with", err.(*wsframe.ProtocolError).Status)
			return
		}
		if n == 0 {
			fmt.Printf("%d bytes kept for the next read\n", len(buf))
			return
		}
		if err := f.Check(wsframe.ServerSide, false, 0); err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("op %d: %s\n", f.Op, f.Payload)
		buf = buf[n:]
	}
	// Output:
	// op 1: {"op":"ping","id":1}
	// 5 bytes kept for the next read
}

// A server frame is a header followed by the payload as it is.
func ExampleAppendHeader() {
	p := []byte(`{"type":"pong","id":1}`)
	out := wsframe.AppendHeader(nil, wsframe.Header{Fin: true, Op: wsframe.OpText, Length: int64(len(p))})
	out = append(out, p...)
	fmt.Printf("% x | %s\n", out[:2], out[2:])
	// Output: 81 16 | {"type":"pong","id":1}
}

func ExampleParseCloseBody() {
	body := wsframe.AppendCloseBody(nil, wsframe.StatusPolicyViolation, "slow consumer")
	code, reason, err := wsframe.ParseCloseBody(body)
	fmt.Println(code, string(reason), err)
	_, _, err = wsframe.ParseCloseBody([]byte{3})
	fmt.Println(err)
	// Output:
	// 1008 slow consumer <nil>
	// wsframe: close frame with a 1-byte body
}
