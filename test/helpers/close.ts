// Elementwise closeness checks with failure messages that point at the first bad element.
import { expect } from "vitest";

export const TOL = {
  out: { atol: 1e-5, rtol: 1e-4 }, // float32 outputs, gates
  grad: { atol: 1e-4, rtol: 1e-3 }, // float32 gradients (sums over B*T terms)
  f64: { atol: 1e-10, rtol: 1e-9 }, // float64 implementations
};

/** Infinity on a length mismatch, NaN if any difference is NaN. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let m = 0;
  for (let k = 0; k < a.length; k++) {
    const d = Math.abs(a[k] - b[k]);
    if (Number.isNaN(d)) return NaN;
    if (d > m) m = d;
  }
  return m;
}

function fail(label: string, first: number, a: number, e: number, count: number, n: number, maxDiff: number): never {
  throw new Error(
    `${label}: ${count} of ${n} elements mismatch; first at index ${first}: actual ${a} vs expected ${e}; ` +
      `max abs diff ${maxDiff}`,
  );
}

export function expectClose(
  label: string, actual: ArrayLike<number>, expected: ArrayLike<number>, tol: { atol: number; rtol: number },
): void {
  if (actual.length !== expected.length) {
    throw new Error(`${label}: length mismatch: actual ${actual.length} vs expected ${expected.length}`);
  }
  let first = -1, count = 0;
  for (let k = 0; k < actual.length; k++) {
    const a = actual[k], e = expected[k];
    // A non-finite expectation only matches the identical value; a non-finite actual never
    // matches a finite expectation (the <= below is false for NaN and Infinity).
    const ok = Number.isFinite(e) ? Math.abs(a - e) <= tol.atol + tol.rtol * Math.abs(e) : Object.is(a, e) || a === e;
    if (!ok) {
      if (first < 0) first = k;
      count++;
    }
  }
  if (count > 0) fail(label, first, actual[first], expected[first], count, actual.length, maxAbsDiff(actual, expected));
}

/** Clipping results: |a-e| <= 1e-5 * max|e| per tensor, and expected zeros must stay exactly 0. */
export function expectClipClose(label: string, actual: ArrayLike<number>, expected: ArrayLike<number>): void {
  if (actual.length !== expected.length) {
    throw new Error(`${label}: length mismatch: actual ${actual.length} vs expected ${expected.length}`);
  }
  let scale = 0;
  for (let k = 0; k < expected.length; k++) scale = Math.max(scale, Math.abs(expected[k]));
  const tol = 1e-5 * scale;
  let first = -1, count = 0;
  for (let k = 0; k < actual.length; k++) {
    const a = actual[k], e = expected[k];
    const ok = e === 0 ? a === 0 : Math.abs(a - e) <= tol; // NaN fails both
    if (!ok) {
      if (first < 0) first = k;
      count++;
    }
  }
  if (count > 0) fail(label, first, actual[first], expected[first], count, actual.length, maxAbsDiff(actual, expected));
}

/** Index of the first element whose bits differ (NaN payloads and −0 included), or −1. */
export function firstBitDiff(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) return 0;
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length), ub = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let k = 0; k < ua.length; k++) if (ua[k] !== ub[k]) return k;
  return -1;
}

/** Bit-identical float arrays, or a failure naming the first differing element. */
export function expectBits(label: string, a: Float32Array, b: Float32Array): void {
  expect(a.length, `${label}: length`).toBe(b.length);
  const k = firstBitDiff(a, b);
  expect(k, k < 0 ? label : `${label}: first bit difference at ${k}: ${a[k]} vs ${b[k]}`).toBe(-1);
}
