package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"

	"github.com/tickerd/tickerd/bench/internal/procstat"
)

// node is one tickerd the run talks to.
type node struct {
	url     string // ws://host:port/ws
	http    string // http://host:port
	pid     int    // 0 when not local or not found
	logPath string // spawned only

	proc   *os.Process   // spawned only
	exited chan struct{} // closed when a spawned process has exited
}

// buildServer compiles ./cmd/tickerd of the enclosing module into dir.
func buildServer(ctx context.Context, dir string) (string, error) {
	root, err := moduleRoot()
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "tickerd")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/tickerd")
	cmd.Dir = root
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("build tickerd: %w", err)
	}
	return bin, nil
}

// moduleRoot finds the directory of the go.mod above the working directory.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory: run from the tickerd repository or pass -server-bin")
		}
		dir = parent
	}
}

// spawnConfig says how to start tickerd processes.
type spawnConfig struct {
	bin        string
	cpus       string // CPU list for the server, "" = all
	gomaxprocs int
	args       []string // feed flags and passthrough
	logDir     string
	tls        bool // the args make it serve HTTPS and wss:// (-tls-cert, -tls-key)
}

// startNode starts one tickerd on 127.0.0.1:port and waits for /healthz.
func startNode(ctx context.Context, sc spawnConfig, port int) (*node, error) {
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	args := append([]string{"-addr", addr}, sc.args...)
	cpus := sc.cpus
	if cpus == "" {
		cpus = "all" // do not inherit a pinned generator's mask
	}
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	// We re-execute ourselves as a trampoline that pins its thread and then
	// execs tickerd: tickerd starts on its CPUs with our child's PID.
	cmd := exec.Command(self)
	cmd.Args = append([]string{sc.bin}, args...)
	cmd.Env = append(os.Environ(), envPinCPUs+"="+cpus, envPinExec+"="+sc.bin)
	if sc.gomaxprocs > 0 {
		cmd.Env = append(cmd.Env, "GOMAXPROCS="+strconv.Itoa(sc.gomaxprocs))
	}
	logPath := filepath.Join(sc.logDir, "tickerd-"+strconv.Itoa(port)+".log")
	lf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer lf.Close() // the child keeps its own descriptor
	cmd.Stdout, cmd.Stderr = lf, lf
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start tickerd: %w", err)
	}
	ws, web := "ws://", "http://"
	if sc.tls {
		ws, web = "wss://", "https://"
	}
	n := &node{url: ws + addr + "/ws", http: web + addr, pid: cmd.Process.Pid,
		logPath: logPath, proc: cmd.Process, exited: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(n.exited) }() // ends when the process does; stop waits for it
	deadline := time.Now().Add(20 * time.Second)
	for {
		select {
		case <-n.exited:
			return nil, fmt.Errorf("tickerd exited at start; see %s", logPath)
		case <-ctx.Done():
			n.stop()
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if healthy(n.http) {
			return n, nil
		}
		if time.Now().After(deadline) {
			n.stop()
			return nil, fmt.Errorf("tickerd not healthy after 20 s; see %s", logPath)
		}
	}
}

// stop ends a spawned tickerd by PID: SIGTERM, then SIGKILL after 10 s.
func (n *node) stop() {
	if n.proc == nil {
		return
	}
	_ = n.proc.Signal(syscall.SIGTERM)
	select {
	case <-n.exited:
	case <-time.After(10 * time.Second):
		_ = n.proc.Kill()
		<-n.exited
	}
	n.proc = nil
}

func healthy(base string) bool {
	resp, err := metricsClient.Get(base + "/healthz")
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode == http.StatusOK
}

// fetchSymbols asks the server for its symbols with the list op over a
// WebSocket; it falls back to GET /api/symbols, which only has symbols that
// have ticked.
func fetchSymbols(ctx context.Context, wsURL, base string) ([]string, error) {
	syms, err := listSymbols(ctx, wsURL)
	if err == nil && len(syms) > 0 {
		return syms, nil
	}
	c := http.Client{Timeout: 10 * time.Second}
	resp, herr := c.Get(base + "/api/symbols")
	if herr != nil {
		return nil, fmt.Errorf("list symbols: %v; GET /api/symbols: %w", err, herr)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET /api/symbols: %s", resp.Status)
	}
	var snaps []struct {
		Symbol string `json:"symbol"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<20)).Decode(&snaps); err != nil {
		return nil, fmt.Errorf("GET /api/symbols: %w", err)
	}
	out := make([]string, 0, len(snaps))
	for _, s := range snaps {
		if s.Symbol != "" {
			out = append(out, s.Symbol)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no symbols from the list op (%v) nor GET /api/symbols", err)
	}
	return out, nil
}

// listSymbols sends {"op":"list"} and returns the symbols of the reply.
func listSymbols(ctx context.Context, wsURL string) ([]string, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	conn, br, _, err := ws.Dial(ctx, wsURL)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	if br != nil {
		ws.PutReader(br) // nothing is expected before our request
	}
	if err := conn.SetDeadline(time.Now().Add(10 * time.Second)); err != nil {
		return nil, err
	}
	if err := wsutil.WriteClientText(conn, []byte(`{"op":"list","id":"bench"}`)); err != nil {
		return nil, err
	}
	for {
		msg, op, err := wsutil.ReadServerData(conn)
		if err != nil {
			return nil, err
		}
		if op != ws.OpText {
			continue
		}
		var reply struct {
			Type    string   `json:"type"`
			Symbols []string `json:"symbols"`
		}
		if json.Unmarshal(msg, &reply) == nil && reply.Type == "symbols" {
			return reply.Symbols, nil
		}
	}
}

// limitsMsg is the part of the server's "limits" message a run checks.
type limitsMsg struct {
	Channels    []string `json:"channels"`
	Compression bool     `json:"compression"`
}

// fetchLimits reads the "limits" message a new connection starts with.
func fetchLimits(ctx context.Context, wsURL string) (limitsMsg, error) {
	var lim limitsMsg
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	conn, br, _, err := ws.Dial(ctx, wsURL)
	if err != nil {
		return lim, err
	}
	defer conn.Close()
	var r io.Reader = conn
	if br != nil {
		r = io.MultiReader(br, conn)
		defer ws.PutReader(br)
	}
	if err := conn.SetDeadline(time.Now().Add(10 * time.Second)); err != nil {
		return lim, err
	}
	msg, _, err := wsutil.ReadServerData(struct {
		io.Reader
		io.Writer
	}{r, conn})
	if err != nil {
		return lim, err
	}
	if !bytes.HasPrefix(msg, []byte(`{"type":"limits"`)) {
		return lim, fmt.Errorf("first message %.80q, want the limits", msg)
	}
	return lim, json.Unmarshal(msg, &lim)
}

// checkServes fails unless the server at wsURL carries what c subscribes
// to: its channel, and compression with -deflate.
func checkServes(ctx context.Context, c *config, wsURL string) error {
	if c.channel == "quotes" && !c.deflate {
		return nil
	}
	lim, err := fetchLimits(ctx, wsURL)
	switch {
	case err != nil:
		return fmt.Errorf("read the server's limits: %w", err)
	case !slices.Contains(lim.Channels, c.channel):
		return fmt.Errorf("-channel %s: the server does not serve it (its limits list channels %v)", c.channel, lim.Channels)
	case c.deflate && !lim.Compression:
		return errors.New("-deflate: the server does not offer permessage-deflate (its limits say compression false)")
	}
	return nil
}

// metricsClient reads /metrics (and /healthz) on a new connection each
// time, so the server holds no fd of ours between samples. Over HTTPS it
// does not verify the certificate: only a wss:// node of a hostile run is
// HTTPS, on loopback, with the certificate the run made (selfSigned).
var metricsClient = &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
	DisableKeepAlives: true, TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}

// fetchMetrics reads the standard process series and the hub's counters
// from /metrics; it returns nil when the server has no /metrics.
func fetchMetrics(base string) map[string]float64 {
	m, _ := scrapeMetrics(base)
	return m
}

// latencyMetric is the server's tick-to-write histogram: the quote path
// from a tick's event time to its write to a client socket.
const latencyMetric = "tickerd_tick_to_write_seconds"

// scrapeMetrics is fetchMetrics plus the buckets of latencyMetric (empty
// when the server has none).
func scrapeMetrics(base string) (map[string]float64, procstat.Buckets) {
	resp, err := metricsClient.Get(base + "/metrics")
	if err != nil {
		return nil, procstat.Buckets{}
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, procstat.Buckets{}
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return nil, procstat.Buckets{}
	}
	m, err := procstat.ParseMetrics(bytes.NewReader(body), "go_goroutines", "process_resident_memory_bytes", "process_cpu_seconds_total",
		"process_open_fds", "go_memstats_heap_inuse_bytes", "go_memstats_stack_inuse_bytes", "tickerd_connections",
		"tickerd_messages_sent_total", "tickerd_merged_updates_total", "tickerd_writes_total", "tickerd_subscriptions",
		"go_gc_duration_seconds_count")
	if err != nil {
		return nil, procstat.Buckets{}
	}
	lat, _ := procstat.ParseHistogram(bytes.NewReader(body), latencyMetric) // a bad histogram only loses the server's percentiles
	return m, lat
}

// parseTargets parses a comma-separated list of ws:// URLs and refuses
// non-loopback hosts unless allowRemote.
func parseTargets(list string, allowRemote bool) ([]*node, error) {
	var out []*node
	for _, s := range strings.Split(list, ",") {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		u, err := url.Parse(s)
		if err != nil {
			return nil, fmt.Errorf("-url %q: %w", s, err)
		}
		web := "http://"
		switch u.Scheme {
		case "ws":
		case "wss":
			web = "https://"
		default:
			return nil, fmt.Errorf("%q: the scheme must be ws:// (wss:// only for -wss-url)", s)
		}
		if !allowRemote {
			if err := checkLoopback(u.Hostname()); err != nil {
				return nil, err
			}
		}
		out = append(out, &node{url: s, http: web + u.Host})
	}
	if len(out) == 0 {
		return nil, errors.New("-url: no target")
	}
	return out, nil
}

// checkLoopback resolves host and fails unless every address is loopback.
func checkLoopback(host string) error {
	ips, err := net.LookupIP(host)
	if err != nil {
		return fmt.Errorf("resolve %q: %w", host, err)
	}
	for _, ip := range ips {
		if !ip.IsLoopback() {
			return fmt.Errorf("target %s (%s) is not a loopback address; pass -allow-remote to load a remote server", host, ip)
		}
	}
	return nil
}

// listenerPID finds the local process listening on TCP port, or 0.
func listenerPID(port int) int {
	inodes := map[string]bool{}
	for _, f := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for ino := range listeningInodes(b, port) {
			inodes[ino] = true
		}
	}
	if len(inodes) == 0 {
		return 0
	}
	procs, _ := os.ReadDir("/proc")
	for _, p := range procs {
		pid, err := strconv.Atoi(p.Name())
		if err != nil {
			continue
		}
		fds, err := os.ReadDir("/proc/" + p.Name() + "/fd")
		if err != nil {
			continue
		}
		for _, fd := range fds {
			l, err := os.Readlink("/proc/" + p.Name() + "/fd/" + fd.Name())
			if err == nil && strings.HasPrefix(l, "socket:[") && inodes[strings.TrimSuffix(l[8:], "]")] {
				return pid
			}
		}
	}
	return 0
}

// listeningInodes returns the socket inodes in LISTEN state (0A) on port in
// the contents of /proc/net/tcp.
func listeningInodes(b []byte, port int) map[string]bool {
	out := map[string]bool{}
	want := fmt.Sprintf(":%04X", port)
	sc := bufio.NewScanner(strings.NewReader(string(b)))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 10 || f[3] != "0A" || !strings.HasSuffix(f[1], want) {
			continue
		}
		out[f[9]] = true
	}
	return out
}

// freePort asks the kernel for an unused loopback port.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}
