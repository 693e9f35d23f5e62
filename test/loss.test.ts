// The fused loss kernels (assembly/loss.ts) called raw on every build: MSE and softmax
// cross-entropy values and gradients against float64, masks and ignored rows, the all-masked case,
// extreme logits, and every class count from 1 to past two SIMD vectors (vector bodies and tails).
import { describe, it, expect } from "vitest";
import { backend, type Backend } from "../src/wasm/backend";
import { BUILDS, use } from "./helpers/backends";
import { mulberry32 } from "./helpers/ref";
import { expectClose } from "./helpers/close";

const CS = [1, 2, 3, 4, 5, 9, 17];
const GUARD = 8; // floats after the gradient that must stay untouched
const SENTINEL = 12345.5;

interface Bufs { d: number; a: number; b: number; m: number }

/** Copies the inputs into wasm memory, fills d (and a guard after it) with sentinels, runs `call`, reads d back. */
function runKernel(be: Backend, R: number, C: number, a: Float32Array, b: Float32Array | Int32Array, mask: Int32Array | null,
  call: (p: Bufs) => number): { loss: number; d: Float32Array; guardOk: boolean } {
  const n = R * C;
  const d = be.arena.alloc((n + GUARD) * 4), pa = be.arena.alloc(n * 4), pb = be.arena.alloc(b.length * 4);
  const pm = mask ? be.arena.alloc(R * 4) : 0;
  try {
    const f32 = be.f32, i32 = be.i32; // after every allocation
    f32.fill(SENTINEL, d >>> 2, (d >>> 2) + n + GUARD);
    f32.set(a, pa >>> 2);
    if (b instanceof Int32Array) i32.set(b, pb >>> 2); else f32.set(b, pb >>> 2);
    if (mask) i32.set(mask, pm >>> 2);
    const loss = call({ d, a: pa, b: pb, m: pm });
    const heap = be.f32;
    const out = heap.slice(d >>> 2, (d >>> 2) + n);
    const guard = heap.subarray((d >>> 2) + n, (d >>> 2) + n + GUARD);
    return { loss, d: out, guardOk: guard.every((v) => v === SENTINEL) };
  } finally {
    for (const p of [d, pa, pb, pm]) if (p) be.arena.release(p);
  }
}

const rand = (rng: () => number, n: number, s: number) => Float32Array.from({ length: n }, () => (2 * rng() - 1) * s);
const closeRel = (a: number, e: number, rtol: number) => Math.abs(a - e) <= rtol * Math.max(1, Math.abs(e));

// ---------------------------------------------------------------- float64 references

/** MSE over the rows with mask != 0: Σ (p - y)² / (rows·C), and its gradient 2(p - y)/(rows·C)·scale (0 on masked rows). */
function refMse(p: Float32Array, y: Float32Array, mask: Int32Array | null, R: number, C: number, scale: number) {
  let rows = 0;
  for (let r = 0; r < R; r++) if (!mask || mask[r] !== 0) rows++;
  const d = new Float64Array(R * C);
  if (rows === 0) return { loss: 0, d };
  let sum = 0;
  for (let r = 0; r < R; r++) {
    if (mask && mask[r] === 0) continue;
    for (let c = 0; c < C; c++) {
      const e = p[r * C + c] - y[r * C + c];
      sum += e * e;
      d[r * C + c] = (2 * e / (rows * C)) * scale;
    }
  }
  return { loss: sum / (rows * C), d };
}

/** Mean over rows with t >= 0 of log Σ exp(z) − z[t], by log-sum-exp in float64. */
function xentLoss(z: ArrayLike<number>, t: Int32Array, R: number, C: number): number {
  let rows = 0, sum = 0;
  for (let r = 0; r < R; r++) {
    if (t[r] < 0) continue;
    rows++;
    let mx = -Infinity;
    for (let c = 0; c < C; c++) mx = Math.max(mx, z[r * C + c]);
    let s = 0;
    for (let c = 0; c < C; c++) s += Math.exp(z[r * C + c] - mx);
    sum += Math.log(s) + (mx - z[r * C + t[r]]); // the difference first: log s would vanish next to a huge mx
  }
  return rows === 0 ? 0 : sum / rows;
}

/** (softmax(z) − onehot(t)) / rows · scale, 0 on ignored rows. */
function xentGrad(z: ArrayLike<number>, t: Int32Array, R: number, C: number, scale: number): Float64Array {
  const d = new Float64Array(R * C);
  let rows = 0;
  for (let r = 0; r < R; r++) if (t[r] >= 0) rows++;
  for (let r = 0; r < R; r++) {
    if (t[r] < 0) continue;
    let mx = -Infinity;
    for (let c = 0; c < C; c++) mx = Math.max(mx, z[r * C + c]);
    let s = 0;
    for (let c = 0; c < C; c++) s += Math.exp(z[r * C + c] - mx);
    for (let c = 0; c < C; c++) d[r * C + c] = ((Math.exp(z[r * C + c] - mx) / s - (c === t[r] ? 1 : 0)) / rows) * scale;
  }
  return d;
}

/** Central differences of xentLoss, in float64. */
function xentFiniteDiff(z: Float32Array, t: Int32Array, R: number, C: number): Float64Array {
  const zz = Float64Array.from(z), d = new Float64Array(R * C), h = 1e-5;
  for (let k = 0; k < R * C; k++) {
    const v = zz[k];
    zz[k] = v + h; const up = xentLoss(zz, t, R, C);
    zz[k] = v - h; const dn = xentLoss(zz, t, R, C);
    zz[k] = v;
    d[k] = (up - dn) / (2 * h);
  }
  return d;
}

describe.each(BUILDS)("mse kernel on the %s build", (build) => {
  it.each(CS)("C=%i: loss and gradient match float64 for R in {1,3,6}, scale 1 and 0.25, writing exactly R·C floats", async (C) => {
    await use(build);
    const be = backend();
    const rng = mulberry32(40 + C);
    for (const R of [1, 3, 6]) {
      for (const scale of [1, 0.25]) {
        const p = rand(rng, R * C, 3), y = rand(rng, R * C, 3);
        const got = runKernel(be, R, C, p, y, null, (q) => be.k.mse(q.d, q.a, q.b, 0, R, C, scale));
        const ref = refMse(p, y, null, R, C, scale);
        expect(closeRel(got.loss, ref.loss, 1e-6), `loss R=${R}: ${got.loss} vs ${ref.loss}`).toBe(true);
        expectClose(`d R=${R} scale=${scale}`, got.d, ref.d, { atol: 1e-9, rtol: 1e-6 });
        expect(got.guardOk, "wrote past R·C floats").toBe(true);
      }
    }
  });

  it.each(CS)("C=%i: masked rows get exactly 0 gradient, are left out of the mean, and are never read (NaN there is harmless)", async (C) => {
    await use(build);
    const be = backend();
    const rng = mulberry32(60 + C);
    const R = 6, mask = Int32Array.from([1, 0, 1, 1, 0, 0]);
    const p = rand(rng, R * C, 2), y = rand(rng, R * C, 2);
    for (let r = 0; r < R; r++) {
      if (mask[r] === 0) for (let c = 0; c < C; c++) { p[r * C + c] = c % 2 ? NaN : 1e30; y[r * C + c] = c % 2 ? -Infinity : -1e30; }
    }
    const got = runKernel(be, R, C, p, y, mask, (q) => be.k.mse(q.d, q.a, q.b, q.m, R, C, 1));
    const ref = refMse(p, y, mask, R, C, 1);
    expect(Number.isFinite(ref.loss)).toBe(true);
    expect(closeRel(got.loss, ref.loss, 1e-6), `loss: ${got.loss} vs ${ref.loss}`).toBe(true);
    // The mean is over the 3 valid rows: the sum over them divided by 3·C.
    let valid = 0;
    for (const r of [0, 2, 3]) for (let c = 0; c < C; c++) valid += (p[r * C + c] - y[r * C + c]) ** 2;
    expect(closeRel(got.loss, valid / (3 * C), 1e-6)).toBe(true);
    expectClose("d", got.d, ref.d, { atol: 1e-9, rtol: 1e-6 });
    for (let r = 0; r < R; r++) {
      if (mask[r] === 0) for (let c = 0; c < C; c++) expect(Object.is(got.d[r * C + c], 0), `d[${r},${c}] = ${got.d[r * C + c]}`).toBe(true);
    }
    expect(got.guardOk).toBe(true);
  });

  it("every row masked: the loss is 0 and the whole gradient exactly 0", async () => {
    await use(build);
    const be = backend();
    for (const C of CS) {
      const R = 3, p = new Float32Array(R * C).fill(5), y = new Float32Array(R * C).fill(-5);
      const got = runKernel(be, R, C, p, y, new Int32Array(R), (q) => be.k.mse(q.d, q.a, q.b, q.m, R, C, 1));
      expect(got.loss).toBe(0);
      expect(got.d.every((v) => Object.is(v, 0))).toBe(true);
      expect(got.guardOk).toBe(true);
    }
  });
});

describe.each(BUILDS)("softmax_xent kernel on the %s build", (build) => {
  it.each(CS)("C=%i: loss and gradient match float64 log-sum-exp and central finite differences, scale 1 and 0.5", async (C) => {
    await use(build);
    const be = backend();
    const rng = mulberry32(80 + C);
    for (const R of [1, 4, 7]) {
      for (const scale of [1, 0.5]) {
        const z = rand(rng, R * C, 4);
        const t = Int32Array.from({ length: R }, () => Math.floor(rng() * C));
        const got = runKernel(be, R, C, z, t, null, (q) => be.k.softmax_xent(q.d, q.a, q.b, R, C, scale));
        const ref = xentLoss(z, t, R, C);
        expect(closeRel(got.loss, ref, 1e-6), `loss R=${R}: ${got.loss} vs ${ref}`).toBe(true);
        expectClose(`d R=${R}`, got.d, xentGrad(z, t, R, C, scale), { atol: 1e-7, rtol: 1e-5 });
        const fd = xentFiniteDiff(z, t, R, C).map((v) => v * scale);
        expectClose(`d vs finite differences R=${R}`, got.d, fd, { atol: 1e-6, rtol: 1e-5 });
        expect(got.guardOk).toBe(true);
      }
    }
  });

  it.each(CS)("C=%i: rows with class −1 get exactly 0 gradient and are left out of the mean", async (C) => {
    await use(build);
    const be = backend();
    const rng = mulberry32(100 + C);
    const R = 6, t = Int32Array.from([-1, 0, C - 1, -1, Math.floor(C / 2), -1]);
    const z = rand(rng, R * C, 3);
    for (const r of [0, 3, 5]) for (let c = 0; c < C; c++) z[r * C + c] = (c % 2 ? -1 : 1) * 1e30;
    const got = runKernel(be, R, C, z, t, null, (q) => be.k.softmax_xent(q.d, q.a, q.b, R, C, 1));
    // The mean is over the three labelled rows only.
    const kept = new Float32Array(3 * C);
    [1, 2, 4].forEach((r, i) => kept.set(z.subarray(r * C, (r + 1) * C), i * C));
    const refKept = xentLoss(kept, Int32Array.from([t[1], t[2], t[4]]), 3, C);
    expect(closeRel(got.loss, refKept, 1e-6), `loss ${got.loss} vs ${refKept}`).toBe(true);
    expectClose("d", got.d, xentGrad(z, t, R, C, 1), { atol: 1e-7, rtol: 1e-5 });
    expectClose("d vs finite differences", got.d, xentFiniteDiff(z, t, R, C), { atol: 1e-6, rtol: 1e-5 });
    for (const r of [0, 3, 5]) for (let c = 0; c < C; c++) expect(Object.is(got.d[r * C + c], 0)).toBe(true);
    // Each labelled row's gradient sums to 0 (softmax sums to 1).
    for (const r of [1, 2, 4]) {
      let s = 0;
      for (let c = 0; c < C; c++) s += got.d[r * C + c];
      expect(Math.abs(s)).toBeLessThan(1e-6);
    }
    expect(got.guardOk).toBe(true);
  });

  it("every row ignored: the loss is 0 and the whole gradient exactly 0", async () => {
    await use(build);
    const be = backend();
    for (const C of CS) {
      const R = 4, z = new Float32Array(R * C).fill(2);
      const got = runKernel(be, R, C, z, new Int32Array(R).fill(-1), null, (q) => be.k.softmax_xent(q.d, q.a, q.b, R, C, 1));
      expect(got.loss).toBe(0);
      expect(got.d.every((v) => Object.is(v, 0))).toBe(true);
    }
  });

  it.each(CS)("C=%i: finite and equal to float64 for logits ±1e30 and ±3e38 (anywhere in the row) and all-equal logits", async (C) => {
    await use(build);
    const be = backend();
    const rows: Array<{ z: number[]; t: number }> = [];
    const row = (fill: number, set: Record<number, number>) => Array.from({ length: C }, (_, c) => (c in set ? set[c] : fill));
    for (const big of [1e30, 3e38]) {
      for (const at of [0, C - 1, Math.floor(C / 2)]) {
        const other = (at + 1) % C;
        rows.push({ z: row(0, { [at]: big, [other]: C > 1 ? -big : big }), t: at });
        rows.push({ z: row(0, { [at]: big, [other]: C > 1 ? -big : big }), t: other });
        rows.push({ z: row(-big, { [at]: big }), t: (at + C - 1) % C });
      }
      rows.push({ z: row(big, {}), t: C - 1 });
      rows.push({ z: row(-big, {}), t: 0 });
    }
    rows.push({ z: row(0, {}), t: 0 }, { z: row(7.25, {}), t: C - 1 });
    const R = rows.length;
    const z = Float32Array.from(rows.flatMap((r) => r.z)), t = Int32Array.from(rows.map((r) => r.t));
    const got = runKernel(be, R, C, z, t, null, (q) => be.k.softmax_xent(q.d, q.a, q.b, R, C, 1));
    const ref = xentLoss(z, t, R, C);
    expect(Number.isFinite(ref)).toBe(true);
    expect(Number.isFinite(got.loss), `loss ${got.loss}`).toBe(true);
    expect(closeRel(got.loss, ref, 1e-6), `loss ${got.loss} vs ${ref}`).toBe(true);
    expect(got.d.every(Number.isFinite), `d has non-finite entries: ${got.d}`).toBe(true);
    expectClose("d", got.d, xentGrad(z, t, R, C, 1), { atol: 1e-7, rtol: 1e-5 });
  });

  it("all-equal logits give the uniform softmax and a loss of log C (to 1e-6), whatever their magnitude (0, 7.25, ±1e30, ±3e38), for every C", async () => {
    await use(build);
    const be = backend();
    const bad: string[] = [];
    for (const C of CS) {
      for (const v of [0, 7.25, -1e30, 1e30, -3e38, 3e38]) {
        const got = runKernel(be, 1, C, new Float32Array(C).fill(v), Int32Array.of(C - 1), null, (q) => be.k.softmax_xent(q.d, q.a, q.b, 1, C, 1));
        expectClose(`uniform d at ${v}, C=${C}`, got.d, Float64Array.from({ length: C }, (_, c) => 1 / C - (c === C - 1 ? 1 : 0)), { atol: 1e-7, rtol: 1e-5 });
        if (!closeRel(got.loss, Math.log(C), 1e-6)) bad.push(`C=${C}, logits all ${v}: loss ${got.loss}, expected log ${C} = ${Math.log(C)}`);
      }
    }
    expect(bad).toEqual([]);
  });
});
