// Model files: safetensors with every layer's tensors under its name (`lstm.weight_ih_l0`) and the
// layer list in `__metadata__`. Files are untrusted: every configuration field is checked, matched
// against the file's own tensors in closed form and chained, before any layer is built or any wasm
// memory is allocated; a refusal names the field.
//
// Format version 2 (today): config = { layers: [{ type, name, config }, …] }.
// Format version 1 (still read): config = { lstm: {…}, head: { inputSize, outputSize }, returnSequences },
// tensors under torch.nn.LSTM's bare names and `head.` — loaded as the layers "lstm" and "head".
import { LSTMError, describe } from "../errors";
import type { Tensor } from "../tensor";
import { writeSafetensors, readSafetensorsWithMetadata } from "../safetensors";
import { parseStrictJson } from "../json";
import { checkStateDict } from "../statedict";
import { checkKeys, onlyKeys } from "../io";
import { buildModel, checkLayer, inputPort, type LayerPlan } from "./build";
import { type LayerSpec, LAYER_NAME } from "../layers/layer";
import type { Sequential, Layer } from "./sequential";

/** The file format's name and version in safetensors `__metadata__`; load() refuses others. */
export const MODEL_FORMAT = "lstm-wasm.sequential";
export const MODEL_FORMAT_VERSION = 2;

// The configuration keys each layer type saves (and a file may hold).
const KEYS: Record<LayerSpec["type"], string[]> = {
  lstm: ["inputSize", "hiddenSize", "numLayers", "bidirectional", "reverse", "projSize", "peephole", "bias", "recurrentActivation", "dropout", "returnSequences", "goBackwards"],
  linear: ["inputSize", "outputSize", "activation", "bias"],
  embedding: ["numEmbeddings", "embeddingDim", "paddingIdx", "maskZero"],
  dropout: ["p"],
};
const MAX_LAYERS = 4096;
// What an omitted key means (as the constructors' defaults).
const DEFAULTS: Record<string, unknown> = { numLayers: 1, bidirectional: false, projSize: 0, peephole: false, bias: true };

/** save()'s bytes. */
export function saveModel(m: Sequential, specs: LayerSpec[]): Uint8Array {
  const layers = specs.map((s, i) => ({ type: s.type, name: m.names[i], config: s.config }));
  return writeSafetensors(m.stateDict(), { format: MODEL_FORMAT, formatVersion: String(MODEL_FORMAT_VERSION), config: JSON.stringify({ layers }) });
}

/** A checked layer, ready to build. */
interface Plan extends LayerPlan { name: string }

/** Sequential.load's body: everything checked, then built; a failure frees whatever was built. */
export function loadModel(bytes: Uint8Array | ArrayBuffer, make: (layers: Layer[], names: string[]) => Sequential): Sequential {
  const { tensors, metadata } = readSafetensorsWithMetadata(bytes);
  if (metadata.format !== MODEL_FORMAT) {
    throw new LSTMError("file", `an lstm-wasm model (metadata format "${MODEL_FORMAT}"); for a bare torch.nn.LSTM file use LSTM.fromStateDict(readSafetensors(bytes))`,
      metadata.format === undefined ? "a file without that metadata" : `format ${describe(metadata.format)}`);
  }
  const version = /^[1-9][0-9]{0,8}$/.test(metadata.formatVersion ?? "") ? Number(metadata.formatVersion) : NaN;
  if (!(version >= 1 && version <= MODEL_FORMAT_VERSION)) throw new LSTMError("file", `formatVersion 1 to ${MODEL_FORMAT_VERSION}`, describe(metadata.formatVersion));
  const { plans, named } = version === 1 ? readV1(metadata.config, tensors) : readV2(metadata.config, tensors);
  checkPlans(plans, named, version === 1);
  return buildModel(plans, plans.map((p) => p.name), named, "file", make);
}

// Only the keys save() writes: anything else in a file is refused, not ignored.
function only(where: string, o: unknown, keys: string[]): Record<string, unknown> {
  checkKeys(where, o, keys, "key");
  return o as Record<string, unknown>;
}

function readV2(config: string | undefined, tensors: Record<string, Tensor>): { plans: Plan[]; named: Record<string, Tensor> } {
  const cfg = only("file metadata config", parseStrictJson(config ?? "", "file metadata config", 5), ["layers"]);
  const layers = cfg.layers;
  if (!Array.isArray(layers) || layers.length === 0 || layers.length > MAX_LAYERS) throw new LSTMError("file metadata config.layers", `an array of 1 to ${MAX_LAYERS} layers`, describe(layers));
  const plans = layers.map((l, i): Plan => {
    const at = `file metadata config.layers[${i}]`;
    const o = only(at, l, ["type", "name", "config"]);
    const type = o.type;
    if (typeof type !== "string" || !Object.prototype.hasOwnProperty.call(KEYS, type)) throw new LSTMError(`${at}.type`, "'lstm', 'linear', 'embedding' or 'dropout'", describe(type));
    if (typeof o.name !== "string") throw new LSTMError(`${at}.name`, "a string", describe(o.name));
    return { type: type as Plan["type"], name: o.name, options: only(`${at}.config`, o.config, KEYS[type as Plan["type"]]) };
  });
  return { plans, named: tensors };
}

// Version 1: [LSTM, Linear] named "lstm" and "head", the LSTM's tensors unprefixed.
function readV1(config: string | undefined, tensors: Record<string, Tensor>): { plans: Plan[]; named: Record<string, Tensor> } {
  const cfg = parseStrictJson(config ?? "", "file metadata config", 4) as Record<string, unknown> | null;
  const lstmCfg = cfg?.lstm, headCfg = cfg?.head;
  if (!lstmCfg || typeof lstmCfg !== "object" || !headCfg || typeof headCfg !== "object") {
    throw new LSTMError("file metadata config", "{ lstm: {…}, head: {…}, returnSequences }", describe(config));
  }
  only("file metadata config", cfg, ["lstm", "head", "returnSequences"]);
  const lstm = only("file metadata config.lstm", lstmCfg, ["inputSize", "hiddenSize", "numLayers", "bidirectional", "reverse", "projSize", "peephole"]);
  const head = only("file metadata config.head", headCfg, ["inputSize", "outputSize"]);
  const rs = cfg!.returnSequences;
  if (rs !== undefined && typeof rs !== "boolean") throw new LSTMError("file metadata config.returnSequences", "a boolean", describe(rs));
  const named: Record<string, Tensor> = Object.create(null);
  for (const [k, v] of Object.entries(tensors)) named[k.startsWith("head.") ? k : `lstm.${k}`] = v;
  return {
    plans: [{ type: "lstm", name: "lstm", options: { ...lstm, returnSequences: rs ?? false } }, { type: "linear", name: "head", options: { ...head } }],
    named,
  };
}

/**
 * Every layer's options checked (no allocation), its sizes matched against its own tensors (the
 * error names the configuration field the tensors contradict), and the widths chained; every
 * tensor must belong to a layer. Field names: v2 `file metadata config.layers[i].config.x`,
 * v1 `file metadata config.lstm.x` / `config.head.x`.
 */
function checkPlans(plans: Plan[], tensors: Record<string, Tensor>, v1: boolean): void {
  const names = new Set<string>();
  const groups: Record<string, Tensor>[] = plans.map(() => Object.create(null));
  plans.forEach((p, i) => {
    if (!LAYER_NAME.test(p.name) || names.has(p.name)) throw new LSTMError(`file metadata config.layers[${i}].name`, "a unique name of letters, digits, _ or -", describe(p.name));
    names.add(p.name);
  });
  for (const [k, v] of Object.entries(tensors)) {
    const dot = k.indexOf("."), i = dot < 0 ? -1 : plans.findIndex((p) => p.name === k.slice(0, dot));
    if (i < 0) throw new LSTMError(`file["${k}"]`, `a tensor of one of the layers ${plans.map((p) => p.name).join(", ")}`, "a tensor of no layer");
    groups[i][k.slice(dot + 1)] = v;
  }
  let port = inputPort(plans);
  plans.forEach((p, i) => {
    const at = v1 ? `file metadata config.${p.name}` : `file metadata config.layers[${i}].config`;
    const t = groups[i];
    const field = (key: string, want: unknown) => {
      const got = p.options[key] === undefined ? DEFAULTS[key] : p.options[key];
      if (got !== want) throw new LSTMError(`${at}.${key}`, `${JSON.stringify(want)}, as the tensors say`, describe(p.options[key]));
    };
    const tensor = (key: string, rank: number): number[] => {
      const s = t[key]?.shape;
      if (!s || s.length !== rank) throw new LSTMError(`file["${p.name}.${key}"]`, `a ${rank}-D tensor`, s ? `shape [${s.join(",")}]` : "a missing tensor");
      return s;
    };
    const none = (keys: string[]) => onlyKeys(Object.keys(t), keys, (k) => `file["${p.name}.${k}"]`, `only ${keys.map((k) => `${p.name}.${k}`).join(", ") || "no tensors"}`);
    if (p.type === "lstm") {
      const inferred = checkStateDict(t, `file["${p.name}.…"]`).config;
      for (const key of Object.keys(inferred) as (keyof typeof inferred)[]) if (key !== "bias" || !v1) field(key, inferred[key]);
      if (v1 && !inferred.bias) throw new LSTMError(`file["${p.name}.bias_ih_l0"]`, "a tensor (format 1 models have biases)", "a missing tensor");
    } else if (p.type === "linear") {
      const [O, In] = tensor("weight", 2);
      const bias = "bias" in t;
      if (bias) { const [b] = tensor("bias", 1); if (b !== O) throw new LSTMError(`file["${p.name}.bias"]`, `shape [${O}] (weight has ${O} rows)`, `shape [${b}]`); }
      none(bias ? ["weight", "bias"] : ["weight"]);
      field("inputSize", In); field("outputSize", O);
      if (!v1) field("bias", bias);
    } else if (p.type === "embedding") {
      const [V, E] = tensor("weight", 2);
      none(["weight"]);
      field("numEmbeddings", V); field("embeddingDim", E);
    } else {
      none([]);
    }
    port = checkLayer(p, port, at);
  });
}
