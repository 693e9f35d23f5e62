// Models of any layer list (Embedding, LSTM, Dropout, Linear), through the public API: gradients of
// whole models against central differences of their own loss on every build, Keras mask semantics,
// the last output of every direction, dropout, fused softmax-cross-entropy, strict state dicts,
// streaming, metrics, early stopping and files.
import { describe, it, expect, beforeAll } from "vitest";
import { init, LSTM, Linear, Embedding, Dropout, Sequential, SGD, Adam, LSTMError, type Tensor } from "../src/index";
import { BUILDS, use } from "./helpers/backends";
import { mulberry32 } from "./helpers/ref";
import { fdCheck } from "./helpers/gradcheck";
import { expectClose, expectBits } from "./helpers/close";

const any = (v: unknown) => v as any;
const ids = (rng: () => number, N: number, T: number, V: number, zeros = 0) =>
  Array.from({ length: N }, () => Array.from({ length: T }, () => (rng() < zeros ? 0 : 1 + Math.floor(rng() * (V - 1)))));
const floats = (rng: () => number, n: number, s = 1) => Float32Array.from({ length: n }, () => (2 * rng() - 1) * s);
const data = (t: Tensor) => Array.from(t.data);

/**
 * Every parameter's analytic gradient (one SGD step of a negligible lr leaves the weights as they
 * were and the gradients in place) against central differences of evaluate()'s loss.
 */
async function gradcheck(label: string, make: () => Sequential, x: unknown, y: unknown, loss: "mse" | "crossEntropy", seed: number) {
  const m = make(), rng = mulberry32(seed);
  const N = Array.isArray(x) ? x.length : (x as Tensor).shape[0];
  await m.fit(any(x), any(y), { loss, epochs: 1, batchSize: N, shuffle: false, optimizer: new SGD({ lr: 1e-30 }) });
  const grads = m.grads(), sd = m.stateDict();
  let compared = 0;
  for (const [k, g] of Object.entries(grads)) {
    const theta = sd[k].data;
    const r = fdCheck(`${label} ${k}`, theta, g.data, () => {
      m.loadStateDict(sd);
      return { value: m.evaluate(any(x), any(y), { loss, batchSize: N }) };
    }, { rng, cap: 6, eps: 1e-2, atol: 3e-3, rtol: 3e-2 });
    compared += r.compared;
  }
  m.dispose();
  return compared;
}

for (const build of BUILDS) {
  describe(`whole models on the ${build} build`, () => {
    beforeAll(() => use(build));

    it("gradients of Embedding(maskZero) → LSTM(hardSigmoid, bias: false, every step) → bidirectional LSTM → Linear(softmax), cross-entropy, equal central differences", async () => {
      const rng = mulberry32(1);
      const x = ids(rng, 3, 6, 9, 0.25);
      x[0][0] = 0; x[0][1] = 0; x[1][5] = 0; x[2][2] = 0; // pre-padding, post-padding, a gap
      const make = () => new Sequential([
        new Embedding({ numEmbeddings: 9, embeddingDim: 4, maskZero: true, seed: 2 }),
        new LSTM({ inputSize: 4, hiddenSize: 5, recurrentActivation: "hardSigmoid", bias: false, returnSequences: true, seed: 3 }),
        new LSTM({ inputSize: 5, hiddenSize: 3, bidirectional: true, seed: 4 }),
        new Linear({ inputSize: 6, outputSize: 4, activation: "softmax", seed: 5 }),
      ]);
      expect(await gradcheck("mask/hardSigmoid/bidirectional", make, x, [1, 3, 0], "crossEntropy", 6)).toBeGreaterThan(30);
    });

    it("gradients of features → LSTM(2 layers, projSize) → Linear(tanh) → Linear(sigmoid), MSE with lengths, equal central differences", async () => {
      const rng = mulberry32(7), N = 3, T = 5, I = 3;
      const make = () => new Sequential([
        new LSTM({ inputSize: I, hiddenSize: 6, numLayers: 2, projSize: 4, seed: 8 }),
        new Linear({ inputSize: 4, outputSize: 5, activation: "tanh", seed: 9 }),
        new Linear({ inputSize: 5, outputSize: 2, activation: "sigmoid", seed: 10 }),
      ]);
      const m = make();
      const x = { data: floats(rng, N * T * I), shape: [N, T, I] }, y = { data: floats(rng, N * 2, 0.5), shape: [N, 2] };
      m.dispose();
      const compared = await gradcheck("stack", () => { const s = make(); return s; }, x, y, "mse", 11);
      expect(compared).toBeGreaterThan(30);
    });

    it("gradients of Embedding(paddingIdx) → LSTM(goBackwards, every step) → Linear, per-step cross-entropy, equal central differences; paddingIdx's row gets none", async () => {
      const rng = mulberry32(12);
      const x = ids(rng, 2, 5, 7);
      x[0][1] = 3; x[1][4] = 3;
      const make = () => new Sequential([
        new Embedding({ numEmbeddings: 7, embeddingDim: 3, paddingIdx: 3, seed: 13 }),
        new LSTM({ inputSize: 3, hiddenSize: 4, goBackwards: true, returnSequences: true, seed: 14 }),
        new Linear({ inputSize: 4, outputSize: 3, seed: 15 }),
      ]);
      const y = [[0, 1, 2, 1, 0], [2, 2, 1, 0, 1]];
      expect(await gradcheck("goBackwards/paddingIdx", make, x, y, "crossEntropy", 16)).toBeGreaterThan(20);
      const m = make();
      await m.fit(x, any(y), { loss: "crossEntropy", epochs: 1, batchSize: 2, optimizer: new SGD({ lr: 1e-30 }) });
      expect(Array.from(m.grads()["0.weight"].data.slice(9, 12))).toEqual([0, 0, 0]);
      m.dispose();
    });
  });
}

describe("layer semantics", () => {
  beforeAll(() => init());

  it("maskZero follows Keras: a pre-padded, post-padded or gapped row gives what its unpadded steps give alone, both directions", () => {
    for (const bidirectional of [false, true]) {
      const m = new Sequential([
        new Embedding({ numEmbeddings: 8, embeddingDim: 3, maskZero: true, seed: 1 }),
        new LSTM({ inputSize: 3, hiddenSize: 4, bidirectional, seed: 2 }),
        new Linear({ inputSize: bidirectional ? 8 : 4, outputSize: 2, seed: 3 }),
      ]);
      const alone = data(m.predict([[5, 2, 7]]));
      for (const row of [[0, 0, 5, 2, 7], [5, 2, 7, 0, 0], [5, 0, 2, 0, 7], [0, 5, 2, 0, 7, 0]]) {
        expectClose(`bidirectional ${bidirectional}: ${row}`, data(m.predict([row])), alone, { atol: 2e-7, rtol: 1e-6 });
      }
      m.dispose();
    }
  });

  it("returnSequences: false hands on each direction's last output: forward at the last valid step, reverse (and goBackwards) at step 0", () => {
    const rng = mulberry32(3), N = 3, T = 4, I = 2, H = 3;
    const x = floats(rng, N * T * I), lengths = [4, 2, 3];
    for (const opts of [{ bidirectional: true }, { reverse: true }, {}]) {
      const lstm = new LSTM({ inputSize: I, hiddenSize: H, batchFirst: true, seed: 4, ...opts });
      const D = opts.bidirectional ? 2 : 1, W = D * H;
      const { y } = lstm.forward({ data: x, shape: [N, T, I] }, { lengths });
      const m = new Sequential([new LSTM({ inputSize: I, hiddenSize: H, seed: 4, ...opts })]);
      const last = m.predict({ data: x, shape: [N, T, I] }, { lengths }).data;
      for (let n = 0; n < N; n++) {
        for (let d = 0; d < D; d++) {
          const t = d === 1 || "reverse" in opts ? 0 : lengths[n] - 1;
          expect(Array.from(last.slice(n * W + d * H, n * W + (d + 1) * H))).toEqual(Array.from(y.data.slice((n * T + t) * W + d * H, (n * T + t) * W + (d + 1) * H)));
        }
      }
      lstm.dispose(); m.dispose();
    }
    // goBackwards: the same as reverse, with every-step outputs in processing order.
    const rev = new Sequential([new LSTM({ inputSize: I, hiddenSize: H, reverse: true, returnSequences: true, seed: 5 })]);
    const back = new Sequential([new LSTM({ inputSize: I, hiddenSize: H, goBackwards: true, returnSequences: true, seed: 5 })]);
    const a = rev.predict({ data: x, shape: [N, T, I] }).data, b = back.predict({ data: x, shape: [N, T, I] }).data;
    for (let n = 0; n < N; n++) for (let t = 0; t < T; t++) expect(Array.from(b.slice((n * T + t) * H, (n * T + t + 1) * H))).toEqual(Array.from(a.slice((n * T + T - 1 - t) * H, (n * T + T - t) * H)));
    rev.dispose(); back.dispose();
  });

  it("Dropout: inference equals a twin without dropout bit for bit; the same seed gives the same training; with dropout it trains differently", async () => {
    const rng = mulberry32(9), N = 12, T = 4;
    const x = ids(rng, N, T, 10), y = Array.from({ length: N }, (_, n) => n % 3);
    const make = (p: number | null, lstmDropout = 0) => new Sequential([
      new Embedding({ numEmbeddings: 10, embeddingDim: 4, seed: 1 }),
      new LSTM({ inputSize: 4, hiddenSize: 6, numLayers: 2, dropout: lstmDropout, seed: 2 }),
      ...(p === null ? [] : [new Dropout({ p })]),
      new Linear({ inputSize: 6, outputSize: 3, seed: 3 }),
    ]);
    const a = make(0.4, 0.3), b = make(null);
    expectBits("inference", a.predict(x).data, b.predict(x).data);
    const train = async (m: Sequential, seed: number) => (await m.fit(x, y, { loss: "crossEntropy", epochs: 3, batchSize: 4, seed, optimizer: new Adam({ lr: 0.05 }) })).loss;
    const la = await train(a, 7), lb = await train(b, 7), la2 = await train(make(0.4, 0.3), 7), la3 = await train(make(0.4, 0.3), 8);
    expect(la2).toEqual(la);
    expect(la).not.toEqual(lb);
    expect(la3).not.toEqual(la);
    expect(() => new Dropout({ p: 1 })).toThrow(LSTMError);
    const d = new Dropout({ p: 0.5 }), v = Float32Array.from({ length: 4000 }, () => 1);
    const kept = d.forward(v, { train: true, seed: 3 }).data.filter((e) => e !== 0);
    expect(kept.every((e) => e === 2)).toBe(true);
    expect(Math.abs(kept.length / 4000 - 0.5)).toBeLessThan(0.04);
    expect(Array.from(d.forward(v).data)).toEqual(Array.from(v));
  });

  it("softmax + crossEntropy is fused (no double softmax): it trains exactly as a logits head; predict gives probabilities", async () => {
    const rng = mulberry32(11), N = 8, T = 3, I = 2;
    const x = { data: floats(rng, N * T * I), shape: [N, T, I] }, y = Int32Array.from({ length: N }, (_, n) => n % 4);
    const make = (activation?: "softmax") => new Sequential([new LSTM({ inputSize: I, hiddenSize: 5, seed: 1 }), new Linear({ inputSize: 5, outputSize: 4, activation, seed: 2 })]);
    const soft = make("softmax"), logits = make();
    const o = () => ({ loss: "crossEntropy" as const, epochs: 2, batchSize: 4, seed: 1, optimizer: new SGD({ lr: 0.3 }) });
    expect((await soft.fit(x, y, o())).loss).toEqual((await logits.fit(x, y, o())).loss);
    for (const k of Object.keys(soft.stateDict())) expectBits(k, soft.stateDict()[k].data, logits.stateDict()[k].data);
    const p = soft.predict(x).data, z = logits.predict(x).data;
    for (let n = 0; n < N; n++) {
      const row = z.slice(n * 4, n * 4 + 4), mx = Math.max(...row), e = row.map((v) => Math.exp(v - mx)), s = e.reduce((a, b) => a + b, 0);
      expectClose(`row ${n}`, p.slice(n * 4, n * 4 + 4), Array.from(e, (v) => v / s), { atol: 1e-6, rtol: 1e-5 });
    }
    expect(() => new Sequential([new LSTM({ inputSize: I, hiddenSize: 5 }), new Linear({ inputSize: 5, outputSize: 4, activation: "relu" })]).evaluate(x, y, { loss: "crossEntropy" })).toThrow(LSTMError);
  });

  it("state dicts are prefixed by layer name and load strictly: a stray, missing or misshapen key changes nothing", () => {
    const m = new Sequential([new Embedding({ numEmbeddings: 5, embeddingDim: 2, seed: 1 }), new LSTM({ inputSize: 2, hiddenSize: 3, bias: false, seed: 2 }), new Dropout({ p: 0.1 }), new Linear({ inputSize: 3, outputSize: 2, bias: false, seed: 3 })], { names: ["embed", "lstm", "drop", "fc"] });
    const sd = m.stateDict();
    expect(Object.keys(sd)).toEqual(["embed.weight", "lstm.weight_ih_l0", "lstm.weight_hh_l0", "fc.weight"]);
    const before = JSON.stringify(Object.values(sd).map(data));
    const other = Object.fromEntries(Object.entries(sd).map(([k, t]) => [k, { data: t.data.map((v) => v + 1), shape: t.shape }]));
    for (const [dict, arg] of [
      [{ ...other, "fc.bias": { data: new Float32Array(2), shape: [2] } }, 'stateDict["fc.bias"]'],
      [{ ...other, "drop.weight": { data: new Float32Array(2), shape: [2] } }, 'stateDict["drop.weight"]'],
      [Object.fromEntries(Object.entries(other).filter(([k]) => k !== "lstm.weight_hh_l0")), 'stateDict["lstm.weight_hh_l0"]'],
      [{ ...other, "fc.weight": { data: new Float32Array(4), shape: [2, 2] } }, 'stateDict["fc.weight"]'],
      [{ ...other, weight: sd["fc.weight"] }, 'stateDict["weight"]'],
    ] as const) {
      let err: unknown = null;
      try { m.loadStateDict(any(dict)); } catch (e) { err = e; }
      expect(err).toBeInstanceOf(LSTMError);
      expect((err as LSTMError).argument).toBe(arg);
      expect(JSON.stringify(Object.values(m.stateDict()).map(data))).toBe(before);
    }
    m.loadStateDict(other);
    expect(data(m.stateDict()["fc.weight"])).toEqual(data(other["fc.weight"]));
    expect(() => new Sequential([new LSTM({ inputSize: 2, hiddenSize: 3 })], { names: ["a.b"] })).toThrow(LSTMError);
  });

  it("a layer's own backward() follows only its own training forward: after a model's training pass through it, it is refused; its own forward makes it work again", async () => {
    const emb = new Embedding({ numEmbeddings: 5, embeddingDim: 2, seed: 1 }), lstm = new LSTM({ inputSize: 2, hiddenSize: 3, seed: 2 });
    const fc = new Linear({ inputSize: 3, outputSize: 2, seed: 3 });
    const m = new Sequential([emb, lstm, fc]);
    const x = [[1, 2, 3], [4, 0, 1]], y = [0, 1];
    // Before the model trains: each layer's own training forward and backward work.
    lstm.forward([[[0.1, 0.2]]], { train: true });
    const dx0 = lstm.backward({ dy: [[[1, 1, 1]]] }).dx;
    await m.fit(x, y, { loss: "crossEntropy", epochs: 1, batchSize: 2, optimizer: new SGD({ lr: 0.1 }) });
    for (const [layer, call] of [[emb, () => emb.backward([[1, 1]])], [lstm, () => lstm.backward()], [fc, () => fc.backward([[1, 1]])]] as const) {
      let err: unknown = null;
      try { call(); } catch (e) { err = e; }
      expect(err, layer.constructor.name).toBeInstanceOf(LSTMError);
      expect((err as LSTMError).argument).toBe("backward");
      expect((err as LSTMError).received).toMatch(/model's training pass/);
    }
    // predict (an inference pass) leaves no training pass to run backward on either.
    m.predict(x);
    expect(() => lstm.backward()).toThrow(/no training forward/);
    // The layer's own training forward again: backward gives dx of that input's shape, under the trained weights.
    lstm.forward([[[0.1, 0.2]]], { train: true });
    const dx1 = lstm.backward({ dy: [[[1, 1, 1]]] }).dx;
    expect(dx1.shape).toEqual([1, 1, 2]);
    expect(data(dx1)).not.toEqual(data(dx0));
    m.dispose();
  });

  it("step() through a whole model equals predict on the sequence so far; ids are validated naming the position", () => {
    const m = new Sequential([new Embedding({ numEmbeddings: 6, embeddingDim: 3, seed: 1 }), new LSTM({ inputSize: 3, hiddenSize: 4, numLayers: 2, returnSequences: true, seed: 2 }), new LSTM({ inputSize: 4, hiddenSize: 3, seed: 3 }), new Linear({ inputSize: 3, outputSize: 2, activation: "softmax", seed: 4 })]);
    const seqs = [[1, 4, 2, 5], [3, 3, 0, 1]];
    const state = m.initialState(2);
    for (let t = 0; t < 4; t++) {
      const out = m.step(seqs.map((s) => s[t]), state);
      expectClose(`step ${t}`, out.data, m.predict(seqs.map((s) => s.slice(0, t + 1))).data, { atol: 1e-6, rtol: 1e-5 });
    }
    let err: unknown = null;
    try { m.predict([[1, 2], [3, 6]]); } catch (e) { err = e; }
    expect((err as LSTMError).argument).toBe("x[1][1]");
    expect(() => m.predict([[1, 2.5]])).toThrow(LSTMError);
    const bi = new Sequential([new LSTM({ inputSize: 2, hiddenSize: 2, bidirectional: true })]);
    expect(() => bi.initialState(1)).toThrow(LSTMError);
  });

  it("metrics: ['accuracy'] equals the accuracy of predict; earlyStopping stops after patience epochs without improvement and restores the best weights", async () => {
    const rng = mulberry32(21), N = 20, T = 3;
    const x = ids(rng, N, T, 6), y = x.map((r) => (r[0] > 3 ? 1 : 0));
    const m = new Sequential([new Embedding({ numEmbeddings: 6, embeddingDim: 3, seed: 1 }), new LSTM({ inputSize: 3, hiddenSize: 4, seed: 2 }), new Linear({ inputSize: 4, outputSize: 2, seed: 3 })]);
    const h = await m.fit(x, y, { loss: "crossEntropy", metrics: ["accuracy"], epochs: 1, batchSize: N, shuffle: false, optimizer: new SGD({ lr: 1e-30 }) });
    const p = m.predict(x).data;
    const acc = y.filter((c, n) => (p[2 * n + 1] > p[2 * n] ? 1 : 0) === c).length / N;
    expect(h.accuracy[0]).toBeCloseTo(acc, 10);
    // A learning rate so large that the validation loss gets worse: patience 1 stops after two bad epochs.
    const weights: string[] = [];
    const h2 = await m.fit(x, y, { loss: "crossEntropy", epochs: 20, batchSize: 4, validationSplit: 0.25, seed: 1, optimizer: new SGD({ lr: 40 }),
      earlyStopping: { patience: 1, restoreBest: true }, onEpochEnd: () => { weights.push(JSON.stringify(data(m.stateDict()["2.weight"]))); } });
    expect(h2.stoppedEarly).toBe(true);
    expect(h2.loss.length).toBeLessThan(20);
    const best = h2.bestEpoch!;
    expect(h2.valLoss[best]).toBe(Math.min(...h2.valLoss));
    expect(JSON.stringify(data(m.stateDict()["2.weight"]))).toBe(weights[best]);
    await expect(m.fit(x, y, { loss: "crossEntropy", optimizer: new SGD({ lr: 1 }), earlyStopping: { patience: 1 } })).rejects.toThrow(LSTMError);
    await expect(m.fit(x, y, { loss: "mse" as any, optimizer: new SGD({ lr: 1 }), metrics: ["accuracy"] })).rejects.toThrow(LSTMError);
  });

  it("save() and Sequential.load() round-trip every layer type and option bit for bit", () => {
    const m = new Sequential([
      new Embedding({ numEmbeddings: 9, embeddingDim: 4, paddingIdx: 0, maskZero: true, seed: 1 }),
      new LSTM({ inputSize: 4, hiddenSize: 5, numLayers: 2, dropout: 0.2, recurrentActivation: "hardSigmoid", bias: false, returnSequences: true, seed: 2 }),
      new LSTM({ inputSize: 5, hiddenSize: 3, bidirectional: true, projSize: 2, peephole: true, seed: 3 }),
      new Dropout({ p: 0.3 }),
      new Linear({ inputSize: 4, outputSize: 3, activation: "softmax", seed: 4 }),
    ], { names: ["e", "l1", "l2", "d", "fc"] });
    const back = Sequential.load(m.save());
    expect(back.names).toEqual(m.names);
    expect(back.layers.map((l) => (l as { config: object }).config)).toEqual(m.layers.map((l) => (l as { config: object }).config));
    const x = [[1, 2, 0, 4], [0, 0, 8, 3]];
    expectBits("predict", back.predict(x).data, m.predict(x).data);
    expect(Array.from(back.save())).toEqual(Array.from(m.save()));
  });
});
