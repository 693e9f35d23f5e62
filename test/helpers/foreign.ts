// Float64 LSTM forward passes written directly in other tools' layouts and gate orders, from their
// published definitions. The converter tests run a model through a converter and compare it with
// these, so they check each tool's own math rather than the inverse of the converter.
// Weights are read where each tool keeps them; nothing here reorders gates.

type Num = ArrayLike<number>;
const sig = (x: number) => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x)));

export interface OnnxArgs {
  X: Num; W: Num; R: Num; B?: Num; P?: Num; initialH?: Num; initialC?: Num;
  T: number; N: number; I: number; H: number;
  direction: "forward" | "reverse" | "bidirectional"; layout: 0 | 1;
}

/**
 * The ONNX LSTM operator (onnx.ai/onnx/operators/onnx__LSTM.html) with its default activations:
 *   it = σ(Xt·Wiᵀ + Ht-1·Riᵀ + Pi⊙Ct-1 + Wbi + Rbi)     ft = σ(… Wf, Rf, Pf⊙Ct-1, Wbf, Rbf)
 *   ct = tanh(Xt·Wcᵀ + Ht-1·Rcᵀ + Wbc + Rbc)            Ct = ft⊙Ct-1 + it⊙ct
 *   ot = σ(Xt·Woᵀ + Ht-1·Roᵀ + Po⊙Ct + Wbo + Rbo)       Ht = ot⊙tanh(Ct)
 * W = [Wi;Wo;Wf;Wc] [D,4H,I], R likewise [D,4H,H], B = [Wb_iofc | Rb_iofc] [D,8H], P = [Pi;Po;Pf] [D,3H].
 * layout 0: X [T,N,I], Y [T,D,N,H], Y_h/Y_c and initial states [D,N,H]; layout 1: X [N,T,I],
 * Y [N,T,D,H], states [N,D,H]. The reverse direction reads X from the last step and writes Y at the real step.
 */
export function onnxLstm(a: OnnxArgs): { Y: Float64Array; Yh: Float64Array; Yc: Float64Array } {
  const { T, N, I, H, layout } = a;
  const D = a.direction === "bidirectional" ? 2 : 1;
  const blk = { i: 0, o: 1, f: 2, c: 3 };
  const Y = new Float64Array(T * D * N * H), Yh = new Float64Array(D * N * H), Yc = new Float64Array(D * N * H);
  const st = (d: number, n: number) => (layout === 0 ? d * N + n : n * D + d) * H; // state [D,N,H] or [N,D,H]
  for (let d = 0; d < D; d++) {
    const rev = a.direction === "reverse" || d === 1;
    for (let n = 0; n < N; n++) {
      let h = Array.from({ length: H }, (_, j) => (a.initialH ? a.initialH[st(d, n) + j] : 0));
      let c = Array.from({ length: H }, (_, j) => (a.initialC ? a.initialC[st(d, n) + j] : 0));
      for (let s = 0; s < T; s++) {
        const t = rev ? T - 1 - s : s;
        const xo = (layout === 0 ? t * N + n : n * T + t) * I;
        // Pre-activation of gate `g`, unit j: its rows of W and R are in block blk[g].
        const pre = (g: keyof typeof blk, j: number) => {
          const r = blk[g] * H + j;
          let v = 0;
          for (let k = 0; k < I; k++) v += a.W[(d * 4 * H + r) * I + k] * a.X[xo + k];
          for (let k = 0; k < H; k++) v += a.R[(d * 4 * H + r) * H + k] * h[k];
          if (a.B) v += a.B[d * 8 * H + r] + a.B[d * 8 * H + 4 * H + r];
          return v;
        };
        const p = (k: number, j: number) => (a.P ? a.P[d * 3 * H + k * H + j] : 0); // k: 0 i, 1 o, 2 f
        const hNew: number[] = [], cNew: number[] = [];
        for (let j = 0; j < H; j++) {
          const it = sig(pre("i", j) + p(0, j) * c[j]);
          const ft = sig(pre("f", j) + p(2, j) * c[j]);
          const ct = Math.tanh(pre("c", j));
          const C = ft * c[j] + it * ct;
          const ot = sig(pre("o", j) + p(1, j) * C);
          cNew.push(C);
          hNew.push(ot * Math.tanh(C));
        }
        h = hNew;
        c = cNew;
        const yo = layout === 0 ? ((t * D + d) * N + n) * H : ((n * T + t) * D + d) * H;
        for (let j = 0; j < H; j++) Y[yo + j] = h[j];
      }
      for (let j = 0; j < H; j++) { Yh[st(d, n) + j] = h[j]; Yc[st(d, n) + j] = c[j]; }
    }
  }
  return { Y, Yh, Yc };
}

/**
 * Keras / TensorFlow.js LSTM (sigmoid recurrent activation): z = x·kernel + h·recurrent_kernel + bias,
 * split into i, f, c, o column blocks of H; c = f⊙c + i⊙tanh(z_c); h = o⊙tanh(c).
 * x [N,T,I] (batch-major), kernel [I,4H], recurrentKernel [H,4H], bias [4H]. Returns y [N,T,H], h, c [N,H].
 */
export function kerasLstm(x: Num, kernel: Num, recurrentKernel: Num, bias: Num, N: number, T: number, I: number, H: number) {
  const y = new Float64Array(N * T * H), hOut = new Float64Array(N * H), cOut = new Float64Array(N * H);
  for (let n = 0; n < N; n++) {
    let h = new Array<number>(H).fill(0), c = new Array<number>(H).fill(0);
    for (let t = 0; t < T; t++) {
      const z = (col: number) => {
        let v = bias[col];
        for (let k = 0; k < I; k++) v += x[(n * T + t) * I + k] * kernel[k * 4 * H + col];
        for (let k = 0; k < H; k++) v += h[k] * recurrentKernel[k * 4 * H + col];
        return v;
      };
      const hNew: number[] = [], cNew: number[] = [];
      for (let j = 0; j < H; j++) {
        const i = sig(z(j)), f = sig(z(H + j)), cc = Math.tanh(z(2 * H + j)), o = sig(z(3 * H + j));
        cNew.push(f * c[j] + i * cc);
        hNew.push(o * Math.tanh(cNew[j]));
      }
      h = hNew;
      c = cNew;
      for (let j = 0; j < H; j++) y[(n * T + t) * H + j] = h[j];
    }
    hOut.set(h, n * H);
    cOut.set(c, n * H);
  }
  return { y, h: hOut, c: cOut };
}

/**
 * `order`-blocked single-bias LSTM over time-major x [T,N,I]: z = W·x + U·h + b with W [4H,I],
 * U [4H,H], b [4H]; the 4H axis is four blocks of H in `order` ("aifo": a = cell input), or, with
 * `interleaved`, unit j's gates at 4j+k (Chainer's F.lstm after L.LSTM's upward + lateral links).
 * Returns y [T,N,H] and the final h, c [N,H].
 */
export function blockedLstm(x: Num, W: Num, U: Num, b: Num, order: string, interleaved: boolean, T: number, N: number, I: number, H: number) {
  const y = new Float64Array(T * N * H), hOut = new Float64Array(N * H), cOut = new Float64Array(N * H);
  const at = (letter: string, j: number) => {
    const k = order.indexOf(letter);
    return interleaved ? 4 * j + k : k * H + j;
  };
  for (let n = 0; n < N; n++) {
    let h = new Array<number>(H).fill(0), c = new Array<number>(H).fill(0);
    for (let t = 0; t < T; t++) {
      const z = (r: number) => {
        let v = b[r];
        for (let k = 0; k < I; k++) v += W[r * I + k] * x[(t * N + n) * I + k];
        for (let k = 0; k < H; k++) v += U[r * H + k] * h[k];
        return v;
      };
      const hNew: number[] = [], cNew: number[] = [];
      for (let j = 0; j < H; j++) {
        const a = Math.tanh(z(at("a", j))), i = sig(z(at("i", j))), f = sig(z(at("f", j))), o = sig(z(at("o", j)));
        cNew.push(a * i + f * c[j]);
        hNew.push(o * Math.tanh(cNew[j]));
      }
      h = hNew;
      c = cNew;
      for (let j = 0; j < H; j++) y[(t * N + n) * H + j] = h[j];
    }
    hOut.set(h, n * H);
    cOut.set(c, n * H);
  }
  return { y, h: hOut, c: cOut };
}
