// Memory over long runs, measured. The long loops run in a child `node --expose-gc` process that
// imports the bundle (dist/index.js; `npm run build:js` rebuilds it), so gc() can settle the JS heap
// before each reading: wasm memory (memory.buffer.byteLength and arena.inUse) must be exactly flat
// after a warm-up, and the JS heap flat within HEAP_BOUND. The measured numbers are in every
// assertion message (and printed with LSTM_SOAK_VERBOSE=1).
//
// In this process: memory that grows during a call leaves returned tensors, a held LSTMState and
// every later result intact; dispose() gives back everything a model held, and a second dispose()
// is harmless.
import { describe, it, expect, beforeAll } from "vitest";
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { init, LSTM, Linear, Sequential, SGD, Adam, LSTMError, clipGradNorm, type Tensor } from "../src/index";
import { backend } from "../src/wasm/backend";

const DIST = join(dirname(fileURLToPath(import.meta.url)), "..", "dist", "index.js");
/** Growth of the JS heap (heapUsed after gc) allowed over a whole phase. */
const HEAP_BOUND = 2 * 2 ** 20;
const VERBOSE = process.env.LSTM_SOAK_VERBOSE === "1";

interface Phase { name: string; iterations: number; ms: number; heapBefore: number; heapAfter: number; wasmBefore: number; wasmAfter: number; inUseBefore: number; inUseAfter: number }

// The child: each phase warms up (1 % of its iterations, at least 100), settles the heap with gc(),
// reads the three measures, runs, settles again and reads them again.
const CHILD = (dist: string) => `
import { init, LSTM, Linear, Sequential, SGD, Adam } from ${JSON.stringify(dist)};
const { backend } = await init();
const sentinel = new LSTM({ inputSize: 1, hiddenSize: 1, seed: 1 });
const be = sentinel.engine.be; // the build's memory and arena (an internal getter of the bundle)
const settle = () => { for (let i = 0; i < 3; i++) gc(); };
const read = () => { settle(); return { heap: process.memoryUsage().heapUsed, wasm: be.k.memory.buffer.byteLength, inUse: be.arena.inUse }; };
const phases = [];
async function phase(name, iterations, body) {
  const warm = Math.max(100, Math.ceil(iterations / 100));
  for (let i = 0; i < warm; i++) await body(i);
  const a = read(), t0 = performance.now();
  for (let i = 0; i < iterations; i++) await body(i);
  const ms = performance.now() - t0, b = read();
  phases.push({ name, iterations, ms, heapBefore: a.heap, heapAfter: b.heap, wasmBefore: a.wasm, wasmAfter: b.wasm, inUseBefore: a.inUse, inUseAfter: b.inUse });
}
const wave = (n, k = 1) => Float32Array.from({ length: n }, (_, i) => Math.sin(k * (i + 1)));
const x = { data: wave(5 * 2 * 4), shape: [5, 2, 4] };
await phase("new LSTM → forward → dispose", 10000, (i) => { const m = new LSTM({ inputSize: 4, hiddenSize: 8, seed: i }); m.forward(x); m.dispose(); });

const one = new LSTM({ inputSize: 4, hiddenSize: 8, seed: 2 });
const small = { data: wave(2 * 1 * 4, 2), shape: [2, 1, 4] };
await phase("forward (T=2, B=1) on one model", 100000, () => { one.forward(small); });
const state = one.initialState(1), xt = wave(4, 3);
await phase("step (B=1) on one model", 100000, () => { one.step(xt, state); });
// Allocation, not leaks: steps with a Float32Array frame and an out tensor, in two windows of
// different lengths, each after gc() and with no GC allowed inside, so heapUsed counts what they
// allocated. A window's reading carries a fixed offset (about 150 KB here, whatever the length), so
// the per-step figure is the slope between the two.
const { PerformanceObserver } = await import("node:perf_hooks");
async function allocWindow(n, body) {
  let gcs = 0;
  const obs = new PerformanceObserver((list) => { gcs += list.getEntries().length; });
  settle();
  obs.observe({ entryTypes: ["gc"] });
  const h0 = process.memoryUsage().heapUsed;
  for (let i = 0; i < n; i++) body();
  const h1 = process.memoryUsage().heapUsed;
  await new Promise((r) => setTimeout(r, 0)); // gc entries arrive asynchronously
  obs.disconnect();
  return { n, bytes: h1 - h0, gcs };
}
async function allocation(n, body) {
  for (let i = 0; i < n / 10; i++) body(); // warm-up
  const t0 = performance.now(), w = await allocWindow(n, body);
  return { ...w, ms: performance.now() - t0 };
}
const outT = { data: new Float32Array(8), shape: [1, 8] };
const alloc = { step: await allocation(200000, () => one.step(xt, state, outT)) };
const opt = new Adam({ lr: 1e-3 }), dy = { data: wave(2 * 1 * 8, 4), shape: [2, 1, 8] };
await phase("training step: forward(train) → backward → clipGradNorm → Adam.step → zeroGrad", 20000, () => {
  one.forward(small, { train: true }); one.backward({ dy }); one.clipGradNorm(1); opt.step(one); one.zeroGrad();
});
// The same loop written for a hot path: every result into an out tensor (batch-first, with lengths).
const bfm = new LSTM({ inputSize: 4, hiddenSize: 8, seed: 5, batchFirst: true });
const fo = { train: true, lengths: [3, 2], out: { y: { data: new Float32Array(2 * 3 * 8), shape: [2, 3, 8] }, hn: { data: new Float32Array(16), shape: [1, 2, 8] }, cn: { data: new Float32Array(16), shape: [1, 2, 8] } } };
const bo = { dy: { data: wave(2 * 3 * 8, 7), shape: [2, 3, 8] }, out: { dx: { data: new Float32Array(2 * 3 * 4), shape: [2, 3, 4] }, dh0: { data: new Float32Array(16), shape: [1, 2, 8] }, dc0: { data: new Float32Array(16), shape: [1, 2, 8] } } };
const bx = { data: wave(2 * 3 * 4, 8), shape: [2, 3, 4] }, opt2 = new Adam({ lr: 1e-3 });
// Without the optimizer step: passing its doubles into wasm may box a few numbers per call (about
// 48 bytes) while V8 runs it unoptimized, which is the JIT's doing, not the library's.
alloc.train = await allocation(200000, () => { bfm.forward(bx, fo); bfm.backward(bo); bfm.zeroGrad(); });
opt2.step(bfm);
const X = { data: wave(4 * 3 * 2, 5), shape: [4, 3, 2] }, Y = { data: wave(4, 6), shape: [4, 1] };
await phase("new Sequential → fit (Adam) → predict → save → load → dispose all (optimizer disposed)", 2000, async (i) => {
  const s = new Sequential([new LSTM({ inputSize: 2, hiddenSize: 4, seed: i }), new Linear({ inputSize: 4, outputSize: 1, seed: i })]);
  const o = new Adam({ lr: 1e-3 });
  await s.fit(X, Y, { optimizer: o, epochs: 1, batchSize: 2 });
  s.predict(X);
  const again = Sequential.load(s.save());
  again.predict(X);
  again.dispose(); s.dispose(); o.dispose();
});
await phase("new Sequential → fit with a new Adam → dispose the model (the optimizer is dropped, not disposed)", 1000, async (i) => {
  const s = new Sequential([new LSTM({ inputSize: 2, hiddenSize: 4, seed: i }), new Linear({ inputSize: 4, outputSize: 1, seed: i })]);
  await s.fit(X, Y, { optimizer: new Adam({ lr: 1e-3 }), epochs: 1, batchSize: 4 });
  s.dispose();
});
console.log(JSON.stringify({ backend, node: process.version, phases, alloc }));
`;

const kb = (n: number) => `${(n / 1024).toFixed(1)} KB`;
const show = (p: Phase) =>
  `${p.name}: ${p.iterations} iterations in ${p.ms.toFixed(0)} ms; JS heap after gc ${kb(p.heapBefore)} → ${kb(p.heapAfter)} (${p.heapAfter >= p.heapBefore ? "+" : ""}${kb(p.heapAfter - p.heapBefore)}); ` +
  `wasm memory ${p.wasmBefore} → ${p.wasmAfter} bytes; arena.inUse ${p.inUseBefore} → ${p.inUseAfter} bytes`;

describe("soak: long runs in a child node --expose-gc process (the bundle)", () => {
  let phases: Phase[] = [];
  let alloc: Record<string, { n: number; bytes: number; gcs: number; ms: number }> = {};
  let header = "";
  beforeAll(() => {
    if (!existsSync(DIST)) throw new Error(`${DIST} is missing: run npm run build:js`);
    const t0 = Date.now();
    const r = spawnSync(process.execPath, ["--expose-gc", "--max-semi-space-size=1", "--input-type=module", "-e", CHILD(pathToFileURL(DIST).href)], { encoding: "utf8", timeout: 120_000 });
    if (r.status !== 0) throw new Error(`the soak child ${r.signal ? `was killed (${r.signal})` : `exited ${r.status}`} after ${Date.now() - t0} ms: ${r.stderr}`);
    const out = JSON.parse(r.stdout.trim().split("\n").pop()!);
    phases = out.phases;
    alloc = out.alloc;
    header = `backend ${out.backend}, node ${out.node}, ${Date.now() - t0} ms in all`;
    if (VERBOSE) console.log([header, ...phases.map(show)].join("\n"));
  }, 130_000);

  const phaseNamed = (prefix: string) => {
    const p = phases.find((q) => q.name.startsWith(prefix));
    if (!p) throw new Error(`no phase ${prefix}`);
    return p;
  };
  const flat = (prefix: string) => () => {
    const p = phaseNamed(prefix), msg = `${show(p)} (${header})`;
    expect(p.wasmAfter, `wasm memory grew: ${msg}`).toBe(p.wasmBefore);
    expect(p.inUseAfter, `arena.inUse changed: ${msg}`).toBe(p.inUseBefore);
    expect(p.heapAfter - p.heapBefore, `JS heap grew by more than ${kb(HEAP_BOUND)}: ${msg}`).toBeLessThan(HEAP_BOUND);
  };

  it("10,000 × new LSTM → forward → dispose: wasm memory exactly flat, JS heap flat", flat("new LSTM → forward → dispose"));
  it("100,000 × forward (small) on one model: wasm memory exactly flat, JS heap flat", flat("forward (T=2, B=1)"));
  it("100,000 × step on one model: wasm memory exactly flat, JS heap flat", flat("step (B=1)"));
  // Allocation, not leaks. The child's young generation is held to 1 MB (--max-semi-space-size=1),
  // so calls that allocated even 16 bytes each would fill it several times over and set off a
  // scavenge; none may run. (A heapUsed difference is reported too, but JIT work moves it by
  // tens of kilobytes either way, so it is not what is asserted.)
  const allocates = (key: string, what: string) => () => {
    const w = alloc[key];
    const msg = `${what}: ${w.n} calls in ${w.ms.toFixed(0)} ms, ${w.gcs} GC runs, heapUsed ${w.bytes >= 0 ? "+" : ""}${w.bytes} bytes (${header})`;
    expect(w.n * 16, msg).toBeGreaterThan(2 * 2 ** 20);
    expect(w.gcs, `a GC ran, so something was allocated: ${msg}`).toBe(0);
  };
  it("200,000 × step(Float32Array, state, out): nothing allocated (no GC with a 1 MB young generation)", allocates("step", "step"));
  it("200,000 × forward(train) + backward with out tensors (batch-first, lengths) + zeroGrad: nothing allocated", allocates("train", "forward + backward + zeroGrad"));
  it("20,000 × training step with Adam on one model: wasm memory exactly flat, JS heap flat", flat("training step"));
  it("2,000 × Sequential create → fit → predict → save → load → dispose: wasm memory exactly flat, JS heap flat", flat("new Sequential → fit (Adam)"));
  it("the whole soak stays within its time budget", () => {
    const total = phases.reduce((s, p) => s + p.ms, 0);
    expect(total, phases.map(show).join("\n")).toBeLessThan(25_000);
  });
  // A model disposed after fit({ optimizer: new Adam() }) keeps nothing, but the optimizer keeps its
  // two moment blocks in wasm memory until opt.dispose(); once the optimizer object is dropped nothing
  // can free them (no FinalizationRegistry), so a loop that makes a fresh optimizer per model leaks.
  it("1,000 × Sequential fit with a fresh Adam that is never disposed, then model.dispose(): wasm memory flat", flat("new Sequential → fit with a new Adam"));
});

// ------------------------------------------------------------------ in this process

const wave = (n: number, k = 1) => Float32Array.from({ length: n }, (_, i) => Math.sin(k * (i + 1)));
const bits = (a: Float32Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));

describe("wasm memory that grows during a call", () => {
  beforeAll(async () => { await init(); });

  it("leaves returned tensors and a held LSTMState intact, and every later result is the one a model with room to spare gives", () => {
    const be = backend();
    const cfg = { inputSize: 3, hiddenSize: 16, numLayers: 2, seed: 1 };
    const A = new LSTM(cfg);
    const T = 6, B = 2, I = 3;
    const x: Tensor = { data: wave(T * B * I), shape: [T, B, I] };
    const xt = (t: number) => x.data.slice(t * B * I, (t + 1) * B * I);
    // Held across the growth: a forward's result, streaming outputs and the state they came from.
    const r = A.forward(x);
    const held = { y: r.y.data.slice(), hn: r.hn.data.slice(), cn: r.cn.data.slice() };
    const state = A.initialState(B);
    const streamed = [0, 1, 2].map((t) => A.step(xt(t), state));
    const streamedCopy = streamed.map((s) => s.data.slice());
    const stateCopy = { h: state.h.data.slice(), c: state.c.data.slice() };
    const seq = new Sequential([new LSTM({ inputSize: I, hiddenSize: 8, seed: 2 }), new Linear({ inputSize: 8, outputSize: 2, seed: 2 })]);
    const nx = { data: wave(4 * T * I, 2), shape: [4, T, I] };
    const pred = seq.predict(nx), predCopy = pred.data.slice();

    // A training forward far larger than the memory there is: memory must grow inside this call.
    const oldBuffer = be.k.memory.buffer, oldBytes = oldBuffer.byteLength;
    const bigT = 256, bigB = 32;
    const bigX: Tensor = { data: wave(bigT * bigB * I, 3), shape: [bigT, bigB, I] };
    const big = A.forward(bigX, { train: true });
    expect(oldBuffer.byteLength, "memory did not grow during the call (the old buffer is still attached)").toBe(0);
    expect(be.k.memory.buffer.byteLength).toBeGreaterThan(oldBytes);
    const dyBig = { data: wave(big.y.data.length, 4), shape: big.y.shape };
    const bigBack = A.backward({ dy: dyBig });

    // And another model's growth in between: a big model, a big forward, then disposed.
    const before2 = be.k.memory.buffer;
    const C = new LSTM({ inputSize: 256, hiddenSize: 512, seed: 3 });
    C.forward({ data: wave(64 * 16 * 256, 5), shape: [64, 16, 256] }, { train: true });
    expect(before2.byteLength, "the second growth did not happen").toBe(0);
    C.dispose();

    // The held values are untouched.
    expect(bits(r.y.data)).toEqual(bits(held.y));
    expect(bits(r.hn.data)).toEqual(bits(held.hn));
    expect(bits(r.cn.data)).toEqual(bits(held.cn));
    streamed.forEach((s, t) => expect(bits(s.data), `step ${t}`).toEqual(bits(streamedCopy[t])));
    expect(bits(state.h.data)).toEqual(bits(stateCopy.h));
    expect(bits(state.c.data)).toEqual(bits(stateCopy.c));
    expect(bits(pred.data)).toEqual(bits(predCopy));

    // Every later result equals a twin's, made after the growth (so it never had to grow for them).
    const twin = new LSTM(cfg);
    const tb = twin.forward(bigX, { train: true });
    expect(bits(big.y.data)).toEqual(bits(tb.y.data));
    const twinBack = twin.backward({ dy: dyBig });
    expect(bits(bigBack.dx.data)).toEqual(bits(twinBack.dx.data));
    for (const [k, g] of Object.entries(A.grads())) expect(bits(g.data), k).toEqual(bits(twin.grads()[k].data));
    expect(bits(A.forward(x).y.data)).toEqual(bits(held.y));
    const twinState = twin.initialState(B);
    for (let t = 0; t < T; t++) {
      const want = twin.step(xt(t), twinState);
      if (t < 3) expect(bits(want.data)).toEqual(bits(streamedCopy[t]));
      else expect(bits(A.step(xt(t), state).data), `step ${t} after the growth`).toEqual(bits(want.data));
    }
    expect(bits(seq.predict(nx).data)).toEqual(bits(predCopy));
    A.dispose(); twin.dispose(); seq.dispose();
  });

  it("a fit whose optimizer state and buffers must grow memory mid-training trains exactly as one with room to spare", async () => {
    const be = backend();
    const make = () => new Sequential([new LSTM({ inputSize: 2, hiddenSize: 64, seed: 4 }), new Linear({ inputSize: 64, outputSize: 1, seed: 4 })]);
    const x = { data: wave(64 * 20 * 2, 6), shape: [64, 20, 2] }, y = { data: wave(64, 7), shape: [64, 1] };
    const grow = make();
    // Take free blocks until memory has to grow once: what is left free is then less than one filler
    // (about 270 KB), and the first training batch needs more than that (its gates alone take 655 KB).
    const filler: LSTM[] = [];
    const start = be.k.memory.buffer;
    while (start.byteLength > 0) filler.push(new LSTM({ inputSize: 64, hiddenSize: 64, seed: filler.length }));
    const buf = be.k.memory.buffer;
    const o1 = new Adam({ lr: 1e-2 });
    const h1 = await grow.fit(x, y, { optimizer: o1, epochs: 2, batchSize: 32, shuffle: false });
    expect(buf.byteLength, "memory did not grow during fit").toBe(0);
    for (const f of filler) f.dispose();
    const roomy = make();
    const o2 = new Adam({ lr: 1e-2 });
    const h2 = await roomy.fit(x, y, { optimizer: o2, epochs: 2, batchSize: 32, shuffle: false });
    expect(h1).toEqual(h2);
    expect(bits(grow.predict(x).data)).toEqual(bits(roomy.predict(x).data));
    grow.dispose(); roomy.dispose(); o1.dispose(); o2.dispose();
  });
});

describe("dispose", () => {
  beforeAll(async () => { await init(); });

  const refusedAfterDispose = (fn: () => unknown) => {
    let e: unknown = null;
    try { fn(); } catch (err) { e = err; }
    expect(e).toBeInstanceOf(LSTMError);
  };

  it("an LSTM gives back everything it held (parameters, gradients, training, inference and backward buffers); twice is harmless", () => {
    const be = backend();
    clipGradNorm([new Float32Array(4)], 1); // the shared clipping scratch, reused by every call: allocated once, before the baseline
    const base = be.arena.inUse;
    const m = new LSTM({ inputSize: 3, hiddenSize: 12, numLayers: 2, bidirectional: true, projSize: 5, peephole: true, seed: 5 });
    const x = { data: wave(7 * 3 * 3), shape: [7, 3, 3] };
    const r = m.forward(x, { train: true, returnGates: true, lengths: [7, 2, 5] });
    m.backward({ dy: { data: wave(r.y.data.length, 2), shape: r.y.shape } });
    m.forward(x);
    m.clipGradNorm(1);
    expect(be.arena.inUse).toBeGreaterThan(base);
    m.dispose();
    expect(be.arena.inUse, `dispose left ${be.arena.inUse - base} bytes in use`).toBe(base);
    expect(() => m.dispose()).not.toThrow();
    expect(be.arena.inUse).toBe(base);
    refusedAfterDispose(() => m.forward(x));
    const s = new LSTM({ inputSize: 3, hiddenSize: 4, seed: 6 });
    s.step(wave(6), s.initialState(2));
    s.dispose();
    expect(be.arena.inUse).toBe(base);
  });

  it("a Linear likewise", () => {
    const be = backend(), base = be.arena.inUse;
    const l = new Linear({ inputSize: 5, outputSize: 3, seed: 7 });
    l.forward({ data: wave(40), shape: [8, 5] }, { train: true });
    l.backward({ data: wave(24), shape: [8, 3] });
    l.dispose();
    expect(be.arena.inUse).toBe(base);
    expect(() => l.dispose()).not.toThrow();
    expect(be.arena.inUse).toBe(base);
    refusedAfterDispose(() => l.forward({ data: wave(5), shape: [1, 5] }));
  });

  it("a Sequential gives back its layers', its own and its optimizer's memory on dispose; twice is harmless", async () => {
    const be = backend(), base = be.arena.inUse;
    const s = new Sequential([new LSTM({ inputSize: 2, hiddenSize: 6, seed: 8, returnSequences: true }), new Linear({ inputSize: 6, outputSize: 1, seed: 8 })]);
    const x = { data: wave(5 * 4 * 2), shape: [5, 4, 2] }, y = { data: wave(5 * 4, 3), shape: [5, 4, 1] };
    const opt = new SGD({ lr: 0.1, momentum: 0.9 });
    await s.fit(x, y, { optimizer: opt, epochs: 2, batchSize: 2, lengths: [4, 1, 2, 3, 4] });
    s.predict(x);
    const withMoments = be.arena.inUse;
    const params = (s as any).target.total * 4;
    s.dispose();
    const moments = be.arena.inUse - base;
    // The optimizer's momentum buffer (params bytes) goes with the model it was bound to.
    expect(moments, `after dispose ${moments} bytes remain; the momentum buffer is ${params} bytes (of ${withMoments - base} in use before)`).toBe(0);
    expect(withMoments - base).toBeGreaterThanOrEqual(3 * params); // params, grads and the momentum buffer were in use
    opt.dispose();
    expect(be.arena.inUse).toBe(base);
    expect(() => { s.dispose(); opt.dispose(); }).not.toThrow();
    expect(be.arena.inUse).toBe(base);
    refusedAfterDispose(() => s.predict(x));
    refusedAfterDispose(() => (s.layers[0] as LSTM).forward({ data: wave(2), shape: [1, 1, 2] }));
  });

  it("disposing the layers before their Sequential, or the Sequential in the middle of fit, also ends at the baseline", async () => {
    const be = backend(), base = be.arena.inUse;
    const s = new Sequential([new LSTM({ inputSize: 2, hiddenSize: 6, seed: 9 }), new Linear({ inputSize: 6, outputSize: 1, seed: 9 })]);
    (s.layers[0] as LSTM).dispose();
    (s.layers[1] as Linear).dispose();
    refusedAfterDispose(() => s.predict({ data: wave(4), shape: [1, 2, 2] }));
    s.dispose();
    expect(be.arena.inUse).toBe(base);

    const t = new Sequential([new LSTM({ inputSize: 2, hiddenSize: 6, seed: 10 }), new Linear({ inputSize: 6, outputSize: 1, seed: 10 })]);
    const opt = new Adam({ lr: 1e-2 });
    let err: unknown = null;
    try {
      await t.fit({ data: wave(8 * 3 * 2), shape: [8, 3, 2] }, { data: wave(8), shape: [8, 1] },
        { optimizer: opt, epochs: 3, batchSize: 2, validationSplit: 0.25, onBatchEnd: (b) => { if (b === 1) t.dispose(); } });
    } catch (e) { err = e; }
    expect(err).toBeInstanceOf(LSTMError);
    opt.dispose();
    expect(be.arena.inUse).toBe(base);
  });
});
