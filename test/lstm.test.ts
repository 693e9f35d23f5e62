// The LSTM on random configurations against the float64 reference (test/helpers/ref.ts, itself
// proven by test/reference.test.ts), on every build: odd sizes so every SIMD tail runs, every
// feature combined, and step() against forward().
import { describe, it, expect } from "vitest";
import { LSTM, type Tensor } from "../src/index";
import { BUILDS, use } from "./helpers/backends";
import { mulberry32, randomParams, refForward, refBackward, type RefConfig } from "./helpers/ref";
import { expectClose, expectBits, TOL } from "./helpers/close";

interface Case { name: string; cfg: RefConfig; T: number; B: number; state?: boolean; batchFirst?: boolean }

const base = { numLayers: 1, bidirectional: false, projSize: 0, peephole: false };
const CASES: Case[] = [
  { name: "I=3 H=5, T=7 B=3", cfg: { ...base, inputSize: 3, hiddenSize: 5 }, T: 7, B: 3 },
  { name: "B=1 T=1, I=1 H=1", cfg: { ...base, inputSize: 1, hiddenSize: 1 }, T: 1, B: 1, state: true },
  { name: "peephole, unsorted lengths, h0/c0, I=5 H=7", cfg: { ...base, inputSize: 5, hiddenSize: 7, peephole: true, lengths: [9, 2, 5, 1, 7] }, T: 9, B: 5, state: true },
  { name: "2 layers, bidirectional, projSize 5, I=6 H=9", cfg: { ...base, inputSize: 6, hiddenSize: 9, numLayers: 2, bidirectional: true, projSize: 5 }, T: 6, B: 4, state: true },
  { name: "3 layers, bidirectional, lengths, I=17 H=13", cfg: { ...base, inputSize: 17, hiddenSize: 13, numLayers: 3, bidirectional: true, lengths: [4, 8, 1, 8, 3, 6] }, T: 8, B: 6 },
  { name: "everything, batchFirst, I=10 H=11 P=3", cfg: { inputSize: 10, hiddenSize: 11, numLayers: 2, bidirectional: true, projSize: 3, peephole: true, lengths: [5, 1, 3] }, T: 5, B: 3, state: true, batchFirst: true },
  { name: "reverse (ONNX direction 'reverse'), 2 layers, peephole, lengths, I=4 H=6", cfg: { ...base, inputSize: 4, hiddenSize: 6, numLayers: 2, peephole: true, reverse: true, lengths: [3, 6, 1, 5] }, T: 6, B: 4, state: true },
  { name: "reverse, projSize 2, full length, I=5 H=7", cfg: { ...base, inputSize: 5, hiddenSize: 7, projSize: 2, reverse: true }, T: 5, B: 2 },
  { name: "wider tiles, I=40 H=33, T=12 B=9", cfg: { ...base, inputSize: 40, hiddenSize: 33, peephole: true }, T: 12, B: 9, state: true },
  // 4H a multiple of 16 with B < 4: step() takes the fused single-step path (gemv_bias2).
  { name: "streaming shape, I=7 H=16, T=6 B=1", cfg: { ...base, inputSize: 7, hiddenSize: 16 }, T: 6, B: 1, state: true },
  { name: "B=3, 2 layers, peephole, projSize 4, I=9 H=12", cfg: { ...base, inputSize: 9, hiddenSize: 12, numLayers: 2, peephole: true, projSize: 4 }, T: 4, B: 3, state: true },
];

const f32 = (a: Float64Array) => Float32Array.from(a);
const f64 = (a: Float32Array) => Float64Array.from(a);
function rand(rng: () => number, n: number, s = 1): Float64Array {
  // Values drawn, then rounded to float32, so the float64 reference sees exactly our inputs.
  return f64(f32(Float64Array.from({ length: n }, () => (2 * rng() - 1) * s)));
}

// [T,B,W] <-> [B,T,W]
function swap01(a: Float32Array, n0: number, n1: number, w: number): Float32Array {
  const out = new Float32Array(a.length);
  for (let i = 0; i < n0; i++) for (let j = 0; j < n1; j++) out.set(a.subarray((i * n1 + j) * w, (i * n1 + j + 1) * w), (j * n0 + i) * w);
  return out;
}

function setup(c: Case, seed: number) {
  const rng = mulberry32(seed);
  const { cfg, T, B } = c;
  const H = cfg.hiddenSize, Hout = cfg.projSize || H, D = cfg.bidirectional ? 2 : 1, L = cfg.numLayers;
  const params = Object.fromEntries(Object.entries(randomParams(cfg, rng, 0.6)).map(([k, v]) => [k, f64(f32(v))]));
  const x = rand(rng, T * B * cfg.inputSize, 2);
  const h0 = c.state ? rand(rng, L * D * B * Hout) : new Float64Array(L * D * B * Hout);
  const c0 = c.state ? rand(rng, L * D * B * H) : new Float64Array(L * D * B * H);
  const dy = rand(rng, T * B * D * Hout), dhn = rand(rng, L * D * B * Hout), dcn = rand(rng, L * D * B * H);
  const lstm = new LSTM({ inputSize: cfg.inputSize, hiddenSize: H, numLayers: L, bidirectional: cfg.bidirectional, reverse: cfg.reverse ?? false, projSize: cfg.projSize, peephole: cfg.peephole, batchFirst: c.batchFirst ?? false, seed });
  lstm.loadStateDict(Object.fromEntries(Object.entries(params).map(([k, v]) => [k, f32(v)])));
  return { params, x, h0, c0, dy, dhn, dcn, lstm, H, Hout, D, L };
}

describe.each(BUILDS)("LSTM against the float64 reference on the %s build", (build) => {
  CASES.forEach((c, idx) => {
    it(`forward, gates and BPTT match float64 (${c.name})`, async () => {
      await use(build);
      const { cfg, T, B } = c;
      const s = setup(c, 100 + idx);
      const ref = refForward(cfg, s.params, s.x, s.h0, s.c0, T, B);
      const refB = refBackward(cfg, s.params, ref, s.dy, s.dhn, s.dcn);
      const bf = c.batchFirst ?? false, I = cfg.inputSize, W = s.D * s.Hout;
      const x = bf ? swap01(f32(s.x), T, B, I) : f32(s.x);
      const shape = bf ? [B, T, I] : [T, B, I];
      const out = s.lstm.forward({ data: x, shape }, { h0: f32(s.h0), c0: f32(s.c0), lengths: cfg.lengths, train: true, returnGates: true });
      const y = bf ? swap01(out.y.data, B, T, W) : out.y.data;
      expectClose("y", y, ref.y, TOL.out);
      expectClose("hn", out.hn.data, ref.hn, TOL.out);
      expectClose("cn", out.cn.data, ref.cn, TOL.out);
      for (const [key, gs] of Object.entries(ref.gates)) {
        for (const [g, v] of Object.entries(gs)) expectClose(`gates.${key}.${g}`, out.gates![key][g].data, v, TOL.out);
      }
      const dy = bf ? swap01(f32(s.dy), T, B, W) : f32(s.dy);
      const back = s.lstm.backward({ dy, dhn: f32(s.dhn), dcn: f32(s.dcn) });
      expectClose("dx", bf ? swap01(back.dx.data, B, T, I) : back.dx.data, refB.dx, TOL.grad);
      expectClose("dh0", back.dh0.data, refB.dh0, TOL.grad);
      expectClose("dc0", back.dc0.data, refB.dc0, TOL.grad);
      const grads = s.lstm.grads();
      expect(Object.keys(grads)).toEqual(Object.keys(refB.grads));
      for (const [k, v] of Object.entries(refB.grads)) expectClose(`d${k}`, grads[k].data, v, TOL.grad);
      s.lstm.dispose();
    });
  });

  for (const c of CASES.filter((c) => !c.cfg.bidirectional && !c.cfg.reverse && !c.cfg.lengths)) {
    it(`step() over the sequence equals forward() (${c.name})`, async () => {
      await use(build);
      const { cfg, T, B } = c;
      const s = setup(c, 7);
      const I = cfg.inputSize, x = f32(s.x);
      const full = s.lstm.forward(c.batchFirst ? swap01(x, T, B, I) : x, { seqLen: T, batch: B, h0: f32(s.h0), c0: f32(s.c0) });
      const y = c.batchFirst ? swap01(full.y.data, B, T, s.Hout) : full.y.data;
      const state = s.lstm.initialState(B);
      state.h.data.set(f32(s.h0));
      state.c.data.set(f32(s.c0));
      for (let t = 0; t < T; t++) {
        const h: Tensor = s.lstm.step({ data: x.slice(t * B * I, (t + 1) * B * I), shape: [B, I] }, state);
        expect(h.shape).toEqual([B, s.Hout]);
        expectClose(`step ${t}`, h.data, y.subarray(t * B * s.Hout, (t + 1) * B * s.Hout), { atol: 1e-6, rtol: 1e-6 });
      }
      expectClose("state.h = hn", state.h.data, full.hn.data, { atol: 1e-6, rtol: 1e-6 });
      expectClose("state.c = cn", state.c.data, full.cn.data, { atol: 1e-6, rtol: 1e-6 });
      s.lstm.dispose();
    });
  }
});

describe.each(BUILDS)("the fused single-step path on the %s build", (build) => {
  // A one-step call with B < 4 computes bias + x·W_ih + h·W_hh per row in one pass; a longer
  // sequence of one row runs bias_rows + GEMM + GEMM. Same adds in the same order: the same bits.
  for (const [I, H] of [[7, 16], [32, 128], [300, 20], [5, 260]]) {
    it(`one step equals the first step of a sequence bit for bit (I=${I} H=${H}, K blocks past 256)`, async () => {
      await use(build);
      const rng = mulberry32(I * 1000 + H);
      const m = new LSTM({ inputSize: I, hiddenSize: H, peephole: true, seed: I + H });
      const x = f32(rand(rng, 3 * I, 2)), h0 = f32(rand(rng, H)), c0 = f32(rand(rng, H));
      const seq = m.forward(x, { seqLen: 3, batch: 1, h0, c0 });
      const one = m.forward(x.subarray(0, I), { seqLen: 1, batch: 1, h0, c0 });
      expectBits("y", one.y.data, seq.y.data.subarray(0, H));
      const state = m.initialState(1);
      state.h.data.set(h0); state.c.data.set(c0);
      expectBits("step", m.step(x.subarray(0, I), state).data, one.y.data);
      expectBits("state.c", state.c.data, one.cn.data);
      m.dispose();
    });
  }
});

describe("builds agree", () => {
  it("scalar, simd and relaxed-simd give the same forward and gradients within float32 round-off", async () => {
    const c = CASES[5];
    const results = [];
    for (const build of BUILDS) {
      await use(build);
      const s = setup(c, 55);
      const x = swap01(f32(s.x), c.T, c.B, c.cfg.inputSize);
      const out = s.lstm.forward({ data: x, shape: [c.B, c.T, c.cfg.inputSize] }, { lengths: c.cfg.lengths, train: true });
      const back = s.lstm.backward({ dy: swap01(f32(s.dy), c.T, c.B, s.D * s.Hout) });
      results.push({ y: out.y.data, dx: back.dx.data, g: s.lstm.grads() });
      s.lstm.dispose();
    }
    for (const r of results.slice(1)) {
      expectClose("y across builds", r.y, results[0].y, { atol: 1e-6, rtol: 1e-5 });
      expectClose("dx across builds", r.dx, results[0].dx, { atol: 1e-6, rtol: 1e-5 });
      for (const k of Object.keys(r.g)) expectClose(`d${k} across builds`, r.g[k].data, results[0].g[k].data, { atol: 1e-6, rtol: 1e-5 });
    }
  });
});
