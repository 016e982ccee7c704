// Tests of static/tickerd.js against a running tickerd whose universe is
// large and changes while it runs: max_rate, search, delistings and
// epochs. TestNodeUniverse (web/node_test.go) starts the server in its
// process, on a simulated market of 100,000 symbols that it drives, and
// runs this file with
//
//   TICKERD_WS       the server's ws:// URL
//   TICKERD_CONTROL  an http:// URL through which the feed acts:
//                    POST /delist?symbol=S delists S; POST /epoch?symbol=S
//                    restarts S's seq space under a higher epoch
//   TICKERD_SYMBOLS  a file of every symbol listed, one a line, in byte order
//
//   go test ./web -run TestNodeUniverse -v
//
// Without them (npm test) it is skipped. The tests run concurrently, on
// symbols of their own: the rate test's 12 s are the file's time.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { TickerError } from "../static/tickerd.js";
import { next, sleep, until, withClients } from "./helpers.mjs";

const url = process.env.TICKERD_WS;
const control = process.env.TICKERD_CONTROL;
const skip = url && control && process.env.TICKERD_SYMBOLS
  ? false
  : "needs the server TestNodeUniverse starts: go test ./web -run TestNodeUniverse";

/** Makes the feed act: "delist" or "epoch" on symbol. Resolves with the answer's text. */
async function feed(action, symbol) {
  const res = await fetch(`${control}/${action}?symbol=${encodeURIComponent(symbol)}`, { method: "POST" });
  assert.ok(res.ok, `${action} ${symbol}: ${res.status}`);
  return res.text();
}

/** Records the ms times at which c got a quote of symbol. */
function quoteTimes(c, symbol) {
  const times = [];
  const take = (q) => {
    if (q.symbol === symbol) times.push(performance.now());
  };
  c.on("snapshot", take);
  c.on("tick", take);
  return times;
}

const within = (times, from, to) => times.filter((t) => t >= from && t < to);

/**
 * The pace of the ms times ts: their count, the mean gap between them
 * (which the server's grid of due times holds to the period, whatever the
 * jitter of single deliveries) and the shortest gap.
 */
function pace(ts) {
  const gaps = ts.slice(1).map((t, i) => t - ts[i]);
  return { n: ts.length, mean: gaps.length ? (ts.at(-1) - ts[0]) / gaps.length : NaN, min: Math.min(...gaps) };
}

/** Checks that p is the pace of rate per second over ms: the mean gap ±10%, none under half a period. */
function assertPace(p, rate, ms, what) {
  const period = 1000 / rate;
  const want = (rate * ms) / 1000;
  const got = `${what}: ${p.n} quotes in ${ms} ms, mean gap ${p.mean.toFixed(1)} ms, shortest ${p.min.toFixed(1)} ms`;
  assert.ok(Math.abs(p.mean - period) <= period / 10, `${got}; want a mean gap of ${period} ms ± 10%`);
  assert.ok(p.min >= period / 2, `${got}; want none under ${period / 2} ms`);
  assert.ok(Math.abs(p.n - want) <= 1, `${got}; want ${want} ± 1`);
}

describe("TickerClient against a large, changing universe", { skip, concurrency: true }, () => {
  test("max_rate paces each subscription at 1 and 5 per second, and changes live", async (t) => {
    await withClients(async (mk) => {
      // One symbol, three connections: at 1/s, at 5/s, and live.
      const slow = mk(url);
      const fast = mk(url);
      const live = mk(url);
      const times = [slow, fast, live].map((c) => quoteTimes(c, "AAPL"));
      await Promise.all([
        slow.subscribe(["AAPL"], { maxRate: 1 }),
        fast.subscribe(["AAPL"], { maxRate: 5 }),
        live.subscribe(["AAPL"]),
      ]);
      const WINDOW = 5000;
      const window = async () => {
        await sleep(300); // the subscriptions settle
        const from = performance.now();
        await sleep(WINDOW);
        return times.map((list) => pace(within(list, from, from + WINDOW)));
      };
      const [slow1, fast1, live1] = await window();
      // Swap the rates on the same subscriptions.
      await Promise.all([slow.subscribe(["AAPL"], { maxRate: 5 }), fast.subscribe(["AAPL"], { maxRate: 1 })]);
      const [slow2, fast2] = await window();
      // Without max_rate the cap is gone.
      await slow.subscribe(["AAPL"]);
      await sleep(200);
      const from = performance.now();
      await sleep(1500);
      const slow3 = within(times[0], from, from + 1500).length;

      const fmt = (p) => `${p.n}/${p.mean.toFixed(0)}ms`;
      const counts = `slow ${fmt(slow1)}, fast ${fmt(fast1)}, live ${fmt(live1)}; swapped: slow ${fmt(slow2)}, fast ${fmt(fast2)}; uncapped ${slow3} in 1.5 s`;
      t.diagnostic(`AAPL quotes (count/mean gap) in ${WINDOW} ms: ${counts}`);
      assert.ok(slow3 >= 15, `uncapped again: ${slow3} quotes in 1.5 s (${counts})`);
      assert.ok(live1.n >= 50, `live, AAPL got ${live1.n} quotes in 5 s: too few to test a cap of 5/s (${counts})`);
      assertPace(slow1, 1, WINDOW, "1/s");
      assertPace(fast1, 5, WINDOW, "5/s");
      assertPace(slow2, 5, WINDOW, "1/s changed to 5/s");
      assertPace(fast2, 1, WINDOW, "5/s changed to 1/s");
      // The quotes the cap held back were merged: the seqs jumped.
      assert.ok(slow.stats().merged > 0 && fast.stats().merged > 0, `merged: ${slow.stats().merged}, ${fast.stats().merged}`);
      assert.deepEqual(slow.symbols, ["AAPL"]);
    });
  });

  test("search answers from 100,000 symbols, by prefix in byte order", async () => {
    const names = readFileSync(process.env.TICKERD_SYMBOLS, "utf8").split("\n").filter(Boolean);
    assert.equal(names.length, 100000);
    const starting = (prefix) => names.filter((n) => n.startsWith(prefix));
    await withClients(async (mk) => {
      const c = mk(url);

      let r = await c.search("", 500);
      assert.deepEqual(r, { prefix: "", symbols: names.slice(0, 500), more: true });

      // An equity's option chain: more than a default answer holds.
      const chain = starting("AAPL2");
      assert.ok(chain.length > 50, `${chain.length} AAPL options`);
      r = await c.search("AAPL2");
      assert.deepEqual(r, { prefix: "AAPL2", symbols: chain.slice(0, 50), more: true });

      // One expiry of it (root, then YYMMDD): all of it fits.
      const expiry = chain[0].slice(0, "AAPL".length + 6);
      const series = starting(expiry);
      assert.ok(series.length > 1 && series.length <= 500, `${series.length} in ${expiry}`);
      r = await c.search(expiry, 500);
      assert.deepEqual(r, { prefix: expiry, symbols: series, more: false });
      r = await c.search(expiry, series.length);
      assert.equal(r.more, false, "a limit of exactly the count has no more");
      r = await c.search(expiry, series.length - 1);
      assert.deepEqual(r.symbols, series.slice(0, -1));
      assert.equal(r.more, true);

      r = await c.search(series[1]);
      assert.deepEqual(r.symbols, [series[1]]);
      r = await c.search("ZZZZZZZZ");
      assert.deepEqual(r, { prefix: "ZZZZZZZZ", symbols: [], more: false });

      // What search finds can be subscribed to.
      const sub = await c.subscribe([series[0], series[1]]);
      assert.deepEqual([...sub.symbols].sort(), [series[0], series[1]]);

      await assert.rejects(c.search("A", 501), { code: "bad_input" });
      await assert.rejects(c.search(42), { code: "bad_input" });
    });
  });

  test("a delisted symbol's subscribers are told, and it leaves the client", async () => {
    await withClients(async (mk) => {
      const both = mk(url); // JPM and AAPL
      const only = mk(url); // JPM
      const other = mk(url); // AAPL, never JPM
      await both.subscribe(["JPM", "AAPL"]);
      await only.subscribe(["JPM"]);
      await other.subscribe(["AAPL"]);
      await Promise.all([both, only].map((c) => (c.quotes.has("JPM") ? null : next(c, "snapshot", (q) => q.symbol === "JPM"))));

      const raw = new Map([both, only, other].map((c) => [c, []]));
      for (const [c, list] of raw) c.on("message", (m) => list.push(m));
      const told = [both, only].map((c) => next(c, "delisted", (m) => m.symbol === "JPM", 5000));
      await feed("delist", "JPM");
      for (const [m] of await Promise.all(told)) {
        assert.equal(m.type, "delisted");
        assert.ok(typeof m.ts === "number" && m.ts > 1.7e18, `ts ${m.ts}`);
      }
      assert.deepEqual(both.symbols, ["AAPL"]);
      assert.deepEqual(only.symbols, []);
      assert.equal(both.quotes.has("JPM"), false);
      assert.equal(both.stats().delisted, 1);

      await sleep(1000);
      for (const c of [both, only]) {
        const list = raw.get(c);
        const at = list.findIndex((m) => m.type === "delisted");
        const after = list.slice(at + 1).filter((m) => m.symbol === "JPM");
        assert.deepEqual(after, [], "nothing of JPM after its delisting");
      }
      assert.ok(raw.get(both).some((m) => m.type === "tick" && m.symbol === "AAPL"), "AAPL goes on");
      assert.ok(!raw.get(other).some((m) => m.type === "delisted"), "a client that did not watch JPM is not told");

      await assert.rejects(both.subscribe(["JPM"]), (err) => err instanceof TickerError && err.code === "unknown_symbol");
      assert.deepEqual(both.symbols, ["AAPL"]);
      const found = await both.search("JPM", 500);
      assert.ok(!found.symbols.includes("JPM"), "search no longer finds JPM");
    });
  });

  test("a reset when the feed's epoch rises: the new seq space is taken", async () => {
    await withClients(async (mk) => {
      const c = mk(url);
      const events = [];
      for (const type of ["snapshot", "tick", "reset"]) {
        c.on(type, (m) => {
          if (m.symbol === "NVDA") events.push({ type, seq: m.seq, epoch: m.epoch, channel: m.channel });
        });
      }
      await c.subscribe(["NVDA"]);
      // Far enough into the first seq space that the new one visibly starts over.
      await until(() => events.filter((e) => e.type === "tick").length >= 3 && c.quotes.get("NVDA").seq > 10,
        "3 NVDA ticks, past seq 10", 15000);
      const before = c.quotes.get("NVDA").seq;
      assert.ok(before > 10, `NVDA at seq ${before}`);

      const reset = next(c, "reset", (m) => m.symbol === "NVDA", 5000);
      assert.equal(await feed("epoch", "NVDA"), "1");
      const [m] = await reset;
      assert.deepEqual(m, { type: "reset", channel: "quotes", symbol: "NVDA", epoch: 1 });
      await until(() => events.slice(events.findIndex((e) => e.type === "reset")).filter((e) => e.type === "tick").length >= 3,
        "3 NVDA ticks after the reset", 10000);

      const after = events.slice(events.findIndex((e) => e.type === "reset") + 1);
      assert.equal(after[0].type, "snapshot", `after the reset: ${JSON.stringify(after.slice(0, 3))}`);
      assert.ok(after[0].seq < before, `the new space starts over: snapshot seq ${after[0].seq} after ${before}`);
      for (let i = 1; i < after.length; i++) {
        assert.equal(after[i].type, "tick");
        assert.ok(after[i].seq > after[i - 1].seq, `seq ${after[i].seq} after ${after[i - 1].seq}`);
      }
      assert.equal(c.quotes.get("NVDA").seq, after.at(-1).seq);
      const st = c.stats();
      assert.equal(st.resets, 1);
      assert.equal(st.stale, 0, "no quote of the new space was dropped as stale");

      // A client that comes later starts in the new space, with no reset.
      const late = mk(url);
      const resets = [];
      late.on("reset", (x) => resets.push(x));
      const [snap] = await Promise.all([next(late, "snapshot", (q) => q.symbol === "NVDA"), late.subscribe(["NVDA"])]);
      assert.ok(snap[0].seq < before, `late snapshot at seq ${snap[0].seq}`);
      assert.deepEqual(resets, []);
    });
  });
});
