package hub

import "github.com/tickerd/tickerd/internal/book"

// bookStreams are a symbol's book streams, one per depth.
type bookStreams struct {
	depths [book.NumDepths]stream
}
