package hub_test

import (
	"os"
	"testing"

	"github.com/tickerd/tickerd/internal/testutil"
)

// TestMain fails the package if any goroutine outlives the tests: every
// hub, server and client a test starts must be stopped by it.
func TestMain(m *testing.M) { os.Exit(testutil.RunAndCheckLeaks(m)) }
