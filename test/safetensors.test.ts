// The safetensors reader and writer: exact round trips, the byte layout the format describes,
// F64/F16/BF16 decoding against known bit patterns, and one corrupted file per refusal, each
// refused with an LSTMError without touching Object.prototype.
import { describe, it, expect } from "vitest";
import {
  LSTM, LSTMError, configFromStateDict, readSafetensors, readSafetensorsWithMetadata, writeSafetensors, type Tensor,
} from "../src/index";
import { BUILDS, use } from "./helpers/backends";
import { mulberry32 } from "./helpers/ref";

const enc = (s: string) => new TextEncoder().encode(s);
const PROTO = Object.getOwnPropertyNames(Object.prototype).sort();

/** A file with the given header text (or raw header bytes), data bytes and optionally a forged length field. */
function file(header: string | Uint8Array, data: ArrayLike<number> = [], length?: bigint): Uint8Array {
  const hb = typeof header === "string" ? enc(header) : header;
  const out = new Uint8Array(8 + hb.length + data.length);
  new DataView(out.buffer).setBigUint64(0, length ?? BigInt(hb.length), true);
  out.set(hb, 8);
  out.set(data, 8 + hb.length);
  return out;
}
const f32Bytes = (...v: number[]) => new Uint8Array(new Float32Array(v).buffer);
const u16Bytes = (...v: number[]) => { const b = new Uint8Array(2 * v.length); const dv = new DataView(b.buffer); v.forEach((x, k) => dv.setUint16(2 * k, x, true)); return b; };
const entry = (dtype: string, shape: unknown, offs: unknown) => ({ dtype, shape, data_offsets: offs });
const bitsOf = (a: Float32Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));

function expectCleanPrototype(): void {
  expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(PROTO);
  expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  expect(({} as Record<string, unknown>).dtype).toBeUndefined();
}

/** `bytes` is refused with an LSTMError whose argument contains `argument` and message contains `text`. */
function expectRefused(bytes: unknown, argument: string, text: string): void {
  let err: unknown;
  try { readSafetensorsWithMetadata(bytes as Uint8Array); } catch (e) { err = e; }
  expect(err, `expected a refusal mentioning ${text}`).toBeInstanceOf(LSTMError);
  const e = err as LSTMError;
  expect(e.message).toBe(`${e.argument}: expected ${e.expected}, received ${e.received}`);
  expect(e.argument).toContain(argument);
  expect(e.message).toContain(text);
  expectCleanPrototype();
}

describe("writeSafetensors / readSafetensors round trips", () => {
  it("returns every tensor bit for bit, with its shape (scalar, empty, 1-D to 4-D, special values)", () => {
    const r = mulberry32(5);
    const rand = (n: number) => Float32Array.from({ length: n }, () => 2 * r() - 1);
    const special = new Float32Array([NaN, -0, Infinity, -Infinity, 1.4e-45, 3.4028234663852886e38, -1.17549435e-38]);
    const tensors: Record<string, Tensor | Float32Array> = {
      "weight_ih_l0": { data: rand(12 * 5), shape: [12, 5] },
      "b": rand(7),
      "scalar": { data: new Float32Array([42.5]), shape: [] },
      "empty": { data: new Float32Array(0), shape: [0, 3] },
      "four.d": { data: rand(2 * 3 * 1 * 4), shape: [2, 3, 1, 4] },
      "special": special,
    };
    const back = readSafetensors(writeSafetensors(tensors));
    expect(Object.keys(back).sort()).toEqual(Object.keys(tensors).sort());
    expect(Object.getPrototypeOf(back)).toBe(null);
    for (const [k, v] of Object.entries(tensors)) {
      const t = v instanceof Float32Array ? { data: v, shape: [v.length] } : v;
      expect(back[k].shape, k).toEqual(t.shape);
      expect(bitsOf(back[k].data), k).toEqual(bitsOf(t.data));
      expect(back[k].data.buffer, "a fresh copy").not.toBe(t.data.buffer);
    }
  });

  it("writes the data of a subarray view, not its whole buffer", () => {
    const big = new Float32Array([9, 1, 2, 3, 9]);
    const back = readSafetensors(writeSafetensors({ v: big.subarray(1, 4) }));
    expect(Array.from(back.v.data)).toEqual([1, 2, 3]);
  });

  it("round-trips the metadata; no metadata reads as an empty null-prototype object", () => {
    const metadata = { format: "pt", "note é 😀": "line\nbreak \"quoted\"", empty: "" };
    const { tensors, metadata: m } = readSafetensorsWithMetadata(writeSafetensors({ a: new Float32Array([1]) }, metadata));
    expect({ ...m }).toEqual(metadata);
    expect(Array.from(tensors.a.data)).toEqual([1]);
    const none = readSafetensorsWithMetadata(writeSafetensors({ a: new Float32Array([1]) }));
    expect(Object.keys(none.metadata)).toEqual([]);
    expect(Object.getPrototypeOf(none.metadata)).toBe(null);
  });

  it("accepts an ArrayBuffer, a Uint8Array at an offset, and an empty dict", () => {
    const bytes = writeSafetensors({ x: new Float32Array([1, 2]) });
    expect(Array.from(readSafetensors(bytes.slice().buffer).x.data)).toEqual([1, 2]);
    const shifted = new Uint8Array(bytes.length + 3);
    shifted.set(bytes, 3);
    expect(Array.from(readSafetensors(shifted.subarray(3)).x.data)).toEqual([1, 2]);
    const empty = writeSafetensors({});
    expect(new TextDecoder().decode(empty.subarray(8))).toBe("{}      ");
    expect(Object.keys(readSafetensors(empty))).toEqual([]);
  });
});

describe("the byte layout", () => {
  it("matches a file built by hand from the format description", () => {
    const bytes = writeSafetensors({ b: new Float32Array([1, 2]), a: { data: new Float32Array([3]), shape: [1, 1] } }, { format: "pt" });
    // Metadata first, tensors in name order packed from offset 0, spaces up to a multiple of 8.
    const json = '{"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[1,1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}';
    const padded = json + " ".repeat((8 - (json.length % 8)) % 8);
    expect(padded.length % 8).toBe(0);
    const expected = new Uint8Array(8 + padded.length + 12);
    expected[0] = padded.length & 0xff; // u64 little-endian; the rest of it is zero
    expected[1] = padded.length >> 8;
    expected.set(enc(padded), 8);
    expected.set([0x00, 0x00, 0x40, 0x40, 0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0x00, 0x40], 8 + padded.length); // 3, 1, 2 as LE float32
    expect(Array.from(bytes)).toEqual(Array.from(expected));
  });

  it("orders names by code point (UTF-8 byte order), not UTF-16 units", () => {
    const one = new Float32Array([0]);
    const bytes = writeSafetensors({ "😀": one, "\uffff": one, "é": one, z: one });
    const header = new TextDecoder().decode(bytes.subarray(8, 8 + Number(new DataView(bytes.buffer).getBigUint64(0, true))));
    const order = ["z", "é", "\uffff", "😀"].map((n) => header.indexOf(JSON.stringify(n)));
    expect(order.every((p, k) => p >= 0 && (k === 0 || p > order[k - 1]))).toBe(true);
  });

  it("reads a file laid out differently: whitespace, tensors out of name order, metadata last", () => {
    const header = ' {\n  "w": {"shape": [2], "data_offsets": [4, 12], "dtype": "F32"},\n  "a": {"dtype": "F32", "shape": [], "data_offsets": [0, 4]},\n  "__metadata__": {"k": "v"}\n}\t';
    const { tensors, metadata } = readSafetensorsWithMetadata(file(header, f32Bytes(7, 8, 9)));
    expect(tensors.a).toEqual({ data: new Float32Array([7]), shape: [] });
    expect(tensors.w).toEqual({ data: new Float32Array([8, 9]), shape: [2] });
    expect(metadata.k).toBe("v");
  });
});

describe("dtype decoding", () => {
  it("F64 rounds to float32 (overflow to ±Infinity, underflow to 0)", () => {
    const v = [1.5, -2.25, 0.1, 1e300, -1e300, 1e-50, NaN, -0];
    const data = new Uint8Array(new Float64Array(v).buffer);
    const t = readSafetensors(file(JSON.stringify({ d: entry("F64", [2, 4], [0, 64]) }), data)).d;
    expect(t.shape).toEqual([2, 4]);
    expect(Array.from(t.data)).toEqual([1.5, -2.25, Math.fround(0.1), Infinity, -Infinity, 0, NaN, -0]);
  });

  it("F16 normals, subnormals, ±0, ±Infinity and NaN are exact", () => {
    const cases: Array<[number, number]> = [
      [0x3c00, 1], [0xc000, -2], [0x7bff, 65504], [0x3800, 0.5], [0x3555, 0.333251953125], [0x0400, 2 ** -14],
      [0x0001, 2 ** -24], [0x03ff, 1023 * 2 ** -24], [0x8001, -(2 ** -24)], [0x0000, 0], [0x8000, -0],
      [0x7c00, Infinity], [0xfc00, -Infinity], [0x7e00, NaN], [0x7c01, NaN], [0xfbff, -65504],
    ];
    const t = readSafetensors(file(JSON.stringify({ h: entry("F16", [cases.length], [0, 2 * cases.length]) }), u16Bytes(...cases.map((c) => c[0])))).h;
    cases.forEach(([bits, want], k) => expect(Object.is(t.data[k], want) || (Number.isNaN(want) && Number.isNaN(t.data[k])), `0x${bits.toString(16)}`).toBe(true));
  });

  it("BF16 is the top half of float32's bits", () => {
    const cases: Array<[number, number]> = [
      [0x3f80, 1], [0xc000, -2], [0x4049, 3.140625], [0x7f80, Infinity], [0xff80, -Infinity], [0x8000, -0],
      [0x0001, 2 ** -133], [0x7f7f, 3.3895313892515355e38], [0x7fc0, NaN],
    ];
    const t = readSafetensors(file(JSON.stringify({ h: entry("BF16", [3, 3], [0, 18]) }), u16Bytes(...cases.map((c) => c[0])))).h;
    expect(t.shape).toEqual([3, 3]);
    cases.forEach(([bits, want], k) => expect(Object.is(t.data[k], want) || (Number.isNaN(want) && Number.isNaN(t.data[k])), `0x${bits.toString(16)}`).toBe(true));
  });
});

describe("refusals: each corrupted file throws an LSTMError and leaves Object.prototype alone", () => {
  const ok = (name = "w") => ({ [name]: entry("F32", [2], [0, 8]) });
  const eight = f32Bytes(1, 2);
  const cases: Array<[string, () => unknown, string, string]> = [
    ["not bytes", () => "hello", "bytes", "string"],
    ["an empty file", () => new Uint8Array(0), "bytes", "0 bytes"],
    ["7 bytes", () => new Uint8Array(7), "bytes", "7 bytes"],
    ["a header length beyond the file", () => file(JSON.stringify(ok()), eight, 1000n), "header length", "1000 bytes"],
    ["a header length above 100 MB", () => file("{}", [], 100_000_001n), "header length", "100000001"],
    ["a header length of 2^64-1", () => file("{}", [], 2n ** 64n - 1n), "header length", "at most 1048576"],
    ["invalid UTF-8", () => file(new Uint8Array([0x7b, 0xff, 0xfe, 0x7d])), "header", "invalid UTF-8"],
    ["a byte order mark", () => file("\ufeff{}"), "header", "valid JSON"],
    ["truncated JSON", () => file('{"w":'), "header", "valid JSON"],
    ["text after the JSON", () => file("{} x"), "header", "the end of the JSON text"],
    ["a header that is an array", () => file("[]"), "header", "a JSON object"],
    ["a header that is a string", () => file('"w"'), "header", "a JSON object"],
    ["nesting 10000 deep", () => file(`{"w":${"[".repeat(10000)}${"]".repeat(10000)}}`), "header", "nested at most 16 deep"],
    ["a duplicated tensor name", () => file(`{"w":${JSON.stringify(entry("F32", [1], [0, 4]))},"w":${JSON.stringify(entry("F32", [1], [4, 8]))}}`, eight), "header", 'key "w" twice'],
    ["a duplicate hidden by an escape", () => file(`{"w":${JSON.stringify(entry("F32", [2], [0, 8]))},"\\u0077":${JSON.stringify(entry("F32", [2], [0, 8]))}}`, eight), "header", 'key "w" twice'],
    ["a duplicated field", () => file('{"w":{"dtype":"F32","dtype":"F64","shape":[2],"data_offsets":[0,8]}}', eight), "header", 'key "dtype" twice'],
    ["a duplicated metadata key", () => file(`{"__metadata__":{"a":"1","a":"2"},"w":${JSON.stringify(entry("F32", [2], [0, 8]))}}`, eight), "header", 'key "a" twice'],
    ["a lone surrogate escape", () => file(`{"\\ud800":${JSON.stringify(entry("F32", [2], [0, 8]))}}`, eight), "header", "surrogate"],
    ["an entry that is not an object", () => file('{"w":[1,2]}'), 'header["w"]', "an array"],
    ["a missing field", () => file('{"w":{"dtype":"F32","data_offsets":[0,8]}}', eight), 'header["w"].shape', "a missing field"],
    ["an extra field", () => file('{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8],"extra":1}}', eight), 'header["w"]["extra"]', "an extra field"],
    ["an unknown dtype", () => file(JSON.stringify({ w: entry("F128", [2], [0, 8]) }), eight), 'header["w"].dtype', 'string "F128"'],
    ["dtype I64", () => file(JSON.stringify({ w: entry("I64", [1], [0, 8]) }), eight), 'header["w"].dtype', 'string "I64"'],
    ["dtype BOOL", () => file(JSON.stringify({ w: entry("BOOL", [8], [0, 8]) }), eight), 'header["w"].dtype', 'string "BOOL"'],
    ["the reference implementation's I32 example", () => file('{"test":{"dtype":"I32","shape":[2,2],"data_offsets":[0,16]}}', new Uint8Array(16)), 'header["test"].dtype', 'string "I32"'],
    ["dtype 'toString' (an inherited name)", () => file(JSON.stringify({ w: entry("toString", [2], [0, 8]) }), eight), 'header["w"].dtype', "toString"],
    ["a numeric dtype", () => file('{"w":{"dtype":4,"shape":[2],"data_offsets":[0,8]}}', eight), 'header["w"].dtype', "number 4"],
    ["a negative dimension", () => file(JSON.stringify({ w: entry("F32", [-2], [0, 8]) }), eight), 'header["w"].shape', "[-2]"],
    ["a fractional dimension", () => file(JSON.stringify({ w: entry("F32", [1.5], [0, 8]) }), eight), 'header["w"].shape', "[1.5]"],
    ["a dimension past 2^53", () => file('{"w":{"dtype":"F32","shape":[1e20],"data_offsets":[0,8]}}', eight), 'header["w"].shape', "100000000000000000000"],
    ["a shape that is not an array", () => file(JSON.stringify({ w: entry("F32", "2", [0, 8]) }), eight), 'header["w"].shape', 'string "2"'],
    ["an offset past 2^53", () => file('{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,18014398509481984]}}', eight), 'header["w"].data_offsets', "below 2^53"],
    ["fractional offsets", () => file(JSON.stringify({ w: entry("F32", [2], [0, 7.5]) }), eight), 'header["w"].data_offsets', "7.5"],
    ["three offsets", () => file(JSON.stringify({ w: entry("F32", [2], [0, 4, 8]) }), eight), 'header["w"].data_offsets', "[0,4,8]"],
    ["end before begin", () => file(JSON.stringify({ w: entry("F32", [0], [8, 0]) }), eight), 'header["w"].data_offsets', "[8, 0]"],
    ["offsets past the buffer", () => file(JSON.stringify({ w: entry("F32", [4], [0, 16]) }), eight), 'header["w"].data_offsets', "8-byte data buffer"],
    ["a length that disagrees with the shape", () => file(JSON.stringify({ w: entry("F32", [3], [0, 8]) }), eight), 'header["w"].data_offsets', "shape [3]"],
    ["a shape whose product overflows", () => file(JSON.stringify({ w: entry("F32", [2 ** 40, 2 ** 40, 2 ** 40], [0, 8]) }), eight), 'header["w"].data_offsets', "(8 bytes)"],
    ["overlapping tensors", () => file(JSON.stringify({ a: entry("F32", [2], [0, 8]), b: entry("F32", [1], [4, 8]) }), eight), 'header["b"].data_offsets', "overlapping"],
    ["a gap between tensors", () => file(JSON.stringify({ a: entry("F32", [1], [0, 4]), b: entry("F32", [1], [8, 12]) }), f32Bytes(1, 2, 3)), 'header["b"].data_offsets', "no gaps"],
    ["a gap at the start", () => file(JSON.stringify({ a: entry("F32", [1], [4, 8]) }), eight), 'header["a"].data_offsets', "no gaps"],
    ["trailing bytes", () => file(JSON.stringify(ok()), f32Bytes(1, 2, 3)), "bytes", "4 trailing bytes"],
    ["data but no tensors", () => file("{}", eight), "bytes", "8 trailing bytes"],
    ["metadata that is not an object", () => file(`{"__metadata__":["a"],"w":${JSON.stringify(entry("F32", [2], [0, 8]))}}`, eight), "header.__metadata__", "an array"],
    ["metadata null", () => file(`{"__metadata__":null,"w":${JSON.stringify(entry("F32", [2], [0, 8]))}}`, eight), "header.__metadata__", "null"],
    ["a metadata value that is not a string", () => file(`{"__metadata__":{"epochs":3},"w":${JSON.stringify(entry("F32", [2], [0, 8]))}}`, eight), 'header.__metadata__["epochs"]', "number 3"],
    ["a tensor named __proto__", () => file(`{"__proto__":{"dtype":"F32","shape":[2],"data_offsets":[0,8],"polluted":"yes"}}`, eight), 'header["__proto__"]', "__proto__"],
    ["a tensor named constructor", () => file(JSON.stringify({ constructor: entry("F32", [2], [0, 8]) }), eight), 'header["constructor"]', "constructor"],
    ["a tensor named prototype", () => file(JSON.stringify({ prototype: entry("F32", [2], [0, 8]) }), eight), 'header["prototype"]', "prototype"],
    ["a metadata key __proto__", () => file(`{"__metadata__":{"__proto__":"x"},"w":${JSON.stringify(entry("F32", [2], [0, 8]))}}`, eight), 'header.__metadata__["__proto__"]', "__proto__"],
    ["__proto__ inside an entry", () => file('{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8],"__proto__":{"polluted":"yes"}}}', eight), 'header["w"]["__proto__"]', "an extra field"],
  ];
  it.each(cases)("refuses %s", (_label, make, argument, text) => expectRefused(make(), argument, text));

  it("refuses a huge claimed tensor without allocating it", () => {
    // 2^26 × 2^26 float32 would be 16 EiB; the checks run before any allocation.
    expectRefused(file(JSON.stringify({ w: entry("F32", [2 ** 26, 2 ** 26], [0, 2 ** 50]) }), eight), 'header["w"].data_offsets', "8-byte data buffer");
  });
});

describe("writeSafetensors refusals", () => {
  const one = new Float32Array([1]);
  const cases: Array<[string, () => unknown, string, string]> = [
    ["a non-object", () => writeSafetensors(null as never), "tensors", "null"],
    ["a tensor named __metadata__", () => writeSafetensors({ __metadata__: one }), 'tensors["__metadata__"]', "__metadata__"],
    ["a tensor named __proto__", () => writeSafetensors(JSON.parse('{"__proto__": {"data": 1}}')), 'tensors["__proto__"]', "__proto__"],
    ["a tensor named constructor", () => writeSafetensors({ constructor: one } as never), 'tensors["constructor"]', "constructor"],
    ["a lone surrogate in a name", () => writeSafetensors({ "\ud800x": one }), 'tensors["', "well-formed"],
    ["data that disagrees with the shape", () => writeSafetensors({ w: { data: new Float32Array(3), shape: [2, 2] } }), 'tensors["w"]', "Float32Array(3)"],
    ["a Float64Array", () => writeSafetensors({ w: new Float64Array(2) as never }), 'tensors["w"]', "Float64Array(2)"],
    ["metadata that is not an object", () => writeSafetensors({ w: one }, "pt" as never), "metadata", 'string "pt"'],
    ["a metadata value that is not a string", () => writeSafetensors({ w: one }, { epochs: 3 } as never), 'metadata["epochs"]', "number 3"],
  ];
  it.each(cases)("refuses %s", (_label, fn, argument, text) => {
    let err: unknown;
    try { fn(); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(LSTMError);
    expect((err as LSTMError).argument).toContain(argument);
    expect((err as LSTMError).message).toContain(text);
    expectCleanPrototype();
  });
});

describe.each(BUILDS)("an LSTM saved and loaded through safetensors on the %s build", (build) => {
  it("reloads the same weights and gives the same outputs", async () => {
    await use(build);
    const cfg = { inputSize: 3, hiddenSize: 5, numLayers: 2, bidirectional: true, projSize: 2, peephole: true };
    const a = new LSTM({ ...cfg, seed: 11 });
    const bytes = writeSafetensors(a.stateDict(), { format: "pt" });
    const dict = readSafetensors(bytes);
    expect(configFromStateDict(dict)).toEqual({ ...cfg, bias: true });
    const b = new LSTM({ ...configFromStateDict(dict), seed: 99 });
    b.loadStateDict(dict);
    const x: Tensor = { data: Float32Array.from({ length: 4 * 2 * 3 }, (_, k) => Math.sin(k)), shape: [4, 2, 3] };
    const ya = a.forward(x), yb = b.forward(x);
    expect(bitsOf(yb.y.data)).toEqual(bitsOf(ya.y.data));
    expect(bitsOf(yb.cn.data)).toEqual(bitsOf(ya.cn.data));
    a.dispose();
    b.dispose();
  });
});
