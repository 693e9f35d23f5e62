// sample(): draws follow softmax(z / temperature) over the top k, for probabilities and logits
// alike (chi-square against the exact distribution, fixed seeds), a tiny temperature is the argmax,
// top-k never leaves the k best, a seed fixes the draws, and bad input is an LSTMError.
import { describe, it, expect } from "vitest";
import { sample, LSTMError } from "../src/index";
import { mulberry32 } from "./helpers/ref";

const softmax = (z: ArrayLike<number>, temperature = 1): number[] => {
  const m = Math.max(...Array.from(z));
  const e = Array.from(z, (v) => Math.exp((v - m) / temperature));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
};

/** Pearson's chi-square of counts against probabilities p (cells with p = 0 must be empty). */
function chiSquare(counts: number[], p: number[], n: number): number {
  let chi = 0;
  p.forEach((pj, j) => {
    if (pj === 0) expect(counts[j], `id ${j} has probability 0`).toBe(0);
    else chi += (counts[j] - n * pj) ** 2 / (n * pj);
  });
  return chi;
}

/** n draws from one row, repeated in a [n,V] batch (one call, one seed). */
function counts(row: number[], n: number, opts: Parameters<typeof sample>[1]): number[] {
  const V = row.length, batch = new Float32Array(n * V);
  for (let i = 0; i < n; i++) batch.set(row, i * V);
  const ids = sample({ data: batch, shape: [n, V] }, opts);
  const c = new Array<number>(V).fill(0);
  for (const id of ids) c[id]++;
  return c;
}

// 99.9% quantiles of chi-square with k degrees of freedom.
const CHI2_999: Record<number, number> = { 3: 16.27, 4: 18.47, 7: 24.32 };
const LOGITS = [1.5, -0.5, 0.25, 2, -3, 0.75, 0, 1];
const N = 40000;

describe("sample", () => {
  it("draws from softmax(logits) (chi-square, V=8, 40 000 draws, p > 0.001)", () => {
    const p = softmax(LOGITS);
    expect(chiSquare(counts(LOGITS, N, { seed: 1 }), p, N)).toBeLessThan(CHI2_999[7]);
  });

  it("reads rows of probabilities as probabilities (the same distribution as their logits)", () => {
    const p = softmax(LOGITS);
    const c = counts(p, N, { seed: 2 });
    expect(chiSquare(c, p, N)).toBeLessThan(CHI2_999[7]);
    // and with the same seed, the same ids as from the logits (the same weights up to rounding)
    const a = sample({ data: Float32Array.from([...p, ...p]), shape: [2, 8] }, { seed: 3 });
    const b = sample({ data: Float32Array.from([...LOGITS, ...LOGITS]), shape: [2, 8] }, { seed: 3 });
    expect(Array.from(a)).toEqual(Array.from(b));
  });

  it("draws from softmax(z / T) at temperatures 0.5 and 2, for logits and for probabilities", () => {
    for (const temperature of [0.5, 2]) {
      const want = softmax(LOGITS, temperature);
      expect(chiSquare(counts(LOGITS, N, { seed: 4, temperature }), want, N)).toBeLessThan(CHI2_999[7]);
      expect(chiSquare(counts(softmax(LOGITS), N, { seed: 5, temperature }), want, N)).toBeLessThan(CHI2_999[7]);
    }
  });

  it("is the argmax as the temperature goes to 0 (1e-6 and 1e-30, 200 random rows of V=64)", () => {
    const rng = mulberry32(6), V = 64, B = 200;
    const z = Float32Array.from({ length: B * V }, () => 4 * rng() - 2);
    const argmax = Array.from({ length: B }, (_, b) => { let k = 0; for (let j = 1; j < V; j++) if (z[b * V + j] > z[b * V + k]) k = j; return k; });
    for (const temperature of [1e-6, 1e-30]) {
      expect(Array.from(sample({ data: z, shape: [B, V] }, { temperature, seed: 7 }))).toEqual(argmax);
    }
    expect(Array.from(sample({ data: z, shape: [B, V] }, { topK: 1, seed: 8 }))).toEqual(argmax);
  });

  it("keeps only the k best with topK (k = 4 of 8): the rest never drawn, the four in proportion", () => {
    const best = [3, 0, 7, 5]; // LOGITS sorted: 2, 1.5, 1, 0.75
    const p = softmax(LOGITS), mass = best.reduce((s, j) => s + p[j], 0);
    const want = p.map((v, j) => (best.includes(j) ? v / mass : 0));
    const c = counts(LOGITS, N, { seed: 9, topK: 4 });
    expect(chiSquare(c, want, N)).toBeLessThan(CHI2_999[3]);
  });

  it("breaks top-k ties by the lower id, and never draws -Infinity logits or zero probabilities", () => {
    const tie = [0, 1, 1, 1, 0];
    const c = counts(tie, 2000, { seed: 10, topK: 2 });
    expect(c).toEqual([0, expect.any(Number), expect.any(Number), 0, 0]);
    const masked = [0, -Infinity, 0, -Infinity];
    expect(counts(masked, 2000, { seed: 11 })[1] + counts(masked, 2000, { seed: 11 })[3]).toBe(0);
    const zeros = [0.5, 0, 0.5, 0];
    expect(chiSquare(counts(zeros, 2000, { seed: 12 }), zeros, 2000)).toBeLessThan(CHI2_999[3]);
  });

  it("gives the same ids for the same seed, other ids for another, and uses `random` once per row", () => {
    const rows = { data: Float32Array.from({ length: 50 * 8 }, (_, i) => LOGITS[i % 8]), shape: [50, 8] };
    const a = sample(rows, { seed: 13 }), b = sample(rows, { seed: 13 }), c = sample(rows, { seed: 14 });
    expect(Array.from(a)).toEqual(Array.from(b));
    expect(Array.from(a)).not.toEqual(Array.from(c));
    let calls = 0;
    const rng = mulberry32(15);
    const d = sample(rows, { random: () => (calls++, rng()) });
    expect(calls).toBe(50);
    expect(Array.from(d)).toEqual(Array.from(sample(rows, { random: mulberry32(15) })));
  });

  it("takes [V] (Float32Array, number[] or a rank-1 tensor) and [B,V] nested arrays", () => {
    expect(Array.from(sample([0, 0, 1, 0]))).toEqual([2]);
    expect(Array.from(sample(Float32Array.of(0, 1, 0)))).toEqual([1]);
    expect(Array.from(sample({ data: Float32Array.of(1, 0), shape: [2] }))).toEqual([0]);
    expect(Array.from(sample([[0, 1], [1, 0]]))).toEqual([1, 0]);
    expect(Array.from(sample([[5, -50, -50]], { temperature: 0.1 }))).toEqual([0]);
  });

  it("refuses bad input with an LSTMError naming the argument", () => {
    const bad: [unknown, object, RegExp][] = [
      [[0, NaN, 1], {}, /^probsOrLogits\[0\]\[1\]: expected a finite value/],
      [[[0, 1], [Infinity, 0]], {}, /^probsOrLogits\[1\]\[0\]/],
      [[-Infinity, -Infinity], {}, /^probsOrLogits\[0\]: expected a row with at least one finite/],
      [[[[0.5, 0.5]]], {}, /^probsOrLogits: /],
      [[], {}, /^probsOrLogits: expected at least one row/],
      ["abc", {}, /^probsOrLogits: /],
      [[0, 1], { temperature: 0 }, /^options\.temperature: expected a finite number > 0/],
      [[0, 1], { temperature: -1 }, /^options\.temperature/],
      [[0, 1], { temperature: NaN }, /^options\.temperature/],
      [[0, 1], { temperature: Infinity }, /^options\.temperature/],
      [[0, 1], { topK: 0 }, /^options\.topK: expected an integer in \[1, 2\]/],
      [[0, 1], { topK: 3 }, /^options\.topK/],
      [[0, 1], { topK: 1.5 }, /^options\.topK/],
      [[0, 1], { seed: -1 }, /^options\.seed/],
      [[0, 1], { seed: 1, random: Math.random }, /^options: expected seed or random, not both/],
      [[0, 1], { random: 1 }, /^options\.random: expected a function/],
      [[0, 1], { random: () => 1 }, /^options\.random: expected a function returning floats in \[0, 1\)/],
      [[0, 1], { random: () => NaN }, /^options\.random/],
      [[0, 1], { temprature: 1 }, /^options\.temprature: expected one of the options/],
    ];
    for (const [x, opts, re] of bad) {
      let err: unknown;
      try { sample(x, opts); } catch (e) { err = e; }
      expect(err, `${JSON.stringify(x)} ${JSON.stringify(opts)}`).toBeInstanceOf(LSTMError);
      expect((err as Error).message).toMatch(re);
    }
  });
});
