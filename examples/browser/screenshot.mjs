// Loads the demo in headless Chromium (playwright-core; scripts/chromium.mjs picks the browser, and
// CHROMIUM_PATH overrides it; nothing is downloaded), under the strict CSP, each task at desktop and
// phone sizes; fails on console errors, page errors or sideways scrolling and writes screenshots
// demo-{sine,text}-{desktop,phone}[-full].png (docs/demo.png is demo-sine-desktop.png, docs/demo-text.png
// demo-text-desktop.png).
//   node examples/browser/screenshot.mjs [outDir=/tmp] [--seconds 6]
import { startServer } from "../../scripts/serve.mjs";
import { launchChromium } from "../../scripts/chromium.mjs";

const args = process.argv.slice(2);
const outDir = args.find((a) => !a.startsWith("--") && !/^\d+$/.test(a)) ?? "/tmp";
const seconds = Number(args[args.indexOf("--seconds") + 1]) || 6;
const sizes = [{ name: "desktop", width: 1280, height: 800, scale: 1 }, { name: "phone", width: 390, height: 844, scale: 3 }];

const { browser, source } = await launchChromium();
console.log(`Chromium ${browser.version()} (${source})`);
const server = await startServer({ port: 0, csp: true });
const problems = [];
try {
  for (const task of ["sine", "text"]) for (const s of sizes) {
    const context = await browser.newContext({ viewport: { width: s.width, height: s.height }, deviceScaleFactor: s.scale });
    const page = await context.newPage();
    const name = `${task}-${s.name}`;
    page.on("console", (m) => { if (m.type() === "error" || m.type() === "warning") problems.push(`${name}: console.${m.type()}: ${m.text()}`); });
    page.on("pageerror", (e) => problems.push(`${name}: page error: ${e.message}`));
    await page.goto(`${server.url}?task=${task}`);
    await page.waitForFunction(() => document.body.dataset.ready === "1", null, { timeout: 20000 });
    await page.waitForTimeout(seconds * 1000);
    const st = await page.evaluate(() => ({
      task: demo.task, backend: demo.backend, epoch: demo.epoch, steps: demo.steps, batches: demo.losses.length, loss: demo.losses.at(-1),
      gatesDrawn: demo.gatesDrawn, text: demo.text.slice(0, 60), overflowX: document.documentElement.scrollWidth > document.documentElement.clientWidth,
    }));
    if (st.overflowX) problems.push(`${name}: the page scrolls sideways`);
    await page.screenshot({ path: `${outDir}/demo-${name}.png` });
    await page.screenshot({ path: `${outDir}/demo-${name}-full.png`, fullPage: true });
    console.log(`${name} ${s.width}×${s.height}: ${JSON.stringify(st)} → ${outDir}/demo-${name}.png`);
    await context.close();
  }
} finally {
  await browser.close();
  await server.close();
}
if (problems.length) {
  console.log(problems.join("\n"));
  process.exitCode = 1;
}
