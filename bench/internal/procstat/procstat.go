// Package procstat reads a local process's CPU time, memory, threads and fds
// from /proc, and the few standard series of a Prometheus /metrics page.
//
//	s, err := procstat.Read(pid)          // at window start
//	...
//	e, err := procstat.Read(pid)          // at window end
//	cpuSeconds := e.CPUSeconds() - s.CPUSeconds()
package procstat

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// ClockTicks is USER_HZ, the unit of utime and stime in /proc/PID/stat. It is
// 100 on every Linux architecture Go supports.
const ClockTicks = 100

// Sample is one reading of a process.
type Sample struct {
	Utime, Stime uint64 // clock ticks
	Threads      int
	RSS          int64 // bytes (VmRSS)
	HWM          int64 // bytes (VmHWM, peak RSS)
}

// CPUSeconds returns user plus system CPU time in seconds.
func (s Sample) CPUSeconds() float64 { return float64(s.Utime+s.Stime) / ClockTicks }

// Read samples /proc/PID (pid 0 means the calling process).
func Read(pid int) (Sample, error) {
	dir := "/proc/self"
	if pid != 0 {
		dir = "/proc/" + strconv.Itoa(pid)
	}
	stat, err := os.ReadFile(dir + "/stat")
	if err != nil {
		return Sample{}, fmt.Errorf("procstat: %w", err)
	}
	s, err := ParseStat(stat)
	if err != nil {
		return Sample{}, err
	}
	status, err := os.ReadFile(dir + "/status")
	if err != nil {
		return Sample{}, fmt.Errorf("procstat: %w", err)
	}
	if err := ParseStatus(status, &s); err != nil {
		return Sample{}, err
	}
	return s, nil
}

// ParseStat fills CPU times and thread count from the contents of
// /proc/PID/stat. The command name may contain spaces and parentheses, so
// fields are counted from the last ')'.
func ParseStat(b []byte) (Sample, error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return Sample{}, fmt.Errorf("procstat: stat: no ')' in %.40q", b)
	}
	// After ")": field 3 (state) onwards; utime is field 14, stime 15,
	// num_threads 20.
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 18 {
		return Sample{}, fmt.Errorf("procstat: stat: %d fields after comm, want at least 18", len(f))
	}
	var s Sample
	var err error
	if s.Utime, err = strconv.ParseUint(f[14-3], 10, 64); err != nil {
		return Sample{}, fmt.Errorf("procstat: stat utime: %w", err)
	}
	if s.Stime, err = strconv.ParseUint(f[15-3], 10, 64); err != nil {
		return Sample{}, fmt.Errorf("procstat: stat stime: %w", err)
	}
	if s.Threads, err = strconv.Atoi(f[20-3]); err != nil {
		return Sample{}, fmt.Errorf("procstat: stat num_threads: %w", err)
	}
	return s, nil
}

// ParseStatus fills RSS and HWM from the contents of /proc/PID/status.
func ParseStatus(b []byte, s *Sample) error {
	found := 0
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := sc.Text()
		var dst *int64
		switch {
		case strings.HasPrefix(line, "VmRSS:"):
			dst = &s.RSS
		case strings.HasPrefix(line, "VmHWM:"):
			dst = &s.HWM
		default:
			continue
		}
		f := strings.Fields(line)
		if len(f) != 3 || f[2] != "kB" {
			return fmt.Errorf("procstat: status: bad line %q", line)
		}
		kb, err := strconv.ParseInt(f[1], 10, 64)
		if err != nil {
			return fmt.Errorf("procstat: status: %w", err)
		}
		*dst = kb * 1024
		found++
	}
	if found == 0 {
		return fmt.Errorf("procstat: status: no VmRSS (kernel thread or zombie?)")
	}
	return nil
}

// ParseMetrics returns the values of the named unlabelled series in a
// Prometheus text exposition. Names not present are absent from the map.
func ParseMetrics(r io.Reader, names ...string) (map[string]float64, error) {
	want := make(map[string]bool, len(names))
	for _, n := range names {
		want[n] = true
	}
	out := make(map[string]float64)
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		name, rest, ok := strings.Cut(line, " ")
		if !ok || !want[name] {
			continue
		}
		val, _, _ := strings.Cut(strings.TrimSpace(rest), " ") // drop a timestamp
		v, err := strconv.ParseFloat(val, 64)
		if err != nil {
			return nil, fmt.Errorf("procstat: metrics %s: %w", name, err)
		}
		out[name] = v
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("procstat: metrics: %w", err)
	}
	return out, nil
}

// CPUTimes is one CPU's line of /proc/stat, in clock ticks.
type CPUTimes struct {
	CPU                              int
	User, Nice, System, Idle, IOWait uint64
	IRQ, SoftIRQ, Steal              uint64
}

// Busy returns the ticks spent on anything but idle and iowait.
func (t CPUTimes) Busy() uint64 { return t.User + t.Nice + t.System + t.IRQ + t.SoftIRQ + t.Steal }

// Total returns all ticks.
func (t CPUTimes) Total() uint64 { return t.Busy() + t.Idle + t.IOWait }

// ReadCPUs returns the per-CPU lines of /proc/stat.
func ReadCPUs() ([]CPUTimes, error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return nil, fmt.Errorf("procstat: %w", err)
	}
	return ParseCPUs(b)
}

// ParseCPUs parses the "cpuN" lines of /proc/stat contents.
func ParseCPUs(b []byte) ([]CPUTimes, error) {
	var out []CPUTimes
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 9 || !strings.HasPrefix(f[0], "cpu") || f[0] == "cpu" {
			continue
		}
		n, err := strconv.Atoi(f[0][3:])
		if err != nil {
			continue
		}
		var v [8]uint64
		for i := range v {
			if v[i], err = strconv.ParseUint(f[i+1], 10, 64); err != nil {
				return nil, fmt.Errorf("procstat: /proc/stat %s: %w", f[0], err)
			}
		}
		out = append(out, CPUTimes{CPU: n, User: v[0], Nice: v[1], System: v[2], Idle: v[3], IOWait: v[4], IRQ: v[5], SoftIRQ: v[6], Steal: v[7]})
	}
	if len(out) == 0 {
		return nil, errors.New("procstat: /proc/stat has no cpuN lines")
	}
	return out, nil
}

// FDs returns the number of open file descriptors of pid (0 means the
// calling process).
func FDs(pid int) (int, error) {
	dir := "/proc/self/fd"
	if pid != 0 {
		dir = "/proc/" + strconv.Itoa(pid) + "/fd"
	}
	f, err := os.Open(dir)
	if err != nil {
		return 0, fmt.Errorf("procstat: %w", err)
	}
	defer f.Close()
	names, err := f.Readdirnames(-1)
	if err != nil {
		return 0, fmt.Errorf("procstat: %w", err)
	}
	return len(names), nil
}
