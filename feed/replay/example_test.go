package replay_test

import (
	"context"
	"fmt"
	"math"
	"os"

	"github.com/tickerd/tickerd/feed"
	"github.com/tickerd/tickerd/feed/replay"
	"github.com/tickerd/tickerd/protocol"
)

type printSink struct {
	feed.SinkFuncs
	n int
}

func (p *printSink) Publish(t *protocol.Tick) {
	if p.n++; p.n <= 3 {
		os.Stdout.Write(append(protocol.AppendTick(nil, t), '\n'))
	}
}

// Play a CSV recording as fast as possible, keeping its timestamps.
func Example() {
	r, err := replay.Open("testdata/sample.csv", replay.Config{Speed: math.Inf(1), KeepTS: true})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, s := range r.Symbols() {
		fmt.Println(s.Name, s.Class, s.PricePrec, s.VolumePrec)
	}
	sink := &printSink{}
	if err := r.Run(context.Background(), sink); err != nil {
		fmt.Println(err)
	}
	fmt.Println(sink.n, "ticks")
	// Output:
	// ACME equity 2 0
	// WIDG equity 2 0
	// BTC-USD crypto 2 8
	// EUR/USD fx 5 0
	// {"type":"tick","symbol":"ACME","seq":1,"price":"12.50","bid":"12.49","ask":"12.51","open":"12.50","high":"12.50","low":"12.50","volume":"100","ts":1763717400000000000}
	// {"type":"tick","symbol":"WIDG","seq":1,"price":"7.25","bid":"7.24","ask":"7.26","open":"7.25","high":"7.25","low":"7.25","volume":"40","ts":1763717400250000000}
	// {"type":"tick","symbol":"ACME","seq":2,"price":"12.52","bid":"12.51","ask":"12.53","open":"12.50","high":"12.52","low":"12.50","volume":"250","ts":1763717400500000000}
	// 10 ticks
}
