package hub

import (
	"testing"
	"time"
)

// TestKeepingUp follows the shard's behind/keeping-up switch: one slow
// flush (a GC pause) is tolerated, two in a row mean behind (merge), and a
// quick one means keeping up again (replay the ring in order).
func TestKeepingUp(t *testing.T) {
	const slow, quick = 2 * lagPass, lagPass / 5
	type step struct {
		flush time.Duration
		want  bool // keepingUp after it
	}
	for _, tc := range []struct {
		name  string
		steps []step
	}{
		{"one slow flush is tolerated", []step{{slow, true}, {quick, true}, {slow, true}}},
		{"two slow flushes in a row mean behind", []step{{slow, true}, {slow, false}, {slow, false}}},
		{"a quick flush catches up", []step{{slow, true}, {slow, false}, {quick, true}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &shard{keepingUp: true}
			for i, st := range tc.steps {
				s.flushed(st.flush)
				if s.keepingUp != st.want {
					t.Fatalf("step %d (%v): keepingUp = %v, want %v", i, st.flush, s.keepingUp, st.want)
				}
			}
		})
	}
}
