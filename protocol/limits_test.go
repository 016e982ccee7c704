package protocol

import (
	"encoding/json"
	"testing"
)

func TestAppendLimits(t *testing.T) {
	l := ServerLimits{MaxMessageBytes: 65536, MaxSymbols: 1000, MaxRequestSymbols: 100,
		MessagesPerSecond: 20.5, Burst: 40, PingIntervalMS: 30000, BacklogTimeoutMS: 30000, Auth: true}
	got := string(AppendLimits(nil, &l))
	want := `{"type":"limits","max_message_bytes":65536,"max_symbols":1000,"max_request_symbols":100,"messages_per_second":20.5,"burst":40,"ping_interval_ms":30000,"backlog_timeout_ms":30000,"auth":true}`
	if got != want {
		t.Errorf("AppendLimits = %s\nwant %s", got, want)
	}
	if !json.Valid([]byte(got)) {
		t.Errorf("AppendLimits output is not valid JSON: %s", got)
	}
}

func TestAppendAuthenticated(t *testing.T) {
	for _, tc := range []struct {
		id      string
		subject string
		exp     int64
		want    string
	}{
		{"7", "alice", 1763721600000000000, `{"type":"authenticated","id":7,"subject":"alice","expires":1763721600000000000}`},
		{"", `a"b`, 0, `{"type":"authenticated","subject":"a\"b","expires":0}`},
	} {
		var id []byte
		if tc.id != "" {
			id = []byte(tc.id)
		}
		if got := string(AppendAuthenticated(nil, id, tc.subject, tc.exp)); got != tc.want {
			t.Errorf("AppendAuthenticated(%q, %q, %d) = %s, want %s", tc.id, tc.subject, tc.exp, got, tc.want)
		}
	}
}
