// Package wsframe encodes and decodes WebSocket frames (RFC 6455) for both
// ends of a connection, without allocating. It owns no connection and no
// goroutine: callers read and write bytes themselves and hand them here.
//
// A receiver scans frames out of whatever it has read so far; a frame cut
// off at the end of the buffer is reported as "need more bytes", and the
// caller keeps those bytes for its next read:
//
//	for {
//		f, n, err := wsframe.Next(buf, maxPayload) // unmasks in place
//		if err != nil {
//			// The peer broke RFC 6455 (a *ProtocolError names the close
//			// code to answer with) or announced too large a frame.
//		}
//		if n == 0 {
//			break // part of a frame: keep buf, read more
//		}
//		if err := f.Check(wsframe.ServerSide, inMessage, 0); err != nil { ... }
//		handle(f)
//		buf = buf[n:]
//	}
//
// A reader that wants to size its buffer from what arrived, not from what a
// header announces, calls ParseHeader alone: it answers as soon as the
// header is in, and with n == 0 while it is not.
//
// Writers append: a server frame is a header and the payload as is,
//
//	out = wsframe.AppendHeader(out, wsframe.Header{Fin: true, Op: wsframe.OpText, Length: int64(len(p))})
//	out = append(out, p...)
//
// and a client frame is masked with a fresh key:
//
//	out = wsframe.AppendClient(out, wsframe.OpText, p)
//
// Close frames carry a status code and a reason (AppendCloseBody,
// ParseCloseBody). Header fields are written exactly as given, so tests can
// build frames that break the protocol on purpose.
package wsframe
