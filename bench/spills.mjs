// What V8 makes of a build's loops: for each function with f32x4 splat loads (the GEMM tiles, the
// activations), the instructions in each loop of its TurboFan code and the xmm register moves to or
// from the stack inside those loops (spills). Run from the root after a build:
//   node bench/spills.mjs build/simd.wasm [build/relaxed-simd.wasm ...]
// Functions are named by export, else by index (the release builds carry no names); a tile is told
// by its SIMD op counts (splat loads, f32x4.mul/add, relaxed_madd), which come from binaryen's text.
import { readFileSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const files = process.argv.slice(2);
if (files.length === 0) throw new Error("usage: node bench/spills.mjs build/<name>.wasm ...");

if (process.argv.includes("--instantiate")) {
  // Child mode: compile every function eagerly with TurboFan; V8 prints the code on stdout.
  new WebAssembly.Instance(new WebAssembly.Module(readFileSync(files[0])), {});
  process.exit(0);
}
// Imported here, not above: the child must not compile binaryen's own wasm, or V8 prints that too.
const { default: binaryen } = await import("binaryen");

for (const file of files) {
  const m = binaryen.readBinary(readFileSync(file));
  const text = m.emitText();
  m.dispose();
  const heads = [...text.matchAll(/^ \(func \$(\d+)/gm)];
  const body = new Map(heads.map((h, i) => [Number(h[1]), text.slice(h.index, i + 1 < heads.length ? heads[i + 1].index : text.length)]));
  const names = new Map([...text.matchAll(/^ \(export "([^"]+)" \(func \$(\d+)\)\)$/gm)].map((x) => [Number(x[2]), x[1]]));
  const r = spawnSync(process.execPath, ["--experimental-wasm-relaxed-simd", "--no-liftoff", "--no-wasm-lazy-compilation",
    "--print-wasm-code", fileURLToPath(import.meta.url), file, "--instantiate"], { encoding: "utf8", maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`V8 could not compile ${file}: ${r.error ?? r.stderr}`);
  console.log(file);
  const rows = [];
  for (const code of r.stdout.split("--- WebAssembly code ---").slice(1)) {
    const idx = Number(/name: wasm-function\[(\d+)\]/.exec(code)[1]);
    const b = body.get(idx) ?? "", count = (s) => b.split(s).length - 1;
    if (count("load32_splat") === 0) continue;
    const ins = code.split("\n").filter((l) => /^0x[0-9a-f]+\s+[0-9a-f]+\s/.test(l)).map((l) => {
      const p = l.trim().split(/\s+/);
      return { off: parseInt(p[1], 16), text: p.slice(3).join(" ") };
    });
    // Loops: backward jumps in the main body. Out-of-line code (the stack check's slow path, which
    // saves and restores registers around a call) sits after the last ret and is left out.
    const rets = ins.filter((x) => /^ret/.test(x.text)), end = rets.length ? rets.at(-1).off : Infinity;
    const loops = [];
    for (const x of ins) {
      const j = /^j\w+ 0x[0-9a-f]+\s+<\+0x([0-9a-f]+)>/.exec(x.text);
      if (j && x.off < end && parseInt(j[1], 16) < x.off) loops.push([parseInt(j[1], 16), x.off]);
    }
    const inLoop = (o) => loops.some(([a, z]) => o >= a && o <= z);
    const spills = ins.filter((x) => inLoop(x.off) && /xmm\d+,\[r[bs]p|\[r[bs]p[^\]]*\],xmm/.test(x.text)).length;
    const sizes = loops.map(([a, z]) => ins.filter((x) => x.off >= a && x.off <= z).length);
    rows.push(`  ${(names.get(idx) ?? `function ${idx}`).padEnd(18)} splat ${count("load32_splat")}, mul ${count("f32x4.mul")}, ` +
      `add ${count("f32x4.add")}, relaxed_madd ${count("relaxed_madd")} | loops of ${sizes.join(", ")} instructions; xmm stack moves in them: ${spills}`);
  }
  console.log(rows.join("\n"));
}
