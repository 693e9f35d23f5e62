// Bundles src/ into dist/index.js: one ESM file with the three wasm builds embedded, no imports
// at all, so it runs in Node and browsers without file paths or bundler configuration.
import { build } from "esbuild";

const result = await build({
  entryPoints: ["src/index.ts"],
  outfile: "dist/index.js",
  bundle: true,
  format: "esm",
  platform: "neutral",
  target: "es2022",
  sourcemap: true,
  metafile: true,
  legalComments: "inline",
});
const out = result.metafile.outputs["dist/index.js"];
console.log(`dist/index.js: ${out.bytes} B`);
