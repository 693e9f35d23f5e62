// Inferring an LSTM's configuration from a torch.nn.LSTM-style state dict, and checking that the
// dict is complete and consistent. The names and shapes are those of LSTM.stateDict() (see
// src/layout.ts): weight_ih_l{k}[_reverse] [4H,In], weight_hh_l{k} [4H,Hout], bias_ih/bias_hh [4H],
// weight_hr_l{k} [Hout,H] with a projection, peephole_{i,f,o}_l{k} [H] with peepholes.
import { LSTMError, describe } from "./errors";
import { type Tensor, type TensorLike, toTensor, ownTensor } from "./tensor";
import { declaredShape, flatLength } from "./gates";
import { type LSTMConfig, layoutParams } from "./layout";

/** What a state dict determines about its model (the options it cannot tell default to false/0). */
export interface StateDictConfig {
  inputSize: number;
  hiddenSize: number;
  numLayers: number;
  bidirectional: boolean;
  projSize: number;
  peephole: boolean;
  /** Whether bias_ih and bias_hh are present (torch's `bias`). */
  bias: boolean;
}

const KEY = /^(weight_ih|weight_hh|bias_ih|bias_hh|weight_hr|peephole_i|peephole_f|peephole_o)_l(0|[1-9]\d{0,8})(_reverse)?$/;

/**
 * Infer an LSTM's configuration from its parameters' names and shapes.
 * weight_ih_l0 [4H, I] gives H and I (or, for flat data, bias_ih_l0's length 4H), `_l{k}` the
 * layer count, `_reverse` keys bidirectional, weight_hr_l{k} [P, H] the projection and
 * peephole_* the peepholes. Every key of that configuration must be present with its shape, and no other.
 * @param dict name → tensor ({data, shape}, nested arrays, or flat Float32Array/number[]), e.g. from
 *   `lstm.stateDict()`, `readSafetensors()` or a PyTorch export.
 * @returns { inputSize, hiddenSize, numLayers, bidirectional, projSize, peephole }. A unidirectional
 *   model's `reverse` and `batchFirst` are not recorded in the names, so they are not returned.
 * @throws LSTMError naming the key: stray names, missing keys, gaps in the layer numbers, shapes that disagree.
 * @example
 * const cfg = configFromStateDict(readSafetensors(bytes));
 * const lstm = new LSTM(cfg); lstm.loadStateDict(dict);
 */
export function configFromStateDict(dict: Record<string, TensorLike>): StateDictConfig {
  return checkStateDict(dict).config;
}

/** The dict's configuration and its tensors validated against it (data aliases the caller's unless `own`). */
export function checkStateDict(dict: unknown, name = "stateDict", own = false): { config: StateDictConfig; tensors: Record<string, Tensor> } {
  if (dict === null || typeof dict !== "object" || Array.isArray(dict) || ArrayBuffer.isView(dict)) {
    throw new LSTMError(name, "an object of named tensors (torch.nn.LSTM names)", describe(dict));
  }
  const d = dict as Record<string, unknown>;
  const keys = Object.keys(d);
  const layers = new Set<number>();
  let reverse = false, proj = false, peephole = false;
  for (const k of keys) {
    const m = KEY.exec(k);
    if (!m) throw new LSTMError(`${name}["${k}"]`, "a torch.nn.LSTM parameter name such as weight_ih_l0, bias_hh_l1_reverse, weight_hr_l0 or peephole_i_l0", "an unknown key");
    layers.add(Number(m[2]));
    reverse ||= m[3] !== undefined;
    proj ||= m[1] === "weight_hr";
    peephole ||= m[1].startsWith("peephole");
  }
  const has = (k: string) => Object.prototype.hasOwnProperty.call(d, k);
  const missing = (k: string, what: string): never => { throw new LSTMError(`${name}["${k}"]`, what, "a missing key"); };
  // Layer numbers must be 0..L-1: the smallest absent one is the first gap.
  let L = 0;
  for (const l of layers) L = Math.max(L, l + 1);
  for (let l = 0; l < layers.size; l++) if (!layers.has(l)) missing(`weight_ih_l${l}`, `a tensor (layers are numbered 0..${L - 1} without gaps)`);
  if (L === 0 || !has("weight_ih_l0")) missing("weight_ih_l0", "a [4·hiddenSize, inputSize] tensor (every LSTM has one)");

  // Sizes: from declared shapes where there are any, else from flat lengths.
  const wih = d.weight_ih_l0, whh = d.weight_hh_l0;
  const sIh = declaredShape(wih);
  const G = sIh ? sIh[0] : has("bias_ih_l0") ? flatLength(d.bias_ih_l0) : NaN;
  if (!(Number.isInteger(G) && G >= 4 && G % 4 === 0)) {
    throw new LSTMError(`${name}["weight_ih_l0"]`, "4·hiddenSize rows (a positive multiple of 4; for flat data, bias_ih_l0 of length 4·hiddenSize gives it)", describe(wih));
  }
  const H = G / 4;
  const I = sIh ? sIh[1] : flatLength(wih) / G;
  if (!(Number.isInteger(I) && I >= 1)) throw new LSTMError(`${name}["weight_ih_l0"]`, `a [${G}, inputSize] tensor with inputSize >= 1`, describe(wih));
  if (!has("weight_hh_l0")) missing("weight_hh_l0", `a [${G}, ${proj ? "projSize" : H}] tensor`);
  const sHh = declaredShape(whh);
  const Hout = sHh ? sHh[1] : flatLength(whh) / G;
  if (proj ? !(Number.isInteger(Hout) && Hout >= 1 && Hout < H) : Hout !== H) {
    const want = proj ? `a [${G}, projSize] tensor with 1 <= projSize < hiddenSize ${H} (weight_hr is present)` : `a [${G}, ${H}] tensor (no weight_hr, so no projection)`;
    throw new LSTMError(`${name}["weight_hh_l0"]`, want, describe(whh));
  }
  const config: StateDictConfig = { inputSize: I, hiddenSize: H, numLayers: L, bidirectional: reverse, projSize: proj ? Hout : 0, peephole, bias: has("bias_ih_l0") || has("bias_hh_l0") };

  const tensors: Record<string, Tensor> = {};
  for (const [k, shape] of paramShapes(config)) {
    if (!has(k)) missing(k, `a tensor of shape [${shape.join(",")}] (the dict's other keys imply it)`);
    tensors[k] = (own ? ownTensor : toTensor)(`${name}["${k}"]`, d[k], shape);
  }
  return { config, tensors };
}

/** [name, shape] of every parameter, in LSTM.stateDict() order (from the one layout builder). */
export function paramShapes(c: StateDictConfig): Array<[string, number[]]> {
  const cfg: LSTMConfig = { ...c, reverse: false, batchFirst: false, recurrentActivation: "sigmoid", dropout: 0, returnSequences: false, goBackwards: false };
  return layoutParams(cfg).entries.map((e) => [e.name, e.shape]);
}
