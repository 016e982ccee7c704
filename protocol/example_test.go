package protocol_test

import (
	"fmt"

	"github.com/shopspring/decimal"
	"github.com/tickerd/tickerd/protocol"
)

func ExampleAppendTick() {
	t := protocol.Tick{
		Symbol: "AAPL", Seq: 1042,
		Price: decimal.RequireFromString("187.23"), Bid: decimal.RequireFromString("187.22"),
		Ask: decimal.RequireFromString("187.24"), Open: decimal.RequireFromString("185"),
		High: decimal.RequireFromString("188.1"), Low: decimal.RequireFromString("184.9"),
		Volume: decimal.RequireFromString("1203344"), TS: 1763718000123456789,
		PricePrec: 2, VolumePrec: 0,
	}
	buf := make([]byte, 0, 256) // reuse it: AppendTick then does not allocate
	buf = protocol.AppendTick(buf[:0], &t)
	fmt.Println(string(buf))
	fmt.Println(string(protocol.SnapshotFromTick(nil, buf)))
	// Output:
	// {"type":"tick","symbol":"AAPL","seq":1042,"price":"187.23","bid":"187.22","ask":"187.24","open":"185.00","high":"188.10","low":"184.90","volume":"1203344","ts":1763718000123456789}
	// {"type":"snapshot","symbol":"AAPL","seq":1042,"price":"187.23","bid":"187.22","ask":"187.24","open":"185.00","high":"188.10","low":"184.90","volume":"1203344","ts":1763718000123456789}
}

func ExampleDecodeRequest() {
	for _, msg := range []string{
		`{"op":"subscribe","symbols":["AAPL","BTC-USD"],"id":1}`,
		`{"op":"subscribe","channel":"trades","symbols":["AAPL"],"since":{"AAPL":88100},"id":5}`,
		`{"op":"subscribe","symbols":["AAPL"],"id":"a","x":true}`,
		`{"op":"subscribe","channel":"book","symbols":["BTC-USD"],"depth":20,"id":9}`,
		`{"op":"watch","id":2}`,
	} {
		req, err := protocol.DecodeRequest([]byte(msg), protocol.Limits{})
		if err != nil {
			fmt.Println(string(protocol.AppendError(nil, err.ID, err.Code, err.Message, err.Symbols)))
			continue
		}
		fmt.Println(req.Op, req.Symbols, req.Since, string(protocol.AppendSubscribed(nil, req.ID, req.Stream(), req.Symbols)))
	}
	// Output:
	// subscribe [AAPL BTC-USD] [] {"type":"subscribed","id":1,"symbols":["AAPL","BTC-USD"]}
	// subscribe [AAPL] [{AAPL 88100}] {"type":"subscribed","id":5,"channel":"trades","symbols":["AAPL"]}
	// {"type":"error","id":"a","code":"bad_request","message":"unknown field \"x\""}
	// {"type":"error","id":9,"code":"bad_request","message":"depth 20: want 10, 50 or 200"}
	// {"type":"error","id":2,"code":"unknown_op","message":"unknown op \"watch\""}
}
