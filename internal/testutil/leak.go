package testutil

import (
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"testing"
	"time"
)

// RunAndCheckLeaks runs the tests and then fails the package if goroutines
// other than the runtime's and the test framework's are still alive a few
// seconds after the last test (like net/http's goroutineLeaked). Use it as
// os.Exit(testutil.RunAndCheckLeaks(m)) in TestMain.
func RunAndCheckLeaks(m *testing.M) int {
	code := m.Run()
	if code != 0 {
		return code
	}
	var left []string
	if Eventually(5*time.Second, func() bool { left = Goroutines(); return len(left) == 0 }) {
		return code
	}
	fmt.Fprintf(os.Stderr, "FAIL: %d goroutine(s) leaked after the tests:\n\n%s\n", len(left), strings.Join(left, "\n\n"))
	return 1
}

// ignored are stack substrings of goroutines that may outlive tests: the
// test framework's own, the runtime's and the signal handler's.
var ignored = []string{
	"testing.(*M).",
	"testing.Main(",
	"testing.tRunner(",
	"testing.(*T).Run(",
	"testing.runFuzzing",
	"os/signal.signal_recv",
	"os/signal.loop",
	"runtime.ensureSigM",
	"created by runtime.gc",
	"runtime/trace.Start",
	"testutil.Goroutines(",
}

// Goroutines returns the stacks of live goroutines that are not the
// runtime's or the test framework's, sorted.
func Goroutines() []string {
	buf := make([]byte, 2<<20)
	buf = buf[:runtime.Stack(buf, true)]
	var out []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		_, stack, ok := strings.Cut(g, "\n")
		if !ok || stack == "" {
			continue
		}
		if interesting(stack) {
			out = append(out, strings.TrimSpace(g))
		}
	}
	slices.Sort(out)
	return out
}

func interesting(stack string) bool {
	for _, s := range ignored {
		if strings.Contains(stack, s) {
			return false
		}
	}
	return true
}

// NumGoroutine is runtime.NumGoroutine.
func NumGoroutine() int { return runtime.NumGoroutine() }

// OpenFDs returns the number of file descriptors this process has open.
func OpenFDs() int {
	return FDsOf("self")
}

// FDsOf returns the number of open file descriptors of process pid
// ("self" for this one), or -1 if it cannot be read.
func FDsOf(pid string) int {
	ents, err := os.ReadDir("/proc/" + pid + "/fd")
	if err != nil {
		return -1
	}
	return len(ents)
}

// Eventually polls cond every 20 ms until it reports true or timeout
// passes, and reports whether it did.
func Eventually(timeout time.Duration, cond func() bool) bool {
	for deadline := time.Now().Add(timeout); ; time.Sleep(20 * time.Millisecond) {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
	}
}

// Settles polls f every interval until two reads in a row give the same
// value above zero, or timeout passes; it returns the last value read and
// whether it settled (a queue that stopped growing, a counter that
// stopped moving).
func Settles(timeout, every time.Duration, f func() int64) (int64, bool) {
	last := f()
	for deadline := time.Now().Add(timeout); time.Now().Before(deadline); {
		time.Sleep(every)
		v := f()
		if v > 0 && v == last {
			return v, true
		}
		last = v
	}
	return last, false
}

// WaitFor is Eventually that fails the test, naming what it waited for,
// when cond is still false after timeout. With TICKERD_TEST_DUMP set it
// writes every goroutine's stack to stderr first.
func WaitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	if Eventually(timeout, cond) {
		return
	}
	if os.Getenv("TICKERD_TEST_DUMP") != "" {
		_ = pprof.Lookup("goroutine").WriteTo(os.Stderr, 1)
	}
	t.Fatalf("timed out after %s waiting for %s", timeout, what)
}

// Baseline is a count of goroutines and fds to return to.
type Baseline struct {
	Goroutines, FDs int
}

// TakeBaseline records the current counts.
func TakeBaseline() Baseline {
	return Baseline{Goroutines: runtime.NumGoroutine(), FDs: OpenFDs()}
}

// Check waits up to timeout for the goroutine and fd counts to come back
// within slack of b, and returns an error describing the difference if
// they do not.
func (b Baseline) Check(timeout time.Duration, slack int) error {
	var g, f int
	ok := Eventually(timeout, func() bool {
		g, f = runtime.NumGoroutine(), OpenFDs()
		return g <= b.Goroutines+slack && f <= b.FDs+slack
	})
	if ok {
		return nil
	}
	return fmt.Errorf("goroutines %d, fds %d; want at most %d and %d (baseline + %d)\n%s",
		g, f, b.Goroutines+slack, b.FDs+slack, slack, strings.Join(Goroutines(), "\n\n"))
}
