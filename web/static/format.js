// format.js: exact decimal-string arithmetic and display helpers for the
// dashboard. Prices arrive as decimal strings ("187.20") and are shown as
// they arrive; differences of two prices are computed exactly with BigInt.

/** Number of digits after the decimal point of a decimal string. */
export function scale(s) {
  const i = s.indexOf(".");
  return i < 0 ? 0 : s.length - i - 1;
}

function toBig(s, sc) {
  let neg = false;
  if (s[0] === "-" || s[0] === "+") {
    neg = s[0] === "-";
    s = s.slice(1);
  }
  const [int, frac = ""] = s.split(".");
  const v = BigInt((int || "0") + frac.padEnd(sc, "0"));
  return neg ? -v : v;
}

function fromBig(v, sc) {
  const neg = v < 0n;
  let digits = (neg ? -v : v).toString();
  if (sc > 0) {
    digits = digits.padStart(sc + 1, "0");
    digits = digits.slice(0, -sc) + "." + digits.slice(-sc);
  }
  return (neg ? "-" : "") + digits;
}

/** a - b for decimal strings, exact, with the larger of the two scales. */
export function decSub(a, b) {
  const sc = Math.max(scale(a), scale(b));
  return fromBig(toBig(a, sc) - toBig(b, sc), sc);
}

/** a + b for decimal strings, exact, with the larger of the two scales. */
export function decAdd(a, b) {
  const sc = Math.max(scale(a), scale(b));
  return fromBig(toBig(a, sc) + toBig(b, sc), sc);
}

/** Sign of a decimal string: -1, 0 or 1. */
export function decSign(s) {
  if (/^[-+]?0*\.?0*$/.test(s)) return 0;
  return s[0] === "-" ? -1 : 1;
}

/** "+1.23" for positive values; zero and negatives unchanged. */
export function signed(s) {
  return decSign(s) > 0 ? "+" + s : s;
}

/** Change % of last against open, as "+1.23%"; Number math is fine here. */
export function pct(last, open) {
  const o = Number(open);
  if (!o) return "–";
  const p = ((Number(last) - o) / o) * 100;
  // The sign follows the exact move, so a tiny fall reads "-0.00%", in red.
  return (p > 0 ? "+" : "") + p.toFixed(2) + "%";
}

/** 1234567.5 -> "1.23M": a compact volume for narrow cells. */
export function compact(s) {
  const n = Number(s);
  if (!Number.isFinite(n)) return s;
  const a = Math.abs(n);
  if (a >= 1e12) return (n / 1e12).toFixed(2) + "T";
  if (a >= 1e9) return (n / 1e9).toFixed(2) + "B";
  if (a >= 1e6) return (n / 1e6).toFixed(2) + "M";
  if (a >= 1e4) return (n / 1e3).toFixed(1) + "K";
  return Number.isInteger(n) ? groupInt(s) : n.toFixed(2);
}

/** "1203344.50" -> "1,203,344.50": groups the integer digits, keeps the rest. */
export function groupInt(s) {
  const m = /^(-?)(\d+)(\.\d+)?$/.exec(s);
  if (!m) return s;
  return m[1] + m[2].replace(/\B(?=(\d{3})+(?!\d))/g, ",") + (m[3] || "");
}

const two = (n) => String(n).padStart(2, "0");

/** Local wall time of a Unix-ns timestamp, "14:03:07.123". */
export function clock(tsNs) {
  const d = new Date(Math.floor(tsNs / 1e6));
  return `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}.${String(d.getMilliseconds()).padStart(3, "0")}`;
}

/** Local wall time of a ms timestamp, "14:03:07". */
export function hms(ms) {
  const d = new Date(ms);
  return `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`;
}
