package web_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// TestNodeClient runs the node:test suite of static/tickerd.js
// (test/client.test.mjs) against a tickerd binary built from this tree.
// It needs node and `npm ci` in web/; without them it skips, unless
// TICKERD_REQUIRE_NODE=1 (CI), where it fails.
func TestNodeClient(t *testing.T) {
	if testing.Short() {
		t.Skip("node client tests skipped in -short mode")
	}
	skip := func(msg string) {
		t.Helper()
		if os.Getenv("TICKERD_REQUIRE_NODE") == "1" {
			t.Fatal(msg + " (TICKERD_REQUIRE_NODE=1)")
		}
		t.Skip(msg)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		skip("no node on PATH; install Node 20+ to run the JS client tests")
	}
	if _, err := os.Stat(filepath.Join("node_modules", "ws", "package.json")); err != nil {
		skip("web/node_modules/ws is missing; run `npm ci` in web/ to run the JS client tests")
	}
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
