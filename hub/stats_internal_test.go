package hub

import "testing"

func TestLatBucket(t *testing.T) {
	for _, tc := range []struct {
		d    int64
		want int
	}{
		{0, 0},
		{16384, 0},                // 16.384 µs: the first bound, inclusive
		{16385, 1},                // just above it
		{23170, 1},                // 16.384 µs × √2, rounded
		{23171, 2},                //
		{67_108_864, 24},          // 2^26 ns = 67.1 ms, a bound
		{70_000_000, 25},          // 70 ms: in (67.1, 94.9] ms
		{1 << 62, latBuckets - 1}, // +Inf
	} {
		if got := latBucket(tc.d); got != tc.want {
			t.Errorf("latBucket(%d) = %d, want %d (bounds %v)", tc.d, got, tc.want, latBounds[max(0, tc.want-1):min(len(latBounds), tc.want+1)])
		}
	}
	if len(LatencyBuckets) != latBuckets-1 {
		t.Errorf("len(LatencyBuckets) = %d, want %d", len(LatencyBuckets), latBuckets-1)
	}
}
