// Package deflate is WebSocket compression (permessage-deflate, RFC 7692)
// for a server that compresses each message once for all its clients.
//
// Every connection that negotiates it agrees to no context takeover in
// both directions, so no connection holds compression state: the server
// compresses each message from a fresh window into one frame that every
// compressing client is sent, and a reader inflates any client's message
// with a scratch decompressor of its own. Three pieces, one per stage:
//
//	// Upgrade: answer the client's offers (gobwas/ws's Negotiate hook).
//	var neg deflate.Negotiation
//	up := ws.HTTPUpgrader{Negotiate: neg.Negotiate}
//	conn, _, _, err := up.Upgrade(r, w)
//	compressed := err == nil && neg.Accepted()
//
//	// Publish: one compressed frame beside the plain one, shared by every
//	// compressing client (a Compressor is safe for concurrent use).
//	var comp deflate.Compressor
//	zframe, ok := comp.AppendFrame(nil, wsframe.OpText, msg)
//	if !ok {
//		zframe = plainFrame // small or incompressible: plain serves all
//	}
//
//	// Read: frames allow RSV1 on a data message's first frame only
//	// (h.Check(wsframe.ServerSide, inMessage, wsframe.Rsv1)); a message
//	// that began with RSV1 is inflated once whole, its frames' payloads
//	// joined, by the reader goroutine's own Inflater.
//	inf := deflate.NewInflater(maxMessage) // one per reader goroutine
//	msg, err := inf.Inflate(payload)
//	// err is ErrTooBig (close 1009) or ErrCorrupt (close 1007)
//
// No connection holds compression state. The Compressor's pooled encoders
// (about 2.2 MiB each, one per goroutine compressing at a time) and each
// reader's Inflater (35 KiB, plus an output buffer that grows to the
// message limit) are the whole cost in memory, whatever the number of
// compressing clients.
package deflate
