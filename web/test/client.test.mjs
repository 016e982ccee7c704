// Tests of static/tickerd.js in Node against a real tickerd binary.
//
//   cd web && npm ci && npm test
//
// TICKERD_BIN names a built binary; without it the tests build one with
// `go build ./cmd/tickerd`. Each test starts its own server on a free
// 127.0.0.1 port and kills it by PID.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn, execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import WebSocket from "ws";

import { TickerClient, TickerError } from "../static/tickerd.js";
import { next, sleep, until } from "./helpers.mjs";

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
let bin = process.env.TICKERD_BIN;
let tmp;

before(async () => {
  if (bin) return;
  tmp = await mkdtemp(path.join(os.tmpdir(), "tickerd-node-"));
  bin = path.join(tmp, "tickerd");
  await promisify(execFile)("go", ["build", "-o", bin, "./cmd/tickerd"], { cwd: repo });
}, { timeout: 300_000 });

after(async () => {
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

// ---- helpers ----

async function freePort() {
  const srv = net.createServer();
  await new Promise((resolve) => srv.listen(0, "127.0.0.1", resolve));
  const { port } = srv.address();
  await new Promise((resolve) => srv.close(resolve));
  return port;
}

/** A tickerd process on 127.0.0.1:port. */
class Server {
  constructor(port) {
    this.port = port;
    this.url = `ws://127.0.0.1:${port}/ws`;
    this.proc = null;
  }

  async start() {
    const proc = spawn(bin, ["-addr", `127.0.0.1:${this.port}`, "-log-level", "warn"], {
      stdio: ["ignore", "ignore", "pipe"],
    });
    this.proc = proc;
    this.stderr = "";
    proc.stderr.on("data", (d) => { this.stderr += d; });
    this.exited = new Promise((resolve) => proc.once("exit", resolve));
    const deadline = Date.now() + 15000;
    for (;;) {
      if (proc.exitCode !== null) throw new Error(`tickerd exited: ${this.stderr}`);
      try {
        const res = await fetch(`http://127.0.0.1:${this.port}/healthz`);
        if (res.ok) return this;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) throw new Error(`tickerd did not answer /healthz in 15 s: ${this.stderr}`);
      await sleep(50);
    }
  }

  /** Sends sig to the process by PID; SIGKILL also waits for the exit. */
  async signal(sig) {
    process.kill(this.proc.pid, sig);
    if (sig === "SIGKILL") await this.exited;
  }

  async stop() {
    if (this.proc && this.proc.exitCode === null && this.proc.signalCode === null) {
      try {
        process.kill(this.proc.pid, "SIGCONT");
      } catch {
        // gone already
      }
      await this.signal("SIGKILL");
    }
  }
}

async function withServer(fn) {
  const srv = await new Server(await freePort()).start();
  const clients = [];
  const mk = (opts = {}) => {
    const c = new TickerClient(srv.url, { WebSocket, ...opts });
    clients.push(c);
    return c;
  };
  try {
    await fn(srv, mk);
  } finally {
    for (const c of clients) c.close();
    await srv.stop();
  }
}

const PRICE = /^\d+\.\d+$/;

// ---- tests ----

describe("TickerClient against tickerd", () => {
  test("connect, subscribe: a snapshot first, then ticks with rising seq", async () => {
    await withServer(async (srv, mk) => {
      const c = mk();
      const states = [];
      c.on("state", (s) => states.push(s.state));
      const seen = new Map(); // symbol -> list of [type, seq]
      const bad = [];
      c.on("snapshot", (q) => seen.set(q.symbol, [...(seen.get(q.symbol) || []), ["snapshot", q.seq]]));
      c.on("tick", (q, info) => {
        seen.set(q.symbol, [...(seen.get(q.symbol) || []), ["tick", q.seq]]);
        for (const f of ["price", "bid", "ask", "open", "high", "low"]) {
          if (typeof q[f] !== "string" || !PRICE.test(q[f])) bad.push(`${q.symbol} ${f}=${q[f]}`);
        }
        if (!Number.isFinite(info.latencyMs) || info.gap < 0) bad.push(`${q.symbol} info=${JSON.stringify(info)}`);
      });
      await c.connect();
      assert.equal(c.state, "open");
      assert.deepEqual(states, ["connecting", "open"]);

      const r = await c.subscribe(["AAPL", "BTC-USD", "EUR/USD"]);
      assert.deepEqual([...r.symbols].sort(), ["AAPL", "BTC-USD", "EUR/USD"]);
      assert.deepEqual(r.unknown, []);
      assert.equal(r.error, null);

      await until(() => [...seen.values()].filter((l) => l.length >= 6).length === 3, "6 updates of each", 15000);
      for (const sym of ["AAPL", "BTC-USD", "EUR/USD"]) {
        const list = seen.get(sym) || [];
        assert.ok(list.length >= 6, `${sym}: ${list.length} updates in 15 s, want >= 6`);
        assert.equal(list[0][0], "snapshot", `${sym}: first event is ${list[0][0]}`);
        assert.ok(list.slice(1).every(([type]) => type === "tick"), `${sym}: only one snapshot`);
        for (let i = 1; i < list.length; i++) {
          assert.ok(list[i][1] > list[i - 1][1], `${sym}: seq ${list[i][1]} after ${list[i - 1][1]}`);
        }
      }
      assert.deepEqual(bad, []);
      const st = c.stats();
      assert.ok(st.ticks > 0 && st.snapshots === 3, JSON.stringify(st));
      assert.equal(c.quotes.get("AAPL").symbol, "AAPL");
    });
  });

  test("extensions: permessage-deflate when the socket offers it, \"\" when it does not or is closed", async () => {
    // ws offers permessage-deflate unless told not to.
    class PlainWS extends WebSocket {
      constructor(url) {
        super(url, { perMessageDeflate: false });
      }
    }
    await withServer(async (srv, mk) => {
      const z = mk();
      const p = mk({ WebSocket: PlainWS });
      assert.equal(z.extensions, "");
      await Promise.all([z.connect(), p.connect()]);
      await until(() => z.limits && p.limits, "the limits of both");
      assert.equal(z.limits.compression, true);
      assert.equal(p.limits.compression, true);
      assert.match(z.extensions, /^permessage-deflate\b/);
      assert.equal(p.extensions, "");
      // Messages arrive inflated: the compressed client reads quotes as the plain one does.
      await Promise.all([z.subscribe(["AAPL"]), p.subscribe(["AAPL"])]);
      await Promise.all([next(z, "tick"), next(p, "tick")]);
      z.close();
      assert.equal(z.extensions, "");
    });
  });

  test("unknown symbols: the valid ones are subscribed, the rest reported", async () => {
    await withServer(async (srv, mk) => {
      const c = mk();
      const errors = [];
      c.on("error", (e) => errors.push(e));
      c.connect();
      const r = await c.subscribe(["AAPL", "NOPE1"]);
      assert.deepEqual(r.symbols, ["AAPL"]);
      assert.deepEqual(r.unknown, ["NOPE1"]);
      assert.ok(r.error instanceof TickerError);
      assert.equal(r.error.code, "unknown_symbol");
      assert.deepEqual(c.symbols, ["AAPL"]);

      await assert.rejects(c.subscribe(["NOPE2"]), (err) => {
        assert.ok(err instanceof TickerError);
        assert.equal(err.code, "unknown_symbol");
        assert.deepEqual(err.symbols, ["NOPE2"]);
        return true;
      });
      assert.deepEqual(c.symbols, ["AAPL"]);
      assert.deepEqual(errors.map((e) => e.symbols[0]), ["NOPE1", "NOPE2"]);

      await assert.rejects(c.subscribe([42]), { code: "bad_input" });
    });
  });

  test("unsubscribe stops the flow from the server", async () => {
    await withServer(async (srv, mk) => {
      const c = mk();
      c.connect();
      await c.subscribe(["AAPL", "MSFT"]);
      await next(c, "tick", (q) => q.symbol === "AAPL");
      const r = await c.unsubscribe(["AAPL"]);
      assert.deepEqual(r.symbols, ["AAPL"]);
      assert.deepEqual(c.symbols, ["MSFT"]);
      // Watch the raw frames: after the reply the server sends no AAPL.
      const raw = [];
      c.on("message", (m) => raw.push(m));
      await sleep(1000);
      const aapl = raw.filter((m) => m.symbol === "AAPL");
      const msft = raw.filter((m) => m.symbol === "MSFT" && m.type === "tick");
      assert.equal(aapl.length, 0, `AAPL frames after unsubscribe: ${JSON.stringify(aapl[0])}`);
      assert.ok(msft.length > 0, "MSFT kept ticking");
    });
  });

  test("list returns the server's symbols; requests made before open wait for it", async () => {
    await withServer(async (srv, mk) => {
      const c = mk();
      const snap = next(c, "snapshot", (q) => q.symbol === "NVDA");
      const early = c.subscribe(["NVDA"]); // before connect
      const names = c.list();
      c.connect();
      assert.deepEqual((await early).symbols, ["NVDA"]);
      const list = await names;
      assert.ok(list.length >= 10, `list has ${list.length} symbols`);
      for (const s of ["AAPL", "MSFT", "NVDA", "TSLA", "AMZN", "GOOGL", "META", "BTC-USD", "ETH-USD", "EUR/USD"]) {
        assert.ok(list.includes(s), `list lacks ${s}`);
      }
      await snap;
    });
  });

  test("reconnects with exponential backoff after a kill, and resubscribes", async () => {
    await withServer(async (srv, mk) => {
      // random() near 1 makes each delay its ceiling: base * 2^attempt, capped.
      const c = mk({ backoffBase: 50, backoffMax: 400, random: () => 0.999 });
      const states = [];
      c.on("state", (s) => states.push(s));
      await c.connect();
      await c.subscribe(["AAPL", "BTC-USD"]);
      await next(c, "tick", (q) => q.symbol === "BTC-USD");

      const fifth = next(c, "state", (s) => s.state === "reconnecting" && s.attempt >= 5, 10000);
      await srv.signal("SIGKILL");
      await fifth;
      const delays = states.filter((s) => s.state === "reconnecting" && s.delay !== undefined).map((s) => s.delay);
      assert.deepEqual(delays.slice(0, 5), [49, 99, 199, 399, 399]);
      assert.equal(c.state, "reconnecting");

      // Same port, new process: the client finds it and subscribes again.
      const snaps = [];
      c.on("snapshot", (q) => snaps.push(q.symbol));
      const reopened = next(c, "state", (s) => s.state === "open", 20000);
      await srv.start();
      await reopened;
      await next(c, "tick", (q) => q.symbol === "AAPL", 10000);
      await next(c, "tick", (q) => q.symbol === "BTC-USD", 10000);
      assert.deepEqual(snaps.sort(), ["AAPL", "BTC-USD"]);
      assert.deepEqual(c.symbols.sort(), ["AAPL", "BTC-USD"]);
      assert.equal(c.stats().reconnects, 1);

      // After an open the backoff starts over.
      const down = next(c, "state", (x) => x.state === "reconnecting" && x.delay !== undefined);
      await srv.signal("SIGKILL");
      const [s] = await down;
      assert.equal(s.delay, 49);
    });
  });

  test("a dead link is found by the app-level ping and replaced", async () => {
    await withServer(async (srv, mk) => {
      const c = mk({ pingInterval: 200, pingTimeout: 400, connectTimeout: 500, backoffBase: 50, backoffMax: 200 });
      await c.connect();
      await c.subscribe(["ETH-USD"]);
      await next(c, "tick", (q) => q.symbol === "ETH-USD");
      await until(() => Number.isFinite(c.stats().rttMs), "a pong");

      // A stopped process keeps its sockets open but answers nothing.
      const dead = next(c, "state", (s) => s.state === "reconnecting", 5000);
      const stuck = next(c, "state", (s) => s.reason === "connect timeout", 5000);
      await srv.signal("SIGSTOP");
      const [down] = await dead;
      assert.equal(down.reason, "ping timeout");
      // New sockets get a TCP connect from the kernel but no handshake.
      await stuck;

      const reopened = next(c, "state", (s) => s.state === "open", 10000);
      const snap = next(c, "snapshot", (q) => q.symbol === "ETH-USD", 10000);
      await srv.signal("SIGCONT");
      await reopened;
      await snap;
      await next(c, "tick", (q) => q.symbol === "ETH-USD", 10000);
    });
  });

  test("wake() skips the rest of a backoff", async () => {
    await withServer(async (srv, mk) => {
      const c = mk({ backoffBase: 60000, backoffMax: 60000, random: () => 0.999 });
      await c.connect();
      await c.subscribe(["TSLA"]);
      const down = next(c, "state", (x) => x.state === "reconnecting" && x.delay !== undefined);
      await srv.signal("SIGKILL");
      const [s] = await down;
      assert.ok(s.delay > 50000, `delay ${s.delay}`);
      await srv.start();
      const t0 = Date.now();
      c.wake(); // what the dashboard does when its tab is shown again
      await next(c, "state", (x) => x.state === "open", 5000);
      await next(c, "snapshot", (q) => q.symbol === "TSLA", 5000);
      assert.ok(Date.now() - t0 < 5000);
    });
  });

  test("close() stops reconnecting and rejects what is pending", async () => {
    await withServer(async (srv, mk) => {
      const c = mk({ backoffBase: 50, backoffMax: 100 });
      await c.connect();
      const down = next(c, "state", (s) => s.state === "reconnecting");
      await srv.signal("SIGKILL");
      await down;
      const pending = c.subscribe(["AAPL"]);
      c.close();
      await assert.rejects(pending, { code: "closed" });
      assert.equal(c.state, "closed");
      const states = [];
      c.on("state", (s) => states.push(s.state));
      await sleep(300);
      assert.deepEqual(states, []);
    });
  });
});
