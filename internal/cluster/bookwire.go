package cluster

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/tickerd/tickerd/protocol"
)

// Book updates travel between nodes in a compact binary form, in the
// fixed point the book keeps (protocol.Level), not as client frames: each
// node's hub encodes its own frames per depth from the same updates, and
// gets the same bytes. The layout, varints as encoding/binary writes them:
//
//	byte     'b' (the format)
//	byte     flags: 1 = snapshot, 2 = views (only with 1)
//	uvarint  epoch, seq
//	varint   ts, price precision, size precision
//	         with flag 2, for depths 10, 50 and 200 in turn: uvarint the
//	         view's seq, varint its ts (BookUpdate.Views)
//	uvarint  number of bids, then for each: varint price minus the
//	         previous bid's price (the first one's minus 0), varint size
//	uvarint  number of asks, then the same
//
// Sorted levels make the price steps small: a snapshot of the simulated
// market's 200-level books takes 3 to 6 bytes a level, an update about 32
// bytes. The views let an edge that loads a stored snapshot keep the feed
// node's view versions, so that its clients get the same book messages.
const (
	bookFormat   = 'b'
	bookSnapshot = 1
	bookViews    = 2
)

var errBookWire = errors.New("cluster: malformed book message")

// appendBookWire appends u (all but its symbol, which the subject names)
// to dst.
func appendBookWire(dst []byte, u *protocol.BookUpdate) []byte {
	flags := byte(0)
	if u.Snapshot {
		flags |= bookSnapshot
		if u.Views != ([3]protocol.BookView{}) {
			flags |= bookViews
		}
	}
	dst = append(dst, bookFormat, flags)
	dst = binary.AppendUvarint(dst, u.Epoch)
	dst = binary.AppendUvarint(dst, u.Seq)
	dst = binary.AppendVarint(dst, u.TS)
	dst = binary.AppendVarint(dst, int64(u.PricePrec))
	dst = binary.AppendVarint(dst, int64(u.SizePrec))
	if flags&bookViews != 0 {
		for _, v := range u.Views {
			dst = binary.AppendUvarint(dst, v.Seq)
			dst = binary.AppendVarint(dst, v.TS)
		}
	}
	for _, side := range [2][]protocol.Level{u.Bids, u.Asks} {
		dst = binary.AppendUvarint(dst, uint64(len(side)))
		prev := int64(0)
		for _, l := range side {
			dst = binary.AppendVarint(dst, l.Price-prev) // wraps for extreme steps; decoding wraps back
			dst = binary.AppendVarint(dst, l.Size)
			prev = l.Price
		}
	}
	return dst
}

// decodeBookWire reads a message appendBookWire wrote into u, reusing
// u.Bids and u.Asks; it sets every field but Symbol. It allocates only to
// grow them, never more than the message's length can fill, and rejects
// precisions outside 0 to protocol.MaxDecimalExponent and trailing bytes.
func decodeBookWire(data []byte, u *protocol.BookUpdate) error {
	if len(data) < 2 || data[0] != bookFormat || data[1]&^(bookSnapshot|bookViews) != 0 || data[1] == bookViews {
		return errBookWire
	}
	r := wireReader{data: data[2:]}
	u.Snapshot = data[1]&bookSnapshot != 0
	u.Epoch = r.uvarint()
	u.Seq = r.uvarint()
	u.TS = r.varint()
	pp, sp := r.varint(), r.varint()
	if r.err == nil && (pp < 0 || pp > protocol.MaxDecimalExponent || sp < 0 || sp > protocol.MaxDecimalExponent) {
		r.err = fmt.Errorf("%w: precisions %d/%d", errBookWire, pp, sp)
	}
	u.PricePrec, u.SizePrec = int32(pp), int32(sp)
	u.Views = [3]protocol.BookView{}
	if data[1]&bookViews != 0 {
		for i := range u.Views {
			u.Views[i] = protocol.BookView{Seq: r.uvarint(), TS: r.varint()}
		}
	}
	u.Bids = r.levels(u.Bids[:0])
	u.Asks = r.levels(u.Asks[:0])
	if r.err == nil && len(r.data) != 0 {
		r.err = fmt.Errorf("%w: %d bytes after the asks", errBookWire, len(r.data))
	}
	return r.err
}

// wireReader reads varints until the first error.
type wireReader struct {
	data []byte
	err  error
}

func (r *wireReader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.data)
	if n <= 0 {
		r.err = errBookWire
		return 0
	}
	r.data = r.data[n:]
	return v
}

func (r *wireReader) varint() int64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Varint(r.data)
	if n <= 0 {
		r.err = errBookWire
		return 0
	}
	r.data = r.data[n:]
	return v
}

// levels reads a count and that many levels, appended to dst.
func (r *wireReader) levels(dst []protocol.Level) []protocol.Level {
	n := r.uvarint()
	if r.err == nil && n > uint64(len(r.data)/2) { // a level takes two bytes at least
		r.err = fmt.Errorf("%w: %d levels in %d bytes", errBookWire, n, len(r.data))
	}
	if r.err != nil {
		return dst
	}
	if n > uint64(cap(dst)-len(dst)) {
		dst = append(make([]protocol.Level, 0, len(dst)+int(n)), dst...)
	}
	price := int64(0)
	for range n {
		step, size := r.varint(), r.varint()
		if r.err != nil {
			return dst
		}
		price += step // wraps as the encoder did
		dst = append(dst, protocol.Level{Price: price, Size: size})
	}
	return dst
}
