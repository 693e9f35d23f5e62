// Property tests with fast-check: the LSTM on random configurations against the float64 reference
// (test/helpers/ref.ts), the three builds against each other, step() against forward(), and the
// reference itself against central finite differences on shapes nobody picked by hand.
//
// CI runs a fixed seed and 200 cases per property. For a long local run, choose the seed and count:
//   LSTM_FUZZ_SEED=$RANDOM LSTM_FUZZ_RUNS=2000 npx vitest run test/property.test.ts
// A failure prints fast-check's shrunk counterexample, seed and path; rerun with the same
// LSTM_FUZZ_SEED (and LSTM_FUZZ_RUNS) to reproduce it.
import { describe, it, expect, beforeAll } from "vitest";
import fc from "fast-check";
import { LSTM, type Tensor } from "../src/index";
import { BUILDS, use } from "./helpers/backends";
import { mulberry32, randomParams, refBackward, refForward, refLoss, refParamShapes, type F64, type RefConfig } from "./helpers/ref";
import { expectClose, TOL } from "./helpers/close";

const SEED = Number(process.env.LSTM_FUZZ_SEED ?? 42);
const RUNS = Number(process.env.LSTM_FUZZ_RUNS ?? 200);
const FC = { seed: SEED, numRuns: RUNS };
// Generous per-test timeout that scales with long runs (the defaults take a few seconds in all).
const TIMEOUT = Math.max(60_000, RUNS * 2_000);

/** Multiply-adds of one forward pass over every layer and direction: the reference's cost scales with it. */
const BUDGET = 3e6;

interface Case {
  L: number; bidirectional: boolean; reverse: boolean; I: number; H: number; P: number;
  peephole: boolean; batchFirst: boolean; T: number; B: number; lengths?: number[]; state: boolean; seed: number;
}

const show = (c: Case) =>
  `L=${c.L}${c.bidirectional ? " bi" : ""}${c.reverse ? " reverse" : ""} I=${c.I} H=${c.H}${c.P ? ` P=${c.P}` : ""}` +
  `${c.peephole ? " peephole" : ""}${c.batchFirst ? " batchFirst" : ""} T=${c.T} B=${c.B}` +
  `${c.lengths ? ` lengths=[${c.lengths}]` : ""}${c.state ? " h0/c0" : ""} seed=${c.seed}`;

/** Mostly small sizes (1–9), sometimes anything up to max. */
const size = (max: number) =>
  fc.oneof({ arbitrary: fc.integer({ min: 1, max: Math.min(9, max) }), weight: 2 }, { arbitrary: fc.integer({ min: 1, max }), weight: 1 });

interface Limits { L: number; I: number; H: number; T: number; B: number; budget: number; streaming?: boolean }
const FULL: Limits = { L: 3, I: 70, H: 70, T: 40, B: 9, budget: BUDGET };

function caseArb(lim: Limits): fc.Arbitrary<Case> {
  return fc.record({
    L: fc.integer({ min: 1, max: lim.L }),
    bidirectional: lim.streaming ? fc.constant(false) : fc.boolean(),
    reverse: lim.streaming ? fc.constant(false) : fc.boolean(),
    I: size(lim.I), H: size(lim.H), T: size(lim.T), B: fc.integer({ min: 1, max: lim.B }),
    proj: fc.option(fc.integer({ min: 0, max: 1000 }), { freq: 2 }),
    peephole: fc.boolean(), batchFirst: fc.boolean(), state: fc.boolean(),
    lens: lim.streaming ? fc.constant(null) : fc.option(fc.array(fc.integer({ min: 0, max: 1000 }), { minLength: lim.B, maxLength: lim.B }), { freq: 2 }),
    seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
  }).map((r): Case => {
    const reverse = r.reverse && !r.bidirectional;
    const H = r.H, P = r.proj !== null && H > 1 ? 1 + Math.floor((r.proj * (H - 1)) / 1001) : 0;
    const D = r.bidirectional ? 2 : 1, Ho = P || H;
    // Keep each case to a few milliseconds: shorten T, then B, to the budget.
    const perStep = (B: number) => r.L * D * B * 4 * H * (Math.max(r.I, D * Ho) + Ho) + 1;
    let T = r.T, B = r.B;
    if (T * perStep(B) > lim.budget) T = Math.max(1, Math.floor(lim.budget / perStep(B)));
    if (T * perStep(B) > lim.budget) B = Math.max(1, Math.floor(B * lim.budget / (T * perStep(B))));
    const lengths = r.lens ? r.lens.slice(0, B).map((v) => 1 + Math.floor((v * T) / 1001)) : undefined;
    return { L: r.L, bidirectional: r.bidirectional, reverse, I: r.I, H, P, peephole: r.peephole, batchFirst: r.batchFirst, T, B, lengths, state: r.state, seed: r.seed };
  });
}

const f32 = (a: ArrayLike<number>) => Float32Array.from(a);
const f64 = (a: ArrayLike<number>) => Float64Array.from(a);
/** U(−s, s), rounded to float32 so the float64 reference sees exactly what the library sees. */
const uniform = (rng: () => number, n: number, s: number) => f64(f32(Float64Array.from({ length: n }, () => (2 * rng() - 1) * s)));

/** [n0,n1,w] → [n1,n0,w] */
function swap01(a: Float32Array, n0: number, n1: number, w: number): Float32Array {
  const out = new Float32Array(a.length);
  for (let i = 0; i < n0; i++) for (let j = 0; j < n1; j++) out.set(a.subarray((i * n1 + j) * w, (i * n1 + j + 1) * w), (j * n0 + i) * w);
  return out;
}

function refConfig(c: Case): RefConfig {
  return { inputSize: c.I, hiddenSize: c.H, numLayers: c.L, bidirectional: c.bidirectional, reverse: c.reverse, projSize: c.P, peephole: c.peephole, lengths: c.lengths };
}

/**
 * Weights U(−s, s) with s = 0.5, shrunk to 2/√fan-in for wide matrices (so pre-activations stay
 * O(1) and float32 stays well-conditioned at H = 70 with a projection); inputs, states and upstream
 * gradients U(−1, 1). All exact in float32.
 */
function data(c: Case) {
  const rng = mulberry32(c.seed);
  const cfg = refConfig(c);
  const D = c.bidirectional ? 2 : 1, Ho = c.P || c.H, S = c.L * D;
  const shapes = new Map(refParamShapes(cfg));
  const params = Object.fromEntries(Object.entries(randomParams(cfg, rng, 1)).map(([k, v]) => {
    const shape = shapes.get(k)!, s = shape.length === 2 ? Math.min(0.5, 2 / Math.sqrt(shape[1])) : 0.5;
    return [k, f64(f32(v.map((w) => w * s)))];
  }));
  const x = uniform(rng, c.T * c.B * c.I, 1);
  const h0 = c.state ? uniform(rng, S * c.B * Ho, 1) : new Float64Array(S * c.B * Ho);
  const c0 = c.state ? uniform(rng, S * c.B * c.H, 1) : new Float64Array(S * c.B * c.H);
  const dy = uniform(rng, c.T * c.B * D * Ho, 1), dhn = uniform(rng, S * c.B * Ho, 1), dcn = uniform(rng, S * c.B * c.H, 1);
  return { cfg, params, x, h0, c0, dy, dhn, dcn, D, Ho, S };
}

type Data = ReturnType<typeof data>;

function model(c: Case, d: Data): LSTM {
  const lstm = new LSTM({ inputSize: c.I, hiddenSize: c.H, numLayers: c.L, bidirectional: c.bidirectional, reverse: c.reverse, projSize: c.P, peephole: c.peephole, batchFirst: c.batchFirst, seed: 1 });
  lstm.loadStateDict(Object.fromEntries(Object.entries(d.params).map(([k, v]) => [k, f32(v)])));
  return lstm;
}

interface Run { y: Float32Array; hn: Float32Array; cn: Float32Array; dx: Float32Array; dh0: Float32Array; dc0: Float32Array; grads: Record<string, Tensor> }

/** Forward with train, backward, gradients; y and dx returned time-major whatever the layout. */
function run(c: Case, d: Data): Run {
  const lstm = model(c, d);
  try {
    const { T, B, I, batchFirst: bf } = c, W = d.D * d.Ho;
    const x: Tensor = bf ? { data: swap01(f32(d.x), T, B, I), shape: [B, T, I] } : { data: f32(d.x), shape: [T, B, I] };
    const opts = c.state ? { h0: f32(d.h0), c0: f32(d.c0) } : {};
    const out = lstm.forward(x, { ...opts, lengths: c.lengths, train: true });
    expect(out.y.shape).toEqual(bf ? [B, T, W] : [T, B, W]);
    expect(out.hn.shape).toEqual([d.S, B, d.Ho]);
    expect(out.cn.shape).toEqual([d.S, B, c.H]);
    const dy = bf ? swap01(f32(d.dy), T, B, W) : f32(d.dy);
    const back = lstm.backward({ dy, dhn: f32(d.dhn), dcn: f32(d.dcn) });
    expect(back.dx.shape).toEqual(x.shape);
    return {
      y: bf ? swap01(out.y.data, B, T, W) : out.y.data, hn: out.hn.data, cn: out.cn.data,
      dx: bf ? swap01(back.dx.data, B, T, I) : back.dx.data, dh0: back.dh0.data, dc0: back.dc0.data, grads: lstm.grads(),
    };
  } finally {
    lstm.dispose();
  }
}

beforeAll(async () => {
  for (const b of BUILDS) await use(b); // compile every build once, outside the timed properties
});

describe("property: the LSTM matches the float64 reference on random configurations", () => {
  it(`forward (y, hn, cn) and backward (dx, dh0, dc0, every parameter gradient) on every build (${RUNS} cases, seed ${SEED})`, async () => {
    await fc.assert(
      fc.asyncProperty(caseArb(FULL), async (c) => {
        const d = data(c);
        const ref = refForward(d.cfg, d.params, d.x, d.h0, d.c0, c.T, c.B);
        const refB = refBackward(d.cfg, d.params, ref, d.dy, d.dhn, d.dcn);
        const names = refParamShapes(d.cfg).map(([n]) => n);
        for (const build of BUILDS) {
          await use(build);
          const r = run(c, d), at = `${build}, ${show(c)}`;
          expectClose(`y (${at})`, r.y, ref.y, TOL.out);
          expectClose(`hn (${at})`, r.hn, ref.hn, TOL.out);
          expectClose(`cn (${at})`, r.cn, ref.cn, TOL.out);
          expectClose(`dx (${at})`, r.dx, refB.dx, TOL.grad);
          expectClose(`dh0 (${at})`, r.dh0, refB.dh0, TOL.grad);
          expectClose(`dc0 (${at})`, r.dc0, refB.dc0, TOL.grad);
          expect(Object.keys(r.grads), at).toEqual(names);
          for (const n of names) expectClose(`d${n} (${at})`, r.grads[n].data, refB.grads[n], TOL.grad);
        }
      }),
      FC,
    );
  }, TIMEOUT);
});

describe("property: the builds agree with each other", () => {
  // |a − b| <= ABS + REL · (|b| + max|b| over the tensor): relative per element, with the tensor's
  // scale (and a tiny absolute floor, for one-element tensors) so that sums which cancel to near 0 are
  // judged against the size of their terms. Far tighter than the tolerance against float64.
  const REL = 1e-5, ABS = 1e-6;
  function agree(label: string, a: Float32Array, b: Float32Array): void {
    let scale = 0;
    for (let k = 0; k < b.length; k++) scale = Math.max(scale, Math.abs(b[k]));
    expect(a.length, label).toBe(b.length);
    for (let k = 0; k < a.length; k++) {
      if (!(Math.abs(a[k] - b[k]) <= ABS + REL * (Math.abs(b[k]) + scale))) {
        throw new Error(`${label}: element ${k}: ${a[k]} vs ${b[k]} (tensor scale ${scale})`);
      }
    }
  }

  it.skipIf(BUILDS.length < 2)(`scalar, simd and relaxed-simd agree within ${REL} relative (${RUNS} cases, seed ${SEED})`, async () => {
    await fc.assert(
      fc.asyncProperty(caseArb(FULL), async (c) => {
        const d = data(c);
        const runs: Run[] = [];
        for (const build of BUILDS) { await use(build); runs.push(run(c, d)); }
        for (let k = 1; k < runs.length; k++) {
          const a = runs[k], b = runs[k - 1], at = `${BUILDS[k]} vs ${BUILDS[k - 1]}, ${show(c)}`;
          for (const key of ["y", "hn", "cn", "dx", "dh0", "dc0"] as const) agree(`${key} (${at})`, a[key], b[key]);
          for (const n of Object.keys(b.grads)) agree(`d${n} (${at})`, a.grads[n].data, b.grads[n].data);
        }
      }),
      FC,
    );
  }, TIMEOUT);
});

describe("property: step() equals forward()", () => {
  const STEP_TOL = { atol: 1e-5, rtol: 1e-5 };
  it(`for forward-running unidirectional models without lengths, on every build (${RUNS} cases, seed ${SEED})`, async () => {
    await fc.assert(
      fc.asyncProperty(caseArb({ ...FULL, streaming: true }), async (c) => {
        const d = data(c);
        for (const build of BUILDS) {
          await use(build);
          const lstm = model(c, d);
          try {
            const { T, B, I } = c, Ho = d.Ho, at = `${build}, ${show(c)}`;
            const x = f32(d.x); // time-major
            const opts = c.state ? { h0: f32(d.h0), c0: f32(d.c0) } : {};
            const full = lstm.forward(c.batchFirst ? swap01(x, T, B, I) : x, { ...opts, seqLen: T, batch: B });
            const y = c.batchFirst ? swap01(full.y.data, B, T, Ho) : full.y.data;
            const state = lstm.initialState(B);
            state.h.data.set(f32(d.h0));
            state.c.data.set(f32(d.c0));
            const out: Tensor = { data: new Float32Array(B * Ho), shape: [B, Ho] };
            for (let t = 0; t < T; t++) {
              // Alternate the input forms and the out tensor: the results must not depend on them.
              const xt = t % 2 ? x.slice(t * B * I, (t + 1) * B * I) : { data: x.slice(t * B * I, (t + 1) * B * I), shape: [B, I] };
              const h = t % 3 === 2 ? lstm.step(xt, state, out) : lstm.step(xt, state);
              expect(h.shape).toEqual([B, Ho]);
              // Same arithmetic, but on the SIMD builds the forward's time-batched GEMM and the step's GEMV
              // may sum (and fuse) in another order: equal within float32 round-off (measured up to ~1e-6).
              expectClose(`step ${t} (${at})`, h.data, y.subarray(t * B * Ho, (t + 1) * B * Ho), STEP_TOL);
            }
            expectClose(`state.h = hn (${at})`, state.h.data, full.hn.data, STEP_TOL);
            expectClose(`state.c = cn (${at})`, state.c.data, full.cn.data, STEP_TOL);
          } finally {
            lstm.dispose();
          }
        }
      }),
      FC,
    );
  }, TIMEOUT);
});

describe("property: the reference's backward equals central finite differences of its forward", () => {
  const SMALL: Limits = { L: 2, I: 5, H: 5, T: 5, B: 3, budget: Infinity };
  it(`on small random configurations, in float64 (${RUNS} cases, seed ${SEED})`, () => {
    fc.assert(
      fc.property(caseArb(SMALL), (c) => {
        const rng = mulberry32(c.seed ^ 0x5eed);
        const cfg = refConfig(c);
        const D = c.bidirectional ? 2 : 1, Ho = c.P || c.H, S = c.L * D, T = c.T, B = c.B;
        // Full float64, larger weights than above so the gates leave their linear range.
        const u = (n: number, s: number) => Float64Array.from({ length: n }, () => (2 * rng() - 1) * s);
        const params = randomParams(cfg, rng, 1);
        const inputs: Record<string, F64> = {
          x: u(T * B * c.I, 1.5), h0: c.state ? u(S * B * Ho, 1) : new Float64Array(S * B * Ho), c0: c.state ? u(S * B * c.H, 1) : new Float64Array(S * B * c.H),
        };
        const R = u(T * B * D * Ho, 1), Rh = u(S * B * Ho, 1), Rc = u(S * B * c.H, 1);
        const loss = () => refLoss(refForward(cfg, params, inputs.x, inputs.h0, inputs.c0, T, B), R, Rh, Rc);
        const fwd = refForward(cfg, params, inputs.x, inputs.h0, inputs.c0, T, B);
        const back = refBackward(cfg, params, fwd, R, Rh, Rc);
        const analytic: Record<string, F64> = { ...back.grads, x: back.dx, h0: back.dh0, c0: back.dc0 };
        const tensors: Record<string, F64> = { ...params, x: inputs.x };
        if (c.state) Object.assign(tensors, { h0: inputs.h0, c0: inputs.c0 });
        const eps = 1e-6;
        for (const [name, t] of Object.entries(tensors)) {
          // Every element of small tensors, a random handful of larger ones.
          const picks = t.length <= 12 ? [...t.keys()] : Array.from({ length: 6 }, () => Math.floor(rng() * t.length));
          for (const k of picks) {
            const v = t[k];
            t[k] = v + eps; const up = loss();
            t[k] = v - eps; const down = loss();
            t[k] = v;
            const fd = (up - down) / (2 * eps), an = analytic[name][k];
            if (!(Math.abs(fd - an) <= 1e-7 + 1e-6 * Math.abs(an))) {
              throw new Error(`d${name}[${k}]: backward ${an} vs central difference ${fd} (${show(c)})`);
            }
          }
        }
        // Padded steps: the reference must report zero input gradient there (nothing depends on them).
        if (c.lengths) {
          for (let t = 0; t < T; t++) for (let b = 0; b < B; b++) {
            if (t < c.lengths[b]) continue;
            for (let i = 0; i < c.I; i++) expect(back.dx[(t * B + b) * c.I + i], `dx at padded t=${t} b=${b}`).toBe(0);
          }
        }
      }),
      FC,
    );
  }, TIMEOUT);
});
