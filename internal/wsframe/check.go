package wsframe

// ProtocolError is a frame that breaks RFC 6455, with the status code the
// receiver closes the connection with. The errors this package returns
// are these values; compare with errors.Is or ==.
type ProtocolError struct {
	Status StatusCode
	Reason string // fits a close frame (at most MaxCloseReason bytes)
}

func (e *ProtocolError) Error() string { return "wsframe: " + e.Reason }

// The protocol errors.
var (
	ErrLengthMSB         = &ProtocolError{StatusProtocolError, "64-bit length with the top bit set"}
	ErrTooLarge          = &ProtocolError{StatusMessageTooBig, "frame too large"}
	ErrReservedBits      = &ProtocolError{StatusProtocolError, "reserved bits set"}
	ErrReservedOpcode    = &ProtocolError{StatusProtocolError, "reserved opcode"}
	ErrControlFragmented = &ProtocolError{StatusProtocolError, "fragmented control frame"}
	ErrControlTooLong    = &ProtocolError{StatusProtocolError, "control frame over 125 bytes"}
	ErrUnmasked          = &ProtocolError{StatusProtocolError, "unmasked client frame"}
	ErrMasked            = &ProtocolError{StatusProtocolError, "masked server frame"}
	ErrNoMessage         = &ProtocolError{StatusProtocolError, "continuation frame without a message"}
	ErrInterleaved       = &ProtocolError{StatusProtocolError, "new data frame inside a fragmented message"}
	ErrCloseBodyShort    = &ProtocolError{StatusProtocolError, "close frame with a 1-byte body"}
	ErrCloseCode         = &ProtocolError{StatusProtocolError, "close code not allowed"}
	ErrCloseUTF8         = &ProtocolError{StatusInvalidFramePayloadData, "invalid utf-8 in close reason"}
)

// Side is the end of the connection that receives a frame.
type Side uint8

const (
	ServerSide Side = iota // receives a client's frames, which must be masked
	ClientSide             // receives a server's frames, which must not be
)

// Check returns the first rule of RFC 6455 that h breaks for a receiver on
// side s, or nil. fragmented says a fragmented data message has begun and
// not ended. rsv holds the RSV bits an extension negotiated (Rsv1 for
// permessage-deflate); they are allowed on the first frame of a data
// message only.
func (h Header) Check(s Side, fragmented bool, rsv byte) error {
	switch h.Op {
	case OpText, OpBinary:
		if fragmented {
			return ErrInterleaved
		}
	case OpContinuation:
		if !fragmented {
			return ErrNoMessage
		}
		rsv = 0
	case OpClose, OpPing, OpPong:
		if !h.Fin {
			return ErrControlFragmented
		}
		if h.Length > MaxControlPayload {
			return ErrControlTooLong
		}
		rsv = 0
	default:
		return ErrReservedOpcode
	}
	if h.Rsv&^rsv != 0 {
		return ErrReservedBits
	}
	if s == ServerSide && !h.Masked {
		return ErrUnmasked
	}
	if s == ClientSide && h.Masked {
		return ErrMasked
	}
	return nil
}
