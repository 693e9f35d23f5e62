// Sequential.fromTfjs: a TensorFlow.js Layers model (model.json + weight bytes) as our layers.
// Both producers are read: TF.js's own model.save() (modelTopology = { class_name: "Sequential",
// config: { name, layers } }, weights "lstm_LSTM1/kernel") and tensorflowjs_converter from Keras
// (modelTopology.model_config wraps the model, weights "lstm/lstm_cell/kernel" sorted by name and
// split into shards). Keys are read as TF.js reads them, camelCased (tfjs-layers
// utils/serialization_utils.ts convertPythonicToTs), and missing settings take TF.js's defaults
// (an LSTM's recurrent_activation is hard_sigmoid there). Weights are matched by layer name and role
// (kernel, recurrent_kernel, bias, embeddings; forward_/backward_ inside a Bidirectional), never by
// position. Keras gates are i, f, c, o: kernel [I,4H], recurrent_kernel [H,4H], one bias [4H],
// which fromKeras (src/convert.ts) turns into ours (bias_hh zeros).
//
// Everything is checked (settings, shapes against the bytes, widths chained) before a layer is
// built, so a refused file allocates no wasm memory; a failure while building frees what was built.
import { onlyKeys } from "../io";
import { LSTMError } from "../errors";
import type { Tensor } from "../tensor";
import type { Json } from "../json";
import { checkDropoutOptions } from "../layers/dropout";
import type { Port } from "../layers/layer";
import { buildModel, checkLayer, type LayerPlan } from "../model/build";
import type { Sequential, Layer } from "../model/sequential";
import { type TfjsWeightData, type WeightEntry, Fields, readModelJson, takeWeightData, readManifest, readFloats, isObject, kind } from "./tfjs_read";
import { type LayerReader, Settings, readLayer, CLASSES } from "./tfjs_layers";

export type { TfjsWeightData };

/** One layer of a model read by fromTfjs: its names, and the settings this library does not run. */
export interface TfjsOriginLayer {
  /** This library's name of the layer (the Keras name, made safe). */
  name: string;
  /** The Keras / TF.js layer name and class. */
  kerasName: string;
  className: string;
  /**
   * Settings only training uses, under Keras's snake_case keys: an LSTM's dropout and
   * recurrent_dropout (toTfjs() writes these back), regularizers, constraints, trainable: false.
   * fit() applies none of them (see the README).
   */
  trainingOnly: Record<string, Json>;
}

/** Where a model read by Sequential.fromTfjs came from; toTfjs() writes the training-only settings back. */
export interface TfjsOrigin { modelName: string | null; layers: TfjsOriginLayer[] }

const ORIGINS = new WeakMap<object, TfjsOrigin>();
/** @internal The origin of a model fromTfjs made, or null. */
export const tfjsOriginOf = (m: object): TfjsOrigin | null => ORIGINS.get(m) ?? null;

const MAX_LAYERS = 1024;

/** A layer ready to build: our options, and the weights it takes, turned into its state dict. */
export interface Plan extends LayerPlan {
  origin: TfjsOriginLayer;
  /** The state dict from the layer's weights (floats read only after every check passed). */
  state(read: (e: WeightEntry) => Float32Array): Record<string, Tensor>;
}

/** Sequential.fromTfjs's body; `make` is the Sequential constructor. */
export function fromTfjs(modelJson: unknown, weightData: unknown, make: (layers: Layer[], names: string[]) => Sequential): Sequential {
  // Every caller getter or proxy trap runs in these two reads; the byte views are made last, so
  // nothing the caller runs can detach or shrink a buffer after its length was taken.
  const root = readModelJson(modelJson);
  const shards = takeWeightData(weightData);
  const bytes = shards.reduce((s, b) => s + b.length, 0);
  const format = root.format;
  if (format !== undefined && format !== "layers-model") {
    throw new LSTMError("modelJson.format", "\"layers-model\" (a graph model from tf.saved_model has no layers to read)", kind(format));
  }
  const { modelName, entries: layerJson } = readTopology(root.modelTopology);
  const weights = readManifest(root.weightsManifest, root.weightSpecs, bytes);
  const plans = planLayers(layerJson, weights);
  const read = (e: WeightEntry) => readFloats(shards, e);
  const states = plans.map((p) => p.state(read));
  const names = plans.map((p) => p.origin.name);
  const dict: Record<string, Tensor> = Object.create(null);
  states.forEach((st, i) => { for (const k of Object.keys(st)) dict[`${names[i]}.${k}`] = st[k]; });
  const model = buildModel(plans, names, dict, "weightData", make);
  ORIGINS.set(model, deepFreeze({ modelName, layers: plans.map((p) => p.origin) }));
  return model;
}

// The origin record is read-only: what the file said stays what it said.
function deepFreeze<T>(o: T): T {
  if (o !== null && typeof o === "object" && !Object.isFrozen(o)) {
    Object.freeze(o);
    for (const v of Object.values(o)) deepFreeze(v);
  }
  return o;
}

/** A layer entry of the topology: its class and its config's fields. */
export interface LayerJson { cls: string; at: string; f: Fields; kerasName: string }

// modelTopology → the model's name and its layer list. Accepts TF.js's form, the converter's
// model_config wrapper, and Keras's old bare list of layers as the config.
function readTopology(v: Json | undefined): { modelName: string | null; entries: LayerJson[] } {
  let at = "modelJson.modelTopology";
  if (!isObject(v)) throw new LSTMError(at, "an object { class_name: \"Sequential\", config }", kind(v));
  let f = new Fields(v, at);
  const mc = f.get("modelConfig");
  if (mc !== undefined && mc !== null) {
    at = f.path("modelConfig");
    if (!isObject(mc)) throw new LSTMError(at, "an object { class_name, config }", kind(mc));
    f = new Fields(mc, at);
  }
  const cls = f.get("className");
  if (cls !== "Sequential") throw new LSTMError(f.path("className"), "\"Sequential\" (functional and subclassed models are not read)", kind(cls));
  const cfg = f.get("config");
  let list: Json | undefined = cfg, modelName: string | null = null, listAt = f.path("config");
  if (isObject(cfg)) {
    const cf = new Fields(cfg, listAt);
    onlyKeys(cf.keys(), ["name", "layers", "trainable", "dtype", "buildInputShape"], (k) => cf.path(k), "the keys name and layers of a Sequential config");
    const name = cf.get("name");
    if (name !== undefined && name !== null && typeof name !== "string") throw new LSTMError(cf.path("name"), "a string", kind(name));
    modelName = typeof name === "string" ? name : null;
    list = cf.get("layers");
    listAt = cf.path("layers");
  }
  if (!Array.isArray(list) || list.length === 0 || list.length > MAX_LAYERS) throw new LSTMError(listAt, `an array of 1 to ${MAX_LAYERS} layers`, kind(list));
  const entries = list.map((l, i): LayerJson => {
    const lat = `${listAt}[${i}]`;
    if (!isObject(l)) throw new LSTMError(lat, "a layer { class_name, config }", kind(l));
    const lf = new Fields(l, lat);
    onlyKeys(lf.keys(), ["className", "config", "module", "registeredName", "buildConfig", "name"], (k) => lf.path(k), "the keys class_name and config of a layer");
    const c = lf.get("className"), config = lf.get("config");
    if (typeof c !== "string") throw new LSTMError(lf.path("className"), "a layer class name", kind(c));
    if (!isObject(config)) throw new LSTMError(lf.path("config"), "the layer's settings object", kind(config));
    const cf = new Fields(config, lf.path("config"));
    const name = cf.get("name") ?? `${c.toLowerCase()}_${i}`;
    if (typeof name !== "string" || name.length === 0 || name.length > 256) throw new LSTMError(cf.path("name"), "a layer name of 1 to 256 characters", kind(name));
    return { cls: c, at: lf.path("config"), f: cf, kerasName: name };
  });
  const seen = new Set<string>();
  for (const e of entries) {
    if (seen.has(e.kerasName)) throw new LSTMError(e.f.path("name"), "a name no other layer has", JSON.stringify(e.kerasName));
    seen.add(e.kerasName);
  }
  return { modelName, entries };
}

// Each layer read in order, its weights taken from the manifest by name, its width chained.
function planLayers(entries: LayerJson[], weights: WeightEntry[]): Plan[] {
  const owned = assignWeights(entries, weights);
  const plans: Plan[] = [];
  const used = new Set<string>();
  let port: Port | null = null, hint: number | null = null;
  entries.forEach((e, i) => {
    if (!CLASSES.includes(e.cls)) throw new LSTMError(`${e.at.replace(/\.config$/, "")}.class_name`, `one of ${CLASSES.join(", ")}`, JSON.stringify(e.cls));
    const s = new Settings(e);
    if (e.cls === "InputLayer") {
      if (i !== 0) throw new LSTMError(e.at, "an InputLayer first only", `an InputLayer at position ${i}`);
      hint = s.inputLayer();
      const [w] = owned.get(e.kerasName)?.values() ?? [];
      if (w) throw new LSTMError(`${w.at}.name`, "a weight of a layer that has weights (an InputLayer has none)", JSON.stringify(w.name));
      return;
    }
    const name = safeName(e.kerasName, used);
    const reader: LayerReader = { s, weights: owned.get(e.kerasName) ?? new Map(), port, hint, name };
    const plan = readLayer(reader);
    if (plan.type === "dropout" && port === null) {
      // A Dropout first passes the input width it does not know on, with any shape it was given.
      checkDropoutOptions(plan.options as { p: number }, e.at);
      hint = s.inputHint ?? hint;
    } else {
      port = checkLayer(plan, port, e.at, plans.length === 0);
      hint = null;
    }
    plans.push(plan);
  });
  if (plans.every((p) => p.type === "dropout")) throw new LSTMError("modelJson.modelTopology", "at least one Embedding, LSTM, Bidirectional or Dense layer", "none");
  return plans;
}

/**
 * Each manifest weight given to its layer: the first part of its name (split on "/", a ":0"
 * suffix dropped) that names a layer owns it; the slot is "forward/" or "backward/" (from a
 * forward_… / backward_… part after the owner) plus the last part. Optimizer weights are skipped.
 */
function assignWeights(entries: LayerJson[], weights: WeightEntry[]): Map<string, Map<string, WeightEntry>> {
  const names = new Set(entries.map((e) => e.kerasName));
  const owned = new Map<string, Map<string, WeightEntry>>();
  for (const w of weights) {
    if (w.optimizer) continue;
    const parts = w.name.replace(/:\d+$/, "").split("/");
    const i = parts.findIndex((p, k) => k < parts.length - 1 && names.has(p));
    if (i < 0) throw new LSTMError(`${w.at}.name`, `a weight of one of the layers ${[...names].slice(0, 8).join(", ")} (named layer/…/role)`, JSON.stringify(w.name));
    const dir = parts.slice(i + 1, -1).find((p) => /^(forward|backward)_/.test(p));
    const slot = `${dir ? dir.slice(0, dir.indexOf("_")) + "/" : ""}${parts[parts.length - 1]}`;
    const m = owned.get(parts[i]) ?? new Map<string, WeightEntry>();
    if (m.has(slot)) throw new LSTMError(`${w.at}.name`, `one weight per role of layer ${parts[i]} (${m.get(slot)!.name} is its ${slot} too)`, JSON.stringify(w.name));
    m.set(slot, w);
    owned.set(parts[i], m);
  }
  return owned;
}

// A Keras name as a Sequential layer name: letters, digits, _ and - only, at most 64, unique.
function safeName(k: string, used: Set<string>): string {
  const base = k.replace(/[^A-Za-z0-9_-]/g, "_").slice(0, 56) || "layer";
  let name = base;
  for (let n = 2; used.has(name); n++) name = `${base}_${n}`;
  used.add(name);
  return name;
}
