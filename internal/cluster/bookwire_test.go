package cluster

import (
	"math"
	"reflect"
	"testing"

	"github.com/tickerd/tickerd/protocol"
)

func TestBookWireRoundTrip(t *testing.T) {
	for _, u := range []protocol.BookUpdate{
		{Seq: 1, Epoch: 1763718000123, TS: 1763718000123456789, Snapshot: true, PricePrec: 2, SizePrec: 8,
			Bids: []protocol.Level{{Price: 9154930, Size: 52000000}, {Price: 9154920, Size: 1}},
			Asks: []protocol.Level{{Price: 9154940, Size: 120000000}}},
		{Seq: 2, Epoch: 1, TS: -5, PricePrec: 0, SizePrec: 0, Bids: []protocol.Level{{Price: 10, Size: 0}}},
		{Seq: 9, Epoch: 2, TS: 9, Snapshot: true, PricePrec: 1, SizePrec: 1, Bids: []protocol.Level{{Price: 10, Size: 1}},
			Views: [3]protocol.BookView{{Seq: 7, TS: 7}, {Seq: 8, TS: -8}, {Seq: math.MaxUint64, TS: math.MinInt64}}},
		{Seq: math.MaxUint64, Epoch: math.MaxUint64, TS: math.MinInt64, PricePrec: 30, SizePrec: 30,
			Bids: []protocol.Level{{Price: math.MaxInt64, Size: -1}, {Price: math.MinInt64 + 1, Size: math.MaxInt64}},
			Asks: []protocol.Level{{Price: math.MinInt64, Size: math.MinInt64}, {Price: math.MaxInt64, Size: 0}}},
		{},
	} {
		data := appendBookWire(nil, &u)
		var got protocol.BookUpdate
		if err := decodeBookWire(data, &got); err != nil {
			t.Fatalf("decode(%x): %v", data, err)
		}
		got.Symbol = u.Symbol
		if len(got.Bids) == 0 {
			got.Bids = u.Bids
		}
		if len(got.Asks) == 0 {
			got.Asks = u.Asks
		}
		if !reflect.DeepEqual(got, u) {
			t.Errorf("round trip of %+v gave %+v", u, got)
		}
	}
}

func TestDecodeBookWireRejects(t *testing.T) {
	good := appendBookWire(nil, &protocol.BookUpdate{Seq: 1, Bids: []protocol.Level{{Price: 1, Size: 1}}})
	for name, data := range map[string][]byte{
		"empty":          nil,
		"other format":   append([]byte{'x'}, good[1:]...),
		"unknown flag":   append([]byte{bookFormat, 4}, good[2:]...),
		"views, no snap": append([]byte{bookFormat, bookViews}, good[2:]...),
		"truncated":      good[:len(good)-1],
		"trailing":       append(append([]byte(nil), good...), 0),
		"huge count":     {bookFormat, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x0f, 1, 1},
		"bad precision":  appendBookWire(nil, &protocol.BookUpdate{PricePrec: 31}),
		"negative prec":  appendBookWire(nil, &protocol.BookUpdate{SizePrec: -1}),
	} {
		var u protocol.BookUpdate
		if err := decodeBookWire(data, &u); err == nil {
			t.Errorf("%s: decodeBookWire(%x) = nil, want an error", name, data)
		}
	}
}

func TestDecodeBookWireReuses(t *testing.T) {
	data := appendBookWire(nil, &protocol.BookUpdate{Bids: make([]protocol.Level, 50), Asks: make([]protocol.Level, 50)})
	var u protocol.BookUpdate
	if err := decodeBookWire(data, &u); err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(100, func() { _ = decodeBookWire(data, &u) }); n != 0 {
		t.Errorf("decodeBookWire into a grown update allocates %v times, want 0", n)
	}
}

func FuzzBookWire(f *testing.F) {
	f.Add(appendBookWire(nil, &protocol.BookUpdate{Seq: 7, Epoch: 3, Snapshot: true, PricePrec: 2,
		Bids: []protocol.Level{{Price: 100, Size: 2}, {Price: 99, Size: 1}}, Asks: []protocol.Level{{Price: 101, Size: 5}}}))
	f.Add([]byte{bookFormat, 0, 1, 1, 0, 0, 0, 0, 0})
	f.Add(appendBookWire(nil, &protocol.BookUpdate{Seq: 9, Epoch: 3, Snapshot: true, PricePrec: 2,
		Views: [3]protocol.BookView{{Seq: 4, TS: 40}, {Seq: 8, TS: 80}, {Seq: 9, TS: 90}},
		Bids:  []protocol.Level{{Price: 100, Size: 2}}, Asks: []protocol.Level{{Price: 101, Size: 5}}}))
	f.Fuzz(func(t *testing.T, data []byte) {
		var u protocol.BookUpdate
		if err := decodeBookWire(data, &u); err != nil {
			return
		}
		if n := len(u.Bids) + len(u.Asks); n > len(data)/2 {
			t.Fatalf("%d levels from %d bytes", n, len(data))
		}
		again := appendBookWire(nil, &u)
		var v protocol.BookUpdate
		if err := decodeBookWire(again, &v); err != nil {
			t.Fatalf("decoding the re-encoding of %x: %v", data, err)
		}
		if !reflect.DeepEqual(u, v) {
			t.Fatalf("%x decodes to %+v, its re-encoding to %+v", data, u, v)
		}
	})
}

func FuzzSymbolDefinition(f *testing.F) {
	f.Add("EUR_2FUSD", []byte(`{"name":"EUR/USD","class":"fx","price_prec":5,"volume_prec":0,"tick_size":"0.00001"}`))
	f.Add("AAPL", []byte(`{"name":"AAPL","price_prec":2,"volume_prec":0,"tick_size":"0.01"}`))
	f.Fuzz(func(t *testing.T, token string, data []byte) {
		s, err := decodeSymbol(token, data)
		if err != nil {
			return
		}
		enc, err := encodeSymbol(s)
		if err != nil {
			t.Fatal(err)
		}
		back, err := decodeSymbol(token, enc)
		if err != nil || !sameSymbol(back, s) {
			t.Fatalf("%s decodes to %+v; its re-encoding %s to %+v, %v", data, s, enc, back, err)
		}
	})
}
