// Gate layouts of a 4H axis. Frameworks agree on the four LSTM gates but not on their order, and
// some (Chainer) interleave them per unit instead of stacking four blocks of H:
//   blocked:     index k·H + j   is gate k of unit j   (PyTorch, ONNX, Keras, numpy hsplit)
//   interleaved: index 4·j + k   is gate k of unit j   (Chainer's F.lstm)
// Letters: i input gate, f forget gate, o output gate, and the cell input as g (PyTorch), c (ONNX,
// Keras) or a (Chainer) — all three name the same gate here.
import { LSTMError, describe, checkInt } from "./errors";
import { type Tensor, type TensorLike, ownTensor, isF32 } from "./tensor";
import { lengthOf } from "./typed";

export type Gate = "i" | "f" | "g" | "o";

/** Our (PyTorch's) order. */
export const OURS: readonly Gate[] = ["i", "f", "g", "o"];

/** Options of {@link reorderGates}. */
export interface ReorderOptions {
  /** The gate axis (size 4H); negative counts from the end. Default 0. */
  axis?: number;
  /** The source interleaves the gates per unit (index 4j+k), as Chainer does. Default false (blocked). */
  fromInterleaved?: boolean;
  /** Write the result interleaved per unit. Default false (blocked). */
  toInterleaved?: boolean;
}

/**
 * Reorder the gates along one axis of size 4H.
 * @param tensor any-rank tensor (a bare Float32Array or number[] is 1-D) whose `axis` has size 4H.
 * @param fromOrder the source gate order: 4 letters, a permutation of i, f, o and one of g/a/c (e.g. "iofc" for ONNX).
 * @param toOrder the target gate order, same alphabet (e.g. "ifgo" for PyTorch and this library).
 * @param options `axis` (default 0), `fromInterleaved`, `toInterleaved`.
 * @returns a fresh tensor of the same shape.
 * @throws LSTMError on a bad order string, axis, or an axis whose size is not a positive multiple of 4.
 * @example
 * // ONNX W[0] [4H,I] → PyTorch weight_ih [4H,I]
 * const wih = reorderGates(w0, "iofc", "ifgo");
 * // Chainer's interleaved a,i,f,o rows → blocked i,f,g,o
 * const w = reorderGates(upwardW, "aifo", "ifgo", { fromInterleaved: true });
 */
export function reorderGates(tensor: TensorLike, fromOrder: string, toOrder: string, options: ReorderOptions = {}): Tensor {
  const src = anyTensor("tensor", tensor);
  const from = parseGateOrder("fromOrder", fromOrder), to = parseGateOrder("toOrder", toOrder);
  if (options === null || typeof options !== "object") throw new LSTMError("options", "an object", describe(options));
  for (const k of Object.keys(options)) {
    if (!["axis", "fromInterleaved", "toInterleaved"].includes(k)) throw new LSTMError(`options.${k}`, "one of axis, fromInterleaved, toInterleaved", "an unknown option");
  }
  const rank = src.shape.length;
  if (rank === 0) throw new LSTMError("tensor", "at least one axis (of size 4H)", "a scalar");
  let axis = checkInt("options.axis", options.axis ?? 0, -rank, rank - 1);
  if (axis < 0) axis += rank;
  const n = src.shape[axis];
  if (n === 0 || n % 4 !== 0) throw new LSTMError("tensor", `axis ${axis} of size 4H (a positive multiple of 4)`, `shape [${src.shape.join(",")}]`);
  const fi = options.fromInterleaved ?? false, ti = options.toInterleaved ?? false;
  if (typeof fi !== "boolean") throw new LSTMError("options.fromInterleaved", "a boolean", describe(fi));
  if (typeof ti !== "boolean") throw new LSTMError("options.toInterleaved", "a boolean", describe(ti));
  const outer = src.shape.slice(0, axis).reduce((a, b) => a * b, 1);
  const inner = src.shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  return { data: permuteAxis(src.data, outer, n, inner, rowMap(n / 4, from, to, fi, ti)), shape: src.shape.slice() };
}

/**
 * Parse a gate order string such as "aifo" into our letters (a and c become g).
 * @throws LSTMError unless it is 4 letters forming a permutation of i, f, o and one cell-input letter.
 */
export function parseGateOrder(name: string, order: unknown): Gate[] {
  const expected = 'four letters, a permutation of i, f, o and the cell input g (or a, c), e.g. "ifgo", "iofc", "aifo"';
  if (typeof order !== "string" || order.length !== 4) throw new LSTMError(name, expected, describe(order));
  const gates = [...order].map((ch) => (ch === "a" || ch === "c" ? "g" : ch));
  if (!gates.every((g) => (OURS as string[]).includes(g)) || new Set(gates).size !== 4) throw new LSTMError(name, expected, describe(order));
  return gates as Gate[];
}

/** Index map of a 4H axis: destination index q takes source index map[q]. */
export function rowMap(H: number, from: readonly Gate[], to: readonly Gate[], fromInterleaved: boolean, toInterleaved: boolean): Int32Array {
  const map = new Int32Array(4 * H);
  for (let q = 0; q < 4 * H; q++) {
    const k = toInterleaved ? q % 4 : Math.floor(q / H), j = toInterleaved ? Math.floor(q / 4) : q % H;
    const src = from.indexOf(to[k]);
    map[q] = fromInterleaved ? 4 * j + src : src * H + j;
  }
  return map;
}

/** A fresh copy of `src` viewed as [outer, n, inner] with the middle axis permuted by `map`. */
export function permuteAxis(src: Float32Array, outer: number, n: number, inner: number, map: Int32Array): Float32Array {
  const out = new Float32Array(outer * n * inner);
  for (let o = 0; o < outer; o++) {
    for (let q = 0; q < n; q++) {
      const d = (o * n + q) * inner, s = (o * n + map[q]) * inner;
      for (let k = 0; k < inner; k++) out[d + k] = src[s + k];
    }
  }
  return out;
}

/** [rows, cols] → a fresh [cols, rows]. */
export function transpose(src: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = src[r * cols + c];
  return out;
}

/** The shape a TensorLike declares ({data, shape} or nested arrays), or null for flat data. */
export function declaredShape(v: unknown): number[] | null {
  if (v !== null && typeof v === "object" && !ArrayBuffer.isView(v) && !Array.isArray(v)) {
    const s: unknown = (v as Tensor).shape; // numbers only: anything else is left for toTensor to refuse
    return Array.isArray(s) && s.every((d) => typeof d === "number") ? (s as number[]) : null;
  }
  if (Array.isArray(v) && Array.isArray(v[0])) {
    const s: number[] = [];
    for (let cur: unknown = v; Array.isArray(cur) && s.length <= 8; cur = cur[0]) s.push(cur.length);
    return s;
  }
  return null;
}

/** Length of flat data (Float32Array or number[]), else NaN. */
export function flatLength(v: unknown): number {
  return isF32(v) ? lengthOf(v) : Array.isArray(v) ? v.length : NaN;
}

/** Validate a TensorLike of any rank; flat data is 1-D. */
export function anyTensor(name: string, v: unknown): Tensor {
  const s = declaredShape(v);
  return ownTensor(name, v, s ? s.map(() => null) : [null]);
}
