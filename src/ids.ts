// Token ids from callers: nested arrays of integers, an Int32Array, a Float32Array of integral
// values, or a { data, shape } tensor of either. Each id is checked against the vocabulary, and a
// bad one is named by its position (x[2][5]).
import { LSTMError, describe } from "./errors";
import { typedKind, lengthOf, resizableBuffer } from "./typed";

/** What the API accepts as ids. */
export type IdsLike = Int32Array | Float32Array | readonly number[] | readonly (readonly number[])[] | { data: Int32Array | Float32Array; shape: number[] };

/** Ids as the kernels take them, with their shape. */
export interface Ids { data: Int32Array; shape: number[] }

const MAX_IDS = 2 ** 27;

// Any shape: the value's own (flat typed arrays are 1-D).
function rankOf(v: unknown): null[] {
  let r = 1;
  if (Array.isArray(v)) { r = 0; for (let cur: unknown = v; Array.isArray(cur) && r <= 8; cur = cur[0]) r++; }
  else if (typedKind(v) === undefined && v !== null && typeof v === "object") {
    const s: unknown = (v as { shape?: unknown }).shape;
    if (Array.isArray(s)) r = s.length;
  }
  return new Array<null>(Math.max(1, Math.min(r, 8))).fill(null);
}

/** The position of flat index i in `shape`, as `[a][b]…`. */
const position = (i: number, shape: readonly number[]) => {
  const idx: number[] = [];
  for (let d = shape.length - 1; d >= 0; d--) { idx.unshift(i % shape[d]); i = Math.floor(i / shape[d]); }
  return idx.map((k) => `[${k}]`).join("");
};

/**
 * Validate ids against a vocabulary of V and an expected shape (null entries are free; flat
 * typed arrays need every size but one known, and take the rest from their length).
 * @returns an owned Int32Array copy and the shape.
 */
export function toIds(name: string, v: unknown, expected: readonly (number | null)[] | null, V: number): Ids {
  const shape = expected ?? rankOf(v);
  const want = `ids of shape [${shape.map((d) => d ?? "?").join(",")}], integers in [0, ${V - 1}]`;
  let flat: ArrayLike<unknown>, dims: number[];
  const kind = typedKind(v);
  if (kind === "Int32Array" || kind === "Float32Array") {
    if (resizableBuffer(v as Int32Array)) throw new LSTMError(name, `${kind}s over a fixed-length buffer`, `a ${kind} over a resizable or growable buffer`);
    const n = lengthOf(v as Int32Array), known = shape.reduce<number>((a, d) => a * (d ?? 1), 1), open = shape.filter((d) => d === null).length;
    if (open > 1 || known === 0 || n % known !== 0) throw new LSTMError(name, `${want} (a flat array needs the other sizes known)`, describe(v));
    dims = shape.map((d) => d ?? n / known);
    flat = v as ArrayLike<number>;
  } else if (kind === undefined && v !== null && typeof v === "object" && !Array.isArray(v) && "data" in v) {
    const data: unknown = (v as { data?: unknown }).data, s: unknown = (v as { shape?: unknown }).shape;
    const dk = typedKind(data);
    if ((dk !== "Int32Array" && dk !== "Float32Array") || resizableBuffer(data as Int32Array)) throw new LSTMError(`${name}.data`, "an Int32Array or a Float32Array of integral values", describe(data));
    if (!Array.isArray(s) || s.length !== shape.length || !s.every((d, i) => Number.isInteger(d) && d >= 0 && (shape[i] === null || shape[i] === d))) {
      throw new LSTMError(`${name}.shape`, `[${shape.map((d) => d ?? "?").join(",")}]`, describe(s));
    }
    dims = (s as number[]).slice();
    if (dims.reduce((a, b) => a * b, 1) !== lengthOf(data as Int32Array)) throw new LSTMError(name, `data of length ${dims.reduce((a, b) => a * b, 1)} for shape [${dims}]`, describe(data));
    flat = data as ArrayLike<number>;
  } else if (Array.isArray(v)) {
    dims = [];
    for (let cur: unknown = v; Array.isArray(cur); cur = cur[0]) {
      dims.push(cur.length);
      if (dims.length > shape.length || cur.length === 0) break;
    }
    if (dims.length !== shape.length || !dims.every((d, i) => shape[i] === null || shape[i] === d)) throw new LSTMError(name, want, `nested arrays of shape [${dims}]`);
    const n = dims.reduce((a, b) => a * b, 1);
    if (n > MAX_IDS) throw new LSTMError(name, `at most ${MAX_IDS} ids as nested arrays (use an Int32Array)`, `shape [${dims}]`);
    const out: unknown[] = new Array(n);
    let at = 0;
    const walk = (a: unknown, d: number, path: string) => {
      if (d === dims.length) { out[at++] = a; return; }
      if (!Array.isArray(a) || a.length !== dims[d]) throw new LSTMError(`${name}${path}`, `an array of length ${dims[d]} (rectangular nested arrays)`, describe(a));
      for (let i = 0; i < a.length; i++) walk(a[i], d + 1, `${path}[${i}]`);
    };
    walk(v, 0, "");
    flat = out;
  } else {
    throw new LSTMError(name, `${want}: nested arrays, an Int32Array, a Float32Array of integral values or a { data, shape } tensor`, describe(v));
  }
  const n = dims.reduce((a, b) => a * b, 1), data = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const id = flat[i];
    if (typeof id !== "number" || !Number.isInteger(id) || id < 0 || id >= V) {
      throw new LSTMError(`${name}${position(i, dims)}`, `an integer id in [0, ${V - 1}]`, describe(id));
    }
    data[i] = id;
  }
  return { data, shape: dims };
}
