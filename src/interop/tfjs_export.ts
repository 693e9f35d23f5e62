// model.toTfjs(): a Sequential as a TF.js Layers model — the model.json object TF.js's own
// model.save() writes (modelTopology { class_name: "Sequential", config: { name, layers } } with
// snake_case settings, one weights group naming one file) and that file's bytes, which
// tf.loadLayersModel reads back. Weight names are TF.js's (`lstm/kernel`, `bi/forward_lstm/kernel`),
// which is how TF.js matches them to its layers.
//
// An LSTM of L layers becomes L TF.js layers (Bidirectional ones when bidirectional), with Dropout
// layers between them for its PyTorch-style `dropout`. What TF.js's LSTM cannot compute is refused:
// projSize, peepholes, and `reverse` where its every-step outputs would be in step order (TF.js's
// go_backwards gives them in processing order; the last output is the same, so a one-layer reverse
// LSTM without returnSequences exports as go_backwards).
import { LSTMError, describe } from "../errors";
import type { Tensor } from "../tensor";
import { checkKeys } from "../io";
import { LITTLE_ENDIAN } from "../typed";
import { toKeras } from "../convert";
import { transpose } from "../gates";
import { LSTM } from "../lstm";
import { Linear } from "../linear";
import { Embedding } from "../layers/embedding";
import { Dropout } from "../layers/dropout";
import type { Sequential } from "../model/sequential";
import { tfjsOriginOf } from "./tfjs";

/** A weight in a model.json weights manifest. */
export interface TfjsWeightSpec { name: string; shape: number[]; dtype: "float32" }
/** A model.json of a TF.js Layers model, as toTfjs() writes it (fromTfjs reads more: see the README). */
export interface TfjsModelJson {
  format: "layers-model";
  generatedBy: string;
  convertedBy: null;
  modelTopology: { class_name: "Sequential"; config: { name: string; layers: Record<string, unknown>[] }; keras_version: string; backend: string };
  weightsManifest: { paths: string[]; weights: TfjsWeightSpec[] }[];
}
/** toTfjs()'s result: model.json and the bytes of the one weights file it names. */
export interface TfjsExport { modelJson: TfjsModelJson; weightData: Uint8Array }
/** Options of toTfjs(). */
export interface ToTfjsOptions {
  /** The weights file model.json names (default "weights.bin"), relative to model.json. */
  weightsPath?: string;
  /** The TF.js model's name (default: the imported model's, else "sequential"). */
  modelName?: string;
}


/** model.toTfjs()'s body. */
export function toTfjs(model: Sequential, opts: ToTfjsOptions): TfjsExport {
  checkKeys("options", opts, ["weightsPath", "modelName"]);
  const origin = tfjsOriginOf(model);
  const path = opts.weightsPath ?? "weights.bin", modelName = opts.modelName ?? origin?.modelName ?? "sequential";
  if (typeof path !== "string" || path.length === 0) throw new LSTMError("options.weightsPath", "a file name", describe(path));
  if (typeof modelName !== "string" || modelName.length === 0) throw new LSTMError("options.modelName", "a name", describe(modelName));
  const sd = model.stateDict();
  const used = new Set(model.names);
  const fresh = (base: string) => { let n = base; for (let k = 2; used.has(n); k++) n = `${base}_${k}`; used.add(n); return n; };
  const layers: Record<string, unknown>[] = [], specs: TfjsWeightSpec[] = [], datas: Float32Array[] = [];
  const weight = (name: string, t: Tensor) => { specs.push({ name, shape: t.shape.slice(), dtype: "float32" }); datas.push(t.data); };
  // The first TF.js layer carries the model's input shape: ids [N,T], or features [N,T,I].
  const input = (): Record<string, unknown> => (layers.length > 0 ? {} : { batch_input_shape: model.input.ids ? [null, null] : [null, null, model.input.width] });

  model.layers.forEach((l, i) => {
    const name = model.names[i], at = `model.layers[${i}]`;
    const kept: Record<string, unknown> = origin?.layers.find((o) => o.name === name)?.trainingOnly ?? {};
    if (l instanceof Embedding) {
      const { numEmbeddings: V, embeddingDim: E, maskZero } = l.config;
      layers.push({ class_name: "Embedding", config: { name, trainable: true, ...input(), dtype: "float32", input_dim: V, output_dim: E, mask_zero: maskZero, input_length: null } });
      weight(`${name}/embeddings`, sd[`${name}.weight`]);
    } else if (l instanceof Linear) {
      const { inputSize: In, outputSize: O, activation, bias } = l.config;
      layers.push({ class_name: "Dense", config: { name, trainable: true, ...input(), dtype: "float32", units: O, activation: activation ?? "linear", use_bias: bias } });
      weight(`${name}/kernel`, { data: transpose(sd[`${name}.weight`].data, O, In), shape: [In, O] });
      if (bias) weight(`${name}/bias`, sd[`${name}.bias`]);
    } else if (l instanceof Dropout) {
      layers.push({ class_name: "Dropout", config: { name, trainable: true, ...input(), dtype: "float32", rate: l.config.p } });
    } else if (l instanceof LSTM) {
      const c = l.config, L = c.numLayers;
      if (c.projSize > 0) throw new LSTMError(`${at}.config.projSize`, "0 (TF.js's LSTM has no projection)", describe(c.projSize));
      if (c.peephole) throw new LSTMError(`${at}.config.peephole`, "false (TF.js's LSTM has no peepholes)", "true");
      if (c.reverse && (L > 1 || c.returnSequences)) {
        throw new LSTMError(`${at}.config.reverse`, "a one-layer reverse LSTM with returnSequences: false (TF.js's go_backwards gives every step's output in processing order; use goBackwards for that)",
          L > 1 ? `numLayers ${L}` : "returnSequences: true");
      }
      for (let k = 0; k < L; k++) {
        const lname = L === 1 ? name : fresh(`${name}_l${k}`);
        const cell = {
          name: c.bidirectional ? "lstm" : lname, trainable: true, dtype: "float32", units: c.hiddenSize, activation: "tanh",
          recurrent_activation: c.recurrentActivation === "sigmoid" ? "sigmoid" : "hard_sigmoid", use_bias: c.bias,
          dropout: kept.dropout ?? 0, recurrent_dropout: kept.recurrent_dropout ?? 0,
          return_sequences: k < L - 1 || c.returnSequences, return_state: false, go_backwards: c.goBackwards || c.reverse, stateful: false, unroll: false,
        };
        if (c.bidirectional) layers.push({ class_name: "Bidirectional", config: { name: lname, trainable: true, ...input(), merge_mode: "concat", layer: { class_name: "LSTM", config: cell } } });
        else layers.push({ class_name: "LSTM", config: { ...input(), ...cell } });
        for (let d = 0; d < (c.bidirectional ? 2 : 1); d++) {
          const sfx = d ? "_reverse" : "", g = (t: string) => sd[`${name}.${t}_l${k}${sfx}`];
          const kw = toKeras(c.bias ? { weight_ih_l0: g("weight_ih"), weight_hh_l0: g("weight_hh"), bias_ih_l0: g("bias_ih"), bias_hh_l0: g("bias_hh") }
            : { weight_ih_l0: g("weight_ih"), weight_hh_l0: g("weight_hh") });
          const pre = c.bidirectional ? `${lname}/${d ? "backward" : "forward"}_lstm` : lname;
          weight(`${pre}/kernel`, kw.kernel);
          weight(`${pre}/recurrent_kernel`, kw.recurrentKernel);
          if (c.bias) weight(`${pre}/bias`, kw.bias);
        }
        if (k < L - 1 && c.dropout > 0) layers.push({ class_name: "Dropout", config: { name: fresh(`${name}_dropout${k}`), trainable: true, dtype: "float32", rate: c.dropout } });
      }
    }
  });

  const bytes = new Uint8Array(4 * datas.reduce((s, d) => s + d.length, 0));
  const view = new DataView(bytes.buffer);
  let at = 0;
  for (const d of datas) {
    if (LITTLE_ENDIAN) bytes.set(new Uint8Array(d.buffer, d.byteOffset, d.byteLength), at);
    else for (let k = 0; k < d.length; k++) view.setFloat32(at + 4 * k, d[k], true);
    at += 4 * d.length;
  }
  return {
    modelJson: {
      format: "layers-model", generatedBy: "lstm-wasm", convertedBy: null,
      modelTopology: { class_name: "Sequential", config: { name: modelName, layers }, keras_version: "tfjs-layers 4.22.0", backend: "tensor_flow.js" },
      weightsManifest: [{ paths: [path], weights: specs }],
    },
    weightData: bytes,
  };
}
