// The machine's f32x4 ceiling and lstm-wasm's kernels alone (GEMM on the LSTM's shapes, sigmoid
// and tanh), per build, straight from the raw exports of build/*.wasm.
//   node kernels.mjs [--quick]
// The ceiling kernel (assembly/ceiling.ts) is compiled here with the repo's asc into build/, twice:
// mul+add (simd) and relaxed_madd (relaxed-simd, fused where the CPU has FMA). Each build's GEMM is
// reported as a % of the ceiling of the same arithmetic: simd and scalar against mul+add, relaxed-simd
// against FMA. Writes results/kernels.json.
import os from "node:os";
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync, existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { ensureRelaxedSimd } from "./lib/relaxed.mjs";
import { seededData, maxAbsDiff } from "./lib/data.mjs";

const relaxed = ensureRelaxedSimd();
const quick = process.argv.includes("--quick");
const here = (p) => fileURLToPath(new URL(p, import.meta.url));
const log = (s) => process.stderr.write(`[kernels] ${s}\n`);
const SAMPLES = quick ? 5 : 15, SAMPLE_MS = quick ? 3 : 10;

// ---- timing: calls per sample chosen so one sample takes ~SAMPLE_MS; median and best of SAMPLES.
function rate(fn, workPerCall) {
  let calls = 1;
  for (;;) {
    const t0 = performance.now();
    for (let i = 0; i < calls; i++) fn();
    const dt = performance.now() - t0;
    if (dt >= SAMPLE_MS / 2 || calls > 1e7) {
      calls = Math.max(1, Math.round((calls * SAMPLE_MS) / Math.max(dt, 1e-3)));
      break;
    }
    calls *= 4;
  }
  const rates = [];
  for (let s = 0; s < SAMPLES; s++) {
    const t0 = performance.now();
    for (let i = 0; i < calls; i++) fn();
    rates.push((workPerCall * calls) / ((performance.now() - t0) * 1e6)); // G per second
  }
  rates.sort((a, b) => a - b);
  return { median: rates[rates.length >> 1], best: rates.at(-1) };
}

// ---- the ceiling
function compileCeiling(kind) {
  const out = here(`./build/ceiling-${kind}.wasm`);
  const args = ["assembly/ceiling.ts", "-O3", "--noAssert", "--runtime", "stub", "--enable", "simd",
    ...(kind === "fma" ? ["--enable", "relaxed-simd"] : []), "-o", `build/ceiling-${kind}.wasm`];
  const asc = here("../node_modules/.bin/asc");
  if (!existsSync(asc)) throw new Error(`no asc at ${asc}: run npm install in the repository root`);
  const r = spawnSync(asc, args, { cwd: here("."), encoding: "utf8" });
  if (r.status !== 0) throw new Error(`asc failed for the ${kind} ceiling:\n${r.stderr || r.error}`);
  return new WebAssembly.Instance(new WebAssembly.Module(readFileSync(out)), {}).exports;
}

// Returns a measuring function: the best sample (a ceiling), measured before and after the builds
// so that a burst of load from other processes cannot make it look lower than the kernels.
function ceiling(kind) {
  const { ceiling: run } = compileCeiling(kind);
  const iters = 200_000; // 19.2 MFLOP a call
  let seed = 1;
  return () => rate(() => run(iters, seed++ & 7), iters * 96).best;
}

// ---- a build's raw kernels over its own memory
function loadBuild(name) {
  const k = new WebAssembly.Instance(new WebAssembly.Module(readFileSync(here(`../build/${name}.wasm`))), {}).exports;
  let top = (k.heap_base() + 63) & ~63;
  const alloc = (floats) => {
    const p = top;
    top += ((floats * 4 + 63) & ~63);
    const need = top - k.memory.buffer.byteLength;
    if (need > 0) k.memory.grow(Math.ceil(need / 65536));
    return p;
  };
  const fill = (p, data) => new Float32Array(k.memory.buffer, p, data.length).set(data);
  return { k, alloc, fill, view: (p, n) => new Float32Array(k.memory.buffer, p, n) };
}

const panelSize = (K, N) => Math.ceil(N / 8) * 8 * K;

// B [K,N] row-major -> 8-column panels: element (k, n) at ((n>>3)*K + k)*8 + (n&7).
function toPanels(b, K, N) {
  const out = new Float32Array(panelSize(K, N));
  for (let k = 0; k < K; k++) for (let n = 0; n < N; n++) out[((n >> 3) * K + k) * 8 + (n & 7)] = b[k * N + n];
  return out;
}

const SHAPES = [
  { name: "M input projection (T·B×4H×I)", M: 3200, N: 1024, K: 128 },
  { name: "M recurrent (B×4H×H)", M: 32, N: 1024, K: 256 },
  { name: "L input projection (T·B×4H×I)", M: 3200, N: 2048, K: 512 },
  { name: "L recurrent (B×4H×H)", M: 64, N: 2048, K: 512 },
  { name: "S step GEMV (1×4H×H)", M: 1, N: 512, K: 128 },
];
const ACT_SIZES = [4096, 131072]; // in L1; the L workload's gate block (B·4H)

function gemmCheck(b) {
  // Layout sanity on a small odd shape: C = A·B against a float64 product.
  const M = 5, N = 20, K = 33;
  const A = seededData(M * K, 3), Bm = seededData(K * N, 4);
  const pa = b.alloc(M * K), pb = b.alloc(panelSize(K, N)), pc = b.alloc(M * N);
  b.fill(pa, A);
  b.fill(pb, toPanels(Bm, K, N));
  b.k.gemm(pc, pa, pb, M, N, K, K, 1, N, 8, 0);
  const ref = new Float64Array(M * N);
  for (let i = 0; i < M; i++) for (let j = 0; j < N; j++) for (let k = 0; k < K; k++) ref[i * N + j] += A[i * K + k] * Bm[k * N + j];
  return maxAbsDiff(ref, b.view(pc, M * N));
}

function buildKernels(name) {
  const b = loadBuild(name);
  const err = gemmCheck(b);
  if (!(err < 1e-4)) throw new Error(`${name}: gemm disagrees with a float64 product (${err}); the panel layout or ABI changed`);
  const gemm = SHAPES.map((s) => {
    const pa = b.alloc(s.M * s.K), pb = b.alloc(panelSize(s.K, s.N)), pc = b.alloc(s.M * s.N);
    b.fill(pa, seededData(s.M * s.K, 5));
    b.fill(pb, seededData(panelSize(s.K, s.N), 6)); // values only: the layout matters for correctness, not speed
    const r = rate(() => b.k.gemm(pc, pa, pb, s.M, s.N, s.K, s.K, 1, s.N, 8, 0), 2 * s.M * s.N * s.K);
    log(`${name} gemm ${s.M}×${s.N}×${s.K}: ${r.median.toFixed(1)} GFLOP/s`);
    return { ...s, gflops: r.median, best: r.best };
  });
  const act = [];
  for (const n of ACT_SIZES) {
    const px = b.alloc(n), po = b.alloc(n);
    b.fill(px, seededData(n, 7).map((v) => v * 6));
    for (const fn of ["sigmoid_forward", "tanh_forward"]) {
      const r = rate(() => b.k[fn](po, px, n), n);
      act.push({ fn, n, gelems: r.median, best: r.best });
    }
  }
  return { name, gemmCheck: err, gemm, act };
}

// ---- run
mkdirSync(here("./build"), { recursive: true });
log(`compiling the ceilings with asc (build/ceiling-{muladd,fma}.wasm)`);
const ceilFns = { muladd: ceiling("muladd"), fma: relaxed.ok ? ceiling("fma") : null };
const ceilOnce = () => ({ muladd: ceilFns.muladd(), fma: ceilFns.fma?.() ?? null });
const before = ceilOnce();
log(`ceiling: mul+add ${before.muladd.toFixed(1)} GFLOP/s${before.fma ? `, FMA ${before.fma.toFixed(1)} GFLOP/s` : ""}`);
const builds = [...(relaxed.ok ? ["relaxed-simd"] : []), "simd", "scalar"].map(buildKernels);
const after = ceilOnce();
log(`ceiling again: mul+add ${after.muladd.toFixed(1)} GFLOP/s${after.fma ? `, FMA ${after.fma.toFixed(1)} GFLOP/s` : ""}`);
const ceil = { muladd: Math.max(before.muladd, after.muladd), fma: before.fma && Math.max(before.fma, after.fma) };
const ceilingOf = (name) => (name === "relaxed-simd" ? ceil.fma : ceil.muladd);

const out = [];
out.push(`lstm-wasm kernels — ${os.cpus()[0].model}, Node ${process.version}, one thread`);
out.push("");
out.push(`f32x4 ceiling (12 independent accumulators, registers only): mul+add ${ceil.muladd.toFixed(1)} GFLOP/s` +
  (ceil.fma ? `, relaxed FMA ${ceil.fma.toFixed(1)} GFLOP/s (×${(ceil.fma / ceil.muladd).toFixed(2)})` : ", relaxed FMA unavailable"));
out.push("");
const pad = (s, n, r = false) => (r ? String(s).padStart(n) : String(s).padEnd(n));
out.push(`${pad("gemm shape", 34)} ${pad("M×N×K", 16)} ${builds.map((b) => pad(b.name, 22, true)).join("")}`);
for (let i = 0; i < SHAPES.length; i++) {
  const s = SHAPES[i];
  const cells = builds.map((b) => {
    const g = b.gemm[i].gflops, pct = (100 * g) / ceilingOf(b.name);
    return pad(`${g.toFixed(1)} GF/s ${pct.toFixed(0).padStart(3)}%`, 22, true);
  });
  out.push(`${pad(s.name, 34)} ${pad(`${s.M}×${s.N}×${s.K}`, 16)} ${cells.join("")}`);
}
out.push(`${pad("(% of: relaxed-simd → FMA ceiling; simd → mul+add ceiling; scalar → mul+add f32x4 ceiling, whose scalar bound is a ¼ of it)", 0)}`);
out.push("");
out.push(`${pad("activation", 34)} ${pad("n", 16)} ${builds.map((b) => pad(b.name, 22, true)).join("")}`);
for (let j = 0; j < builds[0].act.length; j++) {
  const a = builds[0].act[j];
  const cells = builds.map((b) => {
    const r = b.act[j], slots = ceilingOf(b.name) / 2 / r.gelems; // madd lanes the ceiling does per element's time
    return pad(`${r.gelems.toFixed(2)} Gel/s ≈${slots.toFixed(0).padStart(3)}`, 22, true);
  });
  out.push(`${pad(a.fn, 34)} ${pad(a.n, 16)} ${cells.join("")}`);
}
out.push("(≈ n: the ceiling's multiply-add lanes in the time of one element, i.e. an element costs about n FMA slots)");
if (ceil.fma) {
  out.push("");
  const rs = builds.find((b) => b.name === "relaxed-simd"), sm = builds.find((b) => b.name === "simd");
  const gains = SHAPES.map((s, i) => `${s.M}×${s.N}×${s.K} ×${(rs.gemm[i].gflops / sm.gemm[i].gflops).toFixed(2)}`);
  out.push(`relaxed-FMA gain: ceiling ×${(ceil.fma / ceil.muladd).toFixed(2)}; gemm ${gains.join(", ")}`);
}
process.stdout.write(out.join("\n") + "\n");

mkdirSync(here("./results"), { recursive: true });
writeFileSync(here("./results/kernels.json"), JSON.stringify({
  machine: { cpu: os.cpus()[0].model, cores: os.cpus().length, node: process.version, v8: process.versions.v8, execArgv: process.execArgv, loadavg: os.loadavg() },
  date: new Date().toISOString(), quick, ceiling: { muladdGflops: ceil.muladd, fmaGflops: ceil.fma, before, after }, builds,
}, null, 2) + "\n");
log("wrote results/kernels.json");
