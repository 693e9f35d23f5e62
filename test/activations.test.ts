// The activations (assembly/activations.ts) against float64, on every build, as the LSTM applies
// them: through lstm_forward's saved gates, the only place they run. One step (T = 1, B = 1) with
// hidden size n, zero input and -0 weights (test/helpers/gates.ts) makes the pre-activations exactly
// b_ih + b_hh; with b_hh = -0 (v + -0 = v for every float, -0 and NaN included) and
// b_ih = [xs; xs; xs; xs] the gates are i = f = o = σ(xs) and g = tanh(xs). i and f go through one
// sigmoid call over 2n floats, o through another over n, g through tanh over n, each in place.
// Their derivatives run in linear_backward only (fused sigmoid and tanh activations): its dz output,
// dL/d(pre-activation), is read back from given saved outputs and dy.
import { describe, it, expect } from "vitest";
import { backend, type Backend } from "../src/wasm/backend";
import { BUILDS, use } from "./helpers/backends";
import { mulberry32, refSigmoid } from "./helpers/ref";
import { forwardGates } from "./helpers/gates";
import { Mem, panelSize } from "./helpers/kernels";

const FLT_MAX = 3.4028234663852886e38;
const DENORM = 1e-45; // rounds to the smallest float32 denormal, 2^-149
const SIZES = [1, 2, 3, 4, 5, 7, 8, 9, 13, 33];
const BOUND = 1e-6;
const GATE = ["i", "f", "o"];

/** The three sigmoid gates (i, f, o) and the tanh gate (g) of pre-activations xs in every gate block. */
function both(be: Backend, xs: Float32Array): { sig: Float32Array[]; tanh: Float32Array } {
  const n = xs.length, bih = new Float32Array(4 * n);
  for (let q = 0; q < 4; q++) bih.set(xs, q * n);
  const a = forwardGates(be, 1, 1, n, bih, new Float32Array(4 * n).fill(-0));
  return { sig: [a.subarray(0, n), a.subarray(n, 2 * n), a.subarray(3 * n)], tanh: a.subarray(2 * n, 3 * n) };
}

/** The sweep: every float32 at step 1e-3 in [-20, 20], log-spaced magnitudes 1e-45..1e30 of both signs, ±FLT_MAX. */
function sweep(): Float32Array {
  const xs: number[] = [];
  for (let i = 0; i <= 40000; i++) xs.push(-20 + i * 1e-3);
  for (let e = -45; e <= 30; e += 0.01) xs.push(10 ** e, -(10 ** e));
  xs.push(FLT_MAX, -FLT_MAX);
  return Float32Array.from(xs); // rounded once, the reference sees the same float32 inputs
}

function maxAbsError(out: Float32Array, xs: Float32Array, ref: (x: number) => number): { err: number; at: number } {
  let err = 0, at = NaN;
  for (let k = 0; k < xs.length; k++) {
    const d = Math.abs(out[k] - ref(xs[k]));
    if (!(d <= err)) { err = d; at = xs[k]; } // NaN also lands here and fails the bound
  }
  return { err, at };
}

describe.each(BUILDS)("sigmoid and tanh in lstm_forward's gates on the %s build", (build) => {
  it("σ (gates i, f, o) and tanh (gate g) are within 1e-6 absolute of float64 over [-20,20] step 1e-3 and a log sweep to ±FLT_MAX", async () => {
    await use(build);
    const xs = sweep();
    const { sig, tanh } = both(backend(), xs);
    sig.forEach((s, q) => {
      const { err, at } = maxAbsError(s, xs, refSigmoid);
      expect(err, `σ (gate ${GATE[q]}) on ${build}: max abs error ${err} at x=${at}`).toBeLessThanOrEqual(BOUND);
    });
    const { err, at } = maxAbsError(tanh, xs, Math.tanh);
    expect(err, `tanh on ${build}: max abs error ${err} at x=${at}`).toBeLessThanOrEqual(BOUND);
  });

  it("tanh is exactly odd and σ(x) + σ(-x) is within 1e-6 of 1", async () => {
    await use(build);
    const be = backend();
    const xs = sweep();
    const p = both(be, xs), n = both(be, xs.map((x) => -x));
    for (let k = 0; k < xs.length; k++) {
      if (!Object.is(n.tanh[k], -p.tanh[k])) expect.fail(`tanh(${-xs[k]}) = ${n.tanh[k]} but tanh(${xs[k]}) = ${p.tanh[k]}`);
      for (let q = 0; q < 3; q++) {
        const d = Math.abs(p.sig[q][k] + n.sig[q][k] - 1);
        if (!(d <= BOUND)) expect.fail(`gate ${GATE[q]}: σ(${xs[k]}) + σ(${-xs[k]}) = ${p.sig[q][k] + n.sig[q][k]}`);
      }
    }
  });

  it("outputs are finite and in range for every finite input, including ±FLT_MAX, denormals and ±0", async () => {
    await use(build);
    const xs = Float32Array.from([FLT_MAX, -FLT_MAX, DENORM, -DENORM, 0, -0, 88, -88, 89, -89, 1e-38, -1e-38,
      44, -44, 45, -45, 103, -103, 1e10, -1e10]);
    expect(xs[2]).toBeGreaterThan(0); // really a denormal, not flushed by the rounding
    const { sig, tanh } = both(backend(), xs);
    for (let k = 0; k < xs.length; k++) {
      for (const s of sig) expect(s[k] >= 0 && s[k] <= 1, `σ(${xs[k]}) = ${s[k]}`).toBe(true);
      expect(tanh[k] >= -1 && tanh[k] <= 1, `tanh(${xs[k]}) = ${tanh[k]}`).toBe(true);
    }
  });

  it("tanh(±0) keeps the sign of zero and σ(±0) is 0.5", async () => {
    await use(build);
    // n = 6: zeros in a vector block and in the scalar tail of every call.
    const xs = Float32Array.from([0, -0, 1, 2, -0, 0]);
    const { sig, tanh } = both(backend(), xs);
    for (const k of [0, 1, 4, 5]) {
      expect(Object.is(tanh[k], xs[k]), `tanh(${Object.is(xs[k], -0) ? "-0" : "+0"}) = ${tanh[k]}`).toBe(true);
      for (const s of sig) expect(s[k]).toBe(0.5);
    }
  });

  it("+Infinity gives σ 1 and tanh 1; -Infinity gives tanh -1 and σ exactly 0, its limit", async () => {
    await use(build);
    const xs = Float32Array.from([Infinity, -Infinity, 1, Infinity, -Infinity]); // vector lanes and tail
    const { sig, tanh } = both(backend(), xs);
    for (const k of [0, 3]) {
      expect(tanh[k], `tanh(+Inf) [${k}]`).toBe(1);
      for (const s of sig) expect(s[k], `σ(+Inf) [${k}]`).toBe(1);
    }
    for (const k of [1, 4]) {
      expect(tanh[k], `tanh(-Inf) [${k}]`).toBe(-1);
      for (const s of sig) expect(s[k], `σ(-Inf) [${k}]`).toBe(0);
    }
  });

  it("NaN in gives NaN out, without disturbing neighbouring lanes", async () => {
    await use(build);
    const xs = Float32Array.from([NaN, 0.5, -NaN, 2, 1, NaN]); // a NaN in each path
    const { sig, tanh } = both(backend(), xs);
    for (const k of [0, 2, 5]) {
      expect(tanh[k]).toBeNaN();
      for (const s of sig) expect(s[k]).toBeNaN();
    }
    for (const k of [1, 3, 4]) {
      expect(Math.abs(tanh[k] - Math.tanh(xs[k]))).toBeLessThanOrEqual(BOUND);
      for (const s of sig) expect(Math.abs(s[k] - refSigmoid(xs[k]))).toBeLessThanOrEqual(BOUND);
    }
  });

  it("every element is computed for n = 1..33 around the vector width, and nothing is written past the gates", async () => {
    await use(build);
    const be = backend();
    const rng = mulberry32(11);
    for (const n of SIZES) {
      const xs = Float32Array.from({ length: n }, () => 12 * rng() - 6);
      // An overrun of one gate's call lands in the next gate's block (and shows there) or in the guard.
      const { sig, tanh } = both(be, xs);
      for (let k = 0; k < n; k++) {
        sig.forEach((s, q) => expect(Math.abs(s[k] - refSigmoid(xs[k])), `σ gate ${GATE[q]} n=${n} element ${k}`).toBeLessThanOrEqual(BOUND));
        expect(Math.abs(tanh[k] - Math.tanh(xs[k])), `tanh n=${n} element ${k}`).toBeLessThanOrEqual(BOUND);
      }
    }
  });
});

/**
 * dz [n] from linear_backward with activation code act (2 tanh, 3 sigmoid) on one row of n outputs
 * whose saved forward output is y: the derivative alone (dx skipped, no bias, one input). dy and y
 * must come back unchanged, and nothing may be written past dz.
 */
function dzOf(act: 2 | 3, dy: Float32Array, y: Float32Array): Float32Array {
  const mem = new Mem();
  try {
    const k = mem.be.k, n = dy.length;
    const pdy = mem.f32(dy), py = mem.f32(y), pdz = mem.f32(n), px = mem.f32(1), pdw = mem.f32(panelSize(1, n));
    const pack = mem.f32(k.gemm_scratch_size(1, n));
    k.linear_backward(0, pdw, 0, pdz, pack, pdy, py, px, 1, 0, 1, 1, n, act);
    expect(mem.read(pdy, n, "dy")).toEqual(dy);
    expect(mem.read(py, n, "y")).toEqual(y);
    return mem.read(pdz, n, "dz");
  } finally {
    mem.free();
  }
}

describe.each(BUILDS)("the sigmoid and tanh derivatives in linear_backward's dz on the %s build", (build) => {
  it("sigmoid: dz equals dy*s*(1-s) in float64 within 1e-6 relative, for every size", async () => {
    await use(build);
    const rng = mulberry32(13);
    for (const n of SIZES) {
      const dy = Float32Array.from({ length: n }, () => 4 * rng() - 2);
      // Saved outputs as the forward makes them, including the saturated ends 0 and 1.
      const s = Float32Array.from({ length: n }, (_, k) => (k % 5 === 4 ? k % 2 : refSigmoid(30 * rng() - 15)));
      const dz = dzOf(3, dy, s);
      for (let k = 0; k < n; k++) {
        const want = dy[k] * s[k] * (1 - s[k]);
        expect(Math.abs(dz[k] - want), `n=${n} k=${k}: dy=${dy[k]} s=${s[k]} got ${dz[k]} want ${want}`)
          .toBeLessThanOrEqual(1e-6 * Math.abs(want));
      }
    }
  });

  it("tanh: dz equals dy*(1-t^2) in float64 within 1e-6 relative (plus t^2's own rounding near |t|=1)", async () => {
    await use(build);
    const rng = mulberry32(14);
    for (const n of SIZES) {
      const dy = Float32Array.from({ length: n }, () => 4 * rng() - 2);
      const t = Float32Array.from({ length: n }, (_, k) => (k % 5 === 4 ? (k % 2 ? 1 : -1) : Math.tanh(8 * rng() - 4)));
      const dz = dzOf(2, dy, t);
      for (let k = 0; k < n; k++) {
        const want = dy[k] * (1 - t[k] * t[k]);
        // float32 t*t is rounded once (error <= 2^-24 t^2); 1 - t^2 cancels that into |dy| * 2^-24.
        const tol = 1e-6 * Math.abs(want) + 2 ** -24 * Math.abs(dy[k]);
        expect(Math.abs(dz[k] - want), `n=${n} k=${k}: dy=${dy[k]} t=${t[k]} got ${dz[k]} want ${want}`)
          .toBeLessThanOrEqual(tol);
      }
    }
  });
});
