// Issue 12's acceptance check, in ONE process: lstm-wasm after init({ threads: 1 }) (the single-thread
// build) against lstm-wasm after init({ threads: 2 }) (the thread-capable build, two models kept side
// by side), beside onnxruntime-web at numThreads 2, on the same weights and inputs, timed round by round
// with the order rotating, so that other processes' load falls on all of them alike. Prints each
// ratio (the median over rounds of the per-round ratio) against its target with PASS or MISS, and
// checks that 1, 2 and 3 threads give the same bits: forward outputs and states, every streamed
// step's output and the final state, every gradient (the weights', dx, dh0, dc0), and the weights
// after the timed training steps. Exit code 1 when any bit differs (or a check cannot run).
//   node bench/threads.mjs [--backend simd|relaxed-simd] [--quick] [--rounds N] [--strict]
//   npm run bench:threads   (from the root: builds first)
// --strict: exit code 2 when a target is missed. Writes results/threads.json (results/threads-quick.json).
import os from "node:os";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { ensureRelaxedSimd } from "./lib/relaxed.mjs";
import { seededData, maxAbsDiff, forwardFlops } from "./lib/data.mjs";
import { summarize } from "./lib/timing.mjs";
import { gitState } from "./lib/report.mjs";

for (const [path, fix] of [["../dist/index.js", "cd .. && npm run build"], ["./node_modules/onnxruntime-web/package.json", "npm ci (in bench/)"]]) {
  if (!existsSync(new URL(path, import.meta.url))) {
    process.stderr.write(`bench/threads: ${path} is missing; run: ${fix}\n`);
    process.exit(1);
  }
}
const argv = process.argv.slice(2);
const opt = (name) => { const i = argv.indexOf(name); return i >= 0 ? argv[i + 1] : undefined; };
const build = opt("--backend") ?? "simd";
if (!["simd", "relaxed-simd"].includes(build)) throw new Error(`--backend: simd or relaxed-simd, not ${build}`);
if (build === "relaxed-simd" && !ensureRelaxedSimd().ok) throw new Error("relaxed SIMD is not available in this Node");
const quick = argv.includes("--quick"), strict = argv.includes("--strict");
const fixedRounds = opt("--rounds") ? Number(opt("--rounds")) : null;

const { init, LSTM, SGD } = await import("../dist/index.js");
const { ortWebThreads } = await import("./peers/onnx.mjs");

const started = Date.now();
// Anything that stops the check (a pool that breaks, a peer that fails) ends it loudly, in one line
// rather than with a bundle's source around the stack: exit code 1.
process.on("uncaughtException", (e) => {
  process.stderr.write(`\nFAILED after ${((Date.now() - started) / 1000).toFixed(1)} s: ${e?.message ?? e}\n`);
  process.exit(1);
});
const log = (s) => process.stderr.write(`[threads ${((Date.now() - started) / 1000).toFixed(0).padStart(3)}s] ${s}\n`);
const SEED = 20240917; // as run.mjs: the weights' seed; the input uses SEED + 1
const TOL = 1e-4; // onnxruntime-web against lstm-wasm (a sanity check; lstm-wasm's threads must match bit for bit)
const SAMPLE_MS = 15; // a sample is as many calls as last about this long (one call when longer)
const BUDGET_MS = quick ? 1500 : 8000; // per case, over all its rounds
const MIN_ROUNDS = quick ? 5 : 11, MAX_ROUNDS = 201;

const WORKLOADS = {
  S: { B: 1, T: 100, I: 32, H: 128 },
  M: { B: 32, T: 100, I: 128, H: 256 },
  L: { B: 64, T: 50, I: 512, H: 512 },
  // Just above the split threshold (B·4H·H = 2^18 multiply-adds a step): what a step's barrier and
  // the threads' other per-step costs come to, for the estimate of more cores.
  P: { B: 1, T: 100, I: 32, H: 256 },
};
const CASES = [
  ["S", "forward"], ["S", "step"], ["P", "forward"], ["M", "forward"], ["M", "train"], ["L", "forward"], ["L", "train"],
];
const TARGETS = [
  { what: "M forward, 2 threads vs 1", key: "M forward", ratio: "gain", target: 1.6 },
  { what: "L forward, 2 threads vs 1", key: "L forward", ratio: "gain", target: 1.6 },
  { what: "M training step, 2 threads vs 1", key: "M train", ratio: "gain", target: 1.6 },
  { what: "L training step, 2 threads vs 1", key: "L train", ratio: "gain", target: 1.6 },
  { what: "M forward vs onnxruntime-web, both 2 threads", key: "M forward", ratio: "vsOrt", target: 1.8 },
  { what: "L forward vs onnxruntime-web, both 2 threads", key: "L forward", ratio: "vsOrt", target: 1.8 },
  { what: "S forward, 2 threads vs 1 (never slower)", key: "S forward", ratio: "gain", target: 0.95 },
  { what: "S step(), 2 threads vs 1 (never slower)", key: "S step", ratio: "gain", target: 0.95 },
];

const copy = (a) => Float32Array.from(a);
const bitsEqual = (a, b) => a.length === b.length && Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
const median = (a) => summarize(a).median;

/**
 * One lstm-wasm model set up for a case: run() is the timed call, as run.mjs calls it (results into
 * reused `out` tensors; training = forward(train) + backward(dy = ones) + SGD step + zeroGrad);
 * snapshot() everything the call computes, as named copies, without changing the weights.
 */
function lstmCase(wl, mode, sd, x) {
  const { B, T, I, H } = wl;
  const m = new LSTM({ inputSize: I, hiddenSize: H, seed: SEED });
  m.loadStateDict(sd);
  if (m.backend !== build) throw new Error(`the model runs on ${m.backend}, not ${build}`);
  const t3 = (n, a, b) => ({ data: new Float32Array(n * a * b), shape: [n, a, b] });
  const out = { y: t3(T, B, H), hn: t3(1, B, H), cn: t3(1, B, H) };
  if (mode === "forward") {
    const run = () => m.forward(x, { seqLen: T, batch: B, out });
    const snapshot = () => { run(); return { y: copy(out.y.data), hn: copy(out.hn.data), cn: copy(out.cn.data) }; };
    return { m, run, snapshot };
  }
  if (mode === "train") {
    const dy = { data: new Float32Array(T * B * H).fill(1), shape: [T, B, H] };
    const bout = { dx: t3(T, B, I), dh0: t3(1, B, H), dc0: t3(1, B, H) };
    const sgd = new SGD({ lr: 1e-6 });
    const run = () => {
      m.forward(x, { seqLen: T, batch: B, train: true, out });
      m.backward({ dy, out: bout });
      sgd.step(m);
      m.zeroGrad();
    };
    const snapshot = () => {
      m.zeroGrad();
      m.forward(x, { seqLen: T, batch: B, train: true, out });
      m.backward({ dy, out: bout });
      const r = { y: copy(out.y.data), hn: copy(out.hn.data), cn: copy(out.cn.data), dx: copy(bout.dx.data), dh0: copy(bout.dh0.data), dc0: copy(bout.dc0.data) };
      for (const [k, t] of Object.entries(m.grads())) r[`grad ${k}`] = copy(t.data);
      m.zeroGrad();
      return r;
    };
    const weights = () => Object.fromEntries(Object.entries(m.stateDict()).map(([k, t]) => [k, copy(t.data)]));
    return { m, run, snapshot, weights };
  }
  // step: T single steps from a zero state, each frame a Float32Array, the result into a reused `out`.
  const steps = Array.from({ length: T }, (_, t) => x.subarray(t * B * I, (t + 1) * B * I));
  const hout = { data: new Float32Array(B * H), shape: [B, H] };
  const run = () => {
    const state = m.initialState(B);
    for (const xt of steps) m.step(xt, state, hout);
    return state;
  };
  const snapshot = () => {
    const state = m.initialState(B), all = new Float32Array(T * B * H);
    steps.forEach((xt, t) => { m.step(xt, state, hout); all.set(hout.data, t * B * H); });
    return { "every step's h": all, "final h": copy(state.h.data), "final c": copy(state.c.data) };
  };
  return { m, run, snapshot, stepsPerRun: T };
}

/** The names whose arrays differ bit for bit between two snapshots (a missing name differs). */
function differing(a, b) {
  const names = [...new Set([...Object.keys(a), ...Object.keys(b)])];
  return names.filter((k) => !(k in a) || !(k in b) || !bitsEqual(a[k], b[k]));
}

// ------------------------------------------------------------------ set-up
const cores = os.availableParallelism?.() ?? os.cpus().length;
log(`${os.cpus()[0].model}, ${cores} cores, Node ${process.version}; lstm-wasm ${build}; ${quick ? "quick" : "full"} run`);
const data = {};
for (const [name, wl] of Object.entries(WORKLOADS)) {
  await init({ backend: build, threads: 1 });
  const seedModel = new LSTM({ inputSize: wl.I, hiddenSize: wl.H, seed: SEED });
  data[name] = { sd: seedModel.stateDict(), x: seededData(wl.T * wl.B * wl.I, SEED + 1) };
  seedModel.dispose();
}
// Every 1-thread model first, then every 2-thread one: init({ threads: 1 }) would stop the workers
// the 2-thread models use, so it is not called again while they are timed.
const one = {}, two = {};
const r1 = await init({ backend: build, threads: 1 });
for (const [name, mode] of CASES) one[`${name} ${mode}`] = lstmCase(WORKLOADS[name], mode, data[name].sd, data[name].x);
const r2 = await init({ backend: build, threads: 2 });
if (r2.threads !== 2) throw new Error(`init({ threads: 2 }) gave ${r2.threads} thread(s): ${r2.threadsReason ?? "no reason given"}`);
for (const [name, mode] of CASES) two[`${name} ${mode}`] = lstmCase(WORKLOADS[name], mode, data[name].sd, data[name].x);
log(`lstm-wasm: ${JSON.stringify(r1)} and ${JSON.stringify(r2)}`);
const ortPeer = ortWebThreads(2), ort = {};
for (const [name, mode] of CASES) {
  if (mode !== "forward" || name === "P") continue;
  ort[`${name} ${mode}`] = await ortPeer.prepare({ wl: WORKLOADS[name], mode, sd: data[name].sd, x: data[name].x });
}

// ------------------------------------------------------------------ bit-identity, before timing
const identity = [];
let identical = true;
function checkBits(key, threads, a, b, what = "outputs") {
  const diff = differing(a, b);
  const ok = diff.length === 0;
  identity.push({ case: key, threads, what, arrays: Object.keys(a), identical: ok, differing: diff });
  if (!ok) {
    identical = false;
    log(`NOT BIT-IDENTICAL: ${key} on ${threads} threads vs 1: ${diff.join(", ")}`);
  }
  return ok;
}
const ref = {}, ortChecks = [];
for (const key of Object.keys(one)) {
  ref[key] = one[key].snapshot();
  checkBits(key, 2, ref[key], two[key].snapshot());
  if (ort[key]) {
    const got = await ort[key].outputs();
    const diffs = { y: maxAbsDiff(ref[key].y, got.y), hn: maxAbsDiff(ref[key].hn, got.hn), cn: maxAbsDiff(ref[key].cn, got.cn) };
    const ok = Math.max(...Object.values(diffs)) <= TOL;
    ortChecks.push({ case: key, diffs, ok });
    if (!ok) throw new Error(`onnxruntime-web's ${key} differs from lstm-wasm's: ${JSON.stringify(diffs)}`);
  }
}
log(`bit-identity, 2 threads vs 1: ${identity.every((c) => c.identical) ? "every array of every case identical" : "DIFFERENCES (above)"}`);

// ------------------------------------------------------------------ timing
/** Calls of fn that last about SAMPLE_MS (1 for longer calls), and how many calls finding it made. */
async function callsFor(fn) {
  for (let n = 1, made = 0; ; n *= 2) {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) await fn();
    made += n;
    const dt = performance.now() - t0;
    if (dt >= SAMPLE_MS / 4) return { calls: Math.max(1, Math.round((n * SAMPLE_MS) / dt)), made };
  }
}
/** ms per call over n calls; awaits only what returns a promise (lstm-wasm's calls are synchronous). */
async function per(fn, n) {
  const t0 = performance.now();
  for (let i = 0; i < n; i++) { const r = fn(); if (r && typeof r.then === "function") await r; }
  return (performance.now() - t0) / n;
}

const results = {};
for (const [name, mode] of CASES) {
  const key = `${name} ${mode}`, wl = WORKLOADS[name];
  const sides = [["1 thread", one[key].run], ["2 threads", two[key].run]];
  if (ort[key]) sides.push(["onnxruntime-web 2 threads", ort[key].run]);
  // The same number of calls of both lstm-wasm models (so trained weights can be compared after).
  const { calls: lwCalls, made } = await callsFor(one[key].run);
  for (let i = 0; i < made; i++) two[key].run();
  const calls = [lwCalls, lwCalls];
  if (ort[key]) calls.push((await callsFor(ort[key].run)).calls);
  for (let w = 0; w < (lwCalls === 1 ? 1 : 2); w++) for (let j = 0; j < sides.length; j++) await per(sides[j][1], calls[j]); // warm-up rounds
  if (mode === "train" && lwCalls > 1) throw new Error("a training call shorter than a sample: the weights check below assumes one call per sample");
  const est = [];
  for (let j = 0; j < sides.length; j++) est.push(await per(sides[j][1], calls[j]) * calls[j]);
  const rounds = fixedRounds ?? Math.max(MIN_ROUNDS, Math.min(MAX_ROUNDS, Math.round(BUDGET_MS / est.reduce((a, b) => a + b, 0))));
  log(`${key} (B=${wl.B} T=${wl.T} I=${wl.I} H=${wl.H}): ${rounds} rounds of ${sides.map(([l], j) => `${l} ${calls[j]}×`).join(", ")} (~${est.map((e) => e.toFixed(0)).join(" + ")} ms)`);
  const t = sides.map(() => []);
  for (let r = 0; r < rounds; r++) {
    for (let j = 0; j < sides.length; j++) {
      const k = (j + r) % sides.length; // the order rotates, so no side always follows the same one
      t[k].push(await per(sides[k][1], calls[k]));
    }
  }
  const perRound = (a, b) => median(t[a].map((v, r) => v / t[b][r]));
  const steps = one[key].stepsPerRun ?? 1, unit = mode === "step" ? "us/step" : "ms", scale = mode === "step" ? 1000 / steps : 1;
  const flops = forwardFlops(mode === "step" ? { ...wl, T: 1 } : wl) * (mode === "train" ? 3 : 1) * steps;
  results[key] = {
    workload: name, mode, ...wl, unit, rounds, callsPerSample: calls,
    median: Object.fromEntries(sides.map(([l], j) => [l, median(t[j]) * scale])),
    min: Object.fromEntries(sides.map(([l], j) => [l, Math.min(...t[j]) * scale])),
    gflops: Object.fromEntries(sides.map(([l], j) => [l, flops / (median(t[j]) * 1e6)])),
    gain: perRound(0, 1), // t(1 thread) / t(2 threads)
    vsOrt: ort[key] ? perRound(2, 1) : null, // t(onnxruntime-web 2) / t(lstm-wasm 2)
    samplesMs: Object.fromEntries(sides.map(([l], j) => [l, t[j].map((v) => +v.toFixed(4))])),
  };
  const r = results[key];
  log(`${key}: ${sides.map(([l]) => `${l} ${r.median[l].toFixed(3)} ${unit}`).join(", ")}; 1/2 threads ×${r.gain.toFixed(3)}${r.vsOrt ? `, onnxruntime-web/lstm-wasm ×${r.vsOrt.toFixed(3)}` : ""}`);
}

// ------------------------------------------------------------------ bit-identity, after timing
// The training models took the same number of SGD steps on 1 and 2 threads: their weights must agree.
for (const key of Object.keys(one)) if (one[key].weights) checkBits(key, 2, one[key].weights(), two[key].weights(), "weights after the timed SGD steps");
// 3 threads (on a 2-core machine: more threads than cores, which must change nothing but the time).
const r3 = await init({ backend: build, threads: 3 });
if (r3.threads !== 3) { identical = false; log(`init({ threads: 3 }) gave ${r3.threads}: ${r3.threadsReason}`); }
// The 2-thread models now run on 3. Against a fresh 1-thread snapshot: the training models' weights
// have moved by the timed SGD steps (alike on both, as checked above).
else for (const key of Object.keys(one)) checkBits(key, 3, one[key].snapshot(), two[key].snapshot());
await init({ backend: build, threads: 1 }); // stops the workers
for (const key of Object.keys(one)) { one[key].m.dispose(); two[key].m.dispose(); ort[key]?.dispose(); }

// ------------------------------------------------------------------ the estimate for more cores
// From the measured 2-thread times only: the part that did not halve, s = 2·t2 − t1 (serial code,
// waiting at barriers, uneven shares, memory traffic), is assumed to stay; the rest divides by n.
// What splitting costs per time step, from P: (t2 − t1/2)/T (a forward step meets at 2 barriers; it
// also holds whatever else did not halve at B = 1), is assumed to grow linearly with the threads
// that meet (n/2 times the 2-thread cost); a training step has twice a forward step's barriers
// (2 in forward, 2 in backward). An estimate, not a measurement: see the README's Performance section.
const P = results["P forward"];
const stepCostUs = ((P.median["2 threads"] - P.median["1 thread"] / 2) / WORKLOADS.P.T) * 1000;
function estimate(key, n) {
  const r = results[key], t1 = r.median["1 thread"], t2 = r.median["2 threads"];
  const s = Math.max(0, 2 * t2 - t1), steps = r.mode === "train" ? 2 : 1; // in forward steps' barriers
  const tn = (t1 - s) / n + s + (r.T * steps * Math.max(0, stepCostUs) * (n / 2 - 1)) / 1000;
  return t1 / tn;
}
const estimates = Object.fromEntries(["M forward", "M train", "L forward", "L train"].map((k) => [k, { 4: estimate(k, 4), 8: estimate(k, 8) }]));

// ------------------------------------------------------------------ report
const fmt = (v, u) => (u === "us/step" ? v.toFixed(2) : v >= 100 ? v.toFixed(1) : v.toFixed(2));
const lines = [];
lines.push(`lstm-wasm threads — ${os.cpus()[0].model}, ${cores} cores, Node ${process.version}, ${build} build; one process, interleaved rounds; medians`);
lines.push("");
lines.push("case        B  T    I    H     unit     1 thread  2 threads  ort-web 2t  rounds  1t/2t (per round)  ort/lstm (per round)");
for (const r of Object.values(results)) {
  const m = r.median;
  lines.push(`${`${r.workload} ${r.mode}`.padEnd(10)} ${String(r.B).padStart(2)} ${String(r.T).padStart(3)} ${String(r.I).padStart(4)} ${String(r.H).padStart(4)}  ${r.unit.padEnd(7)} ${fmt(m["1 thread"], r.unit).padStart(9)}  ${fmt(m["2 threads"], r.unit).padStart(9)}  ${(m["onnxruntime-web 2 threads"] !== undefined ? fmt(m["onnxruntime-web 2 threads"], r.unit) : "—").padStart(10)}  ${String(r.rounds).padStart(6)}  ${`×${r.gain.toFixed(3)}`.padStart(17)}  ${(r.vsOrt ? `×${r.vsOrt.toFixed(3)}` : "—").padStart(20)}`);
}
lines.push("");
lines.push("targets (simd build on Node 20 unless stated; ratio = median over rounds):");
const verdicts = TARGETS.map((t) => {
  const measured = results[t.key][t.ratio];
  return { ...t, measured, met: measured >= t.target };
});
for (const v of verdicts) lines.push(`  ${v.met ? "PASS" : "MISS"}  ${v.what.padEnd(48)} ≥ ${v.target.toFixed(2)}×   measured ×${v.measured.toFixed(3)}`);
const idLine = (n) => {
  const rows = identity.filter((c) => c.threads === n);
  const bad = rows.filter((c) => !c.identical);
  return `${bad.length ? "FAIL" : "PASS"}  bit-identical, ${n} threads vs 1: ${rows.length} checks (${rows.reduce((a, c) => a + c.arrays.length, 0)} arrays)${bad.length ? `; DIFFERENT: ${bad.map((c) => `${c.case} ${c.what} [${c.differing.join(", ")}]`).join("; ")}` : ""}`;
};
lines.push(`  ${idLine(2)}`);
lines.push(`  ${r3.threads === 3 ? idLine(3) : "FAIL  3 threads could not be started"}`);
lines.push("    (outputs y, h_T, c_T; every streamed step's h and the final state; dx, dh0, dc0 and every weight gradient; weights after the timed SGD steps)");
lines.push("    (S is below the split threshold and runs on one thread by design; P, B=1 H=256, and M and L are split)");
lines.push(`  onnxruntime-web (2 threads) against lstm-wasm: ${ortChecks.map((c) => `${c.case} max |Δ| ${Math.max(...Object.values(c.diffs)).toExponential(1)}`).join(", ")} (tolerance ${TOL})`);
lines.push("");
lines.push(`per-step cost of the threads (P: B=1 T=100 I=32 H=256, just above the split threshold): (t2 − t1/2)/T = ${stepCostUs.toFixed(2)} µs; P's gain ×${P.gain.toFixed(3)}`);
lines.push("ESTIMATE (not measured) from these 2-thread numbers, the part that did not halve kept, barriers growing with n:");
for (const [k, e] of Object.entries(estimates)) lines.push(`  ${k.padEnd(10)} 4 threads ×${e[4].toFixed(2)}, 8 threads ×${e[8].toFixed(2)} (vs 1 thread)`);
const wall = (Date.now() - started) / 1000;
lines.push("");
lines.push(`done in ${wall.toFixed(1)} s`);
process.stdout.write(lines.join("\n") + "\n");

mkdirSync(new URL("./results/", import.meta.url), { recursive: true });
const file = quick ? "threads-quick.json" : "threads.json";
writeFileSync(new URL(`./results/${file}`, import.meta.url), JSON.stringify({
  machine: { cpu: os.cpus()[0].model, cores, node: process.version, v8: process.versions.v8, execArgv: process.execArgv, loadavgEnd: os.loadavg() },
  date: new Date().toISOString(), git: gitState(), build, quick, wallSeconds: +wall.toFixed(1), init: { one: r1, two: r2, three: r3 },
  targets: verdicts, identity, ortChecks, stepCostUs, estimates, results,
}, null, 2) + "\n");
log(`wrote results/${file}`);
if (!identical) {
  process.stderr.write("\nFAILED: 1, 2 and 3 threads do not give the same bits (see above)\n");
  process.exit(1);
}
if (strict && verdicts.some((v) => !v.met)) process.exit(2);
process.exit(0);
