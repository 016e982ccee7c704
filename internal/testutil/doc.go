// Package testutil holds helpers shared by tickerd's tests: a raw
// WebSocket client that writes hand-built frames (for malformed input the
// real clients refuse to send), a small protocol client on top of
// gorilla/websocket, and leak checks for goroutines and file descriptors.
//
// It is imported only from _test.go files.
//
//	func TestMain(m *testing.M) { os.Exit(testutil.RunAndCheckLeaks(m)) }
//
//	rc, err := testutil.DialRaw(addr, "/ws", 5*time.Second)
//	err = rc.ReadLimits(5 * time.Second) // every connection starts with it
//	rc.WriteFrame(testutil.Frame{Fin: true, Rsv: 4, Op: testutil.OpText, Payload: []byte(`{"op":"ping"}`)})
//	code, _, err := rc.ReadClose(5 * time.Second) // 1002
//
//	c, err := testutil.Dial("ws://"+addr+"/ws?symbols=AAPL", 5*time.Second)
//	m, err := c.Request(`{"op":"ping","id":1}`, "1", 5*time.Second)
package testutil
