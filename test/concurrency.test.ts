// Concurrency: models that share a build's wasm memory never disturb each other; calls on a
// Sequential while its async fit runs either work or throw an LSTMError and never change what the
// fit computes; dispose() during a fit rejects it and frees everything; a second fit on the same
// model is refused; and models in two worker_threads at once give the main thread's bits.
import { describe, it, expect, beforeAll } from "vitest";
import { expectBits } from "./helpers/close";
import { Worker } from "node:worker_threads";
import { LSTM, Linear, Sequential, Adam, SGD, LSTMError, type Tensor, type LSTMOptions, type BackendName } from "../src/index";
import { backend } from "../src/wasm/backend";
import { BUILDS, use } from "./helpers/backends";
import { mulberry32 } from "./helpers/ref";

const rand = (rng: () => number, n: number, s = 1) => Float32Array.from({ length: n }, () => (2 * rng() - 1) * s);
const macrotask = () => new Promise<void>((r) => setImmediate(r));

function expectSameDict(label: string, a: Record<string, Float32Array>, b: Record<string, Float32Array>): void {
  expect(Object.keys(a), label).toEqual(Object.keys(b));
  for (const k of Object.keys(a)) expectBits(`${label} ${k}`, a[k], b[k]);
}
const dataOf = (d: Record<string, Tensor>) => Object.fromEntries(Object.entries(d).map(([k, v]) => [k, v.data]));

function expectLSTMError(e: unknown, what: string): LSTMError {
  expect(e, `${what}: expected an LSTMError, got ${String(e)}`).toBeInstanceOf(LSTMError);
  const err = e as LSTMError;
  expect(err.message, what).toMatch(/: expected .+, received .+/);
  return err;
}
async function rejection(p: Promise<unknown>, what: string): Promise<LSTMError> {
  const e = await p.then(() => null, (err: unknown) => err);
  return expectLSTMError(e, what);
}

beforeAll(async () => {
  for (const b of BUILDS) await use(b);
});

// ---------------------------------------------------------------- two models, interleaved calls

/** The calls of one model's script; each returns what it produced (copied), in order. */
function script(opts: LSTMOptions, seed: number): { lstm: () => LSTM; ops: Array<(m: LSTM) => Float32Array[]> } {
  const rng = mulberry32(seed);
  const { inputSize: I, hiddenSize: H } = opts;
  const Ho = opts.projSize || H, L = opts.numLayers ?? 1;
  const T = 6 + (seed % 5), B = 2 + (seed % 3);
  const x1 = rand(rng, T * B * I), dy1 = rand(rng, T * B * Ho), dhn = rand(rng, L * B * Ho);
  const x2 = rand(rng, (T + 9) * (B + 4) * I); // a bigger inference call in between
  const x3 = rand(rng, 3 * 7 * I), dy3 = rand(rng, 3 * 7 * Ho);
  const steps = Array.from({ length: 4 }, () => rand(rng, 2 * I));
  let state: ReturnType<LSTM["initialState"]> | null = null;
  const step = (k: number) => (m: LSTM) => {
    state ??= m.initialState(2);
    const h = m.step(steps[k], state);
    return [h.data, state.h.data.slice(), state.c.data.slice()];
  };
  const fwd = (r: { y: Tensor; hn: Tensor; cn: Tensor }) => [r.y.data, r.hn.data, r.cn.data];
  const back = (r: { dx: Tensor; dh0: Tensor; dc0: Tensor }) => [r.dx.data, r.dh0.data, r.dc0.data];
  return {
    lstm: () => { state = null; return new LSTM({ ...opts, seed }); },
    ops: [
      (m) => fwd(m.forward(x1, { seqLen: T, batch: B, train: true })),
      step(0),
      (m) => fwd(m.forward(x2, { seqLen: T + 9, batch: B + 4 })), // inference: backward still belongs to x1
      step(1),
      (m) => back(m.backward({ dy: dy1, dhn })),
      (m) => Object.values(m.grads()).map((t) => t.data),
      step(2),
      (m) => { m.zeroGrad(); return fwd(m.forward(x3, { seqLen: 3, batch: 7, train: true })); },
      (m) => back(m.backward({ dy: dy3 })),
      (m) => [...Object.values(m.grads()).map((t) => t.data), new Float32Array([m.clipGradNorm(0.1)])],
      step(3),
    ],
  };
}

const MODEL_A: LSTMOptions = { inputSize: 5, hiddenSize: 19, numLayers: 2, peephole: true };
const MODEL_B: LSTMOptions = { inputSize: 11, hiddenSize: 40, projSize: 13 };

function solo(opts: LSTMOptions, seed: number): Float32Array[][] {
  const s = script(opts, seed), m = s.lstm();
  const out = s.ops.map((op) => op(m));
  m.dispose();
  return out;
}

describe.each(BUILDS)("two models interleaving calls on the %s build", (build) => {
  beforeAll(async () => { await use(build); });

  it("forward/backward/step/grads interleaved in three schedules give exactly each model's results alone", () => {
    const aloneA = solo(MODEL_A, 21), aloneB = solo(MODEL_B, 22);
    const schedules: Array<Array<0 | 1>> = [];
    const n = aloneA.length;
    schedules.push(Array.from({ length: 2 * n }, (_, k) => (k % 2) as 0 | 1)); // A B A B …
    schedules.push(Array.from({ length: 2 * n }, (_, k) => ((k + 1) % 2) as 0 | 1)); // B A B A …
    const rng = mulberry32(5), mixed: Array<0 | 1> = [...Array(n).fill(0), ...Array(n).fill(1)];
    for (let i = mixed.length - 1; i > 0; i--) { const j = Math.floor(rng() * (i + 1)); [mixed[i], mixed[j]] = [mixed[j], mixed[i]]; }
    schedules.push(mixed); // random
    for (const [si, sched] of schedules.entries()) {
      const sa = script(MODEL_A, 21), sb = script(MODEL_B, 22);
      const ma = sa.lstm(), mb = sb.lstm();
      const got: [Float32Array[][], Float32Array[][]] = [[], []];
      const next = [0, 0];
      for (const who of sched) {
        const k = next[who]++;
        got[who].push(who === 0 ? sa.ops[k](ma) : sb.ops[k](mb));
      }
      [[got[0], aloneA, "A"], [got[1], aloneB, "B"]].forEach(([g, alone, name]) => {
        (alone as Float32Array[][]).forEach((outs, k) => outs.forEach((o, j) => expectBits(`schedule ${si}, model ${name}, call ${k}, output ${j}`, (g as Float32Array[][])[k][j], o)));
      });
      ma.dispose();
      mb.dispose();
    }
  });

  it("backward after an intervening inference forward and step() equals backward right after the training forward", () => {
    const rng = mulberry32(9), T = 5, B = 3, I = MODEL_A.inputSize, H = MODEL_A.hiddenSize;
    const x = rand(rng, T * B * I), dy = rand(rng, T * B * H);
    const direct = new LSTM({ ...MODEL_A, seed: 4 });
    direct.forward(x, { seqLen: T, batch: B, train: true });
    const d = direct.backward({ dy });
    const g = dataOf(direct.grads());
    const busy = new LSTM({ ...MODEL_A, seed: 4 });
    busy.forward(x, { seqLen: T, batch: B, train: true });
    busy.forward(rand(rng, 20 * 9 * I), { seqLen: 20, batch: 9, returnGates: true });
    busy.step(rand(rng, 4 * I), busy.initialState(4));
    const b = busy.backward({ dy });
    expectBits("dx", b.dx.data, d.dx.data);
    expectBits("dh0", b.dh0.data, d.dh0.data);
    expectSameDict("grads", dataOf(busy.grads()), g);
    direct.dispose();
    busy.dispose();
  });
});

describe.skipIf(BUILDS.length < 2)("two models on different builds", () => {
  it("interleaved calls on scalar and simd models give each one's results alone", async () => {
    const [ba, bb] = [BUILDS[0], BUILDS[BUILDS.length - 1]];
    await use(ba); const aloneA = solo(MODEL_A, 31);
    await use(bb); const aloneB = solo(MODEL_B, 32);
    const sa = script(MODEL_A, 31), sb = script(MODEL_B, 32);
    await use(ba); const ma = sa.lstm();
    await use(bb); const mb = sb.lstm();
    expect([ma.backend, mb.backend]).toEqual([ba, bb]);
    for (let k = 0; k < sa.ops.length; k++) {
      sb.ops[k](mb).forEach((o, j) => expectBits(`B call ${k} output ${j}`, o, aloneB[k][j]));
      sa.ops[k](ma).forEach((o, j) => expectBits(`A call ${k} output ${j}`, o, aloneA[k][j]));
    }
    ma.dispose();
    mb.dispose();
  });
});

// ---------------------------------------------------------------- a Sequential while its fit runs

const N = 48, T = 9, I = 3, O = 2;
function task(seed = 17) {
  const rng = mulberry32(seed), x = rand(rng, N * T * I), y = new Float32Array(N * O);
  const lengths = Array.from({ length: N }, () => 1 + Math.floor(rng() * T));
  for (let n = 0; n < N; n++) for (let t = 0; t < lengths[n]; t++) { y[n * O] += x[(n * T + t) * I] / 3; y[n * O + 1] += x[(n * T + t) * I + 1] * x[(n * T + t) * I + 2]; }
  return { x: { data: x, shape: [N, T, I] } as Tensor, y: { data: y, shape: [N, O] } as Tensor, lengths };
}
function makeModel(): { model: Sequential; opt: Adam } {
  const model = new Sequential([new LSTM({ inputSize: I, hiddenSize: 16, numLayers: 2, seed: 3 }), new Linear({ inputSize: 16, outputSize: O, seed: 4 })]);
  return { model, opt: new Adam({ lr: 1e-2 }) };
}
const FIT = { epochs: 5, batchSize: 6, clipNorm: 1, validationSplit: 0.25, seed: 8 };
function weights(m: Sequential): Record<string, Float32Array> {
  return dataOf(m.stateDict());
}

/** The undisturbed fit: its final weights and history. */
async function control(onBatchEnd?: () => Promise<void>) {
  const d = task(), { model, opt } = makeModel();
  const history = await model.fit(d.x, d.y, { ...FIT, lengths: d.lengths, optimizer: opt, onBatchEnd });
  const w = weights(model);
  model.dispose();
  opt.dispose();
  return { history, weights: w };
}

describe.each(BUILDS)("a Sequential while its fit runs, on the %s build", (build) => {
  beforeAll(async () => { await use(build); });

  it("predict, evaluate, save, lstm.forward/backward and stateDict during the fit work, see consistent weights, and leave the fit bit-identical", async () => {
    const ref = await control(macrotask);
    const d = task(), { model, opt } = makeModel();
    const rng = mulberry32(99);
    let calls = 0, batchCalls = 0, errors = 0;
    const interfere = () => {
      // Everything at one instant: the saved file, a model loaded from it and the live model must agree.
      const bytes = model.save();
      const sd = dataOf((model.layers[0] as LSTM).stateDict());
      const copy = Sequential.load(bytes);
      try {
        expectSameDict("stateDict during fit = saved weights", sd, dataOf((copy.layers[0] as LSTM).stateDict()));
        const bs = 1 + Math.floor(rng() * 40); // varied chunk sizes regrow the inference buffers
        const p = model.predict(d.x, { lengths: d.lengths, batchSize: bs });
        // (Same chunking on both: on the SIMD builds the last bit may depend on how many rows share a GEMM.)
        expectBits(`predict during fit (batchSize ${bs}) = loaded copy's`, p.data, copy.predict(d.x, { lengths: d.lengths, batchSize: bs }).data);
        const ev = model.evaluate(d.x, d.y, { lengths: d.lengths, batchSize: 1 + Math.floor(rng() * 50) });
        expect(ev, "evaluate during fit = loaded copy's").toBeCloseTo(copy.evaluate(d.x, d.y, { lengths: d.lengths }), 6);
        // The bare LSTM, inference and training forwards of other sizes (the training one replaces its cache).
        const Tb = 1 + Math.floor(rng() * 30), Bb = 1 + Math.floor(rng() * 30);
        const xb = rand(rng, Tb * Bb * I);
        const train = rng() < 0.5;
        const r = (model.layers[0] as LSTM).forward(xb, { seqLen: Tb, batch: Bb, train, returnGates: rng() < 0.3 });
        expectBits("lstm.forward during fit = loaded copy's", r.y.data, (copy.layers[0] as LSTM).forward(xb, { seqLen: Tb, batch: Bb }).y.data);
        // A stray backward adds into the shared gradients between batches; fit must not let it leak in.
        if (train) (model.layers[0] as LSTM).backward({ dhn: { data: new Float32Array(r.hn.data.length).fill(1), shape: r.hn.shape } });
        (model.layers[1] as Linear).stateDict();
        (model.layers[0] as LSTM).step(rand(rng, 2 * I), (model.layers[0] as LSTM).initialState(2));
        calls++;
      } catch (e) {
        // A refusal must be a clear LSTMError; anything else (or a wrong value) fails the test.
        if (!(e instanceof LSTMError)) throw e;
        errors++;
      } finally {
        copy.dispose();
      }
    };
    let failure: unknown = null;
    let running = true;
    const loop = async () => {
      while (running) {
        try { interfere(); } catch (e) { failure ??= e; }
        await macrotask();
      }
    };
    const fitting = model.fit(d.x, d.y, {
      ...FIT, lengths: d.lengths, optimizer: opt,
      onBatchEnd: async () => {
        try { interfere(); batchCalls++; } catch (e) { failure ??= e; }
        await macrotask(); // lets the loop above run between batches too
      },
    });
    const looping = loop();
    const history = await fitting;
    running = false;
    await looping;
    if (failure) throw failure;
    expect(errors, "no call was refused").toBe(0);
    expect(batchCalls).toBeGreaterThanOrEqual(FIT.epochs * Math.ceil(36 / FIT.batchSize));
    expect(calls).toBeGreaterThan(batchCalls);
    expect(history).toEqual(ref.history);
    expectSameDict("weights after an interfered fit", weights(model), ref.weights);
    model.dispose();
    opt.dispose();
  });

  it("a second fit on the same model while one runs is refused with an LSTMError; the first is undisturbed; afterwards fit works again", async () => {
    const ref = await control();
    const d = task(), { model, opt } = makeModel();
    const first = model.fit(d.x, d.y, { ...FIT, lengths: d.lengths, optimizer: opt });
    const err = await rejection(model.fit(d.x, d.y, { ...FIT, lengths: d.lengths, optimizer: new SGD({ lr: 10 }) }), "second fit");
    expect(err.argument).toBe("fit");
    // Also refused from inside the running fit's own callback.
    let inner: Promise<unknown> | null = null; // settled to its error at once, so no rejection goes unhandled
    const second = makeModel();
    const firstOfSecond = second.model.fit(d.x, d.y, {
      ...FIT, lengths: d.lengths, optimizer: second.opt,
      onEpochEnd: (e) => {
        if (e === 1) { const p = second.model.fit(d.x, d.y, { ...FIT, optimizer: new SGD({ lr: 10 }) }); inner = p; p.catch(() => {}); }
      },
    });
    const [h1, h2] = await Promise.all([first, firstOfSecond]);
    expect(inner).not.toBeNull();
    expect((await rejection(inner!, "fit from onEpochEnd")).argument).toBe("fit");
    expect(h1).toEqual(ref.history);
    expect(h2).toEqual(ref.history);
    expectSameDict("first fit's weights", weights(model), ref.weights);
    expectSameDict("weights of the model whose callback tried a second fit", weights(second.model), ref.weights);
    // Refusal did not leave the model stuck in "fitting".
    await model.fit(d.x, d.y, { epochs: 1, optimizer: new SGD({ lr: 1e-3 }) });
    for (const m of [model, second.model]) m.dispose();
    for (const o of [opt, second.opt]) o.dispose();
  });

  it("two different Sequentials fitting concurrently on one build each give their solo result", async () => {
    const ref = await control();
    const alone2 = await (async () => {
      const m = new Sequential([new LSTM({ inputSize: I, hiddenSize: 7, bidirectional: true, seed: 5 }), new Linear({ inputSize: 14, outputSize: O, seed: 6 })]);
      const o = new SGD({ lr: 0.05, momentum: 0.9 }), dd = task(18);
      const h = await m.fit(dd.x, dd.y, { epochs: 4, batchSize: 5, optimizer: o, seed: 2 });
      const w = weights(m); m.dispose(); o.dispose();
      return { h, w };
    })();
    const d = task(), a = makeModel();
    const m2 = new Sequential([new LSTM({ inputSize: I, hiddenSize: 7, bidirectional: true, seed: 5 }), new Linear({ inputSize: 14, outputSize: O, seed: 6 })]);
    const o2 = new SGD({ lr: 0.05, momentum: 0.9 }), d2 = task(18);
    let alternations = 0, last = -1;
    const tick = (who: number) => async () => { if (last !== who) alternations++; last = who; await macrotask(); };
    const [h1, h2] = await Promise.all([
      a.model.fit(d.x, d.y, { ...FIT, lengths: d.lengths, optimizer: a.opt, onBatchEnd: tick(1) }),
      m2.fit(d2.x, d2.y, { epochs: 4, batchSize: 5, optimizer: o2, seed: 2, onBatchEnd: tick(2) }),
    ]);
    expect(alternations, "the two fits really interleaved").toBeGreaterThan(10);
    expect(h1).toEqual(ref.history);
    expectSameDict("first model", weights(a.model), ref.weights);
    expect(h2).toEqual(alone2.h);
    expectSameDict("second model", weights(m2), alone2.w);
    a.model.dispose(); a.opt.dispose(); m2.dispose(); o2.dispose();
  });
});

// ---------------------------------------------------------------- dispose() during fit

describe.each(BUILDS)("dispose() during a fit, on the %s build", (build) => {
  beforeAll(async () => { await use(build); });

  /** Arena bytes a completed fit leaves behind after model.dispose() (the optimizer's moments only). */
  async function leftoverOfCompletedFit(): Promise<number> {
    const base = backend().arena.inUse;
    const d = task(), { model, opt } = makeModel();
    await model.fit(d.x, d.y, { ...FIT, epochs: 1, lengths: d.lengths, optimizer: opt });
    model.dispose();
    const left = backend().arena.inUse - base;
    opt.dispose();
    expect(backend().arena.inUse).toBe(base);
    return left;
  }

  const cases: Array<[string, (m: Sequential, arm: (f: () => void) => void) => void]> = [
    ["model.dispose() from onBatchEnd", (m, arm) => arm(() => m.dispose())],
    ["model.dispose() from onEpochEnd", (m, arm) => arm(() => m.dispose())],
    ["model.dispose() from a timer outside the fit", (m) => { setTimeout(() => m.dispose(), 0); }],
    ["(model.layers[0] as LSTM).dispose() (a layer) from onBatchEnd", (m, arm) => arm(() => (m.layers[0] as LSTM).dispose())],
    ["(model.layers[1] as Linear).dispose() (a layer) from onBatchEnd", (m, arm) => arm(() => (m.layers[1] as Linear).dispose())],
  ];

  for (const [name, how] of cases) {
    it(`${name}: fit rejects with an LSTMError and the arena returns to its baseline`, async () => {
      const optimizerBytes = await leftoverOfCompletedFit();
      const base = backend().arena.inUse;
      const d = task(), { model, opt } = makeModel();
      let armed: (() => void) | null = null, batches = 0;
      const arm = (f: () => void) => { armed = f; };
      how(model, arm);
      const byEpoch = name.includes("onEpochEnd");
      const p = model.fit(d.x, d.y, {
        ...FIT, lengths: d.lengths, optimizer: opt,
        onBatchEnd: (b, l) => { batches++; if (!byEpoch && armed && l.epoch === 1 && b === 2) { armed(); armed = null; } },
        onEpochEnd: (e) => { if (byEpoch && armed && e === 1) { armed(); armed = null; } },
      });
      const err = await rejection(p, name);
      expect(err.argument).toMatch(/^(model|lstm|linear)$/);
      expect(batches, "the fit stopped early").toBeLessThan(FIT.epochs * Math.ceil(36 / FIT.batchSize));
      // Every later call is refused clearly too; a second dispose is harmless.
      for (const f of [() => model.predict(d.x), () => model.save(), () => model.evaluate(d.x, d.y)]) {
        let e: unknown = null;
        try { f(); } catch (x) { e = x; }
        expectLSTMError(e, `${name}: a call after dispose`);
      }
      await rejection(model.fit(d.x, d.y, { optimizer: opt }), `${name}: fit after dispose`);
      model.dispose();
      model.dispose();
      // Only the optimizer's moments remain (as after any fit), and they go with opt.dispose().
      expect(backend().arena.inUse - base, "bytes left besides the optimizer's state").toBe(optimizerBytes);
      opt.dispose();
      expect(backend().arena.inUse, "arena in use after dispose").toBe(base);
      // The build is unharmed: a new fit gives the undisturbed result.
      const ref = await control();
      const again = makeModel();
      await again.model.fit(d.x, d.y, { ...FIT, lengths: d.lengths, optimizer: again.opt });
      expectSameDict("a fit after the disposed one", weights(again.model), ref.weights);
      again.model.dispose();
      again.opt.dispose();
      expect(backend().arena.inUse).toBe(base);
    });
  }
});

// ---------------------------------------------------------------- worker_threads

describe("models in two worker_threads at once", () => {
  const WORKER = new URL("./concurrency.worker.mjs", import.meta.url);
  const DIST = new URL("../dist/index.js", import.meta.url).href;
  const JOBS = [
    { N: 40, T: 12, I: 3, H: 24, O: 2, seed: 101, epochs: 6 },
    { N: 32, T: 7, I: 5, H: 33, O: 1, seed: 202, epochs: 6 },
  ];

  interface Result { backend: string; weights: Record<string, Float32Array>; loss: number[]; predict: Float32Array }
  function inWorker(job: (typeof JOBS)[number] & { backend: BackendName }, barrier: SharedArrayBuffer): Promise<{ result: Result; started: number; ended: number }> {
    return new Promise((resolve, reject) => {
      const w = new Worker(WORKER, { workerData: { job, dist: DIST, barrier, parties: JOBS.length } });
      w.once("message", (m) => { void w.terminate(); if (m.ok) resolve(m); else reject(new Error(m.error)); });
      w.once("error", reject);
      w.once("exit", (code) => { if (code !== 0 && code !== 1) reject(new Error(`worker exited with ${code}`)); });
    });
  }

  for (const build of BUILDS) {
    it(`on the ${build} build: both train, at the same time, bit-identical to the main thread`, async () => {
      const barrier = new SharedArrayBuffer(4);
      const jobs = JOBS.map((j) => ({ ...j, backend: build }));
      const fromWorkers = await Promise.all(jobs.map((j) => inWorker(j, barrier)));
      // The same code (train() from the worker module) on the main thread, with the same bundle.
      const { train } = await import(WORKER.href);
      const lib = await import(DIST);
      for (const [k, job] of jobs.entries()) {
        const mine: Result = await train(lib, job);
        const theirs = fromWorkers[k].result;
        expect(theirs.backend).toBe(build);
        expect(mine.backend).toBe(build);
        expect(theirs.loss.every(Number.isFinite)).toBe(true);
        expect(theirs.loss.at(-1)!, "it trained").toBeLessThan(theirs.loss[0]);
        expect(theirs.loss, `job ${k} loss history`).toEqual(mine.loss);
        expectSameDict(`job ${k} weights`, theirs.weights, mine.weights);
        expectBits(`job ${k} predictions`, theirs.predict, mine.predict);
      }
      // Both ran at once (they waited at a barrier before training).
      const [a, b] = fromWorkers;
      expect(Math.max(a.started, b.started), "the two trainings overlapped").toBeLessThan(Math.min(a.ended, b.ended));
    });
  }
});
