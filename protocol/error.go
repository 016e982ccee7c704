package protocol

// Code is the machine-readable reason in an "error" message.
type Code string

// Error codes of protocol v1.
const (
	CodeBadRequest      Code = "bad_request"      // not a valid request: syntax, types, fields, symbol names
	CodeUnknownOp       Code = "unknown_op"       // "op" names no operation
	CodeUnknownSymbol   Code = "unknown_symbol"   // a symbol the server does not carry
	CodeTooManySymbols  Code = "too_many_symbols" // over the per-request or per-connection limit
	CodeRateLimited     Code = "rate_limited"     // the client sends requests too fast
	CodeForbiddenSymbol Code = "forbidden_symbol" // the client may not subscribe to the symbol
	CodeUnauthorized    Code = "unauthorized"     // missing or bad credentials
	CodeMessageTooBig   Code = "message_too_big"  // over the size limit; the connection is closed (1009)
)

// Error is what a bad request yields: a code for the client plus the id when
// it could be read, so that the reply can echo it. Pass its fields to
// AppendError to build the reply.
type Error struct {
	Code    Code
	Message string
	ID      []byte   // raw JSON of the request's "id", nil if absent or unreadable
	Symbols []string // symbols the error is about, if any
}

func (e *Error) Error() string {
	return "protocol: " + string(e.Code) + ": " + e.Message
}
