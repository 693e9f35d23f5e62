// The safetensors format (https://huggingface.co/docs/safetensors, reference implementation
// huggingface/safetensors, safetensors/src/tensor.rs): an 8-byte little-endian u64 N, N bytes of
// UTF-8 JSON header { name: { dtype, shape, data_offsets: [begin, end] }, …, "__metadata__"?:
// { string: string } }, then the data buffer. Offsets are relative to the buffer start, data is
// little-endian and row-major, and tensors are packed.
//
// Reading treats the file as hostile: every header number is checked against the file before
// anything is allocated, so no tensor allocation exceeds the file's own data (F16/BF16 widen to
// float32, at most twice their bytes). Like the reference implementation, the reader requires the
// tensors to tile the buffer exactly: gaps, overlaps and trailing bytes are refused.
import { LSTMError, describe } from "./errors";
import { parseStrictJson, type Json, type JsonObject } from "./json";
import { type Tensor, toTensor, isF32, intact, refuseResizable } from "./tensor";
import { typedKind, lengthOf, isArrayBuffer, resizableBuffer, bytesOf, LITTLE_ENDIAN } from "./typed";

/** A safetensors file's contents: float32 tensors and the string metadata (empty when absent). */
export interface SafetensorsContents {
  tensors: Record<string, Tensor>;
  metadata: Record<string, string>;
}

/**
 * Header limit. The reference implementation allows 100 MB (MAX_HEADER_SIZE in
 * safetensors/src/tensor.rs), but parsing that much JSON here takes tens of seconds and gigabytes;
 * real headers are far smaller (about 150 bytes per tensor: a 700-tensor shard needs ~100 KB).
 */
export const MAX_HEADER_BYTES = 1 << 20;
// A valid header nests 3 deep (root, entry, shape); the limit only protects the parser's stack.
const MAX_DEPTH = 16;
// Element sizes of the dtypes read (safetensors' Dtype names).
const DTYPE_BYTES = new Map([["F32", 4], ["F64", 8], ["F16", 2], ["BF16", 2]]);
const FIELDS = ["dtype", "shape", "data_offsets"];
// Names that would be dangerous keys on the plain objects callers copy these into.
const FORBIDDEN = new Set(["__proto__", "constructor", "prototype"]);
const METADATA = "__metadata__";
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/**
 * Serialise float32 tensors to the safetensors format, as the reference implementation does:
 * dtype F32, tensors packed in sorted name order (by Unicode code point, i.e. UTF-8 byte order),
 * `__metadata__` first when given, and the header padded with spaces so the data starts 8-byte aligned.
 * @param tensors name → `{ data: Float32Array, shape }` or a bare Float32Array (saved with shape [length]).
 *   Names must not be "__metadata__", "__proto__", "constructor" or "prototype".
 * @param metadata optional string → string map, stored as the header's `__metadata__`.
 * @returns the file's bytes.
 * @throws LSTMError on a bad tensor, name or metadata value.
 * @example
 * const bytes = writeSafetensors(lstm.stateDict(), { format: "pt" });
 * fs.writeFileSync("lstm.safetensors", bytes);
 */
export function writeSafetensors(tensors: Record<string, Tensor | Float32Array>, metadata?: Record<string, string>): Uint8Array {
  if (!isPlainObject(tensors)) throw new LSTMError("tensors", "an object of named tensors", describe(tensors));
  const names = Object.keys(tensors);
  for (const name of names) checkName(`tensors["${name}"]`, name, true);
  names.sort(byCodePoint);
  const parts: string[] = [];
  if (metadata !== undefined) parts.push(`"${METADATA}":${metadataJson(metadata)}`);
  const list: Float32Array[] = [], lens: number[] = [];
  let offset = 0;
  for (const name of names) {
    const v: unknown = tensors[name];
    const what = `tensors["${name}"]`;
    let t: Tensor;
    refuseResizable(what, v);
    if (isF32(v)) t = { data: v, shape: [lengthOf(v)] };
    else if (v !== null && typeof v === "object" && Array.isArray((v as Tensor).shape)) t = toTensor(what, v, (v as Tensor).shape.map(() => null));
    else throw new LSTMError(what, "a { data: Float32Array, shape } tensor or a Float32Array", describe(v));
    const end = offset + 4 * lengthOf(t.data);
    parts.push(`${JSON.stringify(name)}:{"dtype":"F32","shape":[${t.shape.join(",")}],"data_offsets":[${offset},${end}]}`);
    list.push(t.data);
    lens.push(lengthOf(t.data));
    offset = end;
  }
  // A later tensor's getter may have detached an earlier one's buffer.
  list.forEach((d, i) => intact(`tensors["${names[i]}"]`, d, lens[i]));
  const json = new TextEncoder().encode(`{${parts.join(",")}}`);
  const N = Math.ceil(json.length / 8) * 8; // spaces up to the next multiple of 8, as the reference pads
  const out = new Uint8Array(8 + N + offset);
  const view = new DataView(out.buffer);
  view.setUint32(0, N % 2 ** 32, true);
  view.setUint32(4, Math.floor(N / 2 ** 32), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + N);
  let at = 8 + N;
  list.forEach((data, i) => {
    if (LITTLE_ENDIAN) out.set(bytesOf(data), at);
    else for (let k = 0; k < lens[i]; k++) view.setFloat32(at + 4 * k, data[k], true);
    at += 4 * lens[i];
  });
  return out;
}

/**
 * Read a safetensors file's tensors (F32, F64, F16 and BF16, all converted to float32).
 * Same checks as {@link readSafetensorsWithMetadata}, which also returns the metadata.
 * @param bytes the whole file.
 * @returns name → fresh `{ data: Float32Array, shape }`, in an object with a null prototype.
 * @throws LSTMError on any malformed or unsupported file, naming the problem.
 * @example
 * lstm.loadStateDict(readSafetensors(fs.readFileSync("lstm.safetensors")));
 */
export function readSafetensors(bytes: Uint8Array | ArrayBuffer): Record<string, Tensor> {
  return readSafetensorsWithMetadata(bytes).tensors;
}

/**
 * Read a safetensors file: its tensors and its `__metadata__`.
 *
 * Accepted dtypes: F32, F64 (rounded to float32, out-of-range values become ±Infinity), F16 and
 * BF16 (exact). Every other dtype (I64, I32, BOOL, …) is refused, naming the tensor. Refused too:
 * a file under 8 bytes; a header length beyond the file or above 1 MiB; a header that is not
 * UTF-8 JSON (a BOM included), not an object, nested over 16 deep or with a duplicated key; tensor
 * names "__proto__", "constructor" or "prototype"; an entry with a missing or extra field; a shape
 * that is not non-negative integers; data_offsets that are not two integers with begin ≤ end inside
 * the buffer, whose length is not product(shape)·(dtype size), or that overlap another tensor; gaps
 * between tensors or bytes after the last one; and a `__metadata__` that is not a string → string map.
 * @param bytes the whole file.
 * @returns `{ tensors, metadata }`; both objects have a null prototype, and `metadata` is empty when absent.
 * @throws LSTMError naming the problem (argument "bytes", "header", `header["name"].shape`, …).
 * @example
 * const { tensors, metadata } = readSafetensorsWithMetadata(new Uint8Array(await file.arrayBuffer()));
 */
export function readSafetensorsWithMetadata(bytes: Uint8Array | ArrayBuffer): SafetensorsContents {
  // The engine's own accessors say what `bytes` is and how long (see typed.ts); a resizable buffer is
  // copied, so the file cannot change while it is read.
  const kind = typedKind(bytes);
  const src = kind === "Uint8Array" ? (bytes as Uint8Array) : isArrayBuffer(bytes) ? new Uint8Array(bytes) : null;
  if (!src) throw new LSTMError("bytes", "a Uint8Array or ArrayBuffer holding a safetensors file", describe(bytes));
  const u8 = resizableBuffer(src) ? new Uint8Array(src) : bytesOf(src);
  if (u8.length < 8) throw new LSTMError("bytes", "at least 8 bytes (the header length)", `${u8.length} bytes`);
  const view = new DataView(u8.buffer, u8.byteOffset, u8.byteLength);
  const lo = view.getUint32(0, true), hi = view.getUint32(4, true);
  const N = hi * 2 ** 32 + lo; // exact below 2^53; anything near that fails the checks below anyway
  if (N > MAX_HEADER_BYTES) throw new LSTMError("header length", `at most ${MAX_HEADER_BYTES} bytes`, `${N} bytes`);
  if (N > u8.length - 8) throw new LSTMError("header length", `at most the ${u8.length - 8} bytes after the length field`, `${N} bytes`);
  let text: string;
  try {
    // fatal: invalid UTF-8 is an error; ignoreBOM: a BOM stays in the text, where JSON refuses it.
    text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(u8.slice(8, 8 + N));
  } catch {
    throw new LSTMError("header", "UTF-8 text", "invalid UTF-8");
  }
  const root = parseStrictJson(text, "header", MAX_DEPTH);
  if (!isJsonObject(root)) throw new LSTMError("header", "a JSON object", jsonKind(root));

  const start = 8 + N, size = u8.length - start;
  const metadata: Record<string, string> = Object.create(null);
  const entries: Entry[] = [];
  for (const name of Object.keys(root)) {
    if (name === METADATA) readMetadata(root[name], metadata);
    else entries.push(readEntry(name, root[name], size));
  }
  checkTiling(entries, size);

  const tensors: Record<string, Tensor> = Object.create(null);
  for (const e of entries) tensors[e.name] = { data: decode(e, u8, view, start), shape: e.shape };
  return { tensors, metadata };
}

interface Entry { name: string; dtype: string; shape: number[]; begin: number; end: number; count: number }

function readEntry(name: string, v: Json, size: number): Entry {
  const at = `header[${JSON.stringify(name)}]`;
  checkName(at, name, false);
  if (!isJsonObject(v)) throw new LSTMError(at, "an object { dtype, shape, data_offsets }", jsonKind(v));
  for (const f of FIELDS) if (!(f in v)) throw new LSTMError(`${at}.${f}`, "a field of every tensor entry", "a missing field");
  for (const k of Object.keys(v)) {
    if (!FIELDS.includes(k)) throw new LSTMError(`${at}[${JSON.stringify(k)}]`, `only the fields ${FIELDS.join(", ")}`, "an extra field");
  }
  const dtype = v.dtype;
  if (typeof dtype !== "string" || !DTYPE_BYTES.has(dtype)) {
    throw new LSTMError(`${at}.dtype`, "F32, F64, F16 or BF16 (this reader converts float tensors only)", jsonKind(dtype));
  }
  const shape = v.shape;
  if (!Array.isArray(shape) || !shape.every(isIndex)) {
    throw new LSTMError(`${at}.shape`, "an array of non-negative integers (below 2^53)", jsonKind(shape));
  }
  const offs = v.data_offsets;
  if (!Array.isArray(offs) || offs.length !== 2 || !offs.every(isIndex)) {
    throw new LSTMError(`${at}.data_offsets`, "[begin, end]: two non-negative integers (below 2^53)", jsonKind(offs));
  }
  const [begin, end] = offs as number[];
  if (end < begin) throw new LSTMError(`${at}.data_offsets`, "begin <= end", `[${begin}, ${end}]`);
  if (end > size) throw new LSTMError(`${at}.data_offsets`, `a range inside the ${size}-byte data buffer`, `[${begin}, ${end}]`);
  const width = DTYPE_BYTES.get(dtype)!;
  // The element count, stopped as soon as it passes what the range can hold (no overflow, no huge numbers).
  const fits = (end - begin) / width;
  let count = shape.includes(0) ? 0 : 1;
  for (const d of shape as number[]) if (count > 0 && (count *= d) > fits) break;
  if (count !== fits) {
    throw new LSTMError(`${at}.data_offsets`, `${width}-byte ${dtype} elements for shape [${shape.join(",")}]`,
      `[${begin}, ${end}] (${end - begin} bytes)`);
  }
  return { name, dtype, shape: (shape as number[]).map((d) => d + 0), begin, end, count }; // + 0 turns -0 into 0
}

// Tensors must tile [0, size) exactly, as in the reference implementation (no gaps, no overlap,
// nothing after the last tensor), so no byte of the file goes unaccounted for.
function checkTiling(entries: Entry[], size: number): void {
  const sorted = entries.slice().sort((a, b) => a.begin - b.begin || a.end - b.end);
  let pos = 0, prev = "";
  for (const e of sorted) {
    const at = `header[${JSON.stringify(e.name)}].data_offsets`;
    if (e.begin < pos) throw new LSTMError(at, `a range not overlapping another tensor's (${prev} ends at ${pos})`, `[${e.begin}, ${e.end}]`);
    if (e.begin > pos) throw new LSTMError(at, `to begin at ${pos}, where the previous tensor ends (no gaps)`, `[${e.begin}, ${e.end}]`);
    pos = e.end;
    prev = JSON.stringify(e.name);
  }
  if (pos !== size) throw new LSTMError("bytes", `the tensors to cover the data buffer exactly (${pos} bytes)`, `${size - pos} trailing bytes`);
}

function readMetadata(v: Json, out: Record<string, string>): void {
  if (!isJsonObject(v)) throw new LSTMError(`header.${METADATA}`, "an object of string values", jsonKind(v));
  for (const k of Object.keys(v)) {
    const at = `header.${METADATA}[${JSON.stringify(k)}]`;
    checkName(at, k, false);
    if (typeof v[k] !== "string") throw new LSTMError(at, "a string", jsonKind(v[k]));
    out[k] = v[k] as string;
  }
}

function decode(e: Entry, u8: Uint8Array, view: DataView, start: number): Float32Array {
  const out = new Float32Array(e.count), at = start + e.begin;
  switch (e.dtype) {
    case "F32":
      if (LITTLE_ENDIAN) new Uint8Array(out.buffer).set(u8.subarray(at, at + 4 * e.count));
      else for (let k = 0; k < e.count; k++) out[k] = view.getFloat32(at + 4 * k, true);
      break;
    case "F64":
      for (let k = 0; k < e.count; k++) out[k] = view.getFloat64(at + 8 * k, true);
      break;
    case "F16":
      for (let k = 0; k < e.count; k++) out[k] = f16ToNumber(view.getUint16(at + 2 * k, true));
      break;
    case "BF16": {
      // bfloat16 is the top half of a float32's bits, so widening is exact (NaN payloads too).
      const bits = new Uint32Array(out.buffer);
      for (let k = 0; k < e.count; k++) bits[k] = view.getUint16(at + 2 * k, true) << 16;
      break;
    }
  }
  return out;
}

// IEEE 754 binary16 bits → number, exactly: 1 sign bit, 5 exponent bits (bias 15), 10 fraction
// bits; subnormals are fraction·2⁻²⁴, exponent 31 is ±Infinity or NaN. Every value fits float32.
function f16ToNumber(h: number): number {
  const sign = h & 0x8000 ? -1 : 1, exp = (h >> 10) & 0x1f, frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * (1024 + frac) * 2 ** (exp - 25);
}

function metadataJson(m: unknown): string {
  if (!isPlainObject(m)) throw new LSTMError("metadata", "an object of string values", describe(m));
  const keys = Object.keys(m).sort(byCodePoint);
  const parts = keys.map((k) => {
    const at = `metadata["${k}"]`, v = (m as Record<string, unknown>)[k];
    checkName(at, k, false);
    if (typeof v !== "string") throw new LSTMError(at, "a string (safetensors metadata is string → string)", describe(v));
    if (LONE_SURROGATE.test(v)) throw new LSTMError(at, "well-formed Unicode (no lone surrogates)", describe(v));
    return `${JSON.stringify(k)}:${JSON.stringify(v)}`;
  });
  return `{${parts.join(",")}}`;
}

function checkName(at: string, name: string, tensor: boolean): void {
  if (FORBIDDEN.has(name) || (tensor && name === METADATA)) {
    throw new LSTMError(at, `a name other than __proto__, constructor, prototype${tensor ? " and __metadata__" : ""}`, `the name ${JSON.stringify(name)}`);
  }
  // Lone surrogates cannot be written as UTF-8; the reference's JSON parser refuses them as escapes.
  if (LONE_SURROGATE.test(name)) throw new LSTMError(at, "a well-formed Unicode name (no lone surrogates)", describe(name));
}

// UTF-16 code unit order differs from UTF-8 byte order above U+FFFF; code points agree with bytes.
function byCodePoint(a: string, b: string): number {
  for (let i = 0; i < a.length && i < b.length; i++) {
    const x = a.codePointAt(i)!, y = b.codePointAt(i)!;
    if (x !== y) return x - y;
    if (x > 0xffff) i++;
  }
  return a.length - b.length;
}

const isIndex = (d: Json) => typeof d === "number" && Number.isSafeInteger(d) && d >= 0;
const isJsonObject = (v: Json): v is JsonObject => v !== null && typeof v === "object" && !Array.isArray(v);
const isPlainObject = (v: unknown): v is object => v !== null && typeof v === "object" && !Array.isArray(v) && !ArrayBuffer.isView(v);

function jsonKind(v: Json | undefined): string {
  if (Array.isArray(v)) return `an array of length ${v.length}${v.length <= 8 ? ` ${JSON.stringify(v)}` : ""}`;
  if (v !== null && typeof v === "object") return "an object";
  return describe(v);
}
