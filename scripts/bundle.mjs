// Bundles src/ into dist/: index.js, one ESM file with the three wasm builds embedded and no
// imports at all (Node and browsers, no paths or bundler configuration), and cli.js, the Node
// command line with its dependencies inside (so the package itself has no runtime dependencies).
import { build } from "esbuild";

const common = { bundle: true, format: "esm", target: "es2022", sourcemap: true, metafile: true, legalComments: "inline" };
const lib = await build({ ...common, entryPoints: ["src/index.ts"], outfile: "dist/index.js", platform: "neutral" });
const cli = await build({
  ...common, entryPoints: ["src/cli/main.ts"], outfile: "dist/cli.js", platform: "node",
  banner: { js: "#!/usr/bin/env node\nimport { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
});
for (const r of [lib, cli]) for (const [f, o] of Object.entries(r.metafile.outputs)) if (f.endsWith(".js")) console.log(`${f}: ${o.bytes} B`);
