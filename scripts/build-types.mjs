// Emits dist/types/*.d.ts for consumers under every moduleResolution (bundler, node16, nodenext).
// tsc writes the declarations from src/index.ts with @internal members stripped; its relative
// specifiers keep src's extensionless form ("./wasm/backend"), which node16/nodenext refuse
// (TS2834), so each is rewritten to the file it names ("./wasm/backend.js", "./x/index.js").
// Only files reachable from index.d.ts are kept: nothing else is importable through `exports`.
import { execFileSync } from "node:child_process";
import { createRequire } from "node:module";
import { existsSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

const out = "dist/types";
const entry = resolve(out, "index.d.ts");

rmSync(out, { recursive: true, force: true }); // no declarations left over from removed sources
const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");
execFileSync(process.execPath, [tsc, "-p", "tsconfig.build.json"], { stdio: "inherit" });

// `from "…"`, `import("…")` and `export … from "…"` with a relative specifier.
const SPECIFIER = /(\bfrom\s*|\bimport\s*\(\s*)(["'])(\.{1,2}\/[^"']*)\2/g;

/** The .js specifier for `spec` seen from `file`, and the declaration it names. */
function withExtension(file, spec) {
  const base = resolve(dirname(file), spec.replace(/\.js$/, ""));
  if (existsSync(`${base}.d.ts`)) return { spec: spec.replace(/(\.js)?$/, ".js"), target: `${base}.d.ts` };
  if (existsSync(join(base, "index.d.ts"))) return { spec: `${spec.replace(/\/$/, "")}/index.js`, target: join(base, "index.d.ts") };
  throw new Error(`${relative(".", file)}: "${spec}" names no declaration file`);
}

const kept = new Set();
const queue = [entry];
while (queue.length) {
  const file = queue.pop();
  if (kept.has(file)) continue;
  kept.add(file);
  const text = readFileSync(file, "utf8").replace(SPECIFIER, (_, lead, q, spec) => {
    const r = withExtension(file, spec);
    queue.push(r.target);
    return `${lead}${q}${r.spec}${q}`;
  });
  writeFileSync(file, text);
}

/** Delete the declarations index.d.ts never reaches, then the folders left empty. */
function prune(dir) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) prune(p);
    else if (!kept.has(resolve(p))) rmSync(p);
  }
  if (readdirSync(dir).length === 0) rmSync(dir, { recursive: true });
}
prune(out);

const bytes = [...kept].reduce((n, f) => n + statSync(f).size, 0);
console.log(`${out}: ${kept.size} declaration files, ${bytes} B, relative imports with .js extensions`);
