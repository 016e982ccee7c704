package procstat

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// Buckets is one unlabelled Prometheus histogram as scraped: Counts[i]
// observations at or below LE[i], cumulative, LE increasing and the last
// one +Inf.
type Buckets struct {
	LE     []float64
	Counts []float64
}

// ParseHistogram returns the buckets of the unlabelled histogram name in
// a Prometheus text exposition; no buckets and no error when it is absent.
func ParseHistogram(r io.Reader, name string) (Buckets, error) {
	var b Buckets
	prefix := name + `_bucket{le="`
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		rest, ok := strings.CutPrefix(line, prefix)
		if !ok {
			continue
		}
		le, val, ok := strings.Cut(rest, `"} `)
		if !ok {
			return Buckets{}, fmt.Errorf("procstat: metrics %s: bad bucket %q", name, line)
		}
		val, _, _ = strings.Cut(val, " ") // drop a timestamp
		bound, err1 := strconv.ParseFloat(le, 64)
		count, err2 := strconv.ParseFloat(val, 64)
		if err1 != nil || err2 != nil || len(b.LE) > 0 && (bound <= b.LE[len(b.LE)-1] || count < b.Counts[len(b.Counts)-1]) {
			return Buckets{}, fmt.Errorf("procstat: metrics %s: bad bucket %q", name, line)
		}
		b.LE = append(b.LE, bound)
		b.Counts = append(b.Counts, count)
	}
	if err := sc.Err(); err != nil {
		return Buckets{}, fmt.Errorf("procstat: metrics: %w", err)
	}
	if n := len(b.LE); n > 0 && !math.IsInf(b.LE[n-1], 1) {
		return Buckets{}, fmt.Errorf("procstat: metrics %s: no +Inf bucket", name)
	}
	return b, nil
}

// same reports whether b and o have the same bounds.
func (b Buckets) same(o Buckets) bool {
	if len(b.LE) != len(o.LE) {
		return false
	}
	for i := range b.LE {
		if b.LE[i] != o.LE[i] {
			return false
		}
	}
	return true
}

// Sub returns the observations made between the scrapes from and b, bucket
// by bucket; ok is false when the two do not have the same buckets.
func (b Buckets) Sub(from Buckets) (d Buckets, ok bool) {
	if !b.same(from) || len(b.LE) == 0 {
		return Buckets{}, false
	}
	d = Buckets{LE: b.LE, Counts: make([]float64, len(b.Counts))}
	for i := range b.Counts {
		d.Counts[i] = b.Counts[i] - from.Counts[i]
	}
	return d, true
}

// Add adds the observations of o to b; an empty b takes o's buckets. It
// reports false, and leaves b alone, when the buckets differ.
func (b *Buckets) Add(o Buckets) bool {
	if len(b.LE) == 0 {
		*b = Buckets{LE: o.LE, Counts: append([]float64(nil), o.Counts...)}
		return true
	}
	if !b.same(o) {
		return false
	}
	for i := range o.Counts {
		b.Counts[i] += o.Counts[i]
	}
	return true
}

// Quantile returns the upper bound of the bucket that holds quantile q (0
// to 1) of b's observations, and how many there are; ok is false when
// there are none. A bound of +Inf means the quantile is above the largest
// finite bound.
func (b Buckets) Quantile(q float64) (le float64, n float64, ok bool) {
	if len(b.Counts) == 0 {
		return 0, 0, false
	}
	last := len(b.Counts) - 1
	if n = b.Counts[last]; n <= 0 {
		return 0, 0, false
	}
	rank := max(1, math.Ceil(q*n))
	for i := range b.LE {
		if b.Counts[i] >= rank {
			return b.LE[i], n, true
		}
	}
	return b.LE[last], n, true
}
