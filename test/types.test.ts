// The declarations as a consumer gets them: the package is `npm pack`ed once, unpacked into
// node_modules of fresh projects (Node-only under nodenext and node16 with lib es2022 and
// @types/node, no DOM; a browser project under bundler with DOM and no Node types), and checked by
// this repo's TypeScript with skipLibCheck false. Correct use compiles with real types (not any);
// each line after `// @ts-expect-error TSnnnn` fails with exactly that code, and nothing else fails.
// The projects stay on disk while the tests run; `tsc -p <project>` there reproduces a failure.
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import ts from "typescript";
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));

// Shared by every project; `extra` holds what only that environment has.
const USE = `
import {
  init, detectBackend, LSTM, Sequential, Linear, Embedding, Dropout, SGD, Adam, LSTMError,
  clipGradNorm, writeSafetensors, readSafetensors,
  type BackendName, type Tensor, type TensorLike, type Layer, type History, type LSTMOptions,
} from "lstm-wasm";

/** Compiles only when T is a real type: any would have to be assignable to never. */
declare function typed<T>(v: 0 extends 1 & T ? never : T): void;

const { backend } = await init({ backend: "simd" });
const best: BackendName = detectBackend();
const opts: LSTMOptions = { inputSize: 3, hiddenSize: 16, numLayers: 2, batchFirst: true, seed: 1 };
const lstm = new LSTM(opts);
const x: Tensor = { data: new Float32Array(2 * 5 * 3), shape: [2, 5, 3] };
const { y, hn } = lstm.forward(x, { train: true, lengths: [5, 3] });
const dx: Float32Array = lstm.backward({ dy: y }).dx.data;
const norm: number = clipGradNorm(lstm.grads(), 1);
const nested: TensorLike = [[[1, 2, 3]]];
const state = lstm.initialState(1);
const yt: Tensor = lstm.step([[1, 2, 3]], state);
const restored: Record<string, Tensor> = readSafetensors(writeSafetensors(lstm.stateDict()));
lstm.loadStateDict(restored);

const layers: Layer[] = [
  new Embedding({ numEmbeddings: 10, embeddingDim: 4, paddingIdx: 0 }),
  new LSTM({ inputSize: 4, hiddenSize: 8 }),
  new Dropout({ p: 0.1 }),
  new Linear({ inputSize: 8, outputSize: 2, activation: "softmax" }),
];
const model = new Sequential(layers, { names: ["embed", "lstm", "drop", "fc"] });
const history: History = await model.fit([[1, 2, 3], [4, 5, 6]], new Int32Array([0, 1]),
  { epochs: 1, loss: "crossEntropy", optimizer: new Adam({ lr: 1e-3 }), metrics: ["accuracy"] });
const losses: number[] = history.loss;
const probs: Tensor = model.predict([[1, 2, 3]]);
const again = Sequential.load(model.save());
new SGD({ lr: 0.1, momentum: 0.9 }).step(lstm);

try {
  lstm.forward([]);
} catch (e) {
  if (e instanceof LSTMError) console.log(e.argument, e.expected, e.received);
}
typed(init); typed(backend); typed(lstm); typed(y); typed(hn); typed(model); typed(history); typed(again);
typed(state); typed(layers[0]);

// The members the library uses between its own objects are not in the types.
type Internal = "forwardFlow" | "backwardFlow" | "stepFlow" | "chain" | "paramBlock" | "moveParams" |
  "prepareLoad" | "spec" | "target" | "engine" | "isDisposed" | "fitting" | "input" | "output" | "be" |
  "batch" | "meanLoss" | "claim" | "restore" | "snapshot" | "gradBlock";
const leaks: Record<Extract<keyof LSTM | keyof Sequential | keyof Linear | keyof Embedding | keyof Dropout |
  keyof Adam, Internal>, true> = {};

// @ts-expect-error TS2561 a misspelt option ("did you mean 'hiddenSize'?")
new LSTM({ inputSize: 3, hiddenSize: 16, hiddensize: 4 });
// @ts-expect-error TS2322 a float64 tensor
lstm.forward({ data: new Float64Array(15), shape: [5, 1, 3] });
// @ts-expect-error TS2322 no backend of that name
await init({ backend: "wasm" });
// @ts-expect-error TS2353 init has no such option
await init({ bogus: 1 });
// @ts-expect-error TS2345 fit's targets are tensors or class ids
await model.fit([[1, 2, 3]], "labels", { optimizer: new Adam() });
// @ts-expect-error TS2345 fit needs an optimizer
await model.fit([[1, 2, 3]], new Int32Array([0]), { epochs: 1 });
// @ts-expect-error TS2322 a Sequential takes only this library's layers
new Sequential([{ forward: (x: TensorLike) => x }]);
// @ts-expect-error TS2339 internal
lstm.forwardFlow;
// @ts-expect-error TS2345 typed() refuses any (what every import was when the declarations failed to resolve)
typed(JSON.parse("{}"));
`;

const NODE_EXTRA = `
import { readFile } from "node:fs/promises";
import { init } from "lstm-wasm";
await init({ backend: "scalar", wasm: await readFile("node_modules/lstm-wasm/dist/wasm/scalar.wasm") });
await init({ backend: "simd", wasm: new URL("./simd.wasm", import.meta.url) });
`;
const BROWSER_EXTRA = `
import { init } from "lstm-wasm";
const module: WebAssembly.Module = await WebAssembly.compileStreaming(fetch("/assets/simd.wasm"));
await init({ backend: "simd", wasm: module });
await init({ backend: "simd", wasm: new URL("/assets/simd.wasm", location.href) });
`;

interface Project { compilerOptions: Record<string, unknown>; extra: string; dom: boolean }
const STRICT = { target: "es2022", strict: true, skipLibCheck: false, noEmit: true };
const PROJECTS: Record<string, Project> = {
  "node-nodenext": {
    compilerOptions: { ...STRICT, module: "nodenext", moduleResolution: "nodenext", lib: ["es2022"], types: ["node"] },
    extra: NODE_EXTRA, dom: false,
  },
  "node-node16": {
    compilerOptions: { ...STRICT, module: "node16", moduleResolution: "node16", lib: ["es2022"], types: ["node"] },
    extra: NODE_EXTRA, dom: false,
  },
  "browser-bundler": {
    compilerOptions: { ...STRICT, module: "esnext", moduleResolution: "bundler", lib: ["es2022", "dom"], types: [] },
    extra: BROWSER_EXTRA, dom: true,
  },
};

/** `file:line TSnnnn` for each line after a `// @ts-expect-error TSnnnn` comment. */
function expectedErrors(file: string, text: string): string[] {
  const lines = text.split("\n");
  const out: string[] = [];
  lines.forEach((l, i) => {
    const m = /^\s*\/\/ @ts-expect-error (TS\d+)/.exec(l);
    if (m) out.push(`${file}:${i + 2} ${m[1]}`);
  });
  return out;
}

/** A diagnostic as `file:line TSnnnn` (paths from the project), or `(global) TSnnnn`. */
function label(d: ts.Diagnostic, dir: string): string {
  if (!d.file || d.start === undefined) return `(global) TS${d.code}`;
  const line = d.file.getLineAndCharacterOfPosition(d.start).line + 1;
  return `${relative(dir, d.file.fileName)}:${line} TS${d.code}`;
}

let dir = "";
let packed = "";
// TypeScript's lib, @types/node and the package's declarations, parsed once for all projects.
const parsed = new Map<string, ts.SourceFile | undefined>();
beforeAll(() => {
  if (!existsSync(join(root, "dist/types/index.d.ts"))) throw new Error("dist/types is missing: npm run build:types first");
  dir = mkdtempSync(join(tmpdir(), "lstm-wasm-types-"));
  // --ignore-scripts: `prepare` would rebuild dist; npm test has just built it.
  const [info] = JSON.parse(execFileSync("npm", ["pack", "--ignore-scripts", "--json", "--pack-destination", dir],
    { cwd: root, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }));
  packed = join(dir, info.filename);
  // What `npm install <tarball>` does for a package without dependencies, without npm or network.
  const pkg = join(dir, "node_modules/lstm-wasm");
  mkdirSync(pkg, { recursive: true });
  execFileSync("tar", ["-xzf", packed, "-C", pkg, "--strip-components=1"]);
  mkdirSync(join(dir, "node_modules/@types"));
  symlinkSync(join(root, "node_modules/@types/node"), join(dir, "node_modules/@types/node"), "dir");
}, 60_000);
afterAll(() => { if (dir) rmSync(dir, { recursive: true, force: true }); });

describe.each(Object.entries(PROJECTS))("a fresh %s project using the packed tarball", (name, project) => {
  it("compiles correct use with real types, and each @ts-expect-error line fails with its stated code", () => {
    const proj = join(dir, name);
    mkdirSync(proj);
    writeFileSync(join(proj, "package.json"), JSON.stringify({ name, private: true, type: "module" }));
    writeFileSync(join(proj, "tsconfig.json"), JSON.stringify({ compilerOptions: project.compilerOptions, include: ["*.ts"] }, null, 2));
    writeFileSync(join(proj, "use.ts"), USE);
    writeFileSync(join(proj, "extra.ts"), project.extra);

    const config = ts.getParsedCommandLineOfConfigFile(join(proj, "tsconfig.json"), {}, {
      ...ts.sys, onUnRecoverableConfigFileDiagnostic: (d) => { throw new Error(ts.flattenDiagnosticMessageText(d.messageText, "\n")); },
    })!;
    expect(config.errors).toEqual([]);
    // The compiler sees use.ts without its directives, so every expected error is reported.
    const host = ts.createCompilerHost(config.options);
    const getSourceFile = host.getSourceFile;
    host.getSourceFile = (file, lang, ...rest) => {
      if (file === join(proj, "use.ts")) return ts.createSourceFile(file, USE.replaceAll("// @ts-expect-error", "// expect-error"), lang);
      if (file.startsWith(proj)) return getSourceFile.call(host, file, lang, ...rest);
      const key = `${file} ${JSON.stringify(typeof lang === "object" ? [lang.languageVersion, lang.impliedNodeFormat] : lang)}`;
      if (!parsed.has(key)) parsed.set(key, getSourceFile.call(host, file, lang, ...rest));
      return parsed.get(key);
    };
    const program = ts.createProgram({ rootNames: config.fileNames, options: config.options, host });

    const files = program.getSourceFiles().map((f) => f.fileName);
    const ours = program.getSourceFiles().filter((f) => f.fileName.startsWith(join(dir, "node_modules/lstm-wasm/")));
    expect(ours.map((f) => f.fileName)).toContain(join(dir, "node_modules/lstm-wasm/dist/types/index.d.ts"));
    expect(files.some((f) => /[\\/]lib\.dom\.d\.ts$/.test(f))).toBe(project.dom);

    // skipLibCheck false: the package's declarations are checked like the consumer's code. Other
    // libraries (@types/node, TypeScript's lib) are not this package's to check.
    const diagnostics = [
      ...program.getOptionsDiagnostics(), ...program.getGlobalDiagnostics(),
      ...[...ours, program.getSourceFile(join(proj, "use.ts"))!, program.getSourceFile(join(proj, "extra.ts"))!]
        .flatMap((f) => [...program.getSyntacticDiagnostics(f), ...program.getSemanticDiagnostics(f)]),
    ];
    const report = diagnostics.map((d) => `${label(d, proj)} ${ts.flattenDiagnosticMessageText(d.messageText, " ")}`).join("\n");
    expect(diagnostics.map((d) => label(d, proj)).sort(), report).toEqual(expectedErrors("use.ts", USE).sort());
  });
});

describe("the packed tarball", () => {
  it("holds the declarations, bundle and wasm, and no source, tests or embedded base64 declaration", () => {
    const listed = execFileSync("tar", ["-tzf", packed], { encoding: "utf8" }).split("\n").filter(Boolean);
    for (const f of ["package/dist/index.js", "package/dist/types/index.d.ts", "package/dist/types/wasm/backend.d.ts", "package/dist/wasm/simd.wasm"]) {
      expect(listed).toContain(f);
    }
    expect(listed.filter((f) => /^package\/(src|test|scripts|assembly)\//.test(f) || f.endsWith("embedded.d.ts"))).toEqual([]);
  });
});
