// A/B of two builds of the kernels in one process: the GEMM on the LSTM's shapes, the M forward
// (B = 32, T = 100, I = 128, H = 256, one layer, inference) and the M backward (BPTT and the weight
// gradients of that layer after a training forward), timed alternately, old then new, so that
// the machine's load and clock fall on both alike. Prints, per case, the best time of each, the ratio
// of the best times old/new (> 1: new is faster), the median of the per-round ratios with its range,
// and whether both compute the same bits. On a shared machine the best times are the steadier
// figure: another process can only make a sample slower.
//   node bench/ab.mjs OLD.wasm NEW.wasm [--rounds 31]
// The two builds must share the ABI of gemm and lstm_forward (the arguments timed here); lstm_backward
// gets gemm_rm's scratch (`pack`) only from a build that exports gemm_scratch_size, so a build from
// before the scratch was passed in can still be the old one.
import { readFileSync } from "node:fs";
import { ensureRelaxedSimd } from "./lib/relaxed.mjs";
import { seededData, GEMM_SHAPES } from "./lib/data.mjs";

ensureRelaxedSimd();
const [oldPath, newPath] = process.argv.slice(2).filter((a) => a.endsWith(".wasm"));
if (!oldPath || !newPath) throw new Error("usage: node bench/ab.mjs OLD.wasm NEW.wasm [--rounds N]");
const ri = process.argv.indexOf("--rounds");
const ROUNDS = ri > 0 ? Number(process.argv[ri + 1]) : 31;
const SAMPLE_MS = 15;

function load(path) {
  const k = new WebAssembly.Instance(new WebAssembly.Module(readFileSync(path)), {}).exports;
  let top = (k.heap_base() + 63) & ~63;
  const alloc = (floats, data) => {
    const p = top;
    top += (floats * 4 + 63) & ~63;
    const need = top - k.memory.buffer.byteLength;
    if (need > 0) k.memory.grow(Math.ceil(need / 65536));
    if (data) new Float32Array(k.memory.buffer, p, data.length).set(data);
    return p;
  };
  return { k, alloc, view: (p, n) => new Float32Array(k.memory.buffer, p, n) };
}

const panelSize = (K, N) => Math.ceil(N / 8) * 8 * K;
const GEMMS = GEMM_SHAPES;
const FWD = { T: 100, B: 32, I: 128, H: 256 };

// Each case: run() for timing, out() the floats to compare after one run from the same start.
function cases(b) {
  const out = GEMMS.map((s, i) => {
    const pa = b.alloc(s.M * s.K, seededData(s.M * s.K, 5 + i));
    const pb = b.alloc(panelSize(s.K, s.N), seededData(panelSize(s.K, s.N), 6 + i));
    const pc = b.alloc(s.M * s.N);
    return { ...s, run: () => b.k.gemm(pc, pa, pb, s.M, s.N, s.K, s.K, 1, s.N, 8, 0), out: () => b.view(pc, s.M * s.N) };
  });
  const { T, B, I, H } = FWD, G = 4 * H;
  const x = b.alloc(T * B * I, seededData(T * B * I, 11));
  const wih = b.alloc(I * G, seededData(I * G, 12).map((v) => v * 0.08));
  const whh = b.alloc(H * G, seededData(H * G, 13).map((v) => v * 0.06));
  const bih = b.alloc(G, seededData(G, 14).map((v) => v * 0.1)), bhh = b.alloc(G, seededData(G, 15).map((v) => v * 0.1));
  const y = b.alloc(T * B * H), h = b.alloc(B * H), c = b.alloc(B * H), act = b.alloc(T * B * G);
  const run = () => {
    b.view(h, B * H).fill(0); // the same zero state every call
    b.view(c, B * H).fill(0);
    b.k.lstm_forward(y, H, h, c, act, 0, 0, 0, 0, 0, x, I, wih, whh, bih, bhh, 0, 0, 0, 0, 0, 0, T, B, I, H, H, 0, 0, 0, 1, 0);
  };
  out.push({ name: "M forward (B=32 T=100 I=128 H=256)", run, flops: 2 * B * T * G * (I + H), out: () => b.view(y, T * B * H) });

  // Backward: one training forward saves act, cs, cp, hp; each timed call then zeroes the gradients
  // and runs lstm_backward from the same dy.
  const TB = T * B, cs = b.alloc(TB * H), cp = b.alloc(TB * H), hp = b.alloc(TB * H), yt = b.alloc(TB * H);
  b.view(h, B * H).fill(0);
  b.view(c, B * H).fill(0);
  b.k.lstm_forward(yt, H, h, c, act, cs, cp, hp, 0, 0, x, I, wih, whh, bih, bhh, 0, 0, 0, 0, 0, 0, T, B, I, H, H, 0, 0, 0, 1, 0);
  const wiht = b.alloc(panelSize(G, I)), whht = b.alloc(panelSize(G, H));
  b.k.transpose_packed(wiht, wih, I, G);
  b.k.transpose_packed(whht, whh, H, G);
  const dy = b.alloc(TB * H, seededData(TB * H, 16).map((v) => v * 0.1));
  const dx = b.alloc(TB * I), dh = b.alloc(B * H), dc = b.alloc(B * H);
  const dwih = b.alloc(panelSize(I, G)), dwhh = b.alloc(panelSize(H, G)), dbih = b.alloc(G), dbhh = b.alloc(G);
  const da = b.alloc(TB * G), dm = b.alloc(B * H), dhs = b.alloc(B * H);
  const scratch = b.k.gemm_scratch_size ? [b.alloc(b.k.gemm_scratch_size(TB, G))] : [];
  const grads = [[dx, TB * I], [dh, B * H], [dc, B * H], [dwih, panelSize(I, G)], [dwhh, panelSize(H, G)], [dbih, G], [dbhh, G]];
  const back = () => {
    for (const [p, n] of grads) b.view(p, n).fill(0);
    b.k.lstm_backward(dx, I, dh, dc, dwih, dwhh, dbih, dbhh, 0, 0, 0, 0, da, 0, dm, dhs, ...scratch, dy, H,
      x, act, cs, cp, hp, 0, wiht, whht, 0, 0, 0, 0, 0, 0, T, B, I, H, H, 0, 0, 0, 1, 0);
  };
  // BPTT's recurrent products and the cell, then dW_ih, dW_hh and dx over all rows.
  out.push({ name: "M backward (B=32 T=100 I=128 H=256)", run: back, flops: 2 * TB * G * (2 * H + 2 * I), out: () => {
    const parts = grads.map(([p, n]) => b.view(p, n).slice());
    const all = new Float32Array(parts.reduce((n, q) => n + q.length, 0));
    let o = 0;
    for (const q of parts) { all.set(q, o); o += q.length; }
    return all;
  } });
  return out;
}

function calls(fn) {
  let n = 1;
  for (;;) {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) fn();
    const dt = performance.now() - t0;
    if (dt >= SAMPLE_MS / 4) return Math.max(1, Math.round((n * SAMPLE_MS) / dt));
    n *= 2;
  }
}

const time = (fn, n) => {
  const t0 = performance.now();
  for (let i = 0; i < n; i++) fn();
  return (performance.now() - t0) / n;
};
const median = (a) => [...a].sort((p, q) => p - q)[a.length >> 1];

const A = cases(load(oldPath)), B = cases(load(newPath));
console.log(`old ${oldPath}\nnew ${newPath}\n${ROUNDS} alternating rounds of ~${SAMPLE_MS} ms each`);
for (let i = 0; i < A.length; i++) {
  const a = A[i], b = B[i];
  a.run(); b.run();
  const same = Buffer.compare(Buffer.from(a.out().slice().buffer), Buffer.from(b.out().slice().buffer)) === 0;
  const n = calls(a.run);
  const ta = [], tb = [], r = [];
  for (let k = 0; k < ROUNDS; k++) {
    // Alternate which goes first, so neither always follows the other's cache state.
    const [x, y] = k % 2 ? [time(b.run, n), time(a.run, n)].reverse() : [time(a.run, n), time(b.run, n)];
    ta.push(x); tb.push(y); r.push(x / y);
  }
  const flops = a.M ? 2 * a.M * a.N * a.K : a.flops;
  const gf = (ms) => (flops / (ms * 1e6)).toFixed(1);
  const ba = Math.min(...ta), bb = Math.min(...tb);
  console.log(`${a.name.padEnd(36)} best: old ${ba.toFixed(3)} ms (${gf(ba)} GF/s), new ${bb.toFixed(3)} ms (${gf(bb)} GF/s), ` +
    `old/new ×${(ba / bb).toFixed(3)}; per round ×${median(r).toFixed(3)} [${Math.min(...r).toFixed(2)}–${Math.max(...r).toFixed(2)}]; ${same ? "same bits" : "DIFFERENT bits"}`);
}
