// Picking ids from a model's output, for generation: temperature, top-k, and a seeded or
// caller-given source of randomness. Plain JS over a copy of the rows (V is a vocabulary, small).
import { LSTMError, describe, checkInt } from "../errors";
import { toTensor, isF32 } from "../tensor";
import { checkKeys } from "../io";
import { seededRandom } from "../rng";

export interface SampleOptions {
  /**
   * Divides the logits (or the log-probabilities) before the softmax: 1 (default) samples the
   * model's distribution, below 1 sharpens it (towards the argmax), above 1 flattens it. Must be > 0;
   * for greedy decoding use topK: 1.
   */
  temperature?: number;
  /** Keep only the k most likely ids of each row (ties broken by the lower id); default all. */
  topK?: number;
  /** Seed of the generator for this call (one draw per row). */
  seed?: number;
  /**
   * A generator of floats in [0, 1) to draw from, called once per row; for a generation loop, make
   * one (a seeded one for a reproducible text) and pass it to every call. Default Math.random.
   */
  random?: () => number;
}

// A row of probabilities sums to 1 within this (float32 softmax over 10^5 ids is within ~1e-5).
const PROB_SUM_TOL = 1e-3;

/**
 * Sample one id per row of a model's output.
 *
 * Rows are read as probabilities when the whole input is non-negative and every row sums to 1
 * (within 1e-3), as after a softmax Linear; otherwise as logits. Either way the draw is from
 * softmax(z / temperature) restricted to the top k, with z the logits or log-probabilities.
 * -Infinity logits (and zero probabilities) are never drawn.
 *
 * @param probsOrLogits [B,V] or [V] (a Tensor, Float32Array, number[] or nested arrays).
 * @param opts.temperature > 0 (default 1). opts.topK in [1, V]. opts.seed or opts.random (not both).
 * @returns Int32Array [B] of ids in [0, V) ([1] for a [V] input).
 * @throws LSTMError on another shape, NaN or +Infinity, a row without a finite value, a bad
 *   option, or a `random` that returns something outside [0, 1).
 * @example
 * const state = model.initialState(1);
 * let id = 0;
 * for (let t = 0; t < 200; t++) {
 *   const probs = model.step([id], state);                     // [1,V] from a softmax Linear
 *   id = sample(probs, { temperature: 0.8, seed: t })[0];     // or one `random` for the whole loop
 * }
 */
export function sample(probsOrLogits: unknown, opts: SampleOptions = {}): Int32Array {
  checkKeys("options", opts, ["temperature", "topK", "seed", "random"]);
  const o = { ...(opts as Record<string, unknown>) }; // each option read once
  const name = "probsOrLogits";
  const t = toTensor(name, probsOrLogits, rankOf(probsOrLogits) === 1 ? [null] : [null, null]);
  const V = t.shape[t.shape.length - 1], B = t.shape.length === 1 ? 1 : t.shape[0];
  if (V < 1 || B < 1) throw new LSTMError(name, "at least one row of at least one value", `shape [${t.shape.join(",")}]`);
  const temperature = o.temperature ?? 1;
  if (typeof temperature !== "number" || !(temperature > 0) || !Number.isFinite(temperature)) {
    throw new LSTMError("options.temperature", "a finite number > 0 (for greedy picks use topK: 1)", describe(temperature));
  }
  const topK = checkInt("options.topK", o.topK ?? V, 1, V);
  if (o.seed !== undefined && o.random !== undefined) throw new LSTMError("options", "seed or random, not both", "both");
  const seed = o.seed === undefined ? null : checkInt("options.seed", o.seed, 0, 2 ** 32 - 1);
  if (o.random !== undefined && typeof o.random !== "function") throw new LSTMError("options.random", "a function returning floats in [0, 1)", describe(o.random));
  const random = seed !== null ? seededRandom(seed) : ((o.random as (() => number) | undefined) ?? Math.random);

  // A copy: `random` is caller code and runs between the rows.
  const x = new Float32Array(t.data);
  const probs = isProbabilities(x, B, V);
  const out = new Int32Array(B), w = new Float64Array(V), order = topK < V ? new Int32Array(V) : null;
  for (let b = 0; b < B; b++) {
    const row = x.subarray(b * V, (b + 1) * V);
    // Scores z (logits, or log p) and the row's best, for a softmax that cannot overflow.
    let best = -Infinity;
    for (let j = 0; j < V; j++) {
      const v = row[j];
      if (Number.isNaN(v) || v === Infinity) throw new LSTMError(`${name}[${b}][${j}]`, "a finite value (or -Infinity for an excluded logit)", describe(v));
      const z = probs ? Math.log(v) : v;
      w[j] = z;
      if (z > best) best = z;
    }
    if (best === -Infinity) throw new LSTMError(`${name}[${b}]`, "a row with at least one finite logit or non-zero probability", "none");
    // exp((z - best) / T): subtracting first keeps a tiny temperature from turning z / T into ∞ − ∞.
    for (let j = 0; j < V; j++) w[j] = Math.exp((w[j] - best) / temperature);
    if (order) keepTopK(w, order, topK);
    let total = 0;
    for (let j = 0; j < V; j++) total += w[j];
    const u = random();
    if (typeof u !== "number" || !(u >= 0 && u < 1)) throw new LSTMError("options.random", "a function returning floats in [0, 1)", `a call returning ${describe(u)}`);
    // Inverse CDF; the last id with weight catches the rounding of the running sum.
    let target = u * total, pick = -1;
    for (let j = 0; j < V; j++) {
      if (w[j] === 0) continue;
      pick = j;
      target -= w[j];
      if (target < 0) break;
    }
    out[b] = pick;
  }
  return out;
}

// [V] for flat arrays and rank-1 tensors, else [B,V] (toTensor then names any other shape).
function rankOf(v: unknown): number {
  if (isF32(v) || (Array.isArray(v) && (v.length === 0 || typeof v[0] === "number"))) return 1;
  if (v !== null && typeof v === "object" && !Array.isArray(v)) {
    const s: unknown = (v as { shape?: unknown }).shape;
    if (Array.isArray(s) && s.length === 1) return 1;
  }
  return 2;
}

function isProbabilities(x: Float32Array, B: number, V: number): boolean {
  for (let b = 0; b < B; b++) {
    let sum = 0;
    for (let j = b * V; j < (b + 1) * V; j++) {
      if (!(x[j] >= 0)) return false;
      sum += x[j];
    }
    if (!(Math.abs(sum - 1) <= PROB_SUM_TOL)) return false;
  }
  return true;
}

/** Zero every weight but the k largest (ties: the lower id wins). `order` is scratch of length V. */
function keepTopK(w: Float64Array, order: Int32Array, k: number): void {
  for (let j = 0; j < order.length; j++) order[j] = j;
  order.sort((a, b) => w[b] - w[a] || a - b);
  for (let r = k; r < order.length; r++) w[order[r]] = 0;
}
