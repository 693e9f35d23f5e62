// Moving data across the JS/wasm boundary, and the argument checks shared by the public API.
import { LSTMError, describe } from "./errors";
import { type Tensor, isDim, refuseResizable } from "./tensor";
import { isF32, lengthOf, typedKind, setInto } from "./typed";

/**
 * Reject non-objects and unknown keys, so a misspelt option is an error rather than ignored.
 * `what` names the keys in the message: options (an options object) or keys (named tensors, a file's object).
 */
export function checkKeys(name: string, o: unknown, allowed: readonly string[], what: "option" | "key" = "option"): void {
  if (o === null || typeof o !== "object" || Array.isArray(o)) throw new LSTMError(name, "an object", describe(o));
  // for-in with an own-property test is Object.keys without the array it would allocate per call.
  for (const k in o) {
    if (Object.prototype.hasOwnProperty.call(o, k) && !allowed.includes(k)) {
      throw new LSTMError(`${name}.${k}`, `one of the ${what}s ${allowed.join(", ")}`, `an unknown ${what}`);
    }
  }
}

/**
 * Keys read off untrusted data (a file, a model.json) are only `allowed` ones: anything else is
 * refused, not ignored. `path(k)` names the key in the error.
 */
export function onlyKeys(keys: Iterable<string>, allowed: readonly string[] | ReadonlySet<string>, path: (k: string) => string,
  expected = `only the keys ${[...allowed].join(", ")}`): void {
  const ok = Array.isArray(allowed) ? (k: string) => allowed.includes(k) : (k: string) => (allowed as ReadonlySet<string>).has(k);
  for (const k of keys) if (!ok(k)) throw new LSTMError(path(k), expected, "an unknown key");
}

/** What `lengths` options accept: integers as a number[] or any typed array of numbers. */
export type LengthsLike = readonly number[] | Int8Array | Uint8Array | Uint8ClampedArray | Int16Array | Uint16Array |
  Int32Array | Uint32Array | Float32Array | Float64Array;

/** lengths: B integers in [1, T]. */
export function checkLengths(name: string, v: unknown, B: number, T: number, into?: Int32Array): Int32Array {
  const kind = typedKind(v);
  const ok = Array.isArray(v) || (kind !== undefined && kind !== "BigInt64Array" && kind !== "BigUint64Array");
  if (!ok) throw new LSTMError(name, `an array of ${B} integers in [1, ${T}]`, describe(v));
  const a = v as ArrayLike<unknown>;
  const len = kind === undefined ? a.length : lengthOf(v as ArrayBufferView);
  if (len !== B) throw new LSTMError(name, `one length per batch element (${B})`, `${len} lengths`);
  // Each element is read once, validated and kept: what is used later is what was checked.
  const out = into && into.length >= B ? into : new Int32Array(B);
  for (let b = 0; b < B; b++) {
    const n = a[b];
    if (typeof n !== "number" || !Number.isInteger(n) || n < 1 || n > T) {
      throw new LSTMError(`${name}[${b}]`, `an integer in [1, ${T}] (T, the sequence length)`, describe(n));
    }
    out[b] = n;
  }
  return out;
}

/** Copy [T,B,W] data (or [B,T,W] when batchFirst) into time-major wasm memory at byte pointer dst. */
export function copyIn(heap: Float32Array, dst: number, data: Float32Array, T: number, B: number, W: number, batchFirst: boolean): void {
  const at = dst >>> 2;
  if (!batchFirst) { heap.set(data, at); return; }
  // Row by row with a plain loop: a subarray per row would allocate T·B views.
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      const s = (b * T + t) * W, d = at + (t * B + b) * W;
      for (let k = 0; k < W; k++) heap[d + k] = data[s + k];
    }
  }
}

/** Time-major [T,B,W] memory copied into `out` (fresh when omitted), as [B,T,W] when batchFirst. */
export function copyOut(heap: Float32Array, src: number, T: number, B: number, W: number, batchFirst: boolean,
  out: Float32Array = new Float32Array(T * B * W), view?: (ptr: number, n: number) => Float32Array): Float32Array {
  const at = src >>> 2;
  if (!batchFirst) { setInto(out, view ? view(src, T * B * W) : heap.subarray(at, at + T * B * W)); return out; }
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      const s = at + (t * B + b) * W, d = (b * T + t) * W;
      for (let k = 0; k < W; k++) out[d + k] = heap[s + k];
    }
  }
  return out;
}

/**
 * The data of x when it is a Float32Array of T·B·I values with seqLen and batch given, or a rank-3
 * { data, shape } tensor ([T,B,I], or [B,T,I] with batchFirst) that agrees with them: T and B go to
 * dims[0], dims[1]. Null for anything else (toTensor then checks it and names what is wrong).
 * Each property is read once and nothing is allocated: forward's hot path.
 */
export function inputData(x: unknown, I: number, bf: boolean, seqLen: number | null, batch: number | null, dims: number[]): Float32Array | null {
  if (isF32(x)) {
    if (seqLen === null || batch === null || lengthOf(x) !== seqLen * batch * I) return null;
    dims[0] = seqLen; dims[1] = batch;
    return x;
  }
  if (x === null || typeof x !== "object") return null;
  const data: unknown = (x as { data?: unknown }).data, s: unknown = (x as { shape?: unknown }).shape;
  if (!isF32(data) || !Array.isArray(s) || s.length !== 3) return null;
  const a: unknown = s[0], b: unknown = s[1];
  if (!isDim(a) || !isDim(b) || s[2] !== I) return null;
  const T = bf ? b : a, B = bf ? a : b;
  if ((seqLen !== null && T !== seqLen) || (batch !== null && B !== batch) || lengthOf(data) !== a * b * I) return null;
  dims[0] = T; dims[1] = B;
  return data;
}

/** Like dataOf, but a flat Float32Array of the right length is also taken (h0, dy and the like). */
export function dataOrFlat(t: unknown, d0: number, d1: number, d2: number): Float32Array | null {
  return isF32(t) ? (lengthOf(t) === d0 * d1 * d2 ? t : null) : dataOf(t, d0, d1, d2);
}

/** `rows` rows of `width` floats starting at byte pointer src, `stride` floats apart, packed. */
export function readRows(heap: Float32Array, src: number, stride: number, rows: number, width: number): Float32Array {
  const out = new Float32Array(rows * width), at = src >>> 2;
  for (let r = 0; r < rows; r++) out.set(heap.subarray(at + r * stride, at + r * stride + width), r * width);
  return out;
}

/** An `out` tensor, if given, must be a { data: Float32Array, shape } of exactly `shape`. */
export function checkOut(name: string, t: unknown, shape: readonly number[]): void {
  if (t === undefined) return;
  const n = shape.reduce((a, b) => a * b, 1);
  const o = t !== null && typeof t === "object" ? (t as { data?: unknown; shape?: unknown }) : null;
  const data = o?.data, s = o?.shape;
  refuseResizable(`${name}.data`, data);
  const ok = isF32(data) && lengthOf(data) === n && Array.isArray(s) && s.length === shape.length && shape.every((d, i) => s[i] === d);
  if (!ok) throw new LSTMError(name, `a { data: Float32Array, shape: [${shape.join(",")}] } tensor`, describe(t));
}

/**
 * t.data when t is a { data: Float32Array, shape } tensor of exactly shape [d0, d1] or [d0, d1, d2]
 * (d2 < 0: rank 2), else null. Reads each property once and allocates nothing (step's hot path).
 */
export function dataOf(t: unknown, d0: number, d1: number, d2 = -1): Float32Array | null {
  if (t === null || typeof t !== "object") return null;
  const data: unknown = (t as { data?: unknown }).data, s: unknown = (t as { shape?: unknown }).shape;
  if (!isF32(data) || !Array.isArray(s)) return null;
  const rank = d2 < 0 ? 2 : 3, n = d0 * d1 * (d2 < 0 ? 1 : d2);
  if (s.length !== rank || s[0] !== d0 || s[1] !== d1 || (rank === 3 && s[2] !== d2)) return null;
  return lengthOf(data) === n ? data : null;
}

/** An optional `out` tensor's data: null when absent, else dataOf's answer or an LSTMError naming it. */
export function outData(name: string, t: unknown, d0: number, d1: number, d2 = -1): Float32Array | null {
  if (t === undefined) return null;
  return dataOf(t, d0, d1, d2) ?? refuse(name, t, d2 < 0 ? [d0, d1] : [d0, d1, d2]);
}

/** The LSTMError for a tensor dataOf refused. */
export function refuse(name: string, t: unknown, shape: readonly number[]): never {
  checkOut(name, t, shape); // throws with the details; a getter answering differently gets the plain error below
  throw new LSTMError(name, `a { data: Float32Array, shape: [${shape.join(",")}] } tensor`, describe(t));
}

/** A result tensor read from byte pointer src: into `od` (the validated data of `out`) when given, else fresh. */
export function emit(heap: Float32Array, src: number, shape: number[], out?: Tensor, od?: Float32Array | null): Tensor {
  const at = src >>> 2, n = shape.reduce((a, b) => a * b, 1);
  if (!out || !od) return { data: heap.slice(at, at + n), shape };
  setInto(od, heap.subarray(at, at + n));
  return out;
}

/** With checkFinite on: the first NaN or ±Infinity in a tensor, named. */
export function finite(name: string, data: Float32Array): void {
  for (let i = 0, n = lengthOf(data); i < n; i++) {
    if (!Number.isFinite(data[i])) throw new LSTMError(name, "finite values (checkFinite is on)", `${data[i]} at flat index ${i}`);
  }
}
