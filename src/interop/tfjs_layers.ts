// The Keras / TF.js layer classes fromTfjs reads, each setting checked against what this library
// computes. A setting is either read (it decides the numbers), training-only (kept in the model's
// origin record: dropout, recurrent_dropout, regularizers, constraints, trainable), or without
// effect on a loaded model (initializers, names, unroll, implementation); anything else is refused
// naming it, as is a value this library does not compute (an activation other than tanh inside an
// LSTM, stateful, return_state, a merge mode other than concat, …).
import { onlyKeys } from "../io";
import { LSTMError } from "../errors";
import type { Tensor } from "../tensor";
import type { Json } from "../json";
import { fromKeras } from "../convert";
import { transpose } from "../gates";
import type { Port } from "../layers/layer";
import { type WeightEntry, Fields, camel, isObject, kind } from "./tfjs_read";
import type { Plan, LayerJson } from "./tfjs";

/** The classes read (InputLayer only fixes the input). */
export const CLASSES = ["InputLayer", "Embedding", "LSTM", "Bidirectional", "Dropout", "Dense"];
const DENSE_ACTIVATIONS = ["linear", "relu", "tanh", "sigmoid", "softmax"];

/** What a layer reader gets: its settings, its weights by slot, the port before it, and the input width an InputLayer gave. */
export interface LayerReader { s: Settings; weights: Map<string, WeightEntry>; port: Port | null; hint: number | null; name: string }

/** One layer config's settings, each read once and accounted for. */
export class Settings {
  private readonly used = new Set<string>();
  readonly trainingOnly: Record<string, Json> = Object.create(null);
  /** The input width common() found in an input shape setting, or null. */
  inputHint: number | null = null;
  constructor(readonly e: LayerJson) {}

  private get f(): Fields { return this.e.f; }
  /** The value of a setting (camelCase key), marking it read. */
  raw(k: string): Json | undefined { this.used.add(k); return this.f.get(k); }
  bool(k: string, def: boolean): boolean {
    const v = this.raw(k);
    if (v === undefined || v === null) return def;
    if (typeof v !== "boolean") throw new LSTMError(this.f.path(k), "true or false", kind(v));
    return v;
  }
  /** A positive integer, required. */
  int(k: string): number {
    const v = this.raw(k);
    if (typeof v !== "number" || !Number.isInteger(v) || v < 1 || v > 2 ** 31 - 1) throw new LSTMError(this.f.path(k), "a positive integer", kind(v));
    return v;
  }
  /**
   * A string setting compared as TF.js reads it (camelCased). Absent is `def`; null is what TF.js
   * makes of it: "linear" for an activation (getActivation(null)), nothing for a merge mode.
   */
  choice(k: string, def: string, allowed: string[], nullIs: string | null = null): string {
    const v = this.raw(k);
    const c = v === undefined ? def : v === null ? nullIs : typeof v === "string" ? camel(v) : null;
    if (c === null || !allowed.includes(c)) throw new LSTMError(this.f.path(k), `${allowed.map((a) => JSON.stringify(a)).join(" or ")} (what this library computes)`, kind(v));
    return c;
  }
  /** A setting this library cannot honour unless it is absent, null or false. */
  off(k: string, why: string): void {
    const v = this.raw(k);
    if (v !== undefined && v !== null && v !== false) throw new LSTMError(this.f.path(k), `false or absent (${why})`, kind(v));
  }
  /** A training-only setting: kept in the origin record when it does anything. */
  keep(k: string): void {
    const v = this.raw(k);
    if (v === undefined || v === null || v === 0 || (k === "trainable" && v === true)) return;
    if ((k === "dropout" || k === "recurrentDropout" || k === "rate") && !(typeof v === "number" && v >= 0 && v <= 1)) {
      throw new LSTMError(this.f.path(k), "a number in [0, 1]", kind(v));
    }
    this.trainingOnly[k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)] = v;
  }
  ignore(...ks: string[]): void { for (const k of ks) this.used.add(k); }

  /**
   * The settings every layer may have: its name, dtype float32, initializers (no effect once the
   * weights are loaded), regularizers and constraints (kept), trainable (kept), and the input
   * shape. Returns the input width a feature input's shape gives, or null.
   */
  common(): number | null {
    for (const k of this.f.keys()) {
      if (/Initializer$/.test(k)) this.used.add(k);
      else if (/(Regularizer|Constraint)$/.test(k)) this.keep(k);
    }
    this.ignore("name", "seed");
    this.keep("trainable");
    this.dtype(false);
    let hint: number | null = null;
    for (const [k, rank] of [["batchInputShape", 3], ["batchShape", 3], ["inputShape", 2]] as const) {
      const v = this.raw(k);
      if (v === undefined || v === null) continue;
      if (!Array.isArray(v) || !v.every((d) => d === null || (typeof d === "number" && Number.isInteger(d) && d >= 0))) {
        throw new LSTMError(this.f.path(k), "an array of sizes (integers or null)", kind(v));
      }
      if (v.length === rank && typeof v[rank - 1] === "number") hint = v[rank - 1] as number;
    }
    return (this.inputHint = hint);
  }

  /** dtype: float32 (a Keras 3 DTypePolicy naming it too); `ids` also allows integer inputs. */
  dtype(ids: boolean): void {
    const v = this.raw("dtype");
    if (v === undefined || v === null) return;
    const name = isObject(v) && isObject(v.config) ? v.config.name : v;
    const ok = ["float32"].concat(ids ? ["int32", "int64"] : []);
    if (typeof name !== "string" || !ok.includes(name)) throw new LSTMError(this.f.path("dtype"), ok.join(" or "), kind(v));
  }

  /** An InputLayer's settings; returns the width its shape gives a feature input, or null. */
  inputLayer(): number | null {
    this.ignore("name", "batchSize");
    this.off("sparse", "a dense input");
    this.off("ragged", "a dense input");
    this.off("optional", "a required input");
    this.dtype(true);
    let hint: number | null = null;
    for (const k of ["batchInputShape", "batchShape"]) {
      const v = this.raw(k);
      if (v === undefined || v === null) continue;
      if (!Array.isArray(v) || !v.every((d) => d === null || (typeof d === "number" && Number.isInteger(d) && d >= 0))) throw new LSTMError(this.f.path(k), "an array of sizes (integers or null)", kind(v));
      if (v.length === 3 && typeof v[2] === "number") hint = v[2];
    }
    this.finish();
    return hint;
  }

  /** Refuse any setting not read above, naming it. */
  finish(): void {
    onlyKeys(this.f.keys(), this.used, (k) => this.f.path(k), `only settings of ${this.e.cls} that this library reads or can ignore safely`);
  }
}

/** One layer's plan; its weights are removed from `r.weights` as they are taken, and any left over is refused. */
export function readLayer(r: LayerReader): Plan {
  const { s } = r, e = s.e;
  let plan: Plan;
  switch (e.cls) {
    case "Embedding": plan = embedding(r); break;
    case "LSTM": plan = lstm(r); break;
    case "Bidirectional": plan = bidirectional(r); break;
    case "Dropout": plan = dropout(r); break;
    default: plan = dense(r);
  }
  const [left] = r.weights.values();
  if (left) throw new LSTMError(`${left.at}.name`, `a weight layer ${e.kerasName} (${e.cls}) has`, JSON.stringify(left.name));
  return plan;
}

const origin = (r: LayerReader) => ({ name: r.name, kerasName: r.s.e.kerasName, className: r.s.e.cls, trainingOnly: r.s.trainingOnly });
const tensor = (read: (e: WeightEntry) => Float32Array, w: WeightEntry): Tensor => ({ data: read(w), shape: w.shape.slice() });

// The weight in `slot`, with a shape matching `shape` (null: any size), taken out of r.weights.
function take(r: LayerReader, slot: string, shape: (number | null)[], what: string): WeightEntry {
  const w = r.weights.get(slot);
  const want = `[${shape.map((d) => d ?? "?").join(",")}]`;
  if (!w) throw new LSTMError(r.s.e.at, `a weight ${r.s.e.kerasName}/…/${slot} ${want} (${what}) in the weights manifest`, "none");
  if (w.shape.length !== shape.length || shape.some((d, i) => d !== null && d !== w.shape[i])) throw new LSTMError(`${w.at}.shape`, `${want} (${what})`, `[${w.shape.join(",")}]`);
  r.weights.delete(slot);
  return w;
}

// The input width of a layer reading floats: the chain's, or (first layer) its kernel's rows,
// which an input shape in the file must agree with.
function inputWidth(r: LayerReader, kernel: WeightEntry, own: number | null): number {
  const w = r.port ? r.port.width : kernel.shape[0];
  const hint = own ?? r.hint;
  if (!r.port && hint !== null && hint !== w) throw new LSTMError(`${kernel.at}.shape`, `${hint} rows, the input width the model's input shape gives`, `[${kernel.shape.join(",")}]`);
  return w;
}

function embedding(r: LayerReader): Plan {
  const { s } = r;
  const V = s.int("inputDim"), E = s.int("outputDim"), maskZero = s.bool("maskZero", false);
  s.ignore("inputLength");
  s.off("sparse", "dense gradients");
  s.off("loraRank", "no LoRA adapter");
  s.common();
  s.finish();
  const w = take(r, "embeddings", [V, E], "input_dim × output_dim");
  return { type: "embedding", options: { numEmbeddings: V, embeddingDim: E, maskZero }, origin: origin(r), state: (read) => ({ weight: tensor(read, w) }) };
}

function dropout(r: LayerReader): Plan {
  const { s } = r;
  const rate = s.raw("rate");
  if (typeof rate !== "number" || !(rate >= 0 && rate < 1)) throw new LSTMError(s.e.f.path("rate"), "a number in [0, 1)", kind(rate));
  s.off("noiseShape", "a mask per element, as Dropout here draws");
  s.common();
  s.finish();
  return { type: "dropout", options: { p: rate }, origin: origin(r), state: () => ({}) };
}

function dense(r: LayerReader): Plan {
  const { s } = r;
  const O = s.int("units"), act = s.choice("activation", "linear", DENSE_ACTIVATIONS, "linear"), bias = s.bool("useBias", true);
  s.off("loraRank", "no LoRA adapter");
  const legacy = s.raw("inputDim");
  const hint = s.common() ?? (typeof legacy === "number" ? legacy : null);
  s.finish();
  const k = take(r, "kernel", [r.port ? r.port.width : null, O], "inputs × units");
  const In = inputWidth(r, k, hint);
  const b = bias ? take(r, "bias", [O], "units") : null;
  return {
    type: "linear", origin: origin(r),
    options: { inputSize: In, outputSize: O, bias, ...(act === "linear" ? {} : { activation: act }) },
    state: (read) => ({ weight: { data: transpose(read(k), In, O), shape: [O, In] }, ...(b ? { bias: tensor(read, b) } : {}) }),
  };
}

/** An LSTM config's settings, as TF.js reads them (recurrent_activation defaults to hard_sigmoid there). */
function lstmSettings(s: Settings) {
  const units = s.int("units");
  s.choice("activation", "tanh", ["tanh"], "linear");
  const ract = s.choice("recurrentActivation", "hardSigmoid", ["sigmoid", "hardSigmoid"], "linear");
  const bias = s.bool("useBias", true);
  const returnSequences = s.bool("returnSequences", false);
  const goBackwards = s.bool("goBackwards", false);
  s.off("returnState", "one output per layer in a Sequential");
  s.off("stateful", "every batch starts from a zero state");
  s.off("timeMajor", "batch-major inputs, as a Sequential takes them");
  s.off("zeroOutputForMask", "masked steps carry the previous output, as TF.js computes");
  s.keep("dropout");
  s.keep("recurrentDropout");
  s.ignore("unitForgetBias", "implementation", "unroll", "useCudnn", "inputLength");
  const legacy = s.raw("inputDim");
  const hint = s.common() ?? (typeof legacy === "number" ? legacy : null);
  s.finish();
  return { units, ract, bias, returnSequences, goBackwards, hint };
}

// One direction's weights in `prefix` ("" or "forward/" / "backward/"), as our state dict keys with `sfx`.
function lstmWeights(r: LayerReader, prefix: string, In: number | null, H: number, bias: boolean) {
  const k = take(r, `${prefix}kernel`, [In, 4 * H], "inputs × 4·units, gates i, f, c, o");
  const rk = take(r, `${prefix}recurrent_kernel`, [H, 4 * H], "units × 4·units");
  const b = bias ? take(r, `${prefix}bias`, [4 * H], "4·units") : null;
  return {
    k,
    state: (read: (e: WeightEntry) => Float32Array, sfx: string): Record<string, Tensor> => {
      const sd = fromKeras({ kernel: tensor(read, k), recurrentKernel: tensor(read, rk), ...(b ? { bias: tensor(read, b) } : {}) }).stateDict;
      const out: Record<string, Tensor> = {};
      for (const key of Object.keys(sd)) if (bias || !key.startsWith("bias")) out[key.replace(/_l0$/, sfx)] = sd[key];
      return out;
    },
  };
}

function lstm(r: LayerReader): Plan {
  const c = lstmSettings(r.s);
  const w = lstmWeights(r, "", r.port ? r.port.width : null, c.units, c.bias);
  const In = inputWidth(r, w.k, c.hint);
  return {
    type: "lstm", origin: origin(r),
    options: { inputSize: In, hiddenSize: c.units, bias: c.bias, recurrentActivation: c.ract, returnSequences: c.returnSequences, goBackwards: c.goBackwards },
    state: (read) => w.state(read, "_l0"),
  };
}

// Bidirectional(LSTM, merge_mode concat): the forward layer, and a backward one TF.js derives from
// it (go_backwards flipped, outputs reversed back to step order), named forward_… / backward_….
function bidirectional(r: LayerReader): Plan {
  const { s } = r, e = s.e;
  s.choice("mergeMode", "concat", ["concat"]);
  s.off("numConstants", "no constants");
  const inner = (k: string, at: string) => {
    const v = s.raw(k);
    const f = isObject(v) ? new Fields(v, at) : null;
    const cls = f?.get("className"), cfg = f?.get("config");
    if (!f || cls !== "LSTM" || !isObject(cfg)) throw new LSTMError(at, "an LSTM layer { class_name: \"LSTM\", config } (Bidirectional wraps an LSTM here)", isObject(v) ? `class ${kind(cls)}` : kind(v));
    const is = new Settings({ cls: "LSTM", at: f.path("config"), f: new Fields(cfg, f.path("config")), kerasName: e.kerasName });
    return { c: lstmSettings(is), is };
  };
  const fwd = inner("layer", s.e.f.path("layer"));
  if (fwd.c.goBackwards) throw new LSTMError(fwd.is.e.f.path("goBackwards"), "false inside a Bidirectional (its backward half is derived from the forward one)", "true");
  if (s.e.f.get("backwardLayer") !== undefined && s.e.f.get("backwardLayer") !== null) {
    const back = inner("backwardLayer", s.e.f.path("backwardLayer"));
    for (const k of ["units", "ract", "bias", "returnSequences"] as const) {
      if (back.c[k] !== fwd.c[k]) throw new LSTMError(back.is.e.at, `the forward layer's settings with go_backwards true (${k} differs)`, kind(back.c[k]));
    }
    if (!back.c.goBackwards) throw new LSTMError(back.is.e.f.path("goBackwards"), "true (the backward layer runs backwards)", "false");
  } else s.ignore("backwardLayer");
  const hint = s.common() ?? fwd.c.hint;
  s.finish();
  Object.assign(s.trainingOnly, fwd.is.trainingOnly);
  const H = fwd.c.units, In0 = r.port ? r.port.width : null;
  const f = lstmWeights(r, "forward/", In0, H, fwd.c.bias);
  const In = inputWidth(r, f.k, hint);
  const b = lstmWeights(r, "backward/", In, H, fwd.c.bias);
  return {
    type: "lstm", origin: origin(r),
    options: { inputSize: In, hiddenSize: H, bidirectional: true, bias: fwd.c.bias, recurrentActivation: fwd.c.ract, returnSequences: fwd.c.returnSequences },
    state: (read) => ({ ...f.state(read, "_l0"), ...b.state(read, "_l0_reverse") }),
  };
}
