// app.js: the dashboard. It keeps the latest state of every watched symbol
// as messages arrive, and paints in animation frames, at most 20 times a
// second. A hidden tab gets no frames, so it stops painting; the moment it
// is shown again it paints the fresh state and the client checks its link.

import { TickerClient } from "./tickerd.js";
import * as fmt from "./format.js";
import { Chart, History, drawSpark, track, untrack } from "./chart.js";

const DEFAULT_WATCHLIST = ["AAPL", "MSFT", "NVDA", "TSLA", "AMZN", "GOOGL", "META", "BTC-USD", "ETH-USD", "EUR/USD"];
const KEY_WATCH = "tickerd.watchlist.v1";
const KEY_SELECTED = "tickerd.selected.v1";
const SPARK_EVERY_MS = 250;
const FLASH_MS = 350; // flash length
const FLASH_EVERY_MS = 600; // a cell flashes at most this often, so a busy symbol pulses instead of glowing
const CHART_EVERY_MS = 100; // the big chart repaints at most 10 times a second
const FRAME_EVERY_MS = 50; // the table repaints at most 20 times a second: plenty to read, a third of the work
const MAX_SUGGEST = 8;
const TAPE_LEN = 60;

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

function save(key, value) {
  try {
    localStorage.setItem(key, typeof value === "string" ? value : JSON.stringify(value));
  } catch {
    // storage full or disabled: the watchlist lives for this page only
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
let selected = (() => {
  try {
    return localStorage.getItem(KEY_SELECTED);
  } catch {
    return null;
  }
})();
const rows = new Map(); // symbol -> row view
const histories = new Map(); // symbol -> History
const mergedBy = new Map(); // symbol -> updates merged away (seq jumps)
const tapes = new Map(); // symbol -> the last TAPE_LEN updates, oldest first
const prevQuote = new Map(); // symbol -> the quote before the latest, for tape deltas
const dirty = new Set();
let names = []; // every symbol the server publishes, for completion
let latencies = [];
let frameQueued = false;

const client = new TickerClient(undefined, { pingInterval: 5000, pingTimeout: 4000, backoffMax: 8000 });
const chart = new Chart($("chart"), theme);

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
  chart.draw(selected ? history(selected) : null, q);
}

// ---- time & sales ----

function pushTape(q, gap) {
  const prev = prevQuote.get(q.symbol);
  prevQuote.set(q.symbol, q);
  let tape = tapes.get(q.symbol);
  if (!tape) tapes.set(q.symbol, (tape = []));
  const e = { ts: q.ts, price: q.price, seq: q.seq, gap, snap: q.type === "snapshot", d: "", size: "", dir: 0 };
  if (prev && !e.snap) {
    e.d = fmt.decSub(q.price, prev.price);
    e.dir = fmt.decSign(e.d);
    const size = fmt.decSub(q.volume, prev.volume);
    if (fmt.decSign(size) >= 0) e.size = size;
  }
  tape.push(e);
  if (tape.length > TAPE_LEN) tape.shift();
}

// The tape shows newest first. Each render prepends the rows of entries it
// has not shown yet and drops the oldest, so a frame costs what arrived.
let tapeShown = { sym: null, last: null }; // last entry rendered, for the symbol shown
function tapeRow(e) {
  const tr = document.createElement("tr");
  const td = (cls, text) => {
    const el = document.createElement("td");
    el.className = cls;
    el.textContent = text;
    tr.append(el);
  };
  const dir = e.dir > 0 ? " up" : e.dir < 0 ? " down" : "";
  td("t-time", fmt.clock(e.ts));
  td("t-price" + dir, e.price);
  td("t-d" + (e.snap ? " muted" : dir), e.snap ? "snapshot" : e.dir === 0 ? "0" : fmt.signed(e.d));
  td("t-size", e.size ? fmt.compact(e.size) : "");
  td("t-seq" + (e.gap > 0 ? " merged" : ""), e.gap > 0 ? `${e.seq} +${e.gap}` : String(e.seq));
  return tr;
}

function renderTape() {
  const tape = (selected && tapes.get(selected)) || [];
  const body = $("tape");
  if (tapeShown.sym !== selected) {
    $("tape-sym").textContent = selected || "";
    body.replaceChildren();
    tapeShown = { sym: selected, last: null };
  }
  let k = tape.length;
  while (k > 0 && tape[k - 1] !== tapeShown.last) k--;
  // tape[k..] are new; if the last shown entry fell out, all of them are.
  const fresh = tape.slice(k).reverse();
  if (!fresh.length) return;
  if (k === 0) body.replaceChildren();
  body.prepend(...fresh.slice(0, TAPE_LEN).map(tapeRow));
  while (body.rows.length > TAPE_LEN) body.lastElementChild.remove();
  tapeShown.last = tape[tape.length - 1];
}

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
  if (selected && dirty.has(selected)) {
    renderDetail();
    renderTape();
  } else if (chartOwed) {
    drawChart(now);
  }
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
  renderDetail();
  renderTape();
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
  const sym = canonical(raw);
  if (!sym) return;
  if (watch.includes(sym)) {
    select(sym);
    return;
  }
  if (names.length && !names.includes(sym)) {
    notice(`Unknown symbol: ${sym}`);
    return;
  }
  watch.push(sym);
  save(KEY_WATCH, watch);
  renderList();
  select(sym);
  try {
    await client.subscribe([sym]);
  } catch (err) {
    if (err.code === "unknown_symbol") {
      removeSymbol(sym);
      notice(`Unknown symbol: ${sym}`);
    } else if (err.code !== "closed") {
      notice(`Could not add ${sym}: ${err.message}`);
    }
  }
}

function removeSymbol(sym) {
  watch = watch.filter((s) => s !== sym);
  save(KEY_WATCH, watch);
  histories.delete(sym);
  mergedBy.delete(sym);
  tapes.delete(sym);
  prevQuote.delete(sym);
  renderList();
  if (selected === sym) select(watch[0] || null);
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

function suggest() {
  const q = input.value.trim().toUpperCase();
  matches = [];
  if (q) {
    const pre = [];
    const sub = [];
    for (const n of names) {
      if (watch.includes(n)) continue;
      const u = n.toUpperCase();
      if (u.startsWith(q)) pre.push(n);
      else if (u.includes(q)) sub.push(n);
    }
    pre.sort((a, b) => a.length - b.length || a.localeCompare(b));
    matches = pre.concat(sub).slice(0, MAX_SUGGEST);
  }
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

let loadingNames = false;
async function loadNames() {
  if (loadingNames) return;
  loadingNames = true;
  try {
    const res = await fetch("/api/symbols", { cache: "no-store" });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    const all = await res.json();
    names = all.map((x) => (typeof x === "string" ? x : x.symbol)).filter(Boolean);
  } catch {
    // the WebSocket can list them too
    names = await client.list().catch(() => []);
  } finally {
    loadingNames = false;
  }
  input.placeholder = names.length ? `Add symbol (${names.length})  /` : "Add symbol  /";
}

// ---- client events ----

function onQuote(q, info) {
  if (!rows.has(q.symbol)) return;
  history(q.symbol).push(q.ts / 1e6, Number(q.price));
  if (info.gap > 0) mergedBy.set(q.symbol, (mergedBy.get(q.symbol) || 0) + info.gap);
  pushTape(q, info.gap);
  latencies.push(info.latencyMs);
  dirty.add(q.symbol);
  schedule();
}
client.on("snapshot", onQuote);
client.on("tick", onQuote);

let retryAt = 0;
client.on("state", (s) => {
  const el = $("state");
  el.dataset.state = s.state;
  document.body.dataset.conn = s.state;
  retryAt = s.retryAt || 0;
  paintState();
  if (s.state === "open" && names.length === 0) loadNames();
});

function paintState() {
  const st = client.state;
  let text = st;
  if (st === "reconnecting" && retryAt > Date.now()) text += ` · ${((retryAt - Date.now()) / 1000).toFixed(1)}s`;
  $("state-text").textContent = text;
}

client.on("error", (err) => {
  if (err.code === "unknown_symbol") markUnknown(err.symbols);
  else if (err.code !== "transport") notice(err.message);
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
loadNames();
if (watch.length) {
  client
    .subscribe(watch)
    .then((r) => markUnknown(r.unknown))
    .catch((err) => {
      if (err.code === "unknown_symbol") markUnknown(err.symbols);
    });
}
