// Every file in test/corpus/files (written by test/corpus/make-corpus.mjs from a valid
// Sequential.save()) goes through readSafetensors and Sequential.load, as a Uint8Array, as an
// ArrayBuffer and as an unaligned view into a larger buffer. The control file loads; every other
// file is refused with an LSTMError naming what is wrong — with no wasm memory grown or left in
// use, no JS allocation beyond what the file's own bytes justify, nothing half-loaded and
// Object.prototype untouched. A bare torch.nn.LSTM file is refused by Sequential.load with a
// pointer to LSTM.fromStateDict, which accepts it.
//
// Naming (see make-corpus.mjs): valid.safetensors loads; reader-ok--*.safetensors are well-formed
// safetensors that readSafetensors reads and Sequential.load refuses; the rest both refuse.
import { describe, it, expect, beforeAll } from "vitest";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { init, LSTM, Linear, LSTMError, Sequential, readSafetensors, readSafetensorsWithMetadata, type Tensor } from "../src/index";
import { backend } from "../src/wasm/backend";

const DIR = join(dirname(fileURLToPath(import.meta.url)), "corpus", "files");
const FILES = readdirSync(DIR).filter((f) => f.endsWith(".safetensors")).sort();
const load = (f: string) => new Uint8Array(readFileSync(join(DIR, f)));
const stem = (f: string) => f.replace(/\.safetensors$/, "");

/**
 * What each file's refusal names: the LSTMError's argument is one of these or inside one of them
 * (x.y, x[…]). `reader: null` means readSafetensors reads the file. Rules are tried in order.
 */
type Rule = [RegExp, { reader: string[] | null; load: string[] | null; message?: RegExp }];
const RULES: Rule[] = [
  [/^(v2-)?valid$/, { reader: null, load: null }],
  [/^truncated-(empty|1-byte|4-bytes|7-bytes)$/, { reader: ["bytes"], load: ["bytes"] }],
  [/^truncated-(length-field-only|9-bytes|16-bytes|mid-header|header-minus-1)$/, { reader: ["header length"], load: ["header length"] }],
  [/^truncated-/, { reader: ["header"], load: ["header"] }],
  [/^header-length-(past-end|2\^64-1|2\^32|100MB-plus-1|99999999-small-file|1MiB-plus-1)$/, { reader: ["header length"], load: ["header length"] }],
  [/^(header-length-|not-json-|bomb-|duplicated-|dtype-|entry-|shape-|offsets-|tensor-name-|metadata-)/, { reader: ["header"], load: ["header"] }],
  [/^trailing-bytes$/, { reader: ["bytes"], load: ["bytes"] }],
  [/^reader-ok--(bare-torch-lstm.*|format-.*|bomb-long-format-string)$/, { reader: null, load: ["file"], message: /LSTM\.fromStateDict/ }],
  [/^reader-ok--formatVersion-2$/, { reader: null, load: ["file metadata config"] }],
  [/^reader-ok--formatVersion-/, { reader: null, load: ["file"], message: /formatVersion/ }],
  // Format 2: a size field the tensors contradict is named exactly; the rest name the layer list's field.
  [/^reader-ok--v2-layers-(\d+)-(numEmbeddings|embeddingDim|inputSize|hiddenSize|numLayers|projSize|outputSize|p|paddingIdx|recurrentActivation|activation|bias)-/,
    { reader: null, load: ["file metadata config.layers"], message: /config\.layers\[\d\]\.config\.(numEmbeddings|embeddingDim|inputSize|hiddenSize|numLayers|projSize|outputSize|p|paddingIdx|recurrentActivation|activation|bias)/ }],
  [/^reader-ok--v2-layers-1-returnSequences-true$/, { reader: null, load: ["file metadata config.layers"] }],
  [/^reader-ok--v2-layers-(1-extra-key|1-type-gru|order-swapped|empty|duplicate-name)$/, { reader: null, load: ["file metadata config.layers"] }],
  [/^reader-ok--v2-layers-unknown-tensor-prefix$/, { reader: null, load: ["file"] }],
  // A size field that disagrees with the tensors is refused naming exactly that field.
  ...[["lstm", "inputSize"], ["lstm", "hiddenSize"], ["lstm", "numLayers"], ["lstm", "projSize"], ["head", "inputSize"], ["head", "outputSize"]].map(
    ([layer, field]): Rule => [new RegExp(`^reader-ok--config-${layer}-${field}-(huge|zero|negative|mismatch)$`), { reader: null, load: [`file metadata config.${layer}.${field}`] }]),
  [/^reader-ok--config-(hiddenSize|inputSize|numLayers|projSize|bidirectional|peephole)-|^reader-ok--config-lstm-array$|^reader-ok--missing-layer-1$/, { reader: null, load: ["file metadata config.lstm"] }],
  [/^reader-ok--(config-(array|missing|not-json|duplicate-key|lstm-missing|head-missing)|bomb-deeply-nested-config)$/, { reader: null, load: ["file metadata config"] }],
  // Keys the format does not have, "__proto__" and "constructor" among them, are refused like any unknown option.
  [/^reader-ok--config-(root|lstm|head)-(__proto__|constructor)$/, { reader: null, load: ["file metadata config"], message: /__proto__|constructor/ }],
  [/^reader-ok--config-returnSequences-/, { reader: null, load: ["file metadata config", "options.returnSequences"] }],
  [/^reader-ok--config-reverse-/, { reader: null, load: ["file metadata config", "options.reverse"] }],
  [/^reader-ok--config-head-/, { reader: null, load: ["file metadata config", "options.outputSize", "stateDict", "layers"] }],
  [/^reader-ok--(missing|extra|bomb-many|tensor-name)-/, { reader: null, load: ["file", "stateDict"] }],
];
const expectationOf = (f: string) => RULES.find(([re]) => re.test(stem(f)))?.[1];
const names = (argument: string, p: string) => argument === p || argument.startsWith(p + ".") || argument.startsWith(p + "[");

const PROTO = Object.getOwnPropertyNames(Object.prototype).sort();
function expectCleanPrototypes(f: string): void {
  expect(Object.getOwnPropertyNames(Object.prototype).sort(), `${f} polluted Object.prototype`).toEqual(PROTO);
  const probe = {} as Record<string, unknown>;
  for (const k of ["hiddenSize", "returnSequences", "reverse", "outputSize", "dtype", "shape", "weight", "lstm"]) {
    expect(probe[k], `${f}: ({}).${k} is defined`).toBeUndefined();
  }
  expect(Object.getPrototypeOf(probe)).toBe(Object.prototype);
}

/**
 * Run `fn` while the global Float32Array records what the library asks of it: the largest length,
 * and a refusal (thrown as a plain Error) for anything above `cap` elements instead of allocating it.
 */
function counting<T>(cap: number, fn: () => T): { out: { ok: true; value: T } | { ok: false; error: unknown }; largest: number } {
  const Original = globalThis.Float32Array;
  let largest = 0;
  class Counting extends Original {
    constructor(...args: any[]) {
      const n = typeof args[0] === "number" ? args[0] : ArrayBuffer.isView(args[0]) || Array.isArray(args[0]) ? (args[0] as ArrayLike<number>).length : 0;
      largest = Math.max(largest, n);
      if (n > cap) throw new Error(`a Float32Array of ${n} elements was asked for`);
      super(...(args as [number]));
    }
  }
  globalThis.Float32Array = Counting as unknown as Float32ArrayConstructor;
  try { return { out: { ok: true, value: fn() }, largest }; } catch (error) { return { out: { ok: false, error }, largest }; } finally { globalThis.Float32Array = Original; }
}

/** The three ways a caller hands over the same bytes. */
function views(bytes: Uint8Array): Array<[string, Uint8Array | ArrayBuffer]> {
  const big = new Uint8Array(bytes.length + 7);
  big.set(bytes, 3);
  return [["Uint8Array", bytes], ["ArrayBuffer", bytes.slice().buffer], ["an unaligned view into a larger buffer", big.subarray(3, 3 + bytes.length)]];
}

let validModel: Sequential, validModel2: Sequential;
const probeX = { data: Float32Array.from({ length: 2 * 5 * 3 }, (_, i) => Math.sin(i + 1)), shape: [2, 5, 3] };
const probeIds = [[1, 5, 0, 11, 3], [2, 2, 7, 9, 4]];

beforeAll(async () => {
  await init();
  // Warm up: a loaded model's worth of wasm memory is in place, so a refusal must not grow it.
  validModel = Sequential.load(load("valid.safetensors"));
  validModel2 = Sequential.load(load("v2-valid.safetensors"));
  validModel2.predict(probeIds);
  (validModel.layers[0] as LSTM).forward({ data: probeX.data.slice(0, 5 * 2 * 3), shape: [5, 2, 3] }); // its own buffers, as the bare-LSTM test below uses it
  validModel.predict(probeX);
  const extra = Sequential.load(load("valid.safetensors"));
  extra.predict(probeX);
  extra.dispose();
});

describe("the corpus", () => {
  it("has the control file, and every file is small and described by a rule here", () => {
    expect(FILES).toContain("valid.safetensors");
    expect(FILES.length).toBeGreaterThan(100);
    for (const f of FILES) {
      expect(readFileSync(join(DIR, f)).length, f).toBeLessThan(20_000);
      expect(expectationOf(f), `${f} has no rule in test/corpus.test.ts`).toBeDefined();
    }
  });
});

describe.each(FILES)("%s", (f) => {
  const exp = expectationOf(f)!;
  const bytes = load(f);
  const cap = Math.max(4096, bytes.length); // floats: a file's tensors widen to at most 2 floats per 4 bytes

  it(exp.reader === null ? "readSafetensors reads it" : `readSafetensors refuses it naming ${exp.reader.join(" or ")}`, () => {
    for (const [how, v] of views(bytes)) {
      const { out, largest } = counting(cap, () => readSafetensorsWithMetadata(v));
      expectCleanPrototypes(f);
      expect(largest, `${how}: a Float32Array of ${largest} elements for a ${bytes.length}-byte file`).toBeLessThanOrEqual(cap);
      if (exp.reader === null) {
        expect(out.ok, `${how}: ${out.ok ? "" : (out.error as Error).message}`).toBe(true);
        const { tensors, metadata } = (out as { value: { tensors: object; metadata: object } }).value;
        expect(Object.getPrototypeOf(tensors)).toBe(null);
        expect(Object.getPrototypeOf(metadata)).toBe(null);
      } else {
        const e = out.ok ? null : out.error;
        expect(e, `${how}: ${e instanceof Error ? `${e.constructor.name}: ${e.message}` : "no error"}`).toBeInstanceOf(LSTMError);
        const le = e as LSTMError;
        expect(le.message).toBe(`${le.argument}: expected ${le.expected}, received ${le.received}`);
        expect(exp.reader.some((a) => names(le.argument, a)), `${how}: the error names ${le.argument}: ${le.message}`).toBe(true);
      }
    }
  });

  it(exp.load === null ? "Sequential.load loads it" : `Sequential.load refuses it naming ${exp.load.join(" or ")}, half-loading nothing`, () => {
    const be = backend();
    for (const [how, v] of views(bytes)) {
      const bytesBefore = be.k.memory.buffer.byteLength, inUse = be.arena.inUse;
      const t0 = performance.now();
      const { out, largest } = counting(cap, () => Sequential.load(v));
      const ms = performance.now() - t0;
      expectCleanPrototypes(f);
      expect(largest, `${how}: a Float32Array of ${largest} elements for a ${bytes.length}-byte file`).toBeLessThanOrEqual(cap);
      expect(ms, `${how}: took ${ms} ms`).toBeLessThan(1000);
      if (exp.load === null) {
        expect(out.ok, `${how}: ${out.ok ? "" : (out.error as Error).message}`).toBe(true);
        const m = (out as { value: Sequential }).value;
        if (stem(f) === "v2-valid") expect(Array.from(m.predict(probeIds).data)).toEqual(Array.from(validModel2.predict(probeIds).data));
        else expect(Array.from(m.predict(probeX).data)).toEqual(Array.from(validModel.predict(probeX).data));
        m.dispose();
        expect(be.arena.inUse, `${how}: dispose() left memory in use`).toBe(inUse);
      } else {
        const e = out.ok ? null : out.error;
        if (out.ok) out.value.dispose();
        expect(e, `${how}: ${e instanceof Error ? `${e.constructor.name}: ${e.message}` : "Sequential.load accepted it"}`).toBeInstanceOf(LSTMError);
        const le = e as LSTMError;
        expect(le.message).toBe(`${le.argument}: expected ${le.expected}, received ${le.received}`);
        expect(exp.load.some((a) => names(le.argument, a)), `${how}: the error names ${le.argument}: ${le.message}`).toBe(true);
        if (exp.message) expect(le.message).toMatch(exp.message);
        expect(be.arena.inUse, `${how}: the refusal left ${be.arena.inUse - inUse} bytes of wasm memory in use (half-loaded)`).toBe(inUse);
        expect(be.k.memory.buffer.byteLength, `${how}: the refusal grew wasm memory`).toBe(bytesBefore);
      }
    }
    expect(Array.from(validModel.predict(probeX).data), "a loaded model changed").toEqual(Array.from(Sequential.load(load("valid.safetensors")).predict(probeX).data));
  });

  if (exp.reader === null) {
    it("LSTM.fromStateDict(readSafetensors(bytes)) takes only a bare torch.nn.LSTM file", () => {
      const be = backend(), inUse = be.arena.inUse;
      const tensors = readSafetensors(bytes);
      let out: LSTM | null = null, err: unknown = null;
      try { out = LSTM.fromStateDict(tensors); } catch (e) { err = e; }
      expectCleanPrototypes(f);
      if (/^reader-ok--bare-torch-lstm/.test(stem(f))) {
        expect(err, String(err)).toBe(null);
        const x = { data: probeX.data.slice(0, 5 * 2 * 3), shape: [5, 2, 3] };
        const a = out!.forward(x), b = (validModel.layers[0] as LSTM).forward(x);
        expect(Array.from(a.y.data)).toEqual(Array.from(b.y.data));
        expect(Array.from(a.hn.data)).toEqual(Array.from(b.hn.data));
        out!.dispose();
      } else {
        out?.dispose();
        expect(err, `LSTM.fromStateDict accepted ${f}`).toBeInstanceOf(LSTMError);
        expect(names((err as LSTMError).argument, "stateDict")).toBe(true);
      }
      expect(be.arena.inUse).toBe(inUse);
    });
  }
});

describe("the control file truncated at every length", () => {
  it("is refused by readSafetensors and Sequential.load at each of its lengths, with nothing allocated or left in use", () => {
    const bytes = load("valid.safetensors"), be = backend();
    const memBytes = be.k.memory.buffer.byteLength, inUse = be.arena.inUse;
    for (let n = 0; n < bytes.length; n++) {
      const cut = bytes.slice(0, n);
      for (const call of [() => readSafetensors(cut), () => Sequential.load(cut)]) {
        let e: unknown = null;
        try { call(); } catch (err) { e = err; }
        if (!(e instanceof LSTMError)) throw new Error(`truncated to ${n} bytes: ${e instanceof Error ? `${e.constructor.name}: ${e.message}` : "accepted"}`);
      }
    }
    expect([be.k.memory.buffer.byteLength, be.arena.inUse]).toEqual([memBytes, inUse]);
    expectCleanPrototypes("the truncations");
  });
});

describe("loading the control files does what it says", () => {
  it("a format-1 file loads as the layers lstm and head; saved again it is format 2, which loads to the same model and saves to the same bytes", () => {
    const bytes = load("valid.safetensors");
    const m = Sequential.load(bytes);
    expect(m.names).toEqual(["lstm", "head"]);
    expect((m.layers[0] as LSTM).config).toMatchObject({ inputSize: 3, hiddenSize: 4, numLayers: 2, bidirectional: false, reverse: false, projSize: 0, peephole: false, returnSequences: false });
    expect((m.layers[1] as Linear).config).toEqual({ inputSize: 4, outputSize: 2, activation: null, bias: true });
    const v2 = m.save();
    expect(readSafetensorsWithMetadata(v2).metadata.formatVersion).toBe("2");
    const again = Sequential.load(v2);
    expect(Array.from(again.predict(probeX).data)).toEqual(Array.from(m.predict(probeX).data));
    expect(Array.from(again.save())).toEqual(Array.from(v2));
    const sd: Record<string, Tensor> = readSafetensors(bytes);
    expect(Object.keys(sd).length).toBe(10);
    m.dispose();
    again.dispose();
  });

  it("the format-2 control file has every layer type, and save() of it gives the same bytes back", () => {
    const bytes = load("v2-valid.safetensors");
    const m = Sequential.load(bytes);
    expect(m.names).toEqual(["embed", "lstm", "drop", "fc"]);
    expect(m.layers.map((l) => l.constructor.name)).toEqual(["Embedding", "LSTM", "Dropout", "Linear"]);
    expect(Array.from(m.save())).toEqual(Array.from(bytes));
    m.dispose();
  });
});
