// The text task: next-character prediction on a short public-domain text (corpus.js).
// Embedding(V, 16) → LSTM(64, every step) → Linear(V, softmax), per-step cross-entropy, Adam.
// Each epoch trains on fresh random windows of the text; the view is a text sampled from the
// model (step() one character at a time, sample() at the page's temperature) and the LSTM's gates
// on the first GATE_T characters of it.
import { Embedding, LSTM, Linear, Sequential, Adam, sample } from "/dist/index.js";
import { TEXT, SOURCE } from "./corpus.js";
import { rng } from "./rng.js";

const CORPUS = TEXT.toLowerCase();
/** The vocabulary: the corpus's distinct characters, sorted (38). */
export const VOCAB = [...new Set(CORPUS)].sort();
export const V = VOCAB.length, EMBED = 16, HIDDEN = 64;
export const T = 48, N = 256, BATCH = 32, DATA_SEED = 1865;
/** Characters per sample (the prime included), and how many of them the gate heatmaps show. */
export const SAMPLE_LEN = 160, GATE_T = 48;
// Each sample starts from the next of these, so successive samples begin differently.
const PRIMES = ["alice ", "the rabbit ", "down, ", "she ", "'i wonder "];
const GATES = ["i", "f", "g", "o", "c"];

const IDS = Int32Array.from(CORPUS, (ch) => VOCAB.indexOf(ch));
export const encode = (s) => Int32Array.from(s, (ch) => VOCAB.indexOf(ch));
export const decode = (ids) => Array.from(ids, (id) => VOCAB[id]).join("");

/** N windows of T + 1 characters at random offsets: inputs ids[0..T), targets ids[1..T]. */
export function windows(seed) {
  const r = rng(seed), x = new Int32Array(N * T), y = new Int32Array(N * T);
  for (let n = 0; n < N; n++) {
    const at = Math.floor(r() * (IDS.length - T));
    x.set(IDS.subarray(at, at + T), n * T);
    y.set(IDS.subarray(at + 1, at + T + 1), n * T);
  }
  return { x: { data: x, shape: [N, T] }, y: { data: y, shape: [N, T] } };
}

/**
 * SAMPLE_LEN characters from the model: the prime fed through step(), then each sampled character
 * fed back. `random` draws the samples (seeded by the caller, so a run is reproducible).
 */
export function generate(model, prime, temperature, random) {
  const state = model.initialState(1), ids = Array.from(encode(prime));
  let probs = null;
  for (const id of ids) probs = model.step(Int32Array.of(id), state);
  while (ids.length < SAMPLE_LEN) {
    const id = sample(probs, { temperature, random })[0];
    ids.push(id);
    probs = model.step(Int32Array.of(id), state);
  }
  return Int32Array.from(ids);
}

/** The task as trainer.js drives it. */
export function textTask() {
  let temperature = 0.7, samples = 0, seed = 1;
  return {
    name: "text",
    fit: { loss: "crossEntropy", batchSize: BATCH, clipNorm: 1 },
    viewEveryMs: 700,
    info: {
      config: { T, N, vocab: V, embed: EMBED, hidden: HIDDEN, batch: BATCH, batchesPerEpoch: Math.ceil(N / BATCH),
        chars: CORPUS.length, source: SOURCE, sampleLength: SAMPLE_LEN, gateSteps: GATE_T },
    },
    build(s) {
      seed = s;
      samples = 0;
      const model = new Sequential([
        new Embedding({ numEmbeddings: V, embeddingDim: EMBED, seed: s }),
        new LSTM({ inputSize: EMBED, hiddenSize: HIDDEN, returnSequences: true, seed: s + 1, init: "keras" }),
        new Linear({ inputSize: HIDDEN, outputSize: V, activation: "softmax", seed: s + 2 }),
      ], { names: ["embed", "lstm", "fc"] });
      return { model, optimizer: new Adam({ lr: 5e-3 }) };
    },
    epochData: (epoch) => windows((DATA_SEED + Math.imul(seed, 7919) + epoch) >>> 0),
    setTemperature(v) { temperature = v; },
    /** A fresh sample and the gates on its first GATE_T characters. */
    view(model) {
      const prime = PRIMES[samples % PRIMES.length];
      const ids = generate(model, prime, temperature, rng(Math.imul(seed, 0x9e3779b1) + samples++));
      const head = ids.subarray(0, GATE_T);
      const features = model.layer("embed").forward({ data: head, shape: [1, GATE_T] });
      const { gates: g } = model.layer("lstm").forward({ data: features.data, shape: [GATE_T, 1, EMBED] }, { returnGates: true });
      const msg = { text: decode(ids), prime: prime.length, temperature, T: GATE_T, H: HIDDEN };
      for (const k of GATES) msg[k] = g.l0[k].data;
      return { msg, transfer: GATES.map((k) => msg[k].buffer) };
    },
  };
}
