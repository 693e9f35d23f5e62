// The stdout table: one row per measurement, grouped by workload and mode, then checks and skips.
import { execFileSync } from "node:child_process";

const num = (v, d = 2) => (v === null || v === undefined || !Number.isFinite(v) ? "—" : v >= 1000 ? v.toFixed(0) : v >= 100 ? v.toFixed(1) : v.toFixed(d));

export function printTable({ machine, run, measurements, checks, skipped }) {
  const head = ["workload", "mode", "library", "backend", "median", "min", "unit", "GFLOP/s", "ratio", "reps", "check"];
  const rows = measurements.map((m) => [
    m.workload, m.mode, m.library, m.backend, num(m.median), num(m.min), m.unit, num(m.gflops),
    m.ratio === null || m.ratio === undefined ? "—" : `${m.ratio.toFixed(2)}×`, String(m.reps),
    m.status === "reference" ? "ref" : m.status === "checked" ? "ok" : m.status,
  ]);
  const width = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const right = new Set([4, 5, 7, 8, 9]);
  const line = (r) => r.map((c, i) => (right.has(i) ? c.padStart(width[i]) : c.padEnd(width[i]))).join("  ").trimEnd();
  const out = [];
  out.push(`lstm-wasm benchmark — ${machine.cpu}, ${machine.cores} cores, Node ${machine.node}${run.quick ? ", --quick" : ""}, single thread`);
  out.push("ratio = library time / lstm-wasm (" + run.bestBuild + ") time on the same workload and mode (> 1: lstm-wasm is faster)");
  out.push("");
  out.push(line(head));
  out.push(line(width.map((w) => "-".repeat(w))));
  let prev = null;
  rows.forEach((r, i) => {
    const key = `${measurements[i].workload} ${measurements[i].mode}`;
    if (prev !== null && key !== prev) out.push("");
    prev = key;
    out.push(line(r));
  });
  out.push("");
  out.push(`checks (tolerance ${run.tolerance}: outputs max |Δ| vs lstm-wasm; gradients max |Δ| / max |g|):`);
  for (const c of checks) {
    const d = c.diffs ? Object.entries(c.diffs).map(([k, v]) => `${k} ${v.toExponential(1)}`).join(", ") : "";
    const th = c.threads ? ` on ${c.threads} thread${c.threads > 1 ? "s" : ""}` : "";
    out.push(`  ${c.status.padEnd(11)} ${c.workload} ${c.mode} ${c.library} (${c.backend})${th}${d ? ": " + d : ""}${c.note ? " — " + c.note : ""}`);
  }
  if (skipped.length) {
    out.push("");
    out.push("not run:");
    const order = (w) => ["S", "M", "L", "C"].indexOf(w) + 1 || 10 + parseInt(w.slice(2), 10);
    const groups = new Map();
    for (const s of skipped) {
      const k = `${s.library} (${s.backend})${s.threads ? ` on ${s.threads} thread(s)` : ""} ${s.mode}: ${s.reason}`;
      if (!groups.has(k)) groups.set(k, { s, workloads: new Set() });
      groups.get(k).workloads.add(s.workload);
    }
    for (const [, { s, workloads }] of groups) {
      const ws = [...workloads].sort((a, b) => order(a) - order(b));
      out.push(`  ${s.library} (${s.backend})${s.threads ? ` on ${s.threads} thread(s)` : ""} ${s.mode} on ${ws.join(", ")}: ${s.reason}`);
    }
  }
  process.stdout.write(out.join("\n") + "\n");
}

/** The thread rows: each library and build on 1, 2 and `cores` threads, its gain over 1 thread, its ratio to lstm-wasm. */
export function printThreadTable({ machine, run, threadRows }) {
  const head = ["workload", "mode", "library", "backend", "threads", "median", "min", "unit", "GFLOP/s", "gain", "ratio", "reps", "check"];
  const rows = threadRows.map((m) => [
    m.workload, m.mode, m.library, m.backend, String(m.threads), num(m.median), num(m.min), m.unit, num(m.gflops),
    m.gain === null || m.gain === undefined ? "—" : `${m.gain.toFixed(2)}×`,
    m.ratio === null || m.ratio === undefined ? "—" : `${m.ratio.toFixed(2)}×`, String(m.reps),
    m.status === "identical" ? "bits = 1 thread" : m.status === "checked" ? "ok" : m.status,
  ]);
  const width = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const right = new Set([4, 5, 6, 8, 9, 10, 11]);
  const line = (r) => r.map((c, i) => (right.has(i) ? c.padStart(width[i]) : c.padEnd(width[i]))).join("  ").trimEnd();
  const out = [""];
  out.push(`threads — ${machine.cpu}, ${run.cores} cores: ${run.threadCounts.join(", ")} threads`);
  out.push("gain = that library and build on 1 thread / on n (lstm-wasm: median of interleaved rounds in one process; onnxruntime-web: one process per count)");
  out.push(`ratio = time / lstm-wasm (${run.bestBuild}) time on as many threads (> 1: lstm-wasm is faster)`);
  out.push("");
  out.push(line(head));
  out.push(line(width.map((w) => "-".repeat(w))));
  let prev = null;
  rows.forEach((r, i) => {
    const key = `${threadRows[i].workload} ${threadRows[i].mode}`;
    if (prev !== null && key !== prev) out.push("");
    prev = key;
    out.push(line(r));
  });
  process.stdout.write(out.join("\n") + "\n");
}

/** The commit the library was built from, and whether src/ or assembly/ had changes not committed (dist/ is built from the working tree). */
export function gitState() {
  const git = (...a) => execFileSync("git", a, { cwd: new URL("../..", import.meta.url), encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
  try {
    return { head: git("rev-parse", "--short", "HEAD"), srcChanged: git("status", "--porcelain", "--", "src", "assembly") !== "" };
  } catch {
    return null;
  }
}
