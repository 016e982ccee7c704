package source

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tickerd/tickerd/feed"
	"github.com/tickerd/tickerd/feed/coinbase"
	"github.com/tickerd/tickerd/feed/sim"
)

func TestOpen(t *testing.T) {
	tests := []struct {
		spec    string
		opt     Options
		symbols int    // how many symbols the feed declares
		first   string // its first symbol
		watcher bool
	}{
		{"sim", Options{}, 106, "AAPL", false},
		{"", Options{}, 106, "AAPL", false},
		{"replay:../replay/testdata/sample.csv", Options{}, 4, "ACME", false},
		{"coinbase", Options{}, 3, "BTC-USD", true},
		{"coinbase:ETH-USD,DOGE-USD", Options{}, 2, "ETH-USD", true},
	}
	for _, tt := range tests {
		f, err := Open(tt.spec, tt.opt)
		if err != nil {
			t.Errorf("Open(%q) = %v", tt.spec, err)
			continue
		}
		syms := f.Symbols()
		if len(syms) != tt.symbols || syms[0].Name != tt.first {
			t.Errorf("Open(%q).Symbols() = %d symbols from %s, want %d from %s", tt.spec, len(syms), syms[0].Name, tt.symbols, tt.first)
		}
		if _, ok := f.(feed.HealthReporter); !ok {
			t.Errorf("Open(%q) is not a feed.HealthReporter", tt.spec)
		}
		if _, ok := f.(feed.Watcher); ok != tt.watcher {
			t.Errorf("Open(%q) implements feed.Watcher: %v, want %v", tt.spec, ok, tt.watcher)
		}
	}
}

// TestOpenOptions: each feed gets its part of Options.
func TestOpenOptions(t *testing.T) {
	f, err := Open("sim", Options{Sim: sim.Config{Symbols: 3}})
	if err != nil || len(f.Symbols()) != 3 {
		t.Errorf("Open(sim, Symbols: 3) = %v, want 3 symbols", err)
	}
	f, err = Open("sim:symbols=5", Options{Sim: sim.Config{Symbols: 3}})
	if err != nil || len(f.Symbols()) != 5 {
		t.Errorf("Open(sim:symbols=5, Symbols: 3) = %v, want 5 symbols: the spec wins", err)
	}
	f, err = Open("coinbase", Options{Coinbase: coinbase.Config{Products: []coinbase.Product{{ID: "DOGE-USD", Symbol: "DOGE"}}}})
	if err != nil || len(f.Symbols()) != 1 || f.Symbols()[0].Name != "DOGE" {
		t.Errorf("Open(coinbase, DOGE-USD=DOGE) = %v, want one symbol DOGE", err)
	}
}

func TestOpenErrors(t *testing.T) {
	for spec, want := range map[string]string{
		"nasdaq":              "source: unknown feed \"nasdaq\", want " + Usage,
		"sim:fast":            `source: "sim:fast": unknown sim key "fast"`,
		"sim:":                "no KEY=VALUE",
		"sim:rate=fast":       `sim key rate: "fast" is not a valid value`,
		"sim:steady=maybe":    `sim key steady: "maybe"`,
		"sim:day=tomorrow":    `sim key day: "tomorrow"`,
		"sim:universe=10":     "sim: universe 10 is not between",
		"replay":              "names no file",
		"replay:":             "names no file",
		"replay:/nonexistent": "replay: open /nonexistent",
		"coinbase:":           "coinbase: no products",
		"coinbase:FOO-BAR":    "coinbase: product FOO-BAR is not in the built-in table",
	} {
		if _, err := Open(spec, Options{}); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Open(%q) = %v, want an error containing %q", spec, err, want)
		}
	}
	if _, err := Open("sim", Options{Sim: sim.Config{Symbols: 1000}}); err == nil || !strings.HasPrefix(err.Error(), "sim: ") {
		t.Errorf("Open(sim, Symbols: 1000) = %v, want a sim: error", err)
	}
}

// TestParseSim: every key reaches its field of sim.Config.
func TestParseSim(t *testing.T) {
	var cfg sim.Config
	err := parseSim("seed=7,rate=2500.5,symbols=3,steady,book-depth=50,quotes-only=true,universe=100000,day=90s", &cfg)
	want := sim.Config{Seed: 7, Rate: 2500.5, Symbols: 3, Steady: true, BookDepth: 50, QuotesOnly: true, Universe: 100000, DayLength: 90 * time.Second}
	if err != nil || fmt.Sprintf("%+v", cfg) != fmt.Sprintf("%+v", want) {
		t.Errorf("parseSim = %+v, %v, want %+v", cfg, err, want)
	}
	if err := parseSim("steady=false,quotes-only=0", &cfg); err != nil || cfg.Steady || cfg.QuotesOnly {
		t.Errorf("parseSim(steady=false,quotes-only=0) = %+v, %v, want both false", cfg, err)
	}

	// A universe through a spec: Symbols are the equities, FX and crypto;
	// the options come by List.
	f, err := Open("sim:universe=2000,day=1m", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(f.Symbols()); n != 106+(2000-106)/10 {
		t.Errorf("Open(sim:universe=2000).Symbols() has %d symbols, want %d", n, 106+(2000-106)/10)
	}
}
