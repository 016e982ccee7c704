package protocol

import (
	"hash/crc32"
	"strconv"
	"sync"
)

// BookPrefix starts every "book" message AppendBook writes.
const BookPrefix = `{"type":"book",`

// ChecksumLevels is how many levels per side BookChecksum covers.
const ChecksumLevels = 10

// BookMessage is a "book" message: one depth's view of a symbol's order
// book, either whole (Snapshot) or as the levels that changed since the
// view at PrevSeq (a delta). A client that holds the view at PrevSeq and
// applies a delta holds the server's view at Seq.
type BookMessage struct {
	Symbol string
	Depth  int // levels per side of the view: 10, 50 or 200
	// Seq names the view after this message: the feed seq of the last
	// update that changed the view. PrevSeq names the view a delta applies
	// to; it is 0 in a snapshot.
	Seq      uint64
	PrevSeq  uint64
	Snapshot bool
	// Bids best first (descending price), Asks best first (ascending). In
	// a delta a Size of 0 removes the level; any other size is the level's
	// new size, adding it if the client does not have it.
	Bids []Level
	Asks []Level
	// Checksum is BookChecksum of the book's top ChecksumLevels levels per
	// side after the message.
	Checksum uint32
	TS       int64 // event time of the update at Seq, Unix nanoseconds

	// PricePrec and SizePrec are the decimal places of prices and sizes.
	// DecodeBook sets one to -1 when no value in the message shows it: no
	// level at all, or no size but removals.
	PricePrec int32
	SizePrec  int32
}

// AppendBook appends m as a "book" message to dst, fields in the order
// shown in the package doc. Prices and sizes are written with exactly
// PricePrec and SizePrec decimals, except that a delta's removals have
// size "0". It does not allocate when dst has room.
func AppendBook(dst []byte, m *BookMessage) []byte {
	dst = append(dst, BookPrefix...)
	dst = append(dst, `"symbol":`...)
	dst = AppendString(dst, m.Symbol)
	dst = append(dst, `,"depth":`...)
	dst = strconv.AppendInt(dst, int64(m.Depth), 10)
	dst = append(dst, `,"seq":`...)
	dst = strconv.AppendUint(dst, m.Seq, 10)
	if m.Snapshot {
		dst = append(dst, `,"snapshot":true`...)
	} else {
		dst = append(dst, `,"prev_seq":`...)
		dst = strconv.AppendUint(dst, m.PrevSeq, 10)
	}
	dst = append(dst, `,"bids":`...)
	dst = appendLevels(dst, m.Bids, m.PricePrec, m.SizePrec)
	dst = append(dst, `,"asks":`...)
	dst = appendLevels(dst, m.Asks, m.PricePrec, m.SizePrec)
	dst = append(dst, `,"checksum":`...)
	dst = strconv.AppendUint(dst, uint64(m.Checksum), 10)
	dst = append(dst, `,"ts":`...)
	dst = strconv.AppendInt(dst, m.TS, 10)
	return append(dst, '}')
}

// appendLevels appends levels as [["price","size"],…].
func appendLevels(dst []byte, levels []Level, pricePrec, sizePrec int32) []byte {
	dst = append(dst, '[')
	for i, l := range levels {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, `["`...)
		dst = AppendFixed(dst, l.Price, pricePrec)
		dst = append(dst, `","`...)
		if l.Size == 0 {
			dst = append(dst, '0')
		} else {
			dst = AppendFixed(dst, l.Size, sizePrec)
		}
		dst = append(dst, `"]`...)
	}
	return append(dst, ']')
}

// BookChecksum is Kraken's order book checksum, computed over the first
// ChecksumLevels levels of asks (best first: ascending) and then of bids
// (best first: descending). Each level contributes its price string and
// then its size string, as AppendBook writes them at pricePrec and
// sizePrec decimals, with the decimal point removed and then the leading
// zeros: "91549.30" gives "9154930" and "0.00100000" gives "100000". The
// checksum is the CRC-32 (IEEE) of the concatenation, unsigned. Sides
// shorter than ChecksumLevels contribute the levels they have.
func BookChecksum(bids, asks []Level, pricePrec, sizePrec int32) uint32 {
	buf := checksumBufs.Get().(*checksumBuf)
	b := buf[:0]
	for _, l := range asks[:min(len(asks), ChecksumLevels)] {
		b = appendChecksumValue(b, l.Price, pricePrec)
		b = appendChecksumValue(b, l.Size, sizePrec)
	}
	for _, l := range bids[:min(len(bids), ChecksumLevels)] {
		b = appendChecksumValue(b, l.Price, pricePrec)
		b = appendChecksumValue(b, l.Size, sizePrec)
	}
	sum := crc32.ChecksumIEEE(b)
	checksumBufs.Put(buf)
	return sum
}

// checksumBuf holds the text of a checksum: 20 levels of two int64 values,
// 19 digits and a sign each. Passing a stack buffer to crc32 would move it
// to the heap, so BookChecksum reuses these.
type checksumBuf [2 * ChecksumLevels * 2 * 20]byte

var checksumBufs = sync.Pool{New: func() any { return new(checksumBuf) }}

// appendChecksumValue appends the checksum form of v at prec: its decimal
// string without the point and without leading zeros. For v > 0 and
// prec >= 0 that is just the digits of v.
func appendChecksumValue(dst []byte, v int64, prec int32) []byte {
	if v > 0 && prec >= 0 {
		return strconv.AppendUint(dst, uint64(v), 10)
	}
	var buf [48]byte
	return appendChecksumText(dst, AppendFixed(buf[:0], v, prec))
}

// appendChecksumText appends text (a decimal string) with the '.' removed
// and then the leading zeros.
func appendChecksumText(dst, text []byte) []byte {
	lead := true
	for _, c := range text {
		if c == '.' || c == '0' && lead {
			continue
		}
		lead = false
		dst = append(dst, c)
	}
	return dst
}
