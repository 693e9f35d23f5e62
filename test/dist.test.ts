// The published package: dist/index.js is one self-contained ESM file with exactly the public
// runtime API, package.json points at files that exist, and the declarations cover the API.
import { describe, it, expect } from "vitest";
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { inspect } from "node:util";

const root = fileURLToPath(new URL("..", import.meta.url));
const distJs = join(root, "dist/index.js");
const typesIndex = join(root, "dist/types/index.d.ts");
const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));

// Typed as the source entry it was bundled from.
type Dist = typeof import("../src/index");
const loadDist = () => import(/* @vite-ignore */ pathToFileURL(distJs).href) as Promise<Dist>;
const RUNTIME_EXPORTS = [
  "Adam", "AdamW", "Dropout", "Embedding", "LSTM", "LSTMError", "Linear", "SGD", "Sequential", "clipGradNorm", "clipGradValue",
  "configFromStateDict", "detectBackend", "fromBlocked", "fromChainer", "fromKeras", "fromOnnx", "init",
  "readSafetensors", "readSafetensorsWithMetadata", "reorderGates", "sample", "toBlocked", "toChainer", "toKeras",
  "toOnnx", "writeSafetensors",
];

describe("dist/index.js", () => {
  const src = readFileSync(distJs, "utf8");
  // Drop whole-line comments (esbuild keeps doc comments, whose prose may say "from"); code is
  // never on those lines, and the base64 strings are never touched since they sit after a key.
  const code = src.replace(/^[ \t]*\/\*(?:[^*]|\*(?!\/))*\*\/[ \t]*$/gm, "").replace(/^\s*\/\/.*$/gm, "");

  it("imports and requires no module at all (static, dynamic, re-export or require)", () => {
    const patterns: [string, RegExp][] = [
      ["static import … from", /\bfrom\s*["']/],
      ["bare import \"x\"", /(^|[;\s])import\s*["']/m],
      ["import statement", /^\s*import\s+[\w{*]/m],
      ["dynamic import()", /\bimport\s*\(/],
      ["require()", /\brequire\s*\(/],
      ["import.meta other than .url", /\bimport\.meta\b(?!\.url\b)/],
    ];
    for (const [what, re] of patterns) expect(`${what}: ${re.exec(code)?.[0] ?? "none"}`).toBe(`${what}: none`);
    // Its own URL, once: the script a browser's pool workers load (src/runtime/pool.ts).
    expect(code.match(/\bimport\.meta\.url\b/g)?.length).toBe(1);
  });

  it("contains no node: specifier anywhere", () => {
    expect(/["'`]node:/.test(src)).toBe(false);
  });

  it("is ESM whose only export statement lists the public runtime API", () => {
    const exportsStmts = [...code.matchAll(/(?:^|[;}\n])\s*export\s*\{([^}]*)\}/g)]; // minified: may follow a ';'
    expect(exportsStmts).toHaveLength(1);
    const names = exportsStmts[0][1].split(",").map((s) => s.trim().split(/\s+as\s+/).pop()!).filter(Boolean);
    expect(names.sort()).toEqual(RUNTIME_EXPORTS);
  });

  it("exposes exactly the public runtime API when imported", async () => {
    const mod = await loadDist();
    expect(Object.keys(mod).sort()).toEqual(RUNTIME_EXPORTS);
  });

  it("runs a tiny forward after init(), and its LSTMError is a real Error subclass", async () => {
    const mod = await loadDist();
    const { backend } = await mod.init();
    expect(["relaxed-simd", "simd", "scalar"]).toContain(backend);
    const lstm = new mod.LSTM({ inputSize: 2, hiddenSize: 3, seed: 1 });
    expect(lstm.backend).toBe(backend);
    const { y, hn, cn } = lstm.forward([[[0.5, -1]], [[2, 0.25]]]); // T=2, B=1, I=2
    expect(y.shape).toEqual([2, 1, 3]);
    expect(hn.shape).toEqual([1, 1, 3]);
    expect(cn.shape).toEqual([1, 1, 3]);
    expect(y.data).toBeInstanceOf(Float32Array);
    expect(Array.from(y.data).every((v) => Number.isFinite(v) && Math.abs(v) < 1)).toBe(true);
    // The last step of y is hn for a one-layer unidirectional LSTM.
    expect(Array.from(y.data.subarray(3))).toEqual(Array.from(hn.data));
    expect(() => new mod.LSTM({ inputSize: 0, hiddenSize: 3 })).toThrow(mod.LSTMError);
    expect(new mod.LSTMError("a", "b", "c")).toBeInstanceOf(Error);
    lstm.dispose();
  });

  it("init() refuses an unknown option with an LSTMError, as every other entry point does", async () => {
    const mod = await loadDist();
    const e = await mod.init({ backend: "scalar", bogus: 1 } as never).then(() => null, (err: unknown) => err);
    expect(e).toBeInstanceOf(mod.LSTMError);
    expect((e as InstanceType<typeof mod.LSTMError>).argument).toBe("options.bogus");
  });
});

// Minified identifiers are one or two letters; esbuild's keepNames gives every class and function
// back its `name`, which console.log, the error's first line and V8's frames for constructors and
// functions read. Method frames still show the minified class (`n.forward`): V8 names a method's
// receiver from the class's binding, not from `name`.
describe("dist/index.js keeps class names through minification", () => {
  const CLASSES = ["LSTM", "Sequential", "Linear", "Embedding", "Dropout", "SGD", "Adam", "AdamW", "LSTMError"] as const;

  it("is minified: no class keeps its source binding", () => {
    const src = readFileSync(distJs, "utf8");
    for (const c of CLASSES) expect(`class ${c}: ${new RegExp(`\\bclass ${c}\\b`).test(src)}`).toBe(`class ${c}: false`);
  });

  it("every exported class has its own name, and console.log shows a model and its layers by class", async () => {
    const mod = await loadDist();
    await mod.init();
    for (const c of CLASSES) expect(mod[c].name).toBe(c);
    const model = new mod.Sequential([
      new mod.Embedding({ numEmbeddings: 5, embeddingDim: 2 }),
      new mod.LSTM({ inputSize: 2, hiddenSize: 3, seed: 1 }),
      new mod.Dropout({ p: 0.1 }),
      new mod.Linear({ inputSize: 3, outputSize: 1 }),
    ]);
    const shown = inspect(model, { depth: 2 });
    expect(shown.startsWith("Sequential {")).toBe(true);
    for (const c of ["Embedding", "LSTM", "Dropout", "Linear"]) expect(shown).toContain(`${c} {`);
    model.dispose();
  });

  // V8's own text, from a plain Node process: under vitest the frames are mapped back to src through
  // dist/index.js.map, which would hide what the bundle itself says.
  const BAD = {
    LSTM: "new m.LSTM({ inputSize: 0, hiddenSize: 3 })",
    Sequential: "new m.Sequential([])",
    Linear: "new m.Linear({ inputSize: 0, outputSize: 1 })",
    Embedding: "new m.Embedding({ numEmbeddings: 0, embeddingDim: 2 })",
    Dropout: "new m.Dropout({ p: 2 })",
  };
  let stacks: Record<string, string> | undefined;
  const stackOf = (name: keyof typeof BAD) => {
    stacks ??= JSON.parse(execFileSync(process.execPath, ["--input-type=module", "-e", `
      const m = await import(process.argv[1]);
      await m.init();
      const stacks = {};
      for (const [name, call] of Object.entries(${JSON.stringify(BAD)})) {
        try { new Function("m", call)(m); } catch (e) { stacks[name] = e.stack; }
      }
      console.log(JSON.stringify(stacks));`, pathToFileURL(distJs).href], { encoding: "utf8" }));
    return stacks![name];
  };

  it.each(Object.keys(BAD) as (keyof typeof BAD)[])("a bad %s argument's stack trace reads LSTMError and `at new` that class in dist/index.js", (name) => {
    const stack = stackOf(name);
    expect(stack).toMatch(/^LSTMError: (options|layers)\b/);
    expect(stack).toMatch(new RegExp(`\\n\\s+at new ${name} \\(file:.*/dist/index\\.js:\\d+:\\d+\\)`));
  });
});

describe("package.json", () => {
  it("is named lstm-wasm, is an ES module package and declares no side effects", () => {
    expect(pkg.name).toBe("lstm-wasm");
    expect(pkg.type).toBe("module");
    expect(pkg.sideEffects).toBe(false);
  });

  it("exports['.'] lists types first, and every file it (and main/types) points to exists", () => {
    const dot = pkg.exports["."];
    expect(Object.keys(dot)[0]).toBe("types");
    expect(dot.types).toBe("./dist/types/index.d.ts");
    expect(dot.default).toBe("./dist/index.js");
    for (const target of [...Object.values<string>(dot), pkg.main, pkg.types]) {
      expect(`${target}: ${existsSync(join(root, target))}`).toBe(`${target}: true`);
    }
    expect(existsSync(join(root, pkg.exports["./package.json"]))).toBe(true);
  });

  it("pins every devDependency to an exact version (no ^, ~, ranges or tags)", () => {
    const dev = Object.entries<string>(pkg.devDependencies ?? {});
    expect(dev.length).toBeGreaterThan(0);
    for (const [name, v] of dev) expect(`${name}@${v}: ${/^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/.test(v)}`).toBe(`${name}@${v}: true`);
  });

  it("has no runtime dependencies of any kind", () => {
    for (const key of ["dependencies", "peerDependencies", "optionalDependencies", "bundledDependencies"]) {
      expect(`${key}: ${Object.keys(pkg[key] ?? {}).length}`).toBe(`${key}: 0`);
    }
  });
});

describe("dist/types", () => {
  it("index.d.ts exists and declares LSTM, init, clipGradNorm, clipGradValue, LSTMError and Tensor", () => {
    expect(existsSync(typesIndex)).toBe(true);
    const dts = readFileSync(typesIndex, "utf8");
    for (const name of ["LSTM", "init", "clipGradNorm", "clipGradValue", "LSTMError", "Tensor"]) {
      expect(`${name}: ${new RegExp(`\\b${name}\\b`).test(dts)}`).toBe(`${name}: true`);
    }
  });

  it("every relative module the declarations reference is a .js specifier of a .d.ts in dist/types", () => {
    // Walk from index.d.ts through its relative imports; a missing file breaks consumers' types, and
    // node16/nodenext refuse a specifier without its extension (TS2834).
    const seen = new Set<string>();
    const missing: string[] = [];
    const queue = [typesIndex];
    while (queue.length) {
      const file = queue.pop()!;
      if (seen.has(file)) continue;
      seen.add(file);
      const text = readFileSync(file, "utf8");
      for (const m of text.matchAll(/(?:from|import)\s*\(?\s*["'](\.{1,2}\/[^"']+)["']/g)) {
        const base = resolve(dirname(file), m[1]).replace(/\.js$/, "");
        const target = m[1].endsWith(".js") ? [`${base}.d.ts`].find(existsSync) : undefined;
        if (target) queue.push(target);
        else missing.push(`${file.slice(root.length)} -> ${m[1]}`);
      }
    }
    expect(missing).toEqual([]);
    expect(seen.size).toBeGreaterThan(1);
  });
});
