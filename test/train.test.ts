// Sequential [LSTM, Linear] end to end on every build: it learns (MSE and cross-entropy), one
// training step equals the float64 gradient of the reference LSTM + a float64 head, padded
// targets are inert, training is deterministic, a non-finite batch is refused without touching
// the weights, wasm memory may grow mid-batch, and the Keras initialisation. Then fit's
// bookkeeping (validation, callbacks, yielding) and argument checks on one build.
import { describe, it, expect, beforeAll } from "vitest";
import { LSTM, Linear, Sequential, SGD, Adam, LSTMError, type Tensor, type LSTMOptions } from "../src/index";
import { backend } from "../src/wasm/backend";
import { BUILDS, use } from "./helpers/backends";
import { mulberry32, refForward, refBackward, type RefConfig } from "./helpers/ref";
import { expectClose } from "./helpers/close";

const rand = (rng: () => number, n: number, s = 1) => Float32Array.from({ length: n }, () => (2 * rng() - 1) * s);
const tensor = (data: Float32Array, shape: number[]): Tensor => ({ data, shape });

/** N sequences [N,T,1] of U(−1,1); targets: half the sum, and its sign as class 0/1. */
function sumTask(seed: number, N: number, T: number) {
  const rng = mulberry32(seed), x = rand(rng, N * T), half = new Float32Array(N), sign = new Int32Array(N);
  for (let n = 0; n < N; n++) {
    const s = x.subarray(n * T, (n + 1) * T).reduce((a, v) => a + v, 0);
    [half[n], sign[n]] = [s / 2, s > 0 ? 1 : 0];
  }
  return { x: tensor(x, [N, T, 1]), half: tensor(half, [N, 1]), sign };
}

function model(lstm: LSTMOptions, O: number, headSeed: number, returnSequences = false): Sequential {
  const l = new LSTM({ ...lstm, returnSequences }), F = (lstm.bidirectional ? 2 : 1) * (lstm.projSize || lstm.hiddenSize);
  return new Sequential([l, new Linear({ inputSize: F, outputSize: O, seed: headSeed })], { names: ["lstm", "head"] });
}
const lstmOf = (m: Sequential) => m.layers[0] as LSTM;
const headOf = (m: Sequential) => m.layers[1] as Linear;

/** Every weight of the model, LSTM then head ("head.weight", "head.bias"), as fresh copies. */
function snapshot(m: Sequential): Record<string, Float32Array> {
  return Object.fromEntries(Object.entries(m.stateDict()).map(([k, v]) => [k.replace(/^lstm\./, ""), v.data]));
}
const flat = (s: Record<string, Float32Array>) => Object.values(s).flatMap((a) => Array.from(a));

async function rejection(p: Promise<unknown>, argument: string): Promise<LSTMError> {
  const e = await p.then(() => null, (err: unknown) => err);
  expect(e, `expected a rejection naming ${argument}`).toBeInstanceOf(LSTMError);
  expect((e as LSTMError).argument).toBe(argument);
  return e as LSTMError;
}
function expectErr(fn: () => unknown, argument: string): void {
  let err: unknown = null;
  try { fn(); } catch (e) { err = e; }
  expect(err, `expected an LSTMError for ${argument}`).toBeInstanceOf(LSTMError);
  expect((err as LSTMError).argument).toBe(argument);
}

// ---------------------------------------------------------------- float64 reference of one training step

interface GradCase { name: string; I: number; H: number; O: number; T: number; N: number; loss: "mse" | "crossEntropy"; rs: boolean; lengths?: number[]; numLayers?: number; projSize?: number; clipNorm?: number; bidirectional?: boolean }

/** Loss and gradients of the mean loss over the batch: refForward + a float64 head + MSE/cross-entropy, then refBackward. */
function refStep(c: GradCase, lstmSd: Record<string, Tensor>, headSd: Record<string, Tensor>, x: Float32Array, y: Float32Array | Int32Array) {
  const D = c.bidirectional ? 2 : 1, L = (c.numLayers ?? 1) * D, Hout = c.projSize || c.H, F = D * Hout, { T, N, O, I } = c;
  const cfg: RefConfig = { inputSize: I, hiddenSize: c.H, numLayers: c.numLayers ?? 1, bidirectional: D === 2, projSize: c.projSize ?? 0, peephole: false, lengths: c.lengths };
  const params = Object.fromEntries(Object.entries(lstmSd).map(([k, v]) => [k, Float64Array.from(v.data)]));
  const xt = new Float64Array(T * N * I); // batch-first -> time-major
  for (let n = 0; n < N; n++) for (let t = 0; t < T; t++) for (let i = 0; i < I; i++) xt[(t * N + n) * I + i] = x[(n * T + t) * I + i];
  const fwd = refForward(cfg, params, xt, new Float64Array(L * N * Hout), new Float64Array(L * N * c.H), T, N);
  const len = (n: number) => (c.lengths ? c.lengths[n] : T);
  const rows: Array<{ t: number; n: number; k: number }> = []; // k: index of the row's target
  for (let n = 0; n < N; n++) {
    if (!c.rs) rows.push({ t: len(n) - 1, n, k: n });
    else for (let t = 0; t < len(n); t++) rows.push({ t, n, k: n * T + t });
  }
  const W = headSd.weight.data, b = headSd.bias.data, R = rows.length;
  const dW = new Float64Array(O * F), db = new Float64Array(O), dy = new Float64Array(T * N * F);
  let loss = 0;
  // Where column f of the head's input comes from: the row's step, or t = 0 for the reverse direction's half.
  const at = (t: number, n: number, f: number) => ((!c.rs && f >= Hout ? 0 : t) * N + n) * F + f;
  for (const { t, n, k } of rows) {
    const h = Array.from({ length: F }, (_, f) => fwd.y[at(t, n, f)]);
    const z = Array.from({ length: O }, (_, o) => { let s = b[o]; for (let f = 0; f < F; f++) s += W[o * F + f] * h[f]; return s; });
    let dz: number[];
    if (c.loss === "mse") {
      dz = z.map((v, o) => { const e = v - y[k * O + o]; loss += (e * e) / (R * O); return (2 * e) / (R * O); });
    } else {
      const mx = Math.max(...z), s = z.reduce((a, v) => a + Math.exp(v - mx), 0), cls = y[k];
      loss += (Math.log(s) + (mx - z[cls])) / R;
      dz = z.map((v, o) => (Math.exp(v - mx) / s - (o === cls ? 1 : 0)) / R);
    }
    for (let o = 0; o < O; o++) {
      db[o] += dz[o];
      for (let f = 0; f < F; f++) { dW[o * F + f] += dz[o] * h[f]; dy[at(t, n, f)] += dz[o] * W[o * F + f]; }
    }
  }
  const bwd = refBackward(cfg, params, fwd, dy, new Float64Array(L * N * Hout), new Float64Array(L * N * c.H));
  return { loss, grads: { ...bwd.grads, "head.weight": dW, "head.bias": db } as Record<string, Float64Array> };
}

const GRAD_CASES: GradCase[] = [
  { name: "MSE on the last valid step, unsorted lengths", I: 3, H: 5, O: 2, T: 5, N: 4, loss: "mse", rs: false, lengths: [3, 5, 1, 4] },
  { name: "cross-entropy, 3 classes, full length", I: 2, H: 4, O: 3, T: 4, N: 5, loss: "crossEntropy", rs: false },
  { name: "returnSequences MSE with lengths (padded steps masked)", I: 2, H: 3, O: 2, T: 4, N: 3, loss: "mse", rs: true, lengths: [4, 2, 1] },
  { name: "returnSequences cross-entropy with lengths (padded steps ignored)", I: 3, H: 4, O: 3, T: 5, N: 3, loss: "crossEntropy", rs: true, lengths: [2, 5, 3] },
  { name: "2 layers with projSize 2, MSE", I: 2, H: 5, O: 1, T: 3, N: 4, loss: "mse", rs: false, numLayers: 2, projSize: 2 },
  { name: "bidirectional, MSE on each direction's final step, unsorted lengths", I: 3, H: 4, O: 2, T: 5, N: 4, loss: "mse", rs: false, lengths: [2, 5, 1, 4], bidirectional: true },
  { name: "bidirectional returnSequences cross-entropy", I: 2, H: 3, O: 3, T: 4, N: 3, loss: "crossEntropy", rs: true, lengths: [4, 1, 3], bidirectional: true },
  { name: "MSE with clipNorm 0.02 (the gradient is rescaled to norm 0.02)", I: 3, H: 5, O: 2, T: 5, N: 4, loss: "mse", rs: false, lengths: [3, 5, 1, 4], clipNorm: 0.02 },
];

/** Fills the arena so that its free list is empty and the next allocation must grow wasm memory. Returns the fillers. */
function fillArenaToTheEnd(): number[] {
  const be = backend(), mem = be.k.memory, ptrs: number[] = [];
  for (const size of [1 << 20, 1 << 16, 1 << 12, 64]) {
    const start = mem.buffer.byteLength;
    while (mem.buffer.byteLength === start) ptrs.push(be.arena.alloc(size, "test filler"));
  }
  // The last 64-byte block found no free block and started at the old end of memory, which grew by one
  // page: exactly 65536 - 64 bytes remain. Take them.
  const bytes = mem.buffer.byteLength;
  ptrs.push(be.arena.alloc(65536 - 64, "test filler"));
  expect(mem.buffer.byteLength).toBe(bytes);
  return ptrs;
}

describe.each(BUILDS)("Sequential training on the %s build", (build) => {
  it("fit with Adam lowers the MSE of predicting half a sequence's sum over 50-fold, and predict's MSE on fresh sequences is below 0.01", async () => {
    await use(build);
    const T = 6, train = sumTask(1, 256, T), test = sumTask(2, 128, T);
    const m = model({ inputSize: 1, hiddenSize: 12, seed: 3 }, 1, 4);
    const before = m.evaluate(train.x, train.half);
    const h = await m.fit(train.x, train.half, { epochs: 30, batchSize: 16, optimizer: new Adam({ lr: 0.01 }), seed: 5 });
    expect([h.loss.length, h.valLoss]).toEqual([30, []]);
    expect(h.loss[29]).toBeLessThan(before / 50);
    expect(m.evaluate(train.x, train.half)).toBeLessThan(before / 50);
    const pred = m.predict(test.x);
    expect(pred.shape).toEqual([128, 1]);
    let mse = 0;
    for (let n = 0; n < 128; n++) mse += (pred.data[n] - test.half.data[n]) ** 2 / 128;
    expect(mse).toBeLessThan(0.01);
    expect(m.evaluate(test.x, test.half)).toBeCloseTo(mse, 6); // evaluate is the same mean
    m.dispose();
  });

  it("cross-entropy on the sign of a sequence's sum reaches at least 90% accuracy on fresh sequences", async () => {
    await use(build);
    const T = 6, train = sumTask(1, 256, T), test = sumTask(2, 200, T);
    const m = model({ inputSize: 1, hiddenSize: 8, seed: 3 }, 2, 4);
    const h = await m.fit(train.x, train.sign, { epochs: 25, batchSize: 16, loss: "crossEntropy", optimizer: new Adam({ lr: 0.02 }), seed: 5 });
    expect(h.loss[24]).toBeLessThan(h.loss[0] / 3);
    const logits = m.predict(test.x).data;
    let right = 0;
    for (let n = 0; n < 200; n++) right += Number((logits[2 * n + 1] > logits[2 * n] ? 1 : 0) === test.sign[n]);
    expect(right / 200).toBeGreaterThanOrEqual(0.9);
    m.dispose();
  });

  it.each(GRAD_CASES)("one SGD(lr=1) step subtracts the float64 reference gradient (to float32 accuracy) and reports its loss: $name", async (c) => {
    await use(build);
    const rng = mulberry32(c.T * 100 + c.H);
    const x = rand(rng, c.N * c.T * c.I, 1.5);
    const yCount = c.rs ? c.N * c.T : c.N;
    const y = c.loss === "mse" ? rand(rng, yCount * c.O) : Int32Array.from({ length: yCount }, () => Math.floor(rng() * c.O));
    const m = model({ inputSize: c.I, hiddenSize: c.H, numLayers: c.numLayers, projSize: c.projSize, bidirectional: c.bidirectional, seed: 11 }, c.O, 12, c.rs);
    const ref = refStep(c, lstmOf(m).stateDict(), headOf(m).stateDict(), x, y);
    const before = snapshot(m);
    const losses: number[] = [];
    const yT = c.loss === "mse" ? tensor(y as Float32Array, c.rs ? [c.N, c.T, c.O] : [c.N, c.O]) : y;
    const h = await m.fit(tensor(x, [c.N, c.T, c.I]), yT, {
      epochs: 1, batchSize: c.N, shuffle: false, loss: c.loss, optimizer: new SGD({ lr: 1 }), lengths: c.lengths,
      clipNorm: c.clipNorm, onBatchEnd: (_b, logs) => { losses.push(logs.loss); },
    });
    expect(losses).toHaveLength(1);
    expect(Math.abs(losses[0] - ref.loss)).toBeLessThanOrEqual(1e-5 * ref.loss);
    expect(h.loss[0]).toBe(losses[0]);
    let norm = 0;
    for (const g of Object.values(ref.grads)) for (const v of g) norm += v * v;
    norm = Math.sqrt(norm);
    const k = c.clipNorm !== undefined && norm > c.clipNorm ? c.clipNorm / norm : 1;
    if (c.clipNorm !== undefined) expect(k).toBeLessThan(0.5); // the case really clips
    const after = snapshot(m);
    expect(Object.keys(after)).toEqual(Object.keys(ref.grads));
    for (const name of Object.keys(ref.grads)) {
      const step = before[name].map((v, i) => v - after[name][i]);
      expectClose(`step of ${name}`, Float64Array.from(step), ref.grads[name].map((v) => v * k), { atol: 1e-6, rtol: 1e-4 });
    }
    m.dispose();
  });

  it("returnSequences with lengths: targets at padded steps leave the learned weights and history bit-identical (MSE and cross-entropy); a valid step's target does not", async () => {
    await use(build);
    const N = 6, T = 5, I = 2, O = 3, lengths = [5, 2, 4, 1, 3, 5];
    const rng = mulberry32(31);
    const x = tensor(rand(rng, N * T * I), [N, T, I]);
    const padded = (n: number, t: number) => t >= lengths[n];
    const yMse = rand(rng, N * T * O), yCe = Int32Array.from({ length: N * T }, () => Math.floor(rng() * O));
    const yMse2 = yMse.map((v, i) => (padded(Math.floor(i / (T * O)), Math.floor(i / O) % T) ? 1e3 * (i % 2 ? 1 : -1) : v));
    const yCe2 = yCe.map((v, i) => (padded(Math.floor(i / T), i % T) ? (v + 1) % O : v));
    const yMse3 = yMse.slice(); yMse3[(1 * T + 1) * O] += 1; // sample 1, step 1 (valid)
    const run = async (y: Tensor | Int32Array, loss: "mse" | "crossEntropy") => {
      const m = model({ inputSize: I, hiddenSize: 5, seed: 1 }, O, 2, true);
      const h = await m.fit(x, y, { epochs: 3, batchSize: 3, loss, lengths, optimizer: new Adam({ lr: 0.05 }), seed: 4 });
        const w = flat(snapshot(m));
      m.dispose();
      return { w, h };
    };
    const a = await run(tensor(yMse, [N, T, O]), "mse"), b = await run(tensor(yMse2, [N, T, O]), "mse");
    expect(b.w).toEqual(a.w);
    expect(b.h).toEqual(a.h);
    expect((await run(tensor(yMse3, [N, T, O]), "mse")).w).not.toEqual(a.w);
    const c = await run(yCe, "crossEntropy"), d = await run(yCe2, "crossEntropy");
    expect(d.w).toEqual(c.w);
    expect(d.h).toEqual(c.h);
  });

  it("two fits with the same seeds and data give bit-identical weights and histories; another fit seed or init seed gives different ones", async () => {
    await use(build);
    const data = sumTask(7, 40, 5);
    const run = async (fitSeed: number, initSeed = 3) => {
      const m = model({ inputSize: 1, hiddenSize: 6, seed: initSeed }, 1, 4);
      const h = await m.fit(data.x, data.half, { epochs: 3, batchSize: 8, optimizer: new Adam({ lr: 0.01 }), seed: fitSeed });
      const w = flat(snapshot(m));
      m.dispose();
      return { w, h };
    };
    const a = await run(7), b = await run(7), c = await run(8), d = await run(7, 30);
    expect(b.w).toEqual(a.w);
    expect(b.h).toEqual(a.h);
    expect(c.w).not.toEqual(a.w);
    expect(c.h.loss).not.toEqual(a.h.loss);
    expect(d.w).not.toEqual(a.w);
  });

  it.each([["a NaN target", "nan"], ["an Infinity target", "inf"], ["a NaN input", "xnan"]])("%s in the third batch: fit rejects with an LSTMError naming fit, the weights are those after the second batch, and training resumes cleanly", async (_l, kind) => {
    await use(build);
    const N = 8, T = 3, data = sumTask(3, N, T);
    const x = tensor(data.x.data.slice(), data.x.shape), y = tensor(data.half.data.slice(), data.half.shape);
    if (kind === "nan") y.data[5] = NaN;
    else if (kind === "inf") y.data[5] = Infinity;
    else x.data[5 * T + 1] = NaN;
    const m = model({ inputSize: 1, hiddenSize: 4, seed: 1 }, 1, 2);
    const seen: Array<Record<string, Float32Array>> = [];
    const opts = { epochs: 2, batchSize: 2, shuffle: false, optimizer: new Adam({ lr: 0.01 }) };
    const e = await rejection(m.fit(x, y, { ...opts, onBatchEnd: () => { seen.push(snapshot(m)); } }), "fit");
    expect(e.received).toMatch(/loss (NaN|Infinity)/);
    expect(seen).toHaveLength(2);
    expect(snapshot(m)).toEqual(seen[1]);
    // The refused batch's gradients were dropped: the model now trains exactly as a copy of these weights does.
    const copy = model({ inputSize: 1, hiddenSize: 4, seed: 9 }, 1, 9);
    const sd = snapshot(m);
    lstmOf(copy).loadStateDict(lstmOf(m).stateDict());
    headOf(copy).loadStateDict(headOf(m).stateDict());
    expect(snapshot(copy)).toEqual(sd);
    const h1 = await m.fit(data.x, data.half, { ...opts, optimizer: new SGD({ lr: 0.1 }) });
    const h2 = await copy.fit(data.x, data.half, { ...opts, optimizer: new SGD({ lr: 0.1 }) });
    expect(h1).toEqual(h2);
    expect(snapshot(m)).toEqual(snapshot(copy));
    m.dispose(); copy.dispose();
  });

  it("a fit whose first batch must grow wasm memory (the head's workspace) trains exactly as one with room to spare", async () => {
    await use(build);
    const N = 8, T = 3, B = 4, data = sumTask(5, N, T);
    const opts = { epochs: 1, batchSize: B, shuffle: false, optimizer: new SGD({ lr: 0.1 }) };
    const make = () => model({ inputSize: 1, hiddenSize: 4, seed: 1 }, 1, 2);
    const roomy = make();
    const want = await roomy.fit(data.x, data.half, opts);
    // Same model; every buffer of the first batch but the head's allocated beforehand, then no room left.
    const m = make();
    lstmOf(m).forward(tensor(new Float32Array(T * B), [T, B, 1]), { train: true });
    lstmOf(m).backward({});
    const big = sumTask(6, 64, T);
    m.evaluate(big.x, big.half, { batchSize: 64 });
    const fillers = fillArenaToTheEnd();
    let outcome: unknown;
    try {
      outcome = await m.fit(data.x, data.half, opts).catch((err: unknown) => `rejected: ${String(err)}`);
    } finally {
      for (const p of fillers) backend().arena.release(p);
    }
    expect(outcome).toEqual(want);
    expect(snapshot(m)).toEqual(snapshot(roomy));
    m.dispose(); roomy.dispose();
  });

  it("Keras init: weight_hh has orthonormal columns (H=64; 2 bidirectional layers with projSize 16), weight_ih and weight_hr lie within their Glorot bounds, biases are 0 but bias_ih's forget block is 1", async () => {
    await use(build);
    const H = 64, forget = (i: number) => i >= H && i < 2 * H;
    for (const o of [{ inputSize: 10, hiddenSize: H }, { inputSize: 7, hiddenSize: H, projSize: 16, numLayers: 2, bidirectional: true }]) {
      const lstm = new LSTM({ ...o, init: "keras", seed: 5 }), again = new LSTM({ ...o, init: "keras", seed: 5 });
      const sd = lstm.stateDict();
      expect(again.stateDict()).toEqual(sd);
      for (const [name, { data, shape: [R, Cc] }] of Object.entries(sd)) {
        if (name.startsWith("weight_hh")) {
          expect(R).toBe(4 * H);
          let worst = 0;
          for (let i = 0; i < Cc; i++) for (let j = 0; j < Cc; j++) {
            let s = 0;
            for (let r = 0; r < R; r++) s += data[r * Cc + i] * data[r * Cc + j];
            worst = Math.max(worst, Math.abs(s - (i === j ? 1 : 0)));
          }
          expect(worst, `${name}: max |WᵀW − I|`).toBeLessThan(1e-5);
        } else if (name.startsWith("weight_")) { // weight_ih [4H, In], weight_hr [Hout, H]: Glorot, fan_in + fan_out
          const bound = Math.sqrt(6 / (R + Cc)), maxAbs = data.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
          expect(maxAbs, name).toBeLessThanOrEqual(bound);
          expect(maxAbs, name).toBeGreaterThan(0.9 * bound);
        } else {
          const want = (i: number) => (name.startsWith("bias_ih") && forget(i) ? 1 : 0);
          data.forEach((v, i) => expect(v, `${name}[${i}]`).toBe(want(i)));
        }
      }
      lstm.dispose(); again.dispose();
    }
    // unitForgetBias: false turns it off under Keras; under PyTorch init, true sets bias_ih's block to 1 (bias_hh's to 0) and nothing else.
    const o = { inputSize: 3, hiddenSize: H, seed: 1 };
    const [k, pt, plain] = [new LSTM({ ...o, init: "keras", unitForgetBias: false }), new LSTM({ ...o, unitForgetBias: true }), new LSTM(o)];
    expect(k.stateDict().bias_ih_l0.data.every((v) => v === 0)).toBe(true);
    const a = pt.stateDict(), b = plain.stateDict();
    a.bias_ih_l0.data.forEach((v, i) => expect(v).toBe(forget(i) ? 1 : b.bias_ih_l0.data[i]));
    a.bias_hh_l0.data.forEach((v, i) => expect(v).toBe(forget(i) ? 0 : b.bias_hh_l0.data[i]));
    expect(b.bias_ih_l0.data.every((v) => Math.abs(v) <= 1 / Math.sqrt(H))).toBe(true);
    expect(a.weight_ih_l0).toEqual(b.weight_ih_l0);
    for (const m of [k, pt, plain]) m.dispose();
  });
});

describe("fit's bookkeeping and argument checks", () => {
  beforeAll(async () => { await use("simd"); });
  const small = () => model({ inputSize: 1, hiddenSize: 4, seed: 1 }, 1, 2);

  it("validationSplit holds out the last samples: valLoss per epoch equals evaluate on them, and their targets never touch training", async () => {
    const N = 20, data = sumTask(8, N, 4);
    const xv = tensor(data.x.data.slice(15 * 4), [5, 4, 1]);
    const run = async (y: Tensor) => {
      const m = small(), evals: number[] = [], logs: Array<{ loss: number; valLoss?: number }> = [];
      const h = await m.fit(data.x, y, {
        epochs: 3, batchSize: 4, validationSplit: 0.25, optimizer: new Adam({ lr: 0.01 }), seed: 2,
        onEpochEnd: (_e, l) => { logs.push({ ...l }); evals.push(m.evaluate(xv, tensor(y.data.slice(15), [5, 1]))); },
      });
      const w = flat(snapshot(m));
      m.dispose();
      return { h, evals, logs, w };
    };
    const a = await run(data.half);
    expect(a.h.valLoss).toHaveLength(3);
    a.h.valLoss.forEach((v, e) => {
      expect(Math.abs(v - a.evals[e])).toBeLessThanOrEqual(1e-6 * a.evals[e]);
      expect(a.logs[e]).toEqual({ loss: a.h.loss[e], valLoss: v });
    });
    const y2 = tensor(data.half.data.map((v, i) => (i >= 15 ? v + 5 : v)), [N, 1]);
    const b = await run(y2);
    expect(b.w).toEqual(a.w);
    expect(b.h.loss).toEqual(a.h.loss);
    b.h.valLoss.forEach((v, e) => expect(v).toBeGreaterThan(a.h.valLoss[e] + 1));
    // Without a split: no valLoss anywhere.
    const m = small(), seen: unknown[] = [];
    const h = await m.fit(data.x, data.half, { epochs: 2, optimizer: new SGD({ lr: 0.1 }), onEpochEnd: (_e, l) => { seen.push(l.valLoss); } });
    expect(h.valLoss).toEqual([]);
    expect(seen).toEqual([undefined, undefined]);
    m.dispose();
  });

  it("onBatchEnd runs once per batch (ceil(nTrain/batchSize) per epoch) and onEpochEnd once per epoch, in order; each epoch's loss is the size-weighted mean of its batch losses; async callbacks are awaited", async () => {
    const N = 23, data = sumTask(9, N, 3), m = small();
    const batches: Array<{ batch: number; epoch: number; loss: number }> = [], epochs: number[] = [];
    let pending = false;
    const h = await m.fit(data.x, data.half, {
      epochs: 3, batchSize: 5, validationSplit: 0.1, optimizer: new SGD({ lr: 0.05 }), // nTrain = 21: batches of 5,5,5,5,1
      onBatchEnd: (batch, logs) => { expect(pending).toBe(false); batches.push({ batch, ...logs }); },
      onEpochEnd: async (e) => { epochs.push(e); pending = true; await new Promise((r) => setTimeout(r, 1)); pending = false; },
    });
    expect(epochs).toEqual([0, 1, 2]);
    expect(batches.map((b) => b.epoch)).toEqual([0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2]);
    for (let e = 0; e < 3; e++) {
      const mine = batches.slice(5 * e, 5 * e + 5);
      mine.forEach((b, i) => expect(b.batch - mine[0].batch).toBe(i)); // consecutive numbers within an epoch
      const mean = mine.reduce((s, b, i) => s + b.loss * (i < 4 ? 5 : 1), 0) / 21;
      expect(Math.abs(h.loss[e] - mean)).toBeLessThanOrEqual(1e-12 * mean);
    }
    m.dispose();
  });

  it("fit yields to the event loop: a setImmediate callback queued before a multi-batch fit runs before the fit resolves, and before its second epoch", async () => {
    const data = sumTask(10, 32, 4);
    for (const epochs of [1, 3]) {
      const m = small();
      let ran = false, ranBeforeEpoch1: boolean | null = null;
      setImmediate(() => { ran = true; });
      await m.fit(data.x, data.half, {
        epochs, batchSize: 4, optimizer: new SGD({ lr: 0.01 }),
        onBatchEnd: (_b, l) => { if (l.epoch === 1 && ranBeforeEpoch1 === null) ranBeforeEpoch1 = ran; },
      });
      expect(ran).toBe(true);
      if (epochs > 1) expect(ranBeforeEpoch1).toBe(true);
      m.dispose();
    }
  });

  it("a second fit while one is running is refused with an LSTMError naming fit; the first completes and later fits are accepted", async () => {
    const data = sumTask(11, 16, 3), m = small();
    const opts = { epochs: 2, batchSize: 4, optimizer: new SGD({ lr: 0.01 }) };
    const first = m.fit(data.x, data.half, opts);
    await rejection(m.fit(data.x, data.half, opts), "fit");
    expect((await first).loss).toHaveLength(2);
    expect((await m.fit(data.x, data.half, opts)).loss).toHaveLength(2);
    m.dispose();
  });

  it("Sequential refuses lists whose widths do not chain (naming the layer), non-layers, a layer twice, and unknown options", () => {
    const l = (o: Partial<LSTMOptions> = {}) => new LSTM({ inputSize: 2, hiddenSize: 4, seed: 1, ...o });
    const lin = (In: number, O = 1) => new Linear({ inputSize: In, outputSize: O, seed: 1 });
    const any = (v: unknown) => v as any;
    expect(() => new Sequential([l()]).dispose()).not.toThrow(); // any chaining list
    expect(() => new Sequential([l(), lin(4, 2), lin(2)]).dispose()).not.toThrow();
    expectErr(() => new Sequential([lin(2, 3), l()]), "layers[1].inputSize"); // 3 wide into an LSTM of inputSize 2
    expectErr(() => new Sequential([l(), lin(4, 2), lin(1)]), "layers[2].inputSize");
    expectErr(() => new Sequential([l(), l({ inputSize: 4 })]), "layers[1]"); // the first gives one row per sample
    expectErr(() => new Sequential(any([l(), {}])), "layers[1]");
    expectErr(() => new Sequential(any([])), "layers");
    const twice = lin(4);
    expectErr(() => new Sequential([l(), twice, twice]), "layers[2]");
    expectErr(() => new Sequential(any(null)), "layers");
    expectErr(() => new Sequential([l(), lin(5)]), "layers[1].inputSize");
    expectErr(() => new Sequential([l({ projSize: 3 }), lin(4)]), "layers[1].inputSize");
    expectErr(() => new Sequential([l({ bidirectional: true }), lin(4)]), "layers[1].inputSize");
    expect(() => new Sequential([l({ projSize: 3 }), lin(3)]).dispose()).not.toThrow();
    expect(() => new Sequential([l({ bidirectional: true, numLayers: 2 }), lin(8)]).dispose()).not.toThrow();
    expectErr(() => new Sequential([l(), lin(4)], any({ returnSequence: true })), "options.returnSequence");
    const gone = l(); gone.dispose();
    expectErr(() => new Sequential([gone, lin(4)]), "layers[0]");
  });

  it("fit rejects bad x, y, class indices, options and optimizers with an LSTMError naming the argument, changing no weight", async () => {
    const m = small(), N = 4, T = 3, data = sumTask(12, N, T), any = (v: unknown) => v as any;
    const cls = model({ inputSize: 1, hiddenSize: 4, seed: 1 }, 2, 2);
    const before = snapshot(m), beforeCls = snapshot(cls), sgd = new SGD({ lr: 0.1 }), ok = { optimizer: sgd };
    const ce = (y: unknown) => cls.fit(data.x, y as Int32Array, { ...ok, loss: "crossEntropy" });
    const bad = (opts: object) => m.fit(data.x, data.half, any({ ...ok, ...opts }));
    const cases: Array<[Promise<unknown>, string]> = [
      [m.fit(tensor(new Float32Array(N * T * 2), [N, T, 2]), data.half, ok), "x"],
      [m.fit(data.x, tensor(new Float32Array(N * 2), [N, 2]), ok), "y"],
      [m.fit(data.x, tensor(new Float32Array(N + 1), [N + 1, 1]), ok), "y"],
      [m.fit(data.x, tensor(new Float32Array(N * T), [N, T, 1]), ok), "y"],
      [ce([0, 1, 2, 1]), "y[2]"], [ce([-1, 1, 0, 1]), "y[0]"], [ce([0, 1, 0.5, 1]), "y[2]"], [ce(Int32Array.of(0, 1, 1)), "y"],
      [bad({ epoch: 3 }), "options.epoch"], [m.fit(data.x, data.half, any({})), "options.optimizer"],
      [bad({ optimizer: { step() {} } }), "options.optimizer"], [bad({ loss: "mae" }), "options.loss"],
      [bad({ epochs: 0 }), "options.epochs"], [bad({ batchSize: 1.5 }), "options.batchSize"],
      [bad({ validationSplit: 1 }), "options.validationSplit"], [bad({ clipNorm: 0 }), "options.clipNorm"],
      [bad({ lengths: [3, 4, 1, 2] }), "options.lengths[1]"], [bad({ lengths: [3, 3] }), "options.lengths"],
      [bad({ seed: -1 }), "options.seed"], [bad({ onBatchEnd: "log" }), "options.onBatchEnd"],
    ];
    for (const [p, argument] of cases) await rejection(p, argument);
    expect(snapshot(m)).toEqual(before);
    expect(snapshot(cls)).toEqual(beforeCls);
    expect(sgd.steps).toBe(0);
    m.dispose(); cls.dispose();
  });
});
