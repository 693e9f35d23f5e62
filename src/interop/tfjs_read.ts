// The untrusted half of Sequential.fromTfjs: a TF.js Layers model's model.json (text, or an
// object a caller parsed) and its weight bytes, read with the safetensors reader's rules.
//   - The JSON is copied once into null-prototype objects, within size, depth and value-count
//     limits. A caller's object is read through property descriptors: each property once, getters
//     refused, "__proto__" / "constructor" / "prototype" keys refused anywhere.
//   - The weights manifest (tfjs-core io/types.ts: [{ paths, weights: [{ name, shape, dtype,
//     group?, quantization? }] }], weights packed in manifest order, group by group) is matched
//     against the bytes before anything is allocated: the bytes must be exactly what it describes.
import { onlyKeys } from "../io";
import { LSTMError, describe } from "../errors";
import { parseStrictJson, type Json, type JsonObject } from "../json";
import { typedKind, isArrayBuffer, bytesOf, LITTLE_ENDIAN } from "../typed";

/** What weightData may be: one buffer, or the shards in manifest order. */
export type TfjsWeightData = ArrayBuffer | Uint8Array | readonly (ArrayBuffer | Uint8Array)[];

/** model.json text above this many characters is refused (real ones are kilobytes: the weights live in the .bin files). */
const MAX_JSON_CHARS = 16 << 20;
/** Nesting limit: a Keras layer config nests about 8 deep (model_config → config → layers → layer → config → initializer → config). */
const MAX_DEPTH = 32;
/** Values (objects, arrays and scalars) in one model.json. */
const MAX_VALUES = 1 << 20;
const MAX_SHARDS = 1 << 16;
const FORBIDDEN = new Set(["__proto__", "constructor", "prototype"]);

/** The top-level keys read; the rest (generatedBy, userDefinedMetadata, a ModelArtifacts' weightData, …) are never touched. */
const ROOT_KEYS = ["modelTopology", "weightsManifest", "weightSpecs", "format"];

/**
 * model.json as a null-prototype JSON copy of the keys read: text is parsed strictly (no
 * duplicated keys), an object is copied. Either way the result shares nothing with the caller.
 * @throws LSTMError naming `modelJson` or the offending path.
 */
export function readModelJson(v: unknown): JsonObject {
  let root: unknown = v;
  if (typeof v === "string") {
    if (v.length > MAX_JSON_CHARS) throw new LSTMError("modelJson", `model.json text of at most ${MAX_JSON_CHARS} characters`, `${v.length} characters`);
    root = parseStrictJson(v, "modelJson", MAX_DEPTH);
  }
  const budget = { left: MAX_VALUES };
  const out: JsonObject = Object.create(null);
  if (!plainObject(root, "modelJson")) throw new LSTMError("modelJson", "a model.json object { modelTopology, weightsManifest, … } or its text", describe(root));
  entries(root, "modelJson", (key, value, path) => { out[key] = copy(value, path, 2, budget); }, ROOT_KEYS);
  return out;
}

// One value copied: scalars as they are, arrays and objects rebuilt from own data properties.
function copy(v: unknown, at: string, depth: number, budget: { left: number }): Json {
  if (--budget.left < 0) throw new LSTMError("modelJson", `at most ${MAX_VALUES} JSON values`, "more");
  if (v === null || typeof v === "boolean" || typeof v === "string") return v;
  if (typeof v === "number") {
    if (!Number.isFinite(v)) throw new LSTMError(at, "a finite number (JSON has no NaN or Infinity)", describe(v));
    return v;
  }
  if (typeof v !== "object") throw new LSTMError(at, "a JSON value (null, boolean, number, string, array or object)", describe(v));
  if (depth > MAX_DEPTH) throw new LSTMError(at, `JSON nested at most ${MAX_DEPTH} deep`, "deeper nesting");
  if (guarded(at, () => Array.isArray(v))) {
    const len = guarded(at, () => dataValue(v, "length", at));
    if (typeof len !== "number" || len > budget.left) throw new LSTMError(at, `an array of at most ${budget.left} values`, describe(len));
    const a: Json[] = [];
    for (let i = 0; i < len; i++) a.push(copy(guarded(at, () => dataValue(v, String(i), `${at}[${i}]`)), `${at}[${i}]`, depth + 1, budget));
    return a;
  }
  if (!plainObject(v, at)) throw new LSTMError(at, "a plain object, array or JSON scalar", describe(v));
  const o: JsonObject = Object.create(null);
  entries(v, at, (key, value, path) => { o[key] = copy(value, path, depth + 1, budget); });
  return o;
}

// Each own enumerable string-keyed data property (of the `only` keys, when given), read once
// through its descriptor: as JSON.stringify sees the object, but a getter is refused, not called.
function entries(o: object, at: string, each: (key: string, value: unknown, path: string) => void, only?: string[]): void {
  for (const key of guarded(at, () => Reflect.ownKeys(o))) {
    if (typeof key !== "string") continue; // symbols are not JSON
    const path = `${at}${pathKey(key)}`;
    if (FORBIDDEN.has(key)) throw new LSTMError(path, "no key named __proto__, constructor or prototype", `the key ${JSON.stringify(key)}`);
    if (only && !only.includes(key)) continue;
    const d = guarded(path, () => Reflect.getOwnPropertyDescriptor(o, key));
    if (!d || !d.enumerable) continue;
    if (!("value" in d)) throw new LSTMError(path, "a plain data property (model.json as JSON.parse gives it)", "a getter or setter");
    if (d.value !== undefined) each(key, d.value, path); // as JSON.stringify, which leaves undefined out
  }
}

// An ordinary object (not an array, typed array, Date, Map, …), asked of the engine.
const plainObject = (v: unknown, at: string): v is object =>
  v !== null && typeof v === "object" && guarded(at, () => !Array.isArray(v) && Object.prototype.toString.call(v) === "[object Object]");

// Runs a look at a caller's object: a Proxy's trap that throws becomes an LSTMError naming where.
function guarded<T>(at: string, f: () => T): T {
  try {
    return f();
  } catch (err) {
    if (err instanceof LSTMError) throw err;
    throw new LSTMError(at, "a value that can be read", `an object whose inspection threw (${describe(err instanceof Error ? err.message : err)})`);
  }
}

function dataValue(o: object, key: string, at: string): unknown {
  const d = Reflect.getOwnPropertyDescriptor(o, key);
  if (!d) throw new LSTMError(at, "an array without holes", "a missing element");
  if (!("value" in d)) throw new LSTMError(at, "a plain data property (model.json as JSON.parse gives it)", "a getter or setter");
  return d.value;
}

/** `.name` for identifier keys, `["…"]` for the rest: how paths are named in errors. */
export const pathKey = (k: string) => (/^[A-Za-z_$][\w$]*$/.test(k) ? `.${k}` : `[${JSON.stringify(k.length > 40 ? k.slice(0, 40) + "…" : k)}]`);
export const isObject = (v: Json | undefined): v is JsonObject => v !== null && typeof v === "object" && !Array.isArray(v);
/** A JSON value described for a message. */
export function kind(v: Json | undefined): string {
  if (Array.isArray(v)) return `an array of length ${v.length}`;
  if (isObject(v)) return `an object with keys [${Object.keys(v).slice(0, 5).join(", ")}]`;
  return describe(v);
}

// ---------------------------------------------------------------- keys as TF.js reads them

/** TF.js's toCamelCase (tfjs-layers utils/generic_utils.ts): `return_sequences` → `returnSequences`; TF.js applies it to every config key and string value. */
export function camel(s: string): string {
  if (s.length <= 1 || !s.includes("_")) return s;
  return s.replace(/_+(\w|$)/g, (_, c: string) => c.toUpperCase());
}

/** An object's entries under their camelCase keys, as TF.js reads a config; a key written both ways is refused. */
export class Fields {
  private readonly m = new Map<string, { key: string; value: Json }>();
  constructor(readonly o: JsonObject, readonly at: string) {
    for (const key of Object.keys(o)) {
      const c = camel(key), prev = this.m.get(c);
      if (prev) throw new LSTMError(`${at}${pathKey(key)}`, `one spelling of the setting (${prev.key} is there too)`, `the key ${JSON.stringify(key)}`);
      this.m.set(c, { key, value: o[key] });
    }
  }
  /** The value under a camelCase key (undefined when absent). */
  get(k: string): Json | undefined { return this.m.get(k)?.value; }
  /** The path of a key for errors, spelt as in the file. */
  path(k: string): string { return `${this.at}${pathKey(this.m.get(k)?.key ?? k)}`; }
  keys(): string[] { return [...this.m.keys()]; }
}

// ---------------------------------------------------------------- weights

/** One weight of the manifest: where its bytes are in the concatenated shards. */
export interface WeightEntry { name: string; at: string; shape: number[]; offset: number; count: number; optimizer: boolean }

/** The caller's weight bytes as fixed views (one per shard), read through the engine's own accessors. */
export function takeWeightData(v: unknown): Uint8Array[] {
  const one = (x: unknown, at: string): Uint8Array => {
    const u8 = typedKind(x) === "Uint8Array", ab = !u8 && isArrayBuffer(x);
    if (!u8 && !ab) throw new LSTMError(at, "an ArrayBuffer or Uint8Array of weight bytes", describe(x));
    try {
      return u8 ? bytesOf(x as Uint8Array) : new Uint8Array(x as ArrayBuffer);
    } catch {
      throw new LSTMError(at, "weight bytes over a buffer that is not detached", "a detached buffer");
    }
  };
  if (!guarded("weightData", () => Array.isArray(v))) return [one(v, "weightData")];
  const list = v as unknown[], n = guarded("weightData", () => list.length);
  if (n < 1 || n > MAX_SHARDS) throw new LSTMError("weightData", `1 to ${MAX_SHARDS} shards`, describe(v));
  // The elements first (a getter may run here), then the views (engine accessors only).
  const items: unknown[] = [];
  for (let i = 0; i < n; i++) items.push(guarded(`weightData[${i}]`, () => list[i]));
  return items.map((x, i) => one(x, `weightData[${i}]`));
}

// Bytes per element of the dtypes a manifest may hold; only float32 weights are loaded, the rest
// (an optimizer's int32 step counter) only skipped.
const DTYPE_BYTES: Record<string, number> = { float32: 4, int32: 4 };

/**
 * The manifest's weights with their offsets, checked against `bytes` as they are read: each
 * weight must fit in the bytes, and together they must be exactly the bytes. `specs` (when there
 * is no manifest) is a TF.js ModelArtifacts' flat weightSpecs list, read as one group.
 */
export function readManifest(manifest: Json | undefined, specs: Json | undefined, bytes: number): WeightEntry[] {
  const out: WeightEntry[] = [], seen = new Set<string>();
  let offset = 0;
  const group = (list: Json | undefined, at: string) => {
    if (!Array.isArray(list)) throw new LSTMError(at, "an array of { name, shape, dtype }", kind(list));
    list.forEach((w, wi) => {
      const e = readWeight(w, `${at}[${wi}]`, bytes, offset);
      if (seen.has(e.name)) throw new LSTMError(`${e.at}.name`, "a name no other weight has", JSON.stringify(e.name));
      seen.add(e.name);
      out.push(e);
      offset += e.bytes;
    });
  };
  if (manifest === undefined && specs !== undefined) group(specs, "modelJson.weightSpecs");
  else {
    const at0 = "modelJson.weightsManifest";
    if (!Array.isArray(manifest)) throw new LSTMError(at0, "an array of weight groups [{ paths, weights }]", kind(manifest));
    manifest.forEach((g, gi) => {
      const at = `${at0}[${gi}]`;
      if (!isObject(g)) throw new LSTMError(at, "a weight group { paths, weights }", kind(g));
      onlyKeys(Object.keys(g), ["paths", "weights"], (k) => `${at}${pathKey(k)}`);
      if (!Array.isArray(g.paths) || !g.paths.every((p) => typeof p === "string")) throw new LSTMError(`${at}.paths`, "an array of file names", kind(g.paths));
      group(g.weights, `${at}.weights`);
    });
  }
  // Each weight fits in `bytes` alone, so this sum stays an exact integer.
  if (offset !== bytes) throw new LSTMError("weightData", `${offset} bytes, as the weights manifest describes`, `${bytes} bytes`);
  return out;
}

// One weight entry { name, shape, dtype, group? } at `offset`, its size checked against all the bytes.
function readWeight(w: Json, at: string, bytes: number, offset: number): WeightEntry & { bytes: number } {
  if (!isObject(w)) throw new LSTMError(at, "a weight { name, shape, dtype }", kind(w));
  for (const k of Object.keys(w)) {
    if (k === "quantization") throw new LSTMError(`${at}.quantization`, "float32 weights (quantized ones are not read: convert the model without --quantize_*)", kind(w[k]));
  }
  onlyKeys(Object.keys(w), ["name", "shape", "dtype", "group"], (k) => `${at}${pathKey(k)}`);
  const { name, shape, dtype, group } = w;
  if (typeof name !== "string" || name.length === 0 || name.length > 1024) throw new LSTMError(`${at}.name`, "a weight name of 1 to 1024 characters", kind(name));
  if (group !== undefined && typeof group !== "string") throw new LSTMError(`${at}.group`, "a string", kind(group));
  const optimizer = group === "optimizer"; // TF.js's includeOptimizer weights: skipped, as loadLayersModel does for a model
  if (typeof dtype !== "string" || !(optimizer ? dtype in DTYPE_BYTES : dtype === "float32")) throw new LSTMError(`${at}.dtype`, "float32", kind(dtype));
  if (!Array.isArray(shape) || shape.length > 8 || !shape.every((d) => typeof d === "number" && Number.isSafeInteger(d) && d >= 0)) {
    throw new LSTMError(`${at}.shape`, "an array of at most 8 non-negative integers", kind(shape));
  }
  // The count, stopped as soon as it passes what all the bytes can hold (no overflow).
  const width = DTYPE_BYTES[dtype], fits = Math.floor(bytes / width);
  let count = shape.includes(0) ? 0 : 1;
  for (const d of shape as number[]) if (count > 0 && (count *= d) > fits) break;
  if (count > fits) throw new LSTMError(`${at}.shape`, `a shape whose ${dtype} values fit in the ${bytes} bytes of weightData`, `[${shape.join(",")}]`);
  return { name, at, shape: (shape as number[]).map((d) => d + 0), offset, count, optimizer, bytes: count * width };
}

/** A weight's floats from the concatenated shards (little-endian, possibly unaligned, possibly spanning shards). */
export function readFloats(shards: Uint8Array[], e: WeightEntry): Float32Array {
  const out = new Float32Array(e.count), dst = new Uint8Array(out.buffer);
  let skip = e.offset, filled = 0;
  for (const s of shards) {
    if (filled === dst.length) break;
    if (skip >= s.length) { skip -= s.length; continue; }
    const n = Math.min(s.length - skip, dst.length - filled);
    dst.set(s.subarray(skip, skip + n), filled);
    filled += n;
    skip = 0;
  }
  if (!LITTLE_ENDIAN) { const v = new DataView(out.buffer); for (let k = 0; k < e.count; k++) out[k] = v.getFloat32(4 * k, true); }
  return out;
}
