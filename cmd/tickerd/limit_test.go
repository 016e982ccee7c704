package main

import (
	"os/exec"
	"regexp"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/tickerd/tickerd/internal/testutil"
)

// TestFileLimitRaised starts tickerd with its soft open-file limit lowered
// to 1,024 and checks that it runs with the soft limit raised to the hard
// one less one (the Go runtime does this at start, syscall/rlimit.go: it
// keeps one below so it can tell a later prlimit apart), and that it warns
// when the hard limit is below -max-conns.
func TestFileLimitRaised(t *testing.T) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	if lim.Max <= 1024 {
		t.Skipf("hard open-file limit is %d: nothing to raise", lim.Max)
	}
	maxConns := lim.Max + 1000 // above the hard limit: tickerd must warn
	out := &testutil.Logs{}
	cmd := exec.Command("bash", "-c", `ulimit -S -n 1024 && exec "$0" "$@"`, binary(t),
		"-addr", testutil.FreeAddr(t), "-rate", "0", "-max-conns", strconv.FormatUint(maxConns, 10))
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = cmd.Process.Kill() // by PID
		_ = cmd.Wait()
	}()
	limitLine := regexp.MustCompile(`msg="open-file limit" soft=(\d+) hard=(\d+)`)
	if !testutil.Eventually(10*time.Second, func() bool { return limitLine.MatchString(out.String()) }) {
		t.Fatalf("no open-file limit line in the log:\n%s", out.String())
	}
	m := limitLine.FindStringSubmatch(out.String())
	if m[1] != strconv.FormatUint(lim.Max-1, 10) || m[2] != strconv.FormatUint(lim.Max, 10) {
		t.Errorf("soft=%s hard=%s, want soft %d hard %d (started with soft 1024)", m[1], m[2], lim.Max-1, lim.Max)
	}
	warn := regexp.MustCompile(`level=WARN msg="open-file hard limit is below -max-conns.*" hard_limit=` + m[2] + ` max_conns=` + strconv.FormatUint(maxConns, 10))
	if !warn.MatchString(out.String()) {
		t.Errorf("no warning naming the hard limit and -max-conns:\n%s", out.String())
	}
}
