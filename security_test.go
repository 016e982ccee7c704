package tickerd_test

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/tickerd/tickerd"
	"github.com/tickerd/tickerd/feed/sim"
	"github.com/tickerd/tickerd/internal/apptest"
	"github.com/tickerd/tickerd/internal/auth"
	"github.com/tickerd/tickerd/internal/selfsigned"
	"github.com/tickerd/tickerd/internal/testutil"
)

// serveSecure runs an app with cfg on 127.0.0.1 and returns its address.
func serveSecure(t *testing.T, cfg tickerd.Config) string {
	t.Helper()
	if cfg.Sim.Rate == 0 {
		cfg.Sim = sim.Config{Rate: 200, Symbols: 20, Steady: true}
	}
	cfg.DrainWindow = -1
	return apptest.Serve(t, cfg)
}

var secret = []byte("0123456789abcdef0123456789abcdef-test-only")

func verifier(t *testing.T) *tickerd.JWTAuth {
	t.Helper()
	f := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(f, secret, 0o600); err != nil {
		t.Fatal(err)
	}
	v, err := tickerd.NewJWTAuth(tickerd.JWTConfig{HMACSecretFile: f})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func mint(t *testing.T, key []byte, symbols []string, ttl time.Duration) string {
	t.Helper()
	now := time.Now()
	tok, err := auth.MintClaims(key, auth.Claims{Subject: "alice", Symbols: symbols, IssuedAt: now.Add(min(ttl, 0)), Expiry: now.Add(ttl)})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// dialStatus dials and returns the HTTP status of a refused upgrade (0 if
// it was accepted, then closed).
func dialStatus(t *testing.T, url string, h http.Header) int {
	t.Helper()
	c, resp, err := (&websocket.Dialer{HandshakeTimeout: 5 * time.Second}).Dial(url, h)
	if err == nil {
		c.Close()
		return 0
	}
	if resp == nil {
		t.Fatalf("dial %s: %v", url, err)
	}
	return resp.StatusCode
}

func TestAuthUpgrade(t *testing.T) {
	addr := serveSecure(t, tickerd.Config{Auth: verifier(t)})
	good := mint(t, secret, []string{"AAPL", "BTC-*"}, time.Hour)
	expired := mint(t, secret, []string{"AAPL"}, -time.Hour)
	forged := mint(t, []byte("another-secret-another-secret-another!!"), []string{"*"}, time.Hour)
	for _, tc := range []struct {
		name   string
		url    string
		header http.Header
		want   int
	}{
		{"header token", "/ws?symbols=AAPL", http.Header{"Authorization": {"Bearer " + good}}, 0},
		{"query token", "/ws?symbols=AAPL&token=" + good, nil, 0},
		{"expired", "/ws?symbols=AAPL&token=" + expired, nil, http.StatusUnauthorized},
		{"wrong signature", "/ws?symbols=AAPL&token=" + forged, nil, http.StatusUnauthorized},
		{"garbage", "/ws?symbols=AAPL&token=abc.def.ghi", nil, http.StatusUnauthorized},
		{"symbols without token", "/ws?symbols=AAPL", nil, http.StatusUnauthorized},
		{"no token, auth message later", "/ws", nil, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := dialStatus(t, "ws://"+addr+tc.url, tc.header); got != tc.want {
				t.Errorf("upgrade status = %d, want %d", got, tc.want)
			}
		})
	}
}

func TestAuthMessageAndEntitlements(t *testing.T) {
	addr := serveSecure(t, tickerd.Config{Auth: verifier(t)})
	c, err := testutil.Dial("ws://"+addr+"/ws", 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if !strings.Contains(string(c.Limits.Raw), `"auth":true`) {
		t.Errorf("limits = %s, want auth true", c.Limits.Raw)
	}
	// Before auth, requests are refused but the connection stays.
	m, err := c.Request(`{"op":"subscribe","symbols":["AAPL"],"id":1}`, "1", 5*time.Second)
	if err != nil || m.Code != "unauthorized" {
		t.Fatalf("subscribe before auth = %s, %v; want error unauthorized", m.Raw, err)
	}
	tok := mint(t, secret, []string{"AAPL", "BTC-*"}, time.Hour)
	m, err = c.Request(`{"op":"auth","token":"`+tok+`","id":2}`, "2", 5*time.Second)
	if err != nil || m.Type != "authenticated" {
		t.Fatalf("auth = %s, %v; want authenticated", m.Raw, err)
	}
	m, err = c.Request(`{"op":"subscribe","symbols":["AAPL","MSFT","BTC-USD"],"id":3}`, "3", 5*time.Second)
	if err != nil || m.Type != "error" || m.Code != "forbidden_symbol" || strings.Join(m.Symbols, ",") != "MSFT" {
		t.Fatalf("subscribe with MSFT = %s, %v; want error forbidden_symbol [MSFT] first", m.Raw, err)
	}
	m, err = c.Await("3", 5*time.Second)
	if err != nil || m.Type != "subscribed" || strings.Join(m.Symbols, ",") != "AAPL,BTC-USD" {
		t.Fatalf("then = %s, %v; want subscribed [AAPL BTC-USD]", m.Raw, err)
	}
	// Only entitled symbols flow.
	deadline := time.Now().Add(5 * time.Second)
	seen := map[string]bool{}
	for len(seen) < 2 {
		m, err := c.Next(deadline)
		if err != nil {
			t.Fatalf("waiting for data: %v (seen %v)", err, seen)
		}
		if m.IsData() {
			if m.Symbol == "MSFT" {
				t.Fatalf("got data for MSFT, which the token does not allow")
			}
			seen[m.Symbol] = true
		}
	}
}

func TestAuthFailureAndTimeoutClose(t *testing.T) {
	cfg := tickerd.Config{Auth: verifier(t)}
	cfg.Hub.AuthTimeout = 500 * time.Millisecond
	addr := serveSecure(t, cfg)

	bad, err := testutil.Dial("ws://"+addr+"/ws", 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer bad.Close()
	if err := bad.Send(`{"op":"auth","token":"nope","id":1}`); err != nil {
		t.Fatal(err)
	}
	if code, err := bad.CloseCode(5 * time.Second); err != nil || code != websocket.ClosePolicyViolation {
		t.Errorf("bad auth: close code = %d, %v; want 1008", code, err)
	}

	silent, err := testutil.Dial("ws://"+addr+"/ws", 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	if code, err := silent.CloseCode(5 * time.Second); err != nil || code != websocket.ClosePolicyViolation {
		t.Errorf("no auth: close code = %d, %v; want 1008", code, err)
	}
}

func TestTokenExpiryCloses(t *testing.T) {
	addr := serveSecure(t, tickerd.Config{Auth: verifier(t)})
	// Expires in 1 s; the verifier allows 30 s of clock skew, so mint with
	// exp 29 s in the past: valid now (within leeway), expired a second later.
	tok := mint(t, secret, []string{"*"}, -29*time.Second)
	c, err := testutil.Dial("ws://"+addr+"/ws?symbols=AAPL&token="+tok, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if code, err := c.CloseCode(10 * time.Second); err != nil || code != 4001 {
		t.Errorf("close code = %d, %v; want 4001 (token expired)", code, err)
	}
}

func TestOrigin(t *testing.T) {
	for _, tc := range []struct {
		name    string
		allowed []string
		origin  string
		want    int
	}{
		{"same host by default", nil, "http://HOST", 0},
		{"other site by default", nil, "https://evil.example", http.StatusForbidden},
		{"no origin: not a browser", nil, "", 0},
		{"allowlisted host", []string{"app.example.com"}, "https://app.example.com", 0},
		{"allowlisted origin, wrong scheme", []string{"https://app.example.com"}, "http://app.example.com", http.StatusForbidden},
		{"not on the list", []string{"app.example.com"}, "https://evil.example", http.StatusForbidden},
		{"any", []string{"*"}, "https://evil.example", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr := serveSecure(t, tickerd.Config{AllowedOrigins: tc.allowed})
			h := http.Header{}
			if tc.origin != "" {
				h.Set("Origin", strings.ReplaceAll(tc.origin, "HOST", addr))
			}
			if got := dialStatus(t, "ws://"+addr+"/ws", h); got != tc.want {
				t.Errorf("Origin %q with %v: status = %d, want %d", tc.origin, tc.allowed, got, tc.want)
			}
		})
	}
}

func TestRateLimit(t *testing.T) {
	cfg := tickerd.Config{}
	cfg.Hub.MessageRate, cfg.Hub.MessageBurst = 5, 5
	addr := serveSecure(t, cfg)
	c, err := testutil.Dial("ws://"+addr+"/ws", 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	other, err := testutil.Dial("ws://"+addr+"/ws?symbols=AAPL", 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if m, err := other.Await("", 5*time.Second); err != nil || m.Type != "subscribed" {
		t.Fatalf("message = %s, %v; want subscribed", m.Raw, err)
	}
	// A burst's worth passes, the next is refused with rate_limited.
	for i := range 6 {
		if err := c.Send(`{"op":"ping"}`); err != nil {
			t.Fatal(err)
		}
		_ = i
	}
	limited := false
	deadline := time.Now().Add(5 * time.Second)
	for !limited {
		m, err := c.Next(deadline)
		if err != nil {
			t.Fatalf("waiting for rate_limited: %v", err)
		}
		limited = m.Type == "error" && m.Code == "rate_limited"
	}
	// Keeping on gets the connection closed with 1008 ...
	for range 20 {
		if c.Send(`{"op":"ping"}`) != nil {
			break
		}
	}
	if code, err := c.CloseCode(5 * time.Second); err != nil || code != websocket.ClosePolicyViolation {
		t.Errorf("flooder close code = %d, %v; want 1008", code, err)
	}
	// ... and the other client is served throughout.
	if err := other.Ping("9", 5*time.Second); err != nil {
		t.Errorf("other client: %v", err)
	}
}

func TestTLS(t *testing.T) {
	cert, err := selfsigned.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	addr := serveSecure(t, tickerd.Config{TLS: cert.ServerTLS()})
	d := &websocket.Dialer{HandshakeTimeout: 5 * time.Second, TLSClientConfig: cert.ClientTLS()}
	c, err := testutil.DialWith(d, "wss://"+addr+"/ws?symbols=AAPL,MSFT")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// Many requests in one write: TLS records carry several frames, and
	// crypto/tls holds decrypted bytes that epoll would never report.
	var batch []string
	for i := range 20 {
		batch = append(batch, `{"op":"ping","id":`+strconv.Itoa(100+i)+`}`)
	}
	for _, b := range batch {
		if err := c.Send(b); err != nil {
			t.Fatal(err)
		}
	}
	pongs := 0
	seq := map[string]uint64{}
	deadline := time.Now().Add(10 * time.Second)
	for pongs < 20 || len(seq) < 2 {
		m, err := c.Next(deadline)
		if err != nil {
			t.Fatalf("pongs %d, symbols %v: %v", pongs, seq, err)
		}
		switch {
		case m.Type == "pong":
			pongs++
		case m.IsData():
			if m.Seq <= seq[m.Symbol] {
				t.Fatalf("%s seq %d after %d", m.Symbol, m.Seq, seq[m.Symbol])
			}
			seq[m.Symbol] = m.Seq
		}
	}
	// A clean close over TLS.
	_ = c.C.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(1000, ""))
	if code, err := c.CloseCode(5 * time.Second); err != nil || code != 1000 {
		t.Errorf("close = %d, %v; want 1000 echoed", code, err)
	}
}

// TestAPISymbolsAuth: with auth on, /api/symbols needs a token, as /ws
// does, and lists only the symbols the token allows.
func TestAPISymbolsAuth(t *testing.T) {
	addr := serveSecure(t, tickerd.Config{Auth: verifier(t)})
	url := "http://" + addr + "/api/symbols"
	good := mint(t, secret, []string{"AAPL", "BTC-*"}, time.Hour)
	for _, tc := range []struct {
		name  string
		token string // "" for none
		query bool   // in ?token= instead of the header
		want  int
	}{
		{"no token", "", false, http.StatusUnauthorized},
		{"expired", mint(t, secret, []string{"*"}, -time.Hour), false, http.StatusUnauthorized},
		{"forged", mint(t, []byte("another-secret-another-secret-another!!"), []string{"*"}, time.Hour), false, http.StatusUnauthorized},
		{"header", good, false, http.StatusOK},
		{"query", good, true, http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest("GET", url, nil)
			if err != nil {
				t.Fatal(err)
			}
			if tc.query {
				req.URL.RawQuery = "token=" + tc.token
			} else if tc.token != "" {
				req.Header.Set("Authorization", "Bearer "+tc.token)
			}
			var names []string
			ok := testutil.Eventually(wait, func() bool {
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				if resp.StatusCode != tc.want {
					t.Fatalf("status %d, want %d", resp.StatusCode, tc.want)
				}
				if tc.want != http.StatusOK {
					if resp.Header.Get("WWW-Authenticate") == "" {
						t.Errorf("401 without WWW-Authenticate")
					}
					return true
				}
				var snaps []struct{ Type, Symbol string }
				if err := json.NewDecoder(resp.Body).Decode(&snaps); err != nil {
					t.Fatal(err)
				}
				names = names[:0]
				for _, s := range snaps {
					names = append(names, s.Symbol)
				}
				return slices.Contains(names, "BTC-USD") && slices.Contains(names, "AAPL")
			})
			if tc.want != http.StatusOK {
				return
			}
			if !ok {
				t.Fatalf("symbols %v, want AAPL and BTC-USD", names)
			}
			for _, n := range names {
				if n != "AAPL" && !strings.HasPrefix(n, "BTC-") {
					t.Errorf("/api/symbols lists %s, which the token does not allow (all: %v)", n, names)
				}
			}
		})
	}
}
