import { LSTMError, describe } from "./errors";
import { type Tensor, isF32, refuseResizable, toTensor } from "./tensor";
import { lengthOf, setInto } from "./typed";
import { backend, type Backend } from "./wasm/backend";

/** Gradients to clip: a list or a record of tensors or Float32Arrays, changed in place. */
export type GradientSet = (Tensor | Float32Array)[] | Record<string, Tensor | Float32Array>;

function buffers(tensors: unknown): Float32Array[] {
  if (tensors === null || typeof tensors !== "object") {
    throw new LSTMError("tensors", "an array or record of tensors or Float32Arrays", describe(tensors));
  }
  const isArr = Array.isArray(tensors);
  return Object.entries(tensors as object).map(([k, v]) => {
    const name = isArr ? `tensors[${k}]` : `tensors["${k}"]`;
    refuseResizable(name, v);
    if (isF32(v)) return v;
    if (v === null || typeof v !== "object" || Array.isArray(v)) throw new LSTMError(name, "a Float32Array or a { data: Float32Array, shape } tensor", describe(v));
    // A tensor's data must agree with its shape (toTensor reads each property once and aliases the data).
    const shape: unknown = (v as Tensor).shape;
    return toTensor(name, v, Array.isArray(shape) ? shape.map(() => null) : [null]).data;
  });
}

// Copy every buffer into one contiguous scratch block, run `fn` on it, and copy the results back.
function inWasm(bufs: Float32Array[], fn: (ptr: number, n: number) => boolean): void {
  const be = backend();
  // Lengths from the arrays' internal slots, taken after every getter has run: what is copied in and back.
  const lens = bufs.map(lengthOf);
  const n = lens.reduce((s, m) => s + m, 0);
  const { g } = be.scratch.plan({ g: n });
  if (n === 0) return;
  let heap = be.f32, at = g >>> 2;
  bufs.forEach((b, i) => { heap.set(b, at); at += lens[i]; });
  if (!fn(g, n)) return;
  heap = be.f32;
  at = g >>> 2;
  bufs.forEach((b, i) => { setInto(b, heap.subarray(at, at + lens[i])); at += lens[i]; });
}

/**
 * Clip gradients in place by their global L2 norm, the source's rule with no epsilon:
 * total = sqrt(Σ‖g‖²); if total > maxNorm, every g ← g·maxNorm/total. All-zero stays exactly zero.
 * @param tensors a list or record of tensors / Float32Arrays.
 * @param maxNorm the threshold, >= 0.
 * @returns the total norm before clipping (NaN if any gradient is NaN; nothing is changed then).
 * @throws LSTMError on a bad argument.
 * Note that `lstm.grads()` returns copies: to clip a model's own gradients use `lstm.clipGradNorm(maxNorm)`
 * (or `fit`'s `clipNorm`), which clips them in place. This function is for gradients you hold yourself.
 * @example
 * const grads = lstm.grads();                 // copies of the model's gradients
 * const norm = clipGradNorm(grads, 1.0);      // clips those copies in place
 * lstm.clipGradNorm(1.0);                     // clips the model's own gradients
 */
export function clipGradNorm(tensors: GradientSet, maxNorm: number): number {
  const bufs = buffers(tensors);
  if (typeof maxNorm !== "number" || !(maxNorm >= 0)) throw new LSTMError("maxNorm", "a number >= 0", describe(maxNorm));
  const be = backend();
  let total = 0;
  inWasm(bufs, (ptr, n) => {
    total = clipBlock(be, ptr, n, maxNorm);
    return total > maxNorm;
  });
  return total;
}

/**
 * Clamp every element to [-clipValue, clipValue], in place (torch.nn.utils.clip_grad_value_).
 * @param tensors a list or record of tensors / Float32Arrays.
 * @param clipValue the bound, >= 0.
 * @throws LSTMError on a bad argument.
 */
export function clipGradValue(tensors: GradientSet, clipValue: number): void {
  const bufs = buffers(tensors);
  if (typeof clipValue !== "number" || !(clipValue >= 0)) throw new LSTMError("clipValue", "a number >= 0", describe(clipValue));
  const K = backend().k;
  inWasm(bufs, (ptr, n) => { K.clip_value(ptr, n, clipValue); return true; });
}

/** @internal Global-norm clipping of one gradient block in wasm memory (n floats at byte pointer g); returns the norm. */
export function clipBlock(be: Backend, g: number, n: number, maxNorm: number): number {
  const total = Math.sqrt(be.k.sum_squares(g, n));
  if (total > maxNorm) be.k.scale(g, n, maxNorm / total);
  return total;
}
