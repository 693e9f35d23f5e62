// GEMM, transpose, bias and clipping kernels (assembly/gemm.ts, assembly/clip.ts) called directly
// on every build, against float64 references.
import { describe, it, expect } from "vitest";
import { backend, type Backend } from "../src/wasm/backend";
import { BUILDS, use } from "./helpers/backends";
import { mulberry32 } from "./helpers/ref";

const SENTINEL = Math.fround(-12345.678);
const G = 4; // guard floats after every output block
const DIMS = [1, 2, 3, 4, 5, 7, 8, 9, 12, 17, 33]; // M<4, M=4, M%4!=0; N<4, N%8 in {0,4,other}
const KS = [0, 1, 2, 3, 8, 9, 33];
const ODD = [1, 3, 5, 7, 9, 13, 33];

/** A block of data.length + G floats holding data then G sentinels; returns its byte pointer. */
function put(be: Backend, data: ArrayLike<number>): number {
  const p = be.arena.alloc((data.length + G) * 4);
  const f = be.f32; // after alloc: a grow detaches older views
  f.set(data, p >> 2);
  f.fill(SENTINEL, (p >> 2) + data.length, (p >> 2) + data.length + G);
  return p;
}

/** Read n floats at ptr, check the G guards after them survived, and release the block. */
function take(be: Backend, ptr: number, n: number, label: string): Float32Array {
  const f = be.f32, o = ptr >> 2;
  for (let k = 0; k < G; k++) expect(f[o + n + k], `${label}: guard ${k} after ${n} floats`).toBe(SENTINEL);
  const out = f.slice(o, o + n);
  be.arena.release(ptr);
  return out;
}

const randoms = (rng: () => number, n: number, lo = -1, hi = 1) =>
  Float32Array.from({ length: n }, () => lo + (hi - lo) * rng());

interface GemmCase {
  M: number; N: number; K: number;
  tn?: boolean; // A stored [K, lda] (TN) instead of [M, lda] (NN)
  padA?: number; padB?: number; padC?: number; // extra floats per row beyond the used width
  accumulate?: boolean;
  prior?: "random" | "nan"; // what C holds before the call
}

/**
 * Run one gemm and check it against float64: |c - ref| <= 1e-5 * (|c0| + Σ|a||b|) per element.
 * Unused A/B columns hold NaN (so reading them would show), unused C columns a sentinel that must survive.
 */
function checkGemm(be: Backend, rng: () => number, g: GemmCase): void {
  const { M, N, K, tn = false, padA = 0, padB = 0, padC = 0, accumulate = false, prior = "random" } = g;
  const label = `${tn ? "TN" : "NN"} M=${M} N=${N} K=${K} pads=${padA},${padB},${padC} acc=${accumulate}`;
  const lda = (tn ? M : K) + padA, ldb = N + padB, ldc = N + padC;
  const aRows = tn ? K : M, aCols = tn ? M : K;
  const A = new Float32Array(aRows * lda).fill(NaN), B = new Float32Array(K * ldb).fill(NaN);
  const C = new Float32Array(M * ldc).fill(SENTINEL);
  for (let r = 0; r < aRows; r++) A.set(randoms(rng, aCols), r * lda);
  for (let k = 0; k < K; k++) B.set(randoms(rng, N), k * ldb);
  for (let i = 0; i < M; i++) C.set(prior === "nan" ? new Float32Array(N).fill(NaN) : randoms(rng, N, -2, 2), i * ldc);
  const [ars, acs] = tn ? [1, lda] : [lda, 1];
  const pa = put(be, A), pb = put(be, B), pc = put(be, C);
  be.k.gemm(pc, pa, pb, M, N, K, ars, acs, ldb, ldc, accumulate ? 1 : 0);
  const got = take(be, pc, M * ldc, label);
  expect(take(be, pa, A.length, `${label} A`)).toEqual(A);
  expect(take(be, pb, B.length, `${label} B`)).toEqual(B);
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      let want = accumulate ? C[i * ldc + j] : 0, scale = Math.abs(want);
      for (let k = 0; k < K; k++) {
        const p = A[i * ars + k * acs] * B[k * ldb + j];
        want += p;
        scale += Math.abs(p);
      }
      const c = got[i * ldc + j];
      if (!(Math.abs(c - want) <= 1e-5 * scale)) expect.fail(`${label}: C[${i},${j}] = ${c}, want ${want}`);
    }
    for (let j = N; j < ldc; j++) {
      if (got[i * ldc + j] !== SENTINEL) expect.fail(`${label}: padding C[${i},${j}] overwritten`);
    }
  }
}

describe.each(BUILDS)("gemm and helper kernels on the %s build", (build) => {
  it.each([false, true])("gemm (TN=%s) matches float64 for every M,N in {1..33} and K in {0..33}", async (tn) => {
    await use(build);
    const be = backend();
    const rng = mulberry32(tn ? 22 : 21);
    for (const M of DIMS) for (const N of DIMS) for (const K of KS) checkGemm(be, rng, { M, N, K, tn });
  });

  it("gemm with accumulate=1 adds A·B to the prior contents of C, NN and TN", async () => {
    await use(build);
    const be = backend();
    const rng = mulberry32(23);
    for (const tn of [false, true]) {
      for (const [M, N] of [[1, 1], [3, 5], [4, 4], [4, 8], [5, 12], [9, 17], [12, 33], [33, 9]]) {
        for (const K of [0, 1, 7]) checkGemm(be, rng, { M, N, K, tn, accumulate: true });
      }
    }
  });

  it("gemm with accumulate=0 ignores prior contents of C, even NaN (K=0 gives zeros)", async () => {
    await use(build);
    const be = backend();
    const rng = mulberry32(24);
    for (const tn of [false, true]) {
      for (const [M, N] of [[1, 3], [2, 4], [4, 8], [5, 5], [8, 12], [17, 33], [33, 17]]) {
        for (const K of [0, 1, 9]) checkGemm(be, rng, { M, N, K, tn, prior: "nan" });
      }
    }
    // K=0 overwrites with exact zeros.
    const pc = put(be, new Float32Array(5 * 9).fill(NaN));
    be.k.gemm(pc, pc, pc, 5, 9, 0, 0, 1, 9, 9, 0);
    expect(take(be, pc, 5 * 9, "K=0")).toEqual(new Float32Array(5 * 9));
  });

  it("gemm with padded A, ldb > N and ldc > N reads no padding and leaves C's padding untouched", async () => {
    await use(build);
    const be = backend();
    const rng = mulberry32(25);
    for (const tn of [false, true]) {
      for (const accumulate of [false, true]) {
        for (const [M, N, K] of [[1, 1, 1], [3, 4, 5], [4, 8, 3], [5, 12, 9], [7, 9, 8], [12, 17, 2], [33, 33, 17]]) {
          checkGemm(be, rng, { M, N, K, tn, accumulate, padA: 3, padB: 5, padC: 3 });
          checkGemm(be, rng, { M, N, K, tn, accumulate, padA: 1, padB: 1, padC: 7, prior: accumulate ? "random" : "nan" });
        }
      }
    }
  });

  it("gemm with M=0 or N=0 writes nothing", async () => {
    await use(build);
    const be = backend();
    const pc = put(be, new Float32Array(8).fill(SENTINEL)), pa = put(be, [1, 2, 3, 4]), pb = put(be, [1, 2, 3, 4]);
    be.k.gemm(pc, pa, pb, 0, 4, 1, 1, 1, 4, 4, 0);
    be.k.gemm(pc, pa, pb, 2, 0, 2, 2, 1, 4, 4, 0);
    expect(take(be, pc, 8, "C")).toEqual(new Float32Array(8).fill(SENTINEL));
    be.arena.release(pa);
    be.arena.release(pb);
  });

  it("transpose gives dst[q][r] = src[r][q] exactly on odd shapes", async () => {
    await use(build);
    const be = backend();
    const rng = mulberry32(26);
    for (const [rows, cols] of [[1, 1], [1, 33], [33, 1], [3, 5], [7, 9], [13, 3], [17, 33]]) {
      const src = randoms(rng, rows * cols);
      const ps = put(be, src), pd = put(be, new Float32Array(rows * cols).fill(NaN));
      be.k.transpose(pd, ps, rows, cols);
      const dst = take(be, pd, rows * cols, `transpose ${rows}x${cols}`);
      expect(take(be, ps, rows * cols, "src")).toEqual(src);
      for (let r = 0; r < rows; r++) {
        for (let q = 0; q < cols; q++) expect(dst[q * rows + r], `${rows}x${cols} (${r},${q})`).toBe(src[r * cols + q]);
      }
    }
  });

  it("bias_rows sets every row to b1 + b2 (float32 sum) on odd sizes, rows=0 writes nothing", async () => {
    await use(build);
    const be = backend();
    const rng = mulberry32(27);
    for (const rows of [0, 1, 3, 7]) {
      for (const n of ODD) {
        const b1 = randoms(rng, n), b2 = randoms(rng, n);
        const p1 = put(be, b1), p2 = put(be, b2), po = put(be, new Float32Array(rows * n).fill(NaN));
        be.k.bias_rows(po, p1, p2, rows, n);
        const out = take(be, po, rows * n, `bias_rows rows=${rows} n=${n}`);
        take(be, p1, n, "b1");
        take(be, p2, n, "b2");
        const row = b1.map((v, j) => Math.fround(v + b2[j]));
        for (let r = 0; r < rows; r++) expect(out.subarray(r * n, (r + 1) * n), `rows=${rows} n=${n} row ${r}`).toEqual(row);
      }
    }
  });

  it("colsum_add adds the column sums of a strided source to out on odd sizes", async () => {
    await use(build);
    const be = backend();
    const rng = mulberry32(28);
    for (const rows of [0, 1, 3, 7, 17]) {
      for (const n of ODD) {
        for (const lds of [n, n + 3]) {
          const src = new Float32Array(rows * lds).fill(NaN); // the gaps must not be read
          for (let r = 0; r < rows; r++) src.set(randoms(rng, n), r * lds);
          const out0 = randoms(rng, n, -4, 4);
          const ps = put(be, src), po = put(be, out0);
          be.k.colsum_add(po, ps, rows, n, lds);
          const out = take(be, po, n, `colsum_add rows=${rows} n=${n} lds=${lds}`);
          take(be, ps, src.length, "src");
          for (let j = 0; j < n; j++) {
            let want = out0[j], scale = Math.abs(out0[j]);
            for (let r = 0; r < rows; r++) { want += src[r * lds + j]; scale += Math.abs(src[r * lds + j]); }
            expect(Math.abs(out[j] - want), `rows=${rows} n=${n} lds=${lds} col ${j}`).toBeLessThanOrEqual(1e-6 * scale);
          }
        }
      }
    }
  });

  it("sum_squares is exact on small integers: [3,4] gives 25, and every element counts on odd n", async () => {
    await use(build);
    const be = backend();
    const rng = mulberry32(29);
    const p = put(be, [3, 4]);
    expect(be.k.sum_squares(p, 2)).toBe(25);
    be.arena.release(p);
    for (const n of [0, ...ODD, 2, 4, 8]) {
      const g = Float32Array.from({ length: n }, () => Math.floor(201 * rng()) - 100);
      const pg = put(be, g);
      let want = 0;
      for (const v of g) want += v * v; // integers below 2^53: exact in any order
      expect(be.k.sum_squares(pg, n), `n=${n}`).toBe(want);
      expect(take(be, pg, n, "g")).toEqual(g);
    }
  });

  it("sum_squares accumulates in float64: values around 1e20 and ±FLT_MAX do not overflow", async () => {
    await use(build);
    const be = backend();
    for (const g of [Float32Array.from([1e20, -1e20, 3e19, 1e20, 2e20, -5e20, 1e20]),
      Float32Array.from([3.4028234663852886e38, -3.4028234663852886e38, 1, 3.4028234663852886e38, 2, 3])]) {
      const pg = put(be, g);
      const got = be.k.sum_squares(pg, g.length);
      take(be, pg, g.length, "g");
      let want = 0;
      for (const v of g) want += v * v;
      expect(Number.isFinite(got), `sum of squares ${got}`).toBe(true);
      expect(Math.abs(got - want)).toBeLessThanOrEqual(1e-12 * want);
    }
  });

  it("sum_squares of 1e6 random floats matches a compensated float64 sum to 1e-12 relative", async () => {
    await use(build);
    const be = backend();
    const rng = mulberry32(30);
    const n = 1_000_001; // odd: the scalar tail runs too
    const g = randoms(rng, n);
    // Neumaier summation so the reference itself is accurate to ~1 ulp; v*v is exact in float64.
    let s = 0, comp = 0;
    for (const v of g) {
      const x = v * v, t = s + x;
      comp += Math.abs(s) >= x ? s - t + x : x - t + s;
      s = t;
    }
    const want = s + comp;
    const pg = put(be, g);
    const got = be.k.sum_squares(pg, n);
    take(be, pg, n, "g");
    expect(Math.abs(got - want) / want, `got ${got} want ${want}`).toBeLessThanOrEqual(1e-12);
  });

  it("scale multiplies every element by k (exact float32 product) on odd n, and nothing past n", async () => {
    await use(build);
    const be = backend();
    const rng = mulberry32(31);
    for (const n of [0, ...ODD]) {
      for (const k of [0.37, -2.5, 0]) {
        const g = randoms(rng, n, -10, 10);
        const pg = put(be, g);
        be.k.scale(pg, n, k);
        const out = take(be, pg, n, `scale n=${n} k=${k}`);
        const kf = Math.fround(k);
        expect(out, `n=${n} k=${k}`).toEqual(g.map((v) => Math.fround(v * kf)));
      }
    }
  });

  it("clip_value clamps to [-v, v] on odd n: NaN stays NaN, ±Infinity clamp to ±v", async () => {
    await use(build);
    const be = backend();
    const rng = mulberry32(32);
    const v = 0.75;
    const specials = [NaN, Infinity, -Infinity, 0, -0, v, -v, 3.4028234663852886e38];
    for (const n of ODD) {
      const g = Float32Array.from({ length: n }, (_, k) => (k % 3 === 0 ? specials[(k / 3 + n) % specials.length] : 4 * rng() - 2));
      const pg = put(be, g);
      be.k.clip_value(pg, n, v);
      const out = take(be, pg, n, `clip_value n=${n}`);
      for (let k = 0; k < n; k++) {
        const x = g[k];
        if (Number.isNaN(x)) expect(out[k], `n=${n} [${k}] NaN`).toBeNaN();
        else expect(out[k], `n=${n} [${k}] = clamp(${x})`).toBe(Math.min(Math.max(x, -v), v));
      }
    }
    // Each special in the vector body and in the tail.
    const all = Float32Array.from([...specials, ...specials, NaN]);
    const pg = put(be, all);
    be.k.clip_value(pg, all.length, v);
    const out = take(be, pg, all.length, "clip_value specials");
    expect(Array.from(out)).toEqual(Array.from(all, (x) => (Number.isNaN(x) ? NaN : Math.min(Math.max(x, -v), v))));
  });
});
