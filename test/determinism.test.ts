// Determinism: on one build, the same seed gives bit-identical initial weights, forward outputs,
// gradients and a whole Sequential fit (weights and loss history), whatever else ran before or in
// between. Across builds, scalar vs simd and simd vs relaxed-simd differ only by float32 round-off:
// each measured maximum is printed ("[determinism] …" lines) and asserted below a bound. These
// numbers back the README's determinism statement.
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { firstBitDiff, expectBits } from "./helpers/close";
import { LSTM, Linear, Sequential, SGD, Adam, AdamW, type LSTMOptions, type Tensor, type BackendName } from "../src/index";
import { BUILDS, use } from "./helpers/backends";
import { mulberry32 } from "./helpers/ref";

// ---------------------------------------------------------------- helpers

const rand = (rng: () => number, n: number, s = 1) => Float32Array.from({ length: n }, () => (2 * rng() - 1) * s);


function expectSameTensors(label: string, a: Record<string, Tensor | Float32Array>, b: Record<string, Tensor | Float32Array>): void {
  expect(Object.keys(a), label).toEqual(Object.keys(b));
  const data = (v: Tensor | Float32Array) => (v instanceof Float32Array ? v : v.data);
  for (const k of Object.keys(a)) expectBits(`${label} ${k}`, data(a[k]), data(b[k]));
}

/** max |a − b| / max |b| over everything (b is the baseline), and max |a − b|. */
function measure(a: Float32Array[], b: Float32Array[]): { rel: number; abs: number } {
  let abs = 0, scale = 0;
  a.forEach((x, i) => {
    const y = b[i];
    expect(x.length).toBe(y.length);
    for (let k = 0; k < x.length; k++) {
      abs = Math.max(abs, Math.abs(x[k] - y[k]));
      scale = Math.max(scale, Math.abs(y[k]));
    }
  });
  return { rel: scale > 0 ? abs / scale : abs, abs };
}

// ---------------------------------------------------------------- the workloads

const CONFIGS: Array<{ name: string; opts: LSTMOptions; T: number; B: number; lengths?: number[] }> = [
  { name: "1 layer I=3 H=16", opts: { inputSize: 3, hiddenSize: 16 }, T: 9, B: 4 },
  { name: "2 layers bidirectional projSize 7 peephole, lengths, I=13 H=29", opts: { inputSize: 13, hiddenSize: 29, numLayers: 2, bidirectional: true, projSize: 7, peephole: true }, T: 11, B: 5, lengths: [11, 3, 7, 1, 10] },
  { name: "3 layers reverse batchFirst I=33 H=45", opts: { inputSize: 33, hiddenSize: 45, numLayers: 3, reverse: true, batchFirst: true }, T: 14, B: 3 },
];

interface Pass { fwd: Record<string, Float32Array>; bwd: Record<string, Float32Array>; grads: Record<string, Tensor> }

/** Forward (train) and backward of one configuration on a model created with `seed`, inputs from `dataSeed`. */
function pass(c: (typeof CONFIGS)[number], seed: number, dataSeed = 3, lstm?: LSTM): Pass {
  const m = lstm ?? new LSTM({ ...c.opts, seed });
  try {
    const rng = mulberry32(dataSeed);
    const { T, B } = c, I = c.opts.inputSize, H = c.opts.hiddenSize, Ho = c.opts.projSize || H;
    const D = c.opts.bidirectional ? 2 : 1, S = (c.opts.numLayers ?? 1) * D;
    const x = rand(rng, T * B * I), h0 = rand(rng, S * B * Ho), c0 = rand(rng, S * B * H);
    const out = m.forward(x, { seqLen: T, batch: B, h0, c0, lengths: c.lengths, train: true });
    const back = m.backward({ dy: rand(rng, T * B * D * Ho), dhn: rand(rng, S * B * Ho), dcn: rand(rng, S * B * H) });
    const grads = m.grads();
    m.zeroGrad();
    return { fwd: { y: out.y.data, hn: out.hn.data, cn: out.cn.data }, bwd: { dx: back.dx.data, dh0: back.dh0.data, dc0: back.dc0.data }, grads };
  } finally {
    if (!lstm) m.dispose();
  }
}

const FITS = [
  { name: "MSE, Adam, clipNorm, validationSplit, lengths", seed: 11 },
  { name: "cross-entropy per step, SGD Nesterov, bidirectional projSize peephole", seed: 12 },
];

interface FitResult { weights: Record<string, Float32Array>; loss: number[]; valLoss: number[]; predict: Float32Array; batchLosses: number[] }

async function fitOnce(which: number, seed: number, epochs = 4): Promise<FitResult> {
  const rng = mulberry32(seed);
  const N = 40, T = 10, I = 3;
  const x = rand(rng, N * T * I);
  const lengths = Array.from({ length: N }, () => 1 + Math.floor(rng() * T));
  let model: Sequential, opts;
  if (which === 0) {
    model = new Sequential([new LSTM({ inputSize: I, hiddenSize: 20, numLayers: 2, seed }), new Linear({ inputSize: 20, outputSize: 2, seed: seed + 1 })]);
    const y = new Float32Array(N * 2);
    for (let n = 0; n < N; n++) for (let t = 0; t < lengths[n]; t++) { y[2 * n] += x[(n * T + t) * I] / 3; y[2 * n + 1] += x[(n * T + t) * I + 1] * x[(n * T + t) * I + 2]; }
    opts = { y: { data: y, shape: [N, 2] } as unknown, fit: { loss: "mse" as const, optimizer: new Adam({ lr: 1e-2 }), clipNorm: 0.5, validationSplit: 0.25, lengths } };
  } else {
    const lstm = new LSTM({ inputSize: I, hiddenSize: 12, bidirectional: true, projSize: 5, peephole: true, returnSequences: true, seed });
    model = new Sequential([lstm, new Linear({ inputSize: 10, outputSize: 3, seed: seed + 1 })]);
    const cls = new Int32Array(N * T);
    for (let k = 0; k < N * T; k++) cls[k] = x[k * I] > 0.3 ? 2 : x[k * I] < -0.3 ? 0 : 1;
    opts = { y: cls as unknown, fit: { loss: "crossEntropy" as const, optimizer: new SGD({ lr: 0.2, momentum: 0.9, nesterov: true, weightDecay: 1e-3 }), lengths } };
  }
  try {
    const batchLosses: number[] = [];
    const h = await model.fit({ data: x, shape: [N, T, I] }, opts.y as Int32Array, { ...opts.fit, epochs, batchSize: 7, seed: seed + 2, onBatchEnd: (_b, l) => { batchLosses.push(l.loss); } });
    const weights: Record<string, Float32Array> = {};
    for (const [k, v] of Object.entries(model.stateDict())) weights[k] = v.data;
    const predict = model.predict({ data: x, shape: [N, T, I] }, { lengths }).data;
    return { weights, loss: h.loss, valLoss: h.valLoss, predict, batchLosses };
  } finally {
    model.dispose();
  }
}

beforeAll(async () => {
  for (const b of BUILDS) await use(b);
});

// ---------------------------------------------------------------- within one build

describe.each(BUILDS)("the %s build is deterministic for a seed", (build) => {
  beforeAll(async () => { await use(build); });

  it("initial weights: the same seed gives bit-identical parameters (pytorch and keras init); another seed does not", () => {
    for (const c of CONFIGS) {
      for (const init of ["pytorch", "keras"] as const) {
        const a = new LSTM({ ...c.opts, init, seed: 1234 }), b = new LSTM({ ...c.opts, init, seed: 1234 }), other = new LSTM({ ...c.opts, init, seed: 1235 });
        expectSameTensors(`${c.name} ${init}`, a.stateDict(), b.stateDict());
        expect(firstBitDiff(a.stateDict().weight_hh_l0.data, other.stateDict().weight_hh_l0.data), "seed 1235 differs").toBeGreaterThanOrEqual(0);
        [a, b, other].forEach((m) => m.dispose());
      }
    }
    const h1 = new Linear({ inputSize: 9, outputSize: 4, seed: 77 }), h2 = new Linear({ inputSize: 9, outputSize: 4, seed: 77 });
    expectSameTensors("Linear", h1.stateDict(), h2.stateDict());
    h1.dispose(); h2.dispose();
  });

  it("forward outputs and gradients: bit-identical on fresh models, on a reused model, and after other work in between", () => {
    for (const c of CONFIGS) {
      const first = pass(c, 99);
      const fresh = pass(c, 99);
      expectSameTensors(`${c.name} forward (fresh model)`, fresh.fwd, first.fwd);
      expectSameTensors(`${c.name} backward (fresh model)`, fresh.bwd, first.bwd);
      expectSameTensors(`${c.name} gradients (fresh model)`, fresh.grads, first.grads);

      // One model, used repeatedly, with differently sized calls and other models' work in between
      // (workspaces regrow, memory may grow): still the same bits.
      const m = new LSTM({ ...c.opts, seed: 99 });
      const noise = new LSTM({ inputSize: 5, hiddenSize: 37, numLayers: 2, seed: 5 });
      for (let r = 0; r < 3; r++) {
        const again = pass(c, 99, 3, m);
        expectSameTensors(`${c.name} forward (reused model, round ${r})`, again.fwd, first.fwd);
        expectSameTensors(`${c.name} backward (reused model, round ${r})`, again.bwd, first.bwd);
        expectSameTensors(`${c.name} gradients (reused model, round ${r})`, again.grads, first.grads);
        m.forward(new Float32Array((c.T + 7) * (c.B + 5) * c.opts.inputSize).fill(0.25), { seqLen: c.T + 7, batch: c.B + 5, train: r === 1 });
        noise.forward(new Float32Array(30 * 20 * 5).fill(-0.5), { seqLen: 30, batch: 20, train: true });
        noise.backward({});
      }
      // The same inputs through an inference forward give the training forward's bits.
      const rng = mulberry32(3), I = c.opts.inputSize;
      const infer = m.forward(rand(rng, c.T * c.B * I), { seqLen: c.T, batch: c.B, h0: rand(rng, first.fwd.hn.length), c0: rand(rng, first.fwd.cn.length), lengths: c.lengths });
      expectSameTensors(`${c.name} inference forward = training forward`, { y: infer.y.data, hn: infer.hn.data, cn: infer.cn.data }, first.fwd);
      m.dispose();
      noise.dispose();
    }
  });

  it("a full Sequential fit: bit-identical weights, loss history, batch losses and predictions", async () => {
    for (let which = 0; which < FITS.length; which++) {
      const a = await fitOnce(which, FITS[which].seed);
      // Some other training on the same build in between must not matter.
      await fitOnce(1 - which, 500);
      const b = await fitOnce(which, FITS[which].seed);
      const label = FITS[which].name;
      expect(a.loss.every(Number.isFinite), label).toBe(true);
      expectSameTensors(`${label} weights`, b.weights, a.weights);
      expectBits(`${label} loss history`, Float32Array.from(b.loss), Float32Array.from(a.loss));
      expect(b.loss, `${label} loss history (float64)`).toEqual(a.loss);
      expect(b.valLoss, `${label} valLoss history`).toEqual(a.valLoss);
      expect(b.batchLosses, `${label} batch losses`).toEqual(a.batchLosses);
      expectBits(`${label} predictions`, b.predict, a.predict);
      // A different fit seed really changes the run (the comparison above is not vacuous).
      const c = await fitOnce(which, FITS[which].seed + 1000);
      expect(firstBitDiff(c.weights["0.weight_ih_l0"], a.weights["0.weight_ih_l0"]), `${label}: another seed differs`).toBeGreaterThanOrEqual(0);
    }
  });

  it("optimizers restarted on a fresh model give the same run (AdamW, SGD with momentum)", async () => {
    const run = async (opt: SGD | Adam) => {
      const m = new Sequential([new LSTM({ inputSize: 2, hiddenSize: 9, seed: 4 }), new Linear({ inputSize: 9, outputSize: 1, seed: 5 })]);
      const rng = mulberry32(8), x = rand(rng, 24 * 6 * 2), y = rand(rng, 24);
      const h = await m.fit({ data: x, shape: [24, 6, 2] }, { data: y, shape: [24, 1] }, { epochs: 3, batchSize: 5, optimizer: opt, seed: 9 });
      const w = m.stateDict()["0.weight_hh_l0"].data;
      m.dispose();
      opt.dispose();
      return { w, loss: h.loss };
    };
    for (const make of [() => new AdamW({ lr: 3e-2 }), () => new SGD({ lr: 0.1, momentum: 0.8, dampening: 0.1 })]) {
      const a = await run(make()), b = await run(make());
      expectBits("weight_hh_l0", b.w, a.w);
      expect(b.loss).toEqual(a.loss);
    }
  });
});

// ---------------------------------------------------------------- across builds

describe.skipIf(BUILDS.length < 2)("across builds: only float32 round-off", () => {
  // Bounds asserted (max |a − b| / max |b| over all compared tensors). The measured values are printed.
  const BOUND = { init: 0, forward: 1e-5, grads: 1e-5, fit: 1e-4 };
  const PAIRS: Array<[BackendName, BackendName]> = (
    [["scalar", "simd"], ["simd", "relaxed-simd"], ["scalar", "relaxed-simd"]] as Array<[BackendName, BackendName]>
  ).filter(([a, b]) => BUILDS.includes(a) && BUILDS.includes(b));
  const report: string[] = [];
  const note = (s: string) => { report.push(s); console.log(`[determinism] ${s}`); };
  afterAll(() => { if (report.length) console.log(`[determinism] summary\n  ${report.join("\n  ")}`); });

  it("initial weights with the default (pytorch) init are bit-identical on every build", async () => {
    for (const c of CONFIGS) {
      const sds = [];
      for (const b of BUILDS) { await use(b); const m = new LSTM({ ...c.opts, seed: 2024 }); sds.push(m.stateDict()); m.dispose(); }
      for (let k = 1; k < sds.length; k++) expectSameTensors(`${c.name}: ${BUILDS[k]} vs ${BUILDS[0]}`, sds[k], sds[0]);
    }
  });

  it("keras init (orthogonal recurrent weights computed in wasm) agrees across builds", async () => {
    const per: Record<string, Float32Array[]> = {};
    for (const b of BUILDS) {
      await use(b);
      per[b] = [];
      for (const c of CONFIGS) { const m = new LSTM({ ...c.opts, init: "keras", seed: 2024 }); per[b].push(...Object.values(m.stateDict()).map((t) => t.data)); m.dispose(); }
    }
    for (const [a, b] of PAIRS) {
      const d = measure(per[b], per[a]);
      note(`keras init        ${a} vs ${b}: max rel ${d.rel.toExponential(2)}, max abs ${d.abs.toExponential(2)}`);
      expect(d.rel, `keras init ${a} vs ${b}: measured ${d.rel}`).toBeLessThanOrEqual(1e-5);
    }
  });

  it(`forward outputs and gradients differ by at most ${BOUND.forward} relative (measured values printed)`, async () => {
    const per: Record<string, Pass[]> = {};
    for (const b of BUILDS) { await use(b); per[b] = CONFIGS.map((c) => pass(c, 77)); }
    for (const [a, b] of PAIRS) {
      const f = measure(per[b].flatMap((p) => Object.values(p.fwd)), per[a].flatMap((p) => Object.values(p.fwd)));
      const g = measure(per[b].flatMap((p) => [...Object.values(p.bwd), ...Object.values(p.grads).map((t) => t.data)]),
        per[a].flatMap((p) => [...Object.values(p.bwd), ...Object.values(p.grads).map((t) => t.data)]));
      note(`forward (y,hn,cn) ${a} vs ${b}: max rel ${f.rel.toExponential(2)}, max abs ${f.abs.toExponential(2)}`);
      note(`gradients         ${a} vs ${b}: max rel ${g.rel.toExponential(2)}, max abs ${g.abs.toExponential(2)}`);
      expect(f.rel, `forward ${a} vs ${b}: measured ${f.rel}`).toBeLessThanOrEqual(BOUND.forward);
      expect(g.rel, `gradients ${a} vs ${b}: measured ${g.rel}`).toBeLessThanOrEqual(BOUND.grads);
    }
  });

  it(`a Sequential fit (4 epochs, 24 updates) ends within ${BOUND.fit} relative (measured values printed)`, async () => {
    for (let which = 0; which < FITS.length; which++) {
      const per: Record<string, FitResult> = {};
      for (const b of BUILDS) { await use(b); per[b] = await fitOnce(which, FITS[which].seed); }
      for (const [a, b] of PAIRS) {
        const w = measure(Object.values(per[b].weights), Object.values(per[a].weights));
        const l = measure([Float32Array.from(per[b].batchLosses)], [Float32Array.from(per[a].batchLosses)]);
        const p = measure([per[b].predict], [per[a].predict]);
        note(`fit ${which} weights     ${a} vs ${b}: max rel ${w.rel.toExponential(2)}, max abs ${w.abs.toExponential(2)}`);
        note(`fit ${which} batch loss  ${a} vs ${b}: max rel ${l.rel.toExponential(2)}, max abs ${l.abs.toExponential(2)}`);
        note(`fit ${which} predictions ${a} vs ${b}: max rel ${p.rel.toExponential(2)}, max abs ${p.abs.toExponential(2)}`);
        expect(w.rel, `fit ${which} weights ${a} vs ${b}: measured ${w.rel}`).toBeLessThanOrEqual(BOUND.fit);
        expect(l.rel, `fit ${which} losses ${a} vs ${b}: measured ${l.rel}`).toBeLessThanOrEqual(BOUND.fit);
        expect(p.rel, `fit ${which} predictions ${a} vs ${b}: measured ${p.rel}`).toBeLessThanOrEqual(BOUND.fit);
      }
    }
  });
});
