// app.js: the dashboard. It keeps the latest state of every watched symbol
// as messages arrive, and paints in animation frames, at most 20 times a
// second. A hidden tab gets no frames, so it stops painting; the moment it
// is shown again it paints the fresh state and the client checks its link.
//
// The selected symbol also gets its trades (time & sales), its candles (the
// chart, at the chosen interval) and its order book (a depth-10 ladder whose
// checksum the client verifies after every message), on the channels the
// server's "limits" says it carries.

import { TickerClient } from "./tickerd.js";
import * as fmt from "./format.js";
import { Chart, History, drawSpark, track, untrack } from "./chart.js";

const DEFAULT_WATCHLIST = ["AAPL", "MSFT", "NVDA", "TSLA", "AMZN", "GOOGL", "META", "BTC-USD", "ETH-USD", "EUR/USD"];
const KEY_WATCH = "tickerd.watchlist.v1";
const KEY_SELECTED = "tickerd.selected.v1";
const KEY_RATE = "tickerd.rate.v1";
const KEY_INTERVAL = "tickerd.interval.v1";
const SPARK_EVERY_MS = 250;
const FLASH_MS = 350; // flash length
const FLASH_EVERY_MS = 600; // a cell flashes at most this often, so a busy symbol pulses instead of glowing
const CHART_EVERY_MS = 100; // the big chart repaints at most 10 times a second
const FRAME_EVERY_MS = 50; // the table repaints at most 20 times a second: plenty to read, a third of the work
const MAX_SUGGEST = 8;
const SMALL_UNIVERSE = 500; // up to this many names are fetched once and matched here; beyond, the server searches
const SEARCH_DELAY_MS = 80; // typing pause before a search goes to the server
const SEARCH_KEEP_MS = 5000; // how long a search's answer serves the prefixes it covers
const TAPE_LEN = 60;
const BOOK_DEPTH = 10;
const INTERVAL_MS = { "1s": 1000, "1m": 60000, "5m": 300000, "1h": 3600000 };

const $ = (id) => document.getElementById(id);

// ---- persistence ----

function loadWatchlist() {
  try {
    const v = JSON.parse(localStorage.getItem(KEY_WATCH));
    if (Array.isArray(v) && v.every((s) => typeof s === "string")) return [...new Set(v)];
  } catch {
    // no storage or bad JSON: first visit
  }
  return [...DEFAULT_WATCHLIST];
}

function load(key) {
  try {
    return localStorage.getItem(key);
  } catch {
    return null;
  }
}

function save(key, value) {
  try {
    localStorage.setItem(key, typeof value === "string" ? value : JSON.stringify(value));
  } catch {
    // storage full or disabled: the setting lives for this page only
  }
}

// ---- theme for the canvases, from the CSS custom properties ----

const css = getComputedStyle(document.documentElement);
const v = (name) => css.getPropertyValue(name).trim();
const theme = {
  up: v("--up"), down: v("--down"), muted: v("--muted"), text: v("--text"), grid: v("--grid"),
  upFill: v("--up-fill"), downFill: v("--down-fill"), cross: v("--cross"), crossTag: v("--cross-tag"),
  tagText: v("--tag-text"), mono: v("--mono"),
};

// ---- state ----

let watch = loadWatchlist();
let selected = load(KEY_SELECTED);
let rate = ["", "10", "1"].includes(load(KEY_RATE)) ? load(KEY_RATE) : ""; // "" is live
let interval = load(KEY_INTERVAL) in INTERVAL_MS ? load(KEY_INTERVAL) : "line";
const rows = new Map(); // symbol -> row view
const histories = new Map(); // symbol -> History
const mergedBy = new Map(); // symbol -> updates merged away (seq jumps)
const dirty = new Set();
let names = []; // every symbol the server publishes, when the universe is small
let universe = "unknown"; // "small": names holds it all; "large": the server searches
let latencies = [];
let frameQueued = false;

const client = new TickerClient(undefined, { pingInterval: 5000, pingTimeout: 4000, backoffMax: 8000 });
const chart = new Chart($("chart"), theme);

/** The chosen max rate (undefined: live), and the subscribe options with it. */
const maxRate = () => (rate ? Number(rate) : undefined);
const rateOpts = () => ({ maxRate: maxRate() });

function history(sym) {
  let h = histories.get(sym);
  if (!h) histories.set(sym, (h = new History()));
  return h;
}

// ---- rows ----

const COLS = ["sym", "last", "chg", "pct", "bid", "ask", "vol", "spark", "time", "x"];

function makeRow(sym) {
  const tr = document.createElement("tr");
  tr.dataset.symbol = sym;
  tr.className = "pending";
  const cells = {};
  for (const c of COLS) {
    const td = document.createElement("td");
    td.className = "c-" + c;
    tr.append(td);
    cells[c] = td;
  }
  cells.sym.textContent = sym;
  for (const c of ["last", "chg", "pct", "bid", "ask", "vol", "time"]) cells[c].textContent = "–";
  const spark = document.createElement("canvas");
  spark.className = "spark";
  cells.spark.append(spark);
  track(spark, () => drawSpark(spark, history(sym), theme));
  const x = document.createElement("button");
  x.type = "button";
  x.className = "rm";
  x.title = `Remove ${sym}`;
  x.setAttribute("aria-label", `Remove ${sym}`);
  x.textContent = "×";
  cells.x.append(x);
  const row = { sym, tr, cells, spark, shown: null, sparkAt: 0, flashAt: 0, flashRef: NaN };
  rows.set(sym, row);
  return row;
}

function renderRow(row, now) {
  const q = client.quotes.get(row.sym);
  if (!q) return;
  const { cells, tr } = row;
  if (row.shown === null) tr.classList.remove("pending", "unknown");
  if (row.shown !== q.price) {
    cells.last.textContent = q.price;
    row.shown = q.price;
    // Flash the direction of the move since the last flash.
    const n = Number(q.price);
    if (Number.isNaN(row.flashRef)) row.flashRef = n;
    else if (now - row.flashAt >= FLASH_EVERY_MS && n !== row.flashRef) {
      const up = n > row.flashRef;
      cells.last.classList.toggle("up", up);
      cells.last.classList.toggle("down", !up);
      cells.last.animate([{ backgroundColor: up ? theme.upFill : theme.downFill }, { backgroundColor: "transparent" }], {
        duration: FLASH_MS,
        easing: "ease-out",
      });
      row.flashAt = now;
      row.flashRef = n;
    }
  }
  const chg = fmt.decSub(q.price, q.open);
  const sign = fmt.decSign(chg);
  cells.chg.textContent = fmt.signed(chg);
  cells.pct.textContent = fmt.pct(q.price, q.open);
  for (const c of [cells.chg, cells.pct]) {
    c.classList.toggle("up", sign > 0);
    c.classList.toggle("down", sign < 0);
  }
  cells.bid.textContent = q.bid;
  cells.ask.textContent = q.ask;
  cells.vol.textContent = fmt.compact(q.volume);
  cells.vol.title = fmt.groupInt(q.volume);
  cells.time.textContent = fmt.clock(q.ts);
  tr.dataset.seq = q.seq;
  if (now - row.sparkAt >= SPARK_EVERY_MS) {
    row.sparkAt = now;
    drawSpark(row.spark, history(row.sym), theme);
  }
}

function renderDetail() {
  const q = selected ? client.quotes.get(selected) : undefined;
  $("d-sym").textContent = selected || "–";
  const set = (id, text) => {
    $(id).textContent = text;
  };
  if (!q) {
    for (const id of ["d-last", "d-bid", "d-ask", "d-spread", "d-open", "d-high", "d-low", "d-vol", "d-seq"]) set(id, "–");
    set("d-chg", "");
    set("d-merged", selected ? String(mergedBy.get(selected) || 0) : "–");
    chartAt = 0;
    drawChart(performance.now());
    return;
  }
  const chg = fmt.decSub(q.price, q.open);
  const el = $("d-chg");
  el.textContent = `${fmt.signed(chg)} (${fmt.pct(q.price, q.open)})`;
  el.classList.toggle("up", fmt.decSign(chg) > 0);
  el.classList.toggle("down", fmt.decSign(chg) < 0);
  set("d-last", q.price);
  set("d-bid", q.bid);
  set("d-ask", q.ask);
  set("d-spread", fmt.decSub(q.ask, q.bid));
  set("d-open", q.open);
  set("d-high", q.high);
  set("d-low", q.low);
  set("d-vol", fmt.groupInt(q.volume));
  set("d-seq", String(q.seq));
  set("d-merged", String(mergedBy.get(selected) || 0));
  drawChart(performance.now());
}

let chartAt = 0;
let chartOwed = false;
function drawChart(now) {
  if (now - chartAt < CHART_EVERY_MS) {
    chartOwed = true; // frame() comes back for it
    return;
  }
  chartAt = now;
  chartOwed = false;
  const q = selected ? client.quotes.get(selected) : undefined;
  const k = chans.candles;
  const canvas = $("chart");
  if (interval !== "line" && k && !k.closed && k.symbol === selected) {
    chart.drawCandles(k.candles, INTERVAL_MS[interval], q);
    canvas.dataset.mode = interval;
    canvas.dataset.candles = String(k.candles.length);
  } else {
    chart.draw(selected ? history(selected) : null, q);
    canvas.dataset.mode = "line";
    delete canvas.dataset.candles;
  }
}

// ---- channels of the selected symbol ----

// The handles of the selected symbol's trades, candles and book; null, or
// closed when the server cannot serve them.
const chans = { trades: null, candles: null, book: null };

/** Whether the server carries channel: yes until its limits say otherwise. */
function carries(channel) {
  const l = client.limits;
  return !l || (Array.isArray(l.channels) && l.channels.includes(channel));
}

function note(id, text) {
  const el = $(id);
  el.textContent = text || "";
  el.hidden = !text;
}

const CHANNEL_NAMES = { trades: "trades", candles: "candles", book: "order books" };

/** Why a channel's handle ended, for its panel. */
function why(channel, err) {
  if (err.code === "unsupported") return `This server does not carry ${CHANNEL_NAMES[channel]}.`;
  if (err.code === "closed" || err.code === "delisted") return "";
  return `${CHANNEL_NAMES[channel]}: ${err.message}`;
}

// ensure makes chans[channel] a live handle that matches, opening it with
// make, if wanted and the server carries the channel; it closes one that
// does not match.
function ensure(channel, wanted, matches, make, onEnd) {
  const h = chans[channel];
  if (h && !h.closed && wanted && matches(h)) return;
  if (h) h.close();
  chans[channel] = null;
  if (!wanted || !carries(channel)) return;
  const nh = make();
  chans[channel] = nh;
  nh.ready.catch((err) => {
    if (chans[channel] === nh) onEnd(why(channel, err));
  });
}

/** Opens what the selected symbol needs and closes the rest; again at every "limits". */
function openChannels() {
  const sym = selected;
  if (tapeSym !== sym) resetTape(sym);
  if (bookSym !== sym) resetBook(sym);
  ensure("trades", !!sym, (h) => h.symbol === sym, () => client.trades(sym, onTrade), (msg) => note("tape-note", msg));
  ensure("book", !!sym, (h) => h.symbol === sym, () => client.book(sym, BOOK_DEPTH, onBook, rateOpts()), (msg) => note("book-note", msg));
  ensure("candles", !!sym && interval !== "line", (h) => h.symbol === sym && h.interval === interval, () => {
    chartAt = 0;
    return client.candles(sym, interval, onCandles, rateOpts());
  }, (msg) => {
    $("chart-note").textContent = msg;
  });
  for (const [channel, id] of [["trades", "tape-note"], ["book", "book-note"]]) {
    if (!carries(channel)) note(id, why(channel, { code: "unsupported" }));
    else if (chans[channel] && !chans[channel].closed) note(id, "");
  }
  paintIntervals();
}

function onCandles() {
  dirty.add(selected);
  schedule();
}

// ---- interval and rate ----

function paintIntervals() {
  const can = carries("candles");
  const shown = can ? interval : "line";
  for (const b of $("interval").querySelectorAll("button")) {
    const iv = b.dataset.interval;
    b.setAttribute("aria-checked", String(iv === shown));
    b.disabled = iv !== "line" && !can;
  }
  $("interval").title = can ? "" : "This server does not carry candles";
  $("chart-note").textContent = shown === "line" ? "last price of each quote" : `${shown} candles`;
}

$("interval").addEventListener("click", (e) => {
  const b = e.target.closest("button[data-interval]");
  if (!b || b.disabled) return;
  interval = b.dataset.interval;
  save(KEY_INTERVAL, interval);
  openChannels();
  chartAt = 0;
  drawChart(performance.now());
});

const rateSelect = $("rate");
rateSelect.value = rate;
rateSelect.addEventListener("change", () => {
  rate = rateSelect.value;
  save(KEY_RATE, rate);
  // A subscribe that names the symbols again changes their rate live.
  if (watch.length) client.subscribe(watch, rateOpts()).catch(() => {});
  for (const h of [chans.candles, chans.book]) if (h && !h.closed) h.setMaxRate(maxRate());
});

// ---- time & sales ----

// The selected symbol's trades, gaps and resets, oldest first.
let tape = [];
let tapeSym = null;
let tapeDirty = false;

function resetTape(sym) {
  tape = [];
  tapeSym = sym;
  tapeDirty = true;
  note("tape-note", "");
  $("tape-sym").textContent = sym || "";
  $("tape").replaceChildren();
  tapeShown = null;
}

function onTrade(m) {
  if (m.symbol !== tapeSym) return;
  tape.push(m);
  if (tape.length > TAPE_LEN) tape.shift();
  tapeDirty = true;
  schedule();
}

function tapeRow(m) {
  const tr = document.createElement("tr");
  const td = (cls, text, span) => {
    const el = document.createElement("td");
    el.className = cls;
    el.textContent = text;
    if (span) el.colSpan = span;
    tr.append(el);
  };
  if (m.type === "trade") {
    const dir = m.side === "buy" ? " up" : m.side === "sell" ? " down" : "";
    td("t-time", fmt.clock(m.ts));
    td("t-price" + dir, m.price);
    td("t-size", fmt.compact(m.size));
    td("t-side" + dir, m.side === "buy" ? "B" : m.side === "sell" ? "S" : "");
    td("t-seq" + (m.replay ? " replay" : ""), m.replay ? `↻ ${m.seq}` : String(m.seq));
    tr.dataset.seq = m.seq;
    tr.title = `${m.side || "?"} ${m.size} @ ${m.price}`;
  } else if (m.type === "gap") {
    tr.className = "t-gap";
    tr.dataset.from = m.from;
    tr.dataset.to = m.to;
    const n = m.to - m.from + 1;
    td("t-note", `gap: ${n} trade${n === 1 ? "" : "s"} missed, seq ${m.from}–${m.to}${m.inferred ? " (unannounced)" : ""}`, 5);
  } else {
    tr.className = "t-reset";
    td("t-note", `seq reset, epoch ${m.epoch}`, 5);
  }
  return tr;
}

// The tape shows newest first. Each render prepends the rows of entries it
// has not shown yet and drops the oldest, so a frame costs what arrived.
let tapeShown = null; // the last entry rendered
function renderTape() {
  tapeDirty = false;
  let k = tape.length;
  while (k > 0 && tape[k - 1] !== tapeShown) k--;
  // tape[k..] are new; if the last shown entry fell out, all of them are.
  const fresh = tape.slice(k).reverse();
  if (!fresh.length) return;
  const body = $("tape");
  if (k === 0) body.replaceChildren();
  body.prepend(...fresh.slice(0, TAPE_LEN).map(tapeRow));
  while (body.rows.length > TAPE_LEN) body.lastElementChild.remove();
  tapeShown = tape[tape.length - 1];
}

// ---- order book ----

// The ladder's rows, made once: asks worst first (best at the bottom, by
// the spread), bids best first.
const ladder = { asks: [], bids: [] };
let bookDirty = false;
let bookBad = null; // why the last message did not verify, until one does

function ladderRows(id, side) {
  const body = $(id);
  for (let i = 0; i < BOOK_DEPTH; i++) {
    const tr = document.createElement("tr");
    tr.className = side;
    const cells = ["l-price", "l-size", "l-total"].map((cls) => {
      const td = document.createElement("td");
      td.className = cls;
      tr.append(td);
      return td;
    });
    body.append(tr);
    ladder[side].push({ tr, cells });
  }
}
ladderRows("asks", "asks");
ladderRows("bids", "bids");

let bookSym = null;
function resetBook(sym) {
  bookSym = sym;
  bookBad = null;
  bookDirty = true;
  note("book-note", "");
  $("book-sym").textContent = sym || "";
}

function onBook() {
  bookBad = null;
  bookDirty = true;
  schedule();
}

client.on("resync", (e) => {
  if (e.symbol !== selected) return;
  bookBad = e.reason;
  bookDirty = true;
  schedule();
});

/** Fills rows with levels (best first) and their running totals. */
function paintSide(rows, levels, maxTotal, totals) {
  for (let i = 0; i < rows.length; i++) {
    const { tr, cells } = rows[i];
    const l = levels[i];
    tr.classList.toggle("empty", !l);
    cells[0].textContent = l ? l[0] : "";
    cells[1].textContent = l ? l[1] : "";
    cells[2].textContent = l ? fmt.compact(totals[i]) : "";
    tr.style.setProperty("--w", l && maxTotal > 0 ? `${((Number(totals[i]) / maxTotal) * 100).toFixed(1)}%` : "0%");
  }
}

function runningTotals(levels) {
  const out = [];
  let sum = "0";
  for (const l of levels) out.push((sum = fmt.decAdd(sum, l[1])));
  return out;
}

function renderBook() {
  bookDirty = false;
  const h = chans.book;
  const b = h && !h.closed ? h.book : null;
  const foot = $("book-foot");
  const have = b && b.bids.length + b.asks.length > 0;
  const bids = have ? b.bids.slice(0, BOOK_DEPTH) : [];
  const asks = have ? b.asks.slice(0, BOOK_DEPTH) : [];
  const bt = runningTotals(bids);
  const at = runningTotals(asks);
  const maxTotal = Math.max(Number(bt.at(-1) || 0), Number(at.at(-1) || 0));
  paintSide(ladder.bids, bids, maxTotal, bt);
  // Asks: the best sits at the bottom, next to the spread.
  const up = [...ladder.asks].reverse();
  paintSide(up, asks, maxTotal, at);
  $("b-spread").textContent = bids.length && asks.length ? `spread ${fmt.decSub(asks[0][0], bids[0][0])}` : have ? "one-sided book" : h && !h.closed ? "waiting for the book…" : "–";
  const verified = !!(b && b.valid && !bookBad);
  foot.dataset.verified = String(verified);
  foot.dataset.seq = b ? String(b.seq) : "";
  const check = $("b-check");
  check.textContent = bookBad ? "✗ mismatch, resyncing" : verified ? `✓ checksum ${b.checksum}` : "checksum –";
  check.title = bookBad || "Kraken's CRC-32 of the top 10 levels, recomputed here after every message";
  $("b-seq").textContent = b && b.valid ? String(b.seq) : "–";
  $("b-resyncs").textContent = String(h ? h.resyncs : 0);
  $("ladder").classList.toggle("stale", !verified);
}

// ---- painting ----

let frameAt = 0;
function frame(now = performance.now()) {
  if (now - frameAt < FRAME_EVERY_MS - 2) {
    requestAnimationFrame(frame); // too soon: wait for a later frame
    return;
  }
  frameAt = now;
  frameQueued = false;
  for (const sym of dirty) {
    const row = rows.get(sym);
    if (row) renderRow(row, now);
  }
  if (selected && dirty.has(selected)) renderDetail();
  else if (chartOwed) drawChart(now);
  if (tapeDirty) renderTape();
  if (bookDirty) renderBook();
  dirty.clear();
  if (chartOwed) schedule();
}

function schedule() {
  if (frameQueued || document.hidden) return;
  frameQueued = true;
  requestAnimationFrame(frame);
}

function renderAll() {
  for (const sym of rows.keys()) dirty.add(sym);
  if (selected) dirty.add(selected);
  for (const row of rows.values()) row.sparkAt = 0;
  tapeDirty = true;
  bookDirty = true;
  frameAt = 0;
  frame();
}

function renderList() {
  const body = $("rows");
  const want = watch.map((s) => (rows.get(s) || makeRow(s)).tr);
  body.replaceChildren(...want);
  for (const [sym, row] of rows) {
    if (watch.includes(sym)) continue;
    untrack(row.spark);
    rows.delete(sym);
  }
  $("count").textContent = watch.length ? `(${watch.length})` : "";
  $("empty").hidden = watch.length > 0;
  for (const row of rows.values()) row.tr.classList.toggle("sel", row.sym === selected);
}

function markUnknown(symbols) {
  for (const s of symbols) {
    const row = rows.get(s);
    if (!row) continue;
    row.tr.classList.remove("pending");
    row.tr.classList.add("unknown");
    row.cells.last.textContent = "unknown";
  }
}

// ---- selection, add, remove ----

function select(sym) {
  selected = sym;
  chartAt = 0;
  if (sym) save(KEY_SELECTED, sym);
  for (const row of rows.values()) row.tr.classList.toggle("sel", row.sym === sym);
  openChannels();
  renderDetail();
  renderTape();
  renderBook();
}

let noticeTimer = 0;
function notice(text) {
  const el = $("notice");
  el.textContent = text;
  el.hidden = false;
  clearTimeout(noticeTimer);
  noticeTimer = setTimeout(() => {
    el.hidden = true;
  }, 5000);
}

function canonical(raw) {
  const t = raw.trim();
  if (!t) return "";
  const up = t.toUpperCase();
  return names.find((n) => n.toUpperCase() === up) || up;
}

async function addSymbol(raw) {
  let sym = canonical(raw);
  if (!sym) return;
  if (universe === "small" && !names.includes(sym) && !watch.includes(sym)) {
    await learnUniverse(); // it may have been listed since the names came
    sym = canonical(raw);
    if (universe === "small" && !names.includes(sym)) {
      notice(`Unknown symbol: ${sym}`);
      return;
    }
  }
  if (watch.includes(sym)) {
    select(sym);
    return;
  }
  watch.push(sym);
  save(KEY_WATCH, watch);
  renderList();
  select(sym);
  try {
    await client.subscribe([sym], rateOpts());
  } catch (err) {
    if (err.code === "unknown_symbol") {
      removeSymbol(sym);
      notice(`Unknown symbol: ${sym}`);
    } else if (err.code !== "closed") {
      notice(`Could not add ${sym}: ${err.message}`);
    }
  }
}

// forget drops sym from the watchlist and the page.
function forget(sym) {
  watch = watch.filter((s) => s !== sym);
  save(KEY_WATCH, watch);
  histories.delete(sym);
  mergedBy.delete(sym);
  renderList();
  if (selected === sym) select(watch[0] || null);
}

function removeSymbol(sym) {
  forget(sym);
  client.unsubscribe([sym]).catch((err) => notice(`Could not remove ${sym}: ${err.message}`));
}

$("rows").addEventListener("click", (e) => {
  const tr = e.target.closest("tr[data-symbol]");
  if (!tr) return;
  if (e.target.closest("button.rm")) removeSymbol(tr.dataset.symbol);
  else select(tr.dataset.symbol);
});

// ---- completion ----

const input = $("add-input");
const list = $("suggest");
let matches = [];
let active = -1;

// A small universe is matched here, by prefix then by substring. A large
// one is searched by the server, by prefix, a moment after typing stops;
// answers are kept per prefix for SEARCH_KEEP_MS, and a prefix whose answer
// was complete (more: false) serves every longer one without asking. The
// universe changes while the server runs (listings, expiries), so an
// answer is not kept for longer than a bout of typing.
const searched = new Map(); // prefix -> { symbols, more, at }
let searchTimer = 0;
let searchSeq = 0;

function suggest() {
  const q = input.value.trim().toUpperCase();
  clearTimeout(searchTimer);
  if (!q) {
    show([]);
    return;
  }
  if (universe !== "large") {
    const pre = [];
    const sub = [];
    for (const n of names) {
      if (watch.includes(n)) continue;
      const u = n.toUpperCase();
      if (u.startsWith(q)) pre.push(n);
      else if (u.includes(q)) sub.push(n);
    }
    pre.sort((a, b) => a.length - b.length || a.localeCompare(b));
    show(pre.concat(sub));
    return;
  }
  for (let p = q; p; p = p.slice(0, -1)) {
    const r = searched.get(p);
    if (r && performance.now() - r.at > SEARCH_KEEP_MS) {
      searched.delete(p);
      continue;
    }
    if (r && (p === q || !r.more)) {
      show(r.symbols.filter((n) => n.startsWith(q)));
      return;
    }
  }
  const seq = ++searchSeq;
  searchTimer = setTimeout(async () => {
    let r;
    try {
      r = await client.search(q, MAX_SUGGEST + Math.min(watch.length, 40));
    } catch {
      return; // offline or refused: the box keeps what it had
    }
    if (searched.size > 200) searched.clear();
    searched.set(q, { ...r, at: performance.now() });
    if (seq === searchSeq) show(r.symbols);
  }, SEARCH_DELAY_MS);
}

function show(found) {
  matches = found.filter((n) => !watch.includes(n)).slice(0, MAX_SUGGEST);
  active = matches.length ? 0 : -1;
  paintSuggest();
}

function paintSuggest() {
  list.replaceChildren(
    ...matches.map((n, i) => {
      const li = document.createElement("li");
      li.setAttribute("role", "option");
      li.id = "opt-" + i;
      li.textContent = n;
      li.dataset.symbol = n;
      if (i === active) li.setAttribute("aria-selected", "true");
      return li;
    }),
  );
  list.hidden = matches.length === 0;
  input.setAttribute("aria-expanded", String(!list.hidden));
  if (active >= 0) input.setAttribute("aria-activedescendant", "opt-" + active);
  else input.removeAttribute("aria-activedescendant");
}

function closeSuggest() {
  clearTimeout(searchTimer);
  searchSeq++;
  matches = [];
  active = -1;
  paintSuggest();
}

input.addEventListener("input", suggest);
input.addEventListener("blur", () => setTimeout(closeSuggest, 100));
input.addEventListener("keydown", (e) => {
  if (e.key === "ArrowDown" || e.key === "ArrowUp") {
    if (!matches.length) return;
    e.preventDefault();
    active = (active + (e.key === "ArrowDown" ? 1 : -1) + matches.length) % matches.length;
    paintSuggest();
  } else if (e.key === "Tab" && active >= 0 && input.value !== matches[active]) {
    e.preventDefault();
    input.value = matches[active];
    suggest();
  } else if (e.key === "Escape") {
    closeSuggest();
  }
});
list.addEventListener("mousedown", (e) => {
  const li = e.target.closest("li[data-symbol]");
  if (!li) return;
  e.preventDefault();
  input.value = "";
  closeSuggest();
  addSymbol(li.dataset.symbol);
});
$("add-form").addEventListener("submit", (e) => {
  e.preventDefault();
  const pick = active >= 0 ? matches[active] : input.value;
  input.value = "";
  closeSuggest();
  addSymbol(pick);
});
document.addEventListener("keydown", (e) => {
  if (e.key === "/" && document.activeElement !== input) {
    e.preventDefault();
    input.focus();
  }
});

// learnUniverse finds out whether the server's symbols are few enough to
// fetch and match here: at each connection, and again each time the symbol
// box gets the focus, since the universe changes while the server runs. It
// never lists a large universe: the first SMALL_UNIVERSE names of a search
// tell. A server without search (unknown_op) has a small, fixed universe,
// and lists it. Calls while one is on its way share it.
let learning = null; // the learning on its way
function learnUniverse() {
  if (!learning) {
    learning = learn().finally(() => {
      learning = null;
    });
  }
  return learning;
}

async function learn() {
  try {
    const r = await client.search("", SMALL_UNIVERSE);
    names = r.more ? [] : r.symbols;
    universe = r.more ? "large" : "small";
  } catch (err) {
    if (err.code === "unknown_op") {
      names = await client.list().catch(() => []);
      universe = names.length ? "small" : "unknown";
    }
  }
  searched.clear();
  input.placeholder = universe === "large" ? "Search symbols  /" : names.length ? `Add symbol (${names.length})  /` : "Add symbol  /";
}

input.addEventListener("focus", () => {
  if (universe === "large" || client.state !== "open") return;
  learnUniverse().then(() => {
    if (document.activeElement === input) suggest();
  });
});

// ---- client events ----

function onQuote(q, info) {
  if (!rows.has(q.symbol)) return;
  history(q.symbol).push(q.ts / 1e6, Number(q.price));
  if (info.gap > 0) mergedBy.set(q.symbol, (mergedBy.get(q.symbol) || 0) + info.gap);
  latencies.push(info.latencyMs);
  dirty.add(q.symbol);
  schedule();
}
client.on("snapshot", onQuote);
client.on("tick", onQuote);

client.on("limits", () => {
  learnUniverse();
  openChannels();
  paintWire();
});

client.on("delisted", (m) => {
  names = names.filter((n) => n !== m.symbol);
  searched.clear();
  if (!watch.includes(m.symbol)) return;
  forget(m.symbol); // the server ended its subscriptions already
  notice(`${m.symbol} was delisted and left the watchlist`);
});

let retryAt = 0;
client.on("state", (s) => {
  const el = $("state");
  el.dataset.state = s.state;
  document.body.dataset.conn = s.state;
  retryAt = s.retryAt || 0;
  paintState();
  paintWire();
  if (s.state !== "open") {
    bookDirty = true; // the book waits for the next connection's snapshot
    schedule();
  }
});

// paintWire shows whether the connection's messages are compressed: the
// browser offers permessage-deflate by itself, and the socket's extensions
// say whether the server took it ("limits" says whether it offers it).
function paintWire() {
  const el = $("stat-wire");
  const ext = client.extensions;
  const l = client.limits;
  let wire = "";
  if (/^permessage-deflate\b/.test(ext)) wire = "deflate";
  else if (client.state === "open" && l) wire = "plain";
  el.textContent = wire || "–";
  el.dataset.wire = wire;
  if (wire === "deflate") el.title = `compressed: ${ext}`;
  else if (wire === "plain") el.title = l.compression ? "not compressed: the browser did not negotiate permessage-deflate" : "not compressed: the server's compression is off";
  else el.title = "whether this connection's messages are compressed (permessage-deflate)";
}

function paintState() {
  const st = client.state;
  let text = st;
  if (st === "reconnecting" && retryAt > Date.now()) text += ` · ${((retryAt - Date.now()) / 1000).toFixed(1)}s`;
  $("state-text").textContent = text;
}

client.on("error", (err) => {
  if (err.code === "unknown_symbol") markUnknown(err.symbols);
  // unknown_op: a server without search, which learnUniverse handles.
  else if (err.code !== "transport" && err.code !== "unknown_op") notice(err.message);
});

document.addEventListener("visibilitychange", () => {
  if (document.hidden) return;
  client.wake(); // reconnect now if waiting, or ping the link
  renderAll(); // the model kept up while hidden: paint it at once
});

// ---- stats ----

let lastMessages = 0;
function paintStats() {
  const s = client.stats();
  $("stat-mps").textContent = (s.messages - lastMessages).toLocaleString();
  lastMessages = s.messages;
  const lat = $("stat-lat");
  if (latencies.length) {
    latencies.sort((a, b) => a - b);
    const med = latencies[latencies.length >> 1];
    const max = latencies[latencies.length - 1];
    lat.textContent = `${med.toFixed(1)} ms`;
    lat.title = `now − ts: median ${med.toFixed(1)} ms, max ${max.toFixed(1)} ms over ${latencies.length} updates in the last second`;
    latencies = [];
  } else {
    lat.textContent = "–";
  }
  $("stat-rtt").textContent = Number.isFinite(s.rttMs) ? `${s.rttMs.toFixed(1)} ms` : "–";
  $("stat-merged").textContent = s.merged.toLocaleString();
  $("clock").textContent = fmt.hms(Date.now());
  paintState();
}

// ---- start ----

$("endpoint").textContent = client.url;
if (!selected || !watch.includes(selected)) selected = watch[0] || null;
renderList();
select(selected);
setInterval(paintStats, 1000);
paintStats();
client.connect();
if (watch.length) {
  client
    .subscribe(watch, rateOpts())
    .then((r) => markUnknown(r.unknown))
    .catch((err) => {
      if (err.code === "unknown_symbol") markUnknown(err.symbols);
    });
}
