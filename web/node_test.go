package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// needNode returns the node binary, after checking that `npm ci` installed
// pkg in web/node_modules. Without them the test skips, unless
// TICKERD_REQUIRE_NODE=1 (CI), where it fails.
func needNode(t *testing.T, pkg string) string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		missing(t, "TICKERD_REQUIRE_NODE", "no node on PATH; install Node 20+ to run the JS client tests")
	}
	if _, err := os.Stat(filepath.Join("node_modules", pkg, "package.json")); err != nil {
		missing(t, "TICKERD_REQUIRE_NODE", "web/node_modules/"+pkg+" is missing; run `npm ci` in web/ to run the JS client tests")
	}
	return node
}

// TestNodeClient runs the node:test suites of static/tickerd.js (test/):
// its unit tests, and client.test.mjs against a tickerd binary built from
// this tree.
func TestNodeClient(t *testing.T) {
	if testing.Short() {
		t.Skip("node client tests skipped in -short mode")
	}
	node := needNode(t, "ws")
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("no go on PATH to build tickerd: %v", err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	bin := filepath.Join(t.TempDir(), "tickerd")
	build := exec.CommandContext(ctx, goBin, "build", "-o", bin, "./cmd/tickerd")
	build.Dir = ".."
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/tickerd: %v\n%s", err, out)
	}

	cmd := exec.CommandContext(ctx, node, "--test", "--test-concurrency=1", "test/")
	cmd.Env = append(os.Environ(), "TICKERD_BIN="+bin)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("node --test: %v\n%s", err, out)
	}
	t.Logf("node --test:\n%s", out)
}

// TestTypeScriptDeclarations compiles test/usage.ts against
// static/tickerd.d.ts with the pinned TypeScript (`npm run typecheck`), so
// the declarations cannot drift from the client without CI noticing.
func TestTypeScriptDeclarations(t *testing.T) {
	node := needNode(t, "typescript")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, filepath.Join("node_modules", "typescript", "bin", "tsc"), "-p", "test")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("tsc -p test: %v\n%s", err, out)
	}
}

// TestNodeUniverse runs test/universe.test.mjs: static/tickerd.js against
// an in-process tickerd whose universe is 100,000 symbols of a feed the
// test drives (market). The script gets the server's URL, the universe
// as a file, and an HTTP endpoint on 127.0.0.1 through which it makes the
// feed delist a symbol or restart a symbol's seq space under a new epoch.
func TestNodeUniverse(t *testing.T) {
	if testing.Short() {
		t.Skip("node client tests skipped in -short mode")
	}
	node := needNode(t, "ws")
	srv, m := serveMarket(t, 100_000)

	names := filepath.Join(t.TempDir(), "symbols.txt")
	if err := os.WriteFile(names, []byte(strings.Join(m.symbols(), "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	control := httptest.NewServer(marketControl(m))
	defer control.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "--test", "test/universe.test.mjs")
	cmd.Env = append(os.Environ(), "TICKERD_WS="+srv.WS, "TICKERD_CONTROL="+control.URL, "TICKERD_SYMBOLS="+names)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("node --test: %v\n%s", err, out)
	}
	t.Logf("node --test:\n%s", out)
}

// marketControl lets a script act on m as its feed:
//
//	POST /delist?symbol=S   delists S
//	POST /epoch?symbol=S    restarts S's seq space; answers the new epoch
func marketControl(m *market) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /delist", func(w http.ResponseWriter, r *http.Request) {
		m.delist(r.FormValue("symbol"))
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("POST /epoch", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, m.newEpoch(r.FormValue("symbol")))
	})
	return mux
}

// TestNodeTrades, TestNodeBook and TestNodeCandles each run a test of
// test/market.test.mjs: static/tickerd.js's trades, books and candles
// against an in-process tickerd on the simulated market, directly and
// through a link (link_test.go) that the script cuts and stalls through
// an HTTP endpoint on 127.0.0.1.
func TestNodeTrades(t *testing.T)  { runMarketScript(t, "trades resume", "trades") }
func TestNodeBook(t *testing.T)    { runMarketScript(t, "book: every", "book") }
func TestNodeCandles(t *testing.T) { runMarketScript(t, "candles: each", "trades", "candles") }

// runMarketScript runs the tests of test/market.test.mjs whose names
// match pattern against a server that serves channels (else it skips).
func runMarketScript(t *testing.T, pattern string, channels ...string) {
	t.Helper()
	if testing.Short() {
		t.Skip("node client tests skipped in -short mode")
	}
	node := needNode(t, "ws")
	srv, l := serveChannels(t, channels...)
	mux := http.NewServeMux()
	l.handler(mux)
	control := httptest.NewServer(mux)
	defer control.Close()

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "--test", "--test-name-pattern="+pattern, "test/market.test.mjs")
	cmd.Env = append(os.Environ(), "TICKERD_WS=ws://"+l.Addr+"/ws", "TICKERD_WS_DIRECT="+srv.WS, "TICKERD_CONTROL="+control.URL)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("node --test: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "\n# pass 1\n") {
		t.Fatalf("node --test ran no test named %q:\n%s", pattern, out)
	}
	t.Logf("node --test:\n%s", out)
}
