// Unit tests of static/tickerd.js's market-data bookkeeping: the book
// checksum, the order book, candles, the trade tape's resume state, rates,
// search and delistings. No server: each test feeds a client the server's
// messages, as byte strings exactly as protocol/doc.go shows them, through
// the handler its socket calls (_onMessage), and reads the requests it
// would send. A client that never connects queues its requests; wire()
// below writes each as the socket would get it.
//
//   cd web && npm ci && node --test test/channels.test.mjs

import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import zlib from "node:zlib";
import WebSocket from "ws";

import {
  TickerClient, TickerError, OrderBook, CandleSeries, TradeTape, bookChecksum, compareDecimal, crc32,
} from "../static/tickerd.js";

const docGo = readFileSync(new URL("../../protocol/doc.go", import.meta.url), "utf8");

// Messages from protocol/doc.go, byte for byte (checked below).
const DOC = {
  limits: `{"type":"limits","max_message_bytes":65536,"max_symbols":1000,"max_request_symbols":1000,"messages_per_second":20,"burst":40,"ping_interval_ms":30000,"backlog_timeout_ms":30000,"auth":false,"channels":["quotes","trades","candles","book"],"max_rate":0,"trade_history":10000,"trade_history_ms":300000,"candle_history":500,"book_depths":[10,50,200],"compression":true}`,
  tradeReplay: `{"type":"trade","symbol":"AAPL","seq":88101,"price":"187.22","size":"300","side":"sell","ts":1763718000023456789,"replay":true}`,
  trade: `{"type":"trade","symbol":"AAPL","seq":88123,"price":"187.24","size":"100","side":"buy","ts":1763718000123456789}`,
  gap: `{"type":"gap","channel":"trades","symbol":"AAPL","from":88124,"to":88130}`,
  reset: `{"type":"reset","channel":"trades","symbol":"AAPL","epoch":2}`,
  delisted: `{"type":"delisted","symbol":"AAPL261218C00190000","ts":1763718000123456789}`,
  search: `{"type":"search","id":11,"prefix":"AA","symbols":["AAL","AAPL"],"more":false}`,
  subscribedTrades: `{"type":"subscribed","id":7,"channel":"trades","symbols":["AAPL"]}`,
  subscribedCandles: `{"type":"subscribed","id":8,"channel":"candles","interval":"1m","symbols":["AAPL"]}`,
  subscribedBook: `{"type":"subscribed","id":9,"channel":"book","symbols":["BTC-USD"],"depth":10}`,
  candles: `{"type":"candles","symbol":"AAPL","interval":"1m","candles":[{"start":1763717940000000000,"open":"187.02","high":"187.12","low":"186.98","close":"187.10","volume":"11873","trades":49,"closed":true},{"start":1763718000000000000,"open":"187.10","high":"187.40","low":"187.00","close":"187.24","volume":"12033","trades":57,"closed":false}]}`,
  candle: `{"type":"candle","symbol":"AAPL","interval":"1m","start":1763718000000000000,"open":"187.10","high":"187.40","low":"187.00","close":"187.24","volume":"12033","trades":57,"closed":false}`,
};

// The book section's example, its checksums worked out in the doc.
const BOOK = {
  snapshot: `{"type":"book","symbol":"BTC-USD","depth":10,"seq":500,"snapshot":true,"bids":[["91549.30","0.52"],["91549.20","1.00"]],"asks":[["91549.40","1.20"],["91549.45","0.80"]],"checksum":624224893,"ts":1763718000123456789}`,
  delta: `{"type":"book","symbol":"BTC-USD","depth":10,"seq":501,"prev_seq":500,"bids":[["91549.30","0"]],"asks":[],"checksum":2036543682,"ts":1763718000223456789}`,
};

// Kraken's published checksum examples, with Kraken's strings exactly:
// "Book checksum (WebSocket v2)" and "(WebSocket v1)" at docs.kraken.com.
const KRAKEN = [
  {
    name: "v2 BTC/USD",
    asks: [
      ["45285.2", "0.00100000"], ["45286.4", "1.54571953"], ["45286.6", "1.54571109"],
      ["45289.6", "1.54560911"], ["45290.2", "0.15890660"], ["45291.8", "1.54553491"],
      ["45294.7", "0.04454749"], ["45296.1", "0.35380000"], ["45297.5", "0.09945542"],
      ["45299.5", "0.18772827"],
    ],
    bids: [
      ["45283.5", "0.10000000"], ["45283.4", "1.54582015"], ["45282.1", "0.10000000"],
      ["45281.0", "0.10000000"], ["45280.3", "1.54592586"], ["45279.0", "0.07990000"],
      ["45277.6", "0.03310103"], ["45277.5", "0.30000000"], ["45277.3", "1.54602737"],
      ["45276.6", "0.15445238"],
    ],
    checksum: 3310070434,
  },
  {
    name: "v1",
    asks: [
      ["0.05005", "0.00000500"], ["0.05010", "0.00000500"], ["0.05015", "0.00000500"],
      ["0.05020", "0.00000500"], ["0.05025", "0.00000500"], ["0.05030", "0.00000500"],
      ["0.05035", "0.00000500"], ["0.05040", "0.00000500"], ["0.05045", "0.00000500"],
      ["0.05050", "0.00000500"],
    ],
    bids: [
      ["0.05000", "0.00000500"], ["0.04995", "0.00000500"], ["0.04990", "0.00000500"],
      ["0.04980", "0.00000500"], ["0.04975", "0.00000500"], ["0.04970", "0.00000500"],
      ["0.04965", "0.00000500"], ["0.04960", "0.00000500"], ["0.04955", "0.00000500"],
      ["0.04950", "0.00000500"],
    ],
    checksum: 974947235,
  },
];

// ---- helpers ----

/** A client that never connects: it takes messages and queues its requests. */
function client(opts = {}) {
  return new TickerClient("ws://127.0.0.1:1/ws", { WebSocket, ...opts });
}

/** The requests c has queued, as the socket would get them, oldest first. */
function queued(c) {
  return [...c._pending.values()].map((req) => {
    const msg = { op: req.op, id: req.id };
    if (req.msg) Object.assign(msg, req.msg);
    if (req.symbols) msg.symbols = req.symbols;
    if (req.maxRate !== undefined) msg.max_rate = req.maxRate;
    return JSON.parse(JSON.stringify(msg)); // as JSON.stringify sends it: no undefined fields
  });
}

/** The queued request for op (and channel), which must be the only one. */
function only(c, op, channel) {
  const reqs = queued(c).filter((r) => r.op === op && r.channel === channel);
  assert.equal(reqs.length, 1, `queued ${op} ${channel}: ${JSON.stringify(queued(c))}`);
  return reqs[0];
}

/** A doc reply with its id replaced by the one the client gave its request. */
function reply(doc, id) {
  return doc.replace(/"id":\d+/, `"id":${id}`);
}

/** Drops the (unopened) connection, as a socket close does. */
function reconnect(c) {
  c._onDown("test: connection lost");
  assert.ok([...c._pending.values()].every((r) => !r.internal), "the client's own requests of the lost connection are gone");
  c._onMessage(DOC.limits);
}

function krakenSnapshot(k, checksum = k.checksum) {
  return JSON.stringify({
    type: "book", symbol: "BTC/USD", depth: 10, seq: 1, snapshot: true,
    bids: k.bids, asks: k.asks, checksum, ts: 0,
  });
}

const settled = (p) => p.then(() => "resolved", (err) => err);

// ---- tests ----

test("the messages used here are protocol/doc.go's", () => {
  for (const [name, msg] of Object.entries({ ...DOC, ...BOOK })) {
    assert.ok(docGo.includes("//\t" + msg + "\n"), `${name} is not a line of protocol/doc.go: ${msg}`);
  }
});

describe("checksum", () => {
  test("crc32 gives the standard check value and agrees with zlib", () => {
    assert.equal(crc32("123456789"), 0xcbf43926);
    assert.equal(crc32(""), 0);
    if (typeof zlib.crc32 === "function") {
      for (let n = 0; n < 200; n++) {
        let s = "";
        for (let i = 0; i < n * 3; i++) s += String.fromCharCode(32 + ((i * 7919 + n * 31) % 95));
        assert.equal(crc32(s), zlib.crc32(s), `crc32 of ${JSON.stringify(s)}`);
      }
    }
  });

  for (const k of KRAKEN) {
    test(`Kraken's published example ${k.name} gives ${k.checksum}`, () => {
      assert.equal(bookChecksum(k.bids, k.asks), k.checksum);
      // Through the client: a snapshot with Kraken's strings verifies.
      const c = client();
      c._onMessage(DOC.limits);
      const got = [];
      c.book("BTC/USD", 10, (b) => got.push(b.checksum));
      c._onMessage(krakenSnapshot(k));
      assert.deepEqual(got, [k.checksum]);
      assert.equal(c.stats().resyncs, 0);
    });
  }

  test("the doc's worked example: text and checksums", () => {
    assert.equal(crc32("91549401209154945809154930529154920100"), 624224893);
    assert.equal(crc32("91549401209154945809154920100"), 2036543682);
    const snap = JSON.parse(BOOK.snapshot);
    assert.equal(bookChecksum(snap.bids, snap.asks), 624224893);
  });

  test("only the top 10 levels count; point and leading zeros are dropped", () => {
    const bids = [];
    const asks = [];
    for (let i = 0; i < 15; i++) {
      bids.push([(100 - i).toFixed(1), (i + 1).toFixed(2)]);
      asks.push([(101 + i).toFixed(1), "0.0" + (i + 1)]);
    }
    assert.equal(bookChecksum(bids, asks), bookChecksum(bids.slice(0, 10), asks.slice(0, 10)));
    assert.equal(bookChecksum([["0.0500", "0.00000500"]], []), crc32("500" + "500"));
    assert.equal(bookChecksum([], []), 0);
  });
});

describe("book", () => {
  function bookClient(opts) {
    const c = client(opts);
    c._onMessage(DOC.limits);
    const seen = [];
    const resyncs = [];
    c.on("resync", (e) => resyncs.push(e));
    const h = c.book("BTC-USD", 10, (b, m) => seen.push({ seq: b.seq, snapshot: m.snapshot === true, bids: b.bids.map((l) => l.join(" ")), asks: b.asks.map((l) => l.join(" ")) }));
    return { c, h, seen, resyncs };
  }

  test("subscribe, snapshot, then a delta that applies to it", async () => {
    const { c, h, seen } = bookClient();
    const sub = only(c, "subscribe", "book");
    assert.deepEqual(sub, { op: "subscribe", id: sub.id, channel: "book", symbols: ["BTC-USD"], depth: 10 });
    c._onMessage(reply(DOC.subscribedBook, sub.id));
    assert.equal(await settled(h.ready), "resolved");

    c._onMessage(BOOK.snapshot);
    c._onMessage(BOOK.delta);
    assert.deepEqual(seen, [
      { seq: 500, snapshot: true, bids: ["91549.30 0.52", "91549.20 1.00"], asks: ["91549.40 1.20", "91549.45 0.80"] },
      { seq: 501, snapshot: false, bids: ["91549.20 1.00"], asks: ["91549.40 1.20", "91549.45 0.80"] },
    ]);
    assert.equal(h.book.checksum, 2036543682);
    assert.equal(h.resyncs, 0);
  });

  test("a delta whose prev_seq is not the book's: resync by unsubscribe and subscribe", () => {
    const { c, h, seen, resyncs } = bookClient();
    c._onMessage(reply(DOC.subscribedBook, only(c, "subscribe", "book").id));
    c._onMessage(BOOK.snapshot);
    c._onMessage(BOOK.delta.replace(`"prev_seq":500`, `"prev_seq":499`));
    assert.equal(seen.length, 1);
    assert.equal(h.resyncs, 1);
    assert.equal(c.stats().resyncs, 1);
    assert.match(resyncs[0].reason, /delta from seq 499, book at 500/);
    assert.equal(h.book.valid, false);
    const reqs = queued(c);
    assert.deepEqual(reqs.map((r) => [r.op, r.channel, r.symbols.join()]), [
      ["unsubscribe", "book", "BTC-USD"],
      ["subscribe", "book", "BTC-USD"],
    ]);
    assert.equal(reqs[1].depth, 10);

    // Deltas are ignored until the snapshot asked for; a second mismatch
    // meanwhile asks for nothing more.
    c._onMessage(BOOK.delta);
    assert.equal(seen.length, 1);
    assert.equal(queued(c).length, 2);
    c._onMessage(reply(DOC.subscribedBook, reqs[1].id));
    c._onMessage(BOOK.snapshot);
    c._onMessage(BOOK.delta);
    assert.deepEqual(seen.map((s) => s.seq), [500, 500, 501]);
    assert.equal(h.resyncs, 1);
    assert.equal(h.book.valid, true);
  });

  test("a checksum mismatch after a delta resyncs", () => {
    const { c, h, seen } = bookClient();
    c._onMessage(BOOK.snapshot);
    c._onMessage(BOOK.delta.replace("2036543682", "2036543683"));
    assert.equal(seen.length, 1);
    assert.equal(h.resyncs, 1);
    assert.equal(h.book.valid, false);
  });

  test("a delta removing a level the book does not hold resyncs", () => {
    const { c, h } = bookClient();
    c._onMessage(BOOK.snapshot);
    const bad = JSON.parse(BOOK.delta);
    bad.bids = [["91549.25", "0"]];
    bad.checksum = 624224893; // what the book would sum to if the removal were skipped
    c._onMessage(JSON.stringify(bad));
    assert.equal(h.resyncs, 1);

    // Below the top 10 the checksum cannot tell; the book itself must.
    const b = new OrderBook("X", 50);
    const bids = [];
    for (let i = 0; i < 12; i++) bids.push([(100 - i).toFixed(2), "1"]);
    const sum = bookChecksum(bids, []);
    assert.equal(b.apply({ type: "book", symbol: "X", depth: 50, seq: 1, snapshot: true, bids, asks: [], checksum: sum }), null);
    assert.match(b.apply({ type: "book", symbol: "X", depth: 50, seq: 2, prev_seq: 1, bids: [["88.50", "0"]], asks: [], checksum: sum }), /removes 88.50, which the book does not hold/);
    assert.equal(b.valid, false);
  });

  test("depth boundary: a level that enters the top 10 pushes the 10th out, with size 0", () => {
    const { c, h, seen } = bookClient();
    const bids = [];
    const asks = [];
    for (let i = 0; i < 10; i++) {
      bids.push([(100 - i).toFixed(2), "1.5"]);
      asks.push([(101 + i).toFixed(2), "2.5"]);
    }
    c._onMessage(JSON.stringify({ type: "book", symbol: "BTC-USD", depth: 10, seq: 7, snapshot: true, bids, asks, checksum: bookChecksum(bids, asks), ts: 1 }));
    assert.equal(h.book.bids.length, 10);

    // A better bid enters; the 10th bid (91.00) leaves the view.
    const want = [["100.50", "3.0"], ...bids.slice(0, 9)];
    c._onMessage(JSON.stringify({ type: "book", symbol: "BTC-USD", depth: 10, seq: 9, prev_seq: 7, bids: [["100.50", "3.0"], ["91.00", "0"]], asks: [], checksum: bookChecksum(want, asks), ts: 2 }));
    assert.equal(h.resyncs, 0);
    assert.deepEqual(h.book.bids, want);
    assert.equal(seen.at(-1).seq, 9);

    // A level that leaves at the touch pulls the next one in at the bottom.
    const asks2 = [...asks.slice(1), ["111.00", "0.5"]];
    c._onMessage(JSON.stringify({ type: "book", symbol: "BTC-USD", depth: 10, seq: 10, prev_seq: 9, bids: [], asks: [["101.00", "0"], ["111.00", "0.5"]], checksum: bookChecksum(want, asks2), ts: 3 }));
    assert.equal(h.resyncs, 0);
    assert.deepEqual(h.book.asks, asks2);

    // A delta that would leave 11 bids breaks the view: resync.
    const eleven = [["100.75", "1.0"], ...want];
    c._onMessage(JSON.stringify({ type: "book", symbol: "BTC-USD", depth: 10, seq: 11, prev_seq: 10, bids: [["100.75", "1.0"]], asks: [], checksum: bookChecksum(eleven, asks2), ts: 4 }));
    assert.equal(h.resyncs, 1);
    assert.equal(h.book.valid, false);
  });

  test("levels are ordered by value, not by text", () => {
    const b = new OrderBook("X", 50);
    const bids = [["10.5", "1"], ["9.75", "1"], ["0.5", "1"]];
    const asks = [["11", "1"], ["11.25", "2"], ["100", "1"]];
    assert.equal(b.apply({ type: "book", symbol: "X", depth: 50, seq: 1, snapshot: true, bids, asks, checksum: bookChecksum(bids, asks) }), null);
    const bids2 = [["10.5", "1"], ["10", "4"], ["9.75", "1"], ["0.5", "1"]];
    const asks2 = [["11", "1"], ["11.25", "3"], ["100", "1"]];
    // "10" sorts after "9.75" as text; as a price it sits between 10.5 and 9.75.
    assert.equal(b.apply({ type: "book", symbol: "X", depth: 50, seq: 2, prev_seq: 1, bids: [["10", "4"]], asks: [["11.250", "3"]], checksum: bookChecksum(bids2, asks2) }), null);
    assert.deepEqual(b.bids, bids2);
    assert.deepEqual(b.asks, asks2);
    // A snapshot out of order is refused.
    assert.match(b.apply({ type: "book", symbol: "X", depth: 50, seq: 3, snapshot: true, bids: [["1", "1"], ["2", "1"]], asks: [], checksum: 0 }), /out of order/);
    assert.equal(compareDecimal("-1.5", "-1.25"), -1);
    assert.equal(compareDecimal("0.10", "0.1"), 0);
  });

  test("a snapshot that fails is asked for again later and later", async () => {
    const { c, h } = bookClient({ resyncDelayMax: 40 });
    c._onMessage(BOOK.snapshot.replace("624224893", "1"));
    assert.equal(h.resyncs, 1);
    assert.equal(queued(c).filter((r) => r.op === "unsubscribe").length, 1, "the first failure resyncs at once");
    c._onMessage(BOOK.snapshot.replace("624224893", "2"));
    assert.equal(h.resyncs, 2);
    assert.equal(queued(c).filter((r) => r.op === "unsubscribe").length, 1, "the second waits");
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(queued(c).filter((r) => r.op === "unsubscribe").length, 2, "then asks again");
    c._onMessage(BOOK.snapshot);
    assert.equal(h.book.valid, true);
    h.close();
  });

  test("another depth replaces the book; messages of the old depth are ignored", () => {
    const { c, h, seen } = bookClient();
    c._onMessage(BOOK.snapshot);
    const h50 = c.book("BTC-USD", 50, () => {});
    assert.equal(h.depth, 50);
    const reqs = queued(c).filter((r) => r.op === "subscribe");
    assert.deepEqual(reqs.map((r) => r.depth), [10, 50]);
    c._onMessage(BOOK.delta); // depth 10, in flight
    c._onMessage(BOOK.snapshot); // depth 10, in flight
    assert.equal(seen.length, 1);
    c._onMessage(BOOK.snapshot.replace(`"depth":10`, `"depth":50`));
    assert.equal(seen.length, 2);
    assert.equal(h50.book.depth, 50);
    assert.throws(() => c.book("BTC-USD", 20, () => {}), TickerError);
  });

  test("a reconnect asks for a fresh snapshot; the old book waits for it", () => {
    const { c, h, seen } = bookClient();
    c._onMessage(BOOK.snapshot);
    reconnect(c);
    assert.equal(h.book.valid, false);
    only(c, "subscribe", "book");
    c._onMessage(BOOK.delta);
    assert.equal(seen.length, 1);
    c._onMessage(BOOK.snapshot);
    assert.equal(seen.length, 2);
    assert.equal(h.resyncs, 0, "a reconnect is not a mismatch");
  });
});

describe("candles", () => {
  test("history, then live: a candle replaces the one with the same start", async () => {
    const c = client();
    const got = [];
    const h = c.candles("AAPL", "1m", (candles, m) => got.push([m.type, candles.map((x) => `${x.start / 1e9}:${x.close}:${x.closed}`)]));
    assert.equal(queued(c).length, 0, "nothing before limits");
    c._onMessage(DOC.limits);
    const sub = only(c, "subscribe", "candles");
    assert.deepEqual(sub, { op: "subscribe", id: sub.id, channel: "candles", interval: "1m", symbols: ["AAPL"] });
    c._onMessage(reply(DOC.subscribedCandles, sub.id));
    await h.ready;

    c._onMessage(DOC.candles);
    c._onMessage(DOC.candle.replace(`"close":"187.24"`, `"close":"187.30"`));
    c._onMessage(DOC.candle.replace(`"closed":false`, `"closed":true`));
    const next = JSON.parse(DOC.candle);
    next.start += 60e9;
    next.close = "187.50";
    c._onMessage(JSON.stringify(next));
    assert.deepEqual(got, [
      ["candles", ["1763717940:187.10:true", "1763718000:187.24:false"]],
      ["candle", ["1763717940:187.10:true", "1763718000:187.30:false"]],
      ["candle", ["1763717940:187.10:true", "1763718000:187.24:true"]],
      ["candle", ["1763717940:187.10:true", "1763718000:187.24:true", "1763718060:187.50:false"]],
    ]);
    // Each kept candle has the fields of "candle" from start on, and no more.
    assert.deepEqual(Object.keys(h.candles[0]), ["start", "open", "high", "low", "close", "volume", "trades", "closed"]);

    // A reconnect starts over with the server's history.
    reconnect(c);
    only(c, "subscribe", "candles");
    c._onMessage(DOC.candles);
    assert.equal(h.candles.length, 2);
    assert.equal(h.candles[1].close, "187.24");
  });

  test("merge keeps start order and the limit", () => {
    const s = new CandleSeries(3);
    const at = (start, close = "1") => ({ type: "candle", start, open: "1", high: "1", low: "1", close, volume: "1", trades: 1, closed: false });
    s.merge(at(300));
    s.merge(at(100));
    s.merge(at(200));
    s.merge(at(200, "2"));
    assert.deepEqual(s.candles.map((x) => `${x.start}:${x.close}`), ["100:1", "200:2", "300:1"]);
    s.merge(at(400));
    assert.deepEqual(s.candles.map((x) => x.start), [200, 300, 400]);
    s.load([at(5), at(1), at(3), at(3, "9"), at(2)]);
    assert.deepEqual(s.candles.map((x) => `${x.start}:${x.close}`), ["2:1", "3:9", "5:1"]);
  });

  test("max rate: at subscribe, and changed live", () => {
    const c = client();
    c._onMessage(DOC.limits);
    const h = c.candles("AAPL", "5m", () => {}, { maxRate: 2 });
    assert.equal(only(c, "subscribe", "candles").max_rate, 2);
    c._onMessage(reply(DOC.subscribedCandles, only(c, "subscribe", "candles").id).replace(`"1m"`, `"5m"`));
    h.setMaxRate(0.5);
    const reqs = queued(c);
    assert.equal(reqs.length, 1);
    assert.equal(reqs[0].max_rate, 0.5);
    assert.equal(reqs[0].interval, "5m");
    assert.throws(() => h.setMaxRate(5000), { code: "bad_input" });
    assert.throws(() => c.candles("AAPL", "2m", () => {}), { code: "bad_input" });
  });
});

describe("trades", () => {
  function tradesClient(opts) {
    const c = client();
    c._onMessage(DOC.limits);
    const got = [];
    // [type, seq | "from-to" | epoch, replayed or inferred, the tape's last seq after it]
    const what = (m) => (m.type === "trade" ? m.seq : m.type === "gap" ? `${m.from}-${m.to}` : m.epoch);
    const h = c.trades("AAPL", (m, tape) => got.push([m.type, what(m), m.replay === true || m.inferred === true, tape.last]), opts);
    return { c, h, got };
  }

  test("resume: since the last seq, replayed trades, holes, duplicates and gaps", async () => {
    const { c, h, got } = tradesClient({ since: 88100 });
    const sub = only(c, "subscribe", "trades");
    assert.deepEqual(sub, { op: "subscribe", id: sub.id, channel: "trades", symbols: ["AAPL"], since: { AAPL: 88100 } });
    c._onMessage(reply(DOC.subscribedTrades, sub.id));
    await h.ready;

    c._onMessage(DOC.tradeReplay); // 88101, replayed
    c._onMessage(DOC.trade); // 88123: 88102..88122 never came, and no gap said so
    c._onMessage(DOC.trade); // again: a duplicate
    c._onMessage(DOC.tradeReplay); // older: a duplicate
    c._onMessage(DOC.gap); // 88124..88130 lost
    assert.deepEqual(got, [
      ["trade", 88101, true, 88101],
      ["gap", "88102-88122", true, 88123],
      ["trade", 88123, false, 88123],
      ["gap", "88124-88130", false, 88130],
    ]);
    const st = c.stats();
    assert.deepEqual([st.trades, st.replayed, st.duplicates, st.holes, st.gaps, st.missed], [2, 1, 2, 21, 1, 7]);

    // After a reconnect the client resumes after the gap.
    reconnect(c);
    assert.deepEqual(only(c, "subscribe", "trades").since, { AAPL: 88130 });
    const next = JSON.parse(DOC.trade);
    next.seq = 88131;
    next.replay = true;
    c._onMessage(JSON.stringify(next));
    assert.deepEqual(got.at(-1), ["trade", 88131, true, 88131]);
  });

  test("reset: the seq to resume from is dropped, and the new epoch's low seqs are taken", () => {
    const { c, h, got } = tradesClient();
    assert.equal(only(c, "subscribe", "trades").since, undefined, "no since for a new tape");
    c._onMessage(DOC.trade);
    c._onMessage(DOC.reset);
    assert.equal(h.tape.last, undefined);
    assert.equal(h.tape.epoch, 2);

    reconnect(c);
    assert.equal(only(c, "subscribe", "trades").since, undefined, "no since after a reset");
    const first = JSON.parse(DOC.trade);
    first.seq = 1;
    c._onMessage(JSON.stringify(first));
    first.seq = 2;
    c._onMessage(JSON.stringify(first));
    assert.deepEqual(got, [
      ["trade", 88123, false, 88123],
      ["reset", 2, false, undefined],
      ["trade", 1, false, 1],
      ["trade", 2, false, 2],
    ]);
    assert.equal(c.stats().resets, 1);
    reconnect(c);
    assert.deepEqual(only(c, "subscribe", "trades").since, { AAPL: 2 });
  });

  test("one subscription for every handler of a symbol; the last close unsubscribes", () => {
    const { c, h } = tradesClient();
    const sub = only(c, "subscribe", "trades");
    c._onMessage(reply(DOC.subscribedTrades, sub.id));
    const other = [];
    const h2 = c.trades("AAPL", (m) => other.push(m.seq));
    assert.equal(queued(c).length, 0, "the second handler shares the subscription");
    c._onMessage(DOC.trade);
    assert.deepEqual(other, [88123]);
    h.close();
    assert.equal(queued(c).length, 0);
    h2.close();
    assert.deepEqual(queued(c).map((r) => [r.op, r.channel, r.symbols.join()]), [["unsubscribe", "trades", "AAPL"]]);
    c._onMessage(DOC.trade.replace("88123", "88124"));
    assert.deepEqual(other, [88123], "no handler runs after close");
  });

  test("the tape on its own", () => {
    const t = new TradeTape();
    assert.equal(t.trade({ seq: 5 }), "ok");
    assert.equal(t.trade({ seq: 6 }), "ok");
    assert.deepEqual(t.trade({ seq: 9 }), [7, 8]);
    assert.equal(t.trade({ seq: 9 }), "dup");
    t.gap({ from: 3, to: 4 }); // an old gap moves nothing back
    assert.equal(t.last, 9);
    t.gap({ from: 10, to: 12 });
    assert.equal(t.trade({ seq: 13 }), "ok");
    t.reset({ epoch: 3 });
    assert.equal(t.trade({ seq: 1 }), "ok");
  });

  test("resubscribes group symbols, each with its own since", () => {
    const c = client();
    c._onMessage(DOC.limits);
    for (const s of ["AAPL", "MSFT", "NVDA"]) c.trades(s, () => {});
    assert.equal(queued(c).length, 3);
    c._onMessage(DOC.trade);
    c._onMessage(DOC.trade.replace(`"AAPL"`, `"MSFT"`).replace("88123", "17"));
    reconnect(c);
    assert.deepEqual(only(c, "subscribe", "trades"), {
      op: "subscribe", id: only(c, "subscribe", "trades").id, channel: "trades",
      symbols: ["AAPL", "MSFT", "NVDA"], since: { AAPL: 88123, MSFT: 17 },
    });
  });
});

describe("server capabilities", () => {
  test("channels the server does not carry fail at its limits", async () => {
    const c = client();
    const t = c.trades("AAPL", () => {});
    const b = c.book("BTC-USD", 10, () => {});
    // Today's server: no channels beyond quotes.
    c._onMessage(DOC.limits.replace(`"channels":["quotes","trades","candles","book"]`, `"channels":[]`).replace(`"book_depths":[10,50,200]`, `"book_depths":[]`));
    for (const h of [t, b]) {
      const err = await settled(h.ready);
      assert.ok(err instanceof TickerError);
      assert.equal(err.code, "unsupported");
      assert.equal(h.closed, true);
    }
    assert.equal(queued(c).length, 0);
    const later = c.candles("AAPL", "1m", () => {});
    assert.equal((await settled(later.ready)).code, "unsupported");
  });

  test("unknown symbols end their subscription; the others go on", async () => {
    const c = client();
    c._onMessage(DOC.limits);
    const a = c.trades("AAPL", () => {});
    const x = c.trades("XYZ", () => {});
    const reqs = queued(c);
    c._onMessage(`{"type":"subscribed","id":${reqs[0].id},"channel":"trades","symbols":["AAPL"]}`);
    c._onMessage(`{"type":"error","id":${reqs[1].id},"code":"unknown_symbol","message":"unknown symbol: XYZ","symbols":["XYZ"]}`);
    assert.equal(await settled(a.ready), "resolved");
    assert.equal((await settled(x.ready)).code, "unknown_symbol");
    reconnect(c);
    assert.deepEqual(only(c, "subscribe", "trades").symbols, ["AAPL"]);
  });
});

describe("quotes, search and delistings", () => {
  test("quote max rates: sent with the subscribe, changed live, kept per symbol across reconnects", async () => {
    const c = client();
    const pending = [c.subscribe(["AAPL", "MSFT"]), c.subscribe(["AAPL"], { maxRate: 1 })];
    const reqs = queued(c);
    assert.equal(reqs[0].max_rate, undefined);
    assert.equal(reqs[1].max_rate, 1);
    assert.deepEqual(c._quoteRequests(), [{ symbols: ["AAPL"], maxRate: 1 }, { symbols: ["MSFT"], maxRate: undefined }]);
    pending.push(c.subscribe(["AAPL"])); // no max rate: the cap goes
    assert.deepEqual(c._quoteRequests(), [{ symbols: ["AAPL", "MSFT"], maxRate: undefined }]);
    await assert.rejects(c.subscribe(["AAPL"], { maxRate: 0.01 }), { code: "bad_input" });
    c.close();
    for (const p of pending) assert.equal((await settled(p)).code, "closed");
  });

  test("search: the request and its reply", async () => {
    const c = client();
    const p = c.search("AA", 50);
    const req = only(c, "search", undefined);
    assert.deepEqual(req, { op: "search", id: req.id, prefix: "AA", limit: 50 });
    c._onMessage(reply(DOC.search, req.id));
    assert.deepEqual(await p, { prefix: "AA", symbols: ["AAL", "AAPL"], more: false });

    const old = c.search("A");
    const id = only(c, "search", undefined).id;
    c._onMessage(`{"type":"error","id":${id},"code":"unknown_op","message":"op search is not enabled on this server"}`);
    await assert.rejects(old, { code: "unknown_op" });
    await assert.rejects(c.search("A", 501), { code: "bad_input" });
  });

  test("delisted: every subscription to the symbol ends, and the client says so", async () => {
    const sym = "AAPL261218C00190000";
    const c = client();
    c._onMessage(DOC.limits);
    const quotes = c.subscribe([sym, "AAPL"]);
    const t = c.trades(sym, () => {});
    const k = c.candles(sym, "1m", () => {});
    const calls = [];
    const other = c.trades("AAPL", (m) => calls.push(m.seq));
    const events = [];
    c.on("delisted", (m) => events.push(m.symbol));
    c._onMessage(DOC.delisted);
    assert.deepEqual(events, [sym]);
    assert.deepEqual(c.symbols, ["AAPL"]);
    for (const h of [t, k]) {
      assert.equal(h.closed, true);
      assert.equal((await settled(h.ready)).code, "delisted");
    }
    assert.equal(other.closed, false);
    c._onMessage(DOC.trade);
    assert.deepEqual(calls, [88123]);
    // Nothing of it is asked for again, and no unsubscribe is sent: the server ended it.
    assert.equal(queued(c).filter((r) => r.op === "unsubscribe").length, 0);
    reconnect(c);
    assert.deepEqual(only(c, "subscribe", "trades").symbols, ["AAPL"]);
    assert.equal(queued(c).filter((r) => r.channel === "candles").length, 0);
    assert.deepEqual(c._quoteRequests(), [{ symbols: ["AAPL"], maxRate: undefined }]);
    c.close();
    assert.equal((await settled(quotes)).code, "closed");
  });
});

test("malformed messages of every type are taken without a throw, and break no book", () => {
  const c = client();
  c._onMessage(DOC.limits);
  const b = c.book("BTC-USD", 10, () => {});
  c.trades("AAPL", () => {});
  c.candles("AAPL", "1m", () => {});
  c._onMessage(BOOK.snapshot);
  const junk = [
    "", "[]", "null", "42", `"x"`, "{", `{"type":"constructor"}`, `{"type":"__proto__"}`, `{"type":"toString"}`,
    `{"type":"trade"}`, `{"type":"trade","symbol":"AAPL","seq":"x"}`, `{"type":"gap","channel":"trades","symbol":"AAPL"}`,
    `{"type":"candles","symbol":"AAPL","interval":"1m","candles":7}`, `{"type":"candles","symbol":"AAPL","interval":"1m","candles":[null,1,{}]}`,
    `{"type":"candle","symbol":"AAPL","interval":"1m","start":"x"}`,
    `{"type":"book","symbol":"BTC-USD","depth":10,"seq":501,"prev_seq":500,"bids":[["x","1"]],"asks":[],"checksum":1}`,
    `{"type":"reset"}`, `{"type":"delisted"}`, `{"type":"limits"}`, `{"type":"search","id":999}`, `{"type":"error"}`,
    `{"type":"subscribed","id":1,"symbols":7}`, `{"type":"pong","id":"x"}`,
  ];
  for (const j of junk) assert.doesNotThrow(() => c._onMessage(j), j);
  // The bad book delta was a mismatch: the book asked for a fresh snapshot,
  // and the limits without channels ended every channel subscription.
  assert.equal(b.resyncs, 1);
  assert.equal(b.closed, true);
});
