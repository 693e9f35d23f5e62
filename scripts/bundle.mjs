// Bundles src/ into dist/: index.js, one ESM file with the three wasm builds embedded and no
// imports at all (Node and browsers, no paths or bundler configuration), and cli.js, the Node
// command line with its dependencies inside (so the package itself has no runtime dependencies).
import { build } from "esbuild";
import { mkdirSync, copyFileSync, readFileSync, writeFileSync } from "node:fs";
import { gzipSync } from "node:zlib";

const common = { bundle: true, format: "esm", target: "es2022", sourcemap: true, metafile: true, legalComments: "inline" };
// Minified: what browsers download. keepNames gives classes and functions their names back, so
// console.log shows `LSTM {` and stack traces `at new LSTM` (3.9 KB, 1.7 KB gzipped, as measured
// when added); the source map maps the frames to src.
const lib = await build({ ...common, entryPoints: ["src/index.ts"], outfile: "dist/index.js", platform: "neutral", minify: true, keepNames: true });
const cli = await build({
  ...common, entryPoints: ["src/cli/main.ts"], outfile: "dist/cli.js", platform: "node",
  define: { __LSTM_WASM_VERSION__: JSON.stringify(JSON.parse(readFileSync("package.json", "utf8")).version) },
  banner: { js: "#!/usr/bin/env node\nimport { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
});
for (const r of [lib, cli]) for (const [f, o] of Object.entries(r.metafile.outputs)) if (f.endsWith(".js")) console.log(`${f}: ${o.bytes} B`);
// The separate .wasm files, for init({ wasm: url }) under a CSP or for caching.
mkdirSync("dist/wasm", { recursive: true });
for (const b of ["relaxed-simd", "simd", "scalar", "relaxed-simd-threads", "simd-threads"]) copyFileSync(`build/${b}.wasm`, `dist/wasm/${b}.wasm`);
const size = { bytes: readFileSync("dist/index.js").length, gzip: gzipSync(readFileSync("dist/index.js"), { level: 9 }).length };
writeFileSync("dist/size.json", JSON.stringify(size) + "\n");
console.log(`dist/index.js minified ${size.bytes} B, gzipped ${size.gzip} B`);
