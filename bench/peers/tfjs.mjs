// TensorFlow.js 4.22 on its wasm backend (XNNPACK, SIMD), one thread. Keras layout: kernel [I,4H]
// and recurrent kernel [H,4H] in gate order i,f,c,o (= torch's i,f,g,o, transposed), one bias
// b_ih + b_hh. recurrentActivation is set to 'sigmoid': tfjs' default is 'hardSigmoid'.
import path from "node:path";
import { createRequire } from "node:module";
import { toBatchFirst, toTimeMajor } from "../lib/data.mjs";

let tf = null;

async function load() {
  if (tf) return tf;
  tf = await import("@tensorflow/tfjs");
  const wasm = await import("@tensorflow/tfjs-backend-wasm");
  const require = createRequire(import.meta.url);
  wasm.setWasmPaths(path.dirname(require.resolve("@tensorflow/tfjs-backend-wasm/package.json")) + "/dist/");
  wasm.setThreadsCount(1);
  if (!(await tf.setBackend("wasm"))) throw new Error("tfjs: the wasm backend did not start");
  await tf.ready();
  const simd = await tf.env().getAsync("WASM_HAS_SIMD_SUPPORT");
  if (!simd || wasm.getThreadsCount() !== 1) throw new Error(`tfjs wasm: simd ${simd}, threads ${wasm.getThreadsCount()}`);
  return tf;
}

function transpose(src, rows, cols) {
  const out = new Float32Array(src.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = src[r * cols + c];
  return out;
}

/** torch state dict -> [kernel [I,4H], recurrentKernel [H,4H], bias [4H]] tensors. */
function kerasWeights(sd, I, H) {
  const bias = sd.bias_ih_l0.data.map((v, i) => v + sd.bias_hh_l0.data[i]);
  return [
    tf.tensor2d(transpose(sd.weight_ih_l0.data, 4 * H, I), [I, 4 * H]),
    tf.tensor2d(transpose(sd.weight_hh_l0.data, 4 * H, H), [H, 4 * H]),
    tf.tensor1d(bias),
  ];
}

// Zero initializers: the weights are replaced right away (and the default orthogonal one is slow).
const lstmLayer = (H, extra) => tf.layers.lstm({
  units: H, returnSequences: true, recurrentActivation: "sigmoid",
  kernelInitializer: "zeros", recurrentInitializer: "zeros", biasInitializer: "zeros", ...extra,
});

export const tfjs = {
  name: "tfjs",
  backend: "wasm simd",
  supports: (wl, mode) => (mode === "step" ? "not measured" : true),
  async prepare({ wl, mode, sd, x }) {
    await load();
    if (wl.kind === "char") return prepareChar(wl, sd, x);
    const { B, T, I, H } = wl;
    const xbf = toBatchFirst(x, T, B, I);
    const weights = kerasWeights(sd, I, H);
    if (mode === "forward") {
      const input = tf.input({ shape: [T, I] });
      const layer = lstmLayer(H, { returnState: true });
      const model = tf.model({ inputs: input, outputs: layer.apply(input) });
      layer.setWeights(weights);
      tf.dispose(weights);
      const run = () => {
        const xt = tf.tensor3d(xbf, [B, T, I]);
        const outs = model.predict(xt);
        const data = outs.map((t) => t.dataSync());
        tf.dispose([xt, ...outs]);
        return data;
      };
      const outputs = () => {
        const [y, hn, cn] = run();
        return { y: toTimeMajor(y, T, B, H), hn, cn };
      };
      return { run, outputs, dispose: () => model.dispose() };
    }
    if (mode !== "train") throw new Error(`tfjs: no ${mode} mode`);
    // Training: tf.sequential + trainOnBatch, MSE loss, plain SGD.
    const layer = lstmLayer(H, { inputShape: [T, I] });
    const model = tf.sequential({ layers: [layer] });
    model.compile({ optimizer: tf.train.sgd(1e-3), loss: "meanSquaredError" });
    layer.setWeights(weights);
    tf.dispose(weights);
    const target = new Float32Array(B * T * H).fill(0.5);
    const run = async () => {
      const xt = tf.tensor3d(xbf, [B, T, I]), yt = tf.tensor3d(target, [B, T, H]);
      await model.trainOnBatch(xt, yt);
      tf.dispose([xt, yt]);
    };
    // The check: gradients of sum(y) (dy = ones, as lstm-wasm's backward gets) before any update.
    const outputs = () => {
      const vars = layer.trainableWeights.map((w) => w.read());
      const xt = tf.tensor3d(xbf, [B, T, I]);
      const { value, grads } = tf.variableGrads(() => tf.sum(model.apply(xt)), vars);
      const [gk, gr, gb] = vars.map((v) => grads[v.name].dataSync());
      tf.dispose([xt, value, ...Object.values(grads)]);
      return {
        grads: {
          weight_ih_l0: transpose(gk, I, 4 * H),
          weight_hh_l0: transpose(gr, H, 4 * H),
          bias_ih_l0: gb,
          bias_hh_l0: gb,
        },
      };
    };
    return { run, outputs, dispose: () => model.dispose() };
  },
};

/**
 * The C workload: tf.sequential [embedding, lstm (returnSequences), dense softmax] with the same
 * weights (keys of lstm-wasm's charModel: embed.*, lstm.*, fc.*), trainOnBatch on
 * sparseCategoricalCrossentropy (mean over the B·T steps), plain SGD. tf.layers.embedding cannot
 * train on the wasm backend: its gradient needs the UnsortedSegmentSum kernel, which
 * tfjs-backend-wasm 4.22 does not have (tensorflow/tfjs#8082). So the table is a bias-free dense
 * layer fed oneHot(ids): the same function, the same gradient of the table, and the one-hot is made
 * inside each timed step.
 */
function prepareChar({ B, T, V, E, H }, sd, { ids, targets }) {
  const zeros = { kernelInitializer: "zeros", recurrentInitializer: "zeros", biasInitializer: "zeros" };
  const embed = tf.layers.dense({ units: E, useBias: false, inputShape: [T, V], kernelInitializer: "zeros" });
  const lstm = tf.layers.lstm({ units: H, returnSequences: true, recurrentActivation: "sigmoid", ...zeros });
  const fc = tf.layers.dense({ units: V, activation: "softmax", kernelInitializer: "zeros", biasInitializer: "zeros" });
  const model = tf.sequential({ layers: [embed, lstm, fc] });
  model.compile({ optimizer: tf.train.sgd(1e-6), loss: "sparseCategoricalCrossentropy" });
  const strip = (prefix) => Object.fromEntries(Object.entries(sd).filter(([k]) => k.startsWith(prefix)).map(([k, t]) => [k.slice(prefix.length), t]));
  const weights = [tf.tensor2d(sd["embed.weight"].data, [V, E]), ...kerasWeights(strip("lstm."), E, H),
    tf.tensor2d(transpose(sd["fc.weight"].data, V, H), [H, V]), tf.tensor1d(sd["fc.bias"].data)];
  embed.setWeights(weights.slice(0, 1));
  lstm.setWeights(weights.slice(1, 4));
  fc.setWeights(weights.slice(4));
  tf.dispose(weights);
  const oneHot = () => tf.tidy(() => tf.oneHot(tf.tensor2d(ids, [B, T], "int32"), V)); // [B,T,V]
  const yf = Float32Array.from(targets);
  const run = async () => {
    const xt = oneHot(), yt = tf.tensor3d(yf, [B, T, 1]);
    await model.trainOnBatch(xt, yt);
    tf.dispose([xt, yt]);
  };
  // The check: the mean cross-entropy and its gradients before any update.
  const outputs = () => {
    const vars = model.trainableWeights.map((w) => w.read());
    const xt = oneHot(), target = tf.oneHot(tf.tensor1d(targets, "int32"), V);
    const { value, grads } = tf.variableGrads(() => tf.neg(tf.mean(tf.sum(tf.mul(target, tf.log(tf.reshape(model.apply(xt), [B * T, V]))), 1))), vars);
    const [ge, gk, gr, gb, gd, gdb] = vars.map((v) => grads[v.name].dataSync());
    const loss = Float32Array.of(value.dataSync()[0]);
    tf.dispose([xt, target, value, ...Object.values(grads)]);
    return {
      loss,
      grads: {
        "embed.weight": ge,
        "lstm.weight_ih_l0": transpose(gk, E, 4 * H),
        "lstm.weight_hh_l0": transpose(gr, H, 4 * H),
        "lstm.bias_ih_l0": gb,
        "lstm.bias_hh_l0": gb,
        "fc.weight": transpose(gd, H, V),
        "fc.bias": gdb,
      },
    };
  };
  return { run, outputs, dispose: () => model.dispose() };
}
