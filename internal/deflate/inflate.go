package deflate

import (
	"io"

	"github.com/klauspost/compress/flate"

	"github.com/tickerd/tickerd/internal/wsframe"
)

// Errors of Inflate. Each names the close code to fail the connection
// with: RFC 7692 names none for a payload that is not DEFLATE, and 1007
// is RFC 6455's code for a message whose data does not match its type
// (here: RSV1 says DEFLATE). An RSV1 bit where RFC 7692 section 6 forbids
// it (a control frame, a continuation frame, a connection that did not
// negotiate compression) is a framing error, 1002, caught before a
// message reaches Inflate (wsframe.Header.Check with wsframe.Rsv1).
var (
	ErrTooBig  = &wsframe.ProtocolError{Status: wsframe.StatusMessageTooBig, Reason: "message too big once inflated"}
	ErrCorrupt = &wsframe.ProtocolError{Status: wsframe.StatusInvalidFramePayloadData, Reason: "invalid compressed data"}
)

// readTail follows a message's payload into the decompressor: the empty
// stored block the sender removed (RFC 7692 section 7.2.2), then an empty
// final block so that a whole message ends in io.EOF and a truncated one
// in an error.
var readTail = [...]byte{0x00, 0x00, 0xff, 0xff, 0x01, 0x00, 0x00, 0xff, 0xff}

// Inflater inflates compressed client messages under a size limit. A
// client told client_no_context_takeover (see Negotiation) compresses each
// message from a fresh window, so one Inflater serves every connection a
// reader goroutine handles, one message at a time: it holds the
// decompressor (about 40 KiB) and an output buffer that grows to the
// limit. It is not safe for concurrent use; give each reader its own.
//
//	msg, err := inf.Inflate(payload) // payload: the frames' payloads, joined
//	if err != nil {
//		// close with err.(*wsframe.ProtocolError).Status: 1009 or 1007
//	}
type Inflater struct {
	limit int
	fr    io.ReadCloser // a flate.Resetter; nil until the first message
	in    input
	out   []byte // cap at most limit+1
}

// NewInflater returns an Inflater whose messages may inflate to at most
// limit bytes (the limit on plain messages).
func NewInflater(limit int) *Inflater {
	return &Inflater{limit: max(limit, 0)}
}

// Inflate returns the message whose compressed payload is p: the payloads
// of all its frames in order, the first of which had RSV1 set. The result
// is valid until the next call. It fails with ErrTooBig as soon as the
// output passes the limit, whatever p would inflate to, and with
// ErrCorrupt when p is not a DEFLATE stream cut as RFC 7692 section 7.2.1
// says. An empty p is the empty message. Bytes after a final DEFLATE block
// are ignored (section 7.2.3.4 lets a sender end with one).
func (f *Inflater) Inflate(p []byte) ([]byte, error) {
	if len(p) == 0 {
		return f.out[:0], nil
	}
	f.in = input{p: p, tail: readTail[:]}
	defer func() { f.in = input{} }() // keep no reference to p
	if f.fr == nil {
		f.fr = flate.NewReader(&f.in)
	} else if err := f.fr.(flate.Resetter).Reset(&f.in, nil); err != nil {
		return nil, ErrCorrupt
	}
	out := f.out[:0]
	for {
		if len(out) == cap(out) {
			// Grow by doubling, to limit+1 at most: one byte past the
			// limit is enough to know the message is too big.
			grown := make([]byte, len(out), min(max(2*cap(out), 512), f.limit+1))
			out = grown[:copy(grown, out)]
			f.out = out
		}
		n, err := f.fr.Read(out[len(out):cap(out)])
		out = out[:len(out)+n]
		switch {
		case len(out) > f.limit:
			return nil, ErrTooBig
		case err == io.EOF:
			return out, nil
		case err != nil:
			// A flate.CorruptInputError, or io.ErrUnexpectedEOF for a
			// stream that stops inside a block: input never fails.
			return nil, ErrCorrupt
		}
	}
}

// input reads a payload, then the tail, as a flate.Reader (an
// io.ByteReader, so the decompressor adds no bufio.Reader of its own).
type input struct {
	p, tail []byte
}

func (r *input) Read(b []byte) (int, error) {
	if len(r.p) == 0 {
		r.p, r.tail = r.tail, nil
		if len(r.p) == 0 {
			return 0, io.EOF
		}
	}
	n := copy(b, r.p)
	r.p = r.p[n:]
	return n, nil
}

func (r *input) ReadByte() (byte, error) {
	if len(r.p) == 0 {
		r.p, r.tail = r.tail, nil
		if len(r.p) == 0 {
			return 0, io.EOF
		}
	}
	c := r.p[0]
	r.p = r.p[1:]
	return c, nil
}
