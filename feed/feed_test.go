package feed

import (
	"context"
	"testing"
)

type healthFeed []Health

func (healthFeed) Symbols() []Symbol               { return nil }
func (healthFeed) Run(context.Context, Sink) error { return nil }
func (h healthFeed) Health() []Health              { return h }

type plainFeed struct{}

func (plainFeed) Symbols() []Symbol               { return nil }
func (plainFeed) Run(context.Context, Sink) error { return nil }

func TestCheckHealth(t *testing.T) {
	tests := []struct {
		name string
		f    Feed
		want string // "" for nil
	}{
		{"no health", plainFeed{}, ""},
		{"connected", healthFeed{{Source: "a", Connected: true}}, ""},
		{"connected with a skipped message", healthFeed{{Source: "a", Connected: true, Err: "bad message"}}, ""},
		{"starting or finished", healthFeed{{Source: "a"}}, ""},
		{"down", healthFeed{{Source: "coinbase", Err: "coinbase: read: EOF"}}, "feed: coinbase: coinbase: read: EOF"},
		{"two down", healthFeed{{Source: "a", Err: "x"}, {Source: "b", Connected: true}, {Source: "c", Err: "y"}}, "feed: 2 sources down: [a: x c: y]"},
	}
	for _, tt := range tests {
		err := CheckHealth(tt.f)
		got := ""
		if err != nil {
			got = err.Error()
		}
		if got != tt.want {
			t.Errorf("CheckHealth(%s) = %q, want %q", tt.name, got, tt.want)
		}
	}
	if h := HealthOf(plainFeed{}); h != nil {
		t.Errorf("HealthOf(plain feed) = %v, want nil", h)
	}
}
