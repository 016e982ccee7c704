package procstat

import (
	"math"
	"strconv"
	"strings"
	"testing"
)

// page returns a /metrics page whose histogram x_seconds holds a
// observations up to 1 ms, b up to 2 ms, c up to 4 ms and d above, beside
// another histogram.
func page(a, b, c, d float64) string {
	f := func(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
	return `# TYPE x_seconds histogram
x_seconds_bucket{le="0.001"} ` + f(a) + `
x_seconds_bucket{le="0.002"} ` + f(a+b) + `
x_seconds_bucket{le="0.004"} ` + f(a+b+c) + `
x_seconds_bucket{le="+Inf"} ` + f(a+b+c+d) + `
x_seconds_sum 1.5
x_seconds_count ` + f(a+b+c+d) + `
y_seconds_bucket{le="1"} 7
`
}

// TestHistogramQuantile reads two scrapes and takes quantiles of what
// happened between them, alone and added to another interval.
func TestHistogramQuantile(t *testing.T) {
	from, err := ParseHistogram(strings.NewReader(page(100, 0, 0, 0)), "x_seconds")
	if err != nil {
		t.Fatal(err)
	}
	// Between the scrapes: 90 up to 1 ms, 9 up to 2 ms, 1 above 4 ms.
	to, err := ParseHistogram(strings.NewReader(page(190, 9, 0, 1)), "x_seconds")
	if err != nil {
		t.Fatal(err)
	}
	d, ok := to.Sub(from)
	if !ok {
		t.Fatal("Sub: buckets differ")
	}
	for _, tt := range []struct{ q, want float64 }{{0.5, 0.001}, {0.9, 0.001}, {0.95, 0.002}, {0.99, 0.002}, {0.999, math.Inf(1)}} {
		if le, n, ok := d.Quantile(tt.q); !ok || n != 100 || le != tt.want {
			t.Errorf("Quantile(%v) = %v, %v, %v; want %v of 100", tt.q, le, n, ok, tt.want)
		}
	}
	var sum Buckets
	if !sum.Add(d) || !sum.Add(Buckets{LE: d.LE, Counts: []float64{0, 0, 100, 100}}) {
		t.Fatal("Add refused the same buckets")
	}
	if le, n, _ := sum.Quantile(0.99); n != 200 || le != 0.004 {
		t.Errorf("sum Quantile(0.99) = %v of %v, want 0.004 of 200", le, n)
	}
	if sum.Add(Buckets{LE: []float64{1, math.Inf(1)}, Counts: []float64{1, 1}}) {
		t.Errorf("Add took other buckets")
	}
	if _, _, ok := (Buckets{}).Quantile(0.5); ok {
		t.Errorf("Quantile of nothing: ok")
	}
	if b, err := ParseHistogram(strings.NewReader(page(1, 1, 1, 1)), "absent"); err != nil || len(b.LE) != 0 {
		t.Errorf("ParseHistogram(absent) = %v, %v; want empty, nil", b, err)
	}
	for _, bad := range []string{
		"x_seconds_bucket{le=\"0.002\"} 5\nx_seconds_bucket{le=\"0.001\"} 6\n",   // bounds decrease
		"x_seconds_bucket{le=\"0.001\"} 5\nx_seconds_bucket{le=\"+Inf\"} 4\n",    // counts decrease
		"x_seconds_bucket{le=\"0.001\"} 5\n",                                     // no +Inf
		"x_seconds_bucket{le=\"0.001\"} five\nx_seconds_bucket{le=\"+Inf\"} 5\n", // not a number
	} {
		if _, err := ParseHistogram(strings.NewReader(bad), "x_seconds"); err == nil {
			t.Errorf("ParseHistogram(%q) = nil error", bad)
		}
	}
}
