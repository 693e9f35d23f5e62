// lstm-wasm in a real browser: headless Chromium (scripts/chromium.mjs picks it, playwright-core drives
// it; nothing is downloaded) opens bench/browser/page.html from a local server and times forward, training step and
// streaming step on each build Chromium runs (relaxed SIMD is on by default there). Compared with
// the same rows of the last Node run (results/latest.json) when it has them.
//   npm run bench:browser [-- --quick]        CHROMIUM_PATH picks another Chromium
// Writes results/browser.json; prints a table.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { startServer } from "../scripts/serve.mjs";
import { launchChromium } from "../scripts/chromium.mjs";
import { forwardFlops } from "./lib/data.mjs";

const quick = process.argv.includes("--quick");
if (!existsSync(new URL("../dist/index.js", import.meta.url))) { console.error("bench:browser: dist/index.js is missing; run npm run build"); process.exit(1); }

const WL = { S: { B: 1, T: 100, I: 32, H: 128 }, M: { B: 32, T: 100, I: 128, H: 256 }, L: { B: 64, T: 50, I: 512, H: 512 } };
const cases = [
  { name: "S", mode: "forward" }, { name: "S", mode: "train" }, { name: "S", mode: "step" },
  { name: "M", mode: "forward" }, { name: "M", mode: "train" },
  ...(quick ? [] : [{ name: "L", mode: "forward" }, { name: "L", mode: "train" }]),
].map((c) => ({ ...c, wl: WL[c.name] }));
const plan = { backends: ["relaxed-simd", "simd"], cases, budgetMs: quick ? 300 : 2000, minSamples: quick ? 3 : 7 };

const root = new URL("..", import.meta.url).pathname;
let launched;
try {
  launched = await launchChromium();
} catch (err) {
  console.error(`bench:browser: ${err.message}`);
  process.exit(1);
}
const { browser, source } = launched;
const server = await startServer({ root, port: 0 });
let out;
try {
  const page = await browser.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  await page.goto(new URL("/bench/browser/page.html", server.origin).href);
  await page.waitForFunction(() => window.benchReady === true, null, { timeout: 30_000 });
  process.stderr.write(`[bench:browser] Chromium ${browser.version()} (${source}): ${cases.length} cases × ${plan.backends.length} builds${quick ? " (quick)" : ""}\n`);
  out = await page.evaluate((p) => window.runBench(p), plan);
  if (errors.length) throw new Error(`page errors: ${errors.join("; ")}`);
} finally {
  await browser.close();
  await server.close();
}

const flops = (wl, mode) => forwardFlops(mode === "step" ? { ...wl, T: 1 } : wl) * (mode === "train" ? 3 : 1);
let node = [];
try { node = JSON.parse(readFileSync(new URL("./results/latest.json", import.meta.url), "utf8")).measurements; } catch { /* no Node run yet */ }
const rows = out.results.filter((r) => !r.error).map((r) => {
  const n = node.find((m) => m.library === "lstm-wasm" && m.backend === r.backend && m.workload === r.workload && m.mode === r.mode);
  const ms = r.unit === "ms" ? r.median : r.median / 1000;
  return { ...r, gflops: flops(r, r.mode) / (ms * 1e6), node: n ? n.median : null, vsNode: n ? r.median / n.median : null };
});
const result = { date: new Date().toISOString(), browser: browser.version(), browserSource: source, userAgent: out.userAgent, quick, plan: { budgetMs: plan.budgetMs, minSamples: plan.minSamples }, errors: out.results.filter((r) => r.error), rows };
writeFileSync(new URL("./results/browser.json", import.meta.url), JSON.stringify(result, null, 2) + "\n");

const f = (v) => (v === null ? "—" : v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));
console.log(`lstm-wasm in ${out.userAgent.match(/(HeadlessChrome|Chrome)\/[\d.]+/)?.[0] ?? browser.version()}, one thread (a page's main thread)`);
console.log("workload  mode     build          median  unit      GFLOP/s   Node (same build)  browser/Node");
for (const r of rows) {
  console.log(`${r.workload.padEnd(9)} ${r.mode.padEnd(8)} ${r.backend.padEnd(13)} ${f(r.median).padStart(7)}  ${r.unit.padEnd(8)} ${f(r.gflops).padStart(8)}   ${f(r.node).padStart(16)}  ${r.vsNode === null ? "—" : r.vsNode.toFixed(2) + "×"}`);
}
for (const e of result.errors) console.log(`${e.backend}: not run here: ${e.error}`);
console.log("wrote results/browser.json");
