// Worker for test/concurrency.test.ts: trains a small Sequential with the built bundle (dist/index.js)
// and posts its weights. The main thread imports train() from this same file, so both sides run
// exactly the same code on their own copy of the library.
import { isMainThread, parentPort, workerData } from "node:worker_threads";

/** Deterministic data, an LSTM + Linear built from seeds, a short Adam fit; weights and losses out. */
export async function train(lib, job) {
  const { init, LSTM, Linear, Sequential, Adam } = lib;
  const { backend } = await init({ backend: job.backend });
  const { N, T, I, H, O, seed, epochs } = job;
  let s = seed >>> 0;
  const rand = () => { // mulberry32
    s = (s + 0x6d2b79f5) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 15), z | 1);
    z ^= z + Math.imul(z ^ (z >>> 7), z | 61);
    return ((z ^ (z >>> 14)) >>> 0) / 4294967296;
  };
  const x = Float32Array.from({ length: N * T * I }, () => 2 * rand() - 1);
  const y = new Float32Array(N * O);
  for (let n = 0; n < N; n++) for (let t = 0; t < T; t++) for (let o = 0; o < O; o++) y[n * O + o] += x[(n * T + t) * I + (o % I)] / T;
  const model = new Sequential([
    new LSTM({ inputSize: I, hiddenSize: H, numLayers: 2, peephole: true, seed }),
    new Linear({ inputSize: H, outputSize: O, seed: seed + 1 }),
  ]);
  const optimizer = new Adam({ lr: 1e-2 });
  try {
    const history = await model.fit({ data: x, shape: [N, T, I] }, { data: y, shape: [N, O] },
      { epochs, batchSize: 8, optimizer, clipNorm: 1, seed: seed + 2 });
    const weights = {};
    for (const [k, v] of Object.entries(model.stateDict())) weights[k] = v.data;
    return { backend, weights, loss: history.loss, predict: model.predict({ data: x, shape: [N, T, I] }).data };
  } finally {
    model.dispose();
    optimizer.dispose();
  }
}

if (!isMainThread && workerData?.job) {
  try {
    const lib = await import(workerData.dist);
    // Wait at a barrier until every worker has loaded, so the trainings really run at the same time.
    if (workerData.barrier) {
      const flag = new Int32Array(workerData.barrier);
      Atomics.add(flag, 0, 1);
      Atomics.notify(flag, 0);
      while (Atomics.load(flag, 0) < workerData.parties) Atomics.wait(flag, 0, Atomics.load(flag, 0), 50);
    }
    const started = performance.timeOrigin + performance.now();
    const result = await train(lib, workerData.job);
    parentPort.postMessage({ ok: true, result, started, ended: performance.timeOrigin + performance.now() });
  } catch (err) {
    parentPort.postMessage({ ok: false, error: String(err?.stack ?? err) });
  }
}
