package cluster

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tickerd/tickerd/internal/testutil"
)

// TestConnectRedactsCredentials checks that no user, password or token of
// a NATS URL reaches the log or an error (issue 13 item 10): the server
// takes any credentials when it has no auth, so the connection succeeds
// with them and logs the server it is connected to.
func TestConnectRedactsCredentials(t *testing.T) {
	srv := startSingle(t)
	port := srv.Addr().String()[strings.LastIndexByte(srv.Addr().String(), ':')+1:]
	for _, tt := range []struct{ name, urls, secret, shown string }{
		{"user and password", "nats://alice:pa55word@127.0.0.1:" + port, "pa55word", "alice:xxxxx@127.0.0.1"},
		{"token", "nats://t0ken-s3cret@127.0.0.1:" + port, "t0ken-s3cret", "xxxxx@127.0.0.1"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			// A file: the NATS callbacks log from their own goroutines.
			out, err := os.Create(filepath.Join(t.TempDir(), "log"))
			if err != nil {
				t.Fatal(err)
			}
			defer out.Close()
			logged := func() string {
				b, _ := os.ReadFile(out.Name())
				return string(b)
			}
			log := slog.New(slog.NewTextHandler(out, &slog.HandlerOptions{Level: slog.LevelDebug}))
			nc, err := Connect(tt.urls, "redact-test", log)
			if err != nil {
				t.Fatal(err)
			}
			defer nc.Close()
			testutil.WaitFor(t, 5*time.Second, "connected", nc.IsConnected)
			testutil.WaitFor(t, 5*time.Second, "the connect log", func() bool { return strings.Contains(logged(), "nats connected") })
			if got := logged(); strings.Contains(got, tt.secret) || !strings.Contains(got, tt.shown) {
				t.Errorf("log shows the secret or not the redacted server:\n%s", got)
			}
		})
	}
	for _, urls := range []string{"nats://alice:pa55word@[::1", "nats://127.0.0.1:1,nats://t0ken-s3cret@%zz:4222"} {
		_, err := Connect(urls, "redact-test", nil)
		if err == nil {
			t.Fatalf("Connect(%q) worked, want an error", urls)
		}
		if msg := err.Error(); strings.Contains(msg, "pa55word") || strings.Contains(msg, "t0ken-s3cret") {
			t.Errorf("Connect error shows a secret: %s", msg)
		}
	}
}

func TestRedactURL(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"nats://127.0.0.1:4222", "nats://127.0.0.1:4222"},
		{"nats://alice:pw@10.0.0.1:4222", "nats://alice:xxxxx@10.0.0.1:4222"},
		{"nats://s3cr3t-token@10.0.0.1:4222", "nats://xxxxx@10.0.0.1:4222"},
		{"nats://alice:@h:4222", "nats://alice:xxxxx@h:4222"},
		{"tls://u:p%40ss@h:4222", "tls://u:xxxxx@h:4222"},
		{"wss://ws-feed.exchange.coinbase.com", "wss://ws-feed.exchange.coinbase.com"},
		{"nats://a:b@h:bad port", "xxxxx"}, // does not parse: could hold a secret
		{"127.0.0.1:4222", "127.0.0.1:4222"},
		{"", ""},
	} {
		if got := RedactURL(tt.in); got != tt.want {
			t.Errorf("RedactURL(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	err := fmt.Errorf(`parse "nats://alice:secret@[::1": missing ']'`)
	if got := redactError(err, "nats://alice:secret@[::1"); strings.Contains(got, "secret") {
		t.Errorf("redactError left the secret: %s", got)
	}
}
