// Unit tests of static/format.js: exact decimal-string arithmetic.
import { test } from "node:test";
import assert from "node:assert/strict";
import { compact, decAdd, decSign, decSub, groupInt, pct, scale, signed } from "../static/format.js";

test("decSub is exact on decimal strings", () => {
  const cases = [
    ["187.23", "185.00", "2.23"],
    ["185.00", "187.23", "-2.23"],
    ["1.15509", "1.15598", "-0.00089"],
    ["0.1", "0.3", "-0.2"], // 0.1 - 0.3 in floats is -0.19999999999999998
    ["100", "99.99", "0.01"],
    ["91201.10", "91250.00", "-48.90"],
    ["-1.5", "2", "-3.5"],
    ["5", "5", "0"],
    ["5.00", "5.00", "0.00"],
    ["123456789012345678.91", "0.01", "123456789012345678.90"], // beyond float precision
  ];
  for (const [a, b, want] of cases) assert.equal(decSub(a, b), want, `decSub(${a}, ${b})`);
});

test("decAdd is exact on decimal strings", () => {
  const cases = [
    ["0.1", "0.2", "0.3"], // 0.1 + 0.2 in floats is 0.30000000000000004
    ["0.52", "1.00", "1.52"],
    ["1.54571953", "0.001", "1.54671953"],
    ["-1.5", "2", "0.5"],
    ["9007199254740993", "1", "9007199254740994"], // beyond float precision
  ];
  for (const [a, b, want] of cases) assert.equal(decAdd(a, b), want, `decAdd(${a}, ${b})`);
});

test("sign, scale and display helpers", () => {
  assert.equal(scale("1.15509"), 5);
  assert.equal(scale("42"), 0);
  assert.deepEqual(["0.00", "-0.00", "0", "0.01", "-0.5"].map(decSign), [0, 0, 0, 1, -1]);
  assert.equal(signed("2.23"), "+2.23");
  assert.equal(signed("-2.23"), "-2.23");
  assert.equal(signed("0.00"), "0.00");
  assert.equal(pct("187.23", "185.00"), "+1.21%");
  assert.equal(pct("185.00", "185.00"), "0.00%");
  assert.equal(pct("184.999", "185.00"), "-0.00%"); // the sign of the exact move
  assert.equal(pct("185.001", "185.00"), "+0.00%");
  assert.equal(pct("1", "0"), "–");
  assert.equal(groupInt("1203344.50"), "1,203,344.50");
  assert.equal(groupInt("999"), "999");
  assert.equal(compact("1203344"), "1.20M");
  assert.equal(compact("4.40689012"), "4.41");
  assert.equal(compact("9999"), "9,999");
  assert.equal(compact("12345"), "12.3K");
});
