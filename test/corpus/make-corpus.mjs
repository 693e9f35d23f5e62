#!/usr/bin/env node
// Writes the corpus of untrusted model files that test/corpus.test.ts feeds to Sequential.load and
// readSafetensors: one valid control file saved by Sequential.save() (built with the dist bundle,
// so `npm run build:js` first), and damaged or hostile variants of it. Deterministic: the same
// bundle writes the same bytes. Run from anywhere:
//
//   node test/corpus/make-corpus.mjs            # (re)writes test/corpus/files/*.safetensors
//
// File names say what the plain reader should do:
//   valid.safetensors            the control: both readSafetensors and Sequential.load succeed
//   reader-ok--<what>.safetensors  a well-formed safetensors file that is not a valid model:
//                                  readSafetensors reads it, Sequential.load refuses it
//   <what>.safetensors           a malformed file: both refuse it
// Every file stays under 20 KB.
import { mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const { init, LSTM, Linear, Embedding, Dropout, Sequential, writeSafetensors, readSafetensorsWithMetadata } = await import(pathToFileURL(join(here, "..", "..", "dist", "index.js")).href);
const OUT = join(here, "files");
const MAX = 20_000;

await init();
// The control model: two layers, so layer counts and sizes have something to disagree with. Most
// of the corpus is in format 1 (what earlier versions saved, still loaded): the same model's
// tensors under torch.nn.LSTM's bare names and "head.", with the format-1 configuration.
const model = new Sequential([new LSTM({ inputSize: 3, hiddenSize: 4, numLayers: 2, seed: 1 }), new Linear({ inputSize: 4, outputSize: 2, seed: 2 })], { names: ["lstm", "head"] });
const saved = readSafetensorsWithMetadata(model.save());
model.dispose();
const v1Config = { lstm: { inputSize: 3, hiddenSize: 4, numLayers: 2, bidirectional: false, reverse: false, projSize: 0, peephole: false }, head: { inputSize: 4, outputSize: 2 }, returnSequences: false };
const valid = writeSafetensors(Object.fromEntries(Object.entries(saved.tensors).map(([k, v]) => [k.replace(/^lstm\./, ""), v])),
  { format: saved.metadata.format, formatVersion: "1", config: JSON.stringify(v1Config) });
const { tensors, metadata } = readSafetensorsWithMetadata(valid);
const config = JSON.parse(metadata.config);

const enc = new TextEncoder();
const headerLength = (b) => Number(new DataView(b.buffer, b.byteOffset).getBigUint64(0, true));
const N = headerLength(valid);
const headerText = new TextDecoder().decode(valid.subarray(8, 8 + N)).trimEnd();
const header = () => JSON.parse(headerText);
const data = valid.subarray(8 + N);

/** A file from header text (or bytes), data bytes and optionally a forged length field (a bigint). */
function raw(head, body = data, length) {
  const hb = typeof head === "string" ? enc.encode(head) : head;
  const out = new Uint8Array(8 + hb.length + body.length);
  new DataView(out.buffer).setBigUint64(0, length ?? BigInt(hb.length), true);
  out.set(hb, 8);
  out.set(body, 8 + hb.length);
  return out;
}
/** A file from a header object (JSON.stringify keeps own "__proto__" keys made with defineProperty). */
const fromHeader = (h, body = data) => raw(JSON.stringify(h), body);
/** Define a key as an own property, even "__proto__". */
const put = (o, k, v) => Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
/** The valid tensors, edited, written by the library's own writer (so offsets tile correctly). */
function withTensors(edit, meta = metadata) {
  const t = { ...tensors };
  edit(t);
  return writeSafetensors(t, meta);
}
/** The valid tensors with edited metadata. */
const withMeta = (edit) => { const m = { ...metadata }; edit(m); return writeSafetensors({ ...tensors }, m); };
/** The valid tensors and metadata with an edited config object. */
const withConfig = (edit) => withMeta((m) => { const c = structuredClone(config); edit(c); m.config = JSON.stringify(c); });
/** One entry of the header edited. */
const withEntry = (name, edit) => { const h = header(); edit(h[name], h); return fromHeader(h); };

const files = new Map();
const add = (name, bytes) => {
  if (files.has(name)) throw new Error(`duplicate corpus name ${name}`);
  if (bytes.length >= MAX) throw new Error(`${name} is ${bytes.length} bytes`);
  files.set(name, bytes);
};

add("valid", valid);

// ---- truncations at many lengths (the test also sweeps every length in memory)
const cuts = { 0: "empty", 1: "1-byte", 4: "4-bytes", 7: "7-bytes", 8: "length-field-only", 9: "9-bytes", 16: "16-bytes" };
for (const [at, what] of Object.entries(cuts)) add(`truncated-${what}`, valid.slice(0, Number(at)));
add("truncated-mid-header", valid.slice(0, 8 + Math.floor(N / 2)));
add("truncated-header-minus-1", valid.slice(0, 8 + N - 1));
add("truncated-after-header", valid.slice(0, 8 + N));
add("truncated-after-header-plus-1", valid.slice(0, 8 + N + 1));
add("truncated-mid-data", valid.slice(0, 8 + N + Math.floor(data.length / 2)));
add("truncated-last-4-bytes", valid.slice(0, valid.length - 4));
add("truncated-last-byte", valid.slice(0, valid.length - 1));

// ---- the header length field
add("header-length-past-end", raw(headerText, data, BigInt(headerText.length + data.length + 1)));
add("header-length-2^64-1", raw(headerText, data, 2n ** 64n - 1n));
add("header-length-2^32", raw(headerText, data, 2n ** 32n));
add("header-length-100MB-plus-1", raw(headerText, data, 100_000_001n));
add("header-length-99999999-small-file", raw(headerText, data, 99_999_999n));
add("header-length-1MiB-plus-1", raw(headerText, data, BigInt((1 << 20) + 1)));
add("header-length-zero", raw(headerText, data, 0n));
add("header-length-cuts-the-json", raw(headerText, data, BigInt(headerText.length - 10)));
add("header-length-reaches-into-data", raw(headerText, data, BigInt(headerText.length + 12)));

// ---- a header that is not (strict) JSON, or not an object
const h0 = headerText;
add("not-json-garbage", raw("hello, world! this is not JSON at all".padEnd(64)));
add("not-json-single-quotes", raw(h0.replace(/"/g, "'")));
add("not-json-trailing-comma", raw(h0.replace(/\}$/, ",}")));
add("not-json-nan-literal", raw(h0.replace('"shape":[16]', '"shape":[NaN]')));
add("not-json-comment", raw(`/* a comment */${h0}`));
add("not-json-invalid-utf8", raw(new Uint8Array([...enc.encode(h0.slice(0, 20)), 0xff, 0xfe, ...enc.encode(h0.slice(20))])));
add("not-json-byte-order-mark", raw(new Uint8Array([0xef, 0xbb, 0xbf, ...enc.encode(h0)])));
add("not-json-array-root", raw(`[${h0}]`));
add("not-json-string-root", raw(JSON.stringify(h0)));
add("not-json-trailing-text", raw(`${h0}x`));
add("not-json-raw-control-character", raw(h0.replace('"bias_hh_l0"', '"bias_hh\u0001l0"')));
add("not-json-lone-surrogate-escape", raw(h0.replace('"bias_hh_l0"', '"bias_hh_l0\\ud800"')));
add("not-json-unterminated-string", raw(h0.slice(0, h0.length - 3)));

// ---- JSON bombs: deep nesting and big headers (all under 20 KB)
add("bomb-deeply-nested-arrays", raw("[".repeat(9000) + "]".repeat(9000)));
add("bomb-deeply-nested-objects", raw('{"a":'.repeat(3000) + "{}" + "}".repeat(3000)));
add("bomb-deeply-nested-shape", raw(h0.replace('"shape":[16]', `"shape":${"[".repeat(2000)}16${"]".repeat(2000)}`)));
add("reader-ok--bomb-deeply-nested-config", withMeta((m) => { m.config = "[".repeat(5000) + "]".repeat(5000); }));
add("reader-ok--bomb-many-extra-tensors", withTensors((t) => { for (let i = 0; i < 200; i++) t[`z${String(i).padStart(4, "0")}`] = { data: new Float32Array(0), shape: [0] }; }));
add("reader-ok--bomb-long-format-string", withMeta((m) => { m.format = "x".repeat(15000); }));
add("shape-1e400", raw(h0.replace('"shape":[16]', '"shape":[1e400]')));
add("shape-product-overflows", raw(h0.replace('"shape":[16]', '"shape":[65536,65536,65536,65536,65536]')));

// ---- dtypes
for (const dt of ["I64", "I32", "BOOL", "f32", "F8_E4M3", "U8"]) add(`dtype-${dt}`, withEntry("bias_hh_l0", (e) => { e.dtype = dt; }));
add("dtype-number", withEntry("bias_hh_l0", (e) => { e.dtype = 32; }));
add("dtype-null", withEntry("bias_hh_l0", (e) => { e.dtype = null; }));
add("dtype-missing", withEntry("bias_hh_l0", (e) => { delete e.dtype; }));
add("dtype-F64-over-F32-bytes", withEntry("weight_hh_l0", (e) => { e.dtype = "F64"; }));
add("dtype-F16-over-F32-bytes", withEntry("weight_hh_l0", (e) => { e.dtype = "F16"; }));
add("entry-extra-field", withEntry("bias_hh_l0", (e) => { e.device = "cpu"; }));
add("entry-not-an-object", withEntry("bias_hh_l0", (_e, h) => { h.bias_hh_l0 = [16]; }));

// ---- shapes that disagree with the byte ranges
add("shape-too-large", withEntry("weight_hh_l0", (e) => { e.shape = [16, 5]; }));
add("shape-too-small", withEntry("weight_hh_l0", (e) => { e.shape = [16, 3]; }));
add("shape-negative", withEntry("weight_hh_l0", (e) => { e.shape = [-16, -4]; }));
add("shape-fractional", withEntry("weight_hh_l0", (e) => { e.shape = [32, 2.0000001]; }));
add("shape-strings", withEntry("weight_hh_l0", (e) => { e.shape = ["16", "4"]; }));
add("shape-not-an-array", withEntry("weight_hh_l0", (e) => { e.shape = "16x4"; }));
add("shape-2^53-plus-1", withEntry("bias_hh_l0", (e) => { e.shape = [2 ** 53 + 2, 0]; }));
// Written at the header level: the library's own writer refuses a dimension above 2^31 − 1.
add("reader-ok--extra-empty-tensor-with-huge-shape", (() => { const h = header(); h.junk = { dtype: "F32", shape: [2 ** 32, 0], data_offsets: [data.length, data.length] }; return fromHeader(h); })());

// ---- offsets
const offs = (name, v) => withEntry(name, (e) => { e.data_offsets = v; });
add("offsets-overlap", (() => { const h = header(); h.bias_hh_l1.data_offsets = [32, 96]; h.bias_ih_l0.data_offsets = [96, 192]; return fromHeader(h); })());
add("offsets-two-tensors-one-range", (() => { const h = header(); h.bias_hh_l1.data_offsets = [0, 64]; return fromHeader(h); })());
add("offsets-out-of-range", offs("weight_ih_l1", [1000, 1260]));
add("offsets-far-out-of-range", offs("weight_ih_l1", [2 ** 40, 2 ** 40 + 256]));
add("offsets-gap", (() => { const h = header(); h.weight_ih_l1.data_offsets = [1004, 1260]; return fromHeader(h, new Uint8Array([...data.subarray(0, 1000), 0, 0, 0, 0, ...data.subarray(1000)])); })());
add("offsets-reversed", offs("bias_hh_l0", [64, 0]));
add("offsets-negative", offs("bias_hh_l0", [-64, 0]));
add("offsets-fractional", offs("bias_hh_l0", [0, 64.5]));
add("offsets-2^53", offs("bias_hh_l0", [2 ** 53, 2 ** 53 + 64]));
add("offsets-three-numbers", offs("bias_hh_l0", [0, 32, 64]));
add("offsets-strings", offs("bias_hh_l0", ["0", "64"]));
add("offsets-missing", withEntry("bias_hh_l0", (e) => { delete e.data_offsets; }));
add("trailing-bytes", raw(headerText, new Uint8Array([...data, 1, 2, 3, 4])));

// ---- missing, extra and duplicated tensors
add("reader-ok--missing-bias_hh_l0", withTensors((t) => { delete t.bias_hh_l0; }));
add("reader-ok--missing-head.weight", withTensors((t) => { delete t["head.weight"]; }));
add("reader-ok--missing-layer-1", withTensors((t) => { for (const k of Object.keys(t)) if (k.endsWith("_l1")) delete t[k]; }));
add("reader-ok--extra-tensor", withTensors((t) => { t.extra = { data: new Float32Array(4), shape: [4] }; }));
add("reader-ok--extra-weight_hr_l0", withTensors((t) => { t.weight_hr_l0 = { data: new Float32Array(8), shape: [2, 4] }; }));
add("reader-ok--extra-head.scale", withTensors((t) => { t["head.scale"] = { data: new Float32Array(2), shape: [2] }; }));
add("reader-ok--extra-partial-layer-2", withTensors((t) => { t.weight_ih_l2 = tensors.weight_ih_l1; }));
add("reader-ok--extra-layer-999999999", withTensors((t) => { t.weight_ih_l999999999 = tensors.weight_ih_l1; }));
add("duplicated-tensor-key", raw(h0.replace('"bias_hh_l1":', '"bias_hh_l0":{"dtype":"F32","shape":[16],"data_offsets":[0,64]},"bias_hh_l1":')));
add("duplicated-metadata-key", raw(h0.replace('"format":', '"format":"x","format":')));

// ---- __proto__, constructor and prototype: as tensor names, in metadata, inside the config JSON
for (const k of ["__proto__", "constructor", "prototype"]) {
  add(`tensor-name-${k}`, (() => { const h = header(); put(h, k, h.bias_hh_l0); delete h.bias_hh_l0; return fromHeader(h); })());
  add(`metadata-key-${k}`, (() => { const h = header(); put(h.__metadata__, k, "{}"); return fromHeader(h); })());
}
for (const k of ["__proto__", "constructor"]) {
  // head.<k> is an allowed safetensors name; loading must not treat it as an own key of a plain object.
  add(`reader-ok--tensor-name-head.${k}`, (() => { const h = header(); put(h, `head.${k}`, { dtype: "F32", shape: [0], data_offsets: [0, 0] }); return fromHeader(h); })());
  add(`reader-ok--config-root-${k}`, withMeta((m) => { m.config = JSON.stringify(put(structuredClone(config), k, { returnSequences: true, lstm: { hiddenSize: 99 } })); }));
  add(`reader-ok--config-lstm-${k}`, withMeta((m) => { const c = structuredClone(config); delete c.lstm.reverse; put(c.lstm, k, { reverse: true }); m.config = JSON.stringify(c); }));
  add(`reader-ok--config-head-${k}`, withMeta((m) => { const c = structuredClone(config); put(c.head, k, { outputSize: 3 }); m.config = JSON.stringify(c); }));
}

// ---- a config that disagrees with the tensors, or is malformed
add("reader-ok--config-hiddenSize-8", withConfig((c) => { c.lstm.hiddenSize = 8; }));
add("reader-ok--config-hiddenSize-string", withConfig((c) => { c.lstm.hiddenSize = "4"; }));
add("reader-ok--config-inputSize-5", withConfig((c) => { c.lstm.inputSize = 5; }));
add("reader-ok--config-numLayers-1", withConfig((c) => { c.lstm.numLayers = 1; }));
add("reader-ok--config-numLayers-3", withConfig((c) => { c.lstm.numLayers = 3; }));
add("reader-ok--config-projSize-2", withConfig((c) => { c.lstm.projSize = 2; }));
add("reader-ok--config-bidirectional-true", withConfig((c) => { c.lstm.bidirectional = true; }));
add("reader-ok--config-peephole-true", withConfig((c) => { c.lstm.peephole = true; }));
add("reader-ok--config-reverse-string", withConfig((c) => { c.lstm.reverse = "false"; }));
add("reader-ok--config-head-inputSize-8", withConfig((c) => { c.head.inputSize = 8; }));
add("reader-ok--config-head-outputSize-3", withConfig((c) => { c.head.outputSize = 3; }));
add("reader-ok--config-head-outputSize-0", withConfig((c) => { c.head.outputSize = 0; }));
// Every size field of every layer: huge (the 876-byte file that once grew wasm memory by 2.4 GB had
// head.outputSize 1e8), zero, negative and off by one. Each must be refused against the tensors
// before anything is allocated.
for (const [layer, fields] of [["lstm", ["inputSize", "hiddenSize", "numLayers", "projSize"]], ["head", ["inputSize", "outputSize"]]]) {
  for (const field of fields) {
    for (const [what, v] of [["huge", 100_000_000], ["zero", 0], ["negative", -1], ["mismatch", config[layer][field] + 1]]) {
      if (v !== config[layer][field]) add(`reader-ok--config-${layer}-${field}-${what}`, withConfig((c) => { c[layer][field] = v; })); // projSize 0 is the valid value
    }
  }
}
add("reader-ok--config-returnSequences-string", withConfig((c) => { c.returnSequences = "true"; }));
add("reader-ok--config-returnSequences-number", withConfig((c) => { c.returnSequences = 1; }));
add("reader-ok--config-returnSequences-null", withConfig((c) => { c.returnSequences = null; }));
add("reader-ok--config-returnSequences-object", withConfig((c) => { c.returnSequences = {}; }));
add("reader-ok--config-lstm-array", withConfig((c) => { c.lstm = [3, 4, 2]; }));
add("reader-ok--config-lstm-missing", withConfig((c) => { delete c.lstm; }));
add("reader-ok--config-head-missing", withConfig((c) => { delete c.head; }));
add("reader-ok--config-missing", withMeta((m) => { delete m.config; }));
add("reader-ok--config-not-json", withMeta((m) => { m.config = "{lstm: {inputSize: 3}}"; }));
add("reader-ok--config-array", withMeta((m) => { m.config = "[]"; }));
add("reader-ok--config-duplicate-key", withMeta((m) => { m.config = m.config.replace('"returnSequences":false', '"returnSequences":false,"returnSequences":true'); }));

// ---- format and version
add("reader-ok--formatVersion-2", withMeta((m) => { m.formatVersion = "2"; })); // a format-1 configuration read as format 2
add("reader-ok--formatVersion-3", withMeta((m) => { m.formatVersion = "3"; }));
add("reader-ok--formatVersion-999", withMeta((m) => { m.formatVersion = "999"; }));
add("reader-ok--formatVersion-0", withMeta((m) => { m.formatVersion = "0"; }));
add("reader-ok--formatVersion-text", withMeta((m) => { m.formatVersion = "one"; }));
add("reader-ok--formatVersion-missing", withMeta((m) => { delete m.formatVersion; }));
add("reader-ok--format-other", withMeta((m) => { m.format = "keras.sequential"; }));
add("reader-ok--format-missing", withMeta((m) => { delete m.format; }));
add("metadata-number-value", (() => { const h = header(); h.__metadata__.formatVersion = 1; return fromHeader(h); })());
add("metadata-not-an-object", (() => { const h = header(); h.__metadata__ = "lstm-wasm.sequential"; return fromHeader(h); })());

// ---- bare torch.nn.LSTM files (no lstm-wasm metadata): Sequential.load points to LSTM.fromStateDict
const lstmOnly = Object.fromEntries(Object.entries(tensors).filter(([k]) => !k.startsWith("head.")));
add("reader-ok--bare-torch-lstm", writeSafetensors(lstmOnly));
add("reader-ok--bare-torch-lstm-format-pt", writeSafetensors(lstmOnly, { format: "pt" }));

// ---- format 2 (today's): every layer type, each size field of each huge, zero, negative and
// mismatched, and the structure of the layer list.
const m2 = new Sequential([
  new Embedding({ numEmbeddings: 12, embeddingDim: 3, seed: 3 }), new LSTM({ inputSize: 3, hiddenSize: 4, numLayers: 2, seed: 4 }),
  new Dropout({ p: 0.25 }), new Linear({ inputSize: 4, outputSize: 2, activation: "softmax", seed: 5 }),
], { names: ["embed", "lstm", "drop", "fc"] });
const valid2 = m2.save();
m2.dispose();
const v2 = readSafetensorsWithMetadata(valid2), c2 = JSON.parse(v2.metadata.config);
const withConfig2 = (edit) => { const c = structuredClone(c2); edit(c); return writeSafetensors({ ...v2.tensors }, { ...v2.metadata, config: JSON.stringify(c) }); };
add("v2-valid", valid2);
const SIZES = { embedding: ["numEmbeddings", "embeddingDim"], lstm: ["inputSize", "hiddenSize", "numLayers", "projSize"], linear: ["inputSize", "outputSize"], dropout: [] };
c2.layers.forEach((l, i) => {
  for (const field of SIZES[l.type]) {
    for (const [what, v] of [["huge", 100_000_000], ["zero", 0], ["negative", -1], ["mismatch", l.config[field] + 1]]) {
      if (v !== l.config[field]) add(`reader-ok--v2-layers-${i}-${field}-${what}`, withConfig2((c) => { c.layers[i].config[field] = v; }));
    }
  }
});
add("reader-ok--v2-layers-2-p-huge", withConfig2((c) => { c.layers[2].config.p = 1e8; }));
add("reader-ok--v2-layers-2-p-negative", withConfig2((c) => { c.layers[2].config.p = -1; }));
add("reader-ok--v2-layers-1-recurrentActivation-other", withConfig2((c) => { c.layers[1].config.recurrentActivation = "relu"; }));
add("reader-ok--v2-layers-3-activation-other", withConfig2((c) => { c.layers[3].config.activation = "gelu"; }));
add("reader-ok--v2-layers-3-bias-false", withConfig2((c) => { c.layers[3].config.bias = false; }));
add("reader-ok--v2-layers-0-paddingIdx-huge", withConfig2((c) => { c.layers[0].config.paddingIdx = 100_000_000; }));
add("reader-ok--v2-layers-1-returnSequences-true", withConfig2((c) => { c.layers[1].config.returnSequences = true; c.layers[3].config.inputSize = 99; }));
add("reader-ok--v2-layers-1-extra-key", withConfig2((c) => { c.layers[1].config.seed = 7; }));
add("reader-ok--v2-layers-1-type-gru", withConfig2((c) => { c.layers[1].type = "gru"; }));
add("reader-ok--v2-layers-order-swapped", withConfig2((c) => { [c.layers[0], c.layers[1]] = [c.layers[1], c.layers[0]]; }));
add("reader-ok--v2-layers-empty", withConfig2((c) => { c.layers = []; }));
add("reader-ok--v2-layers-duplicate-name", withConfig2((c) => { c.layers[2].name = "lstm"; }));
add("reader-ok--v2-layers-unknown-tensor-prefix", writeSafetensors({ ...v2.tensors, "other.weight": { data: new Float32Array(2), shape: [2] } }, v2.metadata));

// ---- write
mkdirSync(OUT, { recursive: true });
for (const f of readdirSync(OUT)) if (f.endsWith(".safetensors")) rmSync(join(OUT, f));
for (const [name, bytes] of files) writeFileSync(join(OUT, `${name}.safetensors`), bytes);
console.log(`wrote ${files.size} files to ${OUT} (largest ${Math.max(...[...files.values()].map((b) => b.length))} bytes)`);
