package deflate

import (
	"bytes"

	"github.com/gobwas/httphead"
	"github.com/gobwas/ws/wsflate"
)

// Negotiation is the permessage-deflate part of one WebSocket upgrade: it
// answers the client's offers (RFC 7692 section 7.1) and remembers whether
// one was accepted. Its zero value is ready; use one per upgrade:
//
//	var neg deflate.Negotiation
//	up := ws.HTTPUpgrader{Negotiate: neg.Negotiate}
//	conn, _, _, err := up.Upgrade(r, w)
//	// ... neg.Accepted(): send this client compressed frames
//
// The answer always carries server_no_context_takeover and
// client_no_context_takeover. The first lets the server compress a message
// once, with no per-connection window, for every client that negotiated
// compression; the second lets a reader inflate any client's message with
// a fresh window, so no connection keeps decompressor state either.
//
// An offer is declined, never failed (section 5), when it is malformed
// (an unknown, repeated or invalid parameter) or asks for
// server_max_window_bits below 15: the shared compressor uses the whole
// 32 KiB window. The next offer, if any, is considered; a client whose
// offers are all declined gets plain frames. client_max_window_bits, with
// or without a value, is accepted and not echoed: the inflater takes any
// window.
//
// wsflate.Parameters encodes the answer, but wsflate.Extension does not
// decide it: it fails the handshake on a malformed offer (its error makes
// the upgrader answer 500) where section 5 says to decline, and it
// compares server_max_window_bits the wrong way round: set to 15 it
// accepts an offer of 10 and answers 15, which section 7.1.2.1 forbids;
// unset, it declines even 15.
type Negotiation struct {
	accepted bool
}

// Negotiate is the gobwas/ws upgraders' Negotiate hook. It accepts the
// first acceptable permessage-deflate offer of the request and returns a
// zero Option (decline) for every other option; its error is always nil,
// so a bad offer never fails the handshake.
func (n *Negotiation) Negotiate(offer httphead.Option) (httphead.Option, error) {
	if n.accepted || !bytes.Equal(offer.Name, wsflate.ExtensionNameBytes) {
		return httphead.Option{}, nil
	}
	p, ok := parseOffer(&offer.Parameters)
	if !ok || p.ServerMaxWindowBits.Defined() && p.ServerMaxWindowBits != maxWindowBits {
		return httphead.Option{}, nil
	}
	n.accepted = true
	return wsflate.Parameters{
		ServerNoContextTakeover: true,
		ClientNoContextTakeover: true,
		// Accepting server_max_window_bits means echoing it with a value
		// no larger than offered (section 7.1.2.1); only 15 gets here.
		ServerMaxWindowBits: p.ServerMaxWindowBits,
	}.Option(), nil
}

// Accepted reports whether Negotiate accepted an offer.
func (n *Negotiation) Accepted() bool { return n.accepted }

// maxWindowBits is the LZ77 window of DEFLATE, 32 KiB.
const maxWindowBits = 15

// parseOffer reads the parameters of one permessage-deflate offer and
// reports false where RFC 7692 section 5 says to decline it: a parameter
// not defined for an offer, one given twice, or a value out of its syntax.
// client_max_window_bits without a value reads as 1, as wsflate has it.
//
// wsflate.Parameters.Parse is not used because it lets through offers the
// RFC declines: it reads window bits with httphead.IntFromASCII, which
// takes leading zeros ("015") and the bytes ':' to '?' as digits (a quoted
// "0?" reads as 15), and it does not notice client_max_window_bits given
// twice when the first has no value.
func parseOffer(params *httphead.Parameters) (p wsflate.Parameters, ok bool) {
	var seen [4]bool
	ok = true
	params.ForEach(func(key, val []byte) bool {
		i := -1
		switch string(key) {
		case "server_no_context_takeover":
			i, p.ServerNoContextTakeover = 0, true
			ok = len(val) == 0
		case "client_no_context_takeover":
			i, p.ClientNoContextTakeover = 1, true
			ok = len(val) == 0
		case "server_max_window_bits":
			i = 2
			p.ServerMaxWindowBits, ok = windowBits(val)
		case "client_max_window_bits":
			i = 3
			if p.ClientMaxWindowBits = 1; len(val) > 0 {
				p.ClientMaxWindowBits, ok = windowBits(val)
			}
		default:
			ok = false
		}
		if ok && seen[i] {
			ok = false
		}
		if ok {
			seen[i] = true
		}
		return ok
	})
	return p, ok
}

// windowBits parses a window-bits value: 8 to 15 in decimal without
// leading zeros (RFC 7692 section 7.1.2.1).
func windowBits(v []byte) (wsflate.WindowBits, bool) {
	switch {
	case len(v) == 1 && v[0] >= '8' && v[0] <= '9':
		return wsflate.WindowBits(v[0] - '0'), true
	case len(v) == 2 && v[0] == '1' && v[1] >= '0' && v[1] <= '5':
		return wsflate.WindowBits(10 + v[1] - '0'), true
	}
	return 0, false
}
