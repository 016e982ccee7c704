package deflate

import (
	"testing"
)

// Offers as browsers and libraries send them, and the ones RFC 7692
// section 5 says to decline, answered through gobwas/ws's HTTPUpgrader.
func TestNegotiate(t *testing.T) {
	const both = "permessage-deflate;server_no_context_takeover;client_no_context_takeover"
	tests := []struct {
		name   string
		offers []string // one header line each
		want   string   // the Sec-WebSocket-Extensions answer; "" declines
	}{
		{"no offer", nil, ""},
		{"bare (Firefox)", []string{"permessage-deflate"}, both},
		{"browser default", []string{"permessage-deflate; client_max_window_bits"}, both},
		{"client window bits with a value", []string{"permessage-deflate; client_max_window_bits=10"}, both},
		{"client window bits quoted", []string{`permessage-deflate; client_max_window_bits="10"`}, both},
		{"both no-context flags (gorilla)", []string{"permessage-deflate; server_no_context_takeover; client_no_context_takeover"}, both},
		{"server window 15", []string{"permessage-deflate; server_max_window_bits=15"}, both + ";server_max_window_bits=15"},
		{"server window 10", []string{"permessage-deflate; server_max_window_bits=10"}, ""},
		{"server window 8", []string{"permessage-deflate; server_max_window_bits=8; client_max_window_bits"}, ""},
		{"declined offer, then an acceptable one", []string{"permessage-deflate; server_max_window_bits=10, permessage-deflate; client_max_window_bits"}, both},
		{"two acceptable offers: the first", []string{"permessage-deflate; server_max_window_bits=15, permessage-deflate"}, both + ";server_max_window_bits=15"},
		{"offers on two header lines", []string{"permessage-deflate; server_max_window_bits=9", "permessage-deflate"}, both},
		{"another extension first", []string{"x-webkit-deflate-frame, permessage-deflate"}, both},
		{"another extension only", []string{"x-webkit-deflate-frame"}, ""},
		{"unknown parameter", []string{"permessage-deflate; mux"}, ""},
		{"repeated flag", []string{"permessage-deflate; server_no_context_takeover; server_no_context_takeover"}, ""},
		{"repeated client window, the first bare", []string{"permessage-deflate; client_max_window_bits; client_max_window_bits=10"}, ""},
		{"repeated client window", []string{"permessage-deflate; client_max_window_bits=10; client_max_window_bits=10"}, ""},
		{"repeated server window", []string{"permessage-deflate; server_max_window_bits=15; server_max_window_bits=15"}, ""},
		{"flag with a value", []string{"permessage-deflate; client_no_context_takeover=1"}, ""},
		{"server window without a value", []string{"permessage-deflate; server_max_window_bits"}, ""},
		{"window 7", []string{"permessage-deflate; client_max_window_bits=7"}, ""},
		{"window 16", []string{"permessage-deflate; server_max_window_bits=16"}, ""},
		{"window with a leading zero", []string{"permessage-deflate; server_max_window_bits=015"}, ""},
		{"window of digit-like bytes, quoted", []string{`permessage-deflate; client_max_window_bits="0?"`}, ""},
		{"bad offer, then a good one", []string{"permessage-deflate; mux, permessage-deflate"}, both},
	}
	s := newTestServer(t, 1<<10, false)
	for _, tt := range tests {
		c := dialRaw(t, s, "", tt.offers...)
		if c.ext != tt.want {
			t.Errorf("%s: %q answered with %q, want %q", tt.name, tt.offers, c.ext, tt.want)
		}
		_ = c.Close()
		if log := s.next(); log.compressed != (tt.want != "") {
			t.Errorf("%s: Accepted() = %v", tt.name, log.compressed)
		}
	}
}

// A server that does not offer compression answers no offer.
func TestNegotiateOff(t *testing.T) {
	s := newTestServer(t, 1<<10, true)
	c := dialRaw(t, s, "", "permessage-deflate")
	if c.ext != "" {
		t.Errorf("answered %q", c.ext)
	}
}
