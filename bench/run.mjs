// lstm-wasm against TensorFlow.js (wasm), onnxruntime-web, onnxruntime-node and brain.js: same
// weights everywhere, outputs checked before anything is timed, everything on one thread; then the
// thread rows: lstm-wasm on 1, 2 and `cores` threads beside onnxruntime-web at the same numThreads.
//   node run.mjs            full run (several minutes)
//   node run.mjs --quick    under a minute: fewer repetitions, no L for the slow peers, a shorter sweep
//   node run.mjs --only C   only these workloads (comma-separated: S, M, L, C, H=64, threads, …);
//                           writes results/only-C.json
// Writes results/latest.json and results/chart.svg; prints a table to stdout, progress to stderr.
import os from "node:os";
import { mkdirSync, writeFileSync, readFileSync, existsSync } from "node:fs";
import { ensureRelaxedSimd } from "./lib/relaxed.mjs";
import { measure, measureInterleaved, pairedRatio, summarize } from "./lib/timing.mjs";
import { seededData, maxAbsDiff, maxAbs, forwardFlops } from "./lib/data.mjs";
import { printTable, printThreadTable, gitState } from "./lib/report.mjs";
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
const { ortNode, ortWeb, ortWebThreads } = await import("./peers/onnx.mjs");
const { childPeer } = await import("./peers/child.mjs");
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
  const base = { workload: c.name, mode: c.mode, library: p.name, backend: p.backend, ...(c.threaded ? { threads: p.threads } : {}) };
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
  await init({ backend: best, threads: 1 });
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

// ---------------------------------------------------------------- thread rows
// lstm-wasm on 1, 2 and `cores` threads, beside onnxruntime-web at the same numThreads. An n-thread
// lstm-wasm model (the thread-capable build) is timed interleaved with a 1-thread one (the
// single-thread build) on the same weights, round by round, and checked bit for bit against it;
// its gain is the median of the per-round ratios. onnxruntime-web fixes its thread count once per
// process, so each count runs in a child process of its own (peers/child.mjs), one after another:
// its gain is a ratio of medians from two processes.
const CORES = os.availableParallelism?.() ?? os.cpus().length;
const THREAD_COUNTS = [...new Set([1, 2, CORES])].sort((a, b) => a - b);
const THREAD_BUILDS = quick || !LW_SIMD ? [best] : [best, "simd"];
const ORT_WEB_THREADS = THREAD_COUNTS.map((n) => childPeer(ortWebThreads(n), { module: "./onnx.mjs", factory: "ortWebThreads", args: [n] }));
const threadCases = [];
if (!only || only.has("threads")) {
  for (const [name, mode] of [["S", "forward"], ["S", "step"], ["M", "forward"], ["M", "train"], ["L", "forward"], ["L", "train"]]) {
    if (quick && name === "L" && mode === "train") {
      for (const b of THREAD_BUILDS) skipped.push({ workload: "L", mode, library: "lstm-wasm", backend: b, threads: THREAD_COUNTS.join(", "), reason: "skipped by --quick" });
      continue;
    }
    threadCases.push({ name, wl: { name, ...WORKLOADS[name] }, mode, threaded: true });
  }
}
const threadRows = [];

const bitsEqual = (a, b) => a.length === b.length && Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));

/** Bit-for-bit comparison of two lstm-wasm outputs() (y, hn, cn or every gradient): the names that differ. */
function bitDiffs(one, many) {
  const flat = (o) => Object.entries(o).flatMap(([k, v]) => (v instanceof Float32Array ? [[k, v]] : Object.entries(v).map(([g, a]) => [`grad ${g}`, a])));
  const a = new Map(flat(one)), b = new Map(flat(many));
  const names = [...new Set([...a.keys(), ...b.keys()])];
  return { names, different: names.filter((k) => !a.has(k) || !b.has(k) || !bitsEqual(a.get(k), b.get(k))) };
}

function threadRow(c, p, t, status, flops, steps, extra) {
  const step = c.mode === "step";
  return {
    workload: c.name, mode: c.mode, ...c.wl, library: p.name, backend: p.backend, threads: p.threads, status,
    unit: step ? "us/step" : "ms", median: step ? (t.median / steps) * 1000 : t.median, min: step ? (t.min / steps) * 1000 : t.min,
    reps: t.reps, stepsPerSample: steps, flops, gflops: (flops * steps) / (t.median * 1e6), ...extra,
    samplesMs: t.samples.map((v) => +v.toFixed(4)),
  };
}

async function runThreadCase(c) {
  const { x, sd } = await inputsOf(c.wl);
  const ref = await referenceOutputs(c, x, sd);
  const flops = forwardFlops(c.mode === "step" ? { ...c.wl, T: 1 } : c.wl) * (c.mode === "train" ? 3 : 1);
  const args = { wl: c.wl, mode: c.mode, sd, x, seed: SEED };
  const fail = (p, reason) => {
    log(`${c.name} ${c.mode} ${label(p)} on ${p.threads} thread(s): ${reason}`);
    skipped.push({ workload: c.name, mode: c.mode, library: p.name, backend: p.backend, threads: p.threads, reason });
  };
  for (const build of THREAD_BUILDS) {
    const lw1 = lstmWasm(build, 1);
    let one;
    try {
      one = await lw1.prepare(args);
    } catch (e) { fail(lw1, `setup failed: ${e.message}`); continue; }
    try {
      if ((await check(lw1, one, c, ref, `${c.name} ${c.mode} ${label(lw1)} on 1 thread`)) === "FAILED") continue;
      const oneOut = await one.outputs();
      for (const n of THREAD_COUNTS.filter((k) => k > 1)) {
        const lwn = lstmWasm(build, n), where = `${c.name} ${c.mode} ${label(lwn)} on ${n} threads`;
        let many;
        try {
          many = await lwn.prepare(args); // init({ threads: n }): `one` stays on the single-thread build
        } catch (e) { fail(lwn, `setup failed: ${e.message}`); continue; }
        try {
          // Bit-identical to one thread, or not timed: outputs (or every gradient, or the streamed state).
          const { names, different } = bitDiffs(oneOut, await many.outputs());
          const same = different.length === 0;
          checks.push({ workload: c.name, mode: c.mode, library: lwn.name, backend: build, threads: n, pass: same, status: same ? "identical" : "DIFFERENT",
            note: same ? `bit-identical to 1 thread: ${names.join(", ")}` : `NOT bit-identical to 1 thread: ${different.join(", ")}` });
          if (!same) {
            process.exitCode = 1;
            fail(lwn, `NOT bit-identical to 1 thread (${different.join(", ")})`);
            continue;
          }
          log(`${where}: bit-identical to 1 thread (${names.length} arrays); timed interleaved with 1 thread`);
          const [t1, tn] = await measureInterleaved([one.run, many.run], {
            ...TIMING, onPlan: (reps, est) => log(`${where}: ${reps} rounds of ~${est.map((e) => e.toFixed(e < 10 ? 2 : 0)).join(" + ")} ms`),
          });
          const steps = one.stepsPerRun ?? 1;
          if (!threadRows.some((r) => r.workload === c.name && r.mode === c.mode && r.library === lw1.name && r.backend === build && r.threads === 1)) {
            threadRows.push(threadRow(c, lw1, t1, "checked", flops, steps, { gain: 1, pairedWith: n }));
          }
          threadRows.push(threadRow(c, lwn, tn, "identical", flops, steps, { gain: pairedRatio(t1, tn), pairedWith: 1, oneThreadMedian: t1.median / (c.mode === "step" ? steps / 1000 : 1) }));
        } catch (e) {
          fail(lwn, `failed: ${e.message}`);
        } finally {
          many.dispose();
        }
      }
    } catch (e) {
      fail(lw1, `failed: ${e.message}`);
    } finally {
      one.dispose();
    }
  }
  // onnxruntime-web, each count in its own process, checked against the same reference.
  for (const p of ORT_WEB_THREADS) {
    const support = p.supports(c.wl, c.mode);
    if (support !== true) { skipped.push({ workload: c.name, mode: c.mode, library: p.name, backend: p.backend, threads: p.threads, reason: support }); continue; }
    const where = `${c.name} ${c.mode} ${label(p)} on ${p.threads} thread(s)`;
    let r;
    try {
      r = await p.prepare(args);
    } catch (e) { fail(p, `setup failed: ${e.message}`); continue; }
    try {
      if ((await check(p, r, c, ref, where)) === "FAILED") continue;
      log(`${where}: timing itself in its process`);
      const t = summarize(await r.timed(TIMING));
      threadRows.push(threadRow(c, p, t, "checked", flops, r.stepsPerRun ?? 1, {}));
    } catch (e) {
      fail(p, `failed: ${e.message}`);
    } finally {
      await r.dispose();
    }
  }
  // gain = the same library and build on 1 thread / on n (lstm-wasm's from the interleaved rounds);
  // ratio = time / lstm-wasm (best build) on the same count.
  const rows = threadRows.filter((m) => m.workload === c.name && m.mode === c.mode);
  for (const m of rows) {
    const base = rows.find((b) => b.library === "lstm-wasm" && b.backend === best && b.threads === m.threads);
    m.ratio = base ? m.median / base.median : null;
    if (m.gain === undefined) {
      const one = rows.find((b) => b.library === m.library && b.backend === m.backend && b.threads === 1);
      m.gain = one ? one.median / m.median : null;
    }
  }
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
const threadsStarted = Date.now();
for (const c of threadCases) {
  log(`— threads: ${c.name} ${c.mode} (B=${c.wl.B}, T=${c.wl.T}, I=${c.wl.I}, H=${c.wl.H}): lstm-wasm ${THREAD_BUILDS.join(", ")} on ${THREAD_COUNTS.join(", ")} threads, onnxruntime-web on ${THREAD_COUNTS.join(", ")}`);
  await runThreadCase(c);
}
for (const p of ORT_WEB_THREADS) p.close();
const threadSeconds = (Date.now() - threadsStarted) / 1000;

const wallS = (Date.now() - started) / 1000;
const result = {
  machine: {
    cpu: os.cpus()[0].model, cores: os.cpus().length, platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    node: process.version, v8: process.versions.v8, execArgv: process.execArgv, memoryGiB: +(os.totalmem() / 2 ** 30).toFixed(1),
    loadavgStart: loadStart, loadavgEnd: os.loadavg(),
  },
  date: new Date().toISOString(),
  git: gitState(),
  run: { quick, only: only ? [...only] : null, wallSeconds: +wallS.toFixed(1), threadRowsSeconds: +threadSeconds.toFixed(1), seed: SEED, tolerance: TOL, timing: TIMING, bestBuild: best,
    cores: CORES, threadCounts: THREAD_COUNTS, threadBuilds: THREAD_BUILDS },
  versions: versions(),
  notes: [
    "Single thread everywhere: onnxruntime intra/inter-op threads 1, sequential; onnxruntime-web numThreads 1; tfjs wasm setThreadsCount(1); PyTorch set_num_threads(1), OMP/OpenBLAS threads 1.",
    "PyTorch runs torch.nn.LSTM in a Python child process (bench/peers/torch_peer.py) that times itself with the same procedure; forward under no_grad; training = forward + backward(dy = ones) + SGD step + zero_grad.",
    "FLOPs: forward 2·B·T·4H·(I+H); training step 3× that; step mode counts one time step.",
    "lstm-wasm training = forward(train) + backward(dy = ones) + SGD step + zeroGrad; tfjs = trainOnBatch (MSE, SGD); brain.js = train() for 1 iteration (its own RMSProp-style update and output layer).",
    "lstm-wasm is called as a hot loop should call it: results into reused `out` tensors (forward, training, step), Float32Array frames for step(); nothing is allocated per call. The peers allocate their outputs.",
    "brain.js' LSTM has no cell state carried between steps, so it cannot match; its rows are timing only ('not checked').",
    "C: Embedding(64, 32) -> LSTM(256, every step) -> Linear(64, softmax), per-step cross-entropy (mean over B·T), B=32, T=64; one training step with plain SGD: lstm-wasm Sequential.fit (one epoch of one batch, fused softmax-cross-entropy), tfjs trainOnBatch (sparseCategoricalCrossentropy), PyTorch forward + F.cross_entropy on the logits + backward + SGD + zero_grad. FLOPs: 3 × (the LSTM's forward + the Linear's 2·B·T·H·V). Checked: the loss and every parameter's gradient.",
    "threadRows: lstm-wasm on 1, 2 and `cores` threads (init({ backend, threads })), each n-thread model timed interleaved with a 1-thread one on the same weights after a bit-for-bit check of its outputs (forward: y, h_T, c_T; train: every gradient; step: h after the streamed steps); gain = median over rounds of t(1)/t(n). onnxruntime-web at env.wasm.numThreads = intraOpNumThreads = n, each n in a child process of its own (it fixes the count once per process), checked against lstm-wasm to the tolerance; its gain = median(1 thread) / median(n), two processes one after the other. ratio = time / lstm-wasm (best build) at the same thread count.",
    "charBreakdown: lstm-wasm's C step with each layer's forwardFlow/backwardFlow timed inside fit(), the same with Dropout(0.2) after the LSTM, and the step against the same LSTM alone (interleaved pairs); shares are medians over steps.",
  ],
  measurements, threadRows, checks, skipped, charBreakdown: charSteps,
};
const outFile = only ? `only-${[...only].join("_")}.json` : "latest.json";
mkdirSync(new URL("./results/", import.meta.url), { recursive: true });
writeFileSync(new URL(`./results/${outFile}`, import.meta.url), JSON.stringify(result, null, 2) + "\n");
if (!only) writeFileSync(new URL("./results/chart.svg", import.meta.url), renderChart(result));
if (measurements.length || !threadRows.length) printTable(result);
if (threadRows.length) printThreadTable(result);
if (charSteps) process.stdout.write("\n" + breakdownLines(charSteps).join("\n") + "\n");
closeTorch();
log(`done in ${wallS.toFixed(1)} s: results/${outFile}${only ? "" : ", results/chart.svg"}`);
