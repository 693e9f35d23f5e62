// `npm start`: one forward and backward pass of a small LSTM over a built-in sample sequence,
// printing what each gate does at each step. Runs the built package (dist/), as a user would.
import { init, LSTM, clipGradNorm } from "../dist/index.js";

const T = 16, I = 2, H = 6;
const { backend } = await init();

// The sample: one period of a sine and a cosine, with a step change in the sine halfway through.
const x = new Float32Array(T * I);
for (let t = 0; t < T; t++) {
  x[t * I] = Math.sin((2 * Math.PI * t) / T) + (t >= T / 2 ? 1 : 0);
  x[t * I + 1] = Math.cos((2 * Math.PI * t) / T);
}

const lstm = new LSTM({ inputSize: I, hiddenSize: H, seed: 42 });
const { y, hn, cn, gates } = lstm.forward(x, { seqLen: T, batch: 1, train: true, returnGates: true });

const shades = " ▁▂▃▄▅▆▇█";
const cell = (v, lo, hi) => shades[Math.max(0, Math.min(8, Math.round(((v - lo) / (hi - lo)) * 8)))];
const row = (a, j, lo, hi) => Array.from({ length: T }, (_, t) => cell(a[t * H + j], lo, hi)).join("");

console.log(`lstm-wasm demo · backend ${backend} · x [T=${T}, B=1, I=${I}] · hiddenSize ${H} · seed 42\n`);
console.log("input   sin " + Array.from({ length: T }, (_, t) => cell(x[t * I], -1, 2)).join(""));
console.log("        cos " + Array.from({ length: T }, (_, t) => cell(x[t * I + 1], -1, 1)).join("") + "\n");
const g = gates.l0;
const panels = [
  ["i  input gate   σ", g.i, 0, 1], ["f  forget gate  σ", g.f, 0, 1], ["g  cell input   tanh", g.g, -1, 1],
  ["o  output gate  σ", g.o, 0, 1], ["c  cell state", g.c, -2, 2], ["h  output", g.h, -1, 1],
];
console.log("gate activations, one row per unit, time left to right (▁ low … █ high):");
for (const [name, a, lo, hi] of panels) {
  console.log(`  ${name}  [${lo}, ${hi}]`);
  for (let j = 0; j < H; j++) console.log(`    unit ${j}  ${row(a.data, j, lo, hi)}`);
}

// A loss on the last output: L = ½‖h_T − target‖², so dL/dy is nonzero only at t = T−1.
const target = new Float32Array(H).fill(0.5);
const dy = new Float32Array(y.data.length);
let loss = 0;
for (let j = 0; j < H; j++) {
  const d = y.data[(T - 1) * H + j] - target[j];
  loss += 0.5 * d * d;
  dy[(T - 1) * H + j] = d;
}
const { dx, dh0, dc0 } = lstm.backward({ dy: { data: dy, shape: y.shape } });
const grads = lstm.grads();
const norm = (a) => Math.hypot(...a);
console.log(`\nforward: y ${JSON.stringify(y.shape)}, hn ${JSON.stringify(hn.shape)}, cn ${JSON.stringify(cn.shape)}; loss ½‖h_T − 0.5‖² = ${loss.toFixed(6)}`);
console.log("backward (BPTT): how much each input step matters to the loss, ‖dL/dx_t‖:");
console.log("    " + Array.from({ length: T }, (_, t) => norm(dx.data.subarray(t * I, (t + 1) * I)).toExponential(1)).join(" "));
console.log(`    ‖dL/dh0‖ = ${norm(dh0.data).toExponential(3)}, ‖dL/dc0‖ = ${norm(dc0.data).toExponential(3)}`);
console.log("parameter gradients (torch.nn.LSTM names):");
for (const [k, t] of Object.entries(grads)) console.log(`    ${k.padEnd(14)} ${JSON.stringify(t.shape).padEnd(8)} ‖g‖ = ${norm(t.data).toExponential(3)}`);
const before = lstm.clipGradNorm(0.1);
console.log(`clipGradNorm(0.1): global norm ${before.toFixed(6)} → ${clipGradNorm(Object.values(lstm.grads()), Infinity).toFixed(6)}`);
lstm.dispose();
