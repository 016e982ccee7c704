package tickerd

import (
	"crypto/tls"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/tickerd/tickerd/feed/coinbase"
	"github.com/tickerd/tickerd/feed/sim"
	"github.com/tickerd/tickerd/hub"
	"github.com/tickerd/tickerd/internal/front"
)

// TestConfigRejected: New refuses a Config it cannot run, naming the field.
func TestConfigRejected(t *testing.T) {
	for _, tt := range []struct {
		name string
		cfg  Config
		want string
	}{
		{"role without NATS", Config{Cluster: ClusterConfig{Role: RoleEdge}}, "Cluster.Role edge needs Cluster.NATS or Cluster.EmbedAddr"},
		{"unknown role", Config{Cluster: ClusterConfig{Role: "relay", NATS: []string{"nats://h:4222"}}}, `role "relay": want both, feed or edge`},
		{"edge with a feed", Config{Feed: idleFeed{}, Cluster: ClusterConfig{Role: RoleEdge, NATS: []string{"nats://h:4222"}}}, "Feed must be nil"},
		{"feed and source", Config{Feed: idleFeed{}, Source: "sim"}, `both Feed and Source "sim"`},
		{"hub auth", Config{Hub: hub.Config{Authenticate: func(string) (*hub.Identity, error) { return nil, nil }}}, "set from Auth"},
		{"negative timeout", Config{HTTP: HTTPConfig{IdleTimeout: -time.Second}}, "HTTP.IdleTimeout -1s: must not be negative"},
		{"backoff upside down", Config{FeedRestart: time.Minute, FeedRestartMax: time.Second}, "FeedRestartMax 1s is below FeedRestart 1m0s"},
		{"record on a feed node", Config{Record: io.Discard, Cluster: ClusterConfig{Role: RoleFeed, NATS: []string{"nats://h:4222"}}}, "has no hub"},
		{"negative replicas", Config{Cluster: ClusterConfig{Replicas: -1, NATS: []string{"nats://h:4222"}}}, "Cluster.Replicas -1"},
		{"negative stream bound", Config{Cluster: ClusterConfig{TradeBytes: -1, NATS: []string{"nats://h:4222"}}}, "Cluster.TradeBytes -1"},
		{"negative trade age", Config{Cluster: ClusterConfig{TradeAge: -time.Second, NATS: []string{"nats://h:4222"}}}, "Cluster.TradeAge -1s"},
		{"subject-unsafe prefix", Config{Cluster: ClusterConfig{Prefix: "a.b", NATS: []string{"nats://127.0.0.1:1"}}}, `prefix "a.b"`},
		{"TLS without a certificate", Config{TLS: &tls.Config{}}, "TLS has no certificate"},
		{"unknown source", Config{Source: "nasdaq"}, `unknown feed "nasdaq"`},
		{"sim with too many symbols", Config{Sim: sim.Config{Symbols: 1000}}, "sim: "},
		{"idle with too many symbols", Config{Source: "idle", Sim: sim.Config{Symbols: 1000}}, "sim: "},
		{"bad origin", Config{AllowedOrigins: []string{"https://"}}, "allowed origin"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s, err := New(tt.cfg)
			if err == nil {
				s.release()
				t.Fatalf("New = nil error, want %q", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("New = %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

// TestDefaults: the zero Config gets the documented defaults.
func TestDefaults(t *testing.T) {
	c, err := Config{}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != ":8080" || c.HTTP != (HTTPConfig{5 * time.Second, 10 * time.Second, 10 * time.Second, 30 * time.Second, 8 << 10, 1024, front.DefaultHandshakes(), DefaultMaxSnapshots}) ||
		c.DrainWindow != 5*time.Second || c.ReadyMaxFeedAge != DefaultReadyMaxFeedAge || c.Cluster.Role != RoleBoth ||
		c.Cluster.Wait != 30*time.Second || c.FeedRestart != time.Second || c.FeedRestartMax != time.Minute {
		t.Errorf("defaults: %+v", c)
	}
	if c, _ := (Config{Source: "idle"}).withDefaults(); c.ReadyMaxFeedAge >= 0 {
		t.Errorf("idle feed: ReadyMaxFeedAge %v, want freshness unchecked", c.ReadyMaxFeedAge)
	}
	if c, _ := (Config{DrainWindow: -1}).withDefaults(); c.DrainWindow != 0 {
		t.Errorf("DrainWindow -1 became %v, want 0 (all at once)", c.DrainWindow)
	}
}

// TestLogValue: the config line has no secrets and no functions.
func TestLogValue(t *testing.T) {
	var b strings.Builder
	log := slog.New(slog.NewTextHandler(&b, nil))
	log.Info("config", "config", Config{
		Cluster:  ClusterConfig{NATS: []string{"nats://u:hunter2@h:4222", "nats://tok-hunter2@h:4223"}},
		Auth:     AuthenticatorFunc(func(string) (*Identity, error) { return nil, nil }),
		Coinbase: coinbase.Config{URL: "wss://key:hunter2@feed.example/ws"},
	})
	if strings.Contains(b.String(), "hunter2") {
		t.Errorf("a secret is in the config line: %s", b.String())
	}
	for _, want := range []string{"config.cluster.nats=", "u:xxxxx@h:4222", "config.auth=tickerd.AuthenticatorFunc", "config.coinbase_url=wss://key:xxxxx@feed.example/ws"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("config line has no %q: %s", want, b.String())
		}
	}
}
