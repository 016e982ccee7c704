// A typed use of tickerd.js, compiled (not run) by `npm run typecheck` so
// that tickerd.d.ts stays true to the client: tsc fails on any call below
// the declarations do not allow, and on the @ts-expect-error lines if they
// start to allow them.
import {
  TickerClient, TickerError, OrderBook, CandleSeries, TradeTape, bookChecksum, crc32, compareDecimal,
  type Candle, type Level, type Trade, type Gap, type Reset, type Limits, type SearchResult,
} from "../static/tickerd.js";

const c = new TickerClient("ws://127.0.0.1:8080/ws", { pingInterval: 5000, backoffMax: 8000 });
c.on("tick", (q, info) => {
  const price: string = q.price;
  const merged: number = info.gap;
  void price, merged;
});
c.on("state", (s) => console.log(s.state, s.retryAt ?? 0));
c.on("limits", (l: Limits) => console.log(l.channels?.includes("book"), l.book_depths, l.compression === true && c.extensions.startsWith("permessage-deflate")));
c.on("delisted", (m) => console.log(`${m.symbol} delisted at ${m.ts}`));
c.on("resync", (e) => console.log(e.symbol, e.depth, e.reason, e.resyncs));
c.on("error", (err) => {
  if (err.code === "unknown_symbol") console.log(err.symbols.join(","));
});

async function main(): Promise<void> {
  await c.connect();
  const r = await c.subscribe(["AAPL", "MSFT"], { maxRate: 10 });
  const unknown: string[] = r.unknown;
  await c.subscribe("AAPL"); // no cap again
  const found: SearchResult = await c.search("AA", 20);
  const names: string[] = await c.list();
  void unknown, found.more, names;

  const tape = c.trades("AAPL", (m: Trade | Gap | Reset, t: TradeTape) => {
    switch (m.type) {
      case "trade":
        console.log(m.seq, m.price, m.size, m.side, m.replay === true, t.last);
        break;
      case "gap":
        console.log(`missed ${m.from}..${m.to}`, m.inferred ?? false);
        break;
      case "reset":
        console.log(`epoch ${m.epoch}`);
        break;
    }
  }, { since: 88100 });
  await tape.ready;
  const resumeFrom: number | undefined = tape.tape.last;
  void resumeFrom;

  const bars = c.candles("AAPL", "1m", (candles: Candle[], m) => {
    const last = candles[candles.length - 1];
    if (last && m.type === "candle" && m.closed) console.log(last.start, last.close, last.volume);
  });
  bars.setMaxRate(2);
  bars.setMaxRate(); // remove the cap

  const book = c.book("BTC-USD", 10, (b: OrderBook, m) => {
    const best: Level | undefined = b.bids[0];
    console.log(best?.[0], b.asks[0]?.[1], b.checksum === m.checksum, m.snapshot === true);
  }, { maxRate: 1 });
  const resyncs: number = book.resyncs;
  void resyncs, book.book.valid;

  tape.close();
  bars.close();
  book.close();
  c.close();
}

const sum: number = bookChecksum([["45283.5", "0.10000000"]], [["45285.2", "0.00100000"]]);
const same: -1 | 0 | 1 = compareDecimal("187.2", "187.20");
const series = new CandleSeries(10);
series.merge({ type: "candle", symbol: "AAPL", interval: "1m", start: 0, open: "1", high: "1", low: "1", close: "1", volume: "1", trades: 1, closed: false });
void sum, same, crc32("123"), new OrderBook("BTC-USD", 10).apply, new TickerError("bad_input", "x");

// @ts-expect-error: "2m" is not an interval
c.candles("AAPL", "2m", () => {});
// @ts-expect-error: depth 20 is not offered
c.book("BTC-USD", 20, () => {});
// @ts-expect-error: trades take no max rate
c.trades("AAPL", () => {}, { maxRate: 1 });

main().catch((err: unknown) => console.error(err));
