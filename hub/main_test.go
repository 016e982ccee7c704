package hub_test

import (
	"os"
	"testing"

	"github.com/tickerd/tickerd/internal/testutil"
)

// TestMain fails the package if any goroutine outlives the tests: every
// hub, server and client a test starts must be stopped by it. Run with
// HUB_TEST_CHILD set, the binary is one of the helper processes of
// child_test.go instead.
func TestMain(m *testing.M) {
	if name := os.Getenv(childEnv); name != "" {
		os.Exit(runChild(name))
	}
	os.Exit(testutil.RunAndCheckLeaks(m))
}
