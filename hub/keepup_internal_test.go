package hub

import (
	"testing"
	"time"
)

// TestKeepingUp follows the shard's behind/caught-up switch through the
// flush patterns a saturated and an idle shard produce.
func TestKeepingUp(t *testing.T) {
	const slow, quick = 2 * lagPass, lagPass / 5
	type step struct {
		flush time.Duration // 0: the shard runs out of work (caughtUp)
		want  bool          // keepingUp after the step
	}
	for _, tc := range []struct {
		name  string
		steps []step
	}{
		{"one slow flush is tolerated", []step{{slow, true}, {0, true}, {slow, true}, {0, true}}},
		{"two slow flushes mean behind", []step{{slow, true}, {slow, false}}},
		{"short flushes between long ones do not reset", []step{
			{slow, true}, {quick, true}, {slow, false}, {quick, false}, {quick, false}, {slow, false}}},
		{"running out of work catches up", []step{{slow, true}, {slow, false}, {quick, false}, {0, true}, {slow, true}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &shard{keepingUp: true}
			for i, st := range tc.steps {
				if st.flush == 0 {
					s.caughtUp()
				} else if got := s.flushed(st.flush); got != (st.flush >= lagPass) {
					t.Fatalf("step %d: flushed(%v) = %v", i, st.flush, got)
				}
				if s.keepingUp != st.want {
					t.Fatalf("step %d (%v): keepingUp = %v, want %v", i, st.flush, s.keepingUp, st.want)
				}
			}
		})
	}
}
