import { LSTMError, describe } from "./errors";
import { isF32, lengthOf, typedKind } from "./typed";

export { isF32 };

/** A dense row-major float32 tensor. */
export interface Tensor {
  data: Float32Array;
  shape: number[];
}

/** Nested arrays of numbers, e.g. `[[1, 2], [3, 4]]`. */
export type NestedArray = number | NestedArray[];

/** What the API accepts as a tensor: a Tensor, a flat Float32Array or number[], or nested arrays. */
export type TensorLike = Tensor | Float32Array | readonly number[] | NestedArray[];

const shapeStr = (s: readonly number[]) => `[${s.join(",")}]`;
/** Largest dimension accepted (int32, as the kernels index). */
const MAX_DIM = 2 ** 31 - 1;
/** Nested number arrays beyond this are refused before allocating: pass a Float32Array instead. */
const MAX_NESTED = 2 ** 27;

/** The LSTMError for a Float32Array whose buffer can change length (see typed.ts), else nothing. */
export function refuseResizable(name: string, v: unknown): void {
  if (typedKind(v) === "Float32Array" && !isF32(v)) {
    throw new LSTMError(name, "a Float32Array over a fixed-length buffer (a resizable or growable one could change length during the call)", "a Float32Array over a resizable or growable buffer");
  }
}

/**
 * Refuse `data` if its length is no longer the `n` validated earlier in this call: a getter or
 * callback run since then may have detached its buffer. Call it after the last read of caller
 * values and before the first write into wasm memory, so nothing is half-written.
 */
export function intact(name: string, data: Float32Array, n: number): void {
  const m = lengthOf(data);
  if (m !== n) throw new LSTMError(name, `the ${n} values validated earlier in this call`, `${m} values: its buffer was detached during the call`);
}
const numel = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);
/** A size a shape may hold: an integer in [0, 2^31 − 1]. */
export const isDim = (d: unknown): d is number => typeof d === "number" && Number.isInteger(d) && d >= 0 && d <= MAX_DIM;

/**
 * Convert and validate a TensorLike.
 * `shape` is the expected shape; `null` entries are free and are filled from the value. Flat
 * inputs (Float32Array, number[]) carry no shape, so every entry must then be known.
 * The returned data may alias the caller's Float32Array; callers copy it into wasm memory.
 */
export function toTensor(name: string, v: unknown, shape: readonly (number | null)[]): Tensor {
  const want = () => shapeStr(shape.map((d) => (d === null ? "?" : d)) as number[]);
  refuseResizable(name, v);
  if (isF32(v) || (Array.isArray(v) && (v.length === 0 || typeof v[0] === "number"))) {
    if (shape.length !== 1 && shape.includes(null)) {
      throw new LSTMError(name, `a tensor with shape ${want()} (a flat array needs the sizes given as options)`, describe(v));
    }
    const len = isF32(v) ? lengthOf(v) : (v as number[]).length;
    const full = shape.map((d) => (d === null ? len : d));
    if (len !== numel(full)) {
      throw new LSTMError(name, `${numel(full)} values (shape ${shapeStr(full)})`, describe(v));
    }
    return { data: isF32(v) ? v : fromNumbers(name, v as number[]), shape: full };
  }
  if (typedKind(v) !== undefined) throw new LSTMError(name, "a Float32Array, number[], nested arrays or a {data, shape} tensor", describe(v));
  if (Array.isArray(v)) {
    const got = nestedShape(name, v);
    checkShape(name, got, shape, want);
    if (numel(got) > MAX_NESTED) throw new LSTMError(name, `nested arrays of at most ${MAX_NESTED} numbers (use a Float32Array)`, `shape ${shapeStr(got)}`);
    const out = new Float32Array(numel(got));
    flattenInto(name, v, out, 0, got, 0);
    return { data: out, shape: got };
  }
  if (v !== null && typeof v === "object" && "data" in v && "shape" in v) {
    // Each property is read once: a getter must not hand validation one value and the copy another.
    const data: unknown = (v as { data: unknown }).data, rawShape: unknown = (v as { shape: unknown }).shape;
    refuseResizable(`${name}.data`, data);
    if (!isF32(data)) throw new LSTMError(`${name}.data`, "a Float32Array", describe(data));
    const s = Array.isArray(rawShape) && rawShape.length <= 8 ? Array.from(rawShape as unknown[]) : null;
    if (!s || !s.every(isDim)) {
      throw new LSTMError(`${name}.shape`, `an array of at most 8 integers in [0, ${MAX_DIM}]`, describe(rawShape));
    }
    const dims = s as number[];
    if (numel(dims) !== lengthOf(data)) {
      throw new LSTMError(name, `data of length ${numel(dims)} for shape ${shapeStr(dims)}`, describe(data));
    }
    checkShape(name, dims, shape, want);
    return { data, shape: dims };
  }
  throw new LSTMError(name, "a Float32Array, number[], nested arrays or a {data, shape} tensor", describe(v));
}

/**
 * toTensor, with data the library owns: for code that computes in JS after reading further caller
 * values (converters), whose getters could otherwise detach or rewrite an array validated earlier.
 */
export function ownTensor(name: string, v: unknown, shape: readonly (number | null)[]): Tensor {
  const t = toTensor(name, v, shape);
  return { data: new Float32Array(t.data), shape: t.shape }; // not slice(): its species lookup runs caller code
}

function checkShape(name: string, got: number[], shape: readonly (number | null)[], want: () => string) {
  if (got.length !== shape.length || shape.some((d, i) => d !== null && d !== got[i])) {
    throw new LSTMError(name, `shape ${want()}`, `shape ${shapeStr(got)}`);
  }
}

function fromNumbers(name: string, a: readonly unknown[]): Float32Array {
  const out = new Float32Array(a.length);
  for (let i = 0; i < a.length; i++) {
    const x = a[i];
    if (typeof x !== "number") throw new LSTMError(`${name}[${i}]`, "a number", describe(x));
    out[i] = x;
  }
  return out;
}

// Shape of nested arrays, by their first elements; flattenInto then checks every element agrees.
function nestedShape(name: string, v: unknown[]): number[] {
  const s: number[] = [];
  let cur: unknown = v;
  while (Array.isArray(cur)) {
    s.push(cur.length);
    if (cur.length === 0) break;
    cur = cur[0];
    if (s.length > 8) throw new LSTMError(name, "nested arrays at most 8 deep", "deeper nesting");
  }
  return s;
}

function flattenInto(name: string, v: unknown, out: Float32Array, at: number, s: number[], d: number): number {
  if (d === s.length) {
    if (typeof v !== "number") throw new LSTMError(name, "numbers at the innermost level", describe(v));
    out[at] = v;
    return at + 1;
  }
  if (!Array.isArray(v) || v.length !== s[d]) {
    throw new LSTMError(name, `rectangular nested arrays of shape ${shapeStr(s)}`, `${describe(v)} at depth ${d}`);
  }
  for (const e of v) at = flattenInto(name, e, out, at, s, d + 1);
  return at;
}

/** A tensor the caller owns. */
export function tensor(data: Float32Array, shape: number[]): Tensor {
  return { data, shape };
}
