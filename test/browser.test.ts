// The built package in real Chromium (driven by playwright-core; nothing downloads a browser): the
// golden fixtures on every backend, a strict CSP, a Web Worker, an esbuild-bundled app, cross-origin
// isolation, and the demo page training live (the sine task and the text task, at desktop and phone width).
// Console errors fail every test. Which Chromium:
// scripts/chromium.mjs (CHROMIUM_PATH, else @sparticuz/chromium's, else /usr/bin/chromium).
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import type { Browser, Page } from "playwright-core";
import { readdirSync, mkdtempSync, mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
// @ts-expect-error plain JS module without types
import { startServer } from "../scripts/serve.mjs";
// @ts-expect-error plain JS module without types
import { launchChromium } from "../scripts/chromium.mjs";
// @ts-expect-error plain JS module without types
import { TEXT } from "../examples/browser/corpus.js";

const root = fileURLToPath(new URL("..", import.meta.url));
const artifacts = join(root, "test-artifacts");

let browser: Browser;
let plain: { url: string; close: () => Promise<void> };
let strict: { url: string; close: () => Promise<void> };
let isolated: { url: string; close: () => Promise<void> };
let strictIsolated: { url: string; close: () => Promise<void> };
const origin = (s: { url: string }) => new URL(s.url).origin;

beforeAll(async () => {
  const found = await launchChromium(); // throws, saying what to install, when there is no Chromium
  browser = found.browser;
  console.log(`browser tests: Chromium ${browser.version()} from ${found.source} (${found.executablePath})`);
  plain = await startServer({ root, port: 0 });
  strict = await startServer({ root, port: 0, csp: true });
  isolated = await startServer({ root, port: 0, isolate: true });
  strictIsolated = await startServer({ root, port: 0, isolate: true, csp: true });
  mkdirSync(artifacts, { recursive: true });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await plain?.close();
  await strict?.close();
  await isolated?.close();
  await strictIsolated?.close();
});

/** Open a page, wait for window.__result, and return it with every console error and page error. */
async function run(url: string, timeout = 60_000, viewport = { width: 1280, height: 800 }): Promise<{ result: any; errors: string[]; page: Page }> {
  const page = await browser.newPage({ viewport });
  const errors: string[] = [];
  page.on("console", (m) => { if (m.type() === "error") errors.push(m.text()); });
  page.on("pageerror", (e) => errors.push(String(e)));
  await page.goto(url);
  await page.waitForFunction(() => (window as any).__result !== undefined, null, { timeout });
  return { result: await page.evaluate(() => (window as any).__result), errors, page };
}

// Every one of the demo's 5 gate heatmaps has drawn pixels (many colours, not one flat fill).
async function expectGatesDrawn(page: Page): Promise<void> {
  const colours = await page.evaluate(() => Array.from(document.querySelectorAll("canvas.gate")).map((c) => {
    const cv = c as HTMLCanvasElement, px = cv.getContext("2d")!.getImageData(0, 0, cv.width, cv.height).data;
    const seen = new Set<number>();
    for (let k = 0; k < px.length; k += 4 * 7) seen.add((px[k] << 16) | (px[k + 1] << 8) | px[k + 2]);
    return seen.size;
  }));
  expect(colours).toHaveLength(5);
  for (const n of colours) expect(n).toBeGreaterThan(20);
}

const fixtures = readdirSync(join(root, "test/fixtures")).filter((f) => /^(lstm|clip)_.*\.json$/.test(f)).sort();

describe("the built package in Chromium", () => {
  for (const backend of ["scalar", "simd", "relaxed-simd"]) {
    it(`passes every golden fixture (forward, BPTT, clipping) on the forced ${backend} build`, async () => {
      const { result, errors, page } = await run(`${origin(plain)}/test/browser/pages/golden.html?backend=${backend}&files=${fixtures.join(",")}`);
      await page.close();
      expect(result.error).toBeUndefined();
      expect(result.backend).toBe(backend);
      expect(result.failures).toEqual([]);
      expect(result.checks).toBeGreaterThan(fixtures.length * 5);
      expect(errors).toEqual([]);
    }, 120_000);
  }

  it("works under Content-Security-Policy: script-src 'self' 'wasm-unsafe-eval', embedded or from a .wasm URL", async () => {
    const { result, errors, page } = await run(`${origin(strict)}/test/browser/pages/csp.html`);
    const header = await page.evaluate(async () => (await fetch(location.href)).headers.get("content-security-policy"));
    await page.close();
    expect(header).toBe("script-src 'self' 'wasm-unsafe-eval'; worker-src 'self'");
    expect(result).toEqual({ embedded: "simd", fetched: "simd", same: true, violations: [] });
    expect(errors).toEqual([]);
  });

  it("runs in two module Web Workers at once, both bit-identical to the main thread", async () => {
    const { result, errors, page } = await run(`${origin(plain)}/test/browser/pages/worker.html`);
    await page.close();
    expect(result.error).toBeUndefined();
    expect(result.workerBackend).toBe(result.backend);
    expect(result.worker).toHaveLength(6 * 5);
    expect(result.worker).toEqual(result.main);
    expect(result.secondError).toBeUndefined();
    expect(result.second).toEqual(result.main);
    expect(errors).toEqual([]);
  });

  it("works bundled by esbuild for the browser from `import … from 'lstm-wasm'`", async () => {
    const dir = mkdtempSync(join(root, "test-artifacts", "bundler-"));
    mkdirSync(join(dir, "node_modules"));
    symlinkSync(root, join(dir, "node_modules", "lstm-wasm"), "dir"); // resolved through package.json "exports"
    writeFileSync(join(dir, "app.js"), `import { init, LSTM } from "lstm-wasm";
const { backend } = await init();
const y = new LSTM({ inputSize: 2, hiddenSize: 4, seed: 9 }).forward([[[0.5, -1]], [[1, 2]]]).y;
window.__result = { backend, shape: y.shape, finite: Array.from(y.data).every(Number.isFinite) };`);
    await build({ entryPoints: [join(dir, "app.js")], bundle: true, format: "esm", platform: "browser", target: "es2022", outfile: join(dir, "out.js"), logLevel: "silent" });
    writeFileSync(join(dir, "index.html"), `<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,"><script type="module" src="out.js"></script>`);
    const rel = dir.slice(root.length).replace(/\\/g, "/");
    const { result, errors, page } = await run(`${origin(plain)}/${rel}/index.html`);
    await page.close();
    expect(result).toEqual({ backend: "relaxed-simd", shape: [2, 1, 4], finite: true });
    expect(errors).toEqual([]);
  });
});

describe("cross-origin isolation (COOP: same-origin, COEP: require-corp), for wasm threads", () => {
  it("is isolated with the headers: SharedArrayBuffer, and a shared wasm Memory that a module worker writes with Atomics", async () => {
    const { result, errors, page } = await run(`${origin(isolated)}/test/browser/pages/isolation.html`);
    const headers = await page.evaluate(async () => {
      const h = (await fetch(location.href)).headers;
      return [h.get("cross-origin-opener-policy"), h.get("cross-origin-embedder-policy")];
    });
    await page.close();
    expect(headers).toEqual(["same-origin", "require-corp"]);
    expect(result).toEqual({
      isolated: true, sabGlobal: true, backend: "relaxed-simd", finite: true,
      worker: { shared: true, woken: 1 }, wait: "ok", seen: 42,
    });
    expect(errors).toEqual([]);
  });

  it("is not isolated without them: no SharedArrayBuffer, and shared memory cannot reach a worker", async () => {
    const { result, errors, page } = await run(`${origin(plain)}/test/browser/pages/isolation.html`);
    await page.close();
    expect(result).toMatchObject({ isolated: false, sabGlobal: false, backend: "relaxed-simd", finite: true });
    expect(result.error).toMatch(/^DataCloneError/);
    expect(errors).toEqual([]);
  });
});

describe("threads: workers over one shared memory, in a cross-origin isolated page under the strict CSP", () => {
  it("bundled by esbuild from the source, every golden fixture split over 1, 2 and 3 threads is bit-identical and PyTorch's", async () => {
    const dir = mkdtempSync(join(artifacts, "threads-"));
    await build({ entryPoints: [join(root, "test/browser/pages/threads-app.js")], bundle: true, format: "esm", platform: "browser", target: "es2022", outfile: join(dir, "app.js"), logLevel: "silent" });
    writeFileSync(join(dir, "index.html"), `<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,"><script type="module" src="app.js"></script>`);
    const rel = dir.slice(root.length).replace(/\\/g, "/");
    const { result, errors, page } = await run(`${origin(strictIsolated)}/${rel}/index.html?files=${fixtures.join(",")}`, 120_000);
    await page.close();
    expect(result.error).toBeUndefined();
    expect(result.isolated).toBe(true);
    expect(result.failures).toEqual([]);
    expect(result.checks).toBeGreaterThan(fixtures.length * 10);
    expect(errors).toEqual([]);
  }, 180_000);

  it("dist/index.js as it is: init({ threads: 2 }) starts workers of itself, and a layer split over them gives one thread's bits", async () => {
    const { result, errors, page } = await run(`${origin(strictIsolated)}/test/browser/pages/threads-dist.html`);
    await page.close();
    expect(result.error).toBeUndefined();
    expect(result).toMatchObject({ isolated: true, one: { backend: "simd", threads: 1 }, two: { backend: "simd", threads: 2 }, sameY: true, sameDx: true });
    expect(errors).toEqual([]);
  });

  it("a page that is not cross-origin isolated gets one thread and the reason", async () => {
    const { result, errors, page } = await run(`${origin(plain)}/test/browser/pages/threads-dist.html`);
    await page.close();
    expect(result.error).toBeUndefined();
    expect(result.isolated).toBe(false);
    expect(result.two.threads).toBe(1);
    expect(result.two.threadsReason).toMatch(/not cross-origin isolated/);
    expect(errors).toEqual([]);
  });
});

describe("the demo page (examples/browser) under the strict CSP", () => {
  it("trains in a worker until the loss falls, draws the gate heatmaps, pauses and resumes", async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    const errors: string[] = [];
    page.on("console", (m) => { if (m.type() === "error") errors.push(m.text()); });
    page.on("pageerror", (e) => errors.push(String(e)));
    await page.goto(`${origin(strict)}/examples/browser/`);
    await page.waitForFunction(() => document.body.dataset.ready === "1", null, { timeout: 30_000 });
    await page.waitForFunction(() => (window as any).demo.losses.length >= 400 && (window as any).demo.gatesDrawn >= 2, null, { timeout: 60_000 });
    const d = await page.evaluate(() => { const w = (window as any).demo; return { losses: w.losses.slice(), backend: w.backend, worker: w.worker }; });
    expect(d.backend).toBe("relaxed-simd");
    expect(d.worker).toBe(true);
    const mean = (a: number[]) => a.reduce((s, v) => s + v, 0) / a.length;
    expect(mean(d.losses.slice(-50))).toBeLessThan(mean(d.losses.slice(0, 20)) / 5);
    await expectGatesDrawn(page);
    await page.click("#pause");
    await page.waitForTimeout(300);
    const s1 = await page.evaluate(() => (window as any).demo.steps);
    await page.waitForTimeout(700);
    expect(await page.evaluate(() => (window as any).demo.steps)).toBe(s1);
    await page.click("#resume");
    await page.waitForFunction((s) => (window as any).demo.steps > s, s1, { timeout: 10_000 });
    await page.screenshot({ path: join(artifacts, "demo.png") });
    await page.close();
    expect(errors).toEqual([]);
  }, 120_000);

  it("the text task: Embedding → LSTM → softmax trains in the worker until the loss falls, writes text that turns into the corpus's words, draws its gates, follows the temperature, and switches back to the sine", async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    const errors: string[] = [];
    page.on("console", (m) => { if (m.type() === "error") errors.push(m.text()); });
    page.on("pageerror", (e) => errors.push(String(e)));
    await page.goto(`${origin(strict)}/examples/browser/?task=text`);
    await page.waitForFunction(() => document.body.dataset.ready === "1", null, { timeout: 30_000 });
    await page.waitForFunction(() => { const w = (window as any).demo; return w.steps >= 500 && w.samples >= 3 && w.history.length >= 3 && w.gatesDrawn >= 2; }, null, { timeout: 90_000 });
    const d = await page.evaluate(() => {
      const w = (window as any).demo;
      return { task: w.task, backend: w.backend, worker: w.worker, losses: w.losses.slice(), text: w.text, history: w.history.slice(), shown: document.getElementById("sample")!.textContent };
    });
    expect(d).toMatchObject({ task: "text", backend: "relaxed-simd", worker: true });
    const mean = (a: number[]) => a.reduce((s, v) => s + v, 0) / a.length;
    // ln 38 = 3.64 nats per character at the start; well under 2.2 after 500 steps.
    expect(mean(d.losses.slice(0, 10))).toBeGreaterThan(3);
    expect(mean(d.losses.slice(-30))).toBeLessThan(0.6 * mean(d.losses.slice(0, 10)));
    // The sample: 160 characters of the vocabulary after one of the primes, shown on the page as is.
    const vocab = new Set<string>(TEXT.toLowerCase());
    expect(d.text).toHaveLength(160);
    expect([...d.text].every((ch) => vocab.has(ch))).toBe(true);
    expect(d.text).toMatch(/^(alice |the rabbit |down, |she |'i wonder )/);
    expect(d.shown).toBe(d.text);
    // It learned words: most of what it writes now is the corpus's words; at step 0 almost none.
    const words = new Set(TEXT.toLowerCase().split(/[^a-z']+/).filter(Boolean));
    const known = (s: string) => { const w = s.split(/[^a-z']+/).filter(Boolean); return w.filter((x) => words.has(x)).length / Math.max(1, w.length); };
    expect(d.history[0].steps).toBe(0);
    expect(known(d.text.replace(/^\S+ /, ""))).toBeGreaterThan(0.3);
    expect(known(d.text)).toBeGreaterThan(known(d.history[0].text) + 0.15);
    await expectGatesDrawn(page);
    // Paused, a new temperature gives a new sample at once, sampled at that temperature.
    await page.click("#pause");
    const before = await page.evaluate(() => (window as any).demo.samples);
    await page.$eval("#temperature", (el) => { (el as HTMLInputElement).value = "0.1"; el.dispatchEvent(new Event("input", { bubbles: true })); });
    await page.waitForFunction((n) => (window as any).demo.samples > n && (window as any).demo.textTemperature === 0.1, before, { timeout: 10_000 });
    expect(await page.textContent("#temperature-value")).toBe("0.10");
    expect(await page.evaluate(() => (window as any).demo.text)).toHaveLength(160);
    await page.screenshot({ path: join(artifacts, "demo-text.png") });
    // Back to the sine: a new model of the other task trains and draws its probe.
    const drawn = await page.evaluate(() => (window as any).demo.gatesDrawn);
    await page.click("#task-sine");
    await page.waitForFunction((g) => { const w = (window as any).demo; return w.task === "sine" && w.losses.length >= 20 && w.gatesDrawn > g; }, drawn, { timeout: 30_000 });
    expect(await page.evaluate(() => new URL(location.href).searchParams.get("task"))).toBe("sine");
    expect(await page.evaluate(() => (window as any).demo.losses[0])).toBeLessThan(1); // an MSE of the new model, not a cross-entropy
    expect(await page.isVisible(".probe-card")).toBe(true);
    expect(await page.isVisible(".text-card")).toBe(false);
    await page.close();
    expect(errors).toEqual([]);
  }, 150_000);

  it("the text task fits a phone (390 px): no sideways scrolling, the text and every heatmap inside the screen", async () => {
    const page = await browser.newPage({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 3 });
    const errors: string[] = [];
    page.on("console", (m) => { if (m.type() === "error") errors.push(m.text()); });
    page.on("pageerror", (e) => errors.push(String(e)));
    await page.goto(`${origin(strict)}/examples/browser/?task=text`);
    await page.waitForFunction(() => (window as any).demo.samples >= 2 && (window as any).demo.gatesDrawn >= 1, null, { timeout: 60_000 });
    const layout = await page.evaluate(() => {
      const right = (sel: string) => Math.max(...Array.from(document.querySelectorAll(sel)).map((e) => e.getBoundingClientRect().right));
      return {
        overflow: document.documentElement.scrollWidth > document.documentElement.clientWidth,
        sample: right("#sample"), gates: right("canvas.gate"), controls: right(".panel, .tasks, .temperature"),
        width: document.documentElement.clientWidth, text: document.getElementById("sample")!.textContent!.length,
      };
    });
    await page.close();
    expect(layout.overflow).toBe(false);
    for (const k of ["sample", "gates", "controls"] as const) expect(layout[k], k).toBeLessThanOrEqual(layout.width);
    expect(layout.text).toBe(160);
    expect(errors).toEqual([]);
  }, 90_000);
});
