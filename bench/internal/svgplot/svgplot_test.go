package svgplot

import (
	"bytes"
	"encoding/xml"
	"io"
	"math"
	"strings"
	"testing"
)

func TestWriteValidXML(t *testing.T) {
	x := []float64{0, 1, 2, 3, 4, 5}
	p := Plot{
		Title:    `fan-out <10k> & "quotes"`,
		Subtitle: "go run ./bench -scenario fan-out",
		XLabel:   "seconds",
		X:        x,
		Bands:    []Band{{From: 0, To: 2, Label: "warm-up"}},
		Panels: []Panel{
			{Title: "latency", YLabel: "ms", LogY: true, Lines: []Line{
				{Name: "p50", Y: []float64{0.2, 0.3, math.NaN(), 0.25, 0, 0.2}},
				{Name: "max", Y: []float64{5, 7, 9, 120, 8, 6}},
			}},
			{Title: "throughput", YLabel: "msg/s", Lines: []Line{{Name: "msg/s", Y: []float64{0, 1e5, 1e5, 1e5, 1e5, 1e5}}}},
		},
	}
	var buf bytes.Buffer
	if err := p.Write(&buf); err != nil {
		t.Fatal(err)
	}
	dec := xml.NewDecoder(bytes.NewReader(buf.Bytes()))
	counts := map[string]int{}
	var root string
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("invalid XML: %v\n%s", err, buf.String())
		}
		if se, ok := tok.(xml.StartElement); ok {
			if root == "" {
				root = se.Name.Local
				if se.Name.Space != "http://www.w3.org/2000/svg" {
					t.Errorf("root namespace = %q, want SVG", se.Name.Space)
				}
			}
			counts[se.Name.Local]++
		}
	}
	if root != "svg" {
		t.Errorf("root element = %q, want svg", root)
	}
	// Three lines drawn; the NaN and the zero on the log axis split p50 into
	// separate subpaths.
	if counts["path"] != 3 {
		t.Errorf("%d paths, want 3", counts["path"])
	}
	if !strings.Contains(buf.String(), "fan-out &lt;10k&gt; &amp;") {
		t.Errorf("title not escaped")
	}
	if n := strings.Count(buf.String(), "M"); n < 4 {
		t.Errorf("expected gaps to start new subpaths")
	}
}

func TestWriteEmpty(t *testing.T) {
	if err := (Plot{}).Write(io.Discard); err == nil {
		t.Errorf("Write(empty) = nil error, want error")
	}
}

func TestLabels(t *testing.T) {
	tests := []struct {
		v    float64
		want string
	}{{0, "0"}, {0.01, "0.01"}, {1, "1"}, {2.5, "2.5"}, {100, "100"}, {20000, "20k"}, {1.5e6, "1.5M"}}
	for _, tt := range tests {
		if got := label(tt.v); got != tt.want {
			t.Errorf("label(%v) = %q, want %q", tt.v, got, tt.want)
		}
	}
}
