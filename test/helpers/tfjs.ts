// Real TensorFlow.js (the pure-JS CPU backend) on the other side of Sequential.fromTfjs/toTfjs:
// seeded weights, model.json files written as TF.js's own model.save() and as tensorflowjs_converter
// writes them from Keras, and our exports loaded back through tf.loadLayersModel.
import * as tf from "@tensorflow/tfjs";

/** mulberry32: a seeded uniform [0, 1) generator (helpers/ref.ts). */
export { mulberry32 as rng } from "./ref";
import { mulberry32 as rng } from "./ref";

/** Every weight of the model set from a seeded U(−scale, scale). */
export function seedWeights(m: tf.LayersModel, seed: number, scale = 0.8): void {
  const r = rng(seed);
  for (const l of m.layers) l.setWeights(l.getWeights().map((w) => tf.tensor(Float32Array.from({ length: w.size }, () => (2 * r() - 1) * scale), w.shape)));
}

/** Features [N,T,I] from a seed, as nested arrays and as our tensor. */
export function features(N: number, T: number, I: number, seed: number): { nested: number[][][]; tensor: { data: Float32Array; shape: number[] } } {
  const r = rng(seed), data = Float32Array.from({ length: N * T * I }, () => 2 * r() - 1);
  const nested = Array.from({ length: N }, (_, n) => Array.from({ length: T }, (_, t) => Array.from(data.subarray((n * T + t) * I, (n * T + t + 1) * I))));
  return { nested, tensor: { data, shape: [N, T, I] } };
}

/** TF.js's predictions as a flat array. */
export function tfPredict(m: tf.LayersModel, x: number[][] | number[][][]): Float32Array {
  return tf.tidy(() => (m.predict(tf.tensor(x)) as tf.Tensor).dataSync() as Float32Array);
}

const joined = (w: ArrayBuffer | ArrayBuffer[]) => (Array.isArray(w) ? tf.io.concatenateArrayBuffers(w) : w);

/** What model.save() writes to disk through tf.io's file handlers: model.json (parsed) and the weights file. */
export async function savedByTfjs(m: tf.LayersModel): Promise<{ modelJson: Record<string, unknown>; weightData: ArrayBuffer }> {
  let art: tf.io.ModelArtifacts | null = null;
  await m.save(tf.io.withSaveHandler(async (a) => { art = a; return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: "JSON" } }; }));
  const a = art as unknown as tf.io.ModelArtifacts;
  const modelJson = { modelTopology: a.modelTopology, format: a.format, generatedBy: a.generatedBy, convertedBy: a.convertedBy ?? null,
    weightsManifest: [{ paths: ["./model.weights.bin"], weights: a.weightSpecs }] };
  return { modelJson: JSON.parse(JSON.stringify(modelJson)), weightData: joined(a.weightData as ArrayBuffer | ArrayBuffer[]) };
}

/** A model.json + weight bytes loaded by tf.loadLayersModel, the way tf.io's http/file loaders do (getModelArtifactsForJSON). */
export function loadInTfjs(modelJson: unknown, weightData: Uint8Array | ArrayBuffer | ArrayBuffer[]): Promise<tf.LayersModel> {
  const bytes = weightData instanceof Uint8Array ? weightData.slice().buffer : joined(weightData);
  return tf.loadLayersModel({
    load: () => tf.io.getModelArtifactsForJSON(JSON.parse(JSON.stringify(modelJson)) as tf.io.ModelJSON,
      async (manifest) => [manifest.flatMap((g) => g.weights), bytes]),
  });
}

/** A Keras layer as Keras 2.15's get_config() writes it into a tensorflowjs_converter model.json. */
export type KerasLayer = { class_name: string; config: Record<string, unknown> };
const init = (cls: string) => ({ class_name: cls, config: cls === "GlorotUniform" || cls === "Orthogonal" ? { seed: null, ...(cls === "Orthogonal" ? { gain: 1.0 } : {}) } : {} });
export const keras = {
  input: (name: string, shape: (number | null)[], dtype: string): KerasLayer =>
    ({ class_name: "InputLayer", config: { batch_input_shape: shape, dtype, sparse: false, ragged: false, name } }),
  embedding: (name: string, V: number, E: number, maskZero: boolean): KerasLayer => ({ class_name: "Embedding", config: {
    name, trainable: true, dtype: "float32", batch_input_shape: [null, null], input_dim: V, output_dim: E,
    embeddings_initializer: { class_name: "RandomUniform", config: { minval: -0.05, maxval: 0.05, seed: null } },
    embeddings_regularizer: null, activity_regularizer: null, embeddings_constraint: null, mask_zero: maskZero, input_length: null } }),
  lstmConfig: (name: string, units: number, o: { returnSequences?: boolean; goBackwards?: boolean; useBias?: boolean; ract?: string; dropout?: number; recurrentDropout?: number } = {}) => ({
    name, trainable: true, dtype: "float32", return_sequences: o.returnSequences ?? false, return_state: false, go_backwards: o.goBackwards ?? false,
    stateful: false, unroll: false, time_major: false, units, activation: "tanh", recurrent_activation: o.ract ?? "sigmoid", use_bias: o.useBias ?? true,
    kernel_initializer: init("GlorotUniform"), recurrent_initializer: init("Orthogonal"), bias_initializer: init("Zeros"), unit_forget_bias: true,
    kernel_regularizer: null, recurrent_regularizer: null, bias_regularizer: null, activity_regularizer: null,
    kernel_constraint: null, recurrent_constraint: null, bias_constraint: null,
    dropout: o.dropout ?? 0.0, recurrent_dropout: o.recurrentDropout ?? 0.0, implementation: 2 }),
  dense: (name: string, units: number, activation: string): KerasLayer => ({ class_name: "Dense", config: {
    name, trainable: true, dtype: "float32", units, activation, use_bias: true, kernel_initializer: init("GlorotUniform"), bias_initializer: init("Zeros"),
    kernel_regularizer: null, bias_regularizer: null, activity_regularizer: null, kernel_constraint: null, bias_constraint: null } }),
  dropout: (name: string, rate: number): KerasLayer => ({ class_name: "Dropout", config: { name, trainable: true, dtype: "float32", rate, noise_shape: null, seed: null } }),
};

/**
 * A model.json as tensorflowjs_converter writes one from a Keras (TF 2.x) .h5: the model wrapped in
 * model_config, the weights under their Keras names sorted by name, packed in that order and split
 * into shards (here at `cut` bytes, mid-weight). `named` maps each Keras weight name to its values.
 */
export function converterFiles(layers: KerasLayer[], named: Record<string, tf.Tensor>, cut: number): { modelJson: Record<string, unknown>; shards: Uint8Array[] } {
  const names = Object.keys(named).sort();
  const datas = names.map((n) => named[n].dataSync() as Float32Array);
  const all = new Uint8Array(datas.reduce((s, d) => s + 4 * d.length, 0));
  let at = 0;
  for (const d of datas) { all.set(new Uint8Array(d.buffer, d.byteOffset, d.byteLength), at); at += d.byteLength; }
  const modelJson = {
    format: "layers-model", generatedBy: "keras v2.15.0", convertedBy: "TensorFlow.js Converter v4.22.0",
    modelTopology: {
      keras_version: "2.15.0", backend: "tensorflow",
      model_config: { class_name: "Sequential", config: { name: "sequential", layers } },
      training_config: { loss: "sparse_categorical_crossentropy", metrics: ["accuracy"], weighted_metrics: null, loss_weights: null,
        optimizer_config: { class_name: "Adam", config: { name: "Adam", learning_rate: 0.001 } } },
    },
    weightsManifest: [{ paths: ["group1-shard1of2.bin", "group1-shard2of2.bin"], weights: names.map((name) => ({ name, shape: named[name].shape, dtype: "float32" })) }],
  };
  return { modelJson, shards: [all.slice(0, cut), all.slice(cut)] };
}
