package cluster

import (
	"strings"
	"testing"
)

func TestSubjectToken(t *testing.T) {
	tests := []struct{ symbol, token string }{
		{"AAPL", "AAPL"},
		{"BTC-USD", "BTC-USD"},
		{"EUR/USD", "EUR_2FUSD"},
		{"BRK.B", "BRK_2EB"},
		{"A_B", "A_5FB"},
		{"*", "_2A"},
		{">", "_3E"},
		{"a b", "a_20b"},
		{"é", "_C3_A9"},
	}
	for _, tt := range tests {
		t.Run(tt.symbol, func(t *testing.T) {
			if got := SubjectToken(tt.symbol); got != tt.token {
				t.Errorf("SubjectToken(%q) = %q, want %q", tt.symbol, got, tt.token)
			}
			got, err := SymbolFromToken(tt.token)
			if err != nil || got != tt.symbol {
				t.Errorf("SymbolFromToken(%q) = %q, %v, want %q", tt.token, got, err, tt.symbol)
			}
		})
	}
}

func TestSymbolFromTokenRejects(t *testing.T) {
	for _, tok := range []string{"", "_", "_2", "_2f", "_41", "A.B", "A*", "_G0", "A_"} {
		if got, err := SymbolFromToken(tok); err == nil {
			t.Errorf("SymbolFromToken(%q) = %q, nil, want an error", tok, got)
		}
	}
}

func FuzzSubjectToken(f *testing.F) {
	for _, s := range []string{"AAPL", "EUR/USD", "BRK.B", "_", "\x00\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, symbol string) {
		tok := SubjectToken(symbol)
		if strings.ContainsAny(tok, ".*> \t\r\n") {
			t.Fatalf("SubjectToken(%q) = %q, not a subject-safe token", symbol, tok)
		}
		if symbol == "" {
			return
		}
		back, err := SymbolFromToken(tok)
		if err != nil || back != symbol {
			t.Fatalf("SymbolFromToken(SubjectToken(%q)) = %q, %v", symbol, back, err)
		}
		if SubjectToken(back) != tok {
			t.Fatalf("token of %q is not canonical", symbol)
		}
	})
}
