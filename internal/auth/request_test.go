package auth

import (
	"net/http/httptest"
	"testing"
)

func TestTokenFromRequest(t *testing.T) {
	tests := []struct {
		name   string
		url    string
		header []string // Authorization values
		want   string
	}{
		{"header", "/ws", []string{"Bearer abc.def.ghi"}, "abc.def.ghi"},
		{"scheme case", "/ws", []string{"bearer abc"}, "abc"},
		{"extra spaces", "/ws", []string{"  Bearer   abc  "}, "abc"},
		{"header wins over query", "/ws?token=q", []string{"Bearer h"}, "h"},
		{"query", "/ws?symbols=AAPL&token=q.r.s", nil, "q.r.s"},
		{"query escaped", "/ws?token=a%2Bb", nil, "a+b"},
		{"basic ignored", "/ws?token=q", []string{"Basic dXNlcjpwYXNz"}, "q"},
		{"basic then bearer", "/ws", []string{"Basic x", "Bearer b"}, "b"},
		{"empty bearer", "/ws?token=q", []string{"Bearer "}, "q"},
		{"scheme only", "/ws", []string{"Bearer"}, ""},
		{"bearerx", "/ws", []string{"Bearerx abc"}, ""},
		{"none", "/ws", nil, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", tc.url, nil)
			for _, h := range tc.header {
				r.Header.Add("Authorization", h)
			}
			if got := TokenFromRequest(r); got != tc.want {
				t.Errorf("TokenFromRequest(%s, %q) = %q, want %q", tc.url, tc.header, got, tc.want)
			}
		})
	}
}
