// Inputs, layouts and comparisons shared by the runner and the peers.

/** Deterministic uniform values in [-1, 1) (a 32-bit LCG; only needs to be repeatable). */
export function seededData(n, seed) {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}

/** [T,B,F] (time-major, as lstm-wasm and ONNX layout 0) -> [B,T,F] (batch-first, as Keras). */
export function toBatchFirst(x, T, B, F) {
  const out = new Float32Array(x.length);
  for (let t = 0; t < T; t++) for (let b = 0; b < B; b++) out.set(x.subarray((t * B + b) * F, (t * B + b + 1) * F), (b * T + t) * F);
  return out;
}

/** [B,T,F] -> [T,B,F]. */
export function toTimeMajor(x, T, B, F) {
  const out = new Float32Array(x.length);
  for (let b = 0; b < B; b++) for (let t = 0; t < T; t++) out.set(x.subarray((b * T + t) * F, (b * T + t + 1) * F), (t * B + b) * F);
  return out;
}

/** max |a - b| over two equally long arrays; Infinity on a length mismatch or a NaN. */
export function maxAbsDiff(a, b) {
  if (a.length !== b.length) return Infinity;
  let d = 0;
  for (let i = 0; i < a.length; i++) {
    const e = Math.abs(a[i] - b[i]);
    if (!(e <= d)) d = Number.isNaN(e) ? Infinity : e;
  }
  return d;
}

export const maxAbs = (a) => a.reduce((m, v) => Math.max(m, Math.abs(v)), 0);

/** Forward FLOPs of one layer over a sequence: 2·B·T·4H·(I+H) (the two matrix products). */
export const forwardFlops = ({ B, T, I, H }) => 2 * B * T * 4 * H * (I + H);

/** The GEMM shapes of the M, L and S workloads (M×N×K: rows, gate columns, inner size), for the kernel benchmarks. */
export const GEMM_SHAPES = [
  { name: "M input projection (T·B×4H×I)", M: 3200, N: 1024, K: 128 },
  { name: "M recurrent (B×4H×H)", M: 32, N: 1024, K: 256 },
  { name: "L input projection (T·B×4H×I)", M: 3200, N: 2048, K: 512 },
  { name: "L recurrent (B×4H×H)", M: 64, N: 2048, K: 512 },
  { name: "S step GEMV (1×4H×H)", M: 1, N: 512, K: 128 },
];
