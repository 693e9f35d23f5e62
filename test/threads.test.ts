// Threads: the thread-capable builds over one shared memory, with workers (worker_threads here).
// Every golden fixture's outputs, states, gate activations and gradients are bit-identical with 1,
// 2 and 3 threads on each SIMD build (with the work threshold at 0, so even these small layers are
// split), and so are whole fit runs with masks, hard sigmoid, bias-free layers and dropout. Then
// init()'s answers, and the pool's faults: a worker that dies gives an LSTMError, not a hang.
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { init, LSTM, Linear, Embedding, Dropout, Sequential, Adam, LSTMError, detectBackend, type Tensor } from "../src/index";
import { backend } from "../src/wasm/backend";
import { lstmFixtureFiles, loadFixture } from "./helpers/fixtures";
import { expectBits } from "./helpers/close";

const SIMD_BUILDS = (detectBackend() === "relaxed-simd" ? ["simd", "relaxed-simd"] : ["simd"]) as ("simd" | "relaxed-simd")[];
const root = fileURLToPath(new URL("..", import.meta.url));

/** Switch to `threads` on `build`, splitting every sequence call (no size threshold). */
async function threads(build: "simd" | "relaxed-simd", n: number): Promise<void> {
  const r = await init({ backend: build, threads: n });
  expect(r, JSON.stringify(r)).toMatchObject({ backend: build, threads: n });
  backend().minThreadWork = 0;
  backend().minCallWork = 0;
}

/** Everything a fixture's forward and backward produce, as named float32 arrays. */
function runFixture(file: string): Record<string, Float32Array> {
  const fx = loadFixture(file), c = fx.config;
  const lstm = new LSTM({ inputSize: c.inputSize, hiddenSize: c.hiddenSize, numLayers: c.numLayers, bidirectional: c.bidirectional, projSize: c.projSize, peephole: c.peephole, seed: 1 });
  lstm.loadStateDict(fx.weights);
  const out = lstm.forward(fx.inputs.x, { h0: fx.inputs.h0, c0: fx.inputs.c0, lengths: c.lengths, returnGates: true, train: true });
  const back = lstm.backward({ dy: fx.loss.R, dhn: fx.loss.Rh, dcn: fx.loss.Rc });
  const res: Record<string, Float32Array> = { y: out.y.data, hn: out.hn.data, cn: out.cn.data, dx: back.dx.data, dh0: back.dh0.data, dc0: back.dc0.data };
  for (const [k, g] of Object.entries(out.gates!)) for (const [n, t] of Object.entries(g)) res[`gates.${k}.${n}`] = t.data;
  for (const [k, t] of Object.entries(lstm.grads())) res[`d${k}`] = t.data;
  lstm.dispose();
  return res;
}

afterAll(() => init({ threads: 1 }));

for (const build of SIMD_BUILDS) {
  describe(`the ${build} build on 1, 2 and 3 threads`, () => {
    it("every golden fixture: outputs, states, gates and every gradient are bit-identical", async () => {
      const files = lstmFixtureFiles();
      expect(files.length).toBeGreaterThan(10);
      await init({ backend: build, threads: 1 });
      const one = files.map(runFixture);
      for (const n of [2, 3]) {
        await threads(build, n);
        files.forEach((f, i) => {
          const got = runFixture(f);
          expect(Object.keys(got)).toEqual(Object.keys(one[i]));
          for (const k of Object.keys(got)) expectBits(`${f} ${k} on ${n} threads`, got[k], one[i][k]);
        });
      }
    });

    it("a fit with a mask, hard sigmoid, a bias-free bidirectional layer, goBackwards and dropout is bit-identical", async () => {
      const rng = (s: number) => () => ((s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32);
      const r = rng(7), N = 12, T = 9;
      const ids = Array.from({ length: N }, (_, n) => Array.from({ length: T }, (_, t) => (t < n % 3 ? 0 : 1 + Math.floor(r() * 20))));
      const y = Array.from({ length: N }, (_, n) => n % 3);
      const run = async () => {
        const m = new Sequential([
          new Embedding({ numEmbeddings: 21, embeddingDim: 8, maskZero: true, seed: 1 }),
          new LSTM({ inputSize: 8, hiddenSize: 24, recurrentActivation: "hardSigmoid", returnSequences: true, seed: 2 }),
          new LSTM({ inputSize: 24, hiddenSize: 16, bidirectional: true, bias: false, numLayers: 2, dropout: 0.2, returnSequences: true, seed: 3 }),
          new LSTM({ inputSize: 32, hiddenSize: 12, goBackwards: true, seed: 4 }),
          new Dropout({ p: 0.3 }),
          new Linear({ inputSize: 12, outputSize: 3, activation: "softmax", seed: 5 }),
        ]);
        const h = await m.fit(ids, y, { loss: "crossEntropy", epochs: 3, batchSize: 4, seed: 9, optimizer: new Adam({ lr: 0.02 }) });
        const w = m.stateDict(), p = m.predict(ids);
        m.dispose();
        return { loss: h.loss, w, p };
      };
      await init({ backend: build, threads: 1 });
      const a = await run();
      await threads(build, 2);
      const b = await run();
      expect(b.loss).toEqual(a.loss);
      for (const k of Object.keys(a.w)) expectBits(k, b.w[k].data, a.w[k].data);
      expectBits("predictions", b.p.data, a.p.data);
    });
  });
}

describe("init({ threads })", () => {
  it("answers the count in use, 'auto' as onnxruntime-web counts, and 1 with the reason where threads are impossible", async () => {
    const cores = (await import("node:os")).availableParallelism();
    expect((await init({ backend: "simd", threads: "auto" })).threads).toBe(Math.min(4, Math.ceil(cores / 2)));
    expect(await init({ backend: "simd", threads: 2 })).toMatchObject({ backend: "simd", threads: 2 });
    expect(await init({ backend: "simd" })).toMatchObject({ threads: 2 }); // no threads option: the count is kept
    expect(await init({ backend: "relaxed-simd" })).toMatchObject({ backend: "relaxed-simd", threads: 2 }); // also across builds
    expect(await init({ backend: "simd" })).toMatchObject({ backend: "simd", threads: 2 });
    const s = await init({ backend: "scalar", threads: 2 });
    expect(s).toMatchObject({ backend: "scalar", threads: 1 });
    expect(s.threadsReason).toMatch(/scalar build/);
    for (const bad of [0, -1, 1.5, 65, "2", null]) await expect(init({ backend: "simd", threads: bad as never })).rejects.toThrow(LSTMError);
    await init({ backend: "simd", threads: 1 });
  });

  it("a model made before a count changes goes on with the same bits on the new count (and on one thread)", async () => {
    await threads("simd", 3);
    const x = { data: Float32Array.from({ length: 6 * 8 * 16 }, (_, i) => Math.sin(i)), shape: [6, 8, 16] };
    const lstm = new LSTM({ inputSize: 16, hiddenSize: 32, seed: 1 });
    const a = lstm.forward(x).y.data;
    await threads("simd", 2);
    expectBits("2 threads", lstm.forward(x).y.data, a);
    await init({ threads: 1 });
    expectBits("1 thread", lstm.forward(x).y.data, a);
    lstm.dispose();
  });
});

describe("faults", () => {
  beforeAll(() => threads("simd", 2));

  it("a worker that dies gives the caller an LSTMError naming threads within the barrier timeout, and later calls run on one thread with the same bits", async () => {
    const x = { data: Float32Array.from({ length: 5 * 4 * 8 }, (_, i) => Math.cos(i)), shape: [5, 4, 8] };
    const lstm = new LSTM({ inputSize: 8, hiddenSize: 16, seed: 2 });
    const want = lstm.forward(x).y.data;
    const be = backend();
    be.barrierTimeoutMs = 300;
    const pool = be.pool as unknown as { workers: { terminate(): Promise<number> }[] };
    await pool.workers[0].terminate();
    const t0 = performance.now();
    let err: unknown = null;
    try { lstm.forward(x); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(LSTMError);
    expect((err as LSTMError).argument).toBe("threads");
    expect(performance.now() - t0).toBeLessThan(5000);
    expect(be.threads).toBe(1);
    expectBits("after the fault, on one thread", lstm.forward(x).y.data, want);
    be.barrierTimeoutMs = 5000;
    lstm.dispose();
  });

  it("a kernel that throws on the main thread (thread 0) gives its own error at once: the workers leave the call's barriers instead of waiting for it", async () => {
    await threads("simd", 2);
    const x = { data: Float32Array.from({ length: 5 * 4 * 8 }, (_, i) => Math.sin(i)), shape: [5, 4, 8] };
    const lstm = new LSTM({ inputSize: 8, hiddenSize: 16, seed: 3 });
    const want = lstm.forward(x).y.data;
    const be = backend(), k = be.k as unknown as Record<string, (...a: number[]) => unknown>, real = k.lstm_forward;
    // Thread 0 faults at once; the worker runs the real kernel and reaches a barrier thread 0 never comes to.
    k.lstm_forward = (...a: number[]) => { if (a[a.length - 1] === 0) throw new Error("injected fault in thread 0"); return real(...a); };
    const t0 = performance.now();
    let err: unknown = null;
    try { lstm.forward(x); } catch (e) { err = e; } finally { k.lstm_forward = real; }
    expect(err).toBeInstanceOf(LSTMError);
    expect((err as LSTMError).argument).toBe("threads");
    expect((err as LSTMError).received).toBe("injected fault in thread 0");
    expect(performance.now() - t0).toBeLessThan(2000); // not the 10 s call timeout
    expect(be.threads).toBe(1);
    expectBits("after the fault, on one thread", lstm.forward(x).y.data, want);
    lstm.dispose();
  });

  it("a Node process with a live pool exits on its own (the workers are unref'd)", () => {
    const code = `import(${JSON.stringify(`${root}dist/index.js`)}).then(async (m) => { const r = await m.init({ threads: 2 }); const l = new m.LSTM({ inputSize: 4, hiddenSize: 64, seed: 1 }); l.forward(new Float32Array(3 * 64 * 4), { seqLen: 3, batch: 64 }); console.log(r.threads); });`;
    const r = spawnSync(process.execPath, ["--input-type=module", "-e", code], { encoding: "utf8", timeout: 20_000 });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe("2");
  });
});
