// lstm-wasm against TensorFlow.js (wasm), onnxruntime-web, onnxruntime-node and brain.js: same
// weights everywhere, outputs checked before anything is timed, everything on one thread.
//   node run.mjs            full run (several minutes)
//   node run.mjs --quick    under a minute: fewer repetitions, no L for the slow peers, a shorter sweep
//   node run.mjs --only C   only these workloads (comma-separated: S, M, L, C, H=64, …); writes results/only-C.json
// Writes results/latest.json and results/chart.svg; prints a table to stdout, progress to stderr.
import os from "node:os";
import { mkdirSync, writeFileSync, readFileSync, existsSync } from "node:fs";
import { ensureRelaxedSimd } from "./lib/relaxed.mjs";
import { measure, summarize } from "./lib/timing.mjs";
import { seededData, maxAbsDiff, maxAbs, forwardFlops } from "./lib/data.mjs";
import { printTable } from "./lib/report.mjs";
import { renderChart } from "./chart.mjs";

for (const [path, fix] of [["../dist/index.js", "cd .. && npm run build"], ["./node_modules/onnxruntime-web/package.json", "npm ci (in bench/)"]]) {
  if (!existsSync(new URL(path, import.meta.url))) {
    process.stderr.write(`bench: ${path} is missing; run: ${fix}\n`);
    process.exit(1);
  }
}
const relaxed = ensureRelaxedSimd(); // on Node 20 this re-runs the script with the flag and exits
const { init, LSTM } = await import("../dist/index.js");
const { lstmWasm } = await import("./peers/lstmwasm.mjs");
const { ortNode, ortWeb } = await import("./peers/onnx.mjs");
const { tfjs } = await import("./peers/tfjs.mjs");
const { brainjs } = await import("./peers/brain.mjs");
const { torch, torchInfo, closeTorch } = await import("./peers/torch.mjs");
const { charModel } = await import("./peers/lstmwasm.mjs");
const { CHAR, charData, charFlops, charBreakdown, breakdownLines } = await import("./char.mjs");

const quick = process.argv.includes("--quick");
const onlyArg = process.argv.indexOf("--only");
const only = onlyArg > 0 ? new Set((process.argv[onlyArg + 1] ?? "").split(",")) : null;
const started = Date.now();
const log = (s) => process.stderr.write(`[bench ${((Date.now() - started) / 1000).toFixed(0).padStart(3)}s] ${s}\n`);

const SEED = 20240917; // lstm-wasm's initialisation seed; the input data uses SEED + 1
const TOL = 1e-4; // outputs: max |peer - lstm-wasm|; gradients: max |Δ| / max |g|
const WORKLOADS = {
  S: { B: 1, T: 100, I: 32, H: 128 },
  M: { B: 32, T: 100, I: 128, H: 256 },
  L: { B: 64, T: 50, I: 512, H: 512 },
};
const SWEEP_H = [32, 64, 128, 256, 512];
const SWEEP = { B: 16, T: 50, I: 64 };

const best = relaxed.ok ? "relaxed-simd" : "simd";
const LW_BEST = lstmWasm(best);
const LW_SIMD = relaxed.ok ? lstmWasm("simd") : null;
const SLOW = [tfjs, brainjs];

// Every case: which libraries run it, and in --quick which of them (the others are listed as skipped).
// Quick skips L for the slow peers and PyTorch, tfjs training beyond S and the sweep's largest sizes.
const cases = [], quickSkips = [];
const ALL = [LW_BEST, LW_SIMD, ortNode, ortWeb, torch, tfjs, brainjs].filter(Boolean);
const FAST = ALL.filter((p) => !SLOW.includes(p));
const add = (name, wl, mode, libs, quickLibs) => {
  if (only && !only.has(name)) return;
  quickLibs ??= libs;
  const run = (quick ? quickLibs : libs).filter(Boolean);
  for (const p of libs) {
    if (!p || run.includes(p)) continue;
    const support = p.supports(wl, mode);
    quickSkips.push({ workload: name, mode, library: p.name, backend: p.backend, reason: support === true ? "skipped by --quick" : support });
  }
  cases.push({ name, wl: { name, ...wl }, mode, libs: run });
};
add("S", WORKLOADS.S, "forward", ALL);
add("S", WORKLOADS.S, "train", ALL);
add("S", WORKLOADS.S, "step", [LW_BEST, LW_SIMD, ortNode, ortWeb]);
add("M", WORKLOADS.M, "forward", ALL);
add("M", WORKLOADS.M, "train", ALL, [LW_BEST, LW_SIMD, ortNode, ortWeb, torch, brainjs]);
// PyTorch too: with Debian's reference BLAS (no OpenBLAS installed) its L alone takes a minute.
const QUICK_L = FAST.filter((p) => p !== torch);
add("L", WORKLOADS.L, "forward", ALL, QUICK_L);
add("L", WORKLOADS.L, "train", ALL, QUICK_L);
// C: a character model's training step (bench/char.mjs); onnxruntime has no training, brain.js no embedding.
add("C", CHAR, "train", [LW_BEST, LW_SIMD, torch, tfjs], [LW_BEST, LW_SIMD, torch]);
for (const H of SWEEP_H) add(`H=${H}`, { ...SWEEP, H }, "forward", [LW_BEST, LW_SIMD, ortNode, ortWeb], H <= 128 ? undefined : []);

const TIMING = quick
  ? { budgetMs: 150, minReps: 5, minRepsSlow: 2, maxReps: 100, warmup: 1 }
  : { budgetMs: 2000, minReps: 15, minRepsSlow: 3, maxReps: 400, warmup: 2 };

const measurements = [], checks = [], skipped = [...quickSkips];
const loadStart = os.loadavg();
const label = (p) => `${p.name} (${p.backend})`;

/** What every library is compared with: lstm-wasm (best build) forward or training outputs. */
async function referenceOutputs(c, x, sd) {
  const mode = c.mode === "step" ? "forward" : c.mode; // streaming must end where the sequence does
  const r = await LW_BEST.prepare({ wl: c.wl, mode, sd, x, seed: SEED });
  const out = await r.outputs();
  r.dispose();
  return out;
}

function compare(ref, got) {
  const diffs = {};
  for (const k of ["y", "hn", "cn", "loss"]) if (got[k] && ref[k]) diffs[k] = maxAbsDiff(ref[k], got[k]);
  if (got.grads) {
    for (const [k, g] of Object.entries(got.grads)) diffs[`grad ${k} (rel)`] = maxAbsDiff(ref.grads[k], g) / maxAbs(ref.grads[k]);
  }
  const worst = Math.max(...Object.values(diffs));
  return { diffs, worst, pass: Object.keys(diffs).length > 0 && worst <= TOL };
}

const fmt = (d) => Object.entries(d).map(([k, v]) => `${k} ${v.toExponential(2)}`).join(", ");

/** Compares a library's outputs with the reference; returns the row status ("FAILED": do not time it). */
async function check(p, r, c, ref, where) {
  const base = { workload: c.name, mode: c.mode, library: p.name, backend: p.backend };
  if (p === LW_BEST && c.mode !== "step") return "reference";
  if (p.mismatch) {
    // A library that cannot match torch.nn.LSTM: show how far it is, and how close to its own model.
    const status = "not checked";
    if (!r.outputs) {
      checks.push({ ...base, pass: false, status, note: `${p.mismatch}: timing only` });
      return status;
    }
    const got = await r.outputs();
    const vsLstm = compare(ref, got);
    const vsOwn = r.reference ? compare(r.reference(), got) : null;
    const note = p.mismatch + (vsOwn ? `; vs a float64 model of its own recurrence with the same weights: ${fmt(vsOwn.diffs)}` : "");
    checks.push({ ...base, diffs: vsLstm.diffs, ownModelDiffs: vsOwn?.diffs, pass: false, status, note });
    log(`${where}: NOT CHECKED: vs lstm-wasm ${fmt(vsLstm.diffs)}; ${note}`);
    return status;
  }
  const cmp = compare(ref, await r.outputs());
  checks.push({ ...base, diffs: cmp.diffs, tolerance: TOL, pass: cmp.pass, status: cmp.pass ? "ok" : "FAILED" });
  log(`${where}: check ${cmp.pass ? "ok" : "FAILED"}: ${fmt(cmp.diffs)}`);
  if (!cmp.pass) skipped.push({ ...base, reason: `outputs differ from lstm-wasm (${fmt(cmp.diffs)} > ${TOL})` });
  return cmp.pass ? "checked" : "FAILED";
}

/** The one set of weights every library gets, and the input: features [T,B,I], or ids and targets for C. */
async function inputsOf(wl) {
  const { B, T, I } = wl, char = wl.kind === "char";
  await init({ backend: best });
  const seedModel = char ? charModel(wl, SEED) : new LSTM({ inputSize: I, hiddenSize: wl.H, seed: SEED });
  const sd = seedModel.stateDict();
  seedModel.dispose();
  return { sd, x: char ? charData(wl, SEED + 1) : seededData(T * B * I, SEED + 1) };
}

async function runCase(c) {
  const { x, sd } = await inputsOf(c.wl);
  const ref = await referenceOutputs(c, x, sd);
  const flopsPerRun = c.wl.kind === "char" ? charFlops(c.wl)
    : forwardFlops(c.mode === "step" ? { ...c.wl, T: 1 } : c.wl) * (c.mode === "train" ? 3 : 1);

  for (const p of c.libs) {
    const where = `${c.name} ${c.mode} ${label(p)}`;
    const support = p.supports(c.wl, c.mode);
    if (support !== true) {
      skipped.push({ workload: c.name, mode: c.mode, library: p.name, backend: p.backend, reason: support });
      continue;
    }
    let r;
    try {
      r = await p.prepare({ wl: c.wl, mode: c.mode, sd, x, seed: SEED });
    } catch (e) {
      log(`${where}: could not be set up: ${e.message}`);
      skipped.push({ workload: c.name, mode: c.mode, library: p.name, backend: p.backend, reason: `setup failed: ${e.message}` });
      continue;
    }
    let status, t;
    try {
      status = await check(p, r, c, ref, where);
      if (status === "FAILED") continue;
      if (r.timed) log(`${where}: timing itself`);
      t = r.timed ? summarize(await r.timed(TIMING))
        : await measure(r.run, { ...TIMING, onPlan: (reps, est) => log(`${where}: ${reps} reps of ~${est.toFixed(est < 10 ? 2 : 0)} ms`) });
    } catch (e) {
      log(`${where}: failed: ${e.message}`);
      skipped.push({ workload: c.name, mode: c.mode, library: p.name, backend: p.backend, reason: `failed: ${e.message}` });
      continue;
    } finally {
      r.dispose();
    }
    const steps = r.stepsPerRun ?? 1;
    const m = {
      workload: c.name, mode: c.mode, ...c.wl, library: p.name, backend: p.backend, status,
      unit: c.mode === "step" ? "us/step" : "ms",
      median: c.mode === "step" ? (t.median / steps) * 1000 : t.median,
      min: c.mode === "step" ? (t.min / steps) * 1000 : t.min,
      reps: t.reps, stepsPerSample: steps, flops: flopsPerRun,
      gflops: (flopsPerRun * steps) / (t.median * 1e6),
      samplesMs: t.samples.map((v) => +v.toFixed(4)),
    };
    measurements.push(m);
  }
  // ratio = peer time / lstm-wasm (best build) time, same workload and mode
  const base = measurements.find((m) => m.workload === c.name && m.mode === c.mode && m.library === "lstm-wasm" && m.backend === best);
  for (const m of measurements) if (m.workload === c.name && m.mode === c.mode) m.ratio = base ? m.median / base.median : null;
}

function versions() {
  const v = (name) => JSON.parse(readFileSync(new URL(`./node_modules/${name}/package.json`, import.meta.url), "utf8")).version;
  const js = Object.fromEntries(["@tensorflow/tfjs", "@tensorflow/tfjs-backend-wasm", "onnxruntime-web", "onnxruntime-node", "brain.js"].map((n) => [n, v(n)]));
  return { ...js, torch: torchInfo.version ? `${torchInfo.version} (${torchInfo.blas ?? "BLAS unknown"})` : "not found" };
}

log(`${quick ? "quick" : "full"} run on ${os.cpus()[0].model}, Node ${process.version}; lstm-wasm builds: ${best}${LW_SIMD ? ", simd" : ""}` +
  (relaxed.ok ? "" : ` (relaxed SIMD unavailable: ${relaxed.reason})`));
for (const c of cases) {
  if (!c.libs.length) continue;
  const sizes = c.wl.kind === "char" ? `B=${c.wl.B}, T=${c.wl.T}, V=${c.wl.V}, E=${c.wl.E}, H=${c.wl.H}` : `B=${c.wl.B}, T=${c.wl.T}, I=${c.wl.I}, H=${c.wl.H}`;
  log(`— ${c.name} ${c.mode} (${sizes}): ${c.libs.map(label).join(", ")}`);
  await runCase(c);
}
// What the layers around the LSTM cost in C's step (lstm-wasm, best build): see char.mjs.
let charSteps = null;
if (!only || only.has("C")) {
  const { sd, x } = await inputsOf(CHAR);
  charSteps = await charBreakdown(best, CHAR, sd, x, SEED, { steps: quick ? 8 : 30, log });
}

const wallS = (Date.now() - started) / 1000;
const result = {
  machine: {
    cpu: os.cpus()[0].model, cores: os.cpus().length, platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    node: process.version, v8: process.versions.v8, execArgv: process.execArgv, memoryGiB: +(os.totalmem() / 2 ** 30).toFixed(1),
    loadavgStart: loadStart, loadavgEnd: os.loadavg(),
  },
  date: new Date().toISOString(),
  run: { quick, only: only ? [...only] : null, wallSeconds: +wallS.toFixed(1), seed: SEED, tolerance: TOL, timing: TIMING, bestBuild: best },
  versions: versions(),
  notes: [
    "Single thread everywhere: onnxruntime intra/inter-op threads 1, sequential; onnxruntime-web numThreads 1; tfjs wasm setThreadsCount(1); PyTorch set_num_threads(1), OMP/OpenBLAS threads 1.",
    "PyTorch runs torch.nn.LSTM in a Python child process (bench/peers/torch_peer.py) that times itself with the same procedure; forward under no_grad; training = forward + backward(dy = ones) + SGD step + zero_grad.",
    "FLOPs: forward 2·B·T·4H·(I+H); training step 3× that; step mode counts one time step.",
    "lstm-wasm training = forward(train) + backward(dy = ones) + SGD step + zeroGrad; tfjs = trainOnBatch (MSE, SGD); brain.js = train() for 1 iteration (its own RMSProp-style update and output layer).",
    "lstm-wasm is called as a hot loop should call it: results into reused `out` tensors (forward, training, step), Float32Array frames for step(); nothing is allocated per call. The peers allocate their outputs.",
    "brain.js' LSTM has no cell state carried between steps, so it cannot match; its rows are timing only ('not checked').",
    "C: Embedding(64, 32) -> LSTM(256, every step) -> Linear(64, softmax), per-step cross-entropy (mean over B·T), B=32, T=64; one training step with plain SGD: lstm-wasm Sequential.fit (one epoch of one batch, fused softmax-cross-entropy), tfjs trainOnBatch (sparseCategoricalCrossentropy), PyTorch forward + F.cross_entropy on the logits + backward + SGD + zero_grad. FLOPs: 3 × (the LSTM's forward + the Linear's 2·B·T·H·V). Checked: the loss and every parameter's gradient.",
    "charBreakdown: lstm-wasm's C step with each layer's forwardFlow/backwardFlow timed inside fit(), the same with Dropout(0.2) after the LSTM, and the step against the same LSTM alone (interleaved pairs); shares are medians over steps.",
  ],
  measurements, checks, skipped, charBreakdown: charSteps,
};
const outFile = only ? `only-${[...only].join("_")}.json` : "latest.json";
mkdirSync(new URL("./results/", import.meta.url), { recursive: true });
writeFileSync(new URL(`./results/${outFile}`, import.meta.url), JSON.stringify(result, null, 2) + "\n");
if (!only) writeFileSync(new URL("./results/chart.svg", import.meta.url), renderChart(result));
printTable(result);
if (charSteps) process.stdout.write("\n" + breakdownLines(charSteps).join("\n") + "\n");
closeTorch();
log(`done in ${wallS.toFixed(1)} s: results/${outFile}${only ? "" : ", results/chart.svg"}`);
