package load

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
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

// MaxUniverse is the largest symbol universe a Picker chooses from.
const MaxUniverse = 1 << 24

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
	dist       string
	n, k, kMax int
	seed       uint64
	z          zipf
}

// NewPicker returns a Picker of k symbols out of a universe of n, or, when
// kMax > k, of k to kMax symbols: each connection's count drawn
// log-uniformly (as many watchlists of 10 to 30 symbols as of 300 to
// 1,000), so watchlists of very different sizes meet on one server.
func NewPicker(dist string, n, k, kMax int, seed uint64) (*Picker, error) {
	if err := CheckDist(dist); err != nil {
		return nil, err
	}
	if n <= 0 || n > MaxUniverse {
		return nil, fmt.Errorf("load: universe of %d symbols, want 1..%d", n, MaxUniverse)
	}
	k = min(max(k, 0), n)
	p := &Picker{dist: dist, n: n, k: k, kMax: min(max(kMax, k), n), seed: seed}
	if dist == DistZipf {
		p.z = newZipf(n, zipfS)
	}
	return p, nil
}

// Pick returns the universe indexes connection gidx subscribes to, in
// increasing order.
func (p *Picker) Pick(gidx int) []uint32 {
	rng := rand.New(rand.NewPCG(p.seed, uint64(gidx)))
	k := p.k
	if p.kMax > p.k && p.k > 0 {
		lo, hi := math.Log(float64(p.k)), math.Log(float64(p.kMax)+1)
		k = min(int(math.Exp(lo+rng.Float64()*(hi-lo))), p.kMax)
	}
	out := make([]uint32, 0, k)
	if p.dist == DistSame {
		for i := range k {
			out = append(out, uint32(i))
		}
		return out
	}
	used := make(map[int]bool, k)
	add := func(i int) {
		if !used[i] {
			used[i] = true
			out = append(out, uint32(i))
		}
	}
	if p.dist == DistUniform {
		for len(out) < k {
			add(rng.IntN(p.n))
		}
	} else {
		for tries := 0; len(out) < k && tries < 100*k; tries++ {
			add(p.z.draw(rng.Float64()))
		}
		for i := 0; len(out) < k; i++ { // rare: k close to n
			add(i)
		}
	}
	slices.Sort(out)
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
