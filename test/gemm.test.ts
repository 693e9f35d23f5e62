// GEMM, transpose, bias and clipping kernels (assembly/gemm.ts, assembly/clip.ts) on every build,
// against float64 references: called directly where they are exports, else through the kernel that
// runs them (bias_rows in lstm_forward, colsum_add in linear_backward and lstm_backward).
// Layouts (assembly/gemm.ts): B in 8-column panels, element (k, j) at (j>>3)*K*8 + k*8 + (j&7), the
// last panel zero-padded; A element (i, k) at i*ars + k*acs; C element (i, j) at
// (j>>3)*cps + i*ldc + (j&7), row-major (cps = 8) or packed like B (cps = M*8, ldc = 8).
import { describe, it, expect } from "vitest";
import { backend, gemmScratch, type Backend } from "../src/wasm/backend";
import { BUILDS, use } from "./helpers/backends";
import { mulberry32 } from "./helpers/ref";
import { forwardGates } from "./helpers/gates";
import { LSTM } from "../src/index";

const SENTINEL = Math.fround(-12345.678);
const G = 4; // guard floats after every output block
const NR = 8; // panel width
const MS = [1, 2, 3, 4, 5, 7, 8, 9, 12, 17, 33]; // 4-row tiles, 1-row tiles, both
const NS = [1, 2, 3, 4, 5, 6, 7, 8, 9, 12, 16, 17, 33]; // a partial last panel of every width 1..7, and none
const KS = [0, 1, 2, 3, 8, 9, 33]; // K odd and even: the 1-row tile is unrolled 2x over k
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

/** Bit-for-bit equality (NaN payloads included), fast on large arrays where toEqual is not. */
function expectSameBits(got: Float32Array, want: Float32Array, label: string): void {
  const g = new Uint8Array(got.buffer, got.byteOffset, got.byteLength), w = new Uint8Array(want.buffer, want.byteOffset, want.byteLength);
  if (g.length !== w.length) expect.fail(`${label}: ${got.length} floats, want ${want.length}`);
  if (Buffer.compare(g, w) !== 0) {
    const x = got.findIndex((v, i) => !Object.is(v, want[i]));
    expect.fail(`${label}: float ${x} changed from ${want[x]} to ${got[x]}`);
  }
}

const randoms = (rng: () => number, n: number, lo = -1, hi = 1) =>
  Float32Array.from({ length: n }, () => lo + (hi - lo) * rng());

/** Floats a rows × cols matrix takes in panel layout. */
const panelSize = (rows: number, cols: number) => Math.ceil(cols / NR) * NR * rows;

/** Float index of element (r, q) of a `rows`-row matrix in panel layout. */
const panelIndex = (rows: number, r: number, q: number) => (q >> 3) * rows * NR + r * NR + (q & 7);

/** A rows × cols row-major matrix (row stride ld) in panel layout, the last panel's padding = pad. */
function toPanels(src: Float32Array, rows: number, cols: number, ld = cols, pad = 0): Float32Array {
  const out = new Float32Array(panelSize(rows, cols)).fill(pad);
  for (let r = 0; r < rows; r++) for (let q = 0; q < cols; q++) out[panelIndex(rows, r, q)] = src[r * ld + q];
  return out;
}

interface GemmCase {
  M: number; N: number; K: number;
  rm?: boolean; // gemm_rm (row-major B, row stride N + padB) instead of gemm (B in panels)
  tn?: boolean; // A stored [K, lda] (TN) instead of [M, lda] (NN)
  packedC?: boolean; // C in panel layout (cps = M*8, ldc = 8) instead of row-major (cps = 8, ldc = N + padC)
  padA?: number; padB?: number; padC?: number; // extra floats per row beyond the used width
  accumulate?: boolean;
  prior?: "random" | "nan"; // what C's used elements hold before the call
}

const caseLabel = (g: GemmCase) =>
  `${g.rm ? "gemm_rm" : "gemm"} ${g.tn ? "TN" : "NN"} ${g.packedC ? "packed" : "row-major"} C ` +
  `M=${g.M} N=${g.N} K=${g.K} pads=${g.padA ?? 0},${g.padB ?? 0},${g.padC ?? 0} acc=${g.accumulate ?? false}`;

/**
 * Run one gemm / gemm_rm and check it against float64: |c - ref| <= tol * (|c0| + Σ|a||b|) per
 * element. Unused A and row-major B columns hold NaN (so reading them would show); every float of
 * C's block that is not an element (i < M, j < N) — row padding of a row-major C, the padding
 * columns of a packed C's last panel — holds a sentinel that must survive bit for bit.
 */
function checkGemm(be: Backend, rng: () => number, g: GemmCase): void {
  const { M, N, K, rm = false, tn = false, packedC = false, padA = 0, padB = 0, padC = 0, accumulate = false, prior = "random" } = g;
  const label = caseLabel(g);
  const lda = (tn ? M : K) + padA, ldb = N + padB;
  const aRows = tn ? K : M, aCols = tn ? M : K;
  const A = new Float32Array(aRows * lda).fill(NaN), Brm = new Float32Array(K * ldb).fill(NaN);
  for (let r = 0; r < aRows; r++) A.set(randoms(rng, aCols), r * lda);
  for (let k = 0; k < K; k++) Brm.set(randoms(rng, N), k * ldb);
  const B = rm ? Brm : toPanels(Brm, K, N, ldb);
  const [ldc, cps, cLen] = packedC ? [NR, M * NR, panelSize(M, N)] : [N + padC, NR, M * (N + padC)];
  const ci = (i: number, j: number) => (j >> 3) * cps + i * ldc + (j & 7);
  const C = new Float32Array(cLen).fill(SENTINEL);
  const used = new Uint8Array(cLen);
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      used[ci(i, j)] = 1;
      C[ci(i, j)] = prior === "nan" ? NaN : Math.fround(-2 + 4 * rng());
    }
  }
  const [ars, acs] = tn ? [1, lda] : [lda, 1];
  const pa = put(be, A), pb = put(be, B), pc = put(be, C);
  if (rm) {
    // Scratch of exactly the documented size, NaN to start: stale contents must not matter, and the
    // guard after it shows a write past its end.
    const pk = put(be, new Float32Array(be.k.gemm_scratch_size(K, N)).fill(NaN));
    be.k.gemm_rm(pc, pk, pa, pb, M, N, K, ars, acs, ldb, ldc, cps, accumulate ? 1 : 0);
    take(be, pk, be.k.gemm_scratch_size(K, N), `${label} scratch`);
  } else {
    be.k.gemm(pc, pa, pb, M, N, K, ars, acs, ldc, cps, accumulate ? 1 : 0);
  }
  const got = take(be, pc, cLen, label);
  expectSameBits(take(be, pa, A.length, `${label} A`), A, `${label}: A`);
  expectSameBits(take(be, pb, B.length, `${label} B`), B, `${label}: B`);
  // Worst-case float32 rounding of a K-term sum, or 1e-5, whichever is larger.
  const tol = Math.max(1e-5, (K + 2) * 2 ** -24);
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      let want = accumulate ? C[ci(i, j)] : 0, scale = Math.abs(want);
      for (let k = 0; k < K; k++) {
        const p = A[i * ars + k * acs] * Brm[k * ldb + j];
        want += p;
        scale += Math.abs(p);
      }
      const c = got[ci(i, j)];
      if (!(Math.abs(c - want) <= tol * scale)) expect.fail(`${label}: C[${i},${j}] = ${c}, want ${want}`);
    }
  }
  for (let x = 0; x < cLen; x++) {
    if (!used[x] && got[x] !== SENTINEL) {
      const [i, j] = packedC ? [(x % cps) >> 3, (Math.floor(x / cps) << 3) + (x & 7)] : [Math.floor(x / ldc), x % ldc];
      expect.fail(`${label}: padding C[${i},${j}] (float ${x}) overwritten with ${got[x]}`);
    }
  }
}

/** The four A/C layouts for each of the two kernels. */
const VARIANTS: { name: string; rm: boolean; tn: boolean; packedC: boolean }[] = [];
for (const rm of [false, true]) {
  for (const tn of [false, true]) {
    for (const packedC of [false, true]) {
      VARIANTS.push({ name: `${rm ? "gemm_rm" : "gemm"} ${tn ? "TN" : "NN"}, ${packedC ? "packed" : "row-major"} C`, rm, tn, packedC });
    }
  }
}

describe.each(BUILDS)("gemm and helper kernels on the %s build", (build) => {
  it("the JS panel packing puts (k, j) at (j>>3)*K*8 + k*8 + (j&7) and zeroes the last panel's padding", () => {
    // K = 2, N = 10: panel 0 holds columns 0..7, panel 1 columns 8, 9 and six zeros.
    const src = Float32Array.from({ length: 20 }, (_, x) => x + 1);
    expect(Array.from(toPanels(src, 2, 10))).toEqual([
      1, 2, 3, 4, 5, 6, 7, 8, 11, 12, 13, 14, 15, 16, 17, 18,
      9, 10, 0, 0, 0, 0, 0, 0, 19, 20, 0, 0, 0, 0, 0, 0,
    ]);
  });

  it.each(VARIANTS)("$name matches float64 for every M in {1..33}, N in {1..33}, K in {0..33}", async ({ rm, tn, packedC }) => {
    await use(build);
    const be = backend();
    const rng = mulberry32(21 + 2 * Number(rm) + Number(tn) + 4 * Number(packedC));
    for (const M of MS) for (const N of NS) for (const K of KS) checkGemm(be, rng, { M, N, K, rm, tn, packedC });
  });

  it("accumulate=1 adds A·B to the prior contents of C, gemm and gemm_rm, NN and TN, row-major and packed C", async () => {
    await use(build);
    const be = backend();
    const rng = mulberry32(23);
    for (const v of VARIANTS) {
      for (const [M, N] of [[1, 1], [3, 5], [4, 4], [4, 8], [5, 12], [7, 6], [9, 17], [12, 33], [33, 9], [8, 16]]) {
        for (const K of [0, 1, 7]) checkGemm(be, rng, { M, N, K, ...v, accumulate: true });
      }
    }
  });

  it("accumulate=0 ignores prior contents of C, even NaN (K=0 gives zeros)", async () => {
    await use(build);
    const be = backend();
    const rng = mulberry32(24);
    for (const v of VARIANTS) {
      for (const [M, N] of [[1, 3], [2, 4], [4, 8], [5, 5], [8, 12], [3, 7], [17, 33], [33, 17]]) {
        for (const K of [0, 1, 9]) checkGemm(be, rng, { M, N, K, ...v, prior: "nan" });
      }
    }
    // K=0 overwrites with exact zeros, through either kernel.
    for (const rm of [false, true]) {
      const pc = put(be, new Float32Array(5 * 9).fill(NaN));
      if (rm) be.k.gemm_rm(pc, 0, pc, pc, 5, 9, 0, 0, 1, 9, 9, 8, 0); // K = 0: no scratch needed
      else be.k.gemm(pc, pc, pc, 5, 9, 0, 0, 1, 9, 8, 0);
      expect(take(be, pc, 5 * 9, `K=0 ${rm ? "gemm_rm" : "gemm"}`)).toEqual(new Float32Array(5 * 9));
    }
  });

  it("padded A, ldb > N (gemm_rm) and ldc > N: no padding is read (NaN there) and C's padding is untouched", async () => {
    await use(build);
    const be = backend();
    const rng = mulberry32(25);
    for (const v of VARIANTS) {
      for (const accumulate of [false, true]) {
        for (const [M, N, K] of [[1, 1, 1], [3, 4, 5], [4, 8, 3], [5, 12, 9], [7, 9, 8], [12, 17, 2], [2, 6, 4], [33, 33, 17]]) {
          checkGemm(be, rng, { M, N, K, ...v, accumulate, padA: 3, padB: 5, padC: 3 });
          checkGemm(be, rng, { M, N, K, ...v, accumulate, padA: 1, padB: 1, padC: 7, prior: accumulate ? "random" : "nan" });
        }
      }
    }
  });

  it("K past one 256-deep block, N past gemm_rm's 256-column blocks, M past the 128-row blocks", async () => {
    await use(build);
    const be = backend();
    const rng = mulberry32(33);
    for (const v of VARIANTS) {
      const big = v.rm
        ? [[5, 260, 300], [3, 520, 257], [9, 33, 513], [6, 264, 256]] // N blocks 256+4, 256+256+8, 256+8
        : [[5, 17, 300], [9, 12, 513], [4, 7, 257]];
      for (const [M, N, K] of [...big, [130, 9, 3]]) {
        checkGemm(be, rng, { M, N, K, ...v, padA: 1, padB: 3, padC: 2, accumulate: false, prior: "nan" });
        checkGemm(be, rng, { M, N, K, ...v, padA: 2, padB: 1, padC: 1, accumulate: true });
      }
    }
  });

  it("column ranges split at multiples of 8 give C bit-identical to the whole call (how threads split a GEMM)", async () => {
    await use(build);
    const be = backend();
    const rng = mulberry32(34);
    // M covers tall and 4-row tiles and single leftover rows; N = 45 ends in a partial panel; K crosses a 256 block.
    const N = 45, cuts = [[0, 8, 24, 45], [0, 16, 40, 45], [0, 8, 16, 24, 32, 40, 45]];
    for (const v of VARIANTS) {
      for (const M of [1, 3, 6, 9, 13, 32, 37]) {
        for (const K of [7, 300]) {
          for (const accumulate of [false, true]) {
            const lda = (v.tn ? M : K) + 1, ldb = N + 3;
            const A = randoms(rng, (v.tn ? K : M) * lda), Brm = randoms(rng, K * ldb);
            const [ars, acs] = v.tn ? [1, lda] : [lda, 1];
            const [ldc, cps, cLen] = v.packedC ? [NR, M * NR, panelSize(M, N)] : [N + 2, NR, M * (N + 2)];
            const C0 = randoms(rng, cLen);
            const B = v.rm ? Brm : toPanels(Brm, K, N, ldb);
            const pa = put(be, A), pb = put(be, B), pk = put(be, new Float32Array(be.k.gemm_scratch_size(K, N)));
            const run = (c: number, j0: number, j1: number) => {
              const cj = c + 4 * (j0 / NR) * cps;
              if (v.rm) be.k.gemm_rm(cj, pk, pa, pb + 4 * j0, M, j1 - j0, K, ars, acs, ldb, ldc, cps, accumulate ? 1 : 0);
              else be.k.gemm(cj, pa, pb + 4 * j0 * K, M, j1 - j0, K, ars, acs, ldc, cps, accumulate ? 1 : 0);
            };
            const whole = put(be, C0);
            run(whole, 0, N);
            const want = take(be, whole, cLen, "whole");
            for (const cut of cuts) {
              const pc = put(be, C0);
              for (let i = 0; i + 1 < cut.length; i++) run(pc, cut[i], cut[i + 1]);
              expectSameBits(take(be, pc, cLen, "split"), want, `${v.name} M=${M} K=${K} acc=${accumulate} split at ${cut.join(",")}`);
            }
            for (const q of [pa, pb, pk]) be.arena.release(q);
          }
        }
      }
    }
  });

  it("gemm and gemm_rm with M=0 or N=0 write nothing", async () => {
    await use(build);
    const be = backend();
    const pc = put(be, new Float32Array(8).fill(SENTINEL)), pa = put(be, [1, 2, 3, 4]), pb = put(be, new Float32Array(16).fill(1));
    be.k.gemm(pc, pa, pb, 0, 4, 1, 1, 1, 4, 8, 0);
    be.k.gemm(pc, pa, pb, 2, 0, 2, 2, 1, 4, 8, 0);
    be.k.gemm(pc, pa, pb, 0, 4, 1, 1, 1, 8, 0, 0); // packed C with M = 0: cps = 0
    const pk = put(be, new Float32Array(be.k.gemm_scratch_size(2, 4)));
    be.k.gemm_rm(pc, pk, pa, pb, 0, 4, 1, 1, 1, 4, 4, 8, 0);
    be.k.gemm_rm(pc, pk, pa, pb, 2, 0, 2, 2, 1, 4, 4, 8, 0);
    be.arena.release(pk);
    expect(take(be, pc, 8, "C")).toEqual(new Float32Array(8).fill(SENTINEL));
    be.arena.release(pa);
    be.arena.release(pb);
  });

  it("gemm_scratch_size is one packed block of B at most (256 rows × 256 columns), 0 for an empty B; gemmScratch clamps sizes past i32", async () => {
    await use(build);
    const k = backend().k;
    for (const [K, N, want] of [[0, 5, 0], [5, 0, 0], [-1, 5, 0], [1, 1, 8], [3, 9, 48], [256, 256, 65536], [257, 300, 65536], [3200, 1024, 65536], [1000, 12, 4096]]) {
      expect(`K=${K} N=${N}: ${k.gemm_scratch_size(K, N)}`).toBe(`K=${K} N=${N}: ${want}`);
    }
    // T·B past 2^31 (a call refused by its byte count) must not wrap to a small or zero scratch.
    expect(gemmScratch(k, 2 ** 32, 1024)).toBe(65536);
    expect(gemmScratch(k, 2 ** 40 + 5, 2 ** 33)).toBe(65536);
  });

  it("transpose_packed gives (q, r) of dst = (r, q) of src exactly on odd shapes, dst padding zeroed", async () => {
    await use(build);
    const be = backend();
    const rng = mulberry32(26);
    for (const [K, N] of [[1, 1], [1, 33], [33, 1], [3, 5], [7, 9], [13, 3], [17, 33], [8, 8], [9, 16], [16, 9]]) {
      const label = `transpose_packed K=${K} N=${N}`;
      const rowMajor = randoms(rng, K * N);
      const src = toPanels(rowMajor, K, N);
      const ps = put(be, src), pd = put(be, new Float32Array(panelSize(N, K)).fill(NaN));
      be.k.transpose_packed(pd, ps, K, N);
      const dst = take(be, pd, panelSize(N, K), label);
      expectSameBits(take(be, ps, src.length, `${label} src`), src, `${label}: src`);
      // The JS transpose, packed: N rows, K columns.
      const t = new Float32Array(N * K);
      for (let r = 0; r < K; r++) for (let q = 0; q < N; q++) t[q * K + r] = rowMajor[r * N + q];
      const want = toPanels(t, N, K);
      for (let x = 0; x < want.length; x++) {
        if (!Object.is(dst[x], want[x])) expect.fail(`${label}: dst float ${x} = ${dst[x]}, want ${want[x]}`);
      }
    }
  });

  it("lstm_forward starts every row of a sequence's pre-activations at b_ih + b_hh, rounded once (bias_rows)", async () => {
    await use(build);
    const be = backend();
    const rng = mulberry32(27);
    // T = 2 takes the bias pass (T = 1 with B < 4 fuses it into the step). The same gates from the
    // biases (fround(b_ih + b_hh), -0) show that every row started at exactly that sum.
    for (const [B, H] of [[1, 1], [3, 5], [4, 7], [2, 13]]) {
      const G = 4 * H, b1 = randoms(rng, G, 0.1, 2), b2 = randoms(rng, G, -2, -0.1);
      const sum = b1.map((v, j) => Math.fround(v + b2[j]));
      expectSameBits(forwardGates(be, 2, B, H, b1, b2), forwardGates(be, 2, B, H, sum, new Float32Array(G).fill(-0)), `B=${B} H=${H}`);
    }
  });

  it("linear_backward adds the column sums of dy to db exactly, rows in order, on odd sizes (colsum_add)", async () => {
    await use(build);
    const be = backend();
    const rng = mulberry32(28);
    for (const rows of [0, 1, 3, 7, 17]) {
      for (const O of ODD) {
        const dy = randoms(rng, rows * O), db0 = randoms(rng, O, -4, 4);
        const pdy = put(be, dy), pdb = put(be, db0), px = put(be, randoms(rng, rows));
        const pdw = put(be, new Float32Array(panelSize(1, O))), pk = put(be, new Float32Array(be.k.gemm_scratch_size(rows, O)));
        be.k.linear_backward(0, pdw, pdb, 0, pk, pdy, 0, px, 1, pdw, rows, 1, O, 0); // dx = 0: no dx, w_t unread
        const db = take(be, pdb, O, `db rows=${rows} O=${O}`);
        for (const q of [pdy, px, pdw, pk]) be.arena.release(q);
        for (let j = 0; j < O; j++) {
          // The plain sequential float32 sum, row by row: the kernel's order on every build.
          let want = db0[j];
          for (let r = 0; r < rows; r++) want = Math.fround(want + dy[r * O + j]);
          expect(db[j], `rows=${rows} O=${O} col ${j}`).toBe(want);
        }
      }
    }
  });

  it("lstm_backward gives bias_ih and bias_hh the same gradient, bit for bit (colsum_add's two outputs)", async () => {
    await use(build);
    const rng = mulberry32(29);
    for (const [I, H, T, B, bidirectional] of [[3, 5, 7, 3, false], [4, 9, 5, 4, true]] as const) {
      const m = new LSTM({ inputSize: I, hiddenSize: H, bidirectional, seed: 5 });
      m.forward(randoms(rng, T * B * I), { seqLen: T, batch: B, train: true });
      m.backward({ dy: randoms(rng, T * B * (bidirectional ? 2 : 1) * H) });
      const g = m.grads();
      for (const sfx of bidirectional ? ["_l0", "_l0_reverse"] : ["_l0"]) {
        expect(g[`bias_ih${sfx}`].data.some((v) => v !== 0)).toBe(true);
        expectSameBits(g[`bias_hh${sfx}`].data, g[`bias_ih${sfx}`].data, `bias gradients${sfx}`);
      }
      m.dispose();
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
