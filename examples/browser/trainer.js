// The training loop of the demo. worker.js runs it in a module Web Worker; main.js runs it on the
// page only if the browser cannot start a module worker. It talks through `post(message, transfer)`
// and takes { type: 'start' | 'pause' | 'resume' | 'reset', seed? } through `handle(message)`.
import { init, LSTM, Linear, Sequential, Adam } from "/dist/index.js";

// The task: next-value prediction on a noisy sine whose rhythm switches once at a random step,
// from a slow, large wave (period 16–22 steps, amplitude 0.9) to a fast, small one (period 6–9,
// amplitude 0.45) or the other way round. Input x_t is the noisy signal, the target the clean x_{t+1}.
export const T = 80, N = 512, HIDDEN = 16, BATCH = 32, NOISE = 0.1, DATA_SEED = 2024;
export const PROBE_SWITCH = 44;
const AUTO_PAUSE_EVERY = 2000; // epochs; Resume trains another block
const PROGRESS_MS = 150, GATES_MS = 350;

/** mulberry32: a tiny deterministic generator of floats in [0, 1). */
export function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const gauss = (r) => Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());

/** One sequence of T + 1 points; `at` is the first step of the second regime. */
export function sequence(r, { at = Math.floor(T * (0.25 + 0.5 * r())), slowFirst = r() < 0.5 } = {}) {
  const slow = { period: 16 + 6 * r(), amp: 0.9 }, fast = { period: 6 + 3 * r(), amp: 0.45 };
  const clean = new Float32Array(T + 1), noisy = new Float32Array(T + 1);
  let phase = 2 * Math.PI * r();
  for (let t = 0; t <= T; t++) {
    const w = (t < at) === slowFirst ? slow : fast;
    clean[t] = w.amp * Math.sin(phase);
    noisy[t] = clean[t] + NOISE * gauss(r);
    phase += (2 * Math.PI) / w.period;
  }
  return { clean, noisy, at };
}

/** The training set ([N,T,1] inputs and next-value targets) and the fixed probe sequence. */
export function makeData(seed = DATA_SEED) {
  const r = rng(seed);
  const x = new Float32Array(N * T), y = new Float32Array(N * T);
  for (let n = 0; n < N; n++) {
    const s = sequence(r);
    x.set(s.noisy.subarray(0, T), n * T);
    y.set(s.clean.subarray(1, T + 1), n * T);
  }
  const p = sequence(rng(seed + 1), { at: PROBE_SWITCH, slowFirst: true });
  return {
    x: { data: x, shape: [N, T, 1] }, y: { data: y, shape: [N, T, 1] },
    probe: { x: p.noisy.slice(0, T), target: p.clean.slice(1, T + 1), clean: p.clean.slice(0, T), at: p.at },
  };
}

const ABORT = Symbol("abort");

// A macrotask that is not a timer: fit() yields with setTimeout every few ms, and a chain of timers
// fired from timers is clamped to 4 ms by browsers. Passing through a message task after each batch
// keeps those timers unnested: training runs nearly twice as fast.
let channel = null;
const waiting = [];
function macrotask() {
  // Node yields with setImmediate, which is never clamped; only browsers need this.
  if (typeof MessageChannel !== "function" || typeof setImmediate === "function") return Promise.resolve();
  if (!channel) {
    channel = new MessageChannel();
    channel.port1.onmessage = () => waiting.shift()?.();
  }
  return new Promise((r) => { waiting.push(r); channel.port2.postMessage(0); });
}

export function createTrainer(post) {
  let backend = null, data = null, model = null, opt = null, loop = null;
  let seed = 1, epoch = 0, steps = 0, paused = false, resetTo = null, stopAt = AUTO_PAUSE_EVERY;
  let wake = () => {};
  let pending = [], lastEpochLoss = null, lastProgress = 0, lastGates = 0;
  let rate = { t: 0, steps: 0, perSec: 0 };

  const sleep = () => new Promise((r) => (wake = r));
  const now = () => performance.now();

  function build() {
    model?.dispose();
    model = new Sequential(
      [new LSTM({ inputSize: 1, hiddenSize: HIDDEN, seed, init: "keras", returnSequences: true }), new Linear({ inputSize: HIDDEN, outputSize: 1, seed: seed + 1 })]);
    opt = new Adam({ lr: 1e-2 });
    epoch = 0; steps = 0; lastEpochLoss = null; pending = []; stopAt = AUTO_PAUSE_EVERY;
    rate = { t: now(), steps: 0, perSec: 0 };
    post({ type: "reset", seed });
  }

  function progress(force = false) {
    const t = now();
    if (!force && t - lastProgress < PROGRESS_MS) return;
    if (t - rate.t >= 250 && !paused) {
      const fresh = (steps - rate.steps) / ((t - rate.t) / 1000);
      rate = { t, steps, perSec: rate.perSec ? 0.6 * rate.perSec + 0.4 * fresh : fresh };
    }
    lastProgress = t;
    post({ type: "progress", epoch, steps, losses: pending, epochLoss: lastEpochLoss,
      stepsPerSec: rate.perSec, samplesPerSec: rate.perSec * BATCH, state: paused ? "paused" : "running" });
    pending = [];
  }

  function gates(force = false) {
    const t = now();
    if (!force && t - lastGates < GATES_MS) return;
    lastGates = t;
    const px = data.probe.x;
    const { gates: g } = model.layers[0].forward(px, { seqLen: T, batch: 1, returnGates: true });
    const pred = model.predict({ data: px, shape: [1, T, 1] }).data;
    const l0 = g.l0, msg = { type: "gates", epoch, steps, T, H: HIDDEN, pred };
    for (const k of ["i", "f", "g", "o", "c"]) msg[k] = l0[k].data;
    post(msg, [...new Set([pred.buffer, ...["i", "f", "g", "o", "c"].map((k) => msg[k].buffer)])]);
  }

  async function onBatchEnd(_b, logs) {
    steps++;
    pending.push(logs.loss);
    progress();
    gates();
    if (paused || resetTo !== null) await checkpoint();
    else await macrotask();
  }

  // Between batches: wait while paused, and leave the running fit when a reset was asked for.
  async function checkpoint() {
    while (paused && resetTo === null) {
      progress(true);
      gates(true);
      await sleep();
      rate = { t: now(), steps, perSec: rate.perSec };
    }
    if (resetTo !== null) throw ABORT;
  }

  async function run() {
    for (;;) {
      if (resetTo !== null) {
        seed = resetTo;
        resetTo = null;
        build();
        gates(true);
        progress(true);
      }
      try {
        await checkpoint();
        const h = await model.fit(data.x, data.y, {
          epochs: 1, batchSize: BATCH, loss: "mse", optimizer: opt, clipNorm: 1,
          seed: (seed * 7919 + epoch) >>> 0, onBatchEnd });
        epoch++;
        lastEpochLoss = h.loss[0];
        if (epoch >= stopAt) {
          paused = true;
          post({ type: "status", text: `paused by itself after ${epoch} epochs — Resume trains ${AUTO_PAUSE_EVERY} more` });
        }
        progress(true);
      } catch (err) {
        if (err === ABORT) continue;
        paused = true;
        post({ type: "error", message: String(err?.message ?? err) });
        progress(true);
      }
    }
  }

  const validSeed = (s) => (Number.isInteger(s) && s >= 0 && s < 2 ** 31 ? s : 1);

  return {
    async handle(msg) {
      switch (msg?.type) {
        case "start": {
          if (loop) return;
          loop = true;
          try {
            const t0 = now();
            ({ backend } = await init());
            data = makeData();
            seed = validSeed(msg.seed);
            build();
            post({ type: "ready", backend, initMs: now() - t0,
              config: { T, N, hidden: HIDDEN, batch: BATCH, batchesPerEpoch: Math.ceil(N / BATCH), noise: NOISE },
              probe: data.probe });
            gates(true);
          } catch (err) {
            post({ type: "error", message: String(err?.message ?? err) });
            return;
          }
          loop = run().catch((err) => post({ type: "error", message: String(err?.message ?? err) }));
          break;
        }
        case "pause": paused = true; progress(true); break;
        case "resume":
          if (epoch >= stopAt) stopAt = epoch + AUTO_PAUSE_EVERY;
          paused = false; wake(); break;
        case "reset": resetTo = validSeed(msg.seed); paused = false; wake(); break;
      }
    },
  };
}
