// tickerd.js: a client for tickerd's WebSocket protocol v1.
// An ES module with no dependencies, for browsers and for Node 20+.
//
//   import { TickerClient } from "/tickerd.js";               // browser
//   const c = new TickerClient();                             // ws(s)://<page host>/ws
//
//   import WebSocket from "ws";                               // Node 20
//   const c = new TickerClient("ws://127.0.0.1:8080/ws", { WebSocket });
//
//   c.on("snapshot", (q) => ...);          // first full state of a symbol, per connection
//   c.on("tick", (q, info) => ...);        // later updates; info = { gap, latencyMs }
//   c.on("state", (s) => ...);             // { state: "connecting"|"open"|"reconnecting"|"closed", ... }
//   c.on("error", (err) => ...);           // TickerError from the server, or a transport problem
//   c.connect();
//   const { symbols, unknown } = await c.subscribe(["AAPL", "BTC-USD"]);
//   await c.unsubscribe(["AAPL"]);
//   c.close();
//
// Reconnects forever with exponential backoff and full jitter (the delay is
// uniform in [0, min(backoffMax, backoffBase * 2^attempt)], reset after a
// successful open) and subscribes again to every symbol it holds. An
// app-level ping every pingInterval ms must be answered within pingTimeout ms,
// or the link is declared dead and replaced. Prices stay the decimal strings
// the server sent; nothing here turns them into floats.

export const CONNECTING = "connecting";
export const OPEN = "open";
export const RECONNECTING = "reconnecting";
export const CLOSED = "closed";

const DEFAULTS = {
  WebSocket: undefined, // constructor; defaults to globalThis.WebSocket
  pingInterval: 10000, // ms between app-level pings while open
  pingTimeout: 5000, // ms to wait for the pong before the link counts as dead
  connectTimeout: 10000, // ms a socket may stay in CONNECTING
  requestTimeout: 10000, // ms to wait for a reply once a request is sent
  backoffBase: 500, // ms, first reconnect delay ceiling
  backoffMax: 15000, // ms, largest reconnect delay ceiling
  random: Math.random, // jitter source, [0, 1)
};

/** An error reply from the server ({"type":"error",...}) or a client failure. */
export class TickerError extends Error {
  constructor(code, message, symbols) {
    super(message);
    this.name = "TickerError";
    this.code = code; // protocol error code, or "timeout", "closed", "bad_input", "transport"
    this.symbols = symbols || [];
  }
}

const decoder = typeof TextDecoder === "function" ? new TextDecoder() : null;
const perf = globalThis.performance;

/**
 * Wall-clock ms with sub-ms digits where the platform has them. The
 * monotonic clock can drift from the wall clock (a laptop that slept), so
 * it is used only while the two agree.
 */
function nowMs() {
  const wall = Date.now();
  if (!perf || !perf.timeOrigin) return wall;
  const fine = perf.timeOrigin + perf.now();
  return Math.abs(fine - wall) < 20 ? fine : wall;
}

/** Monotonic ms, for durations. */
const monoMs = () => (perf ? perf.now() : Date.now());

/** Default URL: /ws on the page's own host, or undefined outside a page. */
function pageURL() {
  const loc = globalThis.location;
  if (!loc || !loc.host) return undefined;
  return (loc.protocol === "https:" ? "wss://" : "ws://") + loc.host + "/ws";
}

function cleanSymbols(symbols) {
  if (typeof symbols === "string") symbols = [symbols];
  if (!Array.isArray(symbols)) throw new TickerError("bad_input", "tickerd: symbols must be an array of strings");
  const out = [];
  for (const s of symbols) {
    if (typeof s !== "string" || s.trim() === "") {
      throw new TickerError("bad_input", `tickerd: bad symbol ${JSON.stringify(s)}`);
    }
    const t = s.trim();
    if (!out.includes(t)) out.push(t);
  }
  return out;
}

export class TickerClient {
  /**
   * @param {string} [url] ws:// or wss:// URL of /ws; defaults to the page's host.
   * @param {object} [opts] see DEFAULTS above.
   */
  constructor(url, opts = {}) {
    if (url && typeof url === "object") [url, opts] = [url.url, url];
    this.url = url || pageURL();
    if (!this.url) throw new TickerError("bad_input", "tickerd: no URL given and no page location to derive one");
    this.opts = { ...DEFAULTS, ...opts };
    this._WS = this.opts.WebSocket || globalThis.WebSocket;
    if (typeof this._WS !== "function") {
      throw new TickerError("bad_input", "tickerd: no WebSocket constructor; pass { WebSocket } (in Node: the ws package)");
    }

    this.state = CLOSED;
    /** Latest snapshot or tick per subscribed symbol (the message object as received). */
    this.quotes = new Map();

    this._listeners = new Map();
    this._started = false; // connect() called and close() not called
    this._everOpen = false;
    this._ws = null;
    this._attempt = 0; // reconnect attempts since the last successful open
    this._retryTimer = null;
    this._retryAt = 0;
    this._connectTimer = null;
    this._pingTimer = null;
    this._ping = null; // { id, sent, timer } while a ping is outstanding
    this._nextId = 1;
    this._pending = new Map(); // id -> request
    this._wanted = new Set(); // symbols the user wants, resubscribed after reconnect
    this._seq = new Map(); // symbol -> last seq seen on this connection
    this._stats = {
      messages: 0, snapshots: 0, ticks: 0, merged: 0, stale: 0,
      reconnects: 0, rttMs: NaN, latencyMs: NaN,
    };
  }

  // ---- events ----

  /** Adds a listener and returns a function that removes it. */
  on(type, fn) {
    let set = this._listeners.get(type);
    if (!set) this._listeners.set(type, (set = new Set()));
    set.add(fn);
    return () => this.off(type, fn);
  }

  off(type, fn) {
    const set = this._listeners.get(type);
    if (set) set.delete(fn);
  }

  _emit(type, ...args) {
    const set = this._listeners.get(type);
    if (!set) return;
    for (const fn of [...set]) {
      try {
        fn(...args);
      } catch (err) {
        // A broken listener must not break the client; report it out of band.
        queueMicrotask(() => { throw err; });
      }
    }
  }

  // ---- public API ----

  /** The symbols the client holds (and resubscribes after a reconnect). */
  get symbols() {
    return [...this._wanted];
  }

  /** Counters since construction. latencyMs is now - ts of the last quote. */
  stats() {
    return { state: this.state, ...this._stats };
  }

  /** Starts connecting. Resolves when the socket is open the first time after this call. */
  connect() {
    const opened = this.state === OPEN
      ? Promise.resolve()
      : new Promise((resolve, reject) => {
        const offs = [
          this.on("state", (s) => {
            if (s.state === OPEN) { offs.forEach((f) => f()); resolve(); }
            if (s.state === CLOSED) { offs.forEach((f) => f()); reject(new TickerError("closed", "tickerd: client closed")); }
          }),
        ];
      });
    opened.catch(() => {}); // callers may ignore the promise; close() must not crash Node
    if (!this._started) {
      this._started = true;
      this._dial();
    }
    return opened;
  }

  /** Stops for good: closes the socket, cancels timers, rejects pending requests. */
  close() {
    const already = !this._started && this.state === CLOSED;
    this._started = false;
    clearTimeout(this._retryTimer);
    this._retryTimer = null;
    this._drop(1000);
    for (const req of this._pending.values()) {
      clearTimeout(req.timer);
      if (req.reject) req.reject(new TickerError("closed", "tickerd: client closed"));
    }
    this._pending.clear();
    if (!already) this._setState(CLOSED, { reason: "client closed" });
  }

  /**
   * Reconnects at once if the client is waiting out a backoff, or checks a
   * live link with a ping. Call it when the page becomes visible again or
   * the network comes back.
   */
  wake() {
    if (!this._started) return;
    if (this._retryTimer) {
      clearTimeout(this._retryTimer);
      this._retryTimer = null;
      this._dial();
    } else if (this.state === OPEN) {
      this._sendPing();
    }
  }

  /**
   * Subscribes to symbols. Resolves with { symbols, unknown, error } once the
   * server answered for every symbol: symbols were subscribed, unknown were
   * rejected by the server (error then holds its TickerError, also emitted as
   * "error"). Rejects if nothing could be subscribed. The symbols stay wanted
   * across reconnects until unsubscribed.
   */
  subscribe(symbols) {
    try {
      symbols = cleanSymbols(symbols);
    } catch (err) {
      return Promise.reject(err);
    }
    if (symbols.length === 0) return Promise.resolve({ symbols: [], unknown: [], error: null });
    const added = symbols.filter((s) => !this._wanted.has(s));
    for (const s of symbols) this._wanted.add(s);
    return this._request({ op: "subscribe", symbols, added });
  }

  /** Unsubscribes. Resolves with { symbols } when the server confirmed. */
  unsubscribe(symbols) {
    try {
      symbols = cleanSymbols(symbols);
    } catch (err) {
      return Promise.reject(err);
    }
    for (const s of symbols) {
      this._wanted.delete(s);
      this._seq.delete(s);
      this.quotes.delete(s);
    }
    if (symbols.length === 0 || this.state !== OPEN) {
      // A connection that is not open holds no subscription; the next one
      // will not ask for these symbols.
      return Promise.resolve({ symbols });
    }
    return this._request({ op: "unsubscribe", symbols });
  }

  /** Asks the server for every symbol it publishes. Resolves with an array of names. */
  list() {
    return this._request({ op: "list" });
  }

  // ---- connection ----

  _setState(state, extra = {}) {
    this.state = state;
    this._emit("state", { state, attempt: this._attempt, ...extra });
  }

  _dial() {
    this._retryTimer = null;
    let ws;
    try {
      ws = new this._WS(this.url);
    } catch (err) {
      // A malformed URL throws synchronously; retrying will not fix it.
      this._emit("error", new TickerError("transport", `tickerd: ${err.message}`));
      this.close();
      return;
    }
    this._ws = ws;
    if ("binaryType" in ws) ws.binaryType = "arraybuffer";
    ws.onopen = () => { if (this._ws === ws) this._onOpen(); };
    ws.onmessage = (ev) => { if (this._ws === ws) this._onMessage(ev.data); };
    ws.onclose = (ev) => { if (this._ws === ws) this._onDown(`closed (${ev.code}${ev.reason ? " " + ev.reason : ""})`); };
    ws.onerror = () => {}; // a close event always follows; an abandoned socket must not throw
    this._connectTimer = setTimeout(() => {
      if (this._ws === ws) this._onDown("connect timeout");
    }, this.opts.connectTimeout);
    this._setState(this._everOpen ? RECONNECTING : CONNECTING);
  }

  _onOpen() {
    clearTimeout(this._connectTimer);
    if (this._everOpen) this._stats.reconnects++;
    this._everOpen = true;
    this._attempt = 0;
    this._setState(OPEN);
    this._pingTimer = setInterval(() => this._sendPing(), this.opts.pingInterval);

    // Requests made while down or lost with the old socket go out again.
    // Symbols they name are left out of the resubscribe to avoid doubles.
    const inFlight = new Set();
    for (const req of this._pending.values()) {
      if (req.op === "subscribe" && !req.internal) {
        req.symbols = req.symbols.filter((s) => this._wanted.has(s));
        req.symbols.forEach((s) => inFlight.add(s));
      }
    }
    const again = [...this._wanted].filter((s) => !inFlight.has(s));
    if (again.length) this._request({ op: "subscribe", symbols: again, internal: true });
    for (const req of [...this._pending.values()]) {
      if (!req.sent) this._send(req);
    }
  }

  // _drop detaches the current socket and closes it without waiting for it.
  _drop(code) {
    clearTimeout(this._connectTimer);
    clearInterval(this._pingTimer);
    this._pingTimer = null;
    if (this._ping) clearTimeout(this._ping.timer);
    this._ping = null;
    const ws = this._ws;
    this._ws = null;
    this._seq.clear();
    if (!ws) return;
    try {
      if (typeof ws.terminate === "function") ws.terminate(); // ws package: no close handshake
      else ws.close(code);
    } catch {
      // already closed
    }
  }

  _onDown(reason) {
    this._drop(4000);
    for (const [id, req] of this._pending) {
      clearTimeout(req.timer);
      if (req.op === "unsubscribe") {
        // The subscription died with the connection.
        this._pending.delete(id);
        req.resolve({ symbols: req.symbols });
      } else if (req.internal) {
        this._pending.delete(id); // rebuilt at the next open
      } else {
        req.sent = false;
        req.subscribed = [];
        req.unknown = [];
      }
    }
    if (!this._started) return;
    const ceiling = Math.min(this.opts.backoffMax, this.opts.backoffBase * 2 ** Math.min(this._attempt, 30));
    const delay = Math.floor(this.opts.random() * ceiling);
    this._attempt++;
    this._retryAt = Date.now() + delay;
    this._retryTimer = setTimeout(() => this._dial(), delay);
    this._setState(this._everOpen ? RECONNECTING : CONNECTING, { reason, delay, retryAt: this._retryAt });
  }

  _sendPing() {
    if (this.state !== OPEN || this._ping) return;
    const id = this._nextId++;
    const timer = setTimeout(() => {
      if (this._ping && this._ping.id === id) this._onDown("ping timeout");
    }, this.opts.pingTimeout);
    this._ping = { id, sent: monoMs(), timer };
    this._write({ op: "ping", id });
  }

  _write(msg) {
    try {
      this._ws.send(JSON.stringify(msg));
      return true;
    } catch (err) {
      this._onDown(`send failed: ${err.message}`);
      return false;
    }
  }

  // ---- requests ----

  _request(fields) {
    const id = this._nextId++;
    const req = { id, sent: false, timer: null, subscribed: [], unknown: [], error: null, ...fields };
    const done = new Promise((resolve, reject) => {
      req.resolve = resolve;
      req.reject = reject;
    });
    if (req.internal) done.catch(() => {}); // nobody awaits the client's own requests
    this._pending.set(id, req);
    if (this.state === OPEN) this._send(req);
    return done;
  }

  _send(req) {
    if (req.op === "subscribe" && req.symbols.length === 0) {
      this._finish(req);
      return;
    }
    const msg = { op: req.op, id: req.id };
    if (req.symbols) msg.symbols = req.symbols;
    req.sent = true;
    clearTimeout(req.timer);
    req.timer = setTimeout(() => this._timeout(req), this.opts.requestTimeout);
    this._write(msg);
  }

  _timeout(req) {
    if (this._pending.get(req.id) !== req) return;
    if (req.op === "subscribe" && req.subscribed.length > 0) {
      this._finish(req); // the server answered in part; report what we know
      return;
    }
    this._pending.delete(req.id);
    if (req.added) req.added.forEach((s) => this._wanted.delete(s));
    req.reject(new TickerError("timeout", `tickerd: no reply to ${req.op} within ${this.opts.requestTimeout} ms`, req.symbols));
  }

  _finish(req) {
    this._pending.delete(req.id);
    clearTimeout(req.timer);
    if (req.internal) return;
    if (req.subscribed.length === 0 && req.unknown.length > 0) {
      req.reject(req.error);
      return;
    }
    req.resolve({ symbols: req.subscribed, unknown: req.unknown, error: req.error });
  }

  // ---- incoming ----

  _onMessage(data) {
    if (typeof data !== "string") {
      if (!decoder) return;
      data = decoder.decode(data instanceof ArrayBuffer ? new Uint8Array(data) : data);
    }
    let m;
    try {
      m = JSON.parse(data);
    } catch {
      this._emit("error", new TickerError("bad_message", `tickerd: server sent invalid JSON: ${data.slice(0, 80)}`));
      return;
    }
    if (!m || typeof m !== "object") return;
    this._stats.messages++;
    this._emit("message", m);
    switch (m.type) {
      case "tick":
      case "snapshot":
        this._onQuote(m);
        break;
      case "subscribed":
      case "unsubscribed":
      case "symbols":
        this._onReply(m);
        break;
      case "pong":
        if (this._ping && this._ping.id === m.id) {
          clearTimeout(this._ping.timer);
          this._stats.rttMs = monoMs() - this._ping.sent;
          this._ping = null;
        }
        break;
      case "error":
        this._onError(m);
        break;
    }
  }

  _onQuote(m) {
    const sym = m.symbol;
    if (!this._wanted.has(sym)) return; // in flight while we unsubscribed
    let gap = 0;
    const last = this._seq.get(sym);
    if (m.type === "snapshot") {
      this._stats.snapshots++;
    } else {
      if (last !== undefined) {
        if (m.seq <= last) {
          this._stats.stale++;
          return;
        }
        gap = m.seq - last - 1;
        this._stats.merged += gap;
      }
      this._stats.ticks++;
    }
    this._seq.set(sym, m.seq);
    this.quotes.set(sym, m);
    // ts is Unix ns; as a Number it keeps ~0.2 µs precision, plenty for ms.
    const latencyMs = nowMs() - m.ts / 1e6;
    this._stats.latencyMs = latencyMs;
    this._emit(m.type, m, { gap, latencyMs });
  }

  _onReply(m) {
    const req = this._pending.get(m.id);
    if (!req) return;
    const syms = Array.isArray(m.symbols) ? m.symbols : [];
    if (m.type === "subscribed" && req.op === "subscribe") {
      req.subscribed.push(...syms);
      if (req.subscribed.length + req.unknown.length >= req.symbols.length) this._finish(req);
    } else if (m.type === "unsubscribed" && req.op === "unsubscribe") {
      this._pending.delete(req.id);
      clearTimeout(req.timer);
      req.resolve({ symbols: syms });
    } else if (m.type === "symbols" && req.op === "list") {
      this._pending.delete(req.id);
      clearTimeout(req.timer);
      req.resolve(syms);
    }
  }

  _onError(m) {
    const err = new TickerError(m.code || "error", m.message || "tickerd: server error", m.symbols);
    err.id = m.id;
    this._emit("error", err);
    const req = m.id === undefined ? undefined : this._pending.get(m.id);
    if (!req) return;
    if (req.op === "subscribe" && m.code === "unknown_symbol") {
      for (const s of err.symbols) {
        this._wanted.delete(s);
        if (!req.unknown.includes(s)) req.unknown.push(s);
      }
      req.error = err;
      if (req.subscribed.length + req.unknown.length >= req.symbols.length) this._finish(req);
      return;
    }
    this._pending.delete(req.id);
    clearTimeout(req.timer);
    if (req.added) req.added.forEach((s) => this._wanted.delete(s));
    if (!req.internal) req.reject(err);
  }
}

/** Creates a client and starts connecting. */
export function connect(url, opts) {
  const c = new TickerClient(url, opts);
  c.connect();
  return c;
}
