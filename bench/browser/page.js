// lstm-wasm timed inside the page: the same calls as the Node benchmark's lstm-wasm rows (out
// tensors, Float32Array step frames), on each build the browser runs. performance.now() is coarse in
// a page (100 µs without cross-origin isolation), so one sample is a batch of calls lasting at least
// MIN_SAMPLE_MS, divided by the batch size.
import { init, LSTM, SGD } from "/dist/index.js";
import { seededData } from "/bench/lib/data.mjs"; // the Node benchmark's inputs

const MIN_SAMPLE_MS = 20;

function time(fn, budgetMs, minSamples) {
  fn(); fn(); // compile, allocate, warm caches
  let t0 = performance.now(), k = 0;
  while (performance.now() - t0 < MIN_SAMPLE_MS) { fn(); k++; }
  const per = Math.max(1, k); // calls per sample
  const samples = [];
  const end = performance.now() + budgetMs;
  while (samples.length < minSamples || (performance.now() < end && samples.length < 200)) {
    t0 = performance.now();
    for (let i = 0; i < per; i++) fn();
    samples.push((performance.now() - t0) / per);
  }
  const sorted = samples.slice().sort((a, b) => a - b);
  return { median: sorted[sorted.length >> 1], min: sorted[0], samples: samples.length, callsPerSample: per };
}

function prepare({ B, T, I, H }, mode) {
  const m = new LSTM({ inputSize: I, hiddenSize: H, seed: 20240917 });
  const x = seededData(T * B * I, 20240918);
  const out = { y: { data: new Float32Array(T * B * H), shape: [T, B, H] }, hn: { data: new Float32Array(B * H), shape: [1, B, H] }, cn: { data: new Float32Array(B * H), shape: [1, B, H] } };
  if (mode === "forward") return { m, run: () => m.forward(x, { seqLen: T, batch: B, out }) };
  if (mode === "train") {
    const dy = { data: new Float32Array(T * B * H).fill(1), shape: [T, B, H] };
    const bout = { dx: { data: new Float32Array(T * B * I), shape: [T, B, I] }, dh0: { data: new Float32Array(B * H), shape: [1, B, H] }, dc0: { data: new Float32Array(B * H), shape: [1, B, H] } };
    const sgd = new SGD({ lr: 1e-6 }), fo = { seqLen: T, batch: B, train: true, out }, bo = { dy, out: bout };
    return { m, run: () => { m.forward(x, fo); m.backward(bo); sgd.step(m); m.zeroGrad(); } };
  }
  const steps = Array.from({ length: T }, (_, t) => x.subarray(t * B * I, (t + 1) * B * I));
  const o = { data: new Float32Array(B * H), shape: [B, H] };
  return { m, steps: T, run: () => { const st = m.initialState(B); for (const xt of steps) m.step(xt, st, o); } };
}

window.runBench = async (plan) => {
  const results = [];
  for (const backend of plan.backends) {
    let got;
    try { got = await init({ backend, threads: 1 }); } catch (e) { results.push({ backend, error: String(e.message ?? e) }); continue; }
    for (const c of plan.cases) {
      const p = prepare(c.wl, c.mode);
      const t = time(p.run, plan.budgetMs, plan.minSamples);
      p.m.dispose();
      const per = p.steps ? { median: (t.median / p.steps) * 1000, min: (t.min / p.steps) * 1000, unit: "us/step" } : { median: t.median, min: t.min, unit: "ms" };
      results.push({ backend: got.backend ?? backend, workload: c.name, mode: c.mode, ...c.wl, ...per, samples: t.samples, callsPerSample: t.callsPerSample });
    }
  }
  return { userAgent: navigator.userAgent, crossOriginIsolated: self.crossOriginIsolated, results };
};
window.benchReady = true;
