// The training loop of the demo. worker.js runs it in a module Web Worker; main.js runs it on the
// page only if the browser cannot start a module worker. It talks through `post(message, transfer)`
// and takes, through `handle(message)`:
//   { type: 'start', task?, seed? }, { type: 'pause' | 'resume' }, { type: 'reset', seed? },
//   { type: 'task', task, seed? } (another task, a new model), { type: 'temperature', value } (text task).
// It posts 'ready', 'reset', 'progress', 'view' (the task's probe: sine.js, chars.js), 'status', 'error'.
import { init } from "/dist/index.js";
import { sineTask } from "./sine.js";
import { textTask } from "./chars.js";

const TASKS = { sine: sineTask, text: textTask };
const AUTO_PAUSE_EVERY = 2000; // epochs; Resume trains another block
const PROGRESS_MS = 150;

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
  let backend = null, task = null, model = null, opt = null, loop = null;
  let seed = 1, epoch = 0, steps = 0, paused = false, resetTo = null, stopAt = AUTO_PAUSE_EVERY;
  let wake = () => {};
  let pending = [], lastEpochLoss = null, lastProgress = 0, lastView = 0;
  let rate = { t: 0, steps: 0, perSec: 0 };

  const sleep = () => new Promise((r) => (wake = r));
  const now = () => performance.now();

  function build() {
    model?.dispose();
    ({ model, optimizer: opt } = task.build(seed));
    epoch = 0; steps = 0; lastEpochLoss = null; pending = []; stopAt = AUTO_PAUSE_EVERY;
    rate = { t: now(), steps: 0, perSec: 0 };
    post({ type: "reset", seed, task: task.name });
  }

  function progress(force = false) {
    const t = now();
    if (!force && t - lastProgress < PROGRESS_MS) return;
    if (t - rate.t >= 250 && !paused) {
      const fresh = (steps - rate.steps) / ((t - rate.t) / 1000);
      rate = { t, steps, perSec: rate.perSec ? 0.6 * rate.perSec + 0.4 * fresh : fresh };
    }
    lastProgress = t;
    const batch = task.fit.batchSize;
    post({ type: "progress", task: task.name, epoch, steps, losses: pending, epochLoss: lastEpochLoss,
      stepsPerSec: rate.perSec, samplesPerSec: rate.perSec * batch, state: paused ? "paused" : "running" });
    pending = [];
  }

  function view(force = false) {
    const t = now();
    if (!force && t - lastView < task.viewEveryMs) return;
    lastView = t;
    const { msg, transfer } = task.view(model);
    post({ type: "view", task: task.name, epoch, steps, ...msg }, [...new Set(transfer)]);
  }

  async function onBatchEnd(_b, logs) {
    steps++;
    pending.push(logs.loss);
    progress();
    view();
    if (paused || resetTo !== null) await checkpoint();
    else await macrotask();
  }

  // Between batches: wait while paused, and leave the running fit when a reset was asked for.
  async function checkpoint() {
    while (paused && resetTo === null) {
      progress(true);
      view(true);
      await sleep();
      rate = { t: now(), steps, perSec: rate.perSec };
    }
    if (resetTo !== null) throw ABORT;
  }

  async function run() {
    for (;;) {
      if (resetTo !== null) {
        const switched = resetTo.task !== task.name;
        if (switched) task = TASKS[resetTo.task]();
        seed = resetTo.seed;
        resetTo = null;
        build();
        if (switched) post({ type: "ready", backend, task: task.name, switched: true, ...task.info });
        view(true);
        progress(true);
      }
      try {
        await checkpoint();
        const { x, y } = task.epochData(epoch);
        const h = await model.fit(x, y, {
          epochs: 1, ...task.fit, optimizer: opt, seed: (seed * 7919 + epoch) >>> 0, onBatchEnd });
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
  const validTask = (name) => (Object.prototype.hasOwnProperty.call(TASKS, name) ? name : "sine");

  return {
    async handle(msg) {
      switch (msg?.type) {
        case "start": {
          if (loop) return;
          loop = true;
          try {
            const t0 = now();
            ({ backend } = await init());
            task = TASKS[validTask(msg.task)]();
            seed = validSeed(msg.seed);
            build();
            post({ type: "ready", backend, task: task.name, initMs: now() - t0, ...task.info });
            view(true);
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
        case "reset": resetTo = { task: task?.name ?? "sine", seed: validSeed(msg.seed) }; paused = false; wake(); break;
        case "task": resetTo = { task: validTask(msg.task), seed: validSeed(msg.seed) }; paused = false; wake(); break;
        case "temperature":
          if (task?.setTemperature && typeof msg.value === "number" && msg.value > 0 && msg.value <= 10) {
            task.setTemperature(msg.value);
            if (model && paused) view(true); // while running, the next view uses it
          }
          break;
      }
    },
  };
}
