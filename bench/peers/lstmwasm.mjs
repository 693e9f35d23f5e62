// lstm-wasm itself, on one build ('relaxed-simd' or 'simd') and a thread count. init({ backend,
// threads }) switches the build used by models created afterwards, so every model here is created
// right after its init(). threads 1 is the single-thread build; more is the thread-capable build,
// whose models use its current count from their next call (init({ threads: 1 }) stops its workers),
// so a 1-thread and an n-thread model can be timed side by side, but not two counts above 1.
import { init, LSTM, SGD, Sequential, Embedding, Linear, Dropout } from "../../dist/index.js";

/**
 * The character model of the C workload: Embedding(V, E) → LSTM(H, every step) → [Dropout(p)] →
 * Linear(V, softmax), named as the PyTorch module of peers/torch_peer.py (embed, lstm, [drop], fc).
 */
export function charModel({ V, E, H }, seed, dropout = 0) {
  const layers = [
    new Embedding({ numEmbeddings: V, embeddingDim: E, seed }),
    new LSTM({ inputSize: E, hiddenSize: H, returnSequences: true, seed: seed + 1 }),
    ...(dropout ? [new Dropout({ p: dropout })] : []),
    new Linear({ inputSize: H, outputSize: V, activation: "softmax", seed: seed + 2 }),
  ];
  return new Sequential(layers, { names: ["embed", "lstm", ...(dropout ? ["drop"] : []), "fc"] });
}

/** init() on `build` with exactly `threads` threads, or an Error saying why not. */
export async function initExactly(build, threads) {
  const r = await init({ backend: build, threads });
  if (r.backend !== build || r.threads !== threads) {
    throw new Error(`init({ backend: '${build}', threads: ${threads} }) gave ${r.backend} on ${r.threads} thread(s)${r.threadsReason ? `: ${r.threadsReason}` : ""}`);
  }
  return r;
}

export function lstmWasm(build, threads = 1) {
  return {
    name: "lstm-wasm",
    backend: build,
    threads,
    supports: () => true,
    async prepare({ wl, mode, sd, x, seed }) {
      if (wl.kind === "char") return prepareChar(build, wl, sd, x, seed);
      const { B, T, I, H } = wl;
      await initExactly(build, threads);
      const m = new LSTM({ inputSize: I, hiddenSize: H, seed });
      if (sd) m.loadStateDict(sd);
      if (m.backend !== build) throw new Error(`model runs on ${m.backend}, wanted ${build}`);
      const dispose = () => m.dispose();
      if (mode === "forward") {
        // Results into reused `out` tensors, as a hot loop should call it: no allocation per call.
        const out = { y: { data: new Float32Array(T * B * H), shape: [T, B, H] }, hn: { data: new Float32Array(B * H), shape: [1, B, H] }, cn: { data: new Float32Array(B * H), shape: [1, B, H] } };
        const run = () => m.forward(x, { seqLen: T, batch: B, out });
        const outputs = () => {
          const { y, hn, cn } = run();
          return { y: y.data.slice(), hn: hn.data.slice(), cn: cn.data.slice() };
        };
        return { run, outputs, dispose };
      }
      if (mode === "train") {
        const dy = { data: new Float32Array(T * B * H).fill(1), shape: [T, B, H] };
        // A full training step as the peers do it: forward, BPTT, one SGD update, zeroed gradients.
        // The `out` tensors are reused, so the loop allocates nothing but the small result objects.
        const sgd = new SGD({ lr: 1e-6 });
        const out = { y: { data: new Float32Array(T * B * H), shape: [T, B, H] }, hn: { data: new Float32Array(B * H), shape: [1, B, H] }, cn: { data: new Float32Array(B * H), shape: [1, B, H] } };
        const bout = { dx: { data: new Float32Array(T * B * I), shape: [T, B, I] }, dh0: { data: new Float32Array(B * H), shape: [1, B, H] }, dc0: { data: new Float32Array(B * H), shape: [1, B, H] } };
        const run = () => {
          m.forward(x, { seqLen: T, batch: B, train: true, out });
          m.backward({ dy, out: bout });
          sgd.step(m);
          m.zeroGrad();
        };
        const outputs = () => {
          m.zeroGrad();
          m.forward(x, { seqLen: T, batch: B, train: true });
          m.backward({ dy });
          const grads = Object.fromEntries(Object.entries(m.grads()).map(([k, t]) => [k, t.data]));
          m.zeroGrad();
          return { grads };
        };
        return { run, outputs, dispose };
      }
      // mode 'step': T single steps from a zero state; x is [T,B,I]. Written as a streaming loop
      // should be: each frame a Float32Array, the result into a reused `out`, so nothing is allocated.
      const steps = Array.from({ length: T }, (_, t) => x.subarray(t * B * I, (t + 1) * B * I));
      const out = { data: new Float32Array(B * H), shape: [B, H] };
      const run = () => {
        const state = m.initialState(B);
        for (const xt of steps) m.step(xt, state, out);
        return state;
      };
      return { run, outputs: () => ({ hn: run().h.data }), dispose, stepsPerRun: T };
    },
  };
}

/**
 * The C workload's training step, as a user runs it: fit() for one epoch of one batch (ids [B,T],
 * per-step classes [B,T]), cross-entropy through the fused softmax, one SGD update. fit() zeroes
 * the gradients before the batch and leaves them after it, so the check reads the batch's gradients.
 */
async function prepareChar(build, wl, sd, { ids, targets }, seed) {
  const { B, T } = wl;
  await initExactly(build, 1);
  const m = charModel(wl, seed);
  m.loadStateDict(sd);
  if (m.layers[1].backend !== build) throw new Error(`model runs on ${m.layers[1].backend}, wanted ${build}`);
  const x = { data: ids, shape: [B, T] }, y = { data: targets, shape: [B, T] };
  const train = { epochs: 1, batchSize: B, loss: "crossEntropy", optimizer: new SGD({ lr: 1e-6 }), shuffle: false };
  const run = () => m.fit(x, y, train);
  const outputs = async () => {
    const h = await m.fit(x, y, train);
    const grads = Object.fromEntries(Object.entries(m.grads()).map(([k, t]) => [k, t.data]));
    m.loadStateDict(sd); // back to the weights every library got
    return { loss: Float32Array.of(h.loss[0]), grads };
  };
  return { run, outputs, dispose: () => m.dispose() };
}
