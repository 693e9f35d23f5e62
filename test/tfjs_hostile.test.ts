// model.json is untrusted input. Each hostile variant of a valid TF.js file (and each hostile
// weightData) is refused by Sequential.fromTfjs with an LSTMError naming what is wrong, with no wasm
// memory grown or left in use, Object.prototype untouched, and no Float32Array larger than the
// bytes justify. A caller's parsed object is read through descriptors: every property once, getters
// refused. A failure after layers were built frees them (nothing half-built).
import { describe, it, expect, beforeAll, vi } from "vitest";
import * as tf from "@tensorflow/tfjs";
import { init, Sequential, LSTMError } from "../src/index";
import { backend } from "../src/wasm/backend";
import { seedWeights, savedByTfjs } from "./helpers/tfjs";

type J = any; // eslint-disable-line @typescript-eslint/no-explicit-any
let base: J, bytes: Uint8Array;
const X = [[0, 3, 4, 1], [2, 0, 5, 5]];

beforeAll(async () => {
  await init();
  await tf.setBackend("cpu");
  const m = tf.sequential();
  m.add(tf.layers.embedding({ inputDim: 6, outputDim: 3, maskZero: true }));
  m.add(tf.layers.lstm({ units: 4, returnSequences: true }));
  m.add(tf.layers.bidirectional({ layer: tf.layers.lstm({ units: 2 }) as tf.RNN }));
  m.add(tf.layers.dropout({ rate: 0.2 }));
  m.add(tf.layers.dense({ units: 2, activation: "softmax" }));
  seedWeights(m, 1);
  const s = await savedByTfjs(m);
  base = s.modelJson;
  bytes = new Uint8Array(s.weightData);
  // Warm up: two models' worth of wasm memory in place, so a refusal must not grow it.
  const a = Sequential.fromTfjs(base, bytes), b = Sequential.fromTfjs(base, bytes);
  a.predict(X); b.predict(X);
  a.dispose(); b.dispose();
});

const clone = (): J => JSON.parse(JSON.stringify(base));
const variant = (f: (j: J) => void): J => { const j = clone(); f(j); return j; };
const layer = (j: J, i: number): J => j.modelTopology.config.layers[i].config;
const weights = (j: J): J[] => j.weightsManifest[0].weights;
const PROTO = Object.getOwnPropertyNames(Object.prototype).sort();

/** fromTfjs refuses: an LSTMError whose argument starts with `arg`, nothing grown, in use or polluted. */
function refused(modelJson: unknown, weightData: unknown, arg: string | RegExp): LSTMError {
  const be = backend(), mem = be.k.memory.buffer.byteLength, inUse = be.arena.inUse;
  const Original = globalThis.Float32Array;
  let largest = 0;
  globalThis.Float32Array = class extends Original {
    constructor(...a: any[]) { largest = Math.max(largest, typeof a[0] === "number" ? a[0] : 0); super(...(a as [number])); }
  } as unknown as Float32ArrayConstructor;
  let err: unknown = null;
  try { Sequential.fromTfjs(modelJson as J, weightData as J).dispose(); } catch (e) { err = e; } finally { globalThis.Float32Array = Original; }
  expect(err, err ? String(err) : "accepted").toBeInstanceOf(LSTMError);
  const e = err as LSTMError;
  expect(e.message).toBe(`${e.argument}: expected ${e.expected}, received ${e.received}`);
  if (typeof arg === "string") expect(e.argument.startsWith(arg), e.message).toBe(true);
  else expect(e.argument, e.message).toMatch(arg);
  expect(be.arena.inUse, `${e.message}: left wasm memory in use`).toBe(inUse);
  expect(be.k.memory.buffer.byteLength, `${e.message}: grew wasm memory`).toBe(mem);
  expect(largest, `${e.message}: a Float32Array of ${largest}`).toBeLessThanOrEqual(bytes.length / 4);
  expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(PROTO);
  expect(({} as J).units).toBeUndefined();
  return e;
}

const M = "modelJson.modelTopology.config.layers";
const W = "modelJson.weightsManifest[0].weights";

describe("sizes are checked against the bytes before anything is allocated", () => {
  const cases: [string, (j: J) => void, string | RegExp][] = [
    ["a huge shape", (j) => { weights(j)[1].shape = [1e6, 1e6]; }, `${W}[1].shape`],
    ["a shape past 2^53 elements", (j) => { weights(j)[0].shape = [2 ** 40, 2 ** 40, 2 ** 40]; }, `${W}[0].shape`],
    ["a negative, fractional or string dimension", (j) => { weights(j)[0].shape = [6, -3]; }, `${W}[0].shape`],
    ["a fractional dimension", (j) => { weights(j)[0].shape = [6, 1.5]; }, `${W}[0].shape`],
    ["a string dimension", (j) => { weights(j)[0].shape = ["6", 3]; }, `${W}[0].shape`],
    ["a rank-9 shape", (j) => { weights(j)[0].shape = [1, 1, 1, 1, 1, 1, 1, 6, 3]; }, `${W}[0].shape`],
    ["a shape the config contradicts (transposed kernel)", (j) => { weights(j)[1].shape = [16, 3]; }, `${W}[1].shape`],
    ["a weight shorter than its layer needs, the bytes moved to the next", (j) => { weights(j)[0].shape = [2, 3]; weights(j)[1].shape = [3, 20]; }, `${W}[0].shape`],
  ];
  for (const [what, f, arg] of cases) it(`${what}: refused naming ${arg}`, () => { refused(variant(f), bytes, arg); });

  it("an input width the first kernel contradicts (batch_input_shape, or an InputLayer's): refused naming the kernel's shape", async () => {
    const m = tf.sequential();
    m.add(tf.layers.lstm({ units: 2, inputShape: [5, 3] }));
    const { modelJson, weightData } = await savedByTfjs(m);
    const j: J = JSON.parse(JSON.stringify(modelJson));
    layer(j, 0).batch_input_shape = [null, 5, 7];
    refused(j, weightData, `${W}[0].shape`);
    delete layer(j, 0).batch_input_shape;
    j.modelTopology.config.layers.unshift({ class_name: "InputLayer", config: { batch_input_shape: [null, null, 4], dtype: "float32", name: "input_1" } });
    refused(j, weightData, `${W}[0].shape`);
    j.modelTopology.config.layers[0].config.batch_input_shape = [null, null, 3];
    Sequential.fromTfjs(j, weightData).dispose();
  });

  it("weight bytes one short, one over, none, or in pieces that do not add up: refused", () => {
    refused(base, bytes.subarray(0, bytes.length - 1), /^(weightData|modelJson\.weightsManifest)/);
    const over = new Uint8Array(bytes.length + 1); over.set(bytes);
    refused(base, over, "weightData");
    refused(base, new Uint8Array(0), /^(weightData|modelJson\.weightsManifest)/);
    refused(base, [bytes, new Uint8Array(4)], "weightData");
  });

  it("a buffer detached by the caller's own code while the call runs: refused, never read as zeros", () => {
    const detach = (b: ArrayBuffer) => structuredClone(b, { transfer: [b] });
    // A getter in the shard list detaches an earlier shard...
    const a = bytes.slice(), cut = 100;
    const list = [a.subarray(0, cut)];
    Object.defineProperty(list, 1, { get: () => { detach(a.buffer); return bytes.slice(cut); }, enumerable: true });
    refused(base, list, /^weightData/);
    // ...or a proxy trap in modelJson detaches the weights.
    const b = bytes.slice();
    const sly = new Proxy(clone(), { ownKeys: (t) => { if (b.byteLength) detach(b.buffer); return Reflect.ownKeys(t); } });
    refused(sly, b, /^weightData/);
  });

  it("weightData that is not bytes: refused naming it", () => {
    for (const v of [null, "AAAA", 42, new Float32Array(bytes.length / 4), new DataView(bytes.buffer), [], [bytes, "x"], { byteLength: bytes.length }]) {
      refused(base, v, /^weightData/);
    }
  });
});

describe("settings this library does not compute are refused, naming the layer class or setting", () => {
  const cases: [string, (j: J) => void, string][] = [
    ["another layer class (GRU)", (j) => { j.modelTopology.config.layers[1].class_name = "GRU"; }, `${M}[1].class_name`],
    ["Masking", (j) => { j.modelTopology.config.layers.splice(0, 0, { class_name: "Masking", config: { mask_value: 0 } }); }, `${M}[0].class_name`],
    ["a functional model", (j) => { j.modelTopology.class_name = "Functional"; }, "modelJson.modelTopology.class_name"],
    ["a graph model", (j) => { j.format = "graph-model"; }, "modelJson.format"],
    ["an unknown LSTM setting", (j) => { layer(j, 1).foo = 1; }, `${M}[1].config.foo`],
    ["stateful", (j) => { layer(j, 1).stateful = true; }, `${M}[1].config.stateful`],
    ["return_state", (j) => { layer(j, 1).return_state = true; }, `${M}[1].config.return_state`],
    ["time_major", (j) => { layer(j, 1).time_major = true; }, `${M}[1].config.time_major`],
    ["an LSTM activation other than tanh", (j) => { layer(j, 1).activation = "relu"; }, `${M}[1].config.activation`],
    ["an LSTM activation of null (TF.js: linear)", (j) => { layer(j, 1).activation = null; }, `${M}[1].config.activation`],
    ["a recurrent activation other than sigmoid / hard_sigmoid", (j) => { layer(j, 1).recurrent_activation = "tanh"; }, `${M}[1].config.recurrent_activation`],
    ["merge_mode sum", (j) => { layer(j, 2).merge_mode = "sum"; }, `${M}[2].config.merge_mode`],
    ["merge_mode null (two outputs)", (j) => { layer(j, 2).merge_mode = null; }, `${M}[2].config.merge_mode`],
    ["Bidirectional around a GRU", (j) => { layer(j, 2).layer.class_name = "GRU"; }, `${M}[2].config.layer`],
    ["go_backwards inside a Bidirectional", (j) => { layer(j, 2).layer.config.go_backwards = true; }, `${M}[2].config.layer.config.go_backwards`],
    ["a Dense activation this library lacks", (j) => { layer(j, 4).activation = "elu"; }, `${M}[4].config.activation`],
    ["noise_shape", (j) => { layer(j, 3).noise_shape = [null, 1]; }, `${M}[3].config.noise_shape`],
    ["a dropout rate of 1.5", (j) => { layer(j, 3).rate = 1.5; }, `${M}[3].config.rate`],
    ["units as a string", (j) => { layer(j, 1).units = "4"; }, `${M}[1].config.units`],
    ["units 0", (j) => { layer(j, 1).units = 0; }, `${M}[1].config.units`],
    ["a float16 layer", (j) => { layer(j, 4).dtype = "float16"; }, `${M}[4].config.dtype`],
    ["a key written both ways", (j) => { layer(j, 1).returnSequences = true; }, `${M}[1].config.returnSequences`],
    ["an Embedding after an LSTM", (j) => { const l = j.modelTopology.config.layers; l.push(l.shift()); }, `${M}[4]`],
    ["an Embedding after a leading Dropout", (j) => { const l = j.modelTopology.config.layers; l.unshift(l.splice(3, 1)[0]); }, `${M}[1]`],
    ["two layers with one name", (j) => { layer(j, 4).name = layer(j, 1).name; }, `${M}[4].config.name`],
    ["an InputLayer after the first layer", (j) => { j.modelTopology.config.layers.splice(2, 0, { class_name: "InputLayer", config: { name: "late" } }); }, `${M}[2].config`],
    ["no layers", (j) => { j.modelTopology.config.layers = []; }, `${M}`],
    ["2000 layers", (j) => { j.modelTopology.config.layers = Array.from({ length: 2000 }, (_, i) => ({ class_name: "Dropout", config: { name: `d${i}`, rate: 0 } })); }, `${M}`],
  ];
  for (const [what, f, arg] of cases) it(`${what}: refused naming ${arg}`, () => { refused(variant(f), bytes, arg); });

  it("only Dropout layers (nothing to fix the input width): refused naming the topology", () => {
    const j = variant((v) => { v.modelTopology.config.layers = [{ class_name: "Dropout", config: { name: "d", rate: 0.1, batch_input_shape: [null, 3, 2] } }]; v.weightsManifest = []; });
    refused(j, new Uint8Array(0), "modelJson.modelTopology");
  });
});

describe("the weights manifest is matched by name and role, exactly", () => {
  const cases: [string, (j: J) => void, string | RegExp][] = [
    ["quantized weights", (j) => { weights(j)[0].quantization = { dtype: "uint8", scale: 0.1, min: -1 }; }, `${W}[0].quantization`],
    ["an int32 weight", (j) => { weights(j)[0].dtype = "int32"; }, `${W}[0].dtype`],
    ["a float16 weight", (j) => { weights(j)[0].dtype = "float16"; }, `${W}[0].dtype`],
    ["an unknown key on a weight", (j) => { weights(j)[0].offset = 4; }, `${W}[0].offset`],
    ["an unknown key on a group", (j) => { j.weightsManifest[0].extra = 1; }, "modelJson.weightsManifest[0].extra"],
    ["paths that are not strings", (j) => { j.weightsManifest[0].paths = [1]; }, "modelJson.weightsManifest[0].paths"],
    ["no manifest", (j) => { delete j.weightsManifest; }, "modelJson.weightsManifest"],
    ["a weight of no layer", (j) => { weights(j)[0].name = "nobody/embeddings"; }, `${W}[0].name`],
    ["a weight role the layer does not have", (j) => { weights(j)[1].name = weights(j)[1].name.replace("kernel", "gamma"); }, /^modelJson\.weightsManifest\[0\]\.weights\[1\]\.name$|config$/],
    ["one name twice", (j) => { weights(j)[2].name = weights(j)[1].name; }, `${W}[2].name`],
    ["two names for one role", (j) => { weights(j)[2].name = weights(j)[1].name.replace("/kernel", "/lstm_cell/kernel"); }, `${W}[2].name`],
    ["a missing weight (bytes kept by a weight of no layer)", (j) => { weights(j)[3].name = "stray/bias"; }, `${W}[3].name`],
  ];
  for (const [what, f, arg] of cases) it(`${what}: refused naming ${arg}`, () => { refused(variant(f), bytes, arg); });

  // The manifest's weights with their byte ranges.
  const ranges = (j: J) => { let at = 0; return weights(j).map((w: J) => { const n = 4 * w.shape.reduce((a: number, b: number) => a * b, 1); at += n; return [at - n, at]; }); };
  it("a weight left out (with its bytes): refused naming the layer that needs it", () => {
    const j = clone(), [b0, b1] = ranges(j)[3];
    const [w] = weights(j).splice(3, 1);
    const cut = new Uint8Array(bytes.length - (b1 - b0));
    cut.set(bytes.subarray(0, b0)); cut.set(bytes.subarray(b1), b0);
    const e = refused(j, cut, `${M}[1].config`);
    expect(e.expected).toContain(w.name.split("/").pop());
  });
  it("a weight added (with its bytes) that its layer does not have: refused naming it", () => {
    const j = clone();
    weights(j).push({ name: `${layer(j, 1).name}/peephole`, shape: [4], dtype: "float32" });
    const more = new Uint8Array(bytes.length + 16); more.set(bytes);
    refused(j, more, `${W}[${weights(j).length - 1}].name`);
  });
  it("weights of TF.js's optimizer group are skipped, as tf.loadLayersModel skips them", () => {
    const j = clone();
    weights(j).push({ name: "Adam/iter", shape: [], dtype: "int32", group: "optimizer" }, { name: "Adam/m", shape: [2], dtype: "float32", group: "optimizer" });
    const more = new Uint8Array(bytes.length + 12); more.set(bytes);
    const a = Sequential.fromTfjs(j, more), b = Sequential.fromTfjs(base, bytes);
    expect(Array.from(a.predict(X).data)).toEqual(Array.from(b.predict(X).data));
    a.dispose(); b.dispose();
  });
});

describe("the JSON itself: size, depth, prototypes, getters and proxies", () => {
  it("deep nesting, as text and as an object (and a cycle): refused", () => {
    const deep = JSON.stringify(clone()).replace('"trainable":true', `"trainable":${"[".repeat(5000)}${"]".repeat(5000)}`);
    refused(deep, bytes, "modelJson");
    const j = clone();
    let o: J = {};
    layer(j, 1).kernel_regularizer = o;
    for (let i = 0; i < 100; i++) { o.config = {}; o = o.config; }
    refused(j, bytes, `${M}[1].config.kernel_regularizer`);
    const c = clone();
    layer(c, 1).kernel_constraint = c;
    refused(c, bytes, /^modelJson/);
  });

  it("text over 16 Mi characters and a JSON value bomb: refused", () => {
    refused(" ".repeat((16 << 20) + 1), bytes, "modelJson");
    refused(JSON.stringify(clone()).replace('"trainable":true', `"trainable":[${"0,".repeat(1.5e6)}0]`), bytes, /^modelJson/);
  });

  it("__proto__, constructor and prototype keys, in text and in parsed objects: refused, nothing polluted", () => {
    const text = JSON.stringify(clone());
    refused(text.replace('"units":4', '"units":4,"__proto__":{"units":99,"polluted":true}'), bytes, `${M}[1].config.__proto__`);
    refused(JSON.parse(text.replace('"units":4', '"units":4,"__proto__":{"polluted":true}')), bytes, `${M}[1].config.__proto__`);
    refused(JSON.parse(`{"__proto__":{"polluted":1},${text.slice(1)}`), bytes, "modelJson.__proto__");
    refused(text.replace('"units":4', '"units":4,"constructor":{"prototype":{"polluted":1}}'), bytes, `${M}[1].config.constructor`);
    expect(({} as J).polluted).toBeUndefined();
  });

  it("duplicated keys in text, NaN, functions, symbols, class instances: refused", () => {
    refused(JSON.stringify(clone()).replace('"units":4', '"units":4,"units":5'), bytes, "modelJson");
    for (const bad of [NaN, Infinity, () => 1, Symbol("s"), 10n, new Date(0), new Map(), new Float32Array(2)]) {
      refused(variant((j) => { layer(j, 1).kernel_regularizer = bad; }), bytes, `${M}[1].config.kernel_regularizer`);
    }
  });

  it("a getter anywhere (object or array element) is refused without being called", () => {
    let called = 0;
    const j = clone();
    Object.defineProperty(layer(j, 1), "units", { get: () => { called++; return 4; }, enumerable: true });
    refused(j, bytes, `${M}[1].config.units`);
    const k = clone();
    Object.defineProperty(k.weightsManifest[0].weights, "0", { get: () => { called++; return weights(base)[0]; }, enumerable: true });
    refused(k, bytes, `${W}[0]`);
    const top = clone();
    Object.defineProperty(top, "modelTopology", { get: () => { called++; return base.modelTopology; }, enumerable: true });
    refused(top, bytes, "modelJson.modelTopology");
    expect(called).toBe(0);
  });

  it("a Proxy is read once per property through its descriptors; one whose traps throw is refused", () => {
    const reads = new Map<string, number>();
    const wrap = (o: J, path: string): J => {
      if (o === null || typeof o !== "object") return o;
      const target: J = Array.isArray(o) ? [] : {};
      for (const k of Object.keys(o)) target[k] = wrap(o[k], `${path}.${k}`);
      return new Proxy(target, {
        getOwnPropertyDescriptor(t, k) {
          const key = `${path}.${String(k)}`;
          reads.set(key, (reads.get(key) ?? 0) + 1);
          // A lying proxy: a second look would see other units.
          const d = Reflect.getOwnPropertyDescriptor(t, k);
          if (d && k === "units" && (reads.get(key) ?? 0) > 1) d.value = 999;
          return d;
        },
      });
    };
    const m = Sequential.fromTfjs(wrap(clone(), "m"), bytes);
    expect(m.predict(X).shape).toEqual([2, 2]);
    m.dispose();
    expect([...reads.values()].every((n) => n === 1), [...reads].filter(([, n]) => n > 1).join(" ")).toBe(true);
    const throwing = new Proxy(clone(), { ownKeys() { throw new Error("trap"); } });
    refused(throwing, bytes, "modelJson");
    const inner = variant((j) => { j.modelTopology.config.layers[1] = new Proxy({}, { getOwnPropertyDescriptor() { throw new RangeError("no"); }, ownKeys: () => ["class_name"] }); });
    refused(inner, bytes, `${M}[1]`);
  });
});

describe("nothing is half-built", () => {
  it("a failure after the layers were built frees them all", () => {
    const be = backend(), inUse = be.arena.inUse;
    const spy = vi.spyOn(Sequential.prototype, "loadStateDict").mockImplementationOnce(() => { throw new LSTMError("weightData", "x", "y"); });
    expect(() => Sequential.fromTfjs(base, bytes)).toThrow(LSTMError);
    spy.mockRestore();
    expect(be.arena.inUse).toBe(inUse);
    const ok = Sequential.fromTfjs(base, bytes);
    expect(ok.predict(X).shape).toEqual([2, 2]);
    ok.dispose();
    expect(be.arena.inUse).toBe(inUse);
  });
});
