// Proves the float64 reference in test/helpers/ref.ts, so the library's tests can lean on it:
// against every golden fixture, against central finite differences, and a reverse-time identity.
import { describe, it, expect } from "vitest";
import {
  mulberry32, randomParams, refBackward, refForward, refLoss, refParamShapes,
  type F64, type RefConfig,
} from "./helpers/ref";
import {
  fixtureParams, fixtureRefConfig, flatten, lstmFixtureFiles, loadFixture, selectTimeSteps,
} from "./helpers/fixtures";
import { expectClose, expectClipClose, maxAbsDiff, TOL } from "./helpers/close";

const dims = (cfg: RefConfig) => {
  const Ho = cfg.projSize > 0 ? cfg.projSize : cfg.hiddenSize;
  const D = cfg.bidirectional ? 2 : 1;
  return { Ho, D, S: cfg.numLayers * D };
};

describe("golden fixtures", () => {
  const files = lstmFixtureFiles();

  it("finds the lstm fixtures by globbing the folder", () => {
    expect(files.length).toBeGreaterThan(0);
    expect([...files].sort()).toEqual(files);
  });

  for (const file of files) {
    it(`reference forward+BPTT matches golden ${file} in float64`, () => {
      const fx = loadFixture(file);
      const cfg = fixtureRefConfig(fx);
      const T: number = fx.config.seqLen, B: number = fx.config.batch;
      const { Ho, D, S } = dims(cfg);

      // The fixture's weight names and shapes are exactly refParamShapes (key order not relied on).
      const shapes = refParamShapes(cfg);
      expect(Object.keys(fx.weights).sort()).toEqual(shapes.map(([n]) => n).sort());
      for (const [name, shape] of shapes) expect(flatten(fx.weights[name]).shape, name).toEqual(shape);

      const params = fixtureParams(fx);
      const arr = (v: unknown, shape: number[], what: string) => {
        const nd = flatten(v);
        expect(nd.shape, what).toEqual(shape);
        return nd.data;
      };
      const x = arr(fx.inputs.x, [T, B, cfg.inputSize], "x");
      const h0 = arr(fx.inputs.h0, [S, B, Ho], "h0");
      const c0 = arr(fx.inputs.c0, [S, B, cfg.hiddenSize], "c0");
      const R = arr(fx.loss.R, [T, B, D * Ho], "R");
      const Rh = arr(fx.loss.Rh, [S, B, Ho], "Rh");
      const Rc = arr(fx.loss.Rc, [S, B, cfg.hiddenSize], "Rc");

      const fwd = refForward(cfg, params, x, h0, c0, T, B);
      expectClose(`${file} y`, fwd.y, flatten(fx.outputs.y).data, TOL.f64);
      expectClose(`${file} hn`, fwd.hn, flatten(fx.outputs.hn).data, TOL.f64);
      expectClose(`${file} cn`, fwd.cn, flatten(fx.outputs.cn).data, TOL.f64);
      expectClose(`${file} loss`, [refLoss(fwd, R, Rh, Rc)], [fx.loss.value], TOL.f64);

      if (fx.gates) {
        expect(Object.keys(fwd.gates).sort()).toEqual(Object.keys(fx.gates).sort());
        const steps: number[] | undefined = fx.gatesTimeSteps;
        for (const [key, rec] of Object.entries<Record<string, unknown>>(fx.gates)) {
          expect(Object.keys(fwd.gates[key]).sort(), key).toEqual(Object.keys(rec).sort());
          for (const [name, value] of Object.entries(rec)) {
            let actual = fwd.gates[key][name];
            if (steps) actual = selectTimeSteps(actual, T, actual.length / T, steps);
            expectClose(`${file} gates.${key}.${name}`, actual, flatten(value).data, TOL.f64);
          }
        }
      }

      const bwd = refBackward(cfg, params, fwd, R, Rh, Rc);
      const expectedGrads = new Set(["x", "h0", "c0", ...shapes.map(([n]) => n)]);
      expect(new Set(Object.keys(fx.grads))).toEqual(expectedGrads);
      expectClose(`${file} grads.x`, bwd.dx, flatten(fx.grads.x).data, TOL.f64);
      expectClose(`${file} grads.h0`, bwd.dh0, flatten(fx.grads.h0).data, TOL.f64);
      expectClose(`${file} grads.c0`, bwd.dc0, flatten(fx.grads.c0).data, TOL.f64);
      expect(Object.keys(bwd.grads)).toEqual(shapes.map(([n]) => n));
      for (const [name] of shapes) {
        expectClose(`${file} grads.${name}`, bwd.grads[name], flatten(fx.grads[name]).data, TOL.f64);
      }
    });
  }
});

// ---------------------------------------------------------------- finite differences

interface Problem {
  cfg: RefConfig; T: number; B: number;
  params: Record<string, F64>; x: F64; h0: F64; c0: F64; R: F64; Rh: F64; Rc: F64;
}

function randomProblem(cfg: RefConfig, T: number, B: number, seed: number, zeroState = false): Problem {
  const rng = mulberry32(seed);
  const { Ho, D, S } = dims(cfg);
  const u = (n: number, s = 1) => Float64Array.from({ length: n }, () => (2 * rng() - 1) * s);
  const params = randomParams(cfg, rng, 0.6);
  const x = u(T * B * cfg.inputSize);
  const h0 = zeroState ? new Float64Array(S * B * Ho) : u(S * B * Ho, 0.5);
  const c0 = zeroState ? new Float64Array(S * B * cfg.hiddenSize) : u(S * B * cfg.hiddenSize, 0.5);
  return { cfg, T, B, params, x, h0, c0, R: u(T * B * D * Ho), Rh: u(S * B * Ho), Rc: u(S * B * cfg.hiddenSize) };
}

const lossOf = (p: Problem) =>
  refLoss(refForward(p.cfg, p.params, p.x, p.h0, p.c0, p.T, p.B), p.R, p.Rh, p.Rc);

/** Up to `cap` indices of an n-element tensor: all of them when small, else first, last and random. */
function sampleIndices(n: number, rng: () => number, cap = 40): number[] {
  if (n <= cap) return Array.from({ length: n }, (_, k) => k);
  const picked = new Set([0, n - 1]);
  while (picked.size < cap) picked.add(Math.floor(rng() * n));
  return [...picked].sort((a, b) => a - b);
}

/** Compares analytic against central differences in place (each entry is restored bit-exactly). */
function gradcheck(p: Problem, seed: number): void {
  const eps = 1e-6;
  const fwd = refForward(p.cfg, p.params, p.x, p.h0, p.c0, p.T, p.B);
  const bwd = refBackward(p.cfg, p.params, fwd, p.R, p.Rh, p.Rc);
  const rng = mulberry32(seed ^ 0x5eed);
  const targets: Array<[string, F64, F64]> = [["x", p.x, bwd.dx], ["h0", p.h0, bwd.dh0], ["c0", p.c0, bwd.dc0]];
  for (const [name] of refParamShapes(p.cfg)) targets.push([name, p.params[name], bwd.grads[name]]);
  for (const [name, theta, grad] of targets) {
    expect(grad, `${name} gradient present`).toBeInstanceOf(Float64Array);
    expect(grad.length, `${name} gradient length`).toBe(theta.length);
    for (const k of sampleIndices(theta.length, rng)) {
      const saved = theta[k];
      theta[k] = saved + eps;
      const lp = lossOf(p);
      theta[k] = saved - eps;
      const lm = lossOf(p);
      theta[k] = saved;
      const numeric = (lp - lm) / (2 * eps);
      const analytic = grad[k];
      const err = Math.abs(analytic - numeric);
      const rel = err / Math.max(Math.abs(analytic), Math.abs(numeric), 1e-8);
      if (!(err <= 1e-9 || rel <= 1e-6)) {
        throw new Error(`d${name}[${k}]: analytic ${analytic} vs numeric ${numeric} (rel ${rel})`);
      }
    }
  }
}

/** dL/dx must be exactly 0 (not just small) at padded steps. */
function expectZeroDxAtPadding(p: Problem): void {
  const fwd = refForward(p.cfg, p.params, p.x, p.h0, p.c0, p.T, p.B);
  const { dx } = refBackward(p.cfg, p.params, fwd, p.R, p.Rh, p.Rc);
  const lengths = p.cfg.lengths!;
  const I = p.cfg.inputSize;
  let padded = 0;
  for (let t = 0; t < p.T; t++) {
    for (let b = 0; b < p.B; b++) {
      if (t < lengths[b]) continue;
      for (let k = 0; k < I; k++) expect(dx[(t * p.B + b) * I + k], `dx[${t}][${b}][${k}]`).toBe(0);
      padded++;
    }
  }
  expect(padded).toBeGreaterThan(0);
}

const base = { numLayers: 1, bidirectional: false, projSize: 0, peephole: false };
const gradCases: Array<{ claim: string; cfg: RefConfig; T: number; B: number; zeroState?: boolean }> = [
  { claim: "plain single layer, zero initial state", cfg: { ...base, inputSize: 3, hiddenSize: 4 }, T: 4, B: 2, zeroState: true },
  { claim: "peepholes with nonzero h0/c0", cfg: { ...base, inputSize: 3, hiddenSize: 4, peephole: true }, T: 4, B: 2 },
  { claim: "projSize=3", cfg: { ...base, inputSize: 4, hiddenSize: 5, projSize: 3 }, T: 4, B: 2 },
  { claim: "two layers, bidirectional", cfg: { ...base, inputSize: 3, hiddenSize: 4, numLayers: 2, bidirectional: true }, T: 4, B: 2 },
  { claim: "unsorted lengths with h0/c0", cfg: { ...base, inputSize: 3, hiddenSize: 4, lengths: [3, 5, 1, 4] }, T: 5, B: 4 },
  { claim: "reverse: true unidirectional", cfg: { ...base, inputSize: 3, hiddenSize: 4, reverse: true }, T: 4, B: 2 },
  { claim: "reverse: true with lengths and peepholes", cfg: { ...base, inputSize: 2, hiddenSize: 3, reverse: true, peephole: true, lengths: [2, 4, 1] }, T: 4, B: 3 },
  { claim: "sizes not multiples of 4 (I=3, H=5)", cfg: { ...base, inputSize: 3, hiddenSize: 5 }, T: 3, B: 3 },
  {
    claim: "everything combined: 2 layers, bidirectional, proj, peepholes, lengths, odd sizes",
    cfg: { inputSize: 3, hiddenSize: 5, numLayers: 2, bidirectional: true, projSize: 3, peephole: true, lengths: [4, 1, 3] },
    T: 4, B: 3,
  },
];

// Keras masks, T=5 B=3 ([T][B]): row 0 pre-padded, row 1 with a gap, row 2 post-padded.
const MASK = [0, 1, 1, 0, 0, 1, 1, 1, 1, 1, 1, 0, 1, 1, 0];
gradCases.push(
  { claim: "hard-sigmoid recurrent activation, peepholes, h0/c0", cfg: { ...base, inputSize: 3, hiddenSize: 4, peephole: true, recurrentActivation: "hardSigmoid" }, T: 4, B: 2 },
  { claim: "Keras mask (pre-padded, gap, post-padded rows), 2 layers, bidirectional, proj, h0/c0", cfg: { ...base, inputSize: 3, hiddenSize: 4, numLayers: 2, bidirectional: true, projSize: 2, mask: MASK }, T: 5, B: 3 },
  { claim: "Keras mask, reverse, peepholes, hard sigmoid", cfg: { ...base, inputSize: 2, hiddenSize: 3, reverse: true, peephole: true, mask: MASK, recurrentActivation: "hardSigmoid" }, T: 5, B: 3 },
  { claim: "bias: false, 2 layers, bidirectional", cfg: { ...base, inputSize: 3, hiddenSize: 4, numLayers: 2, bidirectional: true, bias: false }, T: 3, B: 2 },
);

describe("finite-difference gradcheck of refBackward (eps=1e-6, rel err <= 1e-6)", () => {
  gradCases.forEach(({ claim, cfg, T, B, zeroState }, n) => {
    it(`refBackward matches central differences: ${claim}`, () => {
      const p = randomProblem(cfg, T, B, 2024 + n, zeroState);
      gradcheck(p, 2024 + n);
      if (cfg.lengths) expectZeroDxAtPadding(p);
    });
  });
});

// ---------------------------------------------------------------- reverse-time identity

/** [T][row] -> rows in reverse time order. */
function flipTime(a: F64, T: number): F64 {
  const row = a.length / T;
  const out = new Float64Array(a.length);
  for (let t = 0; t < T; t++) out.set(a.subarray(t * row, (t + 1) * row), (T - 1 - t) * row);
  return out;
}

describe("reverse: true", () => {
  it("equals the forward direction run on the time-reversed input (full-length, 2 layers, proj, peepholes)", () => {
    const T = 5, B = 2;
    const cfgR: RefConfig = { inputSize: 3, hiddenSize: 4, numLayers: 2, bidirectional: false, projSize: 2, peephole: true, reverse: true };
    const cfgF: RefConfig = { ...cfgR, reverse: false };
    const p = randomProblem(cfgR, T, B, 77);
    const fr = refForward(cfgR, p.params, p.x, p.h0, p.c0, T, B);
    const ff = refForward(cfgF, p.params, flipTime(p.x, T), p.h0, p.c0, T, B);
    expectClose("y", fr.y, flipTime(ff.y, T), TOL.f64);
    expectClose("hn", fr.hn, ff.hn, TOL.f64);
    expectClose("cn", fr.cn, ff.cn, TOL.f64);
    for (const key of ["l0", "l1"]) {
      for (const g of ["i", "f", "g", "o", "c", "h", "m"]) {
        expectClose(`gates.${key}.${g}`, fr.gates[key][g], flipTime(ff.gates[key][g], T), TOL.f64);
      }
    }
    // The gradients agree too once dy and dx are flipped in time.
    const br = refBackward(cfgR, p.params, fr, p.R, p.Rh, p.Rc);
    const bf = refBackward(cfgF, p.params, ff, flipTime(p.R, T), p.Rh, p.Rc);
    expectClose("dx", br.dx, flipTime(bf.dx, T), TOL.f64);
    expectClose("dh0", br.dh0, bf.dh0, TOL.f64);
    expectClose("dc0", br.dc0, bf.dc0, TOL.f64);
    for (const [name] of refParamShapes(cfgR)) expectClose(name, br.grads[name], bf.grads[name], TOL.f64);
    // ...and it is a genuinely different model from the forward direction on the same input.
    const plain = refForward(cfgF, p.params, p.x, p.h0, p.c0, T, B);
    expect(maxAbsDiff(plain.hn, fr.hn)).toBeGreaterThan(1e-3);
  });
});

// ---------------------------------------------------------------- Keras masks

describe("mask", () => {
  // T=6 B=4 ([T][B]): row 0 pre-padded, row 1 post-padded, row 2 with gaps, row 3 never processed.
  const mask = [0, 1, 1, 0, 0, 1, 0, 0, 1, 1, 1, 0, 1, 0, 0, 0, 1, 0, 1, 0, 1, 0, 1, 0];
  const T = 6, B = 4;
  const cases: Array<[string, RefConfig]> = [
    ["one layer, forward", { ...base, inputSize: 3, hiddenSize: 4, mask }],
    ["one layer, reverse, peepholes", { ...base, inputSize: 3, hiddenSize: 4, reverse: true, peephole: true, mask }],
    ["2 layers, bidirectional, proj, hard sigmoid", { ...base, inputSize: 3, hiddenSize: 4, numLayers: 2, bidirectional: true, projSize: 2, recurrentActivation: "hardSigmoid", mask }],
  ];
  it.each(cases)("%s: each row equals its processed steps run alone, and a masked step repeats the previous output in processing order (h0 before any)", (_, cfg) => {
    const p = randomProblem(cfg, T, B, 31);
    const { Ho, D, S } = dims(cfg);
    const I = cfg.inputSize, H = cfg.hiddenSize, W = D * Ho, L = cfg.numLayers;
    const full = refForward(cfg, p.params, p.x, p.h0, p.c0, T, B);
    for (let b = 0; b < B; b++) {
      const steps = [...Array(T).keys()].filter((t) => mask[t * B + b]);
      const rows = (a: F64, n: number) => { // row b of every [S][B][n] state
        const out = new Float64Array(S * n);
        for (let k = 0; k < S; k++) out.set(a.subarray((k * B + b) * n, (k * B + b + 1) * n), k * n);
        return out;
      };
      const h0 = rows(p.h0, Ho), c0 = rows(p.c0, H);
      let alone: { y: F64; hn: F64; cn: F64 } = { y: new Float64Array(0), hn: h0, cn: c0 };
      if (steps.length) {
        const x = new Float64Array(steps.length * I);
        steps.forEach((t, q) => x.set(p.x.subarray((t * B + b) * I, (t * B + b + 1) * I), q * I));
        alone = refForward({ ...cfg, mask: undefined }, p.params, x, h0, c0, steps.length, 1);
      }
      expectClose(`hn row ${b}`, rows(full.hn, Ho), alone.hn, TOL.f64);
      expectClose(`cn row ${b}`, rows(full.cn, H), alone.cn, TOL.f64);
      for (let t = 0; t < T; t++) {
        for (let d = 0; d < D; d++) {
          // The processed step whose output step t shows: itself, else the last one before it in
          // processing order (earlier in time forward, later in time for a reverse direction).
          const back = d === 1 || !!cfg.reverse;
          const seen = steps.filter((u) => (back ? u >= t : u <= t));
          const q = seen.length ? steps.indexOf(back ? seen[0] : seen[seen.length - 1]) : -1;
          const want = q >= 0 ? alone.y.subarray(q * W + d * Ho, q * W + (d + 1) * Ho)
            : h0.subarray(((L - 1) * D + d) * Ho, ((L - 1) * D + d + 1) * Ho);
          expectClose(`y[${t}][${b}] direction ${d}`, full.y.subarray((t * B + b) * W + d * Ho, (t * B + b) * W + (d + 1) * Ho), want, TOL.f64);
        }
      }
    }
    // Masked steps give their inputs exactly zero gradient.
    const { dx } = refBackward(cfg, p.params, full, p.R, p.Rh, p.Rc);
    for (let t = 0; t < T; t++) for (let b = 0; b < B; b++) {
      if (!mask[t * B + b]) for (let k = 0; k < I; k++) expect(dx[(t * B + b) * I + k], `dx[${t}][${b}][${k}]`).toBe(0);
    }
  });
});

// ---------------------------------------------------------------- helpers themselves

describe("test helpers", () => {
  it("flatten gives row-major data and shape, and rejects ragged input", () => {
    expect(flatten([[1, 2, 3], [4, 5, 6]])).toEqual({ data: Float64Array.from([1, 2, 3, 4, 5, 6]), shape: [2, 3] });
    expect(flatten(2.5)).toEqual({ data: Float64Array.from([2.5]), shape: [] });
    expect(() => flatten([[1, 2], [3]])).toThrow(/ragged/);
    expect(() => flatten([1, [2]])).toThrow();
    expect(() => flatten([[1], 2])).toThrow(/ragged/);
  });

  it("selectTimeSteps picks [T][row] rows in the given order", () => {
    const a = Float64Array.from([0, 1, 10, 11, 20, 21]);
    expect(Array.from(selectTimeSteps(a, 3, 2, [2, 0]))).toEqual([20, 21, 0, 1]);
  });

  it("expectClose fails on NaN, length mismatch and out-of-tolerance values with a useful message", () => {
    expect(() => expectClose("ok", [1, 2], [1 + 1e-12, 2], TOL.f64)).not.toThrow();
    expect(() => expectClose("len", [1], [1, 2], TOL.f64)).toThrow(/len: length mismatch/);
    expect(() => expectClose("nan", [NaN, 1], [0, 1], TOL.out)).toThrow(/nan: 1 of 2 .* index 0: actual NaN vs expected 0/);
    expect(() => expectClose("far", [1, 2, 3], [1, 2.1, 3.1], TOL.out)).toThrow(/far: 2 of 3 .*index 1: actual 2 vs expected 2\.1; max abs diff 0\.1/);
  });

  it("expectClipClose demands exact zeros and a per-tensor relative bound", () => {
    expect(() => expectClipClose("ok", [0, 1.000001, -2], [0, 1, -2])).not.toThrow();
    expect(() => expectClipClose("zero", [1e-30, 1], [0, 1])).toThrow(/zero/);
    expect(() => expectClipClose("nan", [NaN, 0], [0, 0])).toThrow(/nan/);
    expect(() => expectClipClose("far", [1.001, 100], [1, 100])).not.toThrow(); // 1e-3 <= 1e-5*100
    expect(() => expectClipClose("far", [1.01, 1], [1, 1])).toThrow(/far/);
  });
});
