// The one place that finds the Chromium for the browser tests, `npm run bench:browser` and the demo
// screenshots, and the flags it starts with. Nothing here downloads anything. In this order:
//   1. CHROMIUM_PATH, when set (a missing file there is an error, not a fallback);
//   2. the Chromium inside the @sparticuz/chromium devDependency (Linux x64), unpacked once to the temp dir;
//   3. Debian's /usr/bin/chromium.
//   node scripts/chromium.mjs   prints which Chromium would be used and its version.
import { chromium as playwright } from "playwright-core";
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

export const SYSTEM_CHROMIUM = "/usr/bin/chromium";

// What this machine needs: no sandbox (root), no GPU, and nothing that reaches for the network
// (its connections are refused here).
export const FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run"];

// @sparticuz/chromium's args are made for AWS Lambda. These would change what the tests check, so
// they are left out: the web-security, site-isolation and SharedArrayBuffer switches would let CORS,
// CSP or missing COOP/COEP headers pass; --single-process puts Workers in the browser process; the
// GPU/SwiftShader switches fight --disable-gpu; --headless='shell' duplicates --headless.
const DROPPED = [
  /^--single-process$/, /^--disable-web-security$/, /^--allow-running-insecure-content$/,
  /^--disable-site-isolation-trials$/, /^--disable-features=/, /^--enable-features=/,
  /^--use-gl=/, /^--use-angle=/, /^--enable-unsafe-swiftshader$/, /^--ignore-gpu-blocklist$/,
  /^--in-process-gpu$/, /^--disable-webgl$/, /^--headless/,
];

/** Our flags plus the package's args that are safe here, each switch once. */
export function mergeArgs(packageArgs) {
  const kept = packageArgs.filter((a) => !DROPPED.some((re) => re.test(a)));
  const name = (a) => a.split("=")[0];
  return [...FLAGS, ...kept.filter((a) => !FLAGS.some((f) => name(f) === name(a)))];
}

function sparticuzPackage() {
  if (process.platform !== "linux" || process.arch !== "x64") return null; // it ships a Linux x64 binary only
  let entry;
  try {
    entry = import.meta.resolve("@sparticuz/chromium");
  } catch {
    return null; // not installed (e.g. npm install --omit=dev)
  }
  // Its exports hide package.json; walk up from the entry point to read the version.
  for (let dir = dirname(fileURLToPath(entry)); dir !== dirname(dir); dir = dirname(dir)) {
    const file = join(dir, "package.json");
    if (!existsSync(file)) continue;
    const pkg = JSON.parse(readFileSync(file, "utf8"));
    if (pkg.name === "@sparticuz/chromium") return { entry, version: pkg.version };
  }
  return null;
}

/**
 * Unpacks the package's Chromium (about 200 MB) into <tmp>/sparticuz-chromium-<version>/ once.
 * executablePath() unpacks into os.tmpdir() and reuses whatever `chromium` it finds there, so it is
 * pointed at a fresh private directory that is renamed into place only when complete: test runs,
 * benches or other checkouts starting at once never see a half-written binary or another version's.
 */
async function unpackSparticuz({ entry, version }) {
  const base = tmpdir();
  const dir = join(base, `sparticuz-chromium-${version}`);
  if (existsSync(join(dir, "chromium"))) return join(dir, "chromium");
  const { default: Chromium } = await import(entry);
  const staging = mkdtempSync(join(base, `sparticuz-chromium-${version}.part-`));
  const saved = process.env.TMPDIR;
  let pending;
  try {
    process.env.TMPDIR = staging; // read synchronously by executablePath() before its first await
    pending = Chromium.executablePath();
  } finally {
    if (saved === undefined) delete process.env.TMPDIR; else process.env.TMPDIR = saved;
  }
  try {
    const path = await pending;
    if (resolve(path) !== join(staging, "chromium")) throw new Error(`@sparticuz/chromium unpacked to ${path}, not ${staging}`);
    try {
      renameSync(staging, dir);
    } catch (err) {
      if (!existsSync(join(dir, "chromium"))) throw err; // otherwise another process got there first
      rmSync(staging, { recursive: true, force: true });
    }
  } catch (err) {
    rmSync(staging, { recursive: true, force: true });
    throw err;
  }
  return join(dir, "chromium");
}

/** Which Chromium to drive: { executablePath, args, source }. Throws, saying what to do, when there is none. */
export async function findChromium() {
  const env = process.env.CHROMIUM_PATH;
  if (env) {
    if (!existsSync(env)) throw new Error(`CHROMIUM_PATH=${env}: no such file (unset it to use the Chromium from the devDependencies)`);
    return { executablePath: env, args: FLAGS, source: "CHROMIUM_PATH" };
  }
  const pkg = sparticuzPackage();
  if (pkg) {
    const { default: Chromium } = await import(pkg.entry);
    return { executablePath: await unpackSparticuz(pkg), args: mergeArgs(Chromium.args), source: `@sparticuz/chromium ${pkg.version}` };
  }
  if (existsSync(SYSTEM_CHROMIUM)) return { executablePath: SYSTEM_CHROMIUM, args: FLAGS, source: SYSTEM_CHROMIUM };
  throw new Error("No Chromium found: run `npm install` (the @sparticuz/chromium devDependency carries one, Linux x64), " +
    `install Debian's (${SYSTEM_CHROMIUM}), or set CHROMIUM_PATH to a Chromium binary`);
}

/** Launches the Chromium findChromium() picks, headless; resolves to { browser, executablePath, source }. */
export async function launchChromium() {
  const found = await findChromium();
  const browser = await playwright.launch({ executablePath: found.executablePath, args: found.args, headless: true });
  return { browser, ...found };
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const { browser, executablePath, source, args } = await launchChromium();
  console.log(`Chromium ${browser.version()} from ${source}: ${executablePath}\nflags: ${args.join(" ")}`);
  await browser.close();
}
