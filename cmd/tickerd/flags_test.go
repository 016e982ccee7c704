package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tickerd/tickerd"
)

// noEnv is an environment without TICKERD_ variables.
func noEnv(string) (string, bool) { return "", false }

// TestRejected: every value no server can run with is refused, naming the
// flag and saying what it must be.
func TestRejected(t *testing.T) {
	tests := []struct {
		args []string
		want string // the error contains it
	}{
		{[]string{"-max-conns", "0"}, "-max-conns 0: must be more than 0"},
		{[]string{"-max-conns", "-5"}, "-max-conns -5: must be more than 0"},
		{[]string{"-max-symbols", "0"}, "-max-symbols 0: must be more than 0"},
		{[]string{"-max-request-symbols", "0"}, "-max-request-symbols 0: must be more than 0"},
		{[]string{"-max-header-bytes", "0"}, "-max-header-bytes 0: must be more than 0"},
		{[]string{"-http-max-waiting", "-1"}, "-http-max-waiting -1: must be more than 0"},
		{[]string{"-message-burst", "0"}, "-message-burst 0: must be more than 0"},
		{[]string{"-backlog-timeout", "0s"}, "-backlog-timeout 0s: must be more than 0"},
		{[]string{"-ping-interval", "-1s"}, "-ping-interval -1s: must be more than 0"},
		{[]string{"-handshake-timeout", "0"}, "-handshake-timeout 0s: must be more than 0"},
		{[]string{"-auth-timeout", "0"}, "-auth-timeout 0s: must be more than 0"},
		{[]string{"-http-read-header-timeout", "0"}, "-http-read-header-timeout 0s: must be more than 0"},
		{[]string{"-http-read-timeout", "-1s"}, "-http-read-timeout -1s: must be more than 0"},
		{[]string{"-http-write-timeout", "0"}, "-http-write-timeout 0s: must be more than 0"},
		{[]string{"-http-idle-timeout", "0"}, "-http-idle-timeout 0s: must be more than 0"},
		{[]string{"-nats-wait", "0"}, "-nats-wait 0s: must be more than 0"},
		{[]string{"-rate", "-1"}, "-rate -1: must be a number, 0 or more"},
		{[]string{"-rate", "NaN"}, "-rate NaN: must be a number, 0 or more"},
		{[]string{"-rate", "+Inf"}, "-rate +Inf: must be a number, 0 or more"},
		{[]string{"-symbols", "-1"}, "-symbols -1: must be 0 or more"},
		{[]string{"-universe", "50"}, "-universe 50: must be 0, or from 106 (the built-in symbols) to 1000000"},
		{[]string{"-universe", "2000000"}, "-universe 2000000: must be 0, or from 106 (the built-in symbols) to 1000000"},
		{[]string{"-universe", "1000", "-symbols", "3"}, "-universe 1000: cannot go with -symbols"},
		{[]string{"-universe-day", "0s"}, "-universe-day 0s: must be more than 0"},
		{[]string{"-book-depth", "0"}, "-book-depth 0: must be from 1 to 1000"},
		{[]string{"-book-depth", "1001"}, "-book-depth 1001: must be from 1 to 1000"},
		{[]string{"-shards", "-1"}, "-shards -1: must be 0 or more"},
		{[]string{"-drain", "-1s"}, "-drain -1s: must be 0 or more"},
		{[]string{"-max-conns-per-ip", "-1"}, "-max-conns-per-ip -1: must be 0 or more"},
		{[]string{"-nats-replicas", "-1"}, "-nats-replicas -1: must be 0 or more"},
		{[]string{"-http-max-snapshots", "0"}, "-http-max-snapshots 0: must be more than 0"},
		{[]string{"-nats-last-mib", "-1"}, "-nats-last-mib -1: must be from 0 to 1048576 (1 TiB)"},
		{[]string{"-nats-trades-mib", "1048577"}, "-nats-trades-mib 1048577: must be from 0 to 1048576 (1 TiB)"},
		{[]string{"-nats-candles-mib", "-64"}, "-nats-candles-mib -64: must be from 0 to 1048576 (1 TiB)"},
		{[]string{"-nats-trade-history", "-1"}, "-nats-trade-history -1: must be 0 or more"},
		{[]string{"-nats-trade-age", "-1m"}, "-nats-trade-age -1m0s: must be 0 or more"},
		{[]string{"-nats-candle-history", "-1"}, "-nats-candle-history -1: must be 0 or more"},
		{[]string{"-max-message", "124"}, "-max-message 124: must be at least 125"},
		{[]string{"-message-rate", "0"}, "-message-rate 0: must be more than 0, or -1 for unlimited"},
		{[]string{"-message-rate", "-2"}, "-message-rate -2: must be more than 0, or -1 for unlimited"},
		{[]string{"-message-rate", "NaN"}, "-message-rate NaN: must be more than 0, or -1 for unlimited"},
		{[]string{"-gc-percent", "0"}, "-gc-percent 0: must be more than 0, or -1 for off"},
		{[]string{"-gc-percent", "-7"}, "-gc-percent -7: must be more than 0, or -1 for off"},
		{[]string{"-replay-speed", "0"}, "-replay-speed 0: must be a positive number or inf"},
		{[]string{"-replay-speed", "NaN"}, "-replay-speed NaN: must be a positive number or inf"},
		{[]string{"-tls-cert", "c.pem"}, "-tls-key: -tls-cert and -tls-key go together"},
		{[]string{"-tls-key", "k.pem"}, "-tls-key k.pem: -tls-cert and -tls-key go together"},
		{[]string{"-role", "edge"}, "-role edge: needs -nats or -nats-embed"},
		{[]string{"-role", "feed"}, "-role feed: needs -nats or -nats-embed"},
		{[]string{"-nats-store", "/tmp/x"}, "-nats-store /tmp/x: needs -nats-embed"},
		{[]string{"-auth-issuer", "https://id.example"}, "-auth-issuer https://id.example: needs an -auth-* key file"},
		{[]string{"-auth-audience", "tickerd"}, "-auth-audience tickerd: needs an -auth-* key file"},
		// Values the flag package itself refuses, by type.
		{[]string{"-role", "relay"}, `role "relay": want both, feed or edge`},
		{[]string{"-log-level", "loud"}, `invalid value "loud" for flag -log-level`},
		{[]string{"-max-conns", "many"}, `invalid value "many" for flag -max-conns`},
		{[]string{"-drain", "5"}, `invalid value "5" for flag -drain`},
		{[]string{"-no-such-flag"}, "flag provided but not defined: -no-such-flag"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			_, _, err := parseFlags(tt.args, noEnv)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("parseFlags(%q) = %v, want an error containing %q", tt.args, err, tt.want)
			}
		})
	}
}

// TestRejectedEachOnce: several bad values are all reported, each once.
func TestRejectedEachOnce(t *testing.T) {
	_, _, err := parseFlags([]string{"-max-conns", "0", "-rate", "-1"}, noEnv)
	if err == nil {
		t.Fatal("no error")
	}
	if got := strings.Count(err.Error(), "\n") + 1; got != 2 {
		t.Errorf("error %q has %d lines, want 2", err, got)
	}
}

// TestAccepted: values at the edges of what is allowed pass.
func TestAccepted(t *testing.T) {
	for _, args := range [][]string{
		nil,
		{"-rate", "0", "-drain", "0", "-message-rate", "-1", "-gc-percent", "-1", "-max-message", "125"},
		{"-replay-speed", "inf", "-shards", "0", "-max-conns-per-ip", "0", "-symbols", "0"},
		{"-role", "edge", "-nats", "nats://127.0.0.1:4222"},
		{"-role", "feed", "-nats-embed", "127.0.0.1:4222", "-nats-store", "/tmp/js"},
		{"-nats-last-mib", "1048576", "-nats-trades-mib", "0", "-nats-candles-mib", "1", "-http-max-snapshots", "1",
			"-nats-trade-history", "0", "-nats-trade-age", "0s", "-nats-candle-history", "1"},
		{"-tls-cert", "c.pem", "-tls-key", "k.pem"},
		{"-auth-hs256-secret-file", "s", "-auth-issuer", "i", "-auth-audience", "a"},
	} {
		if _, _, err := parseFlags(args, noEnv); err != nil {
			t.Errorf("parseFlags(%q) = %v, want nil", args, err)
		}
	}
}

// TestEnv: a TICKERD_ variable sets its flag, the command line wins, and a
// bad value is reported with the variable's name.
func TestEnv(t *testing.T) {
	env := map[string]string{"TICKERD_MAX_CONNS": "500", "TICKERD_RATE": "7", "TICKERD_ROLE": "edge", "TICKERD_NATS": "nats://h:4222"}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	o, _, err := parseFlags([]string{"-rate", "9"}, lookup)
	if err != nil {
		t.Fatal(err)
	}
	if o.maxConns != 500 || o.rate != 9 || o.role != tickerd.RoleEdge || o.nats != "nats://h:4222" {
		t.Errorf("max-conns %d rate %v role %s nats %q, want 500 (env), 9 (flag), edge and nats://h:4222 (env)", o.maxConns, o.rate, o.role, o.nats)
	}
	env["TICKERD_MAX_CONNS"] = "0"
	if _, _, err := parseFlags(nil, lookup); err == nil || !strings.Contains(err.Error(), "TICKERD_MAX_CONNS 0: must be more than 0") {
		t.Errorf("TICKERD_MAX_CONNS=0: %v, want it named in the error", err)
	}
	env["TICKERD_MAX_CONNS"] = "lots"
	if _, _, err := parseFlags(nil, lookup); err == nil || !strings.Contains(err.Error(), `TICKERD_MAX_CONNS="lots"`) {
		t.Errorf("TICKERD_MAX_CONNS=lots: %v, want it named in the error", err)
	}
}

// TestHelp: -h is not an error to report.
func TestHelp(t *testing.T) {
	stderr := os.Stderr
	os.Stderr, _ = os.Open(os.DevNull)
	defer func() { os.Stderr = stderr }()
	if _, _, err := parseFlags([]string{"-h"}, noEnv); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("-h: %v, want flag.ErrHelp", err)
	}
}

// TestConfig: flags land in the Config fields they name, and the flags
// whose zero means something else than the library's zero are turned
// into the library's value.
func TestConfig(t *testing.T) {
	dir := t.TempDir()
	secret := filepath.Join(dir, "secret")
	if err := os.WriteFile(secret, bytes.Repeat([]byte("k"), 40), 0o600); err != nil {
		t.Fatal(err)
	}
	o, _, err := parseFlags([]string{
		"-addr", "127.0.0.1:9", "-rate", "0", "-drain", "0", "-symbols", "3",
		"-http-idle-timeout", "7s", "-http-read-header-timeout", "2s", "-http-read-timeout", "3s", "-http-write-timeout", "4s",
		"-max-header-bytes", "4096", "-http-max-waiting", "77", "-handshake-timeout", "6s", "-max-conns", "10", "-message-rate", "-1",
		"-nats", "nats://a:4222,nats://b:4222", "-role", "edge", "-nats-wait", "9s", "-nats-prefix", "staging",
		"-nats-last-mib", "128", "-nats-trades-mib", "16", "-nats-candles-mib", "8", "-nats-trade-history", "500",
		"-nats-trade-age", "90s", "-nats-candle-history", "50", "-http-max-snapshots", "123",
		"-allowed-origins", "a.example,https://b.example", "-auth-hs256-secret-file", secret,
		"-record", filepath.Join(dir, "rec.ndjson"), "-compression=false", "-compression-min-size", "300",
	}, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	cfg, closeRecord, err := o.config(slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer closeRecord()
	checks := []struct {
		name string
		ok   bool
	}{
		{"Addr", cfg.Addr == "127.0.0.1:9"},
		{"Source idle for -rate 0", cfg.Source == "idle"},
		{"Sim.Symbols", cfg.Sim.Symbols == 3},
		{"DrainWindow negative for -drain 0", cfg.DrainWindow < 0},
		{"HTTP", cfg.HTTP == tickerd.HTTPConfig{ReadHeaderTimeout: 2 * time.Second, ReadTimeout: 3 * time.Second,
			WriteTimeout: 4 * time.Second, IdleTimeout: 7 * time.Second, MaxHeaderBytes: 4096, MaxWaiting: 77, MaxSnapshots: 123}},
		{"Hub.HandshakeTimeout", cfg.Hub.HandshakeTimeout == 6*time.Second},
		{"Hub.MaxConns", cfg.Hub.MaxConns == 10},
		{"Hub.MessageRate", cfg.Hub.MessageRate == -1},
		{"Hub compression", cfg.Hub.DisableCompression && cfg.Hub.CompressMinSize == 300},
		{"Cluster.NATS", slices.Equal(cfg.Cluster.NATS, []string{"nats://a:4222", "nats://b:4222"})},
		{"Cluster.Role", cfg.Cluster.Role == tickerd.RoleEdge},
		{"Cluster.Wait", cfg.Cluster.Wait == 9*time.Second},
		{"Cluster.Prefix", cfg.Cluster.Prefix == "staging"},
		{"Cluster bytes from MiB", cfg.Cluster.LastBytes == 128<<20 && cfg.Cluster.TradeBytes == 16<<20 && cfg.Cluster.CandleBytes == 8<<20},
		{"Cluster histories", cfg.Cluster.TradeHistory == 500 && cfg.Cluster.TradeAge == 90*time.Second && cfg.Cluster.CandleHistory == 50},
		{"AllowedOrigins", slices.Equal(cfg.AllowedOrigins, []string{"a.example", "https://b.example"})},
		{"Auth", cfg.Auth != nil},
		{"Record", cfg.Record != nil},
		{"TLS off", cfg.TLS == nil},
	}
	for _, c := range checks {
		if !c.ok {
			t.Errorf("%s: not as the flags say: %+v", c.name, cfg)
		}
	}
}

// TestPrefixRefused: a -nats-prefix that is not subject-safe stops the
// server from starting, with the flag's value named.
func TestPrefixRefused(t *testing.T) {
	o, _, err := parseFlags([]string{"-role", "feed", "-nats", "nats://127.0.0.1:1", "-nats-prefix", "prod.eu"}, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	cfg, _, err := o.config(slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := tickerd.New(cfg)
	if err == nil {
		_ = srv.Shutdown(context.Background())
		t.Fatal("tickerd.New worked, want the prefix refused")
	}
	if !strings.Contains(err.Error(), `prefix "prod.eu"`) {
		t.Errorf("tickerd.New = %v, want the prefix named", err)
	}
}

// TestConfigErrors: files the flags name must be usable.
func TestConfigErrors(t *testing.T) {
	dir := t.TempDir()
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"-auth-hs256-secret-file", filepath.Join(dir, "none")}, "no such file"},
		{[]string{"-tls-cert", filepath.Join(dir, "c"), "-tls-key", filepath.Join(dir, "k")}, "-tls-cert, -tls-key:"},
		{[]string{"-record", filepath.Join(dir, "no", "such", "dir")}, "-record:"},
		{[]string{"-coinbase-products", "BTC-USD:x"}, "-coinbase-products:"},
	} {
		o, _, err := parseFlags(tt.args, noEnv)
		if err != nil {
			t.Fatal(err)
		}
		if _, closeRecord, err := o.config(slog.New(slog.DiscardHandler)); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: %v, want an error containing %q", tt.args, err, tt.want)
			_ = closeRecord()
		}
	}
}

// TestFlagsDoc fails when docs/flags.md is not what the binary writes.
func TestFlagsDoc(t *testing.T) {
	_, fs, err := parseFlags(nil, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	var want bytes.Buffer
	if err := writeFlagsMarkdown(&want, fs); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("../../docs/flags.md")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want.Bytes()) {
		t.Errorf("docs/flags.md is out of date: run go generate ./cmd/tickerd\n--- want\n%s", want.String())
	}
	fs.VisitAll(func(f *flag.Flag) {
		if f.Name != "flags-markdown" && !bytes.Contains(got, []byte("| `-"+f.Name+"` |")) {
			t.Errorf("docs/flags.md has no row for -%s", f.Name)
		}
	})
}

func TestMinProcs(t *testing.T) {
	for _, c := range []struct{ cpus, procs, want int }{
		{1, 1, 2}, // pinned to one CPU: a second P
		{2, 1, 1}, // a quota of one CPU on two: Go's choice stays
		{2, 2, 2},
		{8, 8, 8},
		{1, 4, 4}, // GOMAXPROCS set higher by the program itself
	} {
		if got := minProcs(c.cpus, c.procs); got != c.want {
			t.Errorf("minProcs(%d, %d) = %d, want %d", c.cpus, c.procs, got, c.want)
		}
	}
}
