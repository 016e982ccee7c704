package hub

import (
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/tickerd/tickerd/protocol"
)

// cpuTime returns the CPU time the process has used, user and system.
func cpuTime() time.Duration {
	var ru unix.Rusage
	_ = unix.Getrusage(unix.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkFanoutDeflate is BenchmarkFanout with 1,000 connections that
// all negotiated permessage-deflate (deflate), none did (plain), or half
// did (half): each update is compressed once, whatever the fan-out. Run
// with -count to interleave the variants. Beside ns/msg: bytes/msg, what
// the sockets took per delivered message, and deflates/update, the
// frames compressed per update (at most one per shard that raced for it),
// and cpu-ns/msg, the process's CPU time (the hub's and the clients'
// reads) per delivered message, which a loaded machine distorts less than
// the wall time. To interleave the variants, run them in turn:
//
//	go test -c -o hub.test ./hub
//	for i in 1 2 3 4 5; do for m in plain deflate; do
//		./hub.test -test.run '^$' -test.bench "FanoutDeflate/$m\$" -test.benchtime 300x
//	done; done
func BenchmarkFanoutDeflate(b *testing.B) {
	const n = 1000
	for _, mode := range []string{"plain", "deflate", "half"} {
		b.Run(mode, func(b *testing.B) {
			h := benchConns(b, Config{}, protocol.Stream{}, 1, n, func(int) []int { return []int{0} }, func(i int) bool {
				return mode == "deflate" || mode == "half" && i%2 == 0
			})
			st0 := h.Stats()
			cpu0 := cpuTime()
			loopFanout(b, h, n)
			cpu := cpuTime() - cpu0
			st := h.Stats()
			msgs := float64(b.N * n)
			b.ReportMetric(float64(cpu.Nanoseconds())/msgs, "cpu-ns/msg")
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/msgs, "ns/msg")
			b.ReportMetric(float64(st.Bytes-st0.Bytes)/msgs, "bytes/msg")
			b.ReportMetric(float64(st.CompressedFrames-st0.CompressedFrames)/float64(b.N), "deflates/update")
		})
	}
}

// BenchmarkCompressRatio reports what compression makes of each shared
// frame kind the hub compresses, as one client receives it: the tick and
// snapshot frames of a quote update and the list reply at 100,000
// symbols (%size: compressed frame against the plain frame).
func BenchmarkCompressRatio(b *testing.B) {
	h, err := newHub(Config{}, symbolsNamed("OPT%06d", 100_000), nil)
	if err != nil {
		b.Fatal(err)
	}
	h.Publish(benchTick("OPT000001", 1))
	u := h.uni.lookup("OPT000001").quote.latest.Load()
	head, tail := h.uni.current().listReply(h.uni, []byte("1"))
	list := append([]byte(nil), head...)
	for _, p := range tail {
		list = append(list, p...)
	}
	for _, k := range []struct {
		name  string
		frame []byte
	}{{"tick", u.tick}, {"snapshot", u.snap}, {"list-100000", list}} {
		b.Run(k.name, func(b *testing.B) {
			var z []byte
			b.ReportAllocs()
			for b.Loop() {
				z = h.z.compress(k.frame)
			}
			b.ReportMetric(100*float64(len(z))/float64(len(k.frame)), "%size")
			b.ReportMetric(float64(len(k.frame)), "plain-bytes")
		})
	}
}
