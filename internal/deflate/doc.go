// Package deflate is WebSocket compression (permessage-deflate, RFC 7692)
// for a server that compresses each message once for all its clients.
//
// With no context takeover in both directions no connection holds
// compression state: the server compresses each message from a fresh
// window into one frame that every compressing client is sent, and a
// reader inflates any client's message with a scratch decompressor of its
// own.
//
//	var comp deflate.Compressor // safe for concurrent use
//	zframe, ok := comp.AppendFrame(nil, wsframe.OpText, msg)
//	if !ok {
//		zframe = plainFrame // small or incompressible: plain serves all
//	}
//
//	inf := deflate.NewInflater(maxMessage) // one per reader goroutine
//	msg, err := inf.Inflate(payload)       // the payloads of a message's frames, joined
//	// err is ErrTooBig (close 1009) or ErrCorrupt (close 1007)
package deflate
