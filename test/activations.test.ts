// Activation kernels (assembly/activations.ts) against float64, called directly on every build.
import { describe, it, expect } from "vitest";
import { backend, type Backend } from "../src/wasm/backend";
import { BUILDS, use } from "./helpers/backends";
import { mulberry32, refSigmoid } from "./helpers/ref";

const FLT_MAX = 3.4028234663852886e38;
const DENORM = 1e-45; // rounds to the smallest float32 denormal, 2^-149
const SENTINEL = Math.fround(-12345.678);
const G = 4; // guard floats on each side of every output; 4 keeps the data 16-byte aligned
const SIZES = [0, 1, 2, 3, 4, 5, 7, 8, 9, 13, 33];
const BOUND = 1e-6;

type Fwd = "sigmoid_forward" | "tanh_forward";
type Bwd = "sigmoid_backward" | "tanh_backward";
const REF: Record<Fwd, (x: number) => number> = { sigmoid_forward: refSigmoid, tanh_forward: Math.tanh };

/** Copy `data` into a fresh block with G sentinel floats either side; returns the data's byte pointer. */
function put(be: Backend, data: ArrayLike<number>): number {
  const p = be.arena.alloc((data.length + 2 * G) * 4);
  const f = be.f32; // after alloc: a grow detaches older views
  f.fill(SENTINEL, p >> 2, (p >> 2) + data.length + 2 * G);
  f.set(data, (p >> 2) + G);
  return p + 4 * G;
}

/** Read n floats at ptr, check the guards around them survived, and release the block. */
function take(be: Backend, ptr: number, n: number, label: string): Float32Array {
  const f = be.f32, o = ptr >> 2;
  for (let k = 1; k <= G; k++) expect(f[o - k], `${label}: guard ${k} before the data`).toBe(SENTINEL);
  for (let k = 0; k < G; k++) expect(f[o + n + k], `${label}: guard out[n+${k}] (n=${n})`).toBe(SENTINEL);
  const out = f.slice(o, o + n);
  be.arena.release(ptr - 4 * G);
  return out;
}

/** Run a forward kernel out of place (or in place); x must come back unchanged out of place. */
function fwd(be: Backend, name: Fwd, xs: ArrayLike<number>, inPlace = false): Float32Array {
  const n = xs.length;
  const px = put(be, xs);
  const po = inPlace ? px : put(be, new Float32Array(n).fill(SENTINEL));
  be.k[name](po, px, n);
  const out = take(be, po, n, `${name} n=${n}${inPlace ? " in place" : ""}`);
  if (!inPlace) expect(take(be, px, n, `${name} input`)).toEqual(Float32Array.from(xs));
  return out;
}

function bwd(be: Backend, name: Bwd, dy: Float32Array, s: Float32Array): Float32Array {
  const n = dy.length;
  const pdy = put(be, dy), ps = put(be, s), pdx = put(be, new Float32Array(n).fill(SENTINEL));
  be.k[name](pdx, pdy, ps, n);
  const dx = take(be, pdx, n, `${name} n=${n}`);
  expect(take(be, pdy, n, `${name} dy`)).toEqual(dy);
  expect(take(be, ps, n, `${name} saved output`)).toEqual(s);
  return dx;
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

describe.each(BUILDS)("activation kernels on the %s build", (build) => {
  it.each(["sigmoid_forward", "tanh_forward"] as const)(
    "%s is within 1e-6 absolute of float64 over [-20,20] step 1e-3 and a log sweep to ±FLT_MAX",
    async (name) => {
      await use(build);
      const xs = sweep();
      const { err, at } = maxAbsError(fwd(backend(), name, xs), xs, REF[name]);
      expect(err, `${name} on ${build}: max abs error ${err} at x=${at}`).toBeLessThanOrEqual(BOUND);
    },
  );

  it("tanh is exactly odd and sigmoid(x) + sigmoid(-x) is within 1e-6 of 1", async () => {
    await use(build);
    const be = backend();
    const xs = sweep();
    const neg = xs.map((x) => -x);
    const tp = fwd(be, "tanh_forward", xs), tn = fwd(be, "tanh_forward", neg);
    const sp = fwd(be, "sigmoid_forward", xs), sn = fwd(be, "sigmoid_forward", neg);
    for (let k = 0; k < xs.length; k++) {
      if (!Object.is(tn[k], -tp[k])) expect.fail(`tanh(${neg[k]}) = ${tn[k]} but tanh(${xs[k]}) = ${tp[k]}`);
      const d = Math.abs(sp[k] + sn[k] - 1);
      if (!(d <= BOUND)) expect.fail(`sigmoid(${xs[k]}) + sigmoid(${neg[k]}) = ${sp[k] + sn[k]}`);
    }
  });

  it("outputs are finite and in range for every finite input, including ±FLT_MAX, denormals and ±0", async () => {
    await use(build);
    const be = backend();
    const xs = Float32Array.from([FLT_MAX, -FLT_MAX, DENORM, -DENORM, 0, -0, 88, -88, 89, -89, 1e-38, -1e-38,
      44, -44, 45, -45, 103, -103, 1e10, -1e10]);
    expect(xs[2]).toBeGreaterThan(0); // really a denormal, not flushed by the rounding
    const s = fwd(be, "sigmoid_forward", xs), t = fwd(be, "tanh_forward", xs);
    for (let k = 0; k < xs.length; k++) {
      expect(s[k] >= 0 && s[k] <= 1, `sigmoid(${xs[k]}) = ${s[k]}`).toBe(true);
      expect(t[k] >= -1 && t[k] <= 1, `tanh(${xs[k]}) = ${t[k]}`).toBe(true);
    }
  });

  it("tanh(±0) keeps the sign of zero and sigmoid(±0) is 0.5", async () => {
    await use(build);
    const be = backend();
    // Placed both in a vector block and in the scalar tail.
    const xs = Float32Array.from([0, -0, 1, 2, -0, 0]);
    const t = fwd(be, "tanh_forward", xs), s = fwd(be, "sigmoid_forward", xs);
    for (const k of [0, 1, 4, 5]) {
      expect(Object.is(t[k], xs[k]), `tanh(${Object.is(xs[k], -0) ? "-0" : "+0"}) = ${t[k]}`).toBe(true);
      expect(s[k]).toBe(0.5);
    }
  });

  it("+Infinity gives sigmoid 1 and tanh 1; -Infinity gives tanh -1", async () => {
    await use(build);
    const be = backend();
    const xs = Float32Array.from([Infinity, -Infinity, 1, Infinity, -Infinity]); // vector lanes and tail
    const s = fwd(be, "sigmoid_forward", xs), t = fwd(be, "tanh_forward", xs);
    for (const k of [0, 3]) { expect(s[k], `sigmoid(+Inf) [${k}]`).toBe(1); expect(t[k], `tanh(+Inf) [${k}]`).toBe(1); }
    for (const k of [1, 4]) expect(t[k], `tanh(-Inf) [${k}]`).toBe(-1);
  });

  it("-Infinity gives sigmoid exactly 0, its limit", async () => {
    await use(build);
    const s = fwd(backend(), "sigmoid_forward", Float32Array.from([-Infinity, 1, 2, 3, -Infinity]));
    for (const k of [0, 4]) expect(s[k], `sigmoid(-Inf) [${k}]`).toBe(0);
  });

  it("NaN in gives NaN out, without disturbing neighbouring lanes", async () => {
    await use(build);
    const be = backend();
    const xs = Float32Array.from([NaN, 0.5, -NaN, 2, 1, NaN]); // a NaN in each path
    const s = fwd(be, "sigmoid_forward", xs), t = fwd(be, "tanh_forward", xs);
    for (const k of [0, 2, 5]) { expect(s[k]).toBeNaN(); expect(t[k]).toBeNaN(); }
    for (const k of [1, 3, 4]) {
      expect(Math.abs(s[k] - refSigmoid(xs[k]))).toBeLessThanOrEqual(BOUND);
      expect(Math.abs(t[k] - Math.tanh(xs[k]))).toBeLessThanOrEqual(BOUND);
    }
  });

  it.each(["sigmoid_forward", "tanh_forward"] as const)(
    "%s computes every element for n = 0..33 around the vector width and writes nothing past n",
    async (name) => {
      await use(build);
      const be = backend();
      const rng = mulberry32(11);
      for (const n of SIZES) {
        const xs = Float32Array.from({ length: n }, () => 12 * rng() - 6);
        const out = fwd(be, name, xs); // fwd checks the guards
        for (let k = 0; k < n; k++) {
          expect(Math.abs(out[k] - REF[name](xs[k])), `${name} n=${n} element ${k}`).toBeLessThanOrEqual(BOUND);
        }
      }
    },
  );

  it.each(["sigmoid_forward", "tanh_forward"] as const)(
    "%s in place (out == x) gives bit-identical values to out of place",
    async (name) => {
      await use(build);
      const be = backend();
      const rng = mulberry32(12);
      for (const n of SIZES) {
        const xs = Float32Array.from({ length: n }, () => 40 * rng() - 20);
        expect(fwd(be, name, xs, true), `${name} n=${n}`).toEqual(fwd(be, name, xs));
      }
    },
  );

  it("sigmoid_backward equals dy*s*(1-s) in float64 within 1e-6 relative, for every size", async () => {
    await use(build);
    const be = backend();
    const rng = mulberry32(13);
    for (const n of SIZES) {
      const dy = Float32Array.from({ length: n }, () => 4 * rng() - 2);
      // Saved outputs as the forward makes them, including the saturated ends 0 and 1.
      const s = Float32Array.from({ length: n }, (_, k) => (k % 5 === 4 ? k % 2 : refSigmoid(30 * rng() - 15)));
      const dx = bwd(be, "sigmoid_backward", dy, s);
      for (let k = 0; k < n; k++) {
        const want = dy[k] * s[k] * (1 - s[k]);
        expect(Math.abs(dx[k] - want), `n=${n} k=${k}: dy=${dy[k]} s=${s[k]} got ${dx[k]} want ${want}`)
          .toBeLessThanOrEqual(1e-6 * Math.abs(want));
      }
    }
  });

  it("tanh_backward equals dy*(1-t^2) in float64 within 1e-6 relative (plus t^2's own rounding near |t|=1)", async () => {
    await use(build);
    const be = backend();
    const rng = mulberry32(14);
    for (const n of SIZES) {
      const dy = Float32Array.from({ length: n }, () => 4 * rng() - 2);
      const t = Float32Array.from({ length: n }, (_, k) => (k % 5 === 4 ? (k % 2 ? 1 : -1) : Math.tanh(8 * rng() - 4)));
      const dx = bwd(be, "tanh_backward", dy, t);
      for (let k = 0; k < n; k++) {
        const want = dy[k] * (1 - t[k] * t[k]);
        // float32 t*t is rounded once (error <= 2^-24 t^2); 1 - t^2 cancels that into |dy| * 2^-24.
        const tol = 1e-6 * Math.abs(want) + 2 ** -24 * Math.abs(dy[k]);
        expect(Math.abs(dx[k] - want), `n=${n} k=${k}: dy=${dy[k]} t=${t[k]} got ${dx[k]} want ${want}`)
          .toBeLessThanOrEqual(tol);
      }
    }
  });
});
