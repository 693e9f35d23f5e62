// The sine task: next-value prediction on a noisy sine whose rhythm switches once at a random step,
// from a slow, large wave (period 16–22 steps, amplitude 0.9) to a fast, small one (period 6–9,
// amplitude 0.45) or the other way round. Input x_t is the noisy signal, the target the clean x_{t+1}.
// A 16-unit LSTM and a linear head, MSE; the view is its prediction and gates on one probe sequence.
import { LSTM, Linear, Sequential, Adam } from "/dist/index.js";
import { rng } from "./rng.js";

export const T = 80, N = 512, HIDDEN = 16, BATCH = 32, NOISE = 0.1, DATA_SEED = 2024;
export const PROBE_SWITCH = 44;
const GATES = ["i", "f", "g", "o", "c"];

const gauss = (r) => Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());

/** One sequence of T + 1 points; `at` is the first step of the second regime. */
export function sequence(r, { at = Math.floor(T * (0.25 + 0.5 * r())), slowFirst = r() < 0.5 } = {}) {
  const slow = { period: 16 + 6 * r(), amp: 0.9 }, fast = { period: 6 + 3 * r(), amp: 0.45 };
  const clean = new Float32Array(T + 1), noisy = new Float32Array(T + 1);
  let phase = 2 * Math.PI * r();
  for (let t = 0; t <= T; t++) {
    const w = (t < at) === slowFirst ? slow : fast;
    clean[t] = w.amp * Math.sin(phase);
    noisy[t] = clean[t] + NOISE * gauss(r);
    phase += (2 * Math.PI) / w.period;
  }
  return { clean, noisy, at };
}

/** The training set ([N,T,1] inputs and next-value targets) and the fixed probe sequence. */
export function makeData(seed = DATA_SEED) {
  const r = rng(seed);
  const x = new Float32Array(N * T), y = new Float32Array(N * T);
  for (let n = 0; n < N; n++) {
    const s = sequence(r);
    x.set(s.noisy.subarray(0, T), n * T);
    y.set(s.clean.subarray(1, T + 1), n * T);
  }
  const p = sequence(rng(seed + 1), { at: PROBE_SWITCH, slowFirst: true });
  return {
    x: { data: x, shape: [N, T, 1] }, y: { data: y, shape: [N, T, 1] },
    probe: { x: p.noisy.slice(0, T), target: p.clean.slice(1, T + 1), clean: p.clean.slice(0, T), at: p.at },
  };
}

/** The task as trainer.js drives it. */
export function sineTask() {
  const data = makeData();
  return {
    name: "sine",
    fit: { loss: "mse", batchSize: BATCH, clipNorm: 1 },
    viewEveryMs: 350,
    info: {
      config: { T, N, hidden: HIDDEN, batch: BATCH, batchesPerEpoch: Math.ceil(N / BATCH), noise: NOISE },
      probe: data.probe,
    },
    build(seed) {
      const model = new Sequential([
        new LSTM({ inputSize: 1, hiddenSize: HIDDEN, returnSequences: true, seed, init: "keras" }),
        new Linear({ inputSize: HIDDEN, outputSize: 1, seed: seed + 1 }),
      ], { names: ["lstm", "fc"] });
      return { model, optimizer: new Adam({ lr: 1e-2 }) };
    },
    epochData: () => data,
    /** The prediction and the gates on the probe sequence. */
    view(model) {
      const px = data.probe.x;
      const { gates: g } = model.layer("lstm").forward(px, { seqLen: T, batch: 1, returnGates: true });
      const pred = model.predict({ data: px, shape: [1, T, 1] }).data;
      const msg = { pred, T, H: HIDDEN };
      for (const k of GATES) msg[k] = g.l0[k].data;
      return { msg, transfer: [pred.buffer, ...GATES.map((k) => msg[k].buffer)] };
    },
  };
}
