// chart.js: price history per symbol and the canvas views: the sparkline
// in each row, and the large chart of the selected symbol (a line of its
// last prices, or its candles).

import { hms } from "./format.js";

const BUCKET_MS = 250; // one point per quarter second: the last price in it
const CAPACITY = 4 * 60 * 15; // 15 minutes of points per symbol
const GAP_MS = 5000; // no data for this long breaks the line (a disconnect)

/** A fixed-size ring of (time ms, price) points, one per BUCKET_MS. */
export class History {
  constructor(cap = CAPACITY) {
    this.t = new Float64Array(cap);
    this.p = new Float64Array(cap);
    this.cap = cap;
    this.start = 0;
    this.len = 0;
  }

  push(tMs, price) {
    if (!Number.isFinite(price)) return;
    if (this.len > 0) {
      const last = this.at(this.len - 1);
      const lt = this.t[last];
      if (tMs < lt - GAP_MS) this.len = 0; // the clock went back: a new feed, start over
      else if (Math.floor(tMs / BUCKET_MS) <= Math.floor(lt / BUCKET_MS)) {
        this.p[last] = price;
        return;
      }
    }
    const i = (this.start + this.len) % this.cap;
    if (this.len < this.cap) this.len++;
    else this.start = (this.start + 1) % this.cap;
    this.t[i] = tMs;
    this.p[i] = price;
  }

  at(k) {
    return (this.start + k) % this.cap;
  }

  /** Index (0..len) of the first point at or after tMs. */
  since(tMs) {
    let lo = 0;
    let hi = this.len;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.t[this.at(mid)] < tMs) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Lowest and highest price from index `from` to the end, as [lo, hi]. */
  range(from) {
    let lo = Infinity;
    let hi = -Infinity;
    for (let k = from; k < this.len; k++) {
      const v = this.p[this.at(k)];
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    return [lo, hi];
  }

  get lastTime() {
    return this.len ? this.t[this.at(this.len - 1)] : 0;
  }
}

// CSS sizes of the canvases, kept by a ResizeObserver: reading clientWidth
// while drawing would force a layout after every text update of a frame.
const sizes = new WeakMap();
const observer = new ResizeObserver((entries) => {
  for (const e of entries) {
    sizes.set(e.target, { w: e.contentRect.width, h: e.contentRect.height });
    const redraw = e.target.redraw;
    if (redraw) redraw();
  }
});

/** Starts tracking a canvas's size; redraw, if given, runs after each resize. */
export function track(canvas, redraw) {
  canvas.redraw = redraw;
  observer.observe(canvas);
}

/** Stops tracking a canvas that left the page. */
export function untrack(canvas) {
  observer.unobserve(canvas);
  canvas.redraw = null;
}

/** Sets a canvas's backing store to its CSS size times devicePixelRatio. */
export function fit(canvas) {
  const size = sizes.get(canvas) || { w: 0, h: 0 };
  const dpr = globalThis.devicePixelRatio || 1;
  const w = Math.max(1, Math.round(size.w * dpr));
  const h = Math.max(1, Math.round(size.h * dpr));
  if (canvas.width !== w || canvas.height !== h) {
    canvas.width = w;
    canvas.height = h;
  }
  const ctx = canvas.getContext("2d");
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  return { ctx, w: size.w, h: size.h };
}

/** Draws the last windowMs of h into a small canvas, colored by its trend. */
export function drawSpark(canvas, h, theme, windowMs = 120000) {
  const { ctx, w, h: ht } = fit(canvas);
  ctx.clearRect(0, 0, w, ht);
  if (w < 4 || ht < 4) return; // hidden column
  if (h.len < 2) return;
  const end = h.lastTime;
  const from = h.since(end - windowMs);
  const n = h.len - from;
  if (n < 2) return;
  const [lo, hi] = h.range(from);
  const span = hi - lo || Math.abs(hi) * 1e-6 || 1;
  const t0 = h.t[h.at(from)]; // young histories fill the width too
  const tspan = end - t0 || 1;
  const x = (t) => ((t - t0) / tspan) * (w - 2) + 1;
  const y = (v) => ht - 2 - ((v - lo) / span) * (ht - 4);
  const first = h.p[h.at(from)];
  const last = h.p[h.at(h.len - 1)];
  const color = last > first ? theme.up : last < first ? theme.down : theme.muted;
  ctx.beginPath();
  for (let k = from; k < h.len; k++) {
    const i = h.at(k);
    if (k === from) ctx.moveTo(x(h.t[i]), y(h.p[i]));
    else ctx.lineTo(x(h.t[i]), y(h.p[i]));
  }
  ctx.lineWidth = 1.25;
  ctx.strokeStyle = color;
  ctx.lineJoin = "round";
  ctx.stroke();
  ctx.lineTo(x(h.t[h.at(h.len - 1)]), ht);
  ctx.lineTo(x(h.t[h.at(from)]), ht);
  ctx.closePath();
  ctx.globalAlpha = 0.12;
  ctx.fillStyle = color;
  ctx.fill();
  ctx.globalAlpha = 1;
}


/** niceStep returns a round step (1, 2, 2.5, 5 x 10^k) near span/count. */
function niceStep(span, count) {
  const raw = span / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * mag >= raw) return m * mag;
  return 10 * mag;
}

/** Time axis steps, ms: round numbers of seconds, minutes and hours. */
const TIME_STEPS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400].map((s) => s * 1000);

/** The plot area of the large chart, inside its axes. */
const RIGHT = 72; // price labels and tags
const BOTTOM = 20; // time labels
const TOP = 10;

/**
 * frame draws the grid, the price labels (prec decimals) and the time
 * labels of a plot over prices [lo, hi] and times [t0, t0 + span] ms, and
 * returns the scales.
 */
function frame(ctx, th, w, ht, lo, hi, t0, span, prec) {
  const pw = w - RIGHT;
  const ph = ht - BOTTOM - TOP;
  const x = (t) => ((t - t0) / span) * pw;
  const y = (v) => TOP + (1 - (v - lo) / (hi - lo)) * ph;
  ctx.strokeStyle = th.grid;
  ctx.lineWidth = 1;
  ctx.fillStyle = th.muted;
  ctx.textAlign = "left";
  ctx.textBaseline = "middle";
  const step = niceStep(hi - lo, Math.max(2, Math.floor(ph / 48)));
  for (let v = Math.ceil(lo / step) * step; v <= hi; v += step) {
    const yy = Math.round(y(v)) + 0.5;
    ctx.beginPath();
    ctx.moveTo(0, yy);
    ctx.lineTo(pw, yy);
    ctx.stroke();
    ctx.fillText(v.toFixed(prec), pw + 8, yy);
  }
  ctx.textAlign = "center";
  ctx.textBaseline = "alphabetic";
  const want = span / Math.max(2, Math.floor(pw / 110));
  const tStep = TIME_STEPS.find((st) => st >= want) || TIME_STEPS[TIME_STEPS.length - 1];
  // Steps of an hour and more fall on the local clock's hours.
  const off = tStep >= 3600000 ? new Date(t0).getTimezoneOffset() * 60000 : 0;
  for (let t = Math.ceil((t0 - off) / tStep) * tStep + off; t <= t0 + span; t += tStep) {
    const xx = Math.round(x(t)) + 0.5;
    ctx.beginPath();
    ctx.moveTo(xx, TOP);
    ctx.lineTo(xx, TOP + ph);
    ctx.stroke();
    ctx.fillText(hms(t), xx, ht - 5);
  }
  return { x, y, pw, ph };
}

/** The price range [lo, hi] padded for a plot, at least a few ticks of prec tall. */
function padRange(lo, hi, prec) {
  const minSpan = 10 ** -prec * 4;
  if (hi - lo < minSpan) {
    const mid = (hi + lo) / 2;
    lo = mid - minSpan / 2;
    hi = mid + minSpan / 2;
  }
  const pad = (hi - lo) * 0.08;
  return [lo - pad, hi + pad];
}

/** Digits after the point of a decimal string. */
const decimals = (s) => (typeof s === "string" ? (s.split(".")[1] || "").length : 2);

/**
 * The large chart of the selected symbol: the line of its last prices
 * (draw) or its candles (drawCandles), axes, a tag with the exact last
 * price, and a crosshair.
 */
export class Chart {
  constructor(canvas, theme) {
    this.canvas = canvas;
    this.theme = theme;
    this.hoverX = null;
    canvas.addEventListener("pointermove", (e) => {
      const r = canvas.getBoundingClientRect();
      this.hoverX = e.clientX - r.left;
      this.redraw();
    });
    canvas.addEventListener("pointerleave", () => {
      this.hoverX = null;
      this.redraw();
    });
    this.paint = null; // the last draw, again
    track(canvas, () => this.redraw());
  }

  redraw() {
    if (this.paint) this.paint();
  }

  /** Clears the canvas; returns its context and size, or null with a message drawn when too small or empty. */
  begin(empty) {
    const th = this.theme;
    const { ctx, w, h } = fit(this.canvas);
    ctx.clearRect(0, 0, w, h);
    delete this.canvas.dataset.legend;
    delete this.canvas.dataset.legendStart;
    ctx.font = `11px ${th.mono}`;
    if (empty || w - RIGHT < 40 || h - BOTTOM - TOP < 40) {
      ctx.fillStyle = th.muted;
      ctx.textAlign = "center";
      ctx.fillText(typeof empty === "string" ? empty : "", w / 2, h / 2);
      return null;
    }
    return { ctx, w, h };
  }

  /**
   * @param {History} h history of the symbol
   * @param {object|undefined} q its latest quote (exact strings)
   * @param {number} windowMs how much history to show at most
   */
  draw(h, q, windowMs = 10 * 60 * 1000) {
    this.paint = () => this.draw(h, q, windowMs);
    const th = this.theme;
    const c = this.begin(!h || h.len < 2 ? (q ? "collecting history…" : "waiting for data…") : false);
    if (!c) return;
    const { ctx, w, h: ht } = c;

    const end = h.lastTime;
    const from = h.since(end - windowMs);
    const t0 = h.t[h.at(from)];
    const span = Math.max(end - t0, 30000); // grow from the left for the first 30 s
    const prec = q ? decimals(q.price) : 2;
    const [lo, hi] = padRange(...h.range(from), prec);
    const { x, y, pw, ph } = frame(ctx, th, w, ht, lo, hi, t0, span, prec);

    // open reference line
    const open = q ? Number(q.open) : NaN;
    const last = h.p[h.at(h.len - 1)];
    const upDay = !(open > last);
    const color = upDay ? th.up : th.down;
    if (open > lo && open < hi) {
      this.level(ctx, y(open), pw, th.muted, [4, 4], 0.6);
      ctx.fillStyle = th.muted;
      ctx.textAlign = "right";
      ctx.textBaseline = "bottom";
      ctx.fillText(`open ${q.open}`, pw - 4, Math.round(y(open)) - 2);
    }

    // price line, broken where data stopped (a disconnect), and its area
    const path = new Path2D();
    const area = new Path2D();
    let segStart = -1;
    let prevT = 0;
    const closeArea = (k) => {
      if (segStart < 0) return;
      area.lineTo(x(h.t[h.at(k)]), TOP + ph);
      area.lineTo(x(h.t[h.at(segStart)]), TOP + ph);
      area.closePath();
    };
    for (let k = from; k < h.len; k++) {
      const i = h.at(k);
      const xx = x(h.t[i]);
      const yy = y(h.p[i]);
      if (segStart < 0 || h.t[i] - prevT > GAP_MS) {
        closeArea(k - 1);
        segStart = k;
        path.moveTo(xx, yy);
        area.moveTo(xx, yy);
      } else {
        path.lineTo(xx, yy);
        area.lineTo(xx, yy);
      }
      prevT = h.t[i];
    }
    closeArea(h.len - 1);
    const grad = ctx.createLinearGradient(0, TOP, 0, TOP + ph);
    grad.addColorStop(0, upDay ? th.upFill : th.downFill);
    grad.addColorStop(1, "rgba(0,0,0,0)");
    ctx.fillStyle = grad;
    ctx.fill(area);
    ctx.strokeStyle = color;
    ctx.lineWidth = 1.5;
    ctx.lineJoin = "round";
    ctx.stroke(path);

    // last price: dashed line, a dot and a tag with the exact string
    const ly = Math.round(y(last)) + 0.5;
    this.level(ctx, ly, pw, color, [2, 3], 0.7);
    ctx.fillStyle = color;
    ctx.beginPath();
    ctx.arc(x(end), ly, 2.5, 0, Math.PI * 2);
    ctx.fill();
    this.tag(ctx, q ? q.price : last.toFixed(prec), pw + 2, ly, RIGHT - 4, color, th.tagText);

    // crosshair
    if (this.hoverX !== null && this.hoverX >= 0 && this.hoverX <= pw) {
      const tAt = t0 + (this.hoverX / pw) * span;
      let k = Math.min(h.len - 1, Math.max(from, h.since(tAt)));
      if (k > from && Math.abs(h.t[h.at(k - 1)] - tAt) < Math.abs(h.t[h.at(k)] - tAt)) k--;
      const i = h.at(k);
      this.cross(ctx, x(h.t[i]), y(h.p[i]), h.t[i], h.p[i].toFixed(prec), pw, ph, ht);
    }
  }

  /**
   * Draws candles (oldest first, as the client keeps them) of intervalMs
   * each: as many of the latest as fit, by time, so an interval without
   * trades is a gap; volume bars under them; the last close tagged.
   */
  drawCandles(candles, intervalMs, q) {
    this.paint = () => this.drawCandles(candles, intervalMs, q);
    const th = this.theme;
    const c = this.begin(!candles || candles.length === 0 ? "waiting for candles…" : false);
    if (!c) return;
    const { ctx, w, h: ht } = c;
    const pw = w - RIGHT;
    const slots = Math.max(10, Math.floor(pw / 9)); // 9 px a candle
    const lastStart = candles[candles.length - 1].start / 1e6;
    const t0 = lastStart - (slots - 1) * intervalMs;
    let first = candles.length;
    while (first > 0 && candles[first - 1].start / 1e6 >= t0) first--;
    const shown = candles.slice(first);
    let lo = Infinity;
    let hi = -Infinity;
    let vmax = 0;
    for (const k of shown) {
      lo = Math.min(lo, Number(k.low));
      hi = Math.max(hi, Number(k.high));
      vmax = Math.max(vmax, Number(k.volume));
    }
    const last = candles[candles.length - 1];
    const prec = decimals(last.close);
    [lo, hi] = padRange(lo, hi, prec);
    const span = slots * intervalMs;
    const { x, y, ph } = frame(ctx, th, w, ht, lo, hi, t0 - intervalMs / 2, span, prec);
    const step = pw / slots;
    const body = Math.max(1, Math.floor(step * 0.7));
    const volH = ph * 0.18;
    for (const k of shown) {
      const cx = Math.round(x(k.start / 1e6)) + 0.5;
      const o = Number(k.open);
      const cl = Number(k.close);
      const color = cl >= o ? th.up : th.down;
      ctx.globalAlpha = 0.25;
      ctx.fillStyle = color;
      const vh = vmax > 0 ? (Number(k.volume) / vmax) * volH : 0;
      ctx.fillRect(cx - body / 2, TOP + ph - vh, body, vh);
      ctx.globalAlpha = k.closed ? 1 : 0.75;
      ctx.strokeStyle = color;
      ctx.lineWidth = 1;
      ctx.beginPath();
      ctx.moveTo(cx, Math.round(y(Number(k.high))));
      ctx.lineTo(cx, Math.round(y(Number(k.low))));
      ctx.stroke();
      const top = Math.round(y(Math.max(o, cl)));
      ctx.fillRect(cx - body / 2, top, body, Math.max(1, Math.round(y(Math.min(o, cl))) - top));
      ctx.globalAlpha = 1;
    }
    const lastColor = Number(last.close) >= Number(last.open) ? th.up : th.down;
    const ly = Math.round(y(Number(last.close))) + 0.5;
    this.level(ctx, ly, pw, lastColor, [2, 3], 0.7);
    this.tag(ctx, last.close, pw + 2, ly, RIGHT - 4, lastColor, th.tagText);

    // crosshair: the candle under the pointer, with its exact values
    let k = last;
    if (this.hoverX !== null && this.hoverX >= 0 && this.hoverX <= pw) {
      const at = t0 + Math.round(this.hoverX / step - 0.5) * intervalMs;
      k = shown.reduce((best, c2) => (Math.abs(c2.start / 1e6 - at) < Math.abs(best.start / 1e6 - at) ? c2 : best), shown[0]);
      this.cross(ctx, x(k.start / 1e6), y(Number(k.close)), k.start / 1e6, k.close, pw, ph, ht);
    }
    ctx.fillStyle = th.muted;
    ctx.textAlign = "left";
    ctx.textBaseline = "top";
    const legend = `O ${k.open}  H ${k.high}  L ${k.low}  C ${k.close}  V ${k.volume}  ${k.trades} trades${k.closed ? "" : "  (open)"}`;
    ctx.fillText(legend, 6, TOP + 2);
    // The legend as text, for what cannot read a canvas (tests, tools).
    this.canvas.dataset.legend = legend;
    this.canvas.dataset.legendStart = String(k.start);
    if (q && q.price !== last.close) {
      ctx.textAlign = "right";
      ctx.fillText(`last ${q.price}`, pw - 4, TOP + 2);
    }
  }

  /** A dashed horizontal line across the plot at y. */
  level(ctx, y, pw, color, dash, alpha) {
    ctx.save();
    ctx.setLineDash(dash);
    ctx.strokeStyle = color;
    ctx.globalAlpha = alpha;
    ctx.beginPath();
    ctx.moveTo(0, Math.round(y) + 0.5);
    ctx.lineTo(pw, Math.round(y) + 0.5);
    ctx.stroke();
    ctx.restore();
  }

  /** The crosshair at (cx, cy), with the price label and the time tMs at the axes. */
  cross(ctx, cx, cy, tMs, label, pw, ph, ht) {
    const th = this.theme;
    cx = Math.round(cx) + 0.5;
    cy = Math.round(cy) + 0.5;
    ctx.strokeStyle = th.cross;
    ctx.setLineDash([3, 3]);
    ctx.beginPath();
    ctx.moveTo(cx, TOP);
    ctx.lineTo(cx, TOP + ph);
    ctx.moveTo(0, cy);
    ctx.lineTo(pw, cy);
    ctx.stroke();
    ctx.setLineDash([]);
    this.tag(ctx, label, pw + 2, cy, RIGHT - 4, th.crossTag, th.text);
    const tl = hms(tMs);
    const tw = ctx.measureText(tl).width + 10;
    const tx = Math.min(Math.max(cx - tw / 2, 0), pw - tw);
    ctx.fillStyle = th.crossTag;
    ctx.fillRect(tx, ht - BOTTOM + 2, tw, BOTTOM - 4);
    ctx.fillStyle = th.text;
    ctx.textAlign = "center";
    ctx.textBaseline = "middle";
    ctx.fillText(tl, tx + tw / 2, ht - BOTTOM / 2);
  }

  tag(ctx, text, x, y, w, bg, fg) {
    ctx.fillStyle = bg;
    ctx.fillRect(x, y - 9, w, 18);
    ctx.fillStyle = fg;
    ctx.textAlign = "left";
    ctx.textBaseline = "middle";
    ctx.fillText(text, x + 5, y + 0.5);
  }
}
