// Package testutil holds the helpers tickerd's tests share, one of each: a
// protocol client on gorilla/websocket (the independent client), a raw
// client that writes hand-built frames with package wsframe (for malformed
// input the real clients refuse to send), waits (Eventually, WaitFor),
// leak checks for goroutines and file descriptors, free ports, a log
// collector, tick and trade builders (and SeqRange), a feed
// the test drives (DrivenFeed), and a permessage-deflate compressor as a
// client has (Deflate). The in-process tickerd server is in package
// apptest, a bare hub served over HTTP in package hubtest, certificates
// for loopback in package selfsigned; testutil cannot import tickerd or
// hub, because the hub's own tests use it.
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
//
//	if !testutil.Eventually(5*time.Second, func() bool { return h.Conns() == 0 }) {
//		t.Fatal("connections still open")
//	}
package testutil
