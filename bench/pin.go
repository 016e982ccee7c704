package main

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// The pin trampoline: a child started with these variables pins its thread
// to the CPUs and execs the program, which keeps the PID and the mask.
const (
	envPinCPUs = "TICKBENCH_PIN_CPUS"
	envPinExec = "TICKBENCH_PIN_EXEC"
	envPinned  = "TICKBENCH_PINNED" // set once the generator runs on its -cpus
	envWorker  = "TICKBENCH_WORKER" // set in re-executed worker processes
)

// parseCPUs parses a CPU list like "0", "1-3" or "0,2"; "all" means every
// online CPU.
func parseCPUs(s string) (unix.CPUSet, error) {
	var set unix.CPUSet
	if s == "all" {
		for i := range runtime.NumCPU() {
			set.Set(i)
		}
		return set, nil
	}
	for _, part := range strings.Split(s, ",") {
		lo, hi, isRange := strings.Cut(strings.TrimSpace(part), "-")
		a, err := strconv.Atoi(lo)
		if err != nil || a < 0 {
			return set, fmt.Errorf("bad CPU list %q", s)
		}
		b := a
		if isRange {
			if b, err = strconv.Atoi(hi); err != nil || b < a {
				return set, fmt.Errorf("bad CPU list %q", s)
			}
		}
		if b >= 1024 {
			return set, fmt.Errorf("bad CPU list %q", s)
		}
		for i := a; i <= b; i++ {
			set.Set(i)
		}
	}
	if set.Count() == 0 {
		return set, fmt.Errorf("empty CPU list %q", s)
	}
	return set, nil
}

// pinExec pins the calling thread to cpus and replaces the process with
// prog, adding extraEnv to the environment; it returns only on failure. The
// new program's threads inherit the mask.
func pinExec(cpus, prog string, argv, extraEnv []string) error {
	set, err := parseCPUs(cpus)
	if err != nil {
		return err
	}
	runtime.LockOSThread()
	if err := unix.SchedSetaffinity(0, &set); err != nil {
		return fmt.Errorf("sched_setaffinity: %w", err)
	}
	env := []string{}
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, envPinCPUs+"=") && !strings.HasPrefix(e, envPinExec+"=") {
			env = append(env, e)
		}
	}
	return syscall.Exec(prog, argv, append(env, extraEnv...))
}
