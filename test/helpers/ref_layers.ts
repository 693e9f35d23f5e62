// Float64 twins of the non-LSTM kernels (Linear with its activations, Embedding) and an exact
// integer twin of dropout's mask generator, written for readability.

export type Act = "none" | "relu" | "tanh" | "sigmoid" | "softmax";
/** The `act` codes of assembly/linear.ts. */
export const ACT_CODE: Record<Act, number> = { none: 0, relu: 1, tanh: 2, sigmoid: 3, softmax: 4 };

/** y [R,O] = act(x [R,In] · Wᵀ + b), W [O,In] (torch.nn.Linear's layout), b [O] or null. */
export function refLinear(x: ArrayLike<number>, W: ArrayLike<number>, b: ArrayLike<number> | null,
  R: number, In: number, O: number, act: Act): Float64Array {
  const y = new Float64Array(R * O);
  for (let r = 0; r < R; r++) {
    for (let o = 0; o < O; o++) {
      let s = b ? b[o] : 0;
      for (let i = 0; i < In; i++) s += x[r * In + i] * W[o * In + i];
      y[r * O + o] = s;
    }
    const row = y.subarray(r * O, (r + 1) * O);
    if (act === "relu") row.forEach((v, j) => { row[j] = Math.max(0, v); });
    if (act === "tanh") row.forEach((v, j) => { row[j] = Math.tanh(v); });
    if (act === "sigmoid") row.forEach((v, j) => { row[j] = 1 / (1 + Math.exp(-v)); });
    if (act === "softmax") {
      const mx = Math.max(...row);
      let sum = 0;
      row.forEach((v, j) => { row[j] = Math.exp(v - mx); sum += row[j]; });
      row.forEach((v, j) => { row[j] = v / sum; });
    }
  }
  return y;
}

/**
 * Backward of refLinear from its output y: dz = dL/d(pre-activation), then dx = dz·W,
 * dW = dzᵀ·x, db = Σ_r dz.
 */
export function refLinearBackward(x: ArrayLike<number>, W: ArrayLike<number>, y: ArrayLike<number>, dy: ArrayLike<number>,
  R: number, In: number, O: number, act: Act) {
  const dz = new Float64Array(R * O);
  for (let r = 0; r < R; r++) {
    let dot = 0;
    for (let o = 0; o < O; o++) dot += dy[r * O + o] * y[r * O + o];
    for (let o = 0; o < O; o++) {
      const k = r * O + o, s = y[k], g = dy[k];
      dz[k] = act === "none" ? g : act === "relu" ? (s > 0 ? g : 0) : act === "tanh" ? g * (1 - s * s)
        : act === "sigmoid" ? g * s * (1 - s) : s * (g - dot);
    }
  }
  const dx = new Float64Array(R * In), dW = new Float64Array(O * In), db = new Float64Array(O);
  for (let r = 0; r < R; r++) {
    for (let o = 0; o < O; o++) {
      const g = dz[r * O + o];
      db[o] += g;
      for (let i = 0; i < In; i++) {
        dx[r * In + i] += g * W[o * In + i];
        dW[o * In + i] += g * x[r * In + i];
      }
    }
  }
  return { dz, dx, dW, db };
}

/** y [R,E] = W [V,E] rows ids [R]. */
export function refEmbedding(ids: ArrayLike<number>, W: ArrayLike<number>, E: number): Float64Array {
  const y = new Float64Array(ids.length * E);
  for (let r = 0; r < ids.length; r++) for (let j = 0; j < E; j++) y[r * E + j] = W[ids[r] * E + j];
  return y;
}

/** dW [V,E] = prior + Σ over rows r with ids[r] = v (v != paddingIdx) of dy[r]. */
export function refEmbeddingBackward(ids: ArrayLike<number>, dy: ArrayLike<number>, prior: ArrayLike<number>,
  E: number, paddingIdx: number): Float64Array {
  const dW = Float64Array.from(prior);
  for (let r = 0; r < ids.length; r++) {
    if (ids[r] === paddingIdx) continue;
    for (let j = 0; j < E; j++) dW[ids[r] * E + j] += dy[r * E + j];
  }
  return dW;
}

// ---------------------------------------------------------------- dropout's generator

/** Wellons' lowbias32, on u32 (the mix of assembly/dropout.ts). */
function mix(x: number): number {
  x = (x ^ (x >>> 16)) >>> 0;
  x = Math.imul(x, 0x7feb352d) >>> 0;
  x = (x ^ (x >>> 15)) >>> 0;
  x = Math.imul(x, 0x846ca68b) >>> 0;
  return (x ^ (x >>> 16)) >>> 0;
}

/** The mask dropout_forward generates: 0 or float32(1/(1−p)) per element, from (seed, stream, i). */
export function refDropoutMask(n: number, p: number, seed: number, stream: number): Float32Array {
  const pf = Math.fround(p);
  const thr = Math.round(pf * 16777216);
  const scale = Math.fround(1 / (1 - pf));
  const ka = mix((seed ^ 0x9e3779b9) >>> 0), kb = mix((stream ^ ka) >>> 0);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = mix((mix((i + ka) >>> 0) ^ kb) >>> 0) >>> 8 >= thr ? scale : 0;
  return out;
}
