import { LSTMError, describe } from "./errors";
import { type Tensor, isF32 } from "./tensor";
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
    if (isF32(v)) return v;
    const data = v && typeof v === "object" ? (v as Tensor).data : undefined;
    if (isF32(data)) return data;
    throw new LSTMError(name, "a Float32Array or a { data: Float32Array, shape } tensor", describe(v));
  });
}

// Copy every buffer into one contiguous scratch block, run `fn` on it, and copy the results back.
function inWasm(bufs: Float32Array[], fn: (ptr: number, n: number) => boolean): void {
  const be = backend();
  const n = bufs.reduce((s, b) => s + b.length, 0);
  const { g } = be.scratch.plan({ g: n });
  if (n === 0) return;
  let heap = be.f32, at = g >>> 2;
  for (const b of bufs) { heap.set(b, at); at += b.length; }
  if (!fn(g, n)) return;
  heap = be.f32;
  at = g >>> 2;
  for (const b of bufs) { b.set(heap.subarray(at, at + b.length)); at += b.length; }
}

/**
 * Clip gradients in place by their global L2 norm, the source's rule with no epsilon:
 * total = sqrt(Σ‖g‖²); if total > maxNorm, every g ← g·maxNorm/total. All-zero stays exactly zero.
 * @param tensors a list or record of tensors / Float32Arrays.
 * @param maxNorm the threshold, >= 0.
 * @returns the total norm before clipping (NaN if any gradient is NaN; nothing is changed then).
 * @throws LSTMError on a bad argument.
 * @example
 * const norm = clipGradNorm(lstm.grads(), 1.0);
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

/** Global-norm clipping of one gradient block in wasm memory (n floats at byte pointer g); returns the norm. */
export function clipBlock(be: Backend, g: number, n: number, maxNorm: number): number {
  const total = Math.sqrt(be.k.sum_squares(g, n));
  if (total > maxNorm) be.k.scale(g, n, maxNorm / total);
  return total;
}
