package sim

import (
	"math"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/shopspring/decimal"
	"github.com/tickerd/tickerd/feed"
)

// The option chains of universe mode.
const (
	expiries   = 8    // daily expiries listed at once: a contract lives up to 8 trading days
	strikesDef = 25   // strikes per expiry and right, when the universe allows
	listBatch  = 1000 // symbols per List or Delist call
	optionVol  = 0.3  // annual volatility of the Black-Scholes start prices
)

// firstDay is the calendar date of trading day 0. Trading days skip
// weekends; the calendar has no holidays.
var firstDay = time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC) // a Monday

// cent is the tick size of generated symbols, shared by all of them.
var cent = decimal.New(1, -2)

// universe is the generated part of a large universe: equities with
// generated names, and option slots. A slot is one contract of a chain
// (underlying, strike on the ladder, call or put, expiry among the listed
// ones); when its contract expires, the slot lists the contract of the
// next expiry, with strikes around the underlying's price of that day. So
// the number of symbols stays the same from day to day.
type universe struct {
	dayUpdates uint64 // updates per trading day
	day        int    // the current trading day, 0 at the first update
	strikes    int    // strikes per expiry and right
	first      int    // index in m.syms of the first option slot
	slots      []slot // parallel to m.syms[first:]

	// Reused buffers for List and Delist.
	batch []feed.Symbol
	names []string
}

// slot is the static description of an option slot; the contract listed in
// it lives in the symbol at the same index.
type slot struct {
	under  int32  // index of the underlying in m.syms
	strike uint16 // index on the strike ladder, 0..strikes-1
	put    bool
	exp    int32 // the trading day at whose end the listed contract expires
}

// newUniverse appends generated equities and option slots to m.syms, the
// built-in symbols, to make n symbols in all. Names and start prices depend
// on n only, not on the seed: every run of a universe of n has the same
// symbols on its first day.
func newUniverse(m *Market, n int, dayUpdates uint64) *universe {
	u := &universe{dayUpdates: dayUpdates}
	rng := rand.New(rand.NewPCG(uint64(n), 0x756e697665727365)) // "universe"
	rest := n - len(m.syms)
	neq, nopt := rest/10, rest-rest/10
	depth := min(uint16(quietDepth), m.syms[0].depth)

	taken := map[string]bool{}
	for i := range m.syms {
		taken[m.syms[i].sym.Name] = true
		taken[root(m.syms[i].sym.Name)] = true
	}
	for i := 0; neq > 0; i++ {
		name := ticker(i)
		if taken[name] {
			continue
		}
		neq--
		dollars := 5 * math.Exp(rng.Float64()*math.Log(60)) // $5 to $300, log-uniform
		m.syms = append(m.syms, symbol{
			sym:    feed.Symbol{Name: name, Class: ClassEquity, PricePrec: 2, TickSize: cent},
			tick:   1,
			open:   max(int64(dollars*100), 10*kinds[kindEquity].floor),
			weight: float32(zipf(len(m.syms))),
			kind:   kindEquity,
			depth:  depth,
		})
	}
	if nopt == 0 {
		return u
	}

	var under []int32
	for i := range m.syms {
		if m.syms[i].kind == kindEquity {
			under = append(under, int32(i))
		}
	}
	nu := min(len(under), (nopt+2*expiries*strikesDef-1)/(2*expiries*strikesDef))
	u.strikes = (nopt + 2*expiries*nu - 1) / (2 * expiries * nu)
	u.first = len(m.syms)
	u.slots = make([]slot, 0, nopt)
	for _, ui := range under[:nu] {
		for e := range expiries {
			for k := range u.strikes {
				for _, put := range [2]bool{false, true} {
					if len(u.slots) == nopt {
						break
					}
					u.slots = append(u.slots, slot{under: ui, strike: uint16(k), put: put, exp: int32(e)})
					m.syms = append(m.syms, symbol{
						sym:   feed.Symbol{Class: ClassOption, PricePrec: 2, TickSize: cent},
						tick:  1,
						kind:  kindOption,
						depth: depth,
					})
				}
			}
		}
	}
	return u
}

// ticker returns the i-th generated equity name: four letters, in an
// order that looks random (i times a number prime to 26^4).
func ticker(i int) string {
	const space = 26 * 26 * 26 * 26
	j := (i*7919 + 12345) % space
	var b [4]byte
	for k := 3; k >= 0; k-- {
		b[k] = byte('A' + j%26)
		j /= 26
	}
	return string(b[:])
}

// root is the option root of an equity: its name without punctuation
// ("BRK.B" gives "BRKB").
func root(name string) string {
	b := make([]byte, 0, len(name))
	for i := 0; i < len(name); i++ {
		if c := name[i]; c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' {
			b = append(b, c)
		}
	}
	return string(b)
}

// advance lists and delists at day boundaries: every slot's contract at the
// first update, and at the start of each later day the contracts that
// expired at the end of the day before are delisted and their slots list
// the next expiry.
func (u *universe) advance(m *Market, sink feed.Sink) {
	switch {
	case m.n == 0:
		for i := range u.slots {
			u.list(m, i, sink)
		}
	case m.n%u.dayUpdates == 0:
		u.day++
		u.release(m)
		expired := int32(u.day - 1)
		for i := range u.slots {
			if u.slots[i].exp == expired {
				u.names = append(u.names, m.syms[u.first+i].sym.Name)
				u.flush(sink, listBatch)
			}
		}
		u.flush(sink, 1)
		for i := range u.slots {
			if sl := &u.slots[i]; sl.exp == expired {
				sl.exp += expiries
				u.list(m, i, sink)
			}
		}
	default:
		return
	}
	u.flush(sink, 1)
	m.weigh()
}

// release frees the books of the symbols that did not update during the
// day that ended: their next update publishes a fresh snapshot. So the
// memory of books follows the symbols that trade, not the universe.
func (u *universe) release(m *Market) {
	for i := range m.syms {
		if s := &m.syms[i]; !s.active {
			s.book = nil
		} else {
			s.active = false
		}
	}
}

// relist lists every contract listed now again, for a sink that was not
// there when they were listed (a second Run).
func (u *universe) relist(m *Market, sink feed.Sink) {
	for i := range u.slots {
		u.batch = append(u.batch, m.syms[u.first+i].sym)
		u.flush(sink, listBatch)
	}
	u.flush(sink, 1)
}

// flush hands the pending listings and delistings to sink once at least
// atLeast of them wait.
func (u *universe) flush(sink feed.Sink, atLeast int) {
	if len(u.names) >= atLeast {
		sink.Delist(u.names)
		clear(u.names)
		u.names = u.names[:0]
	}
	if len(u.batch) >= atLeast {
		sink.List(u.batch)
		clear(u.batch)
		u.batch = u.batch[:0]
	}
}

// list makes slot i's symbol the contract expiring at the end of the slot's
// day, with a strike on a ladder around the underlying's fair price now and
// a Black-Scholes start price, and queues its listing.
func (u *universe) list(m *Market, i int, sink feed.Sink) {
	sl := &u.slots[i]
	s, und := &m.syms[u.first+i], &m.syms[sl.under]
	spot := float64(und.fair) / 100 // underlyings are in cents
	step := niceStep(spot * 0.6 / float64(u.strikes))
	atm := int64(math.Round(spot*1000/float64(step))) * step
	low := max(atm-int64(u.strikes/2)*step, step)
	strike := low + int64(sl.strike)*step // in thousandths, as OCC writes it
	days := float64(sl.exp) - float64(u.day) + 1
	k := float64(strike) / 1000
	price := blackScholes(spot, k, days/252, optionVol, sl.put)

	s.sym.Name = occ(root(und.sym.Name), date(int(sl.exp)), sl.put, strike)
	s.open = max(int64(math.Round(price*100)), kinds[kindOption].floor)
	// Near the money and near expiry trade the most.
	s.weight = und.weight * 0.01 * float32(math.Exp(-8*math.Abs(math.Log(k/spot)))/(1+days/2))
	s.start()
	u.batch = append(u.batch, s.sym)
	u.flush(sink, listBatch)
}

// niceStep rounds x (dollars) down to a strike interval OCC would use:
// 1, 2.5 or 5 times a power of ten, at least a cent. The result is in
// thousandths of a dollar.
func niceStep(x float64) int64 {
	milli := int64(10)
	for _, p := range []int64{10, 100, 1000, 10000, 100000, 1000000} {
		for _, f := range []int64{10, 25, 50} {
			if v := f * p / 10; float64(v) <= x*1000 {
				milli = v
			}
		}
	}
	return milli
}

// date returns the calendar date of trading day d.
func date(d int) time.Time {
	return firstDay.AddDate(0, 0, d/5*7+d%5)
}

// occ returns an OCC-style option symbol without the padding spaces: root,
// expiry YYMMDD, C or P, strike in thousandths on eight digits, e.g.
// "AAPL261218C00190000".
func occ(root string, exp time.Time, put bool, strike int64) string {
	b := make([]byte, 0, len(root)+15)
	b = append(b, root...)
	y, mo, d := exp.Date()
	b = append2(b, y%100)
	b = append2(b, int(mo))
	b = append2(b, d)
	if put {
		b = append(b, 'P')
	} else {
		b = append(b, 'C')
	}
	var buf [20]byte
	digits := strconv.AppendInt(buf[:0], strike, 10)
	for range 8 - len(digits) {
		b = append(b, '0')
	}
	return string(append(b, digits...))
}

func append2(b []byte, v int) []byte { return append(b, byte('0'+v/10), byte('0'+v%10)) }

// blackScholes prices a European option with no rates and no dividends:
// spot and strike in dollars, t in years.
func blackScholes(spot, strike, t, vol float64, put bool) float64 {
	sd := vol * math.Sqrt(t)
	d1 := (math.Log(spot/strike) + sd*sd/2) / sd
	d2 := d1 - sd
	call := spot*normCDF(d1) - strike*normCDF(d2)
	if put {
		return call - spot + strike // put-call parity
	}
	return call
}

func normCDF(x float64) float64 { return 0.5 * math.Erfc(-x/math.Sqrt2) }
