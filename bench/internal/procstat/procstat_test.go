package procstat

import (
	"os"
	"strings"
	"testing"
)

func TestParseFixture(t *testing.T) {
	stat, err := os.ReadFile("testdata/stat")
	if err != nil {
		t.Fatal(err)
	}
	s, err := ParseStat(stat)
	if err != nil {
		t.Fatal(err)
	}
	if s.Utime != 1534 || s.Stime != 287 || s.Threads != 7 {
		t.Errorf("ParseStat = %+v, want utime 1534, stime 287, threads 7", s)
	}
	if got := s.CPUSeconds(); got != 18.21 {
		t.Errorf("CPUSeconds = %v, want 18.21", got)
	}
	status, err := os.ReadFile("testdata/status")
	if err != nil {
		t.Fatal(err)
	}
	if err := ParseStatus(status, &s); err != nil {
		t.Fatal(err)
	}
	if s.RSS != 184320*1024 || s.HWM != 262144*1024 {
		t.Errorf("ParseStatus = RSS %d HWM %d, want %d %d", s.RSS, s.HWM, 184320*1024, 262144*1024)
	}
}

func TestParseErrors(t *testing.T) {
	for _, in := range []string{"", "1 (x) S 1 2", "1 (x) S 1 1 1 1 1 1 1 1 1 1 x 1 1 1 1 1 1"} {
		if _, err := ParseStat([]byte(in)); err == nil {
			t.Errorf("ParseStat(%q) = nil error, want error", in)
		}
	}
	var s Sample
	if err := ParseStatus([]byte("Name: kthreadd\n"), &s); err == nil {
		t.Errorf("ParseStatus(no VmRSS) = nil error, want error")
	}
}

func TestReadSelf(t *testing.T) {
	s, err := Read(0)
	if err != nil {
		t.Fatal(err)
	}
	if s.RSS <= 0 || s.Threads < 1 {
		t.Errorf("Read(self) = %+v, want positive RSS and threads", s)
	}
}

func TestParseMetrics(t *testing.T) {
	const page = `# HELP go_goroutines Number of goroutines that currently exist.
# TYPE go_goroutines gauge
go_goroutines 19042
go_gc_duration_seconds{quantile="0.5"} 0.0001
process_resident_memory_bytes 2.5165824e+08
process_cpu_seconds_total 12.5 1700000000000
`
	m, err := ParseMetrics(strings.NewReader(page), "go_goroutines", "process_resident_memory_bytes", "process_cpu_seconds_total", "absent")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]float64{"go_goroutines": 19042, "process_resident_memory_bytes": 251658240, "process_cpu_seconds_total": 12.5}
	for k, v := range want {
		if m[k] != v {
			t.Errorf("ParseMetrics[%s] = %v, want %v", k, m[k], v)
		}
	}
	if _, ok := m["absent"]; ok || len(m) != 3 {
		t.Errorf("ParseMetrics = %v, want exactly %v", m, want)
	}
}

func TestParseCPUs(t *testing.T) {
	const stat = `cpu  100 0 50 800 10 0 5 0 0 0
cpu0 60 0 30 300 5 0 5 0 0 0
cpu1 40 0 20 500 5 0 0 0 0 0
intr 12345
`
	c, err := ParseCPUs([]byte(stat))
	if err != nil {
		t.Fatal(err)
	}
	if len(c) != 2 || c[0].CPU != 0 || c[0].Busy() != 95 || c[0].Total() != 400 || c[1].SoftIRQ != 0 {
		t.Errorf("ParseCPUs = %+v, want cpu0 busy 95 of 400 and cpu1", c)
	}
	if _, err := ParseCPUs([]byte("intr 1\n")); err == nil {
		t.Errorf("ParseCPUs(no cpu lines) = nil error, want error")
	}
	if got, err := ReadCPUs(); err != nil || len(got) == 0 {
		t.Errorf("ReadCPUs() = %v, %v", got, err)
	}
}

func TestFDs(t *testing.T) {
	before, err := FDs(0)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open("/proc/self/stat")
	if err != nil {
		t.Fatal(err)
	}
	after, err := FDs(os.Getpid())
	f.Close()
	if err != nil || after != before+1 {
		t.Errorf("FDs with one more file open = %d, %v; want %d", after, err, before+1)
	}
}
