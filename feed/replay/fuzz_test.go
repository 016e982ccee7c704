package replay

import (
	"slices"
	"testing"

	"github.com/tickerd/tickerd/protocol"
)

// FuzzDecodeLine fuzzes the NDJSON line decoder (seed corpus in
// testdata/fuzz/FuzzDecodeLine). Whatever the line, decoding ends in a
// record or an error, never a panic. A "book", "listed" or "delisted" line
// that decodes is written again the way the Recorder writes it and decodes
// to the same record; every level of a book converts to fixed point at the
// precision the line was learned with. Ticks, trades and the delisted
// message itself are fuzzed in package protocol.
func FuzzDecodeLine(f *testing.F) {
	f.Add([]byte(`{"type":"book","symbol":"BTC-USD","seq":500,"snapshot":true,"bids":[["91549.30","0.52"]],"asks":[["91549.40","1.2"]],"ts":1}`))
	f.Add([]byte(`{"type":"listed","symbol":"X","class":"option","price_prec":2,"volume_prec":0,"tick_size":"0.05"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		r := &ndjsonReader{seq: map[seqKey]uint64{}}
		rec, _, err := r.decode(data)
		if err != nil {
			return
		}
		var enc []byte
		switch rec.kind {
		case kindBook:
			enc = appendBook(nil, fixedBook(t, &rec.book))
		case kindListed:
			enc = appendListed(nil, &rec.sym)
		case kindDelisted:
			enc = protocol.AppendDelisted(nil, rec.sym.Name, 0)
		default:
			return
		}
		again, _, err := r.decode(enc)
		if err != nil || again.kind != rec.kind {
			t.Fatalf("%q decodes to %+v; written again as %s it decodes to %+v, %v", data, rec, enc, again, err)
		}
		switch rec.kind {
		case kindBook:
			a, b := fixedBook(t, &rec.book), fixedBook(t, &again.book)
			if a.Symbol != b.Symbol || a.Seq != b.Seq || a.TS != b.TS || a.Snapshot != b.Snapshot ||
				!slices.Equal(a.Bids, b.Bids) || !slices.Equal(a.Asks, b.Asks) {
				t.Fatalf("%q decodes to %+v; written again as %s it decodes to %+v", data, a, enc, b)
			}
		case kindListed:
			a, b := rec.sym, again.sym
			if a.Name != b.Name || a.Class != b.Class || a.PricePrec != b.PricePrec || a.VolumePrec != b.VolumePrec || !a.TickSize.Equal(b.TickSize) {
				t.Fatalf("%q decodes to %+v; written again as %s it decodes to %+v", data, a, enc, b)
			}
		case kindDelisted:
			if again.sym.Name != rec.sym.Name {
				t.Fatalf("%q delists %q; written again as %s it delists %q", data, rec.sym.Name, enc, again.sym.Name)
			}
		}
	})
}

// fixedBook converts a decoded book line to fixed point at the precisions
// learned from it, as play does; that must not fail.
func fixedBook(t *testing.T, l *bookLine) *protocol.BookUpdate {
	b := &protocol.BookUpdate{Symbol: l.Symbol, Seq: l.Seq, TS: l.TS, Snapshot: l.Snapshot, PricePrec: l.pricePrec, SizePrec: l.sizePrec}
	var err error
	if b.Bids, err = fixedLevels(nil, l.Bids, l.pricePrec, l.sizePrec); err == nil {
		b.Asks, err = fixedLevels(nil, l.Asks, l.pricePrec, l.sizePrec)
	}
	if err != nil {
		t.Fatalf("book %+v does not convert at %d/%d decimals: %v", l, l.pricePrec, l.sizePrec, err)
	}
	return b
}
