// Tests of static/tickerd.js's trades, candles and books against a running
// tickerd on the simulated market, through a link the test can break.
// TestNodeTrades, TestNodeBook and TestNodeCandles (web/node_test.go) each
// start the server in their process and run one test of this file with
//
//   TICKERD_WS         the server's ws:// URL through the link
//   TICKERD_WS_DIRECT  the same server, not through the link
//   TICKERD_CONTROL    an http:// URL through which the test acts on the link:
//                      POST /cut?down_ms=N drops every connection and refuses
//                      new ones for N ms; POST /stall?ms=N holds back all the
//                      server sends for N ms (answers when the stall ends)
//
//   go test ./web -run 'TestNode(Trades|Book|Candles)' -v
//
// Without them (npm test) it is skipped. The tests run one at a time: the
// link's cuts and stalls hit every connection through it.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import zlib from "node:zlib";

import { until, withClients } from "./helpers.mjs";

const url = process.env.TICKERD_WS;
const direct = process.env.TICKERD_WS_DIRECT;
const control = process.env.TICKERD_CONTROL;
const skip = url && direct && control ? false : "needs the server TestNodeTrades, TestNodeBook or TestNodeCandles starts: go test ./web -run TestNode";

const TRADES = "AAPL"; // among the simulator's busiest
const BOOK = "BTC-USD";

// A quick first reconnect: the link is down for a known time.
const QUICK = { backoffBase: 200 };

/** Acts on the link: "cut?down_ms=N" or "stall?ms=N". */
async function link(action) {
  const res = await fetch(`${control}/${action}`, { method: "POST" });
  assert.ok(res.ok, `${action}: ${res.status} ${await res.text()}`);
}

/** Records the messages of type types about symbol, as the socket gave them. */
function record(c, symbol, ...types) {
  const out = [];
  c.on("message", (m) => {
    if (m.symbol === symbol && types.includes(m.type)) out.push(m);
  });
  return out;
}

// Kraken's book checksum, written here from its description (protocol/doc.go)
// with Node's own CRC-32, independently of tickerd.js.
const checksumText = (s) => s.replace(".", "").replace(/^0+/, "");
function kraken(book) {
  let s = "";
  for (const [p, z] of book.asks.slice(0, 10)) s += checksumText(p) + checksumText(z);
  for (const [p, z] of book.bids.slice(0, 10)) s += checksumText(p) + checksumText(z);
  return zlib.crc32(s) >>> 0;
}

// Decimal strings as BigInts at scale decimals, to add and compare exactly.
const decimals = (s) => (s.includes(".") ? s.length - s.indexOf(".") - 1 : 0);
function scaled(s, scale) {
  const d = decimals(s);
  return BigInt(s.replace(".", "")) * 10n ** BigInt(scale - d);
}
function sameValue(a, b) {
  const scale = Math.max(decimals(a), decimals(b));
  return scaled(a, scale) === scaled(b, scale);
}

/**
 * The candle the trades (in seq order) of [start, start+ns) make, or null.
 * A ts parsed from JSON is a double, 256 ns apart at today's Unix ns: a
 * trade within 128 ns of a second's edge may be counted in the wrong one
 * (about one run in 4,000 at a thousand trades; TestDashboardCandles reads
 * ts exactly).
 */
function candleOf(trades, start, ns) {
  const in_ = trades.filter((m) => m.ts >= start && m.ts < start + ns);
  if (in_.length === 0) return null;
  const scale = Math.max(...in_.map((m) => decimals(m.size)));
  const byPrice = (a, b) => {
    const s = Math.max(decimals(a), decimals(b));
    return scaled(a, s) < scaled(b, s) ? -1 : scaled(a, s) > scaled(b, s) ? 1 : 0;
  };
  const prices = in_.map((m) => m.price).sort(byPrice);
  const volume = in_.reduce((sum, m) => sum + scaled(m.size, scale), 0n);
  return {
    open: in_[0].price,
    high: prices.at(-1),
    low: prices[0],
    close: in_.at(-1).price,
    volume: { value: volume, scale },
    trades: in_.length,
  };
}

/** Why candle k is not want (candleOf), or "". */
function candleDiff(k, want) {
  const bad = [];
  for (const f of ["open", "high", "low", "close"]) if (!sameValue(k[f], want[f])) bad.push(`${f} ${k[f]}, trades give ${want[f]}`);
  const vs = Math.max(decimals(k.volume), want.volume.scale);
  if (scaled(k.volume, vs) !== want.volume.value * 10n ** BigInt(vs - want.volume.scale)) {
    bad.push(`volume ${k.volume}, trades give ${want.volume.value} at scale ${want.volume.scale}`);
  }
  if (k.trades !== want.trades) bad.push(`trades ${k.trades}, ${want.trades} traded`);
  return bad.join("; ");
}

describe("TickerClient's market channels against a real server", { skip, concurrency: false }, () => {
  test("trades resume after a cut link: no hole, no duplicate, the same trades", async (t) => {
    await withClients(async (mk) => {
      // A client on a link that breaks, and one straight to the server
      // that sees every trade live.
      const c = mk(url, QUICK);
      const observer = mk(direct, QUICK);
      const seen = new Map();
      const obs = observer.trades(TRADES, (m) => {
        if (m.type === "trade") seen.set(m.seq, m);
      });
      const raw = record(c, TRADES, "trade", "gap", "reset");
      const got = [];
      const h = c.trades(TRADES, (m) => got.push(m));
      await Promise.all([h.ready, obs.ready]);
      await until(() => raw.length >= 10, "10 trades", 10000);

      let down = false;
      let reopened = -1; // raw.length when the client was open again
      c.on("state", (s) => {
        if (s.state === "reconnecting") down = true;
        if (s.state === "open" && down && reopened < 0) reopened = raw.length;
      });
      const last = h.tape.last;
      await link("cut?down_ms=1000");
      await until(() => reopened >= 0, "the reconnect", 10000);
      await until(() => raw.slice(reopened).filter((m) => m.type === "trade" && !m.replay).length >= 10, "10 live trades after it", 10000);

      const trades = raw.filter((m) => m.type === "trade");
      const replayed = trades.filter((m) => m.replay);
      t.diagnostic(`${trades.length} trades, seq ${trades[0].seq} to ${trades.at(-1).seq}; cut after ${last}, ${replayed.length} replayed`);
      assert.deepEqual(raw.filter((m) => m.type !== "trade"), [], "no gap and no reset");
      for (let i = 1; i < trades.length; i++) {
        assert.equal(trades[i].seq, trades[i - 1].seq + 1, `trade ${i}: seq ${trades[i].seq} after ${trades[i - 1].seq}`);
      }
      assert.ok(replayed.length > 0, "trades went on during the second the link was down, so some come again from the history");
      const first = trades.indexOf(replayed[0]);
      assert.deepEqual(trades.slice(first, first + replayed.length), replayed, "the replayed trades come in one run, before the live ones");

      // The replayed trades are the trades the observer saw live.
      await until(() => seen.has(trades.at(-1).seq), "the observer to see the last trade", 5000);
      for (const m of replayed) {
        const o = seen.get(m.seq);
        assert.ok(o, `the observer saw no trade ${m.seq}`);
        assert.deepEqual([m.price, m.size, m.side, m.ts], [o.price, o.size, o.side, o.ts], `trade ${m.seq}`);
      }

      // The handler got each trade once, in order; the client saw nothing wrong.
      // Both lists, taken now: trades kept coming while the observer caught up.
      assert.deepEqual(got.map((m) => m.seq), raw.filter((m) => m.type === "trade").map((m) => m.seq));
      const st = c.stats();
      assert.deepEqual([st.duplicates, st.holes, st.gaps], [0, 0, 0]);
      assert.ok(st.reconnects >= 1, `reconnects ${st.reconnects}`);
      assert.equal(st.replayed, replayed.length);
    });
  });

  test("book: every message verifies; a stalled reader resumes with a snapshot", async (t) => {
    await withClients(async (mk) => {
      const c = mk(url, QUICK);
      // The quotes of every symbol on the same connection fill its socket
      // within a fraction of a second of a stall.
      await c.subscribe(await c.list());
      const raw = record(c, BOOK, "book");
      const checked = [];
      const h = c.book(BOOK, 10, (book, m) => checked.push({ m, ours: kraken(book) }));
      await h.ready;
      await until(() => raw.filter((m) => !m.snapshot).length >= 30, "30 deltas", 10000);

      const before = raw.length;
      await link("stall?ms=3000");
      await until(() => raw.slice(before).some((m) => m.snapshot), "a snapshot after the stall", 10000);
      const snapAt = raw.findIndex((m, i) => i >= before && m.snapshot);
      await until(() => raw.length - snapAt > 30, "30 deltas after it", 10000);

      const snaps = raw.filter((m) => m.snapshot).length;
      const skipped = raw[snapAt].seq - raw[snapAt - 1].seq - 1;
      t.diagnostic(`${raw.length} book messages, ${snaps} snapshots; the one after the stall skipped ${skipped} seqs`);
      assert.ok(skipped > 0, `the snapshot after the stall is at seq ${raw[snapAt].seq}, right after ${raw[snapAt - 1].seq}: it replaced nothing`);
      assert.ok(raw[0].snapshot, "the first message is a snapshot");
      for (let i = 1; i < raw.length; i++) {
        const m = raw[i];
        if (m.snapshot) assert.ok(m.seq > raw[i - 1].seq, `snapshot ${m.seq} after ${raw[i - 1].seq}`);
        else assert.equal(m.prev_seq, raw[i - 1].seq, `delta ${m.seq}: prev_seq ${m.prev_seq}, the last message was ${raw[i - 1].seq}`);
      }
      // Every message reached the handler with the book verified, and the
      // checksum computed here agrees.
      assert.equal(checked.length, raw.length, "each message verified and delivered");
      for (const { m, ours } of checked) assert.equal(ours, m.checksum, `seq ${m.seq}: checksum ${m.checksum}, computed here ${ours}`);
      assert.equal(c.stats().resyncs, 0, "the client never had to ask for a snapshot");
      assert.equal(h.resyncs, 0);
      assert.ok(h.book.valid && h.book.bids.length > 0 && h.book.asks.length > 0);
    });
  });

  test("candles: each closed 1s candle is the OHLCV of its trades", async (t) => {
    await withClients(async (mk) => {
      const c = mk(direct, QUICK);
      const trades = [];
      const th = c.trades(TRADES, (m) => {
        if (m.type === "trade") trades.push(m);
      });
      await th.ready;
      await until(() => trades.length > 0, "a first trade", 10000);
      const from = trades[0].ts; // every trade after this one is here
      const closed = new Map();
      const ch = c.candles(TRADES, "1s", (_, m) => {
        if (m.type === "candle" && m.closed && m.start > from) closed.set(m.start, m);
      });
      await ch.ready;
      await until(() => [...closed.values()].filter((k) => k.trades > 0).length >= 3, "3 closed candles with trades", 10000);
      const last = Math.max(...closed.keys());
      await until(() => trades.at(-1).ts >= last + 1e9, "the trades past the last candle", 5000);

      const starts = [...closed.keys()].sort((a, b) => a - b);
      t.diagnostic(`${starts.length} closed candles, ${trades.length} trades`);
      for (const start of starts) {
        const k = closed.get(start);
        const want = candleOf(trades, start, 1e9);
        assert.ok(want, `candle ${start} (${k.trades} trades) but no trade in its second`);
        assert.equal(candleDiff(k, want), "", `candle ${start}`);
      }
      // Every second with trades between the first and the last has its candle.
      for (let s = starts[0]; s <= last; s += 1e9) {
        if (candleOf(trades, s, 1e9)) assert.ok(closed.has(s), `trades in the second at ${s}, but no closed candle`);
      }
    });
  });
});
