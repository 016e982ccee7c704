package attack

import (
	"context"
	"crypto/tls"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tickerd/tickerd"
	"github.com/tickerd/tickerd/feed/sim"
	"github.com/tickerd/tickerd/internal/apptest"
	"github.com/tickerd/tickerd/internal/testutil"
)

func TestMain(m *testing.M) { os.Exit(testutil.RunAndCheckLeaks(m)) }

func TestShortNames(t *testing.T) {
	got := strings.Split(shortNames(64+4096+2), ",")
	if len(got) != 64+4096+2 {
		t.Fatalf("%d names, want %d", len(got), 64+4096+2)
	}
	seen := map[string]bool{}
	for i, n := range got {
		if seen[n] {
			t.Fatalf("name %d %q repeats", i, n)
		}
		seen[n] = true
	}
	for i, want := range map[int]string{0: "A", 63: "_", 64: "AA", 65: "AB", 64 + 4095: "__", 64 + 4096: "AAA"} {
		if got[i] != want {
			t.Errorf("name %d = %q, want %q", i, got[i], want)
		}
	}
}

func TestSelect(t *testing.T) {
	all, err := Select("all")
	if err != nil || len(all) != len(Classes) {
		t.Errorf("Select(all) = %d classes, %v", len(all), err)
	}
	two, err := Select("ping-paced, idle-http")
	if err != nil || len(two) != 2 || two[0].Name != "idle-http" || two[1].Name != "ping-paced" {
		t.Errorf("Select(ping-paced, idle-http) = %v, %v; want idle-http then ping-paced", two, err)
	}
	if _, err := Select("idle-http,nope"); err == nil {
		t.Errorf("Select(nope) = nil error")
	}
}

// TestClasses runs every class for a moment against an in-process tickerd
// and checks that each did what it says, whatever the server then did.
func TestClasses(t *testing.T) {
	srv := apptest.Start(t, tickerd.Config{
		Sim:         sim.Config{Rate: 50, Symbols: 3, Steady: true},
		HTTP:        tickerd.HTTPConfig{ReadHeaderTimeout: time.Second}, // so slow-headers is cut off within the run
		DrainWindow: -1,
	})
	certPEM, keyPEM, err := SelfSigned()
	if err != nil {
		t.Fatal(err)
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	tlsSrv := apptest.Start(t, tickerd.Config{
		Sim:         sim.Config{Rate: 50, Symbols: 3, Steady: true},
		TLS:         &tls.Config{Certificates: []tls.Certificate{cert}},
		DrainWindow: -1,
	})
	target := Target{Addr: srv.Addr, SrcIPs: []net.IP{net.IPv4(127, 0, 0, 2), net.IPv4(127, 0, 0, 3)},
		Symbols: []string{"AAPL", "MSFT", "GOOG"}, Timeout: 5 * time.Second,
		TLS: &tls.Config{InsecureSkipVerify: true}}
	tlsTarget := target
	tlsTarget.Addr = tlsSrv.Addr
	const n = 3
	checks := map[string]func(r *Report) string{
		"idle-http": func(r *Report) string {
			return want(r.Answers["http_200"] == n, "every connection answered 200")
		},
		"slow-headers": func(r *Report) string {
			return want(sum(r.Closed) == n && r.SentBytes > n*int64(len("GET /healthz HTTP/1.1\r\n")),
				"every connection cut off by the 1 s header timeout, after bytes trickled")
		},
		"huge-query": func(r *Report) string {
			return want(r.Requests >= 1 && sum64(r.Answers) >= 1 && r.Answers["http_200"] == 0, "refusals answered")
		},
		"partial-frame": func(r *Report) string {
			return want(r.SentBytes >= n*(14+1), "a 14-byte header and a trickled byte each")
		},
		"fragments": func(r *Report) string {
			return want(r.Requests == n && r.SentBytes > n*4096, "one message each, several KiB sent")
		},
		"reply-flood": func(r *Report) string {
			return want(r.Requests >= 2*n && r.SentBytes > r.Requests*30000, "requests of about 35 KB")
		},
		"ping-burst": func(r *Report) string {
			return want(r.Requests >= n*pingBurstSize && (r.Answers["pong"] > 0 || sum(r.Closed) > 0),
				"bursts of pings, answered or closed")
		},
		"ping-paced": func(r *Report) string {
			return want(r.Requests > n*10 && (r.Answers["pong"] > 0 || sum(r.Closed) > 0), "pings answered or closed")
		},
		"stalled-readers": func(r *Report) string {
			return want(r.Requests == n, "one subscription each")
		},
		"idle-wss": func(r *Report) string {
			return want(r.Requests == 0 && r.Held == n, "silent, every connection held")
		},
		"stalled-wss": func(r *Report) string {
			return want(r.Requests == n, "one subscription each")
		},
	}
	// All at once: parallel subtests would run only GOMAXPROCS at a time.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	reports := make([]*Report, len(Classes))
	var wg sync.WaitGroup
	var plainTLS *Report // a TLS class against the plain server
	for i, cl := range Classes {
		tg := target
		if cl.TLS {
			tg = tlsTarget
		}
		wg.Go(func() { reports[i] = Run(ctx, cl, tg, n) })
	}
	wg.Go(func() { plainTLS = Run(ctx, Classes[len(Classes)-1], target, 1) })
	wg.Wait()
	if plainTLS.Opened != 0 || sum(plainTLS.Failures) != 1 {
		t.Errorf("%s against a plain server: %+v, want a failure to open", Classes[len(Classes)-1].Name, plainTLS)
	}
	for i, cl := range Classes {
		t.Run(cl.Name, func(t *testing.T) {
			r := reports[i]
			t.Logf("%+v", r)
			check := checks[cl.Name]
			if check == nil {
				t.Fatalf("class %s has no check", cl.Name)
			}
			if r.Opened != n || r.Failures != nil {
				t.Fatalf("opened %d of %d, failures %v", r.Opened, n, r.Failures)
			}
			if got := r.Held + sum(r.Closed); got != n {
				t.Errorf("held %d + closed %v = %d, want %d", r.Held, r.Closed, got, n)
			}
			if msg := check(r); msg != "" {
				t.Errorf("report %+v: want %s", r, msg)
			}
		})
	}
}

func want(ok bool, what string) string {
	if ok {
		return ""
	}
	return what
}

func sum(m map[string]int) (n int) {
	for _, v := range m {
		n += v
	}
	return n
}

func sum64(m map[string]int64) (n int64) {
	for _, v := range m {
		n += v
	}
	return n
}
