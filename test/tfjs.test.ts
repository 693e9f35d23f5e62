// Sequential.fromTfjs and toTfjs against real TensorFlow.js 4.22 (CPU backend): models built in
// TF.js with seeded weights, saved by TF.js itself (model.save) or written as tensorflowjs_converter
// writes a Keras model, read here and compared with TF.js's predictions to 1e-5; our models
// exported and loaded by tf.loadLayersModel, which must predict what we predict. Hostile files are
// in tfjs_hostile.test.ts.
import { describe, it, expect, expectTypeOf, beforeAll } from "vitest";
import { readFileSync, existsSync } from "node:fs";
import * as tf from "@tensorflow/tfjs";
import { init, detectBackend, Sequential, Embedding, LSTM, Linear, Dropout, LSTMError, Adam, type TfjsExport, type TfjsOrigin, type ToTfjsOptions, type TfjsWeightData } from "../src/index";
import { expectClose } from "./helpers/close";
import { BUILDS, use } from "./helpers/backends";
import { rng, seedWeights, features, tfPredict, savedByTfjs, loadInTfjs, keras, converterFiles } from "./helpers/tfjs";

const TOL = { atol: 1e-5, rtol: 0 };

beforeAll(async () => {
  await init();
  await tf.setBackend("cpu");
});

/** TF.js's own save of `m`, read by fromTfjs, predicting what `m` predicts on x. */
async function roundTrip(label: string, m: tf.LayersModel, x: number[][] | number[][][]): Promise<Sequential> {
  const { modelJson, weightData } = await savedByTfjs(m);
  const ours = Sequential.fromTfjs(modelJson, weightData);
  expectClose(label, ours.predict(x).data, tfPredict(m, x), TOL);
  // The same file as text, and as a Uint8Array view at an odd offset: the same model.
  const padded = new Uint8Array(weightData.byteLength + 3);
  padded.set(new Uint8Array(weightData), 3);
  const again = Sequential.fromTfjs(JSON.stringify(modelJson), padded.subarray(3));
  expect(Array.from(again.predict(x).data)).toEqual(Array.from(ours.predict(x).data));
  again.dispose();
  return ours;
}

// Ids [N,T] with pre-padding (Keras pad_sequences' default), post-padding, gaps of zeros, and nothing but padding.
const PADDED_IDS = [[0, 0, 0, 4, 7, 2, 9], [3, 8, 1, 5, 0, 0, 0], [6, 2, 0, 0, 3, 1, 4], [1, 2, 3, 4, 5, 6, 7], [0, 9, 0, 8, 0, 7, 0], [0, 0, 0, 0, 0, 0, 0]];

describe("fromTfjs reads what TF.js's model.save() writes, and predicts what TF.js predicts", () => {
  it("Embedding → LSTM (TF.js's default hardSigmoid) → Dropout → Dense softmax", async () => {
    const m = tf.sequential();
    m.add(tf.layers.embedding({ inputDim: 12, outputDim: 6, inputLength: 7 }));
    m.add(tf.layers.lstm({ units: 8 }));
    m.add(tf.layers.dropout({ rate: 0.3 }));
    m.add(tf.layers.dense({ units: 4, activation: "softmax" }));
    seedWeights(m, 1);
    const x = Array.from({ length: 5 }, (_, n) => Array.from({ length: 7 }, (_, t) => (n * 7 + t * 5) % 12));
    const ours = await roundTrip("embedding-lstm-softmax", m, x);
    const lstm = ours.layers[1] as LSTM;
    expect(lstm.config).toMatchObject({ inputSize: 6, hiddenSize: 8, recurrentActivation: "hardSigmoid", returnSequences: false, bias: true });
    expect((ours.layers[2] as Dropout).config.p).toBe(0.3);
    expect((ours.layers[3] as Linear).config.activation).toBe("softmax");
    expect(ours.names).toEqual(m.layers.map((l) => l.name));
    ours.dispose();
  });

  it("a sigmoid LSTM for regression on features (TF.js's tf.layers.lstm with recurrentActivation 'sigmoid')", async () => {
    const m = tf.sequential();
    m.add(tf.layers.lstm({ units: 6, recurrentActivation: "sigmoid", inputShape: [9, 3] }));
    m.add(tf.layers.dense({ units: 1 }));
    seedWeights(m, 2);
    const x = features(4, 9, 3, 20).nested;
    const ours = await roundTrip("sigmoid-regression", m, x);
    expect((ours.layers[0] as LSTM).config.recurrentActivation).toBe("sigmoid");
    expect((ours.layers[1] as Linear).config.activation).toBe(null);
    ours.dispose();
  });

  it("two stacked LSTMs, Dense relu, Dense tanh", async () => {
    const m = tf.sequential();
    m.add(tf.layers.lstm({ units: 7, returnSequences: true, inputShape: [6, 4] }));
    m.add(tf.layers.lstm({ units: 5 }));
    m.add(tf.layers.dense({ units: 6, activation: "relu" }));
    m.add(tf.layers.dense({ units: 3, activation: "tanh" }));
    seedWeights(m, 3);
    (await roundTrip("stacked", m, features(3, 6, 4, 30).nested)).dispose();
  });

  for (const returnSequences of [true, false]) {
    it(`Bidirectional(LSTM, concat) ${returnSequences ? "with every step (then a Dense per step)" : "with the last step"}`, async () => {
      const m = tf.sequential();
      m.add(tf.layers.bidirectional({ layer: tf.layers.lstm({ units: 4, returnSequences }) as tf.RNN, mergeMode: "concat", inputShape: [5, 3] }));
      m.add(tf.layers.dense({ units: 2, activation: "sigmoid" }));
      seedWeights(m, 4);
      const ours = await roundTrip(`bidirectional rs=${returnSequences}`, m, features(3, 5, 3, 40).nested);
      expect((ours.layers[0] as LSTM).config).toMatchObject({ bidirectional: true, hiddenSize: 4, returnSequences });
      ours.dispose();
    });
  }

  for (const returnSequences of [true, false]) {
    it(`useBias: false with goBackwards (returnSequences ${returnSequences}: TF.js's processing order)`, async () => {
      const m = tf.sequential();
      m.add(tf.layers.lstm({ units: 5, useBias: false, goBackwards: true, returnSequences, inputShape: [6, 2] }));
      if (returnSequences) m.add(tf.layers.lstm({ units: 3, returnSequences: true }));
      m.add(tf.layers.dense({ units: 2 }));
      seedWeights(m, 5);
      const ours = await roundTrip(`goBackwards rs=${returnSequences}`, m, features(3, 6, 2, 50).nested);
      expect((ours.layers[0] as LSTM).config).toMatchObject({ bias: false, goBackwards: true });
      expect(Object.keys(ours.stateDict()).filter((k) => k.startsWith(`${ours.names[0]}.bias`))).toEqual([]);
      ours.dispose();
    });
  }

  it("maskZero with pre- and post-padded rows and a gap: masked steps carry state and output, through every LSTM", async () => {
    const m = tf.sequential();
    m.add(tf.layers.embedding({ inputDim: 10, outputDim: 4, maskZero: true }));
    m.add(tf.layers.lstm({ units: 5, returnSequences: true }));
    m.add(tf.layers.bidirectional({ layer: tf.layers.lstm({ units: 3, returnSequences: true }) as tf.RNN }));
    m.add(tf.layers.lstm({ units: 4, goBackwards: true }));
    m.add(tf.layers.dense({ units: 3, activation: "softmax" }));
    seedWeights(m, 6);
    const ours = await roundTrip("mask", m, PADDED_IDS);
    expect((ours.layers[0] as Embedding).config.maskZero).toBe(true);
    ours.dispose();
    const seqs = tf.sequential();
    seqs.add(tf.layers.embedding({ inputDim: 10, outputDim: 3, maskZero: true }));
    seqs.add(tf.layers.lstm({ units: 4, returnSequences: true, recurrentActivation: "sigmoid" }));
    seedWeights(seqs, 7);
    (await roundTrip("mask, every step", seqs, PADDED_IDS)).dispose();
  });
});

describe("fromTfjs also takes what tf.io hands a save handler", () => {
  it("a ModelArtifacts object (weightSpecs, and its own weightData left unread) with its bytes", async () => {
    const m = tf.sequential();
    m.add(tf.layers.lstm({ units: 3, inputShape: [4, 2], returnSequences: true }));
    m.add(tf.layers.dense({ units: 2, activation: "relu" }));
    seedWeights(m, 15);
    let art: tf.io.ModelArtifacts | null = null;
    await m.save(tf.io.withSaveHandler(async (a) => { art = a; return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: "JSON" } }; }));
    const a = art as unknown as tf.io.ModelArtifacts;
    const withGetter = Object.defineProperty({ ...a }, "userDefinedMetadata", { get: () => { throw new Error("never read"); }, enumerable: true });
    const ours = Sequential.fromTfjs(withGetter, a.weightData as ArrayBuffer);
    const x = features(2, 4, 2, 150).nested;
    expectClose("artifacts", ours.predict(x).data, tfPredict(m, x), TOL);
    ours.dispose();
  });
});

describe("fromTfjs reads what tensorflowjs_converter writes from Keras", () => {
  // The model TF.js predicts with, its layers named as Keras names them.
  async function kerasLike() {
    const m = tf.sequential({ name: "sequential" });
    m.add(tf.layers.embedding({ name: "embedding", inputDim: 11, outputDim: 5, maskZero: true, inputShape: [7] }));
    m.add(tf.layers.lstm({ name: "lstm", units: 6, recurrentActivation: "sigmoid", returnSequences: true }));
    m.add(tf.layers.bidirectional({ name: "bidirectional", layer: tf.layers.lstm({ name: "lstm_1", units: 3, recurrentActivation: "sigmoid" }) as tf.RNN }));
    m.add(tf.layers.dropout({ name: "dropout", rate: 0.25 }));
    m.add(tf.layers.dense({ name: "dense", units: 4, activation: "softmax" }));
    seedWeights(m, 8);
    const [emb, lstm, bi, , dense] = m.layers.map((l) => l.getWeights());
    const named: Record<string, tf.Tensor> = {
      "embedding/embeddings": emb[0],
      "lstm/lstm_cell/kernel": lstm[0], "lstm/lstm_cell/recurrent_kernel": lstm[1], "lstm/lstm_cell/bias": lstm[2],
      "bidirectional/forward_lstm_1/lstm_cell/kernel": bi[0], "bidirectional/forward_lstm_1/lstm_cell/recurrent_kernel": bi[1], "bidirectional/forward_lstm_1/lstm_cell/bias": bi[2],
      "bidirectional/backward_lstm_1/lstm_cell/kernel": bi[3], "bidirectional/backward_lstm_1/lstm_cell/recurrent_kernel": bi[4], "bidirectional/backward_lstm_1/lstm_cell/bias": bi[5],
      "dense/kernel": dense[0], "dense/bias": dense[1],
    };
    const layers = [keras.input("embedding_input", [null, 7], "float32"), keras.embedding("embedding", 11, 5, true),
      { class_name: "LSTM", config: keras.lstmConfig("lstm", 6, { returnSequences: true, dropout: 0.1, recurrentDropout: 0.2 }) },
      { class_name: "Bidirectional", config: { name: "bidirectional", trainable: true, dtype: "float32", layer: { class_name: "LSTM", config: keras.lstmConfig("lstm_1", 3) }, merge_mode: "concat" } },
      keras.dropout("dropout", 0.25), keras.dense("dense", 4, "softmax")];
    return { m, ...converterFiles(layers, named, 4 * 11 * 5 + 123) };
  }

  it("model_config wrapping, snake_case settings, Keras names (lstm/lstm_cell/kernel) sorted and split over 2 shards; TF.js itself agrees", async () => {
    const { m, modelJson, shards } = await kerasLike();
    const want = tfPredict(m, PADDED_IDS);
    // The hand-built file is one TF.js reads as it reads a converter's: it predicts the same.
    expectClose("TF.js on the converter-style file", tfPredict(await loadInTfjs(modelJson, shards.map((s) => s.slice().buffer)), PADDED_IDS), want, TOL);
    const ours = Sequential.fromTfjs(modelJson, shards);
    expect(ours.names).toEqual(["embedding", "lstm", "bidirectional", "dropout", "dense"]);
    expectClose("converter-style", ours.predict(PADDED_IDS).data, want, TOL);
    // The shards joined, or cut anywhere else, are the same bytes.
    const all = new Uint8Array(shards[0].length + shards[1].length);
    all.set(shards[0]); all.set(shards[1], shards[0].length);
    for (const parts of [[all], [all.subarray(0, 1), all.subarray(1, 5), all.subarray(5)], [all.buffer]]) {
      const again = Sequential.fromTfjs(modelJson, parts as Uint8Array[]);
      expect(Array.from(again.predict(PADDED_IDS).data)).toEqual(Array.from(ours.predict(PADDED_IDS).data));
      again.dispose();
    }
    // Training-only settings are kept in the model's origin record, with the file's keys.
    expect(ours.tfjsOrigin?.modelName).toBe("sequential");
    expect(ours.tfjsOrigin?.layers.map((l) => [l.name, l.className, { ...l.trainingOnly }])).toEqual([
      ["embedding", "Embedding", {}], ["lstm", "LSTM", { dropout: 0.1, recurrent_dropout: 0.2 }], ["bidirectional", "Bidirectional", {}],
      ["dropout", "Dropout", {}], ["dense", "Dense", {}]]);
    ours.dispose();
  });

  it("settings left out take TF.js's defaults (recurrent_activation hard_sigmoid, activation tanh, use_bias, merge_mode concat), camelCase keys read as TF.js reads them", async () => {
    const m = tf.sequential();
    m.add(tf.layers.bidirectional({ layer: tf.layers.lstm({ units: 3, returnSequences: true }) as tf.RNN, inputShape: [4, 2] }));
    m.add(tf.layers.lstm({ units: 4 }));
    m.add(tf.layers.dense({ units: 2 }));
    seedWeights(m, 13);
    const { modelJson, weightData } = await savedByTfjs(m);
    const layers = (modelJson.modelTopology as { config: { layers: { config: Record<string, unknown> }[] } }).config.layers;
    const inner = layers[0].config.layer as { config: Record<string, unknown> };
    for (const c of [inner.config, layers[1].config]) for (const k of ["recurrent_activation", "activation", "use_bias", "return_state", "unit_forget_bias"]) delete c[k];
    delete layers[0].config.merge_mode;
    delete layers[2].config.activation;
    layers[1].config.returnSequences = layers[1].config.return_sequences; // TF.js camelCases every key: both spellings name one setting
    delete layers[1].config.return_sequences;
    layers[1].config.recurrentDropout = 0.3;
    delete layers[1].config.recurrent_dropout;
    const x = features(2, 4, 2, 130).nested;
    const want = tfPredict(await loadInTfjs(modelJson, weightData), x);
    expectClose("TF.js still predicts the same", want, tfPredict(m, x), TOL);
    const ours = Sequential.fromTfjs(modelJson, weightData);
    expectClose("defaults", ours.predict(x).data, want, TOL);
    expect((ours.layers[1] as LSTM).config.recurrentActivation).toBe("hardSigmoid");
    expect(ours.tfjsOrigin?.layers[1].trainingOnly).toEqual({ recurrent_dropout: 0.3 }); // kept under Keras's spelling
    ours.dispose();
  });

  it("a Dropout first passes the input width on; a Dense before an LSTM applies per step; the origin record is read-only", async () => {
    const m = tf.sequential();
    m.add(tf.layers.dropout({ rate: 0.1, inputShape: [5, 3] }));
    m.add(tf.layers.dense({ units: 4, activation: "tanh" }));
    m.add(tf.layers.lstm({ units: 3, recurrentDropout: 0.2, kernelRegularizer: tf.regularizers.l2({ l2: 0.01 }) }));
    seedWeights(m, 14);
    const ours = await roundTrip("dropout first", m, features(3, 5, 3, 140).nested);
    const origin = ours.tfjsOrigin!;
    expect(origin.layers[2].trainingOnly).toMatchObject({ recurrent_dropout: 0.2, kernel_regularizer: { class_name: "L1L2" } });
    expect(Object.isFrozen(origin) && Object.isFrozen(origin.layers[2].trainingOnly)).toBe(true);
    const out = ours.toTfjs();
    const lstmCfg = (out.modelJson.modelTopology.config.layers[2] as { config: Record<string, unknown> }).config;
    expect([lstmCfg.recurrent_dropout, lstmCfg.dropout]).toEqual([0.2, 0]);
    const x = features(3, 5, 3, 141).nested;
    expectClose("dropout first, exported", tfPredict(await loadInTfjs(out.modelJson, out.weightData), x), ours.predict(x).data, TOL);
    ours.dispose();
  });

  it("an old Keras config that is a bare list of layers, and ':0' suffixes on weight names", () => {
    const r = rng(9), t = (...shape: number[]) => tf.tensor(Float32Array.from({ length: shape.reduce((a, b) => a * b) }, () => 2 * r() - 1), shape);
    const named = { "lstm_1/kernel:0": t(3, 8), "lstm_1/recurrent_kernel:0": t(2, 8), "lstm_1/bias:0": t(8), "dense_1/kernel:0": t(2, 1), "dense_1/bias:0": t(1) };
    const layers = [{ class_name: "LSTM", config: { ...keras.lstmConfig("lstm_1", 2), batch_input_shape: [null, 4, 3] } }, keras.dense("dense_1", 1, "linear")];
    const { modelJson, shards } = converterFiles(layers, named, 40);
    const topo = modelJson.modelTopology as { model_config: { config: unknown } };
    topo.model_config.config = layers;
    const ours = Sequential.fromTfjs(modelJson, shards);
    const m = tf.sequential();
    m.add(tf.layers.lstm({ units: 2, recurrentActivation: "sigmoid", inputShape: [4, 3] }));
    m.add(tf.layers.dense({ units: 1 }));
    m.layers[0].setWeights([named["lstm_1/kernel:0"], named["lstm_1/recurrent_kernel:0"], named["lstm_1/bias:0"]]);
    m.layers[1].setWeights([named["dense_1/kernel:0"], named["dense_1/bias:0"]]);
    const x = features(2, 4, 3, 90).nested;
    expectClose("bare list", ours.predict(x).data, tfPredict(m, x), TOL);
    ours.dispose();
  });
});

describe("toTfjs writes a model tf.loadLayersModel reads and predicts the same with", () => {
  it("Embedding → a 2-layer LSTM (with PyTorch dropout between) → Linear softmax becomes two TF.js LSTM layers", async () => {
    const model = new Sequential([
      new Embedding({ numEmbeddings: 15, embeddingDim: 6, seed: 1 }),
      new LSTM({ inputSize: 6, hiddenSize: 7, numLayers: 2, dropout: 0.2, seed: 2 }),
      new Linear({ inputSize: 7, outputSize: 4, activation: "softmax", seed: 3 }),
    ], { names: ["embed", "lstm", "fc"] });
    const x = Array.from({ length: 4 }, (_, n) => Array.from({ length: 9 }, (_, t) => (n * 9 + t * 4 + 1) % 15));
    const { modelJson, weightData } = model.toTfjs();
    expect(modelJson.weightsManifest.length).toBe(1);
    expect(modelJson.weightsManifest[0].paths).toEqual(["weights.bin"]);
    const m = await loadInTfjs(modelJson, weightData);
    expect(m.layers.map((l) => l.getClassName())).toEqual(["Embedding", "LSTM", "Dropout", "LSTM", "Dense"]);
    expectClose("export 2-layer", tfPredict(m, x), model.predict(x).data, TOL);
    // tf.io.fromMemory takes the same pieces as ModelArtifacts.
    const mem = await tf.loadLayersModel(tf.io.fromMemory({ modelTopology: modelJson.modelTopology as unknown as object, weightSpecs: modelJson.weightsManifest[0].weights, weightData: weightData.buffer as ArrayBuffer }));
    expectClose("export via fromMemory", tfPredict(mem, x), model.predict(x).data, TOL);
    // And back: the exported file reads as the same model.
    const back = Sequential.fromTfjs(modelJson, weightData);
    expectClose("re-import", back.predict(x).data, model.predict(x).data, TOL);
    back.dispose();
    model.dispose();
  });

  it("bidirectional stacks, hardSigmoid, bias: false, goBackwards, masking, Dropout and every Linear activation", async () => {
    const model = new Sequential([
      new Embedding({ numEmbeddings: 10, embeddingDim: 4, maskZero: true, paddingIdx: 0, seed: 4 }),
      new LSTM({ inputSize: 4, hiddenSize: 5, numLayers: 2, bidirectional: true, recurrentActivation: "hardSigmoid", returnSequences: true, seed: 5 }),
      new Dropout({ p: 0.1 }),
      new LSTM({ inputSize: 10, hiddenSize: 3, bias: false, goBackwards: true, returnSequences: true, seed: 6 }),
      new Linear({ inputSize: 3, outputSize: 4, activation: "relu", seed: 7 }),
      new Linear({ inputSize: 4, outputSize: 3, activation: "tanh", bias: false, seed: 8 }),
    ]);
    const { modelJson, weightData } = model.toTfjs({ weightsPath: "group1-shard1of1.bin", modelName: "mine" });
    const m = await loadInTfjs(modelJson, weightData);
    expectClose("export mixed", tfPredict(m, PADDED_IDS), model.predict(PADDED_IDS).data, TOL);
    model.dispose();
  });

  it("a one-layer reverse LSTM without returnSequences exports as go_backwards; what TF.js cannot compute is refused, naming the setting", async () => {
    const rev = new Sequential([new LSTM({ inputSize: 3, hiddenSize: 4, reverse: true, seed: 9 }), new Linear({ inputSize: 4, outputSize: 2, activation: "sigmoid", seed: 1 })]);
    const x = features(3, 5, 3, 70);
    const { modelJson, weightData } = rev.toTfjs();
    expectClose("reverse as go_backwards", tfPredict(await loadInTfjs(modelJson, weightData), x.nested), rev.predict(x.tensor).data, TOL);
    rev.dispose();
    const refused: [() => LSTM, string][] = [
      [() => new LSTM({ inputSize: 3, hiddenSize: 4, projSize: 2 }), "model.layers[0].config.projSize"],
      [() => new LSTM({ inputSize: 3, hiddenSize: 4, peephole: true }), "model.layers[0].config.peephole"],
      [() => new LSTM({ inputSize: 3, hiddenSize: 4, reverse: true, returnSequences: true }), "model.layers[0].config.reverse"],
      [() => new LSTM({ inputSize: 3, hiddenSize: 4, reverse: true, numLayers: 2 }), "model.layers[0].config.reverse"],
    ];
    for (const [make, arg] of refused) {
      const m = new Sequential([make()]);
      expect(() => m.toTfjs()).toThrow(LSTMError);
      try { m.toTfjs(); } catch (e) { expect((e as LSTMError).argument).toBe(arg); }
      m.dispose();
    }
  });
});

describe("the migration story", () => {
  it("a model trained in TF.js is read here, predicts the same, and training continues with fit (the loss falls)", async () => {
    const r = rng(11);
    const N = 48, T = 8, V = 9;
    const ids = Array.from({ length: N }, () => Array.from({ length: T }, () => 1 + Math.floor(r() * (V - 1))));
    const labels = ids.map((row) => (row.filter((v) => v > 4).length > T / 2 ? 1 : 0));
    const m = tf.sequential();
    m.add(tf.layers.embedding({ inputDim: V, outputDim: 6, inputLength: T }));
    m.add(tf.layers.lstm({ units: 12, recurrentActivation: "sigmoid", dropout: 0.1 }));
    m.add(tf.layers.dense({ units: 2, activation: "softmax" }));
    seedWeights(m, 12, 0.3);
    m.compile({ optimizer: tf.train.adam(0.01), loss: "sparseCategoricalCrossentropy" });
    await m.fit(tf.tensor(ids), tf.tensor(labels), { epochs: 2, batchSize: 16, verbose: 0, shuffle: false });
    const { modelJson, weightData } = await savedByTfjs(m);
    const model = Sequential.fromTfjs(modelJson, weightData);
    expectClose("after TF.js training", model.predict(ids).data, tfPredict(m, ids), TOL);
    expect(model.tfjsOrigin?.layers[1].trainingOnly).toEqual({ dropout: 0.1 });
    const before = model.evaluate(ids, Int32Array.from(labels), { loss: "crossEntropy" });
    const h = await model.fit(ids, Int32Array.from(labels), { epochs: 8, batchSize: 16, loss: "crossEntropy", optimizer: new Adam({ lr: 0.02 }), seed: 1 });
    const after = model.evaluate(ids, Int32Array.from(labels), { loss: "crossEntropy" });
    expect(after).toBeLessThan(before * 0.8);
    expect(h.loss[h.loss.length - 1]).toBeLessThan(h.loss[0]);
    // And back to TF.js, trained further here: TF.js predicts what we do, with the kept dropout written back.
    const out = model.toTfjs();
    const lstmCfg = (out.modelJson.modelTopology.config.layers[1] as { config: Record<string, unknown> }).config;
    expect(lstmCfg.dropout).toBe(0.1);
    expectClose("back in TF.js", tfPredict(await loadInTfjs(out.modelJson, out.weightData), ids), model.predict(ids).data, TOL);
    model.dispose();
  });
});

describe("on every build", () => {
  it("a TF.js model (mask, bidirectional, hardSigmoid, goBackwards) predicts the same to 1e-5 on the scalar, simd and relaxed-simd builds", async () => {
    const m = tf.sequential();
    m.add(tf.layers.embedding({ inputDim: 10, outputDim: 5, maskZero: true }));
    m.add(tf.layers.bidirectional({ layer: tf.layers.lstm({ units: 6, returnSequences: true }) as tf.RNN }));
    m.add(tf.layers.lstm({ units: 5, goBackwards: true, recurrentActivation: "sigmoid" }));
    m.add(tf.layers.dense({ units: 3, activation: "softmax" }));
    seedWeights(m, 16);
    const { modelJson, weightData } = await savedByTfjs(m);
    const want = tfPredict(m, PADDED_IDS);
    try {
      for (const b of BUILDS) {
        await use(b);
        const ours = Sequential.fromTfjs(modelJson, weightData);
        expect(ours.be.name).toBe(b);
        expectClose(`build ${b}`, ours.predict(PADDED_IDS).data, want, TOL);
        ours.dispose();
      }
    } finally {
      await use(detectBackend());
    }
  });
});

describe("the API's types", () => {
  it("fromTfjs(object | text, bytes) → Sequential; toTfjs(options?) → { modelJson, weightData: Uint8Array }; tfjsOrigin", () => {
    expectTypeOf(Sequential.fromTfjs).parameters.toEqualTypeOf<[object | string, TfjsWeightData]>();
    expectTypeOf(Sequential.fromTfjs).returns.toEqualTypeOf<Sequential>();
    expectTypeOf<Sequential["toTfjs"]>().parameters.toEqualTypeOf<[ToTfjsOptions?]>();
    expectTypeOf<ReturnType<Sequential["toTfjs"]>>().toEqualTypeOf<TfjsExport>();
    expectTypeOf<TfjsExport["weightData"]>().toEqualTypeOf<Uint8Array>();
    expectTypeOf<Sequential["tfjsOrigin"]>().toEqualTypeOf<TfjsOrigin | null>();
  });
});

describe("packaging", () => {
  it("@tensorflow/tfjs is a devDependency only, and the bundle does not import it", () => {
    const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as Record<string, Record<string, string> | undefined>;
    expect(pkg.devDependencies?.["@tensorflow/tfjs"]).toBe("4.22.0");
    expect(pkg.dependencies?.["@tensorflow/tfjs"]).toBeUndefined();
    expect(pkg.peerDependencies?.["@tensorflow/tfjs"]).toBeUndefined();
    const dist = new URL("../dist/index.js", import.meta.url);
    if (existsSync(dist)) expect(readFileSync(dist, "utf8")).not.toMatch(/@tensorflow/);
  });
});
