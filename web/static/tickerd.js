// tickerd.js: a client for tickerd's WebSocket protocol v1.
// One ES module with no dependencies, for browsers and for Node 20+.
// Types: tickerd.d.ts beside it.
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
//   c.on("delisted", (m) => ...);          // every subscription to m.symbol has ended
//   c.connect();
//   c.extensions                           // "permessage-deflate; ..." once open and compressed
//   const { symbols, unknown } = await c.subscribe(["AAPL", "BTC-USD"]);
//   await c.subscribe(["AAPL"], { maxRate: 1 });   // at most 1 quote/s; again to change it live
//   await c.unsubscribe(["AAPL"]);
//   const { symbols: names, more } = await c.search("AA", 20);
//
//   const tape = c.trades("AAPL", (m) => ...);    // m: trade, gap or reset, in order
//   const bars = c.candles("AAPL", "1m", (candles, m) => ...);
//   const book = c.book("BTC-USD", 10, (b, m) => ...);  // b.bids, b.asks: checksum-verified
//   await tape.ready;                              // the server confirmed the subscription
//   bars.setMaxRate(2);
//   tape.close();
//   c.close();
//
// Reconnects forever with exponential backoff and full jitter (the delay is
// uniform in [0, min(backoffMax, backoffBase * 2^attempt)], reset after a
// successful open) and subscribes again to everything it holds: quotes at
// their max rates, trades with "since" (the last seq it got of each symbol,
// so the tape resumes without hole or duplicate), candles and books, which
// start over with a history or a snapshot. An app-level ping every
// pingInterval ms must be answered within pingTimeout ms, or the link is
// declared dead and replaced. Prices stay the decimal strings the server
// sent; nothing here turns them into floats.

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
  candleLimit: 1000, // candles kept per (symbol, interval), oldest dropped first
  resyncDelayMax: 10000, // ms, longest wait before asking again for a book whose snapshot failed
};

const INTERVALS = ["1s", "1m", "5m", "1h"];
const MIN_RATE = 0.1;
const MAX_RATE = 1000;

/** An error reply from the server ({"type":"error",...}) or a client failure. */
export class TickerError extends Error {
  constructor(code, message, symbols) {
    super(message);
    this.name = "TickerError";
    // protocol error code, or "timeout", "closed", "bad_input", "transport",
    // "bad_message", "unsupported" (a channel the server does not carry),
    // "delisted"
    this.code = code;
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
  for (const s of symbols) out.push(cleanSymbol(s));
  return [...new Set(out)];
}

function cleanSymbol(s) {
  if (typeof s !== "string" || s.trim() === "") {
    throw new TickerError("bad_input", `tickerd: bad symbol ${JSON.stringify(s)}`);
  }
  return s.trim();
}

/** The maxRate option checked: undefined (no cap) or 0.1 to 1000 updates/s. */
function cleanRate(opts) {
  const rate = opts ? opts.maxRate : undefined;
  if (rate === undefined || rate === null) return undefined;
  if (typeof rate !== "number" || !(rate >= MIN_RATE && rate <= MAX_RATE)) {
    throw new TickerError("bad_input", `tickerd: maxRate must be ${MIN_RATE} to ${MAX_RATE} updates per second, not ${rate}`);
  }
  return rate;
}

// ---- CRC-32 and the book checksum ----

// CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320), written out here in
// a few lines with a 256-entry table so the client needs no dependency:
// browsers have no CRC-32, and Node's zlib.crc32 is not in every Node 20.
const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c;
  }
  return t;
})();

/** CRC-32 (IEEE) of an ASCII string, unsigned. */
export function crc32(s) {
  let c = 0xffffffff;
  for (let i = 0; i < s.length; i++) c = CRC_TABLE[(c ^ s.charCodeAt(i)) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** A decimal string as the checksum takes it: the point removed, then the leading zeros. */
function checksumText(s) {
  const t = s.replace(".", "");
  let i = 0;
  while (i < t.length && t[i] === "0") i++;
  return t.slice(i);
}

/**
 * Kraken's book checksum: the CRC-32 of the top 10 asks (best, lowest,
 * first) then the top 10 bids (best, highest, first), each level's price
 * then size as checksumText gives them. Levels are [price, size] strings.
 */
export function bookChecksum(bids, asks) {
  let text = "";
  for (const side of [asks, bids]) {
    const n = Math.min(side.length, 10);
    for (let i = 0; i < n; i++) text += checksumText(side[i][0]) + checksumText(side[i][1]);
  }
  return crc32(text);
}

// ---- exact decimal strings ----

const ZERO = /^[-+]?0*\.?0*$/;

/** Whether a decimal string is zero ("0", "0.00"). */
function isZero(s) {
  return ZERO.test(s);
}

/** Compares two non-negative decimal strings without sign: -1, 0 or 1. */
function cmpAbs(a, b) {
  let ia = a.indexOf(".");
  let ib = b.indexOf(".");
  if (ia < 0) ia = a.length;
  if (ib < 0) ib = b.length;
  let sa = 0;
  let sb = 0;
  while (sa < ia - 1 && a[sa] === "0") sa++;
  while (sb < ib - 1 && b[sb] === "0") sb++;
  if (ia - sa !== ib - sb) return ia - sa < ib - sb ? -1 : 1;
  for (let k = 0; k < ia - sa; k++) {
    const d = a.charCodeAt(sa + k) - b.charCodeAt(sb + k);
    if (d) return d < 0 ? -1 : 1;
  }
  const fa = a.length - ia - 1;
  const fb = b.length - ib - 1;
  for (let k = 0; k < Math.max(fa, fb); k++) {
    const ca = k < fa ? a.charCodeAt(ia + 1 + k) : 48;
    const cb = k < fb ? b.charCodeAt(ib + 1 + k) : 48;
    if (ca !== cb) return ca < cb ? -1 : 1;
  }
  return 0;
}

/** Compares two decimal strings by value: -1, 0 or 1. "187.2" equals "187.20". */
export function compareDecimal(a, b) {
  const na = a[0] === "-";
  const nb = b[0] === "-";
  if (na !== nb) return isZero(a) && isZero(b) ? 0 : na ? -1 : 1;
  const r = cmpAbs(na ? a.slice(1) : a, nb ? b.slice(1) : b);
  return na && r !== 0 ? -r : r;
}

const DECIMAL = /^-?\d+(\.\d+)?$/;

// ---- the book ----

/**
 * OrderBook is a client's copy of one depth's view of a symbol's order
 * book, kept from the server's "book" messages: a snapshot, then deltas
 * whose prev_seq is the book's seq, with the checksum verified after every
 * message. bids and asks are [price, size] decimal strings, best first.
 */
export class OrderBook {
  constructor(symbol, depth) {
    this.symbol = symbol;
    this.depth = depth;
    this.seq = 0;
    this.ts = 0;
    this.checksum = 0; // the server's checksum of the last message, which the book matched
    this.valid = false; // false until a snapshot, and after any mismatch until the next one
    this.bids = [];
    this.asks = [];
  }

  /**
   * Applies a book message. Returns null when the book holds the server's
   * view after it (its checksum matches), or why not: then the book is
   * invalid until the next snapshot, and the caller should ask for one.
   */
  apply(m) {
    const why = this._apply(m);
    this.valid = why === null;
    return why;
  }

  _apply(m) {
    if (!Array.isArray(m.bids) || !Array.isArray(m.asks)) return "levels missing";
    if (m.snapshot) {
      const bids = [];
      const asks = [];
      const why = load(bids, m.bids, -1) || load(asks, m.asks, 1);
      if (why) return "snapshot " + why;
      this.bids = bids;
      this.asks = asks;
    } else {
      if (!this.valid) return "delta before a snapshot";
      if (m.prev_seq !== this.seq) return `delta from seq ${m.prev_seq}, book at ${this.seq}`;
      const why = patch(this.bids, m.bids, -1) || patch(this.asks, m.asks, 1);
      if (why) return `delta ${m.seq}: ${why}`;
    }
    this.seq = m.seq;
    this.ts = m.ts;
    if (this.bids.length > this.depth || this.asks.length > this.depth) {
      return `${this.bids.length} bids and ${this.asks.length} asks at depth ${this.depth} after seq ${m.seq}`;
    }
    const sum = bookChecksum(this.bids, this.asks);
    if (sum !== m.checksum) return `checksum at seq ${m.seq}: server ${m.checksum}, book ${sum}`;
    this.checksum = sum;
    return null;
  }

  /** Forgets the view until the next snapshot (after a reset or a reconnect). */
  invalidate() {
    this.valid = false;
  }
}

function badLevel(l) {
  return !Array.isArray(l) || typeof l[0] !== "string" || typeof l[1] !== "string" || !DECIMAL.test(l[0]) || !DECIMAL.test(l[1]);
}

// load fills side (empty) from a snapshot's levels, which must be best
// first: dir -1 for bids (descending), 1 for asks (ascending).
function load(side, levels, dir) {
  for (const l of levels) {
    if (badLevel(l)) return `bad level ${JSON.stringify(l)}`;
    if (isZero(l[1])) return `level ${l[0]} of size 0`;
    if (side.length && compareDecimal(side[side.length - 1][0], l[0]) * dir >= 0) return `levels out of order at ${l[0]}`;
    side.push([l[0], l[1]]);
  }
  return null;
}

// patch applies a delta's levels to side: size 0 removes a level the book
// must hold, any other size sets the level, adding it in price order.
function patch(side, levels, dir) {
  for (const l of levels) {
    if (badLevel(l)) return `bad level ${JSON.stringify(l)}`;
    let lo = 0;
    let hi = side.length;
    let found = false;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      const c = compareDecimal(side[mid][0], l[0]) * dir;
      if (c === 0) {
        lo = mid;
        found = true;
        break;
      }
      if (c < 0) lo = mid + 1;
      else hi = mid;
    }
    if (isZero(l[1])) {
      if (!found) return `removes ${l[0]}, which the book does not hold`;
      side.splice(lo, 1);
    } else if (found) {
      side[lo] = [side[lo][0], l[1]];
    } else {
      side.splice(lo, 0, [l[0], l[1]]);
    }
  }
  return null;
}

// ---- candles ----

const CANDLE_FIELDS = ["start", "open", "high", "low", "close", "volume", "trades", "closed"];

function candleOf(m) {
  const c = {};
  for (const f of CANDLE_FIELDS) c[f] = m[f];
  return c;
}

/**
 * CandleSeries keeps one (symbol, interval)'s candles, oldest first, at
 * most limit of them: a "candles" history replaces them, and each "candle"
 * replaces the one with the same start (the open candle by its later state,
 * or by its closed state) or takes its place in start order.
 */
export class CandleSeries {
  constructor(limit = DEFAULTS.candleLimit) {
    this.limit = limit;
    this.candles = [];
  }

  /** Replaces the series with a "candles" message's list. */
  load(list) {
    const byStart = new Map();
    for (const c of Array.isArray(list) ? list : []) {
      if (c && Number.isFinite(c.start)) byStart.set(c.start, candleOf(c));
    }
    this.candles = [...byStart.values()].sort((a, b) => a.start - b.start);
    this._trim();
  }

  /** Merges one "candle" message. */
  merge(m) {
    if (!Number.isFinite(m.start)) return;
    const c = candleOf(m);
    const list = this.candles;
    let lo = 0;
    let hi = list.length;
    if (hi > 0 && list[hi - 1].start < c.start) lo = hi; // the usual case: a new candle at the end
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (list[mid].start < c.start) lo = mid + 1;
      else hi = mid;
    }
    if (lo < list.length && list[lo].start === c.start) list[lo] = c;
    else list.splice(lo, 0, c);
    this._trim();
  }

  _trim() {
    if (this.candles.length > this.limit) this.candles.splice(0, this.candles.length - this.limit);
  }
}

// ---- trades ----

/**
 * TradeTape is the resume state of one symbol's trades: the last seq got
 * (what a resubscribe names in "since") and the epoch of the seq space.
 * Seqs are contiguous, so the tape tells a duplicate (seq at or below the
 * last: a replay overlap) from a hole (a jump no "gap" announced).
 */
export class TradeTape {
  constructor(since) {
    this.last = since; // undefined until a first trade, and after a reset
    this.epoch = undefined; // from the last "reset", if any
  }

  /**
   * Takes a trade. Returns "dup" for a trade already had (drop it), "ok",
   * or [from, to]: the seqs skipped without a "gap", before this trade.
   */
  trade(m) {
    const last = this.last;
    if (last !== undefined && m.seq <= last) return "dup";
    this.last = m.seq;
    return last !== undefined && m.seq > last + 1 ? [last + 1, m.seq - 1] : "ok";
  }

  /** Takes a "gap": the trades to "to" are lost, the tape goes on after it. */
  gap(m) {
    if (this.last === undefined || m.to > this.last) this.last = m.to;
  }

  /** Takes a "reset": the seq space started over, so the last seq means nothing now. */
  reset(m) {
    this.last = undefined;
    this.epoch = m.epoch;
  }
}

// ---- channel subscriptions ----

// A ChannelSub is the client's one subscription to (channel, symbol[,
// interval]): what the server is asked for, the state kept from its
// messages, and the handles of every caller that wants it.
class ChannelSub {
  constructor(client, channel, symbol, params) {
    this.channel = channel;
    this.symbol = symbol;
    this.interval = params.interval; // candles
    this.depth = params.depth; // book
    this.maxRate = params.maxRate; // candles, book
    this.key = subKey(channel, symbol, params.interval);
    this.handles = new Set();
    this.active = false; // the server confirmed it on this connection
    this.tape = channel === "trades" ? new TradeTape(params.since) : null;
    this.series = channel === "candles" ? new CandleSeries(client.opts.candleLimit) : null;
    this.book = channel === "book" ? new OrderBook(symbol, params.depth) : null;
    this.resyncs = 0; // book: mismatches seen
    this.resyncing = false; // book: a snapshot was asked for and has not come
    this.failed = 0; // book: snapshots in a row that did not verify
    this.resyncTimer = null;
  }
}

function subKey(channel, symbol, interval) {
  return channel === "candles" ? `candles|${symbol}|${interval}` : `${channel}|${symbol}`;
}

// A handle is what trades(), candles() and book() return: one caller's
// registration on a ChannelSub.
class Handle {
  constructor(client, sub, handler) {
    this._client = client;
    this._sub = sub;
    this._handler = handler;
    this.channel = sub.channel;
    this.symbol = sub.symbol;
    this.closed = false;
    this.ready = new Promise((resolve, reject) => {
      this._resolve = resolve;
      this._reject = reject;
    });
    this.ready.catch(() => {}); // a caller that never awaits it must not see an unhandled rejection
    this._settled = false;
  }

  _settle(err) {
    if (this._settled) return;
    this._settled = true;
    if (err) this._reject(err);
    else this._resolve();
  }

  /** Stops this handler; the subscription ends when no handler is left. */
  close() {
    if (this.closed) return;
    this.closed = true;
    this._settle(new TickerError("closed", "tickerd: subscription closed"));
    this._client._closeHandle(this);
  }
}

class TradesHandle extends Handle {
  /** The resume state: tape.last is the seq a reconnect resumes after. */
  get tape() {
    return this._sub.tape;
  }
}

class CandlesHandle extends Handle {
  constructor(client, sub, handler) {
    super(client, sub, handler);
    this.interval = sub.interval;
  }

  /** The candles kept, oldest first. */
  get candles() {
    return this._sub.series.candles;
  }

  /** Changes the max rate live; undefined removes the cap. */
  setMaxRate(maxRate) {
    this._client._setRate(this, { maxRate });
  }
}

class BookHandle extends Handle {
  get depth() {
    return this._sub.depth;
  }

  /** The book kept (book.valid says whether it is verified). */
  get book() {
    return this._sub.book;
  }

  /** Checksum mismatches seen on this book, each answered by a resync. */
  get resyncs() {
    return this._sub.resyncs;
  }

  /** Changes the max rate live; undefined removes the cap. */
  setMaxRate(maxRate) {
    this._client._setRate(this, { maxRate });
  }
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
    /** The server's "limits" of the current connection, or null before it came. */
    this.limits = null;

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
    this._wanted = new Set(); // quote symbols the user wants, resubscribed after reconnect
    this._rates = new Map(); // quote symbol -> max rate, for those with one
    this._seq = new Map(); // quote symbol -> last seq seen on this connection
    this._subs = new Map(); // ChannelSub.key -> ChannelSub
    this._stats = {
      messages: 0, snapshots: 0, ticks: 0, merged: 0, stale: 0,
      reconnects: 0, rttMs: NaN, latencyMs: NaN,
      trades: 0, replayed: 0, duplicates: 0, gaps: 0, missed: 0, holes: 0,
      candles: 0, books: 0, resyncs: 0, resets: 0, delisted: 0,
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
    for (const fn of [...set]) call(fn, args);
  }

  // ---- public API ----

  /** The quote symbols the client holds (and resubscribes after a reconnect). */
  get symbols() {
    return [...this._wanted];
  }

  /**
   * The WebSocket extensions of the open connection, as the socket reports
   * them ("permessage-deflate; ..." when its messages are compressed;
   * browsers offer it by themselves, the ws package too), or "" while not
   * open. Compression is the socket's business: messages arrive inflated.
   */
  get extensions() {
    return (this.state === OPEN && this._ws && this._ws.extensions) || "";
  }

  /**
   * Counters since construction. latencyMs is now - ts of the last quote;
   * missed counts the trades "gap" messages named, holes those skipped
   * without one; resyncs counts book checksum or sequence mismatches.
   */
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
    for (const sub of [...this._subs.values()]) this._endSub(sub, new TickerError("closed", "tickerd: client closed"));
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
   * Subscribes to the quotes of symbols. Resolves with { symbols, unknown,
   * error } once the server answered for every symbol: symbols were
   * subscribed, unknown were rejected by the server (error then holds its
   * TickerError, also emitted as "error"). Rejects if nothing could be
   * subscribed. The symbols stay wanted across reconnects until
   * unsubscribed. opts.maxRate caps the updates per second of each symbol
   * (0.1 to 1000); subscribing again to the same symbols changes it live,
   * and without it removes the cap.
   */
  subscribe(symbols, opts) {
    let maxRate;
    try {
      symbols = cleanSymbols(symbols);
      maxRate = cleanRate(opts);
    } catch (err) {
      return Promise.reject(err);
    }
    if (symbols.length === 0) return Promise.resolve({ symbols: [], unknown: [], error: null });
    const added = symbols.filter((s) => !this._wanted.has(s));
    for (const s of symbols) {
      this._wanted.add(s);
      if (maxRate === undefined) this._rates.delete(s);
      else this._rates.set(s, maxRate);
    }
    return this._request({ op: "subscribe", symbols, maxRate, added });
  }

  /** Unsubscribes from quotes. Resolves with { symbols } when the server confirmed. */
  unsubscribe(symbols) {
    try {
      symbols = cleanSymbols(symbols);
    } catch (err) {
      return Promise.reject(err);
    }
    for (const s of symbols) this._forgetQuote(s);
    if (symbols.length === 0 || this.state !== OPEN) {
      // A connection that is not open holds no subscription; the next one
      // will not ask for these symbols.
      return Promise.resolve({ symbols });
    }
    return this._request({ op: "unsubscribe", symbols });
  }

  _forgetQuote(s) {
    this._wanted.delete(s);
    this._rates.delete(s);
    this._seq.delete(s);
    this.quotes.delete(s);
  }

  /** Asks the server for every symbol it publishes. Resolves with an array of names. */
  list() {
    return this._request({ op: "list" });
  }

  /**
   * Asks the server for the symbols whose names start with prefix, in byte
   * order, at most limit (1 to 500; the server's default is 50). Resolves
   * with { prefix, symbols, more }: more says whether more matched. It
   * serves universes far too large to list.
   */
  search(prefix = "", limit) {
    if (typeof prefix !== "string") return Promise.reject(new TickerError("bad_input", "tickerd: prefix must be a string"));
    if (limit !== undefined && !(Number.isInteger(limit) && limit >= 1 && limit <= 500)) {
      return Promise.reject(new TickerError("bad_input", `tickerd: limit must be an integer from 1 to 500, not ${limit}`));
    }
    const msg = { prefix };
    if (limit !== undefined) msg.limit = limit;
    return this._request({ op: "search", msg });
  }

  /**
   * Subscribes to symbol's trades. handler(m, tape) gets, in seq order,
   * every "trade" (replayed ones after a reconnect carry replay: true), each
   * "gap" (the seqs from..to were lost) and "reset" (the seq space started
   * over); a hole no gap announced is reported as a gap with inferred:
   * true. Duplicates (seq at or below the last) are dropped. After a
   * reconnect the client resubscribes with "since" the last seq it got, so
   * the tape goes on without hole or duplicate while the server's history
   * reaches back. opts.since starts from a seq kept elsewhere (a previous
   * page). Returns a handle: await handle.ready; handle.close().
   */
  trades(symbol, handler, opts = {}) {
    const since = opts.since;
    if (since !== undefined && !(Number.isSafeInteger(since) && since >= 0)) {
      throw new TickerError("bad_input", `tickerd: since must be a trade seq, not ${since}`);
    }
    return this._open("trades", symbol, handler, { since }, TradesHandle);
  }

  /**
   * Subscribes to symbol's candles of interval ("1s", "1m", "5m" or "1h").
   * handler(candles, m) gets the series kept (oldest first) after each
   * "candles" history (at subscribe, and after every reconnect) and each
   * "candle" (it replaces the one with the same start). opts.maxRate caps
   * the updates per second; handle.setMaxRate changes it live.
   */
  candles(symbol, interval, handler, opts = {}) {
    if (!INTERVALS.includes(interval)) {
      throw new TickerError("bad_input", `tickerd: interval must be one of ${INTERVALS.join(" ")}, not ${interval}`);
    }
    return this._open("candles", symbol, handler, { interval, maxRate: cleanRate(opts) }, CandlesHandle);
  }

  /**
   * Keeps symbol's order book at depth (10, 50 or 200 levels a side; 10 if
   * undefined). handler(book, m) gets the OrderBook after each message that
   * left it verified: every delta must apply to the seq the book holds, and
   * the checksum must match after every message. On any mismatch the client
   * counts a resync ("resync" event, handle.resyncs), asks for a fresh
   * snapshot and calls handler again once it verifies. A connection holds
   * one book per symbol: another depth replaces it for every handler of the
   * symbol. opts.maxRate caps the updates per second (merged deltas or a
   * snapshot); handle.setMaxRate changes it live.
   */
  book(symbol, depth = 10, handler, opts = {}) {
    if (![10, 50, 200].includes(depth)) {
      throw new TickerError("bad_input", `tickerd: depth must be 10, 50 or 200, not ${depth}`);
    }
    return this._open("book", symbol, handler, { depth, maxRate: cleanRate(opts) }, BookHandle);
  }

  _open(channel, symbol, handler, params, Kind) {
    symbol = cleanSymbol(symbol);
    if (typeof handler !== "function") throw new TickerError("bad_input", "tickerd: handler must be a function");
    const key = subKey(channel, symbol, params.interval);
    let sub = this._subs.get(key);
    let send = false;
    if (!sub) {
      sub = new ChannelSub(this, channel, symbol, params);
      this._subs.set(key, sub);
      send = true;
    } else if (channel === "book" && sub.depth !== params.depth) {
      // One book per (connection, symbol): the new depth replaces it and a
      // snapshot at that depth follows.
      sub.depth = params.depth;
      sub.book = new OrderBook(symbol, params.depth);
      sub.active = false;
      sub.maxRate = params.maxRate;
      send = true;
    } else if (channel !== "trades" && sub.maxRate !== params.maxRate) {
      sub.maxRate = params.maxRate;
      send = true;
    }
    const h = new Kind(this, sub, handler);
    sub.handles.add(h);
    if (sub.active && !send) h._settle();
    const why = this._unsupported(sub);
    if (why) this._endSub(sub, why);
    else if (send && this.limits) this._sendSubs([sub]);
    return h;
  }

  // _unsupported says why the server of this connection cannot serve sub,
  // or null (also while no "limits" has come).
  _unsupported(sub) {
    const l = this.limits;
    if (!l) return null;
    if (!Array.isArray(l.channels) || !l.channels.includes(sub.channel)) {
      return new TickerError("unsupported", `tickerd: the server does not carry the ${sub.channel} channel`, [sub.symbol]);
    }
    if (sub.channel === "book" && Array.isArray(l.book_depths) && !l.book_depths.includes(sub.depth)) {
      return new TickerError("unsupported", `tickerd: the server offers book depths ${l.book_depths.join(", ")}, not ${sub.depth}`, [sub.symbol]);
    }
    return null;
  }

  _setRate(h, opts) {
    if (h.closed) return;
    const rate = cleanRate(opts);
    const sub = h._sub;
    if (sub.maxRate === rate) return;
    sub.maxRate = rate;
    if (this.limits) this._sendSubs([sub]);
  }

  _closeHandle(h) {
    const sub = h._sub;
    sub.handles.delete(h);
    if (sub.handles.size > 0 || this._subs.get(sub.key) !== sub) return;
    this._subs.delete(sub.key);
    clearTimeout(sub.resyncTimer);
    if (this.limits) this._sendUnsubscribe(sub);
  }

  // _endSub removes sub: the server ended it (delisted) or cannot serve
  // it, or the client closed. Its handles are closed and their ready
  // rejected with err if still pending.
  _endSub(sub, err) {
    if (this._subs.get(sub.key) === sub) this._subs.delete(sub.key);
    clearTimeout(sub.resyncTimer);
    for (const h of sub.handles) {
      h.closed = true;
      h._settle(err);
    }
    sub.handles.clear();
  }

  // channelRequests groups subs into the subscribe requests that ask the
  // server for them: one per (channel, interval, depth, max rate), with
  // "since" for the trade symbols that have a last seq, each at most
  // limits.max_request_symbols symbols.
  _channelRequests(subs) {
    const groups = new Map();
    for (const sub of subs) {
      const g = `${sub.channel}|${sub.interval || ""}|${sub.depth || ""}|${sub.maxRate === undefined ? "" : sub.maxRate}`;
      let list = groups.get(g);
      if (!list) groups.set(g, (list = []));
      list.push(sub);
    }
    const most = (this.limits && this.limits.max_request_symbols) || 1000;
    const out = [];
    for (const list of groups.values()) {
      for (let i = 0; i < list.length; i += most) {
        const part = list.slice(i, i + most);
        const s = part[0];
        const msg = { channel: s.channel };
        if (s.interval) msg.interval = s.interval;
        msg.symbols = part.map((x) => x.symbol);
        if (s.channel === "trades") {
          const since = {};
          let any = false;
          for (const x of part) {
            if (x.tape.last !== undefined) {
              since[x.symbol] = x.tape.last;
              any = true;
            }
          }
          if (any) msg.since = since;
        }
        if (s.depth) msg.depth = s.depth;
        if (s.maxRate !== undefined) msg.max_rate = s.maxRate;
        out.push({ msg, subs: new Map(part.map((x) => [x.symbol, x])) });
      }
    }
    return out;
  }

  _sendSubs(subs) {
    for (const { msg, subs: bySymbol } of this._channelRequests(subs)) {
      this._request({ op: "subscribe", msg, symbols: msg.symbols, subs: bySymbol, internal: true });
    }
  }

  _sendUnsubscribe(sub) {
    this._request({ op: "unsubscribe", msg: { channel: sub.channel, interval: sub.interval }, symbols: [sub.symbol], internal: true });
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
    for (const { symbols, maxRate } of this._quoteRequests(inFlight)) {
      this._request({ op: "subscribe", symbols, maxRate, internal: true });
    }
    for (const req of [...this._pending.values()]) {
      if (!req.sent) this._send(req);
    }
    // Trades, candles and books go out when "limits" says the server
    // carries them (onLimits).
  }

  // _quoteRequests groups the wanted quote symbols, but those of skip, by
  // max rate: what a new connection subscribes, one request per rate (most
  // often just the one without).
  _quoteRequests(skip = new Set()) {
    const byRate = new Map();
    for (const s of this._wanted) {
      if (skip.has(s)) continue;
      const rate = this._rates.get(s);
      let list = byRate.get(rate);
      if (!list) byRate.set(rate, (list = []));
      list.push(s);
    }
    return [...byRate].map(([maxRate, symbols]) => ({ symbols, maxRate }));
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
    this.limits = null;
    for (const sub of this._subs.values()) {
      // The next connection starts each over: a snapshot, a history, or
      // trades since the tape's last seq.
      sub.active = false;
      sub.resyncing = false;
      clearTimeout(sub.resyncTimer);
      if (sub.book) sub.book.invalidate();
    }
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
    req.sent = true;
    clearTimeout(req.timer);
    req.timer = setTimeout(() => this._timeout(req), this.opts.requestTimeout);
    this._write(wire(req));
  }

  _timeout(req) {
    if (this._pending.get(req.id) !== req) return;
    if (req.op === "subscribe" && req.subscribed.length > 0 && !req.subs) {
      this._finish(req); // the server answered in part; report what we know
      return;
    }
    this._pending.delete(req.id);
    const err = new TickerError("timeout", `tickerd: no reply to ${req.op} within ${this.opts.requestTimeout} ms`, req.symbols);
    if (req.added) req.added.forEach((s) => this._wanted.delete(s));
    if (req.subs) this._failSubs(req, err);
    req.reject(err);
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

  // _failSubs ends the subs of a channel request that the server has not
  // confirmed, for err (the symbols it names, or all).
  _failSubs(req, err) {
    const only = err.code === "unknown_symbol" && err.symbols.length ? err.symbols : null;
    for (const [sym, sub] of req.subs) {
      if (only && !only.includes(sym)) continue;
      if (this._subs.get(sub.key) === sub && !sub.active) this._endSub(sub, err);
    }
  }

  // ---- incoming ----

  /**
   * Handles one message from the server (a WebSocket text frame's data):
   * what the socket's onmessage calls.
   */
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
    const handle = ON_MESSAGE.get(m.type); // types this client does not know are ignored
    if (handle) this[handle](m);
  }

  _onPong(m) {
    if (this._ping && this._ping.id === m.id) {
      clearTimeout(this._ping.timer);
      this._stats.rttMs = monoMs() - this._ping.sent;
      this._ping = null;
    }
  }

  _onLimits(m) {
    this.limits = m;
    this._emit("limits", m);
    const ok = [];
    for (const sub of [...this._subs.values()]) {
      const why = this._unsupported(sub);
      if (why) this._endSub(sub, why);
      else ok.push(sub);
    }
    if (ok.length) this._sendSubs(ok);
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

  _deliver(sub, ...args) {
    for (const h of [...sub.handles]) {
      if (!h.closed) call(h._handler, args);
    }
  }

  _onTrade(m) {
    const sub = this._subs.get(subKey("trades", m.symbol));
    if (!sub) return;
    const r = sub.tape.trade(m);
    if (r === "dup") {
      this._stats.duplicates++;
      return;
    }
    if (r !== "ok") {
      // A hole the server did not announce: say so as a gap.
      this._stats.holes += r[1] - r[0] + 1;
      this._deliver(sub, { type: "gap", channel: "trades", symbol: m.symbol, from: r[0], to: r[1], inferred: true }, sub.tape);
    }
    this._stats.trades++;
    if (m.replay) this._stats.replayed++;
    this._deliver(sub, m, sub.tape);
  }

  _onGap(m) {
    if (m.channel !== "trades") return;
    const sub = this._subs.get(subKey("trades", m.symbol));
    if (!sub) return;
    sub.tape.gap(m);
    this._stats.gaps++;
    this._stats.missed += m.to - m.from + 1;
    this._deliver(sub, m, sub.tape);
  }

  _onCandle(m) {
    const sub = this._subs.get(subKey("candles", m.symbol, m.interval));
    if (!sub) return;
    if (m.type === "candles") sub.series.load(m.candles);
    else sub.series.merge(m);
    this._stats.candles++;
    this._deliver(sub, sub.series.candles, m);
  }

  _onBook(m) {
    const sub = this._subs.get(subKey("book", m.symbol));
    if (!sub || m.depth !== sub.depth) return; // ended, or in flight from another depth
    const book = sub.book;
    if (!m.snapshot && !book.valid) return; // waiting for a snapshot
    this._stats.books++;
    const why = book.apply(m);
    if (m.snapshot) sub.resyncing = false;
    if (why) {
      this._resync(sub, why);
      return;
    }
    if (m.snapshot) sub.failed = 0;
    this._deliver(sub, book, m);
  }

  // _resync counts a book mismatch and asks for a fresh snapshot, by
  // unsubscribing and subscribing again; at once after a bad delta, later
  // and later after snapshots that themselves fail, and never twice while
  // one is on its way.
  _resync(sub, reason) {
    sub.resyncs++;
    this._stats.resyncs++;
    this._emit("resync", { symbol: sub.symbol, depth: sub.depth, reason, seq: sub.book.seq, resyncs: sub.resyncs });
    if (sub.resyncing || sub.resyncTimer) return;
    const delay = sub.failed === 0 ? 0 : Math.min(this.opts.resyncDelayMax, 250 * 2 ** (sub.failed - 1));
    sub.failed++;
    const again = () => {
      sub.resyncTimer = null;
      if (this._subs.get(sub.key) !== sub || !this.limits) return;
      sub.resyncing = true;
      sub.active = false;
      this._sendUnsubscribe(sub);
      this._sendSubs([sub]);
    };
    if (delay === 0) again();
    else sub.resyncTimer = setTimeout(again, delay);
  }

  _onReset(m) {
    this._stats.resets++;
    if (m.channel === "trades") {
      const sub = this._subs.get(subKey("trades", m.symbol));
      if (sub) {
        sub.tape.reset(m);
        this._deliver(sub, m, sub.tape);
      }
    } else if (m.channel === "book") {
      const sub = this._subs.get(subKey("book", m.symbol));
      if (sub) sub.book.invalidate(); // a snapshot follows
    } else if (m.channel === "quotes") {
      this._seq.delete(m.symbol); // a snapshot follows, with a lower seq
    }
    this._emit("reset", m);
  }

  _onDelisted(m) {
    const sym = m.symbol;
    this._stats.delisted++;
    this._forgetQuote(sym);
    const err = new TickerError("delisted", `tickerd: ${sym} was delisted`, [sym]);
    for (const sub of [...this._subs.values()]) {
      if (sub.symbol === sym) this._endSub(sub, err);
    }
    this._emit("delisted", m);
  }

  _onReply(m) {
    const req = this._pending.get(m.id);
    if (!req) return;
    const syms = Array.isArray(m.symbols) ? m.symbols : [];
    if (m.type === "subscribed" && req.op === "subscribe") {
      req.subscribed.push(...syms);
      if (req.subs) {
        for (const s of syms) {
          const sub = req.subs.get(s);
          if (!sub || this._subs.get(sub.key) !== sub) continue;
          sub.active = true;
          for (const h of sub.handles) h._settle();
        }
      }
      if (req.subscribed.length + req.unknown.length >= req.symbols.length) this._finish(req);
    } else if (m.type === "unsubscribed" && req.op === "unsubscribe") {
      this._pending.delete(req.id);
      clearTimeout(req.timer);
      req.resolve({ symbols: syms });
    } else if (m.type === "symbols" && req.op === "list") {
      this._pending.delete(req.id);
      clearTimeout(req.timer);
      req.resolve(syms);
    } else if (m.type === "search" && req.op === "search") {
      this._pending.delete(req.id);
      clearTimeout(req.timer);
      req.resolve({ prefix: m.prefix, symbols: syms, more: m.more === true });
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
        if (!req.subs) this._wanted.delete(s);
        if (!req.unknown.includes(s)) req.unknown.push(s);
      }
      req.error = err;
      if (req.subs) this._failSubs(req, err);
      if (req.subscribed.length + req.unknown.length >= req.symbols.length) this._finish(req);
      return;
    }
    this._pending.delete(req.id);
    clearTimeout(req.timer);
    if (req.added) req.added.forEach((s) => this._wanted.delete(s));
    if (req.subs) this._failSubs(req, err);
    if (!req.internal) req.reject(err);
  }
}

// ON_MESSAGE names the TickerClient method that takes each message type.
const ON_MESSAGE = new Map([
  ["tick", "_onQuote"],
  ["snapshot", "_onQuote"],
  ["trade", "_onTrade"],
  ["gap", "_onGap"],
  ["candles", "_onCandle"],
  ["candle", "_onCandle"],
  ["book", "_onBook"],
  ["reset", "_onReset"],
  ["delisted", "_onDelisted"],
  ["limits", "_onLimits"],
  ["subscribed", "_onReply"],
  ["unsubscribed", "_onReply"],
  ["symbols", "_onReply"],
  ["search", "_onReply"],
  ["pong", "_onPong"],
  ["error", "_onError"],
]);

// wire is the message a request sends.
function wire(req) {
  const msg = { op: req.op, id: req.id };
  if (req.msg) Object.assign(msg, req.msg);
  if (req.symbols) msg.symbols = req.symbols;
  if (req.maxRate !== undefined) msg.max_rate = req.maxRate;
  return msg;
}

// call runs a listener or handler; one that throws must not break the
// client, so its error is reported out of band.
function call(fn, args) {
  try {
    fn(...args);
  } catch (err) {
    queueMicrotask(() => { throw err; });
  }
}

/** Creates a client and starts connecting. */
export function connect(url, opts) {
  const c = new TickerClient(url, opts);
  c.connect();
  return c;
}
