// Initialisers. PyTorch's default is U(−1/√H, 1/√H) for every LSTM tensor. The Keras scheme is
// Glorot-uniform input weights, an orthogonal recurrent matrix and zero biases with the forget
// gate's set to 1; TensorFlow.js users report pages freezing on its orthogonal step, so that step
// runs in wasm (Gram-Schmidt over SIMD dot products; H = 512, a 2048×512 matrix, well under 0.2 s).
import type { ParamEntry } from "./layout";
import type { Backend } from "./wasm/backend";

export type InitScheme = "pytorch" | "keras";

/** @internal A standard normal sample from a uniform generator (Box-Muller). */
export function normal(rand: () => number): () => number {
  let spare: number | null = null;
  return () => {
    if (spare !== null) { const s = spare; spare = null; return s; }
    const u = 1 - rand(), v = rand(); // u in (0, 1]
    const r = Math.sqrt(-2 * Math.log(u));
    spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  };
}

/**
 * A [rows, cols] matrix (PyTorch layout) with orthonormal columns when rows >= cols, as Keras'
 * Orthogonal gives the recurrent kernel [cols, rows]: Gram-Schmidt on `cols` normal vectors of length `rows`.
 * @internal
 */
export function orthogonal(be: Backend, rows: number, cols: number, rand: () => number): Float32Array {
  const n = Math.min(rows, cols), len = Math.max(rows, cols);
  const gauss = normal(rand);
  const q = be.arena.alloc(n * len * 4, "initialisation scratch");
  try {
    const heap = be.f32, at = q >>> 2;
    for (let i = 0; i < n * len; i++) heap[at + i] = gauss();
    be.k.orthonormalize_rows(q, n, len);
    const v = be.f32.subarray(at, at + n * len); // q holds n orthonormal vectors of length len
    if (rows >= cols) { // columns orthonormal: out[r][c] = q[c][r]
      const out = new Float32Array(rows * cols);
      for (let c = 0; c < cols; c++) for (let r = 0; r < rows; r++) out[r * cols + c] = v[c * len + r];
      return out;
    }
    return v.slice(); // rows orthonormal
  } finally {
    be.arena.release(q);
  }
}

/**
 * PyTorch-layout values for one LSTM tensor under a scheme. `e.name` tells which tensor it is.
 * @param H hidden size, used for PyTorch's bound and the forget-gate block.
 * @internal
 */
export function lstmInit(be: Backend, scheme: InitScheme, unitForgetBias: boolean, H: number, rand: () => number) {
  const k = 1 / Math.sqrt(H);
  const uniform = (n: number, lim: number) => Float32Array.from({ length: n }, () => (2 * rand() - 1) * lim);
  return (e: ParamEntry): Float32Array => {
    let v: Float32Array;
    if (scheme === "pytorch") v = uniform(e.size, k);
    else if (e.name.startsWith("weight_hh")) v = orthogonal(be, e.shape[0], e.shape[1], rand);
    else if (e.name.startsWith("bias")) v = new Float32Array(e.size);
    else if (e.shape.length === 2) v = uniform(e.size, Math.sqrt(6 / (e.shape[0] + e.shape[1]))); // Glorot: fan_in + fan_out
    else v = uniform(e.size, Math.sqrt(3 / e.size)); // peepholes: Glorot with fan_in = fan_out = H
    if (unitForgetBias && e.name.startsWith("bias")) v.fill(e.name.startsWith("bias_ih") ? 1 : 0, H, 2 * H);
    return v;
  };
}
