// The C workload: a character model's training step, Embedding(64, 32) → LSTM(256, every step) →
// Linear(64, softmax) with per-step cross-entropy, B = 32, T = 64, in lstm-wasm, TensorFlow.js
// (wasm) and PyTorch on the same weights and batch (run.mjs times them like its other rows); and
// lstm-wasm's breakdown of that step: what the layers around the LSTM cost, measured two ways.
import { init, LSTM, SGD } from "../dist/index.js";
import { charModel } from "./peers/lstmwasm.mjs";
import { forwardFlops, toTimeMajor } from "./lib/data.mjs";

export const CHAR = { kind: "char", B: 32, T: 64, V: 64, E: 32, I: 32, H: 256 };
/** The model's layer names (lstm-wasm's charModel, the PyTorch module's attributes). */
const NAMES = { embed: "Embedding", lstm: "LSTM", drop: "Dropout", fc: "Linear" };

/** FLOPs of one training step: 3 × (the LSTM's two products + the Linear's); the gather has none. */
export const charFlops = ({ B, T, E, H, V }) => 3 * (forwardFlops({ B, T, I: E, H }) + 2 * B * T * H * V);

/** ids [B,T] and next-id targets [B,T]: B windows of T + 1 uniformly random ids (a seeded LCG). */
export function charData({ B, T, V }, seed) {
  let s = seed >>> 0;
  const next = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) >>> 8) % V;
  const seq = Int32Array.from({ length: B * (T + 1) }, next);
  const ids = new Int32Array(B * T), targets = new Int32Array(B * T);
  for (let b = 0; b < B; b++) {
    ids.set(seq.subarray(b * (T + 1), b * (T + 1) + T), b * T);
    targets.set(seq.subarray(b * (T + 1) + 1, (b + 1) * (T + 1)), b * T);
  }
  return { ids, targets };
}

const median = (a) => { const s = a.slice().sort((x, y) => x - y), m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
const now = () => Number(process.hrtime.bigint()) / 1e6;

/**
 * Times every layer's forwardFlow and backwardFlow inside the model's own fit() (the layer protocol
 * of src/layers/layer.ts, wrapped on the instances), step by step: per step, each layer's ms and
 * the rest (the loss kernel, the gradient norm, the SGD update, zeroing, fit's bookkeeping).
 */
async function instrumented(model, x, y, steps) {
  const names = model.names, per = names.map(() => 0);
  model.layers.forEach((l, i) => {
    const f = l.forwardFlow, b = l.backwardFlow;
    l.forwardFlow = function (...a) { const t0 = now(); try { return f.apply(this, a); } finally { per[i] += now() - t0; } };
    l.backwardFlow = function (...a) { const t0 = now(); try { return b.apply(this, a); } finally { per[i] += now() - t0; } };
  });
  const opts = { epochs: 1, batchSize: x.shape[0], loss: "crossEntropy", optimizer: new SGD({ lr: 1e-6 }), shuffle: false };
  const rows = [];
  try {
    for (let k = -3; k < steps; k++) { // 3 warm-up steps
      per.fill(0);
      const t0 = now();
      await model.fit(x, y, opts);
      const total = now() - t0;
      if (k >= 0) rows.push({ total, layers: per.slice() });
    }
  } finally {
    for (const l of model.layers) { delete l.forwardFlow; delete l.backwardFlow; }
  }
  const lstm = names.indexOf("lstm");
  const parts = Object.fromEntries(names.map((n, i) => [NAMES[n], median(rows.map((r) => r.layers[i]))]));
  parts.rest = median(rows.map((r) => r.total - r.layers.reduce((s, v) => s + v, 0)));
  return {
    stepMs: median(rows.map((r) => r.total)),
    msPerStep: parts,
    // Per step, everything but the LSTM's forward and backward, as a share of that step.
    nonLstmShare: median(rows.map((r) => 1 - r.layers[lstm] / r.total)),
    layersShare: median(rows.map((r) => r.layers.reduce((s, v, i) => s + (i === lstm ? 0 : v), 0) / r.total)),
    steps,
  };
}

/**
 * The step with and without the layers around the LSTM, interleaved: the model's fit() against the
 * same LSTM alone (forward(train) into reused out tensors, backward from a reused dy, SGD, zeroGrad:
 * the M and L training rows' step), pair by pair; the share is the median of (full − alone) / full,
 * and again from the fastest step of each side.
 */
async function withAndWithout(model, x, y, wl, pairs) {
  const { B, T, E, H } = wl;
  const alone = new LSTM({ inputSize: E, hiddenSize: H, seed: 1 });
  const sd = model.stateDict();
  alone.loadStateDict(Object.fromEntries(Object.entries(sd).filter(([k]) => k.startsWith("lstm.")).map(([k, t]) => [k.slice(5), t])));
  const features = toTimeMajor(model.layer("embed").forward({ data: x.data, shape: [B, T] }).data, T, B, E); // [T,B,E]
  const out = { y: { data: new Float32Array(T * B * H), shape: [T, B, H] }, hn: { data: new Float32Array(B * H), shape: [1, B, H] }, cn: { data: new Float32Array(B * H), shape: [1, B, H] } };
  const bout = { dx: { data: new Float32Array(T * B * E), shape: [T, B, E] }, dh0: { data: new Float32Array(B * H), shape: [1, B, H] }, dc0: { data: new Float32Array(B * H), shape: [1, B, H] } };
  const dy = { data: new Float32Array(T * B * H).fill(1e-3), shape: [T, B, H] };
  const sgd = new SGD({ lr: 1e-6 }), opts = { epochs: 1, batchSize: B, loss: "crossEntropy", optimizer: new SGD({ lr: 1e-6 }), shuffle: false };
  const stepAlone = () => {
    alone.forward(features, { seqLen: T, batch: B, train: true, out });
    alone.backward({ dy, out: bout });
    sgd.step(alone);
    alone.zeroGrad();
  };
  const full = [], lone = [], share = [];
  try {
    for (let k = -3; k < pairs; k++) {
      let t0 = now();
      await model.fit(x, y, opts);
      const a = now() - t0;
      t0 = now();
      stepAlone();
      const b = now() - t0;
      if (k < 0) continue;
      full.push(a); lone.push(b); share.push((a - b) / a);
    }
  } finally {
    alone.dispose();
  }
  // Under other processes' load the pairs scatter; the fastest of each side is the least disturbed.
  const fastest = (a) => Math.min(...a);
  return { fullMs: median(full), lstmAloneMs: median(lone), nonLstmShare: median(share),
    fastestFullMs: fastest(full), fastestAloneMs: fastest(lone), fastestShare: 1 - fastest(lone) / fastest(full), pairs };
}

/**
 * lstm-wasm's breakdown of the C step on `build`: the layers timed inside the step, the same with a
 * Dropout(0.2) between the LSTM and the Linear, and the step against the LSTM alone.
 */
export async function charBreakdown(build, wl, sd, data, seed, { steps, log }) {
  await init({ backend: build, threads: 1 }); // one thread, as every row of the main table
  const x = { data: data.ids, shape: [wl.B, wl.T] }, y = { data: data.targets, shape: [wl.B, wl.T] };
  const model = charModel(wl, seed);
  model.loadStateDict(sd);
  const withDrop = charModel(wl, seed, 0.2);
  withDrop.loadStateDict(sd);
  try {
    log(`C breakdown (${build}): each layer timed inside ${steps} steps`);
    const layers = await instrumented(model, x, y, steps);
    log(`C breakdown (${build}): the same with Dropout(0.2)`);
    const dropout = await instrumented(withDrop, x, y, steps);
    log(`C breakdown (${build}): ${steps} steps against the LSTM alone, interleaved`);
    const alone = await withAndWithout(model, x, y, wl, steps);
    return { build, layers, dropout, withAndWithout: alone, limit: 0.1 };
  } finally {
    model.dispose();
    withDrop.dispose();
  }
}

/** The breakdown as lines for the terminal. */
export function breakdownLines(b) {
  const pct = (v) => `${(100 * v).toFixed(1)} %`;
  const parts = (p) => Object.entries(p.msPerStep).map(([k, v]) => `${k} ${v.toFixed(2)} ms`).join(", ");
  return [
    `C training step breakdown, lstm-wasm ${b.build} (medians over ${b.layers.steps} steps; limit for the layers around the LSTM: ${pct(b.limit)}):`,
    `  layers timed inside the step: step ${b.layers.stepMs.toFixed(1)} ms = ${parts(b.layers)}`,
    `    Embedding + Linear ${pct(b.layers.layersShare)}; everything but the LSTM (with the loss, the update and fit) ${pct(b.layers.nonLstmShare)}`,
    `  with Dropout(0.2) after the LSTM: step ${b.dropout.stepMs.toFixed(1)} ms = ${parts(b.dropout)}`,
    `    Embedding + Dropout + Linear ${pct(b.dropout.layersShare)}; everything but the LSTM ${pct(b.dropout.nonLstmShare)}`,
    `  with and without: the step ${b.withAndWithout.fullMs.toFixed(1)} ms, the LSTM alone ${b.withAndWithout.lstmAloneMs.toFixed(1)} ms: ` +
      `the rest ${pct(b.withAndWithout.nonLstmShare)} (median of ${b.withAndWithout.pairs} interleaved pairs); ` +
      `fastest ${b.withAndWithout.fastestFullMs.toFixed(1)} and ${b.withAndWithout.fastestAloneMs.toFixed(1)} ms: ${pct(b.withAndWithout.fastestShare)}`,
  ];
}
