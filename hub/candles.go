package hub

// histFrame is a candles stream's history message as a frame.
type histFrame struct{}
