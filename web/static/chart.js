// chart.js: price history per symbol and the two canvas views of it, the
// sparkline in each row and the large chart of the selected symbol.

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

/** The large chart: line and area of the selected symbol, axes, last-price tag, crosshair. */
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
    this.args = null;
    track(canvas, () => this.redraw());
  }

  redraw() {
    if (this.args) this.draw(...this.args);
  }

  /**
   * @param {History} h history of the symbol
   * @param {object|undefined} q its latest quote (exact strings)
   * @param {number} windowMs how much history to show at most
   */
  draw(h, q, windowMs = 10 * 60 * 1000) {
    this.args = [h, q, windowMs];
    const th = this.theme;
    const { ctx, w, h: ht } = fit(this.canvas);
    ctx.clearRect(0, 0, w, ht);
    ctx.font = `11px ${th.mono}`;
    const right = 72;
    const bottom = 20;
    const top = 10;
    const pw = w - right;
    const ph = ht - bottom - top;
    if (!h || h.len < 2 || pw < 40 || ph < 40) {
      ctx.fillStyle = th.muted;
      ctx.textAlign = "center";
      ctx.fillText(q ? "collecting history…" : "waiting for data…", w / 2, ht / 2);
      return;
    }

    const end = h.lastTime;
    const from = h.since(end - windowMs);
    const firstT = h.t[h.at(from)];
    const span = Math.max(end - firstT, 30000); // grow from the left for the first 30 s
    const t0 = firstT;
    let [lo, hi] = h.range(from);
    const prec = q ? (q.price.split(".")[1] || "").length : 2;
    const minSpan = 10 ** -prec * 4;
    if (hi - lo < minSpan) {
      const mid = (hi + lo) / 2;
      lo = mid - minSpan / 2;
      hi = mid + minSpan / 2;
    }
    const padY = (hi - lo) * 0.08;
    lo -= padY;
    hi += padY;
    const x = (t) => ((t - t0) / span) * pw;
    const y = (v) => top + (1 - (v - lo) / (hi - lo)) * ph;

    // grid and price labels
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
    // time labels
    ctx.textAlign = "center";
    ctx.textBaseline = "alphabetic";
    const tstep = niceStep(span, Math.max(2, Math.floor(pw / 110)));
    const tStepS = Math.max(1000, Math.round(tstep / 1000) * 1000);
    for (let t = Math.ceil(t0 / tStepS) * tStepS; t <= t0 + span; t += tStepS) {
      const xx = Math.round(x(t)) + 0.5;
      ctx.beginPath();
      ctx.moveTo(xx, top);
      ctx.lineTo(xx, top + ph);
      ctx.stroke();
      ctx.fillText(hms(t), xx, ht - 5);
    }

    // open reference line
    const open = q ? Number(q.open) : NaN;
    const last = h.p[h.at(h.len - 1)];
    const upDay = !(open > last);
    const color = upDay ? th.up : th.down;
    if (open > lo && open < hi) {
      ctx.save();
      ctx.setLineDash([4, 4]);
      ctx.strokeStyle = th.muted;
      ctx.globalAlpha = 0.6;
      ctx.beginPath();
      ctx.moveTo(0, Math.round(y(open)) + 0.5);
      ctx.lineTo(pw, Math.round(y(open)) + 0.5);
      ctx.stroke();
      ctx.restore();
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
      area.lineTo(x(h.t[h.at(k)]), top + ph);
      area.lineTo(x(h.t[h.at(segStart)]), top + ph);
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
    const grad = ctx.createLinearGradient(0, top, 0, top + ph);
    grad.addColorStop(0, upDay ? th.upFill : th.downFill);
    grad.addColorStop(1, "rgba(0,0,0,0)");
    ctx.fillStyle = grad;
    ctx.fill(area);
    ctx.strokeStyle = color;
    ctx.lineWidth = 1.5;
    ctx.lineJoin = "round";
    ctx.stroke(path);

    // last price: dashed line and tag with the exact string
    const ly = Math.round(y(last)) + 0.5;
    ctx.save();
    ctx.setLineDash([2, 3]);
    ctx.strokeStyle = color;
    ctx.globalAlpha = 0.7;
    ctx.beginPath();
    ctx.moveTo(0, ly);
    ctx.lineTo(pw, ly);
    ctx.stroke();
    ctx.restore();
    const lastX = x(end);
    ctx.fillStyle = color;
    ctx.beginPath();
    ctx.arc(lastX, ly, 2.5, 0, Math.PI * 2);
    ctx.fill();
    const label = q ? q.price : last.toFixed(prec);
    this.tag(ctx, label, pw + 2, ly, right - 4, color, th.tagText);

    // crosshair
    if (this.hoverX !== null && this.hoverX >= 0 && this.hoverX <= pw) {
      const tAt = t0 + (this.hoverX / pw) * span;
      let k = Math.min(h.len - 1, Math.max(from, h.since(tAt)));
      if (k > from && Math.abs(h.t[h.at(k - 1)] - tAt) < Math.abs(h.t[h.at(k)] - tAt)) k--;
      const i = h.at(k);
      const cx = Math.round(x(h.t[i])) + 0.5;
      const cy = Math.round(y(h.p[i])) + 0.5;
      ctx.strokeStyle = th.cross;
      ctx.setLineDash([3, 3]);
      ctx.beginPath();
      ctx.moveTo(cx, top);
      ctx.lineTo(cx, top + ph);
      ctx.moveTo(0, cy);
      ctx.lineTo(pw, cy);
      ctx.stroke();
      ctx.setLineDash([]);
      this.tag(ctx, h.p[i].toFixed(prec), pw + 2, cy, right - 4, th.crossTag, th.text);
      const tl = hms(h.t[i]);
      const tw = ctx.measureText(tl).width + 10;
      const tx = Math.min(Math.max(cx - tw / 2, 0), pw - tw);
      ctx.fillStyle = th.crossTag;
      ctx.fillRect(tx, ht - bottom + 2, tw, bottom - 4);
      ctx.fillStyle = th.text;
      ctx.textAlign = "center";
      ctx.textBaseline = "middle";
      ctx.fillText(tl, tx + tw / 2, ht - bottom / 2);
    }
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
