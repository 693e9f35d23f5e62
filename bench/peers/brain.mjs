// brain.js 1.6.1, recurrent.LSTMTimeStep: plain JavaScript, one sequence at a time (B = 1 only).
//
// Its LSTM is not the standard one: recurrent/lstm.js computes the new cell as
//   cell = forgetGate ⊙ previousResult + inputGate ⊙ cellWrite
// where previousResult is the previous *hidden output* h_{t-1}: there is no cell state carried
// between steps (c_t = f⊙h_{t-1} + i⊙g, h_t = o⊙tanh(c_t)). Its outputs therefore cannot match
// torch.nn.LSTM's with any weights. We still load lstm-wasm's weights (per-gate matrices in
// net.model.hiddenLayers[0], an identity output layer with zero bias so its output is h_T), and
// check it against a float64 reference of *its* recurrence, which shows the weights went in
// right and that the difference is the missing cell carry. Its timings are marked "not checked".
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
let brain = null;

// torch gate block q (i, f, g, o) -> brain's matrix prefix
const GATES = [["input", 0], ["forget", 1], ["cellActivation", 2], ["output", 3]];

function loadWeights(net, sd, I, H) {
  const layer = net.model.hiddenLayers[0];
  for (const [g, q] of GATES) {
    layer[`${g}Matrix`].weights.set(sd.weight_ih_l0.data.subarray(q * H * I, (q + 1) * H * I));
    layer[`${g}Hidden`].weights.set(sd.weight_hh_l0.data.subarray(q * H * H, (q + 1) * H * H));
    const b = layer[`${g}Bias`].weights;
    for (let j = 0; j < H; j++) b[j] = sd.bias_ih_l0.data[q * H + j] + sd.bias_hh_l0.data[q * H + j];
  }
}

/** h_T of brain.js' recurrence (no cell carry), in float64, for x [T,1,I]. */
export function brainReference(sd, x, T, I, H) {
  const W = sd.weight_ih_l0.data, R = sd.weight_hh_l0.data, bi = sd.bias_ih_l0.data, bh = sd.bias_hh_l0.data;
  const sig = (v) => 1 / (1 + Math.exp(-v));
  let h = new Float64Array(H);
  for (let t = 0; t < T; t++) {
    const a = new Float64Array(4 * H);
    for (let n = 0; n < 4 * H; n++) {
      let s = bi[n] + bh[n];
      for (let k = 0; k < I; k++) s += W[n * I + k] * x[t * I + k];
      for (let k = 0; k < H; k++) s += R[n * H + k] * h[k];
      a[n] = s;
    }
    const next = new Float64Array(H);
    for (let j = 0; j < H; j++) {
      const c = sig(a[H + j]) * h[j] + sig(a[j]) * Math.tanh(a[2 * H + j]);
      next[j] = sig(a[3 * H + j]) * Math.tanh(c);
    }
    h = next;
  }
  return h;
}

export const brainjs = {
  name: "brain.js",
  backend: "js (cpu)",
  supports: (wl, mode) => (wl.B !== 1 ? "batch 1 only" : mode === "step" ? "not measured" : true),
  mismatch: "a different recurrence: no cell state is carried between steps",
  async prepare({ wl, mode, sd, x }) {
    brain ??= require("brain.js");
    const { T, I, H } = wl;
    const seq = Array.from({ length: T }, (_, t) => x.slice(t * I, (t + 1) * I));
    if (mode === "forward") {
      const net = new brain.recurrent.LSTMTimeStep({ inputSize: I, hiddenLayers: [H], outputSize: H });
      net.initialize();
      loadWeights(net, sd, I, H);
      const out = net.model.outputConnector.weights; // identity H×H, zero bias: the output is h_T
      out.fill(0);
      for (let j = 0; j < H; j++) out[j * H + j] = 1;
      net.model.output.weights.fill(0);
      net.bindEquation(); // run() refuses a net without bound equations; it binds the rest itself
      const run = () => net.run(seq);
      return { run, outputs: () => ({ hn: Float32Array.from(run()) }), reference: () => ({ hn: brainReference(sd, x, T, I, H) }), dispose() {} };
    }
    if (mode !== "train") throw new Error(`brain.js: no ${mode} mode`);
    // Training predicts each next step from the previous one, so its output size is I; one iteration.
    const net = new brain.recurrent.LSTMTimeStep({ inputSize: I, hiddenLayers: [H], outputSize: I });
    net.initialize();
    loadWeights(net, sd, I, H);
    const data = [seq];
    const run = () => net.train(data, { iterations: 1, errorThresh: 0, log: false });
    return { run, outputs: null, dispose() {} };
  },
};
