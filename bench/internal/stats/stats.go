// Package stats holds the measurement arithmetic of the load generator:
// latency histograms (HdrHistogram, microseconds) with a compact wire form so
// worker processes can ship them to the coordinator, per-second series that
// merge across workers, and per-symbol sequence accounting.
//
//	h := stats.NewLatency()
//	h.RecordValue(latencyMicros)
//	enc, _ := stats.Encode(h)            // worker -> coordinator
//	series.Add(second, counters, enc)    // coordinator merges every worker
//	sum := stats.Summarize(series.Window(5, 25))
package stats

import (
	"fmt"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
)

// Latency histograms record microseconds from 1 µs to 60 s with three
// significant digits.
const (
	LatencyMin    = 1
	LatencyMax    = 60_000_000
	LatencySigFig = 3
)

// NewLatency returns an empty latency histogram.
func NewLatency() *hdr.Histogram { return hdr.New(LatencyMin, LatencyMax, LatencySigFig) }

// Record adds one latency in microseconds, clamping to the histogram's range.
func Record(h *hdr.Histogram, micros int64) {
	if micros < 0 {
		micros = 0
	}
	if micros > LatencyMax {
		micros = LatencyMax
	}
	_ = h.RecordValue(micros) // cannot fail: clamped into range
}

// Encode returns the compressed V2 encoding of h (base64 text), or "" for an
// empty histogram.
func Encode(h *hdr.Histogram) (string, error) {
	if h == nil || h.TotalCount() == 0 {
		return "", nil
	}
	b, err := h.Encode(hdr.V2CompressedEncodingCookieBase)
	if err != nil {
		return "", fmt.Errorf("stats: encode histogram: %w", err)
	}
	return string(b), nil
}

// Decode reverses Encode; "" decodes to an empty latency histogram.
func Decode(s string) (*hdr.Histogram, error) {
	if s == "" {
		return NewLatency(), nil
	}
	h, err := hdr.Decode([]byte(s))
	if err != nil {
		return nil, fmt.Errorf("stats: decode histogram: %w", err)
	}
	return h, nil
}

// Merge adds every value of from into into and returns an error if any value
// fell outside into's range.
func Merge(into, from *hdr.Histogram) error {
	if from == nil {
		return nil
	}
	if d := into.Merge(from); d != 0 {
		return fmt.Errorf("stats: %d values dropped in merge", d)
	}
	return nil
}

// Percentiles summarizes a latency histogram in milliseconds.
type Percentiles struct {
	Count int64   `json:"count"`
	Mean  float64 `json:"mean_ms"`
	P50   float64 `json:"p50_ms"`
	P90   float64 `json:"p90_ms"`
	P99   float64 `json:"p99_ms"`
	P999  float64 `json:"p99_9_ms"`
	Max   float64 `json:"max_ms"`
}

// Summarize returns h's percentiles; an empty histogram gives all zeros.
func Summarize(h *hdr.Histogram) Percentiles {
	if h == nil || h.TotalCount() == 0 {
		return Percentiles{}
	}
	v := h.ValueAtPercentilesSlice([]float64{50, 90, 99, 99.9})
	ms := func(us int64) float64 { return float64(us) / 1000 }
	return Percentiles{
		Count: h.TotalCount(),
		Mean:  h.Mean() / 1000,
		P50:   ms(v[0]),
		P90:   ms(v[1]),
		P99:   ms(v[2]),
		P999:  ms(v[3]),
		Max:   ms(h.Max()),
	}
}
