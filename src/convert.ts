// Converters between this library's (PyTorch's) parameter layout and the layouts other tools use.
// Ours: gate order i, f, g, o as four row blocks of H; weight_ih [4H,In], weight_hh [4H,Hout],
// bias_ih and bias_hh [4H] (added), peephole_{i,f,o} [H], `_reverse` for the second direction.
// Format facts used (published specifications and documentation):
// - ONNX LSTM operator (onnx.ai/onnx/operators/onnx__LSTM.html): gate order i, o, f, c; W [D,4H,I],
//   R [D,4H,H], B [D,8H] = [Wb | Rb], P [D,3H] = [p_i | p_o | p_f]; p_o multiplies the new cell C_t,
//   as ours does. layout 0: X [T,B,I], Y [T,D,B,H], Y_h [D,B,H]; layout 1: X [B,T,I], Y [B,T,D,H],
//   Y_h [B,D,H]. Our y is [T,B,D·H] (or [B,T,D·H] with batchFirst) and hn stays [D,B,H].
//   Only the default activations (sigmoid, tanh, tanh), no clip and input_forget = 0 match this model.
// - Keras / TensorFlow.js LSTM: kernel [I,4H], recurrent_kernel [H,4H], bias [4H], gate order
//   i, f, c, o (z = x·kernel + h·recurrent_kernel + bias). Keras 2+ defaults to a sigmoid
//   recurrent activation; TF.js (and Keras 1 / tf.keras in TF 1.x) default to hardSigmoid: give
//   the LSTM recurrentActivation 'hardSigmoid' for those (Sequential.fromTfjs reads it off the model).
// - Chainer L.LSTM: upward = Linear(In→4H) with W [4H,In], b [4H]; lateral = Linear(H→4H, nobias);
//   F.lstm reads the 4H pre-activation interleaved per unit (reshape to [B,H,4]): index 4j+k is
//   gate k ∈ (a, i, f, o) of unit j, a being the cell input.
import { LSTMError, describe, checkInt } from "./errors";
import { type Tensor, type TensorLike, ownTensor } from "./tensor";
import { OURS, parseGateOrder, rowMap, permuteAxis, transpose, declaredShape, flatLength } from "./gates";
import { checkStateDict, type StateDictConfig } from "./statedict";
import { checkKeys } from "./io";

export { reorderGates, type ReorderOptions } from "./gates";
export { configFromStateDict, type StateDictConfig } from "./statedict";

/** Options for `new LSTM(config)` that reproduce an imported model. */
export interface ImportedConfig {
  inputSize: number;
  hiddenSize: number;
  bidirectional: boolean;
  reverse: boolean;
  peephole: boolean;
  batchFirst: boolean;
}

/** An imported model: `new LSTM(config)` then `loadStateDict(stateDict)`. */
export interface ImportedLSTM {
  config: ImportedConfig;
  stateDict: Record<string, Tensor>;
}

/** A model to export: an LSTM instance, `{ config?, stateDict }`, or a bare state dict. */
export type ModelSource =
  | { readonly config?: Readonly<Partial<ImportedConfig & StateDictConfig>>; stateDict: Record<string, TensorLike> | (() => Record<string, TensorLike>) }
  | Record<string, TensorLike>;

/** ONNX LSTM inputs W, R and the optional B and P. */
export interface OnnxWeights { W: TensorLike; R: TensorLike; B?: TensorLike; P?: TensorLike }
/** ONNX LSTM attributes needed to read its weights. */
export interface OnnxOptions { hiddenSize: number; direction?: "forward" | "reverse" | "bidirectional"; layout?: 0 | 1 }
/** Keras / TensorFlow.js LSTM weights (one layer, one direction). `bias` is optional (use_bias false). */
export interface KerasWeights { kernel: TensorLike; recurrentKernel: TensorLike; bias?: TensorLike }
/** Chainer L.LSTM weights: upward.W, upward.b and lateral.W. */
export interface ChainerWeights { upwardW: TensorLike; upwardB: TensorLike; lateralW: TensorLike }
/** A blocked single-bias layout (e.g. a numpy step with np.hsplit(z, 4)): W [4H,I], U [4H,H], b [4H]. */
export interface BlockedWeights { W: TensorLike; U: TensorLike; b: TensorLike }

const ONNX = parseGateOrder("", "iofc"), KERAS = parseGateOrder("", "ifco"), CHAINER = parseGateOrder("", "aifo");
const DIRECTIONS = ["forward", "reverse", "bidirectional"];

/**
 * Import the weights of an ONNX LSTM node (one layer).
 * @param weights W [D,4H,I], R [D,4H,H], optional B [D,8H] (zeros when absent) and P [D,3H] (peepholes
 *   i, o, f; no peepholes when absent), D = 2 for 'bidirectional' else 1. Flat Float32Arrays are
 *   shaped from hiddenSize and direction (W's length gives I).
 * @param options hiddenSize (ONNX's hidden_size), direction (default 'forward'), layout (default 0).
 * @returns `{ config, stateDict }`; config.batchFirst = (layout === 1), config.reverse = (direction === 'reverse').
 *   With layout 0 ONNX's Y [T,D,B,H] is our y [T,B,D·H] transposed; with layout 1 they agree
 *   ([B,T,D,H]) but ONNX's Y_h is [B,D,H] where our hn is [D,B,H].
 * @throws LSTMError on a bad shape, option or unknown key.
 * @example
 * const { config, stateDict } = fromOnnx({ W, R, B }, { hiddenSize: 16, direction: "bidirectional" });
 * const lstm = new LSTM(config); lstm.loadStateDict(stateDict);
 */
export function fromOnnx(weights: OnnxWeights, options: OnnxOptions): ImportedLSTM {
  checkKeys("weights", weights, ["W", "R", "B", "P"], "key");
  checkKeys("options", options, ["hiddenSize", "direction", "layout"]);
  const H = checkInt("options.hiddenSize", options.hiddenSize), G = 4 * H;
  const direction = options.direction ?? "forward";
  if (!DIRECTIONS.includes(direction)) throw new LSTMError("options.direction", "'forward', 'reverse' or 'bidirectional'", describe(direction));
  const layout = options.layout ?? 0;
  if (layout !== 0 && layout !== 1) throw new LSTMError("options.layout", "0 (time-major) or 1 (batch-major)", describe(layout));
  const D = direction === "bidirectional" ? 2 : 1;
  const W = take("weights.W", weights.W, [D, G, null]), I = W.shape[2];
  const R = take("weights.R", weights.R, [D, G, H]);
  const B = weights.B === undefined ? null : take("weights.B", weights.B, [D, 2 * G]);
  const P = weights.P === undefined ? null : take("weights.P", weights.P, [D, 3 * H]);
  const map = rowMap(H, ONNX, OURS, false, false);
  const sd: Record<string, Tensor> = {};
  for (let d = 0; d < D; d++) {
    const s = d ? "_l0_reverse" : "_l0";
    sd[`weight_ih${s}`] = { data: permuteAxis(W.data.subarray(d * G * I), 1, G, I, map), shape: [G, I] };
    sd[`weight_hh${s}`] = { data: permuteAxis(R.data.subarray(d * G * H), 1, G, H, map), shape: [G, H] };
    sd[`bias_ih${s}`] = vec(B ? permuteAxis(B.data.subarray(2 * d * G), 1, G, 1, map) : new Float32Array(G));
    sd[`bias_hh${s}`] = vec(B ? permuteAxis(B.data.subarray((2 * d + 1) * G), 1, G, 1, map) : new Float32Array(G));
    if (P) {
      const p = (k: number) => vec(P.data.slice((3 * d + k) * H, (3 * d + k + 1) * H));
      sd[`peephole_i${s}`] = p(0);
      sd[`peephole_f${s}`] = p(2);
      sd[`peephole_o${s}`] = p(1);
    }
  }
  const config = { inputSize: I, hiddenSize: H, bidirectional: D === 2, reverse: direction === "reverse", peephole: P !== null, batchFirst: layout === 1 };
  return { config, stateDict: sd };
}

/**
 * Export a one-layer model as ONNX LSTM inputs. Use the node attributes hidden_size = H,
 * direction = 'bidirectional' / 'reverse' (config.reverse) / 'forward', layout = batchFirst ? 1 : 0.
 * @param model an LSTM, `{ config?, stateDict }` or a bare state dict (then direction is 'forward' or 'bidirectional').
 * @returns W [D,4H,I], R [D,4H,H], B [D,8H] (bias_ih then bias_hh) and, with peepholes, P [D,3H].
 * @throws LSTMError for numLayers > 1 or projSize > 0 (ONNX's LSTM has neither), or an inconsistent state dict.
 * @example
 * const { W, R, B } = toOnnx(lstm);
 */
export function toOnnx(model: ModelSource): { W: Tensor; R: Tensor; B: Tensor; P?: Tensor } {
  const { config: c, tensors: t } = resolveModel(model);
  if (c.numLayers !== 1) throw new LSTMError("model.config.numLayers", "1 (ONNX's LSTM operator has one layer; export each layer as its own node)", describe(c.numLayers));
  if (c.projSize !== 0) throw new LSTMError("model.config.projSize", "0 (ONNX's LSTM operator has no projection)", describe(c.projSize));
  const H = c.hiddenSize, G = 4 * H, I = c.inputSize, D = c.bidirectional ? 2 : 1;
  const map = rowMap(H, OURS, ONNX, false, false);
  const W = new Float32Array(D * G * I), R = new Float32Array(D * G * H), B = new Float32Array(D * 2 * G);
  const P = c.peephole ? new Float32Array(D * 3 * H) : null;
  for (let d = 0; d < D; d++) {
    const s = d ? "_l0_reverse" : "_l0";
    W.set(permuteAxis(t[`weight_ih${s}`].data, 1, G, I, map), d * G * I);
    R.set(permuteAxis(t[`weight_hh${s}`].data, 1, G, H, map), d * G * H);
    if (c.bias) { // bias: false exports zeros (ONNX's B is optional and defaults to them)
      B.set(permuteAxis(t[`bias_ih${s}`].data, 1, G, 1, map), 2 * d * G);
      B.set(permuteAxis(t[`bias_hh${s}`].data, 1, G, 1, map), (2 * d + 1) * G);
    }
    if (P) ["i", "o", "f"].forEach((g, k) => P.set(t[`peephole_${g}${s}`].data, (3 * d + k) * H));
  }
  const out: { W: Tensor; R: Tensor; B: Tensor; P?: Tensor } = { W: { data: W, shape: [D, G, I] }, R: { data: R, shape: [D, G, H] }, B: { data: B, shape: [D, 2 * G] } };
  if (P) out.P = { data: P, shape: [D, 3 * H] };
  return out;
}

/**
 * Import a Keras or TensorFlow.js LSTM layer (`layer.getWeights()` in order: kernel, recurrent kernel, bias).
 * The one bias goes to bias_ih, bias_hh is zeros. The weights do not say the recurrent activation:
 * a TF.js layer defaults to hardSigmoid, so create the LSTM with recurrentActivation 'hardSigmoid'
 * for it (a whole model.json: Sequential.fromTfjs reads it).
 * @param weights kernel [I,4H], recurrentKernel [H,4H], bias [4H] (optional). Flat arrays are
 *   shaped from each other (bias gives H, or recurrentKernel's length 4H²).
 * @returns `{ config, stateDict }`; config.batchFirst is true, as Keras inputs are [batch, time, features].
 * @throws LSTMError on a bad shape or unknown key.
 * @example
 * const [kernel, recurrentKernel, bias] = await Promise.all(layer.getWeights().map(async (w) => ({ data: await w.data(), shape: w.shape })));
 * const { config, stateDict } = fromKeras({ kernel, recurrentKernel, bias });
 */
export function fromKeras(weights: KerasWeights): ImportedLSTM {
  checkKeys("weights", weights, ["kernel", "recurrentKernel", "bias"], "key");
  const H = hidden("weights.recurrentKernel", weights.recurrentKernel, 0, weights.bias), G = 4 * H;
  const rk = take("weights.recurrentKernel", weights.recurrentKernel, [H, G]); // first: it set H
  const kernel = take("weights.kernel", weights.kernel, [null, G]), I = kernel.shape[0];
  const bias = weights.bias === undefined ? new Float32Array(G) : take("weights.bias", weights.bias, [G]).data.slice();
  const map = rowMap(H, KERAS, OURS, false, false); // the identity: Keras' c is our g
  return single(I, H, true, permuteAxis(transpose(kernel.data, I, G), 1, G, I, map), permuteAxis(transpose(rk.data, H, G), 1, G, H, map), permuteAxis(bias, 1, G, 1, map));
}

/**
 * Export a one-layer, one-direction model without projection or peepholes as Keras / TF.js weights.
 * @param model an LSTM, `{ config?, stateDict }` or a bare state dict.
 * @returns kernel [I,4H], recurrentKernel [H,4H], bias [4H] = bias_ih + bias_hh (rounded to float32).
 * @throws LSTMError when the model has more than that, or its state dict is inconsistent.
 * @example
 * const { kernel, recurrentKernel, bias } = toKeras(lstm.stateDict());
 * layer.setWeights([kernel, recurrentKernel, bias].map((t) => tf.tensor(t.data, t.shape)));
 */
export function toKeras(model: ModelSource): { kernel: Tensor; recurrentKernel: Tensor; bias: Tensor } {
  const { I, H, wih, whh, bias } = exportSingle(model, "Keras' LSTM layer");
  const G = 4 * H, map = rowMap(H, OURS, KERAS, false, false);
  return {
    kernel: { data: transpose(permuteAxis(wih, 1, G, I, map), G, I), shape: [I, G] },
    recurrentKernel: { data: transpose(permuteAxis(whh, 1, G, H, map), G, H), shape: [H, G] },
    bias: vec(permuteAxis(bias, 1, G, 1, map)),
  };
}

/**
 * Import a Chainer L.LSTM link (upward.W, upward.b, lateral.W), whose gates are interleaved per
 * unit in the order a, i, f, o. The bias goes to bias_ih, bias_hh is zeros.
 * @param weights upwardW [4H,In], upwardB [4H], lateralW [4H,H]. Flat arrays are shaped from upwardB (4H).
 * @returns `{ config, stateDict }` with batchFirst false (L.LSTM is fed one step [B,In] at a time).
 * @throws LSTMError on a bad shape or unknown key.
 * @example
 * const { config, stateDict } = fromChainer({ upwardW: l.upward.W, upwardB: l.upward.b, lateralW: l.lateral.W });
 */
export function fromChainer(weights: ChainerWeights): ImportedLSTM {
  checkKeys("weights", weights, ["upwardW", "upwardB", "lateralW"], "key");
  const H = hidden("weights.lateralW", weights.lateralW, 1, weights.upwardB), G = 4 * H;
  const U = take("weights.lateralW", weights.lateralW, [G, H]), b = take("weights.upwardB", weights.upwardB, [G]);
  const W = take("weights.upwardW", weights.upwardW, [G, null]), I = W.shape[1];
  const map = rowMap(H, CHAINER, OURS, true, false);
  return single(I, H, false, permuteAxis(W.data, 1, G, I, map), permuteAxis(U.data, 1, G, H, map), permuteAxis(b.data, 1, G, 1, map));
}

/**
 * Export a one-layer, one-direction model without projection or peepholes as Chainer L.LSTM weights.
 * @param model an LSTM, `{ config?, stateDict }` or a bare state dict.
 * @returns upwardW [4H,In], upwardB [4H] = bias_ih + bias_hh, lateralW [4H,H], gates interleaved a, i, f, o per unit.
 * @throws LSTMError when the model has more than that, or its state dict is inconsistent.
 * @example
 * const { upwardW, upwardB, lateralW } = toChainer(lstm);
 */
export function toChainer(model: ModelSource): { upwardW: Tensor; upwardB: Tensor; lateralW: Tensor } {
  const { I, H, wih, whh, bias } = exportSingle(model, "Chainer's L.LSTM");
  const G = 4 * H, map = rowMap(H, OURS, CHAINER, false, true);
  return {
    upwardW: { data: permuteAxis(wih, 1, G, I, map), shape: [G, I] },
    upwardB: vec(permuteAxis(bias, 1, G, 1, map)),
    lateralW: { data: permuteAxis(whh, 1, G, H, map), shape: [G, H] },
  };
}

/**
 * Import a blocked layout with one bias, z = W·x + U·h + b split into four blocks of H in `order`
 * (e.g. a numpy step `a, i, f, o = np.hsplit(z, 4)` is order 'aifo'). The bias goes to bias_ih.
 * @param weights W [4H,I], U [4H,H], b [4H]. Flat arrays are shaped from b (4H).
 * @param options order: 4 letters, a permutation of i, f, o and the cell input g (or a, c).
 * @returns `{ config, stateDict }` with batchFirst false.
 * @throws LSTMError on a bad shape, order or unknown key.
 * @example
 * const { config, stateDict } = fromBlocked({ W, U, b }, { order: "aifo" });
 */
export function fromBlocked(weights: BlockedWeights, options: { order: string }): ImportedLSTM {
  checkKeys("weights", weights, ["W", "U", "b"], "key");
  checkKeys("options", options, ["order"]);
  const order = parseGateOrder("options.order", options.order);
  const H = hidden("weights.U", weights.U, 1, weights.b), G = 4 * H;
  const U = take("weights.U", weights.U, [G, H]), b = take("weights.b", weights.b, [G]);
  const W = take("weights.W", weights.W, [G, null]), I = W.shape[1];
  const map = rowMap(H, order, OURS, false, false);
  return single(I, H, false, permuteAxis(W.data, 1, G, I, map), permuteAxis(U.data, 1, G, H, map), permuteAxis(b.data, 1, G, 1, map));
}

/**
 * Export a one-layer, one-direction model without projection or peepholes in a blocked layout.
 * @param model an LSTM, `{ config?, stateDict }` or a bare state dict.
 * @param options order of the four blocks, as for {@link fromBlocked}.
 * @returns W [4H,I], U [4H,H], b [4H] = bias_ih + bias_hh.
 * @throws LSTMError when the model has more than that, on a bad order, or an inconsistent state dict.
 * @example
 * const { W, U, b } = toBlocked(lstm, { order: "aifo" });
 */
export function toBlocked(model: ModelSource, options: { order: string }): { W: Tensor; U: Tensor; b: Tensor } {
  checkKeys("options", options, ["order"]);
  const order = parseGateOrder("options.order", options.order);
  const { I, H, wih, whh, bias } = exportSingle(model, "a single blocked layer");
  const G = 4 * H, map = rowMap(H, OURS, order, false, false);
  return { W: { data: permuteAxis(wih, 1, G, I, map), shape: [G, I] }, U: { data: permuteAxis(whh, 1, G, H, map), shape: [G, H] }, b: vec(permuteAxis(bias, 1, G, 1, map)) };
}

// ---------------------------------------------------------------- helpers

const vec = (data: Float32Array): Tensor => ({ data, shape: [data.length] });

function single(I: number, H: number, batchFirst: boolean, wih: Float32Array, whh: Float32Array, bias: Float32Array): ImportedLSTM {
  const G = 4 * H;
  return {
    config: { inputSize: I, hiddenSize: H, bidirectional: false, reverse: false, peephole: false, batchFirst },
    stateDict: { weight_ih_l0: { data: wih, shape: [G, I] }, weight_hh_l0: { data: whh, shape: [G, H] }, bias_ih_l0: vec(bias), bias_hh_l0: vec(new Float32Array(G)) },
  };
}

// H from a 2-D weight's declared shape (its `axis` is H), else from a 1-D bias of length 4H, else
// from the weight's flat length 4H² (square root).
function hidden(name: string, weight: unknown, axis: number, bias: unknown): number {
  const ws = declaredShape(weight), bs = bias === undefined ? null : declaredShape(bias);
  const H = ws ? ws[axis] : bias !== undefined ? (bs ? bs[0] : flatLength(bias)) / 4 : Math.sqrt(flatLength(weight) / 4);
  if (!(Number.isInteger(H) && H >= 1)) {
    throw new LSTMError(name, `a weight whose shape gives hiddenSize (${axis === 0 ? "[H, 4H]" : "[4H, H]"}), or a bias of length 4H`, describe(weight));
  }
  return H;
}

// toTensor, plus: flat data may leave one dimension open, taken from its length; no empty dims.
function take(name: string, v: unknown, shape: (number | null)[]): Tensor {
  const open = shape.filter((d) => d === null).length;
  if (declaredShape(v) === null && open === 1 && shape.length > 1 && !Number.isNaN(flatLength(v))) {
    const known = shape.reduce<number>((a, d) => a * (d ?? 1), 1), n = flatLength(v);
    if (n === 0 || n % known !== 0) {
      throw new LSTMError(name, `a tensor of shape [${shape.map((d) => d ?? "?").join(",")}] (flat data: a positive multiple of ${known} values)`, describe(v));
    }
    shape = shape.map((d) => d ?? n / known);
  }
  const t = ownTensor(name, v, shape);
  if (t.shape.includes(0)) throw new LSTMError(name, "no empty dimension", `shape [${t.shape.join(",")}]`);
  return t;
}

// The model's validated tensors and configuration; its `config`, when given, must agree with the dict.
function resolveModel(model: unknown): { config: StateDictConfig & { reverse: boolean }; tensors: Record<string, Tensor> } {
  if (model === null || typeof model !== "object") throw new LSTMError("model", "an LSTM, { config?, stateDict } or a state dict", describe(model));
  const m = model as { config?: unknown; stateDict?: unknown };
  const isModel = "stateDict" in m;
  const dict = !isModel ? m : typeof m.stateDict === "function" ? (m.stateDict as () => unknown).call(m) : m.stateDict;
  const { config, tensors } = checkStateDict(dict, isModel ? "model.stateDict" : "stateDict", true);
  const cfg = (isModel ? m.config ?? {} : {}) as Record<string, unknown>;
  if (cfg === null || typeof cfg !== "object") throw new LSTMError("model.config", "an object (e.g. an LSTM's config)", describe(cfg));
  for (const [k, v] of Object.entries(config)) {
    if (cfg[k] !== undefined && cfg[k] !== v) throw new LSTMError(`model.config.${k}`, `${v}, as the state dict's names and shapes say`, describe(cfg[k]));
  }
  const reverse = cfg.reverse ?? false;
  if (typeof reverse !== "boolean") throw new LSTMError("model.config.reverse", "a boolean", describe(reverse));
  return { config: { ...config, reverse }, tensors };
}

// A plain one-layer forward LSTM's weights, with its two biases summed.
function exportSingle(model: ModelSource, target: string) {
  const { config: c, tensors: t } = resolveModel(model);
  const extra = c.numLayers > 1 ? `${c.numLayers} layers` : c.bidirectional ? "a bidirectional model" : c.reverse ? "a reverse model"
    : c.projSize ? `projSize ${c.projSize}` : c.peephole ? "peepholes" : null;
  if (extra) throw new LSTMError("model", `one forward layer without projection or peepholes (${target})`, extra);
  const bias = new Float32Array(4 * c.hiddenSize);
  if (c.bias) for (let k = 0; k < bias.length; k++) bias[k] = t.bias_ih_l0.data[k] + t.bias_hh_l0.data[k];
  return { I: c.inputSize, H: c.hiddenSize, wih: t.weight_ih_l0.data, whh: t.weight_hh_l0.data, bias };
}

