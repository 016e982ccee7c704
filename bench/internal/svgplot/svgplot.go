// Package svgplot draws line charts of time series as standalone SVG with no
// dependencies: stacked panels sharing one x axis, linear or log10 y axes,
// legends and shaded x ranges (for a warm-up, say).
//
//	p := svgplot.Plot{Title: "fan-out", XLabel: "seconds", X: xs,
//		Panels: []svgplot.Panel{{YLabel: "latency (ms)", LogY: true,
//			Lines: []svgplot.Line{{Name: "p99", Y: p99}}}}}
//	err := p.Write(w)
package svgplot

import (
	"bufio"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
)

// Line is one series; Y[i] is drawn at X[i]. NaN or, on a log axis, a
// non-positive value leaves a gap.
type Line struct {
	Name  string
	Color string // CSS color; a default palette is used when empty
	Y     []float64
}

// Panel is one chart with its own y axis.
type Panel struct {
	Title  string
	YLabel string
	LogY   bool
	Height int // pixels of plot area; 0 means 260
	Lines  []Line
}

// Band shades the x range [From, To] in every panel.
type Band struct {
	From, To float64
	Label    string
}

// Plot is a stack of panels sharing the x axis.
type Plot struct {
	Title    string
	Subtitle string
	XLabel   string
	X        []float64
	Bands    []Band
	Panels   []Panel
	Width    int // pixels of plot area; 0 means 760
}

var palette = []string{"#1f77b4", "#2ca02c", "#ff7f0e", "#d62728", "#9467bd", "#8c564b"}

const (
	marginLeft   = 70
	marginRight  = 130
	marginTop    = 76
	panelGap     = 46
	marginBottom = 48
)

// Write renders p as an SVG document.
func (p Plot) Write(w io.Writer) error {
	if len(p.X) == 0 || len(p.Panels) == 0 {
		return errors.New("svgplot: nothing to draw")
	}
	width := p.Width
	if width <= 0 {
		width = 760
	}
	xmin, xmax := p.X[0], p.X[len(p.X)-1]
	for _, x := range p.X {
		xmin, xmax = math.Min(xmin, x), math.Max(xmax, x)
	}
	if xmax <= xmin {
		xmax = xmin + 1
	}
	total := marginTop + marginBottom
	for i, pn := range p.Panels {
		total += pn.height()
		if i > 0 {
			total += panelGap
		}
	}
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n",
		width+marginLeft+marginRight, total, width+marginLeft+marginRight, total)
	fmt.Fprintf(bw, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	fmt.Fprintf(bw, `<text x="%d" y="22" font-size="16" font-weight="bold">%s</text>`+"\n", marginLeft, esc(p.Title))
	if p.Subtitle != "" {
		fmt.Fprintf(bw, `<text x="%d" y="40" fill="#555">%s</text>`+"\n", marginLeft, esc(p.Subtitle))
	}
	xpos := func(x float64) float64 { return marginLeft + (x-xmin)/(xmax-xmin)*float64(width) }
	top := marginTop
	for i, pn := range p.Panels {
		if i > 0 {
			top += panelGap
		}
		h := pn.height()
		pn.draw(bw, p, top, width, h, xmin, xmax, xpos, i == len(p.Panels)-1)
		top += h
	}
	fmt.Fprintln(bw, `</svg>`)
	return bw.Flush()
}

func (pn Panel) height() int {
	if pn.Height > 0 {
		return pn.Height
	}
	return 260
}

func (pn Panel) draw(w io.Writer, p Plot, top, width, h int, xmin, xmax float64, xpos func(float64) float64, last bool) {
	bottom := float64(top + h)
	ymin, ymax := pn.yRange()
	ypos := func(y float64) float64 {
		if pn.LogY {
			return bottom - (math.Log10(y)-math.Log10(ymin))/(math.Log10(ymax)-math.Log10(ymin))*float64(h)
		}
		return bottom - (y-ymin)/(ymax-ymin)*float64(h)
	}
	for _, b := range p.Bands {
		x0, x1 := xpos(math.Max(b.From, xmin)), xpos(math.Min(b.To, xmax))
		if x1 <= x0 {
			continue
		}
		fmt.Fprintf(w, `<rect x="%.1f" y="%d" width="%.1f" height="%d" fill="#eee"/>`+"\n", x0, top, x1-x0, h)
		fmt.Fprintf(w, `<text x="%.1f" y="%d" fill="#888" font-size="11">%s</text>`+"\n", x0+4, top+14, esc(b.Label))
	}
	if pn.Title != "" {
		fmt.Fprintf(w, `<text x="%d" y="%d" font-weight="bold">%s</text>`+"\n", marginLeft, top-8, esc(pn.Title))
	}
	// Y grid and labels.
	for _, t := range yTicks(ymin, ymax, pn.LogY) {
		y := ypos(t)
		fmt.Fprintf(w, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#ddd"/>`+"\n", marginLeft, y, marginLeft+width, y)
		fmt.Fprintf(w, `<text x="%d" y="%.1f" text-anchor="end" dominant-baseline="middle">%s</text>`+"\n", marginLeft-6, y, label(t))
	}
	// X grid and labels.
	for _, t := range linTicks(xmin, xmax, 10) {
		x := xpos(t)
		fmt.Fprintf(w, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%.1f" stroke="#eee"/>`+"\n", x, top, x, bottom)
		if last {
			fmt.Fprintf(w, `<text x="%.1f" y="%.1f" text-anchor="middle">%s</text>`+"\n", x, bottom+16, label(t))
		}
	}
	fmt.Fprintf(w, `<rect x="%d" y="%d" width="%d" height="%d" fill="none" stroke="#333"/>`+"\n", marginLeft, top, width, h)
	fmt.Fprintf(w, `<text transform="translate(16 %.1f) rotate(-90)" text-anchor="middle">%s</text>`+"\n", float64(top)+float64(h)/2, esc(pn.YLabel))
	if last && p.XLabel != "" {
		fmt.Fprintf(w, `<text x="%.1f" y="%.1f" text-anchor="middle">%s</text>`+"\n", float64(marginLeft)+float64(width)/2, bottom+36, esc(p.XLabel))
	}
	// Lines and legend.
	for i, ln := range pn.Lines {
		color := ln.Color
		if color == "" {
			color = palette[i%len(palette)]
		}
		var d strings.Builder
		pen := false
		for j, y := range ln.Y {
			if j >= len(p.X) || !pn.drawable(y) {
				pen = false
				continue
			}
			y = math.Min(math.Max(y, ymin), ymax)
			cmd := 'L'
			if !pen {
				cmd = 'M'
			}
			fmt.Fprintf(&d, "%c%.1f %.1f ", cmd, xpos(p.X[j]), ypos(y))
			pen = true
		}
		if d.Len() > 0 {
			fmt.Fprintf(w, `<path d="%s" fill="none" stroke="%s" stroke-width="1.6" stroke-linejoin="round"/>`+"\n", strings.TrimSpace(d.String()), esc(color))
		}
		ly := top + 12 + i*18
		lx := marginLeft + width + 12
		fmt.Fprintf(w, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="3"/>`+"\n", lx, ly, lx+20, ly, esc(color))
		fmt.Fprintf(w, `<text x="%d" y="%d" dominant-baseline="middle">%s</text>`+"\n", lx+26, ly, esc(ln.Name))
	}
}

func (pn Panel) drawable(y float64) bool {
	return !math.IsNaN(y) && !math.IsInf(y, 0) && (!pn.LogY || y > 0)
}

// yRange returns the axis bounds: whole decades on a log axis, nice round
// numbers from zero on a linear one.
func (pn Panel) yRange() (float64, float64) {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, ln := range pn.Lines {
		for _, y := range ln.Y {
			if pn.drawable(y) {
				lo, hi = math.Min(lo, y), math.Max(hi, y)
			}
		}
	}
	if pn.LogY {
		if math.IsInf(lo, 1) {
			return 0.01, 1
		}
		lo = math.Pow(10, math.Floor(math.Log10(lo)))
		hi = math.Pow(10, math.Ceil(math.Log10(hi)))
		if hi <= lo {
			hi = lo * 10
		}
		return lo, hi
	}
	if math.IsInf(lo, 1) {
		return 0, 1
	}
	lo = math.Min(lo, 0)
	if hi <= lo {
		hi = lo + 1
	}
	step := niceStep((hi - lo) / 5)
	return lo, math.Ceil(hi/step) * step
}

func yTicks(lo, hi float64, log bool) []float64 {
	if !log {
		return linTicks(lo, hi, 6)
	}
	var out []float64
	for d := lo; d <= hi*1.0001; d *= 10 {
		out = append(out, d)
	}
	return out
}

func linTicks(lo, hi float64, n int) []float64 {
	step := niceStep((hi - lo) / float64(n))
	var out []float64
	for t := math.Ceil(lo/step) * step; t <= hi+step*1e-9; t += step {
		out = append(out, t)
	}
	return out
}

func niceStep(raw float64) float64 {
	if raw <= 0 {
		return 1
	}
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	switch f := raw / mag; {
	case f <= 1:
		return mag
	case f <= 2:
		return 2 * mag
	case f <= 5:
		return 5 * mag
	}
	return 10 * mag
}

func label(v float64) string {
	switch a := math.Abs(v); {
	case a >= 1e6:
		return trim(fmt.Sprintf("%.1fM", v/1e6))
	case a >= 1e4:
		return trim(fmt.Sprintf("%.1fk", v/1e3))
	case a >= 1 || a == 0:
		return trim(fmt.Sprintf("%.2f", v))
	}
	return trim(fmt.Sprintf("%.3g", v))
}

func trim(s string) string {
	unit := ""
	if n := len(s); n > 0 && (s[n-1] == 'k' || s[n-1] == 'M') {
		s, unit = s[:n-1], s[n-1:]
	}
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s + unit
}

func esc(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s)) // writes to a strings.Builder cannot fail
	return b.String()
}
