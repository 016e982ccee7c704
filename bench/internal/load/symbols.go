package load

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// Distributions of the symbols a connection subscribes to.
const (
	DistSame    = "same"    // every connection: the first K symbols
	DistUniform = "uniform" // K distinct symbols, uniformly at random
	DistZipf    = "zipf"    // K distinct symbols, popular (early) ones far more often, like watchlists
)

// zipfS is the Zipf exponent of DistZipf: the first symbol is chosen about
// twice as often as the second.
const zipfS = 1.1

// CheckDist returns an error for an unknown distribution name.
func CheckDist(d string) error {
	switch d {
	case DistSame, DistUniform, DistZipf:
		return nil
	}
	return fmt.Errorf("load: unknown distribution %q (same, uniform, zipf)", d)
}

// Picker chooses the symbols each connection subscribes to. The choice
// depends only on the Picker's settings and the connection's global index, so
// every worker process picks the same way.
type Picker struct {
	dist string
	n, k int
	seed uint64
	z    zipf
}

// NewPicker returns a Picker of k symbols out of a universe of n.
func NewPicker(dist string, n, k int, seed uint64) (*Picker, error) {
	if err := CheckDist(dist); err != nil {
		return nil, err
	}
	if n <= 0 || n > 1<<16 {
		return nil, fmt.Errorf("load: universe of %d symbols, want 1..65536", n)
	}
	p := &Picker{dist: dist, n: n, k: min(max(k, 0), n), seed: seed}
	if dist == DistZipf {
		p.z = newZipf(n, zipfS)
	}
	return p, nil
}

// Pick returns the universe indexes connection gidx subscribes to.
func (p *Picker) Pick(gidx int) []uint16 {
	n, k := p.n, p.k
	out := make([]uint16, 0, k)
	if p.dist == DistSame {
		for i := range k {
			out = append(out, uint16(i))
		}
		return out
	}
	rng := rand.New(rand.NewPCG(p.seed, uint64(gidx)))
	used := make(map[int]bool, k)
	add := func(i int) {
		if !used[i] {
			used[i] = true
			out = append(out, uint16(i))
		}
	}
	if p.dist == DistUniform {
		for len(out) < k {
			add(rng.IntN(n))
		}
		return out
	}
	for tries := 0; len(out) < k && tries < 100*k; tries++ {
		add(p.z.draw(rng.Float64()))
	}
	for i := 0; len(out) < k; i++ { // rare: k close to n
		add(i)
	}
	return out
}

// zipf draws ranks 0..n-1 with probability proportional to 1/(rank+1)^s.
type zipf struct{ cum []float64 }

func newZipf(n int, s float64) zipf {
	cum := make([]float64, n)
	total := 0.0
	for i := range n {
		total += 1 / math.Pow(float64(i+1), s)
		cum[i] = total
	}
	for i := range cum {
		cum[i] /= total
	}
	return zipf{cum}
}

// draw maps u in [0, 1) to a rank.
func (z zipf) draw(u float64) int {
	lo, hi := 0, len(z.cum)-1
	for lo < hi {
		mid := (lo + hi) / 2
		if z.cum[mid] <= u {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo
}
