package tickerd_test

import (
	"os"
	"testing"

	"github.com/tickerd/tickerd/internal/testutil"
)

// TestMain fails the package if any goroutine outlives the tests.
func TestMain(m *testing.M) { os.Exit(testutil.RunAndCheckLeaks(m)) }
