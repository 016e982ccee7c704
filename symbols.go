package tickerd

import (
	"encoding/json"
	"net/http"

	"github.com/tickerd/tickerd/protocol"
)

// serveSymbols answers GET /api/symbols: a JSON array of the latest
// snapshot of every symbol that has one. With Auth it needs a token (as
// the WebSocket upgrade takes it: Authorization header or ?token=) and
// lists only the symbols the token allows.
func (s *Server) serveSymbols(w http.ResponseWriter, r *http.Request) {
	h := s.hub()
	if h == nil {
		http.Error(w, waitingForSymbols, http.StatusServiceUnavailable)
		return
	}
	var allows func(string) bool
	if s.cfg.Auth != nil {
		id, err := s.cfg.Hub.Authenticate(tokenOf(r))
		if err != nil {
			w.Header().Set("WWW-Authenticate", `Bearer realm="tickerd"`)
			http.Error(w, "unauthorized: "+err.Error(), http.StatusUnauthorized)
			return
		}
		allows = id.Allows
	}
	body := h.AppendSnapshots(make([]byte, 0, 64<<10))
	if allows != nil {
		var err error
		if body, err = entitled(body, allows); err != nil {
			s.log.Error("/api/symbols", "err", err)
			http.Error(w, "internal error", http.StatusInternalServerError)
			return
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(body)
}

// entitled keeps the snapshots in the JSON array snaps whose symbol
// allows accepts.
func entitled(snaps []byte, allows func(string) bool) ([]byte, error) {
	var all []json.RawMessage
	if err := json.Unmarshal(snaps, &all); err != nil {
		return nil, err
	}
	out := make([]byte, 0, len(snaps))
	out = append(out, '[')
	for _, snap := range all {
		_, sym, _, _, ok := protocol.ScanTick(snap)
		if !ok || !allows(string(sym)) {
			continue
		}
		if len(out) > 1 {
			out = append(out, ',')
		}
		out = append(out, snap...)
	}
	return append(out, ']'), nil
}
