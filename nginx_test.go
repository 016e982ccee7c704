package tickerd_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/tickerd/tickerd"
	"github.com/tickerd/tickerd/feed/sim"
	"github.com/tickerd/tickerd/internal/apptest"
	"github.com/tickerd/tickerd/internal/testutil"
)

// nginxConf is the documented reverse-proxy configuration the test runs.
const nginxConf = "docs/ops/nginx.conf"

// findNginx returns the nginx binary, or skips the test (fails it when
// TICKERD_REQUIRE_NGINX=1, as in CI).
func findNginx(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("nginx"); err == nil {
		return p
	}
	if _, err := os.Stat("/usr/sbin/nginx"); err == nil {
		return "/usr/sbin/nginx"
	}
	if os.Getenv("TICKERD_REQUIRE_NGINX") == "1" {
		t.Fatal("nginx not installed and TICKERD_REQUIRE_NGINX=1: apt-get install nginx")
	}
	t.Skip("nginx not installed: apt-get install nginx")
	return ""
}

// startNginx runs nginx in the foreground in a temporary prefix, with the
// documented server configuration pointed at upstream and listening on
// 127.0.0.1 at a free port. It returns the port; the cleanup stops nginx
// by its PID.
func startNginx(t *testing.T, bin, upstream string) string {
	t.Helper()
	doc, err := os.ReadFile(nginxConf)
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(testutil.FreeAddr(t))
	site := string(doc)
	for _, r := range []struct{ old, new string }{
		{"server 127.0.0.1:8080;", "server " + upstream + ";"},
		{"listen 80;", "listen 127.0.0.1:" + port + ";"},
	} {
		if n := strings.Count(site, r.old); n != 1 {
			t.Fatalf("%s: %q appears %d times, want once: the test adapts only the upstream address and the listen port", nginxConf, r.old, n)
		}
		site = strings.Replace(site, r.old, r.new, 1)
	}

	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	siteFile := write("tickerd.conf", site)
	// The main context of a minimal nginx.conf: one process in the
	// foreground, everything it writes inside dir, and the documented
	// file included in http {} as the documentation says.
	mainConf := write("nginx.conf", fmt.Sprintf(`daemon off;
master_process off;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log info;
events { worker_connections 256; }
http {
    access_log %[1]s/access.log;
    client_body_temp_path %[1]s/client_body;
    proxy_temp_path %[1]s/proxy;
    fastcgi_temp_path %[1]s/fastcgi;
    uwsgi_temp_path %[1]s/uwsgi;
    scgi_temp_path %[1]s/scgi;
    include %[2]s;
}
`, dir, siteFile))
	errLog := filepath.Join(dir, "error.log")
	logs := func() string {
		b, _ := os.ReadFile(errLog)
		return string(b)
	}

	if out, err := exec.Command(bin, "-t", "-p", dir, "-c", mainConf, "-e", errLog).CombinedOutput(); err != nil {
		t.Fatalf("nginx -t rejects the documented configuration: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, "-p", dir, "-c", mainConf, "-e", errLog)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{}) // closed when nginx has exited, after waitErr is set
	var waitErr error
	go func() {
		waitErr = cmd.Wait()
		close(exited)
	}()
	t.Cleanup(func() {
		// SIGQUIT: graceful stop; SIGKILL if it takes too long.
		_ = cmd.Process.Signal(syscall.SIGQUIT)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			t.Logf("nginx error log:\n%s", logs())
		}
	})

	listening := testutil.Eventually(10*time.Second, func() bool {
		select {
		case <-exited:
			t.Fatalf("nginx exited at start: %v\n%s", waitErr, logs())
		default:
		}
		c, err := net.DialTimeout("tcp", "127.0.0.1:"+port, time.Second)
		if err != nil {
			return false
		}
		_ = c.Close()
		return true
	})
	if !listening {
		t.Fatalf("nginx not listening on port %s after 10 s\n%s", port, logs())
	}
	return port
}

// TestNginxProxy runs the documented nginx configuration in front of
// tickerd. A browser-like client (with an Origin) subscribes through it,
// gets its snapshot and ticks, and then the 1001 of a drain.
func TestNginxProxy(t *testing.T) {
	bin := findNginx(t)
	r := apptest.Start(t, tickerd.Config{Sim: sim.Config{Rate: 200, Steady: true, Symbols: 2}, DrainWindow: -1})
	port := startNginx(t, bin, r.Addr)
	base := "http://127.0.0.1:" + port
	sym := sim.Universe()[0].Name

	// Plain requests pass; /metrics stays private.
	if status, body := get(t, base+"/healthz"); status != 200 || body != "ok\n" {
		t.Errorf("GET /healthz through nginx = %d %q, want 200 \"ok\\n\"", status, body)
	}
	waitStatus(t, base+"/readyz", 200)
	status, body := get(t, base+"/api/symbols")
	var snaps []map[string]any
	if err := json.Unmarshal([]byte(body), &snaps); status != 200 || err != nil || len(snaps) == 0 {
		t.Errorf("GET /api/symbols through nginx = %d, %d snapshots (err %v), want 200 and a JSON array of snapshots", status, len(snaps), err)
	}
	if status, _ := get(t, base+"/metrics"); status != http.StatusNotFound {
		t.Errorf("GET /metrics through nginx = %d, want 404", status)
	}
	if status, _ := get(t, "http://"+r.Addr+"/metrics"); status != 200 {
		t.Errorf("GET /metrics from tickerd = %d, want 200", status)
	}

	// A browser sends its page's Origin; tickerd checks it against the
	// Host nginx passes on.
	hdr := http.Header{"Origin": {base}}
	ws, resp, err := websocket.DefaultDialer.Dial("ws://127.0.0.1:"+port+"/ws", hdr)
	if err != nil {
		if resp != nil {
			t.Fatalf("dial through nginx: %v (%s)", err, resp.Status)
		}
		t.Fatalf("dial through nginx: %v", err)
	}
	_ = resp.Body.Close()
	defer ws.Close()
	if err := ws.WriteMessage(websocket.TextMessage, []byte(`{"op":"subscribe","symbols":["`+sym+`"],"id":7}`)); err != nil {
		t.Fatal(err)
	}
	type msg struct {
		Type   string          `json:"type"`
		ID     json.RawMessage `json:"id"`
		Symbol string          `json:"symbol"`
		Seq    uint64          `json:"seq"`
	}
	var seen []string
	var lastSeq uint64
	ticks := 0
	_ = ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	for ticks < 3 {
		_, p, err := ws.ReadMessage()
		if err != nil {
			t.Fatalf("read through nginx after %v: %v", seen, err)
		}
		var m msg
		if err := json.Unmarshal(p, &m); err != nil {
			t.Fatalf("read through nginx: %s: %v", p, err)
		}
		if m.Type == "limits" {
			continue // the server's limits, sent first; not what this test checks
		}
		seen = append(seen, m.Type)
		switch {
		case len(seen) == 1:
			if m.Type != "subscribed" || string(m.ID) != "7" {
				t.Fatalf("first message through nginx: %s, want subscribed with id 7", p)
			}
		case len(seen) == 2:
			if m.Type != "snapshot" || m.Symbol != sym {
				t.Fatalf("second message through nginx: %s, want the %s snapshot", p, sym)
			}
			lastSeq = m.Seq
		default:
			if m.Type != "tick" || m.Symbol != sym || m.Seq <= lastSeq {
				t.Fatalf("message through nginx: %s, want a %s tick with seq above %d", p, sym, lastSeq)
			}
			lastSeq = m.Seq
			ticks++
		}
	}

	// The drain's close frame reaches the client through nginx.
	r.Stop()
	for {
		if _, _, err := ws.ReadMessage(); err != nil {
			var ce *websocket.CloseError
			if !errors.As(err, &ce) || ce.Code != websocket.CloseGoingAway {
				t.Errorf("read through nginx during drain: %v, want close 1001", err)
			}
			break
		}
	}
}
