package wsframe

import (
	"encoding/binary"
	"unicode/utf8"
)

// StatusCode is a close frame's status code (RFC 6455 section 7.4).
type StatusCode uint16

// Status codes. StatusNoStatus and StatusAbnormalClosure are never sent:
// they stand for a close frame without a body and for a connection that
// ended without one.
const (
	StatusNormalClosure           StatusCode = 1000
	StatusGoingAway               StatusCode = 1001
	StatusProtocolError           StatusCode = 1002
	StatusUnsupportedData         StatusCode = 1003
	StatusNoStatus                StatusCode = 1005
	StatusAbnormalClosure         StatusCode = 1006
	StatusInvalidFramePayloadData StatusCode = 1007
	StatusPolicyViolation         StatusCode = 1008
	StatusMessageTooBig           StatusCode = 1009
	StatusMandatoryExtension      StatusCode = 1010
	StatusInternalServerError     StatusCode = 1011
	StatusServiceRestart          StatusCode = 1012
	StatusTryAgainLater           StatusCode = 1013
	StatusBadGateway              StatusCode = 1014
)

// MaxCloseReason is the longest reason a close frame has room for.
const MaxCloseReason = MaxControlPayload - 2

// AppendCloseBody appends the body of a close frame, code then reason,
// exactly as given; see TrimReason.
func AppendCloseBody(dst []byte, code StatusCode, reason string) []byte {
	return append(binary.BigEndian.AppendUint16(dst, uint16(code)), reason...)
}

// TrimReason cuts reason to at most MaxCloseReason bytes at a character
// boundary.
func TrimReason(reason string) string {
	if len(reason) <= MaxCloseReason {
		return reason
	}
	i := MaxCloseReason
	for i > 0 && !utf8.RuneStart(reason[i]) {
		i--
	}
	return reason[:i]
}

// ParseCloseBody returns the code and reason of a close frame's body; the
// reason points into p. An empty body gives StatusNoStatus. It fails for
// a 1-byte body, a code no endpoint may send (only 1000-1003, 1007-1014
// and 3000-4999 may be) and a reason that is not UTF-8.
func ParseCloseBody(p []byte) (code StatusCode, reason []byte, err error) {
	switch len(p) {
	case 0:
		return StatusNoStatus, nil, nil
	case 1:
		return 0, nil, ErrCloseBodyShort
	}
	code, reason = StatusCode(binary.BigEndian.Uint16(p)), p[2:]
	switch {
	case code >= 1000 && code <= 1003, code >= 1007 && code <= 1014, code >= 3000 && code <= 4999:
	default:
		return code, reason, ErrCloseCode
	}
	if !utf8.Valid(reason) {
		return code, reason, ErrCloseUTF8
	}
	return code, reason, nil
}
