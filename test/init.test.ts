// Backend selection: what init() and detectBackend() pick in these workers and in fresh Node
// processes with and without the relaxed-SIMD flag, init()'s no-op and error rules, switching
// builds under live models, and loading a build from caller-supplied bytes or a Module.
// Tests run in order and share this file's module state (the current backend).
import { describe, it, expect } from "vitest";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath, pathToFileURL } from "node:url";
import { init, detectBackend, LSTM, Linear, Dropout, Sequential, LSTMError } from "../src/index";
import { backend as currentBackend } from "../src/wasm/backend";
import { SIMD_PROBE, RELAXED_SIMD_PROBE } from "../src/wasm/probe";

const root = fileURLToPath(new URL("..", import.meta.url));
const NODE_MAJOR = Number(process.versions.node.split(".")[0]);
const RELAXED_FLAG = "--experimental-wasm-relaxed-simd";
const simdBytes = () => new Uint8Array(readFileSync(`${root}build/simd.wasm`));

// A fixed small problem: T=4, B=2, I=3, H=5.
const X = Float32Array.from({ length: 4 * 2 * 3 }, (_, i) => Math.sin(i * 0.7) * 1.5);
const makeModel = () => new LSTM({ inputSize: 3, hiddenSize: 5, seed: 7 });
const run = (m: LSTM) => m.forward(X, { seqLen: 4, batch: 2 }).y.data.slice();

async function rejection(p: Promise<unknown>): Promise<LSTMError> {
  const e = await p.then(() => null, (err: unknown) => err);
  expect(e).toBeInstanceOf(LSTMError);
  return e as LSTMError;
}

interface Outcome { ok?: unknown; err?: { isLSTMError: boolean; argument?: string; message: string } }
interface ChildReport {
  beforeInit: Outcome;
  probes: { simd: boolean; relaxed: boolean };
  builds: { simd: boolean; relaxed: boolean };
  detect: string;
  forcedRelaxed: Outcome;
  auto: Outcome;
  autoModelBackend: string;
  scalar: Outcome;
  scalarModel: { backend: string; finite: boolean; length: number };
}

/** Import the built bundle in a fresh Node process (with the given V8 flags) and report. */
function child(flags: string[]): ChildReport {
  const script = `
    import { readFileSync } from "node:fs";
    const m = await import(${JSON.stringify(pathToFileURL(`${root}dist/index.js`).href)});
    const attempt = async (f) => {
      try { return { ok: await f() }; }
      catch (e) { return { err: { isLSTMError: e instanceof m.LSTMError, argument: e.argument, message: String(e.message) } }; }
    };
    const out = {};
    out.beforeInit = await attempt(() => { new m.LSTM({ inputSize: 2, hiddenSize: 3, seed: 1 }); return "constructed"; });
    out.probes = {
      simd: WebAssembly.validate(new Uint8Array(${JSON.stringify([...SIMD_PROBE])})),
      relaxed: WebAssembly.validate(new Uint8Array(${JSON.stringify([...RELAXED_SIMD_PROBE])})),
    };
    const build = (b) => WebAssembly.validate(readFileSync(${JSON.stringify(root)} + "build/" + b + ".wasm"));
    out.builds = { simd: build("simd"), relaxed: build("relaxed-simd") };
    out.detect = m.detectBackend();
    // Forced relaxed first, so a rejection happens with nothing loaded yet.
    out.forcedRelaxed = await attempt(async () => (await m.init({ backend: "relaxed-simd" })).backend);
    out.auto = await attempt(async () => (await m.init()).backend);
    out.autoModelBackend = new m.LSTM({ inputSize: 2, hiddenSize: 3, seed: 1 }).backend;
    out.scalar = await attempt(async () => (await m.init({ backend: "scalar" })).backend);
    const model = new m.LSTM({ inputSize: 2, hiddenSize: 3, seed: 1 });
    const y = model.forward([[[0.5, -1]], [[2, 0.25]]]).y.data;
    out.scalarModel = { backend: model.backend, finite: y.every(Number.isFinite), length: y.length };
    console.log(JSON.stringify(out));
  `;
  // No NODE_OPTIONS: the child must see exactly the flags given here.
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  const stdout = execFileSync(process.execPath, [...flags, "--input-type=module", "-e", script], { env, encoding: "utf8", timeout: 30_000 });
  return JSON.parse(stdout.trim().split("\n").pop()!) as ChildReport;
}

describe("in the test workers", () => {
  it("detectBackend() is 'relaxed-simd', so the relaxed suites really run on the relaxed build", () => {
    expect(WebAssembly.validate(RELAXED_SIMD_PROBE)).toBe(true);
    expect(WebAssembly.validate(SIMD_PROBE)).toBe(true);
    expect(detectBackend()).toBe("relaxed-simd");
  });

  it("init() with no options returns 'relaxed-simd' and new models run on it", async () => {
    expect(await init()).toMatchObject({ backend: "relaxed-simd" });
    const m = makeModel();
    expect(m.backend).toBe("relaxed-simd");
    m.dispose();
  });
});

describe("init() on a fresh Node process importing dist/index.js", () => {
  const relaxedByDefault = NODE_MAJOR >= 22;

  it(`without ${RELAXED_FLAG}: 'simd' on Node < 22 (forcing relaxed rejects naming options.backend), 'relaxed-simd' on 22+`, () => {
    const r = child([]);
    expect(r.probes.simd).toBe(true);
    expect(r.probes.relaxed).toBe(relaxedByDefault);
    // The probe's verdict is the real build's verdict.
    expect(r.builds).toEqual({ simd: true, relaxed: relaxedByDefault });
    if (relaxedByDefault) {
      expect(r.detect).toBe("relaxed-simd");
      expect(r.forcedRelaxed).toEqual({ ok: "relaxed-simd" });
      expect(r.auto).toEqual({ ok: "relaxed-simd" });
      expect(r.autoModelBackend).toBe("relaxed-simd");
    } else {
      expect(r.detect).toBe("simd");
      expect(r.forcedRelaxed.err?.isLSTMError).toBe(true);
      expect(r.forcedRelaxed.err?.argument).toBe("options.backend");
      expect(r.forcedRelaxed.err?.message).toContain("options.backend");
      expect(r.auto).toEqual({ ok: "simd" });
      expect(r.autoModelBackend).toBe("simd");
    }
  });

  it(`where relaxed SIMD is on (${RELAXED_FLAG} on Node < 22, the default on 22+): both probes validate and init() returns 'relaxed-simd'`, () => {
    const r = child(relaxedByDefault ? [] : [RELAXED_FLAG]);
    expect(r.probes).toEqual({ simd: true, relaxed: true });
    expect(r.builds).toEqual({ simd: true, relaxed: true });
    expect(r.detect).toBe("relaxed-simd");
    expect(r.forcedRelaxed).toEqual({ ok: "relaxed-simd" });
    expect(r.auto).toEqual({ ok: "relaxed-simd" });
    expect(r.autoModelBackend).toBe("relaxed-simd");
  });

  it("init({ backend: 'scalar' }) works with or without the flag, and its models run", () => {
    for (const flags of NODE_MAJOR >= 22 ? [[]] : [[], [RELAXED_FLAG]]) {
      const r = child(flags);
      expect(r.scalar).toEqual({ ok: "scalar" });
      expect(r.scalarModel).toEqual({ backend: "scalar", finite: true, length: 2 * 1 * 3 });
    }
  });

  it("new LSTM(...) before init() throws an LSTMError that says to call init", () => {
    const { beforeInit } = child([]);
    expect(beforeInit.ok).toBeUndefined();
    expect(beforeInit.err?.isLSTMError).toBe(true);
    expect(beforeInit.err?.message).toContain("init");
  });
});

describe("init() calls after the first", () => {
  it("a second init() with no option, 'auto' or the same backend is a no-op keeping the same instance", async () => {
    const { backend } = await init();
    const before = currentBackend();
    expect(await init()).toMatchObject({ backend });
    expect(await init({})).toMatchObject({ backend });
    expect(await init({ backend: "auto" })).toMatchObject({ backend });
    expect(await init({ backend })).toMatchObject({ backend });
    expect(currentBackend()).toBe(before);
  });

  it("init({ backend: 'bogus' }) rejects with an LSTMError naming options.backend, and changes nothing", async () => {
    const before = currentBackend();
    const e = await rejection(init({ backend: "bogus" as any }));
    expect(e.argument).toBe("options.backend");
    expect(e.message).toContain("options.backend");
    expect(e.message).toContain("bogus");
    expect(currentBackend()).toBe(before);
  });

  it.each([null, 42, "simd"])("init(%j) rejects with an LSTMError naming options", async (bad) => {
    const e = await rejection(init(bad as any));
    expect(e.argument).toBe("options");
    expect(e.message).toMatch(/^options\b/);
  });

  // As every other entry point: a misspelt or unknown option is an error, not silently ignored.
  it.each([[{ bogus: 1 }, "bogus"], [{ backend: "scalar", bogus: 1 }, "bogus"], [{ backnd: "scalar" }, "backnd"]])(
    "init(%j) rejects with an LSTMError naming options.%s and listing the options, and changes nothing", async (bad, key) => {
      const before = currentBackend();
      const e = await rejection(init(bad as any));
      expect(e.argument).toBe(`options.${key}`);
      expect(e.message).toMatch(new RegExp(`^options\\.${key}: expected one of the options backend, .*received an unknown option$`));
      expect(currentBackend()).toBe(before);
    });
});

describe("switching backends", () => {
  it("a model made under 'scalar' keeps its build after init({ backend: 'simd' }); a new model uses simd; they agree to 1e-5", async () => {
    expect(await init({ backend: "scalar" })).toMatchObject({ backend: "scalar" });
    const a = makeModel();
    expect(a.backend).toBe("scalar");
    const ya = run(a);

    expect(await init({ backend: "simd" })).toMatchObject({ backend: "simd" });
    expect(a.backend).toBe("scalar");
    expect(run(a)).toEqual(ya);

    const b = makeModel();
    expect(b.backend).toBe("simd");
    const yb = run(b);
    expect(yb.length).toBe(ya.length);
    let worst = 0;
    for (let i = 0; i < ya.length; i++) worst = Math.max(worst, Math.abs(ya[i] - yb[i]));
    expect(worst).toBeLessThanOrEqual(1e-5);
    // Both still run after another switch back.
    await init({ backend: "scalar" });
    expect(run(a)).toEqual(ya);
    expect(run(b)).toEqual(yb);
    a.dispose();
    b.dispose();
  });

  it("a Sequential refuses layers made on different builds, a Dropout (no parameters) among them, naming the layer", async () => {
    await init({ backend: "scalar" });
    const drop = new Dropout({ p: 0.5 }), lstmScalar = new LSTM({ inputSize: 2, hiddenSize: 3, seed: 1 });
    await init({ backend: "simd" });
    const lstm = new LSTM({ inputSize: 2, hiddenSize: 3, seed: 1 }), head = new Linear({ inputSize: 3, outputSize: 1, seed: 2 });
    for (const [layers, at] of [[[lstm, drop, head], "layers[1]"], [[lstmScalar, head], "layers[1]"]] as const) {
      let err: unknown = null;
      try { new Sequential([...layers]); } catch (e) { err = e; }
      expect(err).toBeInstanceOf(LSTMError);
      expect((err as LSTMError).argument).toBe(at);
      expect((err as LSTMError).received).toMatch(/scalar and simd|simd and scalar/);
    }
    const m = new Sequential([lstm, new Dropout({ p: 0.5 }), head]);
    expect(m.predict([[[1, 2]]]).shape).toEqual([1, 1]);
    m.dispose(); lstmScalar.dispose();
  });

  it("switching back to a build loaded before reuses that instance", async () => {
    await init({ backend: "simd" });
    const simd = currentBackend();
    await init({ backend: "scalar" });
    expect(currentBackend()).not.toBe(simd);
    await init({ backend: "simd" });
    expect(currentBackend()).toBe(simd);
  });
});

describe("init({ wasm }) with caller-supplied builds", () => {
  async function embeddedSimd() {
    await init({ backend: "simd" });
    const m = makeModel();
    const y = run(m);
    m.dispose();
    return { instance: currentBackend(), y };
  }

  it("bytes of build/simd.wasm load as the simd backend and compute what the embedded simd build does", async () => {
    const ref = await embeddedSimd();
    expect(await init({ backend: "simd", wasm: simdBytes() })).toMatchObject({ backend: "simd" });
    expect(currentBackend()).not.toBe(ref.instance);
    const m = makeModel();
    expect(m.backend).toBe("simd");
    expect(run(m)).toEqual(ref.y);
    m.dispose();
  });

  it("an ArrayBuffer and a compiled WebAssembly.Module of build/simd.wasm load too", async () => {
    const ref = await embeddedSimd();
    const bytes = simdBytes();
    for (const wasm of [bytes.buffer, new WebAssembly.Module(bytes)]) {
      expect(await init({ backend: "simd", wasm })).toMatchObject({ backend: "simd" });
      const m = makeModel();
      expect(m.backend).toBe("simd");
      expect(run(m)).toEqual(ref.y);
      m.dispose();
    }
  });

  it("after a caller-supplied build, init({ backend: 'simd' }) returns to the embedded simd instance", async () => {
    const ref = await embeddedSimd();
    await init({ backend: "simd", wasm: simdBytes() });
    expect(currentBackend()).not.toBe(ref.instance);
    await init({ backend: "simd" });
    expect(currentBackend()).toBe(ref.instance);
  });

  it("garbage bytes reject with an LSTMError and leave the current backend in place", async () => {
    const { instance } = await embeddedSimd();
    await rejection(init({ backend: "simd", wasm: new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]) }));
    expect(currentBackend()).toBe(instance);
  });

  it("garbage bytes are blamed on options.wasm, the argument at fault, not options.backend", async () => {
    const e = await rejection(init({ backend: "simd", wasm: new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]) }));
    expect(e.argument).toBe("options.wasm");
  });

  it("a valid wasm module that is not an lstm-wasm build rejects with an LSTMError naming options.wasm", async () => {
    const { instance } = await embeddedSimd();
    const e = await rejection(init({ backend: "simd", wasm: SIMD_PROBE }));
    expect(e.argument).toBe("options.wasm");
    expect(currentBackend()).toBe(instance);
  });

  it("a wasm value of the wrong type rejects with an LSTMError naming options.wasm", async () => {
    const e = await rejection(init({ backend: "simd", wasm: { not: "wasm" } as any }));
    expect(e.argument).toBe("options.wasm");
  });
});
