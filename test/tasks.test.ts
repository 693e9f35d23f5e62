// Learning tasks end to end. The adding problem (Hochreiter & Schmidhuber 1997, experiment 4):
// two marked numbers among T random ones must be summed, which needs memory across the whole
// sequence — a plain RNN fails it; predicting the mean gives an MSE of about 1/6.
import { describe, it, expect, beforeAll } from "vitest";
import { LSTM, Linear, Sequential, Adam } from "../src/index";
import { use } from "./helpers/backends";
import { mulberry32 } from "./helpers/ref";

function addingProblem(n: number, T: number, seed: number) {
  const r = mulberry32(seed);
  const x = new Float32Array(n * T * 2), y = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const a = Math.floor((r() * T) / 2), b = T / 2 + Math.floor((r() * T) / 2);
    for (let t = 0; t < T; t++) {
      const v = r();
      x[(i * T + t) * 2] = v;
      if (t === a || t === b) { x[(i * T + t) * 2 + 1] = 1; y[i] += v; }
    }
  }
  return { x: { data: x, shape: [n, T, 2] }, y: { data: y, shape: [n, 1] } };
}

beforeAll(async () => { await use("simd"); });

describe("learning tasks", () => {
  it("learns the adding problem (T = 20): validation MSE far below the 1/6 of predicting the mean", async () => {
    const train = addingProblem(2000, 20, 1), val = addingProblem(500, 20, 2);
    const model = new Sequential([new LSTM({ inputSize: 2, hiddenSize: 64, seed: 1 }), new Linear({ inputSize: 64, outputSize: 1, seed: 2 })]);
    const before = model.evaluate(val.x, val.y);
    await model.fit(train.x, train.y, { epochs: 15, batchSize: 50, optimizer: new Adam({ lr: 3e-3 }), clipNorm: 1, seed: 1 });
    const after = model.evaluate(val.x, val.y);
    expect(before).toBeGreaterThan(0.1);
    expect(after).toBeLessThan(0.03);
    model.dispose();
  });
});
