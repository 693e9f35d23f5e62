// The wasm ABI: what each release build exports and imports, which instructions each one really
// contains (a SIMD build that silently fell back to scalar code would still pass every numeric
// test), and that the bytes embedded in the bundle are the bytes tested here.
import { describe, it, expect } from "vitest";
import binaryen from "binaryen";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { WASM } from "../src/wasm/embedded";
import { init, LSTM, Linear, Embedding, Dropout, Sequential, Adam, clipGradNorm } from "../src/index";
import { backend } from "../src/wasm/backend";

const root = fileURLToPath(new URL("..", import.meta.url));
const BUILD_NAMES = ["relaxed-simd", "simd", "scalar"] as const;
/** The thread-capable variants: the same kernels over an imported shared memory. */
const THREAD_BUILDS = ["relaxed-simd-threads", "simd-threads"] as const;
type Build = (typeof BUILD_NAMES)[number];

// Pinned on purpose: adding, renaming or dropping a kernel must be a visible change here.
const KERNELS = [
  "adam_step", "clip_value", "dropout_backward", "dropout_forward", "embedding_backward", "embedding_forward",
  "gemm", "gemm_rm", "gemm_scratch_size", "linear_backward", "linear_forward", "lstm_backward", "lstm_forward",
  "mse", "orthonormalize_rows", "scale", "sgd_step", "softmax_xent", "sum_squares", "transpose_packed",
];
const EXPORTS = [...KERNELS, "heap_base", "memory"].sort();

const bytesOf = (b: Build): Uint8Array<ArrayBuffer> => new Uint8Array(readFileSync(`${root}build/${b}.wasm`));

const watCache = new Map<Build, string>();
function wat(b: Build): string {
  let t = watCache.get(b);
  if (t === undefined) {
    const m = binaryen.readBinary(bytesOf(b));
    t = m.emitText();
    m.dispose();
    watCache.set(b, t);
  }
  return t;
}

/** Internal function name -> its text, from its `(func $X` header to the next top-level func. */
function allFunctions(text: string): Map<string, string> {
  const heads = [...text.matchAll(/^ \(func (\$[^\s)]+)/gm)];
  const out = new Map<string, string>();
  heads.forEach((h, i) => out.set(h[1], text.slice(h.index, i + 1 < heads.length ? heads[i + 1].index : text.length)));
  return out;
}

/** Exported name -> its internal function name. */
function exportedFunctions(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of text.matchAll(/^ \(export "([^"]+)" \(func (\$[^\s)]+)\)\)$/gm)) out.set(m[1], m[2]);
  return out;
}

/** Exported name -> that function's text. */
function functionBodies(text: string): Map<string, string> {
  const byInternal = allFunctions(text);
  const out = new Map<string, string>();
  for (const [name, fn] of exportedFunctions(text)) {
    const body = byInternal.get(fn);
    if (body === undefined) throw new Error(`export ${name} -> ${fn} has no (func ${fn} ...) in the text`);
    out.set(name, body);
  }
  return out;
}

/**
 * The internal functions an export calls, directly or through other calls (not the export itself):
 * internal name -> text. The release builds carry no name section (binaryen prints $0, $1, ...),
 * so gemm's tile functions are found by following `call`s rather than by name.
 */
function callees(text: string, exportName: string): Map<string, string> {
  const fns = allFunctions(text);
  const root = exportedFunctions(text).get(exportName);
  if (root === undefined) throw new Error(`no export ${exportName}`);
  const out = new Map<string, string>();
  const todo = [root];
  while (todo.length) {
    const body = fns.get(todo.pop()!)!;
    for (const m of body.matchAll(/\(call (\$[^\s)]+)/g)) {
      if (m[1] === root || out.has(m[1])) continue;
      const callee = fns.get(m[1]);
      if (callee === undefined) throw new Error(`call to ${m[1]} has no (func ${m[1]} ...) in the text`);
      out.set(m[1], callee);
      todo.push(m[1]);
    }
  }
  return out;
}

/** Members of `interface Kernels` in src/wasm/backend.ts: name -> parameter count (null for fields). */
function kernelsInterface(): Map<string, number | null> {
  const src = readFileSync(`${root}src/wasm/backend.ts`, "utf8");
  const start = src.search(/export\s+interface\s+Kernels\s*\{/);
  if (start < 0) throw new Error("no `export interface Kernels {` in src/wasm/backend.ts");
  let i = src.indexOf("{", start) + 1, depth = 0, member = "";
  const members: string[] = [];
  // Split the body at top-level `;`, ignoring comments; nested () and {} are kept whole.
  for (; i < src.length; i++) {
    if (src.startsWith("//", i)) { i = src.indexOf("\n", i); continue; }
    if (src.startsWith("/*", i)) { i = src.indexOf("*/", i) + 1; continue; }
    const ch = src[i];
    if (ch === "(" || ch === "{" || ch === "<") depth++;
    else if (ch === ")" || ch === "}" || (ch === ">" && src[i - 1] !== "=")) {
      if (depth === 0 && ch === "}") break;
      depth--;
    }
    if (ch === ";" && depth === 0) { members.push(member); member = ""; } else member += ch;
  }
  if (member.trim()) members.push(member);
  const out = new Map<string, number | null>();
  for (const raw of members) {
    const m = /^\s*(?:readonly\s+)?([A-Za-z_$][\w$]*)\s*(\(|:)/.exec(raw);
    if (!m) throw new Error(`cannot read interface member: ${raw.trim()}`);
    if (m[2] === ":") { out.set(m[1], null); continue; }
    const params = raw.slice(raw.indexOf("(") + 1, raw.lastIndexOf(")")).trim();
    out.set(m[1], params === "" ? 0 : params.split(",").filter((p) => p.trim() !== "").length);
  }
  return out;
}

describe("exports and imports of the release builds", () => {
  it.each(BUILD_NAMES)("%s exports exactly the pinned kernels, memory and heap_base, and imports nothing", (b) => {
    const mod = new WebAssembly.Module(bytesOf(b));
    const exps = WebAssembly.Module.exports(mod);
    expect(exps.map((e) => e.name).sort()).toEqual(EXPORTS);
    for (const e of exps) expect(`${e.name}:${e.kind}`).toBe(`${e.name}:${e.name === "memory" ? "memory" : "function"}`);
    expect(WebAssembly.Module.imports(mod)).toEqual([]);
  });

  it("the pinned list is exactly the members of the Kernels interface the wrapper calls through", () => {
    expect([...kernelsInterface().keys()].sort()).toEqual(EXPORTS);
  });

  it.each(BUILD_NAMES)("%s: every kernel takes as many parameters as its Kernels signature declares", (b) => {
    const bodies = functionBodies(wat(b));
    for (const [name, arity] of kernelsInterface()) {
      if (arity === null) continue;
      const header = bodies.get(name)!.split("\n")[0];
      expect(`${name}: ${(header.match(/\(param /g) ?? []).length}`).toBe(`${name}: ${arity}`);
    }
  });
});

describe("instructions in each build", () => {
  // An f32x4 op in the body: sum_squares accumulates in f64x2, so its one is f64x2.promote_low_f32x4.
  const usesF32x4 = (body: string) => body.includes("f32x4");
  // Vectorised in their own exported body. gemm and gemm_rm are not: their arithmetic is in the
  // tiles they call. Nor are lstm_forward and lstm_backward: see cellCode.
  const SIMD_KERNELS = ["sum_squares", "scale", "clip_value", "mse", "softmax_xent", "sgd_step", "adam_step",
    "dropout_forward", "embedding_backward"];
  const GEMMS = ["gemm", "gemm_rm"];
  const LSTMS = ["lstm_forward", "lstm_backward"];

  /**
   * An LSTM export's own code: its body and every function it calls, less the GEMM (gemm, gemm_rm
   * and what they call). That is the cell step and the activations, called or inlined.
   */
  function cellCode(t: string, k: string): string[] {
    const exps = exportedFunctions(t), all = allFunctions(t);
    const gemm = new Set<string>(GEMMS.flatMap((g) => [exps.get(g)!, ...callees(t, g).keys()]));
    return [all.get(exps.get(k)!)!, ...[...callees(t, k)].filter(([name]) => !gemm.has(name)).map(([, body]) => body)];
  }

  /** What the tile functions under a gemm export contain: every function it calls, transitively. */
  function gemmTiles(t: string, k: string): string[] {
    const fns = [...callees(t, k).values()];
    expect(`${k} calls ${fns.length > 0 ? "some" : "no"} functions`).toBe(`${k} calls some functions`);
    return fns;
  }

  it("the scalar build contains no v128, f32x4, i32x4 or f64x2 anywhere", () => {
    const t = wat("scalar");
    for (const op of ["v128", "f32x4", "i32x4", "f64x2"]) expect(`${op}: ${t.includes(op)}`).toBe(`${op}: false`);
  });

  it("the scalar build's gemm and gemm_rm tiles do their arithmetic in scalar f32", () => {
    const t = wat("scalar");
    for (const k of GEMMS) {
      const fns = gemmTiles(t, k);
      expect(`${k}: ${fns.some((f) => f.includes("f32.mul") && f.includes("f32.add"))}`).toBe(`${k}: true`);
    }
  });

  it.each(["simd", "relaxed-simd"] as const)(
    "the %s build's gemm and gemm_rm tiles use f32x4, with no scalar f32 multiply or add left in them",
    (b) => {
      const t = wat(b);
      for (const k of GEMMS) {
        const fns = gemmTiles(t, k);
        // Each tile is a loop of v128.load32_splat (one A element) times B vectors.
        expect(`${k}: ${fns.some((f) => usesF32x4(f) && f.includes("v128.load32_splat"))}`).toBe(`${k}: true`);
        // A scalar fallback tile (tile_scalar) compiled into a SIMD build would show up as f32.mul/f32.add.
        for (const op of ["f32.mul", "f32.add"]) {
          expect(`${k}: ${op} ${fns.some((f) => f.includes(`(${op}`))}`).toBe(`${k}: ${op} false`);
        }
      }
    },
  );

  it("the simd build uses f32x4 ops inside every vectorised kernel and the LSTMs' cell code, and no relaxed instruction", () => {
    const t = wat("simd");
    const bodies = functionBodies(t);
    for (const k of SIMD_KERNELS) {
      expect(bodies.has(k)).toBe(true);
      expect(`${k}: ${usesF32x4(bodies.get(k)!)}`).toBe(`${k}: true`);
    }
    for (const k of LSTMS) expect(`${k}: ${cellCode(t, k).some(usesF32x4)}`).toBe(`${k}: true`);
    expect(t.includes("relaxed")).toBe(false);
  });

  it("the relaxed-simd build uses f32x4.relaxed_madd in the LSTMs' cell code and in gemm's and gemm_rm's tiles", () => {
    const t = wat("relaxed-simd");
    for (const k of LSTMS) {
      expect(`${k}: ${cellCode(t, k).some((f) => f.includes("f32x4.relaxed_madd"))}`).toBe(`${k}: true`);
    }
    for (const k of GEMMS) {
      const fns = gemmTiles(t, k);
      expect(`${k}: ${fns.some((f) => f.includes("f32x4.relaxed_madd"))}`).toBe(`${k}: true`);
      // Every multiply-add of the tiles goes through madd(), i.e. relaxed_madd in this build. The plain
      // products are the first of each pair in the single-row tiles (a0·b0, then madd(a1, b1, ·)):
      // 4 in tile1x16, 2 in tile1x8.
      const count = (op: string) => fns.reduce((n, f) => n + f.split(op).length - 1, 0);
      expect(`${k}: ${count("f32x4.mul")} mul, ${count("f32x4.relaxed_madd")} madd`)
        .toBe(`${k}: 6 mul, ${count("f32x4.relaxed_madd")} madd`);
    }
  });

  it("the relaxed-simd build is still vectorised in every kernel the simd build vectorises", () => {
    const t = wat("relaxed-simd");
    const bodies = functionBodies(t);
    for (const k of SIMD_KERNELS) expect(`${k}: ${usesF32x4(bodies.get(k)!)}`).toBe(`${k}: true`);
    for (const k of LSTMS) expect(`${k}: ${cellCode(t, k).some(usesF32x4)}`).toBe(`${k}: true`);
  });
});

describe("kernels keep no state", () => {
  // Scratch is passed in (gemm_rm's packing, linear_backward, lstm_backward), so threads sharing one
  // memory cannot race on it, and re-applying the data segments in a new instance changes nothing.
  it.each(BUILD_NAMES)("%s has no globals, and training leaves every byte below heap_base as instantiation wrote it", async (b) => {
    expect(`globals: ${wat(b).includes("(global ")}`).toBe("globals: false");
    await init({ backend: b });
    const rng = (() => { let s = 7; return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 31 - 1); })();
    const x = Float32Array.from({ length: 12 * 5 * 3 }, rng), y = Float32Array.from({ length: 12 * 2 }, rng);
    const model = new Sequential([new LSTM({ inputSize: 3, hiddenSize: 13, projSize: 5, bidirectional: true, seed: 1 }),
      new Linear({ inputSize: 10, outputSize: 2, seed: 1 })]);
    await model.fit({ data: x, shape: [12, 5, 3] }, { data: y, shape: [12, 2] }, { epochs: 2, batchSize: 5, optimizer: new Adam({ lr: 1e-2 }) });
    const lstm = new LSTM({ inputSize: 3, hiddenSize: 9, seed: 2 });
    lstm.forward(x, { seqLen: 5, batch: 12, train: true });
    lstm.backward({ dy: Float32Array.from({ length: 5 * 12 * 9 }, rng) });
    clipGradNorm(lstm.grads(), 0.5);
    lstm.step(x.subarray(0, 3), lstm.initialState(1));
    // The other kernels: embedding with a Keras mask, hard sigmoid without biases, dropout, and
    // Linear's fused activations with softmax-cross-entropy.
    const ids = Array.from({ length: 12 }, (_, n) => Array.from({ length: 6 }, (_, t) => ((n * 7 + t * 3) % 11 < 3 ? 0 : 1 + ((n + 5 * t) % 8))));
    const tokens = new Sequential([new Embedding({ numEmbeddings: 9, embeddingDim: 4, maskZero: true, seed: 3 }),
      new LSTM({ inputSize: 4, hiddenSize: 11, recurrentActivation: "hardSigmoid", bias: false, returnSequences: true, seed: 4 }),
      new Dropout({ p: 0.25 }), new LSTM({ inputSize: 11, hiddenSize: 6, bidirectional: true, seed: 5 }),
      new Linear({ inputSize: 12, outputSize: 7, activation: "relu", seed: 6 }), new Linear({ inputSize: 7, outputSize: 3, activation: "softmax", seed: 7 })]);
    await tokens.fit(ids, Int32Array.from({ length: 12 }, (_, n) => n % 3), { loss: "crossEntropy", epochs: 2, batchSize: 5, seed: 1, optimizer: new Adam({ lr: 1e-2 }) });
    const k = backend().k, base = k.heap_base();
    const fresh = new WebAssembly.Instance(new WebAssembly.Module(bytesOf(b)), {}).exports as unknown as { memory: WebAssembly.Memory };
    expect(Buffer.compare(new Uint8Array(k.memory.buffer, 0, base), new Uint8Array(fresh.memory.buffer, 0, base))).toBe(0);
    model.dispose();
    lstm.dispose();
    tokens.dispose();
  });
});

describe("the shipped bytes", () => {
  it.each(BUILD_NAMES)("the base64 for %s in src/wasm/embedded.ts decodes to exactly its build/<name>.wasm", (b) => {
    const decoded = new Uint8Array(Buffer.from(WASM[b], "base64"));
    const file = bytesOf(b);
    expect(decoded.length).toBe(file.length);
    expect(Buffer.compare(decoded, file)).toBe(0);
  });

  it("embedded.ts holds exactly the three builds and the two thread-capable ones", () => {
    expect(Object.keys(WASM).sort()).toEqual([...BUILD_NAMES, ...THREAD_BUILDS].sort());
  });

  it.each(THREAD_BUILDS)("%s exports the pinned kernels and imports only env.memory, a shared memory, and env.now, the barrier's clock", (b) => {
    const mod = new WebAssembly.Module(readFileSync(`${root}build/${b}.wasm`));
    expect(WebAssembly.Module.imports(mod)).toEqual([{ module: "env", name: "now", kind: "function" }, { module: "env", name: "memory", kind: "memory" }]);
    const single = new WebAssembly.Module(readFileSync(`${root}build/${b.replace("-threads", "")}.wasm`));
    const names = (m: WebAssembly.Module) => WebAssembly.Module.exports(m).filter((e) => e.kind === "function").map((e) => e.name).sort();
    expect(names(mod)).toEqual(names(single));
    // Instantiable only over a shared memory.
    const now = () => 0;
    expect(() => new WebAssembly.Instance(mod, { env: { now, memory: new WebAssembly.Memory({ initial: 64, maximum: 65536 }) } })).toThrow();
    expect(() => new WebAssembly.Instance(mod, { env: { now, memory: new WebAssembly.Memory({ initial: 64, maximum: 65536, shared: true }) } })).not.toThrow();
  });

  it.each(BUILD_NAMES)("dist/index.js carries the same base64 for %s as embedded.ts", (b) => {
    const dist = readFileSync(`${root}dist/index.js`, "utf8");
    expect(dist.includes(`"${WASM[b]}"`)).toBe(true); // the minified bundle keeps the string whole
  });
});
