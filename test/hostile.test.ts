// Hostile arguments at every public entry point, generated with fast-check: wrong lengths, shapes
// and ranks; negative, fractional, NaN, ±Infinity and absurd sizes (1e6, 2**31, 1e300); strings,
// Symbols, functions, BigInts, null, undefined; typed arrays of the wrong kind; objects whose
// getters or proxy traps throw; disposed models. The property everywhere: the call succeeds (when
// the random value happens to be valid) or throws an LSTMError whose message names the argument —
// never a TypeError, RangeError, RuntimeError or abort — and afterwards every model still gives
// bit-identical outputs for its reference input, and a refusal has not allocated wasm memory.
//
// Values whose own getters or proxy traps throw are a special case: the library reads them, the
// read throws, and that very exception (a `Boom` here) reaches the caller unchanged. That is
// accepted (the caller's own code threw), as long as nothing else is disturbed.
//
// Then: absurd sizes refused before any allocation with the bytes stated; NaN/Infinity propagate
// exactly where PyTorch's would (against a float64 reference written here), or are refused by
// name with checkFinite; fit stops on a diverging loss with the last good weights.
//
// CI runs a fixed seed. For a longer local run: LSTM_FUZZ_SEED=$RANDOM LSTM_FUZZ_RUNS=1000 npx vitest run test/hostile.test.ts
import { describe, it, expect, beforeAll } from "vitest";
import fc from "fast-check";
import { spawnSync } from "node:child_process";
import { fileURLToPath, pathToFileURL } from "node:url";
import { dirname, join } from "node:path";
import {
  init, LSTM, Linear, Sequential, SGD, Adam, AdamW, LSTMError, clipGradNorm, clipGradValue,
  readSafetensors, readSafetensorsWithMetadata, writeSafetensors,
  fromOnnx, toOnnx, fromKeras, toKeras, fromChainer, toChainer, fromBlocked, toBlocked, reorderGates, configFromStateDict,
  type Tensor, type LSTMOptions,
} from "../src/index";
import { backend } from "../src/wasm/backend";
import { BUILDS, use } from "./helpers/backends";

const SEED = Number(process.env.LSTM_FUZZ_SEED ?? 20261127);
const RUNS = Number(process.env.LSTM_FUZZ_RUNS ?? 150);
const FC = { seed: SEED, numRuns: RUNS };
const FEW = { seed: SEED, numRuns: Math.max(20, Math.round(RUNS / 3)) };
const TIMEOUT = Math.max(60_000, RUNS * 1_000);
const DIST = join(dirname(fileURLToPath(import.meta.url)), "..", "dist", "index.js");
const any = (v: unknown) => v as any;

// ------------------------------------------------------------------ hostile values

/** What a hostile getter or proxy trap throws: the caller's own exception. */
class Boom extends Error {
  constructor(where: string) { super(`hostile value threw on ${where}`); this.name = "Boom"; }
}

/** A readable name for fast-check's counterexample printer (reading the value itself could throw). */
function tag<T>(v: T, text: string): T {
  if ((typeof v === "object" && v !== null) || typeof v === "function") {
    try { Object.defineProperty(v, fc.toStringMethod, { value: () => text, enumerable: false, configurable: true }); } catch { /* frozen */ }
  }
  return v;
}
/** A fresh value per generated case (the library may write into what it is given). */
const fresh = <T>(text: string, make: () => T): fc.Arbitrary<T> => fc.constant(text).map(() => tag(make(), text));

/** fast-check's own symbols, looked up on every generated value: answered, never thrown on. */
const isPrinter = (k: PropertyKey) => k === fc.toStringMethod || k === fc.asyncToStringMethod || k === fc.cloneMethod;
/** A proxy whose every trap throws. */
function throwingProxy(target: object, text: string): object {
  return new Proxy(target, {
    get(_t, k) { if (k === fc.toStringMethod) return () => text; if (isPrinter(k)) return undefined; throw new Boom(`get ${String(k)}`); },
    has(_t, k) { if (isPrinter(k)) return k === fc.toStringMethod; throw new Boom(`has ${String(k)}`); },
    ownKeys() { throw new Boom("ownKeys"); },
    getPrototypeOf() { throw new Boom("getPrototypeOf"); },
    getOwnPropertyDescriptor() { throw new Boom("getOwnPropertyDescriptor"); },
    set() { throw new Boom("set"); },
  });
}
/** A proxy that forwards everything to its target, as a proxy without traps does. */
function transparentProxy(target: object, text: string): object {
  return new Proxy(target, {
    get(t, k, r) { if (k === fc.toStringMethod) return () => text; return Reflect.get(t, k, r); },
    has(t, k) { if (k === fc.toStringMethod) return true; return Reflect.has(t, k); },
  });
}
/** An object whose `key` getter throws. */
function throwingGetter(base: Record<string, unknown>, key: string, text: string): object {
  const o: Record<string, unknown> = { ...base };
  Object.defineProperty(o, key, { get() { throw new Boom(`get ${key}`); }, enumerable: true, configurable: true });
  return tag(o, text);
}

const prod = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);
function fill(n: number, seed: number): Float32Array {
  let s = (seed >>> 0) || 1;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) { s ^= s << 13; s ^= s >>> 17; s ^= s << 5; out[i] = ((s >>> 0) / 2 ** 32) * 2 - 1; }
  return out;
}
function nest(data: ArrayLike<number>, shape: readonly number[]): unknown {
  if (shape.length === 0) return data[0];
  const inner = prod(shape.slice(1));
  return Array.from({ length: shape[0] }, (_, i) => nest(Array.prototype.slice.call(data, i * inner, (i + 1) * inner), shape.slice(1)));
}

/** Numbers that break naive size and value checks. */
const BAD_NUMBERS = [0, -0, -1, -3, 0.5, 2.5, 1 + 1e-12, NaN, Infinity, -Infinity, 1e6, 2 ** 31 - 1, 2 ** 31, 2 ** 32, 2 ** 53, 2 ** 53 + 2, 1e300, -1e300, Number.MIN_VALUE];
const hostileNumber = fc.oneof(fc.constantFrom(...BAD_NUMBERS), fc.double(), fc.integer({ min: -4, max: 40 }));
const hostileShape: fc.Arbitrary<unknown> = fc.oneof(
  fc.array(hostileNumber, { maxLength: 4 }),
  fc.constantFrom("[2,3]", 3, null, undefined),
  fresh("[1n, 2n]", () => [1n, 2n]),
  fresh("a cyclic shape", () => { const s: unknown[] = [2]; s.push(s); return s; }),
  fresh("[0, 1e300]", () => [0, 1e300]),
  fresh("[2 ** 31, 0]", () => [2 ** 31, 0]),
  fresh("['2', '3']", () => ["2", "3"]),
  fresh("[Symbol('d'), 4]", () => [Symbol("d"), 4]),
  fresh("[Object.create(null)]", () => [Object.create(null)]),
);
const TYPED = [Float64Array, Int32Array, Uint8Array, Uint32Array, Int8Array, Uint8ClampedArray, Float32Array, Int16Array] as const;
const typedArray = fc.tuple(fc.constantFrom(...TYPED), fc.nat(40), fc.integer()).map(([C, n, s]) => {
  const a = new C(n);
  const r = fill(n, s);
  for (let i = 0; i < n; i++) a[i] = C === Float32Array || C === Float64Array ? r[i] : Math.round(r[i] * 100);
  return tag(a, `${C.name}(${n})`);
});

/** Any hostile value; `depth` bounds the nesting of arrays and objects. */
function hostile(depth = 2): fc.Arbitrary<unknown> {
  const leaf: fc.Arbitrary<unknown> = fc.oneof(
    hostileNumber,
    fc.string({ maxLength: 6 }),
    fc.constantFrom("", "3", "__proto__", "constructor", "NaN", "x".repeat(100)),
    fc.boolean(), fc.constant(null), fc.constant(undefined),
    fc.bigInt({ min: -3n, max: 3n }),
    fresh("Symbol('s')", () => Symbol("s")),
    fresh("() => 1", () => () => 1),
    typedArray,
    fresh("new ArrayBuffer(12)", () => new ArrayBuffer(12)),
    fresh("new DataView(new ArrayBuffer(12))", () => new DataView(new ArrayBuffer(12))),
    fresh("Float32Array with a null prototype", () => Object.setPrototypeOf(new Float32Array(6), null)),
    fresh("Float64Array with a null prototype", () => Object.setPrototypeOf(new Float64Array(6), null)),
    fresh("{}", () => ({})),
    fresh("Object.create(null)", () => Object.create(null)),
    fresh("{ length: 3, 0: 1, 1: 2, 2: 3 }", () => ({ length: 3, 0: 1, 1: 2, 2: 3 })),
    fresh("new Map()", () => new Map()),
    fresh("new Date(0)", () => new Date(0)),
    fresh("['a', 'b']", () => ["a", "b"]),
    fresh("Array(5) (holes)", () => new Array(5)),
    fresh("[1, , 3] (a hole)", () => [1, , 3]), // eslint-disable-line no-sparse-arrays
    fresh("a throwing proxy", () => throwingProxy({}, "a throwing proxy")),
    fresh("a throwing proxy of an array", () => throwingProxy([1, 2, 3], "a throwing proxy of an array")),
    fresh("a transparent proxy of [1, 2, 3]", () => transparentProxy([1, 2, 3], "a transparent proxy of [1, 2, 3]")),
    fresh("a transparent proxy of Float32Array(6)", () => transparentProxy(fill(6, 1), "a transparent proxy of Float32Array(6)")),
    fresh("{ get data() { throw } }", () => throwingGetter({ shape: [2, 3] }, "data", "{ get data() { throw } }")),
    fresh("{ data, get shape() { throw } }", () => throwingGetter({ data: fill(6, 2) }, "shape", "{ data, get shape() { throw } }")),
  );
  if (depth <= 0) return leaf;
  const inner = hostile(depth - 1);
  return fc.oneof(
    { weight: 6, arbitrary: leaf },
    { weight: 1, arbitrary: fc.array(inner, { maxLength: 4 }) },
    { weight: 1, arbitrary: fc.record({ data: inner, shape: fc.oneof(hostileShape, inner) }) },
    { weight: 1, arbitrary: fc.tuple(typedArray, hostileShape).map(([data, shape]) => ({ data, shape })) },
    { weight: 1, arbitrary: fc.dictionary(fc.constantFrom("a", "b", "data", "shape", "__proto__", "constructor"), inner, { maxKeys: 3 }) },
  );
}
const H1 = hostile(1), H2 = hostile(2);

/**
 * Something that should be a tensor of `shape`: usually valid in one of its accepted forms,
 * often nearly valid (one size off, a rank off, a wrong element type or typed array), or hostile.
 */
function tensorLike(shape: readonly number[]): fc.Arbitrary<unknown> {
  const n = prod(shape);
  const mutated = fc.tuple(fc.nat(Math.max(0, shape.length - 1)), fc.constantFrom(-1, 1, 2, -100, 1e6, 0.5, NaN)).map(([ax, d]) => {
    const s = shape.slice();
    if (s.length) s[ax] = s[ax] + d;
    return s;
  });
  return fc.oneof(
    { weight: 10, arbitrary: fc.integer().map((seed) => ({ data: fill(n, seed), shape: shape.slice() })) },
    { weight: 4, arbitrary: fc.integer().map((seed) => nest(fill(n, seed), shape)) },
    { weight: 1, arbitrary: fc.integer().map((seed) => fill(n, seed)) },
    { weight: 2, arbitrary: fc.tuple(mutated, fc.integer()).map(([s, seed]) => { const k = prod(s); return { data: fill(Number.isInteger(k) && k >= 0 && k <= 4096 ? k : 7, seed), shape: s }; }) },
    { weight: 1, arbitrary: fc.tuple(mutated, fc.integer()).filter(([s]) => s.every((d) => Number.isInteger(d) && d >= 0 && d < 50)).map(([s, seed]) => nest(fill(prod(s), seed), s)) },
    { weight: 1, arbitrary: fc.integer().map((seed) => ({ data: fill(n, seed), shape: [...shape, 1] })) },
    { weight: 1, arbitrary: fc.integer().map((seed) => ({ data: Float64Array.from(fill(n, seed)), shape: shape.slice() })) },
    { weight: 1, arbitrary: fc.integer().map((seed) => Int32Array.from(fill(n, seed))) },
    { weight: 1, arbitrary: fc.tuple(fc.integer(), fc.nat(Math.max(0, n - 1)), H1).map(([seed, at, v]) => {
      const a: unknown[] = Array.from(fill(n, seed));
      a[at] = v;
      return a;
    }) },
    { weight: 1, arbitrary: fc.tuple(fc.integer(), fc.nat(Math.max(0, n - 1)), fc.constantFrom(NaN, Infinity, -Infinity)).map(([seed, at, v]) => {
      const d = fill(n, seed); d[at] = v; return { data: d, shape: shape.slice() };
    }) },
    { weight: 1, arbitrary: fc.integer().map((seed) => throwingGetter({ data: fill(n, seed) }, "shape", "{ data, get shape() { throw } }")) },
    { weight: 1, arbitrary: fc.integer().map((seed) => transparentProxy({ data: fill(n, seed), shape: shape.slice() }, "a transparent proxy of a valid tensor")) },
    { weight: 3, arbitrary: H2 },
  );
}
/** A valid { data, shape } tensor of `shape`. */
const validTensor = (shape: readonly number[]) => fc.integer().map((seed) => ({ data: fill(prod(shape), seed), shape: shape.slice() }));
/** A caller-owned result tensor of exactly `shape` (what `out` options take). */
const outTensor = (shape: readonly number[]) => fresh(`a Float32Array(${prod(shape)}) tensor [${shape}]`, () => ({ data: new Float32Array(prod(shape)), shape: shape.slice() }));
/** B lengths in [1, T]. */
const lengthsArb = (b: number, t: number) => fc.array(fc.integer({ min: 1, max: t }), { minLength: b, maxLength: b });

/**
 * An options record: usually every listed key absent or valid (from `valid`); often exactly one of
 * them hostile; sometimes several, or an unknown key, or not a record at all.
 */
function optionsOf(valid: Record<string, fc.Arbitrary<unknown>>, required: string[] = [], bad: (key: string) => fc.Arbitrary<unknown> = () => H1): fc.Arbitrary<unknown> {
  const keys = Object.keys(valid);
  const rec = fc.record(valid, { requiredKeys: required }) as fc.Arbitrary<Record<string, unknown>>;
  const put = (o: Record<string, unknown>, k: string, v: unknown) => {
    const r = { ...o };
    Object.defineProperty(r, k, { value: v, enumerable: true, writable: true, configurable: true });
    return r;
  };
  const many: Record<string, fc.Arbitrary<unknown>> = {};
  for (const [k, v] of Object.entries(valid)) many[k] = fc.oneof(v, bad(k));
  return fc.oneof(
    { weight: 6, arbitrary: rec },
    { weight: 4, arbitrary: fc.constantFrom(...keys).chain((k) => fc.tuple(rec, fc.constant(k), bad(k))).map(([o, k, v]) => put(o, k, v)) },
    { weight: 1, arbitrary: fc.record(many, { requiredKeys: [] }) },
    { weight: 1, arbitrary: fc.tuple(rec, fc.constantFrom("lenghts", "hidden_size", "__proto__", "constructor", "toString"), H1).map(([o, k, v]) => put(o, k, v)) },
    { weight: 1, arbitrary: H1 },
  );
}

// ------------------------------------------------------------------ the property

/** `argument` names `p` or something inside it (p.x, p[3], p["k"]). */
const names = (argument: string, p: string) => argument === p || argument.startsWith(p + ".") || argument.startsWith(p + "[");

/** Buffer names a size refusal may carry instead of an argument; the message must then state bytes. */
const BUFFERS = ["parameters", "gradients", "inference buffers", "training buffers", "backward buffers", "model buffers",
  "model parameters", "model gradients", "linear buffers", "clipping scratch", "initialisation scratch", "optimizer state"];

interface Watched { name: string; run: () => Float32Array[]; base: Uint32Array[] }
const watched: Watched[] = [];
const bits = (a: Float32Array) => new Uint32Array(a.buffer, a.byteOffset, a.length).slice();
function watch(name: string, run: () => Float32Array[]): void {
  watched.push({ name, run, base: run().map(bits) });
}
/** Every watched model still gives its reference outputs, bit for bit. */
function checkWatched(after: string): void {
  for (const w of watched) {
    let out: Float32Array[];
    try { out = w.run(); } catch (e) { throw new Error(`after ${after}: ${w.name} no longer runs: ${(e as Error).message}`); }
    out.forEach((o, i) => {
      const b = bits(o);
      if (b.length !== w.base[i].length || b.some((v, k) => v !== w.base[i][k])) {
        throw new Error(`after ${after}: ${w.name}'s reference output ${i} changed (first values ${Array.from(o.slice(0, 4))})`);
      }
    });
  }
}

type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };
function attempt(fn: () => unknown): Outcome {
  try { return { ok: true, value: fn() }; } catch (error) { return { ok: false, error }; }
}
async function attemptAsync(fn: () => Promise<unknown>): Promise<Outcome> {
  try { return { ok: true, value: await fn() }; } catch (error) { return { ok: false, error }; }
}
const memory = () => ({ bytes: backend().k.memory.buffer.byteLength, inUse: backend().arena.inUse });

/**
 * The call's outcome obeys the contract: success, the hostile value's own Boom, or an LSTMError
 * in the documented format naming one of `args` (or a buffer, with the bytes stated) that
 * allocated no wasm memory. Then every watched model is intact. Returns the outcome.
 */
function judge(what: string, out: Outcome, args: readonly string[], before: { bytes: number; inUse: number }): Outcome {
  if (!out.ok) {
    const e = out.error;
    if (e instanceof Boom) { checkWatched(what); return out; }
    if (!(e instanceof LSTMError)) {
      const kind = e instanceof Error ? `${e.constructor.name}: ${e.message}` : `a thrown ${typeof e} ${String(e)}`;
      throw new Error(`${what} threw ${kind}; expected an LSTMError`);
    }
    if (e.message !== `${e.argument}: expected ${e.expected}, received ${e.received}`) throw new Error(`${what}: malformed message ${JSON.stringify(e.message)}`);
    const sized = !args.some((p) => names(e.argument, p)) && BUFFERS.includes(e.argument);
    if (!args.some((p) => names(e.argument, p)) && !sized) throw new Error(`${what}: the error names ${JSON.stringify(e.argument)}, not one of ${args.join(", ")} (${e.message})`);
    if (sized && !/\d{10,} bytes/.test(e.message)) throw new Error(`${what}: a size refusal without the bytes needed: ${e.message}`);
    const now = memory();
    if (now.inUse !== before.inUse || now.bytes !== before.bytes) {
      throw new Error(`${what} was refused (${e.message}) but wasm memory changed: inUse ${before.inUse} → ${now.inUse}, bytes ${before.bytes} → ${now.bytes}`);
    }
  }
  checkWatched(what);
  return out;
}

// ------------------------------------------------------------------ the models

const T = 3, B = 2, I = 3, H = 4;
let A: LSTM, P: LSTM, Bi: LSTM, Rv: LSTM, CF: LSTM, dead: LSTM, lin: Linear, deadLin: Linear, seq: Sequential, seqRS: Sequential, deadSeq: Sequential, bystander: LSTM;
const refX = () => ({ data: fill(T * B * I, 11), shape: [T, B, I] });
const refXbf = () => ({ data: fill(T * B * I, 11), shape: [B, T, I] });
const refN = () => ({ data: fill(2 * 4 * I, 12), shape: [2, 4, I] });

beforeAll(async () => {
  await init();
  A = new LSTM({ inputSize: I, hiddenSize: H, numLayers: 2, seed: 1 });
  P = new LSTM({ inputSize: I, hiddenSize: 5, projSize: 2, peephole: true, batchFirst: true, seed: 2 });
  Bi = new LSTM({ inputSize: I, hiddenSize: H, bidirectional: true, seed: 3 });
  Rv = new LSTM({ inputSize: I, hiddenSize: H, reverse: true, seed: 4 });
  CF = new LSTM({ inputSize: I, hiddenSize: H, checkFinite: true, seed: 5 });
  dead = new LSTM({ inputSize: I, hiddenSize: H, seed: 6 });
  dead.forward(refX(), { train: true });
  dead.dispose();
  lin = new Linear({ inputSize: H, outputSize: 2, seed: 7 });
  deadLin = new Linear({ inputSize: H, outputSize: 2, seed: 7 });
  deadLin.dispose();
  seq = new Sequential([new LSTM({ inputSize: I, hiddenSize: H, seed: 8 }), new Linear({ inputSize: H, outputSize: 2, seed: 8 })]);
  seqRS = new Sequential([new LSTM({ inputSize: I, hiddenSize: H, seed: 9, returnSequences: true }), new Linear({ inputSize: H, outputSize: 2, seed: 9 })]);
  deadSeq = new Sequential([new LSTM({ inputSize: I, hiddenSize: H, seed: 10 }), new Linear({ inputSize: H, outputSize: 2, seed: 10 })]);
  deadSeq.dispose();
  bystander = new LSTM({ inputSize: 2, hiddenSize: 3, seed: 11 });
  const h0 = { data: fill(2 * B * H, 13), shape: [2, B, H] }, c0 = { data: fill(2 * B * H, 14), shape: [2, B, H] };
  const fw = (m: LSTM, x: Tensor, o = {}) => () => { const r = m.forward(x, o); return [r.y.data, r.hn.data, r.cn.data]; };
  watch("A (2 layers, h0/c0)", fw(A, refX(), { h0, c0 }));
  watch("P (projSize, peephole, batchFirst)", fw(P, refXbf()));
  watch("Bi (bidirectional, lengths)", fw(Bi, refX(), { lengths: [3, 1] }));
  watch("Rv (reverse)", fw(Rv, refX()));
  watch("CF (checkFinite)", fw(CF, refX()));
  watch("A streaming", () => { const s = A.initialState(B), x = refX().data; const h = [0, 1, 2].map((t) => A.step(x.subarray(t * B * I, (t + 1) * B * I), s).data); return [...h, s.h.data, s.c.data]; });
  watch("lin", () => [lin.forward({ data: fill(5 * H, 15), shape: [5, H] }).data]);
  watch("seq", () => [seq.predict(refN()).data]);
  watch("seqRS", () => [seqRS.predict(refN()).data]);
  watch("bystander", fw(bystander, { data: fill(4 * 2, 16), shape: [4, 1, 2] }));
  readBack.A = A.stateDict();
  readBack.seq = seq.stateDict();
  readBack.seqRS = seqRS.stateDict();
});
/** Weights to restore after a call that legitimately changed them. */
const readBack: Record<string, Record<string, Tensor>> = {};

// ------------------------------------------------------------------ the fuzz

const lstmOptions = optionsOf({
  inputSize: fc.integer({ min: 1, max: 5 }), hiddenSize: fc.integer({ min: 1, max: 6 }), numLayers: fc.integer({ min: 1, max: 3 }),
  bidirectional: fc.boolean(), reverse: fc.boolean(), projSize: fc.integer({ min: 0, max: 3 }), peephole: fc.boolean(),
  batchFirst: fc.boolean(), seed: fc.nat(), init: fc.constantFrom("pytorch", "keras"), unitForgetBias: fc.boolean(), checkFinite: fc.boolean(),
});
/** numLayers in (16, 2^31) is valid and its layout is built in JS before allocating: tested on its own below (a child process). */
const tameLayers = (o: unknown) => {
  const n = safeGet(o, "numLayers");
  return !(typeof n === "number" && Number.isInteger(n) && n > 16);
};
const safeGet = (o: unknown, k: string) => { try { return (o as Record<string, unknown>)[k]; } catch { return undefined; } };
/** Inspect a hostile value in the test's own code without letting its traps throw here. */
const peek = <R>(fn: () => R, fallback: R): R => { try { return fn(); } catch { return fallback; } };

describe("fuzz: constructors", () => {
  it(`new LSTM(options) (${RUNS} cases)`, () => {
    fc.assert(fc.property(lstmOptions, (opts) => {
      fc.pre(tameLayers(opts));
      const before = memory();
      const out = judge(`new LSTM(${fc.stringify(opts)})`, attempt(() => new LSTM(any(opts))), ["options"], before);
      if (out.ok) {
        const m = out.value as LSTM;
        expect(m.config.inputSize).toBe(safeGet(opts, "inputSize"));
        m.dispose();
        expect(memory().inUse).toBe(before.inUse);
      }
    }), FC);
  }, TIMEOUT);

  it(`new Linear(options), new SGD/Adam/AdamW(options) (${RUNS} cases each)`, () => {
    const linOpts = optionsOf({ inputSize: fc.integer({ min: 1, max: 6 }), outputSize: fc.integer({ min: 1, max: 6 }), seed: fc.nat() });
    fc.assert(fc.property(linOpts, (opts) => {
      const before = memory();
      const out = judge(`new Linear(${fc.stringify(opts)})`, attempt(() => new Linear(any(opts))), ["options"], before);
      if (out.ok) { (out.value as Linear).dispose(); expect(memory().inUse).toBe(before.inUse); }
    }), FC);
    const unit = fc.double({ min: 0, max: 0.99, noNaN: true });
    const optOpts = {
      SGD: optionsOf({ lr: fc.double({ min: 1e-4, max: 1, noNaN: true }), momentum: unit, dampening: fc.constantFrom(0, 0.5), nesterov: fc.boolean(), weightDecay: fc.constantFrom(0, 0.01) }, ["lr"]),
      Adam: optionsOf({ lr: fc.double({ min: 1e-4, max: 1, noNaN: true }), betas: fc.tuple(unit, unit), eps: fc.constantFrom(1e-8, 0), weightDecay: fc.constantFrom(0, 0.01) }),
    };
    const scratch = new LSTM({ inputSize: 2, hiddenSize: 2, seed: 1 });
    const optCase = fc.constantFrom("SGD", "Adam", "AdamW").chain((n) => fc.tuple(fc.constant(n), n === "SGD" ? optOpts.SGD : optOpts.Adam));
    fc.assert(fc.property(optCase, ([optName, opts]) => {
      const Opt = { SGD, Adam, AdamW }[optName as "SGD"];
      const before = memory();
      const out = judge(`new ${Opt.name}(${fc.stringify(opts)})`, attempt(() => new Opt(any(opts))), ["options"], before);
      if (out.ok) {
        const o = out.value as SGD;
        o.step(scratch); // whatever was accepted must also work
        o.dispose();
        expect(memory().inUse).toBe(before.inUse);
      }
    }), FC);
    scratch.dispose();
  }, TIMEOUT);

  it(`new Sequential(layers, options) (${RUNS} cases)`, () => {
    const layerArb = fc.oneof(
      fc.constantFrom("lstm", "lstm2", "linear", "linear3", "deadLstm", "deadLinear").map((k) => k),
      H1,
    );
    const specArb = fc.oneof(
      { weight: 3, arbitrary: fc.constantFrom(["lstm", "linear"], ["lstm2", "linear3"]) as fc.Arbitrary<unknown[]> },
      { weight: 2, arbitrary: fc.array(layerArb, { maxLength: 3 }) },
      { weight: 1, arbitrary: H1 },
    );
    fc.assert(fc.property(specArb, optionsOf({ returnSequences: fc.boolean() }), (spec, opts) => {
      const made: Array<LSTM | Linear> = [];
      const build = (k: unknown) => {
        if (typeof k !== "string") return k;
        const m = k === "lstm" ? new LSTM({ inputSize: 2, hiddenSize: 3, seed: 1 }) : k === "lstm2" ? new LSTM({ inputSize: 2, hiddenSize: 3, bidirectional: true, seed: 1 })
          : k === "linear" ? new Linear({ inputSize: 3, outputSize: 1, seed: 1 }) : k === "linear3" ? new Linear({ inputSize: 6, outputSize: 1, seed: 1 })
          : k === "deadLstm" ? new LSTM({ inputSize: 2, hiddenSize: 3, seed: 1 }) : k === "deadLinear" ? new Linear({ inputSize: 3, outputSize: 1, seed: 1 }) : null;
        if (!m) return k;
        made.push(m);
        if (k.startsWith("dead")) m.dispose();
        return m;
      };
      const start = memory().inUse;
      const layers = peek(() => (Array.isArray(spec) ? spec.map(build) : spec), spec);
      const before = memory();
      const out = judge(`new Sequential(${fc.stringify(spec)}, ${fc.stringify(opts)})`, attempt(() => new Sequential(any(layers), any(opts))), ["layers", "options"], before);
      if (out.ok) (out.value as Sequential).dispose();
      for (const m of made) m.dispose();
      expect(memory().inUse, "everything disposed, yet wasm memory is still in use").toBe(start);
    }), FC);
  }, TIMEOUT);
});

describe("fuzz: LSTM methods", () => {
  const models = () => ({ A, P, Bi, Rv, CF, dead });
  const modelName = fc.constantFrom("A", "P", "Bi", "Rv", "CF", "dead") as fc.Arbitrary<keyof ReturnType<typeof models>>;

  /** Sizes of each model (the disposed one included), for options that are valid for it. */
  const dimsOf = (name: string) => ({ A: { L: 2, D: 1, H, Ho: H, bf: false }, P: { L: 1, D: 1, H: 5, Ho: 2, bf: true }, Bi: { L: 1, D: 2, H, Ho: H, bf: false },
    Rv: { L: 1, D: 1, H, Ho: H, bf: false }, CF: { L: 1, D: 1, H, Ho: H, bf: false }, dead: { L: 1, D: 1, H, Ho: H, bf: false } } as const)[name as "A"];

  it(`forward(x, options) (${RUNS} cases)`, () => {
    const caseArb = modelName.chain((name) => {
      const { L, D, H: h, Ho, bf } = dimsOf(name), S = L * D, yShape = bf ? [B, T, D * Ho] : [T, B, D * Ho];
      return fc.tuple(fc.constant(name), tensorLike(bf ? [B, T, I] : [T, B, I]), optionsOf({
        seqLen: fc.constant(T), batch: fc.constant(B), h0: tensorLike([S, B, Ho]), c0: tensorLike([S, B, h]),
        lengths: fc.oneof(lengthsArb(B, T), lengthsArb(B, T).map((l) => Int32Array.from(l)), lengthsArb(B, T).map((l) => Float64Array.from(l))),
        train: fc.boolean(), returnGates: fc.boolean(),
        out: fc.record({ y: outTensor(yShape), hn: outTensor([S, B, Ho]), cn: outTensor([S, B, h]) }, { requiredKeys: [] }),
      }));
    });
    fc.assert(fc.property(caseArb, ([name, x, opts]) => {
      const m = models()[name];
      judge(`${name}.forward(${fc.stringify(x)}, ${fc.stringify(opts)})`, attempt(() => m.forward(any(x), any(opts))), ["x", "options", "lstm"], memory());
    }), FC);
  }, TIMEOUT);

  it(`backward(gradients), also before any training forward (${RUNS} cases)`, () => {
    const gradOpts = optionsOf({
      dy: tensorLike([T, B, H]), dhn: tensorLike([2, B, H]), dcn: tensorLike([2, B, H]),
      out: fc.record({ dx: outTensor([T, B, I]), dh0: outTensor([2, B, H]), dc0: outTensor([2, B, H]) }, { requiredKeys: [] }),
    });
    const stateOf = fc.oneof({ weight: 4, arbitrary: fc.constant("trained") }, { weight: 1, arbitrary: fc.constantFrom("fresh", "inference only", "reloaded", "disposed") });
    fc.assert(fc.property(stateOf, gradOpts, (state, grads) => {
      const m = new LSTM({ inputSize: I, hiddenSize: H, numLayers: 2, seed: 1 });
      try {
        if (state === "trained") m.forward(refX(), { train: true });
        if (state === "inference only") m.forward(refX());
        if (state === "reloaded") { m.forward(refX(), { train: true }); m.loadStateDict(m.stateDict()); }
        if (state === "disposed") m.dispose();
        const before = memory();
        const out = judge(`backward(${fc.stringify(grads)}) on a ${state} model`, attempt(() => m.backward(any(grads))), ["gradients", "backward", "lstm"], before);
        if (!out.ok && out.error instanceof LSTMError && state === "trained") {
          expect(Object.values(m.grads()).every((g) => g.data.every((v) => v === 0)), "a refused backward added gradients").toBe(true);
        }
        if (state !== "trained" && state !== "disposed") expect(out.ok).toBe(false);
      } finally { m.dispose(); }
    }), FC);
  }, TIMEOUT);

  it(`step(xt, state, out) and initialState(batch), also on bidirectional, reverse and disposed models (${RUNS} cases)`, () => {
    const caseArb = fc.tuple(modelName, fc.constantFrom(1, 2)).chain(([name, b]) => {
      const { L, D, H: h, Ho } = dimsOf(name);
      const stateArb = fc.oneof(
        { weight: 6, arbitrary: fc.constant({ real: b }) },
        { weight: 1, arbitrary: fc.record({ h: tensorLike([L * D, b, Ho]), c: tensorLike([L * D, b, h]) }, { requiredKeys: [] }) },
        { weight: 1, arbitrary: H1 },
      );
      const outArb = fc.oneof({ weight: 3, arbitrary: fc.constant(undefined) }, { weight: 2, arbitrary: outTensor([b, Ho]) }, { weight: 1, arbitrary: tensorLike([b, Ho]) });
      return fc.tuple(fc.constant(name), fc.oneof({ weight: 4, arbitrary: tensorLike([b, I]) }, { weight: 1, arbitrary: tensorLike([3 - b, I]) }), stateArb, outArb);
    });
    fc.assert(fc.property(caseArb, ([name, xt, st, o]) => {
      const m = models()[name];
      let state: unknown = st;
      let snap: Float32Array[] | null = null;
      if (peek(() => typeof st === "object" && st !== null && "real" in st, false) && !m.isDisposed) {
        state = m.initialState((st as { real: number }).real);
        const s = state as { h: Tensor; c: Tensor };
        s.h.data.set(fill(s.h.data.length, 3)); s.c.data.set(fill(s.c.data.length, 4));
        snap = [s.h.data.slice(), s.c.data.slice()];
      }
      const out = judge(`${name}.step(${fc.stringify(xt)}, ${fc.stringify(st)}, ${fc.stringify(o)})`,
        attempt(() => m.step(any(xt), any(state), any(o))), ["xt", "state", "out", "step", "lstm"], memory());
      if (!out.ok && out.error instanceof LSTMError && snap) {
        const s = state as { h: Tensor; c: Tensor };
        expect(bits(s.h.data), "a refused step changed state.h").toEqual(bits(snap[0]));
        expect(bits(s.c.data), "a refused step changed state.c").toEqual(bits(snap[1]));
      }
    }), FC);
    fc.assert(fc.property(modelName, hostileNumber, (name, b) => {
      const out = judge(`${name}.initialState(${fc.stringify(b)})`, attempt(() => models()[name].initialState(any(b))), ["batch", "lstm"], memory());
      if (out.ok) expect((out.value as { h: Tensor }).h.shape[1]).toBe(b);
    }), FC);
  }, TIMEOUT);

  it(`loadStateDict(dict), LSTM.fromStateDict(dict, options), configFromStateDict(dict) (${RUNS} cases)`, () => {
    // A's state dict with one entry replaced, removed or added.
    const dictArb = fc.oneof(
      { weight: 5, arbitrary: fc.tuple(fc.constantFrom("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l1", "weight_ih_l1"), fc.constantFrom("replace", "delete", "rename", "extra", "keep"), fc.constantFrom(16, 4, 8, 3), H1,
        fc.constantFrom("weight_hr_l0", "__proto__", "constructor", "peephole_i_l9", "weight_ih_l999999999", "bias_ih_l2"))
        .chain(([key, op, rows, bad, extra]) => (op === "replace" ? fc.oneof(tensorLike([rows, H]), tensorLike([4 * H]), fc.constant(bad)) : fc.constant(bad)).map((v) => {
          const sd: Record<string, unknown> = { ...A.stateDict() };
          if (op === "replace") sd[key] = v;
          if (op === "delete") delete sd[key];
          if (op === "rename") { sd[key + "_x"] = sd[key]; delete sd[key]; }
          if (op === "extra") Object.defineProperty(sd, extra, { value: v, enumerable: true, configurable: true, writable: true });
          return tag(sd, `A.stateDict() with ${key} ${op}d (${fc.stringify(v)})`);
        })) },
      { weight: 1, arbitrary: H2 },
    );
    fc.assert(fc.property(dictArb, (dict) => {
      const label = fc.stringify(dict);
      const b0 = memory();
      let out = attempt(() => A.loadStateDict(any(dict)));
      if (out.ok) A.loadStateDict(readBack.A); // a valid dict replaced the weights: put them back before judging
      judge(`A.loadStateDict(${label})`, out, ["stateDict"], b0);
      const before = memory();
      out = judge(`LSTM.fromStateDict(${label})`, attempt(() => LSTM.fromStateDict(any(dict))), ["stateDict", "options"], before);
      if (out.ok) { (out.value as LSTM).dispose(); expect(memory().inUse).toBe(before.inUse); }
      judge(`configFromStateDict(${label})`, attempt(() => configFromStateDict(any(dict))), ["stateDict"], memory());
    }), FC);
    fc.assert(fc.property(H1, (opts) => {
      judge(`LSTM.fromStateDict(A.stateDict(), ${fc.stringify(opts)})`, attempt(() => { const m = LSTM.fromStateDict(A.stateDict(), any(opts)); m.dispose(); }), ["options"], memory());
    }), FEW);
  }, TIMEOUT);

  it(`clipGradNorm(maxNorm) on a model and the free clipGradNorm/clipGradValue(tensors, threshold) (${RUNS} cases)`, () => {
    const listArb = fc.oneof(
      { weight: 3, arbitrary: fc.array(fc.oneof(fc.integer().map((s) => fill(5, s)), fc.integer().map((s) => ({ data: fill(6, s), shape: [2, 3] })), H1), { maxLength: 4 }) },
      { weight: 1, arbitrary: fc.dictionary(fc.string({ maxLength: 3 }), fc.oneof(fc.integer().map((s) => fill(3, s)), H1), { maxKeys: 3 }) },
      { weight: 1, arbitrary: H2 },
    );
    fc.assert(fc.property(listArb, hostileNumber, fc.boolean(), (list, t, norm) => {
      const arrays = peek(() => (Array.isArray(list) ? list : []).map((v) => peek(() => (v instanceof Float32Array ? v : (v as Tensor | null)?.data instanceof Float32Array ? (v as Tensor).data : null), null)), [] as (Float32Array | null)[]);
      const snap = arrays.map((a) => peek(() => (a ? a.slice() : null), null));
      const out = judge(`${norm ? "clipGradNorm" : "clipGradValue"}(${fc.stringify(list)}, ${fc.stringify(t)})`,
        attempt(() => (norm ? clipGradNorm(any(list), any(t)) : clipGradValue(any(list), any(t)))), ["tensors", "maxNorm", "clipValue"], memory());
      if (!out.ok && out.error instanceof LSTMError) arrays.forEach((a, i) => { if (a && snap[i]) expect(bits(a), "a refused clip changed a tensor").toEqual(bits(snap[i]!)); });
      if (out.ok && norm) expect(typeof out.value).toBe("number");
    }), FC);
    fc.assert(fc.property(fc.constantFrom("A", "dead"), hostileNumber, (name, t) => {
      const m = name === "A" ? A : dead;
      judge(`${name}.clipGradNorm(${fc.stringify(t)})`, attempt(() => m.clipGradNorm(any(t))), ["maxNorm", "lstm"], memory());
    }), FC);
  }, TIMEOUT);
});


describe("fuzz: Linear", () => {
  it(`forward(x, options) and backward(dy) (${RUNS} cases)`, () => {
    const caseArb = fc.tuple(fc.constantFrom("lin", "lin", "lin", "deadLin"), fc.constantFrom(1, 5)).chain(([name, R]) =>
      fc.tuple(fc.constant(name), tensorLike([R, H]), optionsOf({ train: fc.boolean(), out: outTensor([R, 2]) }), fc.oneof({ weight: 3, arbitrary: tensorLike([R, 2]) }, { weight: 1, arbitrary: tensorLike([6 - R, 2]) })));
    fc.assert(fc.property(caseArb, ([name, x, opts, dy]) => {
      const l = name === "lin" ? lin : deadLin;
      judge(`${name}.forward(${fc.stringify(x)}, ${fc.stringify(opts)})`, attempt(() => l.forward(any(x), any(opts))), ["x", "options", "linear"], memory());
      const out = judge(`${name}.backward(${fc.stringify(dy)})`, attempt(() => l.backward(any(dy))), ["dy", "backward", "linear"], memory());
      if (out.ok) l.zeroGrad();
    }), FC);
  }, TIMEOUT);
});

describe("fuzz: Sequential", () => {
  const N = 3, Tn = 4;
  const xArb = tensorLike([N, Tn, I]);
  /** Targets valid for the model and loss most of the time (MSE values, or class indices in [0, 2)), else nearly valid or hostile. */
  const yFor = (rs: boolean, loss: string) => {
    const classes = (n: number) => fc.array(fc.integer({ min: 0, max: 1 }), { minLength: n, maxLength: n });
    const valid = loss === "crossEntropy"
      ? fc.oneof(classes(rs ? N * Tn : N).map((c) => (rs ? nest(c, [N, Tn]) : c)), classes(rs ? N * Tn : N).map((c) => Int32Array.from(c)))
      : tensorLike(rs ? [N, Tn, 2] : [N, 2]);
    return fc.oneof({ weight: 4, arbitrary: valid }, { weight: 1, arbitrary: fc.constantFrom([0, 1, 5], [0, 1.5, 1], [-1, 0, 1]) }, { weight: 1, arbitrary: tensorLike(rs ? [N, 2] : [N, Tn, 2]) });
  };
  const seqCase = <E>(extra: (loss: string) => fc.Arbitrary<E>) => fc.tuple(fc.constantFrom("seq", "seq", "seqRS", "seqRS", "deadSeq"), fc.constantFrom("mse", "crossEntropy"))
    .chain(([name, loss]) => fc.tuple(fc.constant(name), fc.constant(loss), xArb, yFor(name === "seqRS", loss), extra(loss)));

  it(`fit(x, y, options) (${Math.round(RUNS / 3)} cases)`, async () => {
    const fitOpts = (loss: string) => optionsOf({
      epochs: fc.constantFrom(1, 2), batchSize: fc.constantFrom(1, 2, 32, 1e6), loss: fc.constant(loss),
      optimizer: fc.constantFrom("sgd", "adam").map((k) => (k === "sgd" ? new SGD({ lr: 0.01 }) : new Adam({ lr: 0.01 }))),
      clipNorm: fc.constantFrom(1, 0.5), shuffle: fc.boolean(), validationSplit: fc.constantFrom(0, 0.34), seed: fc.nat(),
      lengths: lengthsArb(N, Tn),
      onEpochEnd: fc.constantFrom(() => {}, () => { throw new Boom("onEpochEnd"); }),
      onBatchEnd: fc.constantFrom(async () => {}, () => { throw new Boom("onBatchEnd"); }),
    }, ["optimizer", "loss"]);
    await fc.assert(fc.asyncProperty(seqCase(fitOpts), async ([name, _loss, x, y, opts]) => {
      const m = name === "seq" ? seq : name === "seqRS" ? seqRS : deadSeq;
      const label = `${name}.fit(${fc.stringify(x)}, ${fc.stringify(y)}, ${fc.stringify(opts)})`;
      const before = memory();
      const out = await attemptAsync(() => m.fit(any(x), any(y), any(opts)));
      const o = safeGet(opts, "optimizer");
      if (peek(() => o instanceof SGD || o instanceof Adam, false)) (o as SGD).dispose(); // its moments live in wasm memory until then
      // Training that ran (to the end, into a throwing callback, or up to a non-finite loss) changed the
      // weights: restore them, then the model must be as before. A refusal of the arguments must not train.
      const ran = out.ok || out.error instanceof Boom || (out.error instanceof LSTMError && out.error.argument === "fit");
      if (ran && m === seq) seq.loadStateDict(readBack.seq);
      if (ran && m === seqRS) seqRS.loadStateDict(readBack.seqRS);
      if (ran) checkWatched(label);
      else judge(label, out, ["x", "y", "options", "model"], before);
    }), { seed: SEED, numRuns: Math.max(20, Math.round(RUNS / 3)) });
  }, TIMEOUT);

  it(`predict(x, options), evaluate(x, y, options), save() (${RUNS} cases)`, () => {
    const evalOpts = (loss: string) => optionsOf({ lengths: lengthsArb(N, Tn), batchSize: fc.constantFrom(1, 2, 2 ** 31 - 1), loss: fc.constant(loss) }, ["loss"]);
    fc.assert(fc.property(seqCase(evalOpts), ([name, _loss, x, y, opts]) => {
      const m = name === "seq" ? seq : name === "seqRS" ? seqRS : deadSeq;
      const po = peek(() => (opts && typeof opts === "object" && !Array.isArray(opts) ? Object.fromEntries(Object.entries(opts).filter(([k]) => k !== "loss")) : opts), opts);
      judge(`${name}.predict(${fc.stringify(x)}, ${fc.stringify(po)})`, attempt(() => m.predict(any(x), any(po))), ["x", "options", "model"], memory());
      judge(`${name}.evaluate(${fc.stringify(x)}, ${fc.stringify(y)}, ${fc.stringify(opts)})`, attempt(() => m.evaluate(any(x), any(y), any(opts))), ["x", "y", "options", "model"], memory());
      judge(`${name}.save()`, attempt(() => m.save()), ["model"], memory());
    }), FC);
  }, TIMEOUT);
});

describe("fuzz: safetensors", () => {
  const PROTO = Object.getOwnPropertyNames(Object.prototype).sort();
  const clean = () => {
    expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(PROTO);
    expect(Object.getPrototypeOf({})).toBe(Object.prototype);
  };
  let good: Uint8Array;
  beforeAll(() => { good = seq.save(); });

  /** A header edit: set or delete one field of one entry (or of the metadata) to a hostile JSON value. */
  const jsonValue = fc.oneof(
    fc.constantFrom(-1, 0, 1, 2.5, 1e300, 2 ** 53, 2 ** 53 + 2, 2 ** 32, 1e21, "F32", "F64", "F16", "BF16", "I64", "f32", "", null, true, [], {}, [0], [0, 0], [1, 1e300], [-1, 4], [4, 0], [0, 2 ** 60]),
    fc.array(fc.integer({ min: -2, max: 400 }), { maxLength: 3 }),
    fc.string({ maxLength: 4 }),
  );
  const edit = fc.tuple(fc.nat(), fc.constantFrom("dtype", "shape", "data_offsets", "__rename", "__delete", "__dup", "__metadata__"), jsonValue);
  const bytesArb = fc.oneof(
    { weight: 3, arbitrary: fc.array(edit, { minLength: 1, maxLength: 3 }).map((edits) => ({ edits })) },
    { weight: 2, arbitrary: fc.array(fc.tuple(fc.nat(), fc.nat(255)), { minLength: 1, maxLength: 4 }).map((flips) => ({ flips })) },
    { weight: 1, arbitrary: fc.nat().map((cut) => ({ cut })) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 64 }).map((raw) => ({ raw })) },
    { weight: 1, arbitrary: H1.map((v) => ({ value: v })) },
  );
  function build(spec: { edits?: Array<[number, string, unknown]>; flips?: Array<[number, number]>; cut?: number; raw?: Uint8Array; value?: unknown }): unknown {
    if (spec.raw) return spec.raw;
    if ("value" in spec) return spec.value;
    if (spec.cut !== undefined) return good.slice(0, spec.cut % good.length);
    if (spec.flips) { const b = good.slice(); for (const [at, v] of spec.flips) b[at % b.length] = v; return b; }
    const n = Number(new DataView(good.buffer, good.byteOffset).getBigUint64(0, true));
    const header = JSON.parse(new TextDecoder().decode(good.subarray(8, 8 + n)));
    let text: string | null = null;
    for (const [k, field, v] of spec.edits!) {
      const keys = Object.keys(header).filter((x) => x !== "__metadata__");
      const name = keys[k % keys.length];
      const put = (o: object, key: string, value: unknown) => Object.defineProperty(o, key, { value, enumerable: true, writable: true, configurable: true });
      if (name === undefined) continue;
      if (field === "__rename") { put(header, ["__proto__", "constructor", "prototype", "head.__proto__", "x", "weight_ih_l1"][k % 6], header[name]); delete header[name]; }
      else if (field === "__delete") delete header[name];
      else if (field === "__dup") text = JSON.stringify(header).replace(/^\{/, `{${JSON.stringify(name)}:${JSON.stringify(header[name])},`);
      else if (field === "__metadata__") put(header.__metadata__, ["format", "formatVersion", "config", "__proto__"][k % 4], typeof v === "string" ? v : JSON.stringify(v));
      else header[name][field] = v;
    }
    const hb = new TextEncoder().encode(text ?? JSON.stringify(header));
    const data = good.subarray(8 + n);
    const out = new Uint8Array(8 + hb.length + data.length);
    new DataView(out.buffer).setBigUint64(0, BigInt(hb.length), true);
    out.set(hb, 8); out.set(data, 8 + hb.length);
    return out;
  }

  it(`readSafetensors, Sequential.load and LSTM.fromStateDict on damaged files (${RUNS} cases)`, () => {
    fc.assert(fc.property(bytesArb, (spec) => {
      const bytes = build(spec), what = `a file ${fc.stringify(spec)}`;
      const read = judge(`readSafetensors(${what})`, attempt(() => readSafetensorsWithMetadata(any(bytes))), ["bytes", "header", "header length"], memory());
      clean();
      if (read.ok) expect(Object.getPrototypeOf((read.value as { tensors: object }).tensors)).toBe(null);
      const before = memory();
      const loaded = judge(`Sequential.load(${what})`, attempt(() => Sequential.load(any(bytes))), ["bytes", "header", "header length", "file", "file metadata config", "options", "stateDict"], before);
      clean();
      if (loaded.ok) { const s = loaded.value as Sequential; s.predict(refN()); s.dispose(); expect(memory().inUse).toBe(before.inUse); }
      if (read.ok) {
        const b2 = memory();
        const fsd = judge(`LSTM.fromStateDict(readSafetensors(${what}))`, attempt(() => LSTM.fromStateDict((read.value as { tensors: Record<string, Tensor> }).tensors)), ["stateDict"], b2);
        if (fsd.ok) { (fsd.value as LSTM).dispose(); expect(memory().inUse).toBe(b2.inUse); }
      }
    }), FC);
  }, TIMEOUT);

  it(`writeSafetensors(tensors, metadata): whatever it writes, readSafetensors reads back unchanged (${RUNS} cases)`, () => {
    const nameArb = fc.oneof(fc.string({ maxLength: 5 }), fc.constantFrom("__proto__", "constructor", "prototype", "__metadata__", "\ud800", "é", "a.b", "", "weight_ih_l0"));
    const tensorArb = fc.oneof(
      { weight: 4, arbitrary: fc.tuple(fc.array(fc.integer({ min: 0, max: 3 }), { maxLength: 3 }), fc.integer()).map(([s, seed]) => ({ data: fill(prod(s), seed), shape: s })) },
      { weight: 1, arbitrary: fc.integer().map((s) => fill(4, s)) },
      { weight: 1, arbitrary: fc.constantFrom([0, 1e300], [0, 2 ** 53], [2 ** 31, 0], [0, 2 ** 60], [0, 1.5]).map((s) => ({ data: new Float32Array(0), shape: s })) },
      { weight: 2, arbitrary: H1 },
    );
    const dictArb = fc.oneof(
      { weight: 5, arbitrary: fc.array(fc.tuple(nameArb, tensorArb), { maxLength: 4 }).map((pairs) => {
        const o: Record<string, unknown> = {};
        for (const [k, v] of pairs) Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
        return o;
      }) },
      { weight: 1, arbitrary: H1 },
    );
    const metaArb = fc.oneof(fc.constant(undefined), fc.dictionary(nameArb, fc.oneof(fc.string({ maxLength: 4 }), fc.constantFrom("\udc00", "ok"), H1), { maxKeys: 3 }), H1);
    fc.assert(fc.property(dictArb, metaArb, (tensors, metadata) => {
      const out = judge(`writeSafetensors(${fc.stringify(tensors)}, ${fc.stringify(metadata)})`, attempt(() => writeSafetensors(any(tensors), any(metadata))), ["tensors", "metadata"], memory());
      if (!out.ok) return;
      let back;
      try { back = readSafetensorsWithMetadata(out.value as Uint8Array); } catch (e) {
        throw new Error(`writeSafetensors(${fc.stringify(tensors)}) wrote a file its own reader refuses: ${(e as Error).message}`);
      }
      for (const [k, v] of Object.entries(tensors as object)) {
        const t = v instanceof Float32Array ? { data: v, shape: [v.length] } : (v as Tensor);
        expect(back.tensors[k].shape).toEqual(t.shape.map((d) => d + 0));
        expect(bits(back.tensors[k].data)).toEqual(bits(t.data));
      }
      clean();
    }), FC);
  }, TIMEOUT);
});

describe("fuzz: converters", () => {
  it(`fromOnnx, fromKeras, fromChainer, fromBlocked: what they return loads into an LSTM (${RUNS} cases)`, () => {
    const Hc = 3, Ic = 2, G = 4 * Hc;
    /** A weights object: all valid, or one tensor nearly valid or hostile, or something else. */
    const weights = (shapes: Record<string, number[]>, required: string[]) => {
      const valid: Record<string, fc.Arbitrary<unknown>> = {};
      for (const [k, sh] of Object.entries(shapes)) valid[k] = validTensor(sh);
      return optionsOf(valid, required, (k) => fc.oneof(tensorLike(shapes[k]), H1));
    };
    const conv = fc.oneof(
      fc.tuple(fc.constant("fromOnnx"), weights({ W: [1, G, Ic], R: [1, G, Hc], B: [1, 2 * G], P: [1, 3 * Hc] }, ["W", "R"]),
        optionsOf({ hiddenSize: fc.constant(Hc), direction: fc.constantFrom("forward", "reverse"), layout: fc.constantFrom(0, 1) }, ["hiddenSize"])),
      fc.tuple(fc.constant("fromKeras"), weights({ kernel: [Ic, G], recurrentKernel: [Hc, G], bias: [G] }, ["kernel", "recurrentKernel"]), fc.constant(undefined)),
      fc.tuple(fc.constant("fromChainer"), weights({ upwardW: [G, Ic], upwardB: [G], lateralW: [G, Hc] }, ["upwardW", "upwardB", "lateralW"]), fc.constant(undefined)),
      fc.tuple(fc.constant("fromBlocked"), weights({ W: [G, Ic], U: [G, Hc], b: [G] }, ["W", "U", "b"]), optionsOf({ order: fc.constantFrom("aifo", "ifgo", "iofc") }, ["order"])),
    );
    fc.assert(fc.property(conv, ([fn, w, o]) => {
      const f = { fromOnnx, fromKeras, fromChainer, fromBlocked }[fn] as (w: unknown, o?: unknown) => { config: LSTMOptions; stateDict: Record<string, Tensor> };
      const out = judge(`${fn}(${fc.stringify(w)}, ${fc.stringify(o)})`, attempt(() => f(w, o)), ["weights", "options"], memory());
      if (out.ok) {
        const { config, stateDict } = out.value as { config: LSTMOptions; stateDict: Record<string, Tensor> };
        const m = new LSTM({ ...config, seed: 0 });
        try { m.loadStateDict(stateDict); } finally { m.dispose(); }
      }
    }), FC);
  }, TIMEOUT);

  it(`toOnnx, toKeras, toChainer, toBlocked, reorderGates (${RUNS} cases)`, () => {
    const one = () => new LSTM({ inputSize: 2, hiddenSize: 3, seed: 1 });
    const modelArb = fc.oneof(
      fc.constantFrom("lstm", "A", "Bi", "P", "dead").map((k) => k),
      fc.tuple(fc.oneof(fc.constant(undefined), fc.record({ hiddenSize: fc.constantFrom(3, 4, "3"), reverse: fc.constantFrom(true, false, 1), numLayers: fc.constantFrom(1, 2) }, { requiredKeys: [] }), H1),
        fc.oneof(fc.constant("sd"), fc.constant("fn"), H1)).map(([config, sd]) => ({ config, sd })),
      H1,
    );
    fc.assert(fc.property(fc.constantFrom("toOnnx", "toKeras", "toChainer", "toBlocked"), modelArb, optionsOf({ order: fc.constantFrom("aifo", "ifgo", "xxxx") }), (fn, spec, o) => {
      const made: LSTM[] = [];
      let model: unknown = spec;
      if (typeof spec === "string") {
        model = spec === "lstm" ? (made.push(one()), made[0]) : spec === "A" ? A : spec === "Bi" ? Bi : spec === "P" ? P : dead;
      } else if (peek(() => typeof spec === "object" && spec !== null && "sd" in spec && "config" in spec, false)) {
        const s = spec as { config: unknown; sd: unknown };
        const base = one(); made.push(base);
        const sd = s.sd === "sd" ? base.stateDict() : s.sd === "fn" ? () => base.stateDict() : s.sd;
        model = s.config === undefined ? { stateDict: sd } : { config: s.config, stateDict: sd };
      }
      const f = { toOnnx, toKeras, toChainer, toBlocked }[fn] as (m: unknown, o?: unknown) => unknown;
      judge(`${fn}(${fc.stringify(spec)}, ${fc.stringify(o)})`, attempt(() => (fn === "toBlocked" ? f(model, o) : f(model))), ["model", "stateDict", "lstm", "options"], memory());
      for (const m of made) m.dispose();
    }), FC);
    fc.assert(fc.property(fc.oneof(tensorLike([8, 3]), tensorLike([2, 12]), fc.constantFrom([0, 1e300], [0, 2 ** 33]).map((s) => tag({ data: new Float32Array(0), shape: s }, `an empty tensor of shape [${s}]`))),
      fc.oneof(fc.constantFrom("ifgo", "iofc", "aifo", "ifco"), H1), fc.oneof(fc.constantFrom("ifgo", "iofc", "aifo"), H1),
      optionsOf({ axis: fc.constantFrom(0, 1, -1, 2, -3), fromInterleaved: fc.boolean(), toInterleaved: fc.boolean() }), (t, from, to, o) => {
        judge(`reorderGates(${fc.stringify(t)}, ${fc.stringify(from)}, ${fc.stringify(to)}, ${fc.stringify(o)})`, attempt(() => reorderGates(any(t), any(from), any(to), any(o))), ["tensor", "fromOrder", "toOrder", "options"], memory());
    }), FC);
  }, TIMEOUT);
});

describe("fuzz: init and optimizer steps", () => {
  it("init(options) with hostile backends and wasm sources (no network: data: URLs, a closed local port, bad strings)", async () => {
    const start = backend().name;
    const wasmArb = fc.oneof(
      fc.constantFrom("not a url", "file:///nonexistent/simd.wasm", "http://127.0.0.1:9/simd.wasm", "data:application/wasm;base64,AGFzbQEAAAA=", "data:,hello", ""),
      fc.constantFrom(new URL("data:application/wasm;base64,AGFzbQEAAAA="), new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0]), new Uint8Array([1, 2, 3]), new ArrayBuffer(0)),
      H1,
    );
    await fc.assert(fc.asyncProperty(optionsOf({ backend: fc.constantFrom("auto", "simd", "scalar", "relaxed-simd", "SIMD", "gpu"), wasm: wasmArb }), async (opts) => {
      const before = memory();
      const out = await attemptAsync(() => init(any(opts)));
      await init({ backend: start });
      judge(`init(${fc.stringify(opts)})`, out, ["options"], before);
    }), FEW);
  }, TIMEOUT);

  it(`optimizer.step(model) with hostile and disposed models (${RUNS} cases)`, () => {
    fc.assert(fc.property(fc.constantFrom("SGD", "Adam", "AdamW"), fc.oneof(fc.constantFrom("dead", "deadLin", "deadSeq").map((k) => k), H1), (optName, spec) => {
      const Opt = { SGD, Adam, AdamW }[optName];
      const model = spec === "dead" ? dead : spec === "deadLin" ? deadLin : spec === "deadSeq" ? deadSeq : spec;
      const o = new Opt({ lr: 0.5, weightDecay: 0.5 } as never);
      judge(`new ${Opt.name}().step(${fc.stringify(spec)})`, attempt(() => o.step(any(model))), ["model", "lstm", "linear"], memory());
      o.dispose();
    }), FC);
  }, TIMEOUT);
});

// ------------------------------------------------------------------ precise repros

/** `fn` throws an LSTMError naming `argument` (or something inside it) in the documented format. */
function refused(fn: () => unknown, argument: string, text?: string | RegExp): LSTMError {
  let err: unknown = null;
  try { fn(); } catch (e) { err = e; }
  if (!(err instanceof LSTMError)) {
    const got = err === null ? "no error" : err instanceof Error ? `${err.constructor.name}: ${err.message}` : String(err);
    throw new Error(`expected an LSTMError naming ${argument}, got ${got}`);
  }
  expect(err.message).toBe(`${err.argument}: expected ${err.expected}, received ${err.received}`);
  expect(names(err.argument, argument), `the error names ${err.argument}: ${err.message}`).toBe(true);
  if (text !== undefined) expect(err.message).toMatch(text);
  return err;
}

describe("hostile values the fuzz turned up, one by one", () => {
  it("error messages describe any value: a BigInt or cyclic shape, a typed array without a prototype (describe() must not throw)", () => {
    const x = fill(T * B * I, 1);
    const cyclic: unknown[] = [1]; cyclic.push(cyclic);
    refused(() => A.forward(x, { seqLen: T, batch: B, out: { y: any({ data: new Float32Array(1), shape: [1n] }) } }), "options.out.y");
    refused(() => A.forward(x, { seqLen: T, batch: B, out: { y: any({ data: new Float32Array(1), shape: cyclic }) } }), "options.out.y");
    // A Float32Array without a prototype is still a real one (the engine's own accessors say so): used, not refused.
    const bare = Object.setPrototypeOf(new Float32Array(T * B * I).fill(0.5), null);
    expect(A.forward(any(bare), { seqLen: T, batch: B }).y.data).toEqual(A.forward(fill(T * B * I, 0).map(() => 0.5), { seqLen: T, batch: B }).y.data);
    refused(() => A.forward(any(Object.setPrototypeOf(new Float64Array(T * B * I), null)), { seqLen: T, batch: B }), "x");
    refused(() => clipGradNorm(any([{ data: [1], shape: [1n] }]), 1), "tensors[0]");
    refused(() => new LSTM(any({ inputSize: 3, hiddenSize: Object.setPrototypeOf(new Int32Array(1), null) })), "options.hiddenSize");
    checkWatched("describing hostile values");
  });

  it("a Proxy around a Float32Array (instanceof Float32Array, but not a typed array) is used or refused with an LSTMError", () => {
    const prox = (n: number) => transparentProxy(fill(n, 2), "proxy") as Float32Array;
    for (const [name, call] of [
      ["forward x", () => A.forward(prox(T * B * I), { seqLen: T, batch: B })],
      ["step xt", () => A.step(prox(B * I), A.initialState(B))],
      ["clipGradNorm", () => clipGradNorm([prox(4)], 1)],
      ["writeSafetensors", () => writeSafetensors({ a: prox(4) })],
      ["Linear.forward", () => lin.forward({ data: prox(2 * H), shape: [2, H] })],
    ] as const) {
      const out = attempt(call);
      if (!out.ok) expect(out.error, `${name}: ${(out.error as Error).message}`).toBeInstanceOf(LSTMError);
    }
    checkWatched("proxies of Float32Arrays");
  });

  it("optimizer.step(model) refuses what is not a model with an LSTMError", () => {
    for (const v of [null, undefined, {}, 42, "model", { target: null }]) {
      const err = attempt(() => new SGD({ lr: 0.1 }).step(any(v)));
      expect(err.ok ? null : err.error, `step(${fc.stringify(v)})`).toBeInstanceOf(LSTMError);
    }
  });

  it("optimizer.step on a disposed Sequential is refused and cannot write into memory that now belongs to another model", () => {
    const make = (s: number) => new Sequential([new LSTM({ inputSize: I, hiddenSize: H, seed: s }), new Linear({ inputSize: H, outputSize: 1, seed: s })]);
    const gone = make(31);
    gone.dispose();
    const victim = make(32); // first fit: the memory the disposed model gave back
    const before = victim.predict(refN()).data.slice();
    const out = attempt(() => new SGD({ lr: 0.5, weightDecay: 1 }).step(gone));
    expect(bits(victim.predict(refN()).data), "SGD on the disposed model halved the weights of the model created after it").toEqual(bits(before));
    refused(() => { if (!out.ok) throw out.error; }, "model", /dispos/);
    victim.dispose();
  });

  it("a layer that already belongs to a Sequential is refused by a second Sequential (as the constructor documents)", () => {
    const l = new LSTM({ inputSize: I, hiddenSize: H, seed: 33 }), h = new Linear({ inputSize: H, outputSize: 1, seed: 33 });
    const first = new Sequential([l, h]);
    const out = attempt(() => new Sequential([l, h]));
    if (out.ok) (out.value as Sequential).dispose();
    first.dispose();
    expect(out.ok, "new Sequential([lstm, head]) accepted layers already used by another Sequential").toBe(false);
    refused(() => { throw (out as { error: unknown }).error; }, "layers");
  });

  it("step refuses a state without c (or without h) with an LSTMError, before touching anything", () => {
    const st = A.initialState(B), xt = fill(B * I, 3);
    refused(() => A.step(xt, any({ h: st.h })), "state.c");
    refused(() => A.step(xt, any({ c: st.c })), "state.h");
    expect(st.h.data.every((v) => v === 0)).toBe(true);
    checkWatched("step without c");
  });

  it("init({ wasm }) with a string fetch cannot use is refused with an LSTMError naming options.wasm", async () => {
    const start = backend().name;
    for (const src of ["not a url", "", "file:///nonexistent/simd.wasm", "http://127.0.0.1:9/simd.wasm"]) {
      const out = await attemptAsync(() => init({ backend: "simd", wasm: src }));
      await init({ backend: start });
      const e = out.ok ? null : out.error;
      expect(e instanceof LSTMError ? e.argument : e, `init({ wasm: ${JSON.stringify(src)} }) → ${e instanceof Error ? `${e.constructor.name}: ${e.message}` : "no error"}`).toBe("options.wasm");
    }
  });

  it("a tensor whose data getter changes between reads cannot make the library write outside its buffers (run in a child process: the writes it makes corrupt other models)", () => {
    // The getter answers honestly for its first k reads, then returns a much longer array of 1e30s.
    // After each call, a model created just above the caller's buffers must be unchanged.
    const script = `
      import { init, LSTM, Linear, Sequential, clipGradNorm } from ${JSON.stringify(pathToFileURL(DIST).href)};
      await init();
      const fill = (n, k) => Float32Array.from({ length: n }, (_, i) => Math.sin(k * (i + 1)));
      function flipFlop(shape, honest, extra) {
        const n = shape.reduce((a, b) => a * b, 1), small = fill(n, 1), big = new Float32Array(n + extra).fill(1e30);
        let reads = 0;
        return { get data() { return reads++ < honest ? small : big; }, shape };
      }
      const cases = {
        "LSTM.forward x": (m, f) => m.forward(f([3, 2, 2])),
        "LSTM.forward options.h0": (m, f) => m.forward({ data: fill(12, 2), shape: [3, 2, 2] }, { h0: f([1, 2, 4]) }),
        "LSTM.backward gradients.dy": (m, f) => { m.forward({ data: fill(12, 2), shape: [3, 2, 2] }, { train: true }); return m.backward({ dy: f([3, 2, 4]) }); },
        "LSTM.step xt": (m, f) => m.step(f([2, 2]), m.initialState(2)),
        "LSTM.loadStateDict": (m, f) => m.loadStateDict({ ...m.stateDict(), bias_ih_l0: f([16]) }),
        "Linear.forward x": (m, f, l) => l.forward(f([3, 4])),
        "Sequential.predict x": (m, f, l, s) => s.predict(f([2, 3, 2])),
        "clipGradNorm": (m, f) => clipGradNorm([f([40])], 1),
      };
      const results = [];
      for (const [name, call] of Object.entries(cases)) for (let honest = 1; honest <= 4; honest++) for (const extra of [4096, 65536]) {
        const m = new LSTM({ inputSize: 2, hiddenSize: 4, seed: 1 }), l = new Linear({ inputSize: 4, outputSize: 2, seed: 1 });
        const s = new Sequential([new LSTM({ inputSize: 2, hiddenSize: 4, seed: 2 }), new Linear({ inputSize: 4, outputSize: 1, seed: 2 })]);
        m.forward({ data: fill(12, 2), shape: [3, 2, 2] }, { train: true }); m.backward(); m.forward({ data: fill(12, 2), shape: [3, 2, 2] });
        m.step(fill(4, 3), m.initialState(2)); l.forward({ data: fill(12, 4), shape: [3, 4] }); s.predict({ data: fill(12, 5), shape: [2, 3, 2] });
        clipGradNorm([fill(40, 6)], 1);
        const victim = new LSTM({ inputSize: 2, hiddenSize: 4, seed: 3 }), vx = { data: fill(8, 7), shape: [4, 1, 2] };
        const others = () => JSON.stringify([victim.forward(vx).y.data, l.forward({ data: fill(12, 4), shape: [3, 4] }).data, s.predict({ data: fill(12, 5), shape: [2, 3, 2] }).data].map((a) => Array.from(a)));
        const before = others();
        let outcome = "ok";
        try { call(m, (shape) => flipFlop(shape, honest, extra), l, s); } catch (e) { outcome = e.name === "LSTMError" ? "LSTMError" : e.constructor.name + ": " + e.message; }
        const changed = others() !== before;
        results.push({ name, honest, extra, outcome, changed });
        for (const o of [m, l, s, victim]) o.dispose();
      }
      console.log(JSON.stringify(results));`;
    const r = spawnSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8", timeout: 60_000 });
    expect(r.status, r.stderr).toBe(0);
    const results = JSON.parse(r.stdout.trim().split("\n").pop()!) as Array<{ name: string; honest: number; extra: number; outcome: string; changed: boolean }>;
    const bad = results.filter((x) => x.changed || (x.outcome !== "ok" && x.outcome !== "LSTMError"))
      .map((x) => `${x.name} (honest for ${x.honest} read${x.honest > 1 ? "s" : ""}, then ${x.extra} floats too many): ${x.outcome}${x.changed ? ", and other models' weights were overwritten" : ""}`);
    expect(bad, bad.join("\n")).toEqual([]);
  }, 60_000);

  it("converters refuse a declared shape with non-numbers (Symbol, a null-prototype object) with an LSTMError", () => {
    const G = 12;
    for (const d of [Symbol("d"), Object.create(null)]) {
      refused(() => fromKeras(any({ kernel: fill(2 * G, 1), recurrentKernel: fill(3 * G, 2), bias: { data: fill(G, 3), shape: [d] } })), "weights");
    }
  });

  it("writeSafetensors refuses a shape its own reader refuses (a dimension of 2^53 or more next to a 0)", () => {
    for (const shape of [[0, 1e300], [0, 2 ** 53], [2 ** 60, 0]]) {
      const out = attempt(() => writeSafetensors({ a: { data: new Float32Array(0), shape } }));
      if (out.ok) {
        const back = attempt(() => readSafetensors(out.value as Uint8Array));
        expect(back.ok, `writeSafetensors accepted shape [${shape}] and wrote a file readSafetensors refuses: ${back.ok ? "" : (back.error as Error).message}`).toBe(true);
      } else refused(() => { throw out.error; }, 'tensors["a"]');
    }
  });

  it("a refused oversized training forward keeps the previous training forward for backward()", () => {
    const m = new LSTM({ inputSize: 1, hiddenSize: 256, seed: 36 });
    const x = { data: fill(4, 5), shape: [2, 2, 1] }, dy = { data: fill(2 * 2 * 256, 6), shape: [2, 2, 256] };
    m.forward(x, { train: true });
    const expected = m.backward({ dy });
    m.zeroGrad();
    m.forward(x, { train: true });
    refused(() => m.forward(new Float32Array(2 ** 20), { seqLen: 2 ** 20, batch: 1, train: true }), "training buffers", /\d{10} bytes/);
    const out = attempt(() => m.backward({ dy }));
    expect(out.ok, `backward() after the refusal: ${out.ok ? "" : (out.error as Error).message}`).toBe(true);
    if (out.ok) expect(bits((out.value as { dx: Tensor }).dx.data)).toEqual(bits(expected.dx.data));
    m.dispose();
  });
});

// ------------------------------------------------------------------ absurd sizes

describe("absurd sizes are refused before any allocation, stating the bytes needed", () => {
  /** Refused naming one of `args`, with a byte count of at least 2^32 in the message, and wasm memory untouched. */
  function tooBig(fn: () => unknown, args: string[]): LSTMError {
    const be = backend(), bytes = be.k.memory.buffer.byteLength, inUse = be.arena.inUse;
    let err: unknown = null;
    const t0 = performance.now();
    try { fn(); } catch (e) { err = e; }
    const ms = performance.now() - t0;
    if (!(err instanceof LSTMError)) throw new Error(`expected an LSTMError, got ${err === null ? "no error" : err instanceof Error ? `${err.constructor.name}: ${err.message}` : String(err)}`);
    expect(args.some((a) => names(err.argument, a)), `the error names ${err.argument}: ${err.message}`).toBe(true);
    const stated = [...err.message.matchAll(/(\d+) bytes/g)].map((m) => Number(m[1]));
    expect(stated.some((n) => n > 2 ** 32), `no byte count above 4 GiB in: ${err.message}`).toBe(true);
    expect(be.k.memory.buffer.byteLength, "wasm memory grew before the refusal").toBe(bytes);
    expect(be.arena.inUse, "arena blocks were handed out before the refusal").toBe(inUse);
    expect(ms, "the refusal took too long to be made before the work").toBeLessThan(1000);
    checkWatched(err.message);
    return err;
  }

  it("models: hiddenSize 1e6, sizes of 2^31 − 1, a 1e6 × 1e6 Linear", () => {
    tooBig(() => new LSTM({ inputSize: 1, hiddenSize: 1e6 }), ["parameters", "gradients"]);
    tooBig(() => new LSTM({ inputSize: 2 ** 31 - 1, hiddenSize: 2 ** 31 - 1 }), ["parameters", "gradients"]);
    tooBig(() => new LSTM({ inputSize: 1, hiddenSize: 1e6, init: "keras" }), ["parameters", "gradients", "initialisation scratch"]);
    tooBig(() => new LSTM({ inputSize: 1e6, hiddenSize: 1e3, numLayers: 3, bidirectional: true }), ["parameters", "gradients"]);
    tooBig(() => new Linear({ inputSize: 1e6, outputSize: 1e6 }), ["parameters", "gradients"]);
    tooBig(() => new Linear({ inputSize: 2 ** 31 - 1, outputSize: 3 }), ["parameters", "gradients"]);
  });

  it("numLayers 2^31 − 1 is refused promptly (in a child process with a 512 MB heap, so a failure cannot take this run down)", () => {
    const script = `
      import { init, LSTM } from ${JSON.stringify(pathToFileURL(DIST).href)};
      await init();
      const t0 = performance.now();
      let out;
      try { new LSTM({ inputSize: 1, hiddenSize: 1, numLayers: 2 ** 31 - 1 }); out = { ok: true }; }
      catch (e) { out = { name: e.name, argument: e.argument, message: e.message }; }
      out.ms = performance.now() - t0;
      console.log(JSON.stringify(out));`;
    const t0 = Date.now();
    const r = spawnSync(process.execPath, ["--max-old-space-size=512", "--input-type=module", "-e", script], { encoding: "utf8", timeout: 30_000 });
    const took = Date.now() - t0;
    const lines = `${r.stderr ?? ""}`.trim().split("\n");
    const tail = (lines.filter((l) => /FATAL|out of memory|Error/.test(l)).slice(0, 2).join(" | ") || lines.slice(-3).join(" | ")).trim();
    expect(r.status, `the child ${r.signal ? `was killed (${r.signal}) after ${took} ms` : `exited ${r.status} after ${took} ms`}: ${tail}`).toBe(0);
    const out = JSON.parse(r.stdout.trim().split("\n").pop()!);
    expect(out.name, JSON.stringify(out)).toBe("LSTMError");
    expect(out.message).toMatch(/\d{11,} bytes/);
    expect(out.ms).toBeLessThan(1000);
  }, 60_000);

  it("forward, step, initialState: T·B whose buffers pass 4 GiB", () => {
    const m = new LSTM({ inputSize: 1, hiddenSize: 256, seed: 40 });
    const mbf = new LSTM({ inputSize: 1, hiddenSize: 256, batchFirst: true, seed: 40 });
    const x = new Float32Array(2 ** 20); // 4 MB of input; its gates would need 4 GiB
    tooBig(() => m.forward(x, { seqLen: 2 ** 20, batch: 1 }), ["inference buffers"]);
    tooBig(() => m.forward(x, { seqLen: 2 ** 20, batch: 1, train: true }), ["training buffers"]);
    tooBig(() => m.forward(x, { seqLen: 1, batch: 2 ** 20, returnGates: true }), ["inference buffers"]);
    tooBig(() => mbf.forward(x, { seqLen: 2 ** 10, batch: 2 ** 10, lengths: new Int32Array(2 ** 10).fill(2 ** 10) }), ["inference buffers"]);
    tooBig(() => m.initialState(2 ** 31 - 1), ["batch"]);
    tooBig(() => A.initialState(2 ** 28), ["batch"]);
    // The models still work at a sane size.
    expect(m.forward({ data: fill(6, 1), shape: [3, 2, 1] }).y.shape).toEqual([3, 2, 256]);
    m.dispose(); mbf.dispose();
  });

  it("Sequential predict, evaluate and fit on one sequence of 2^20 steps", async () => {
    const s = new Sequential([new LSTM({ inputSize: 1, hiddenSize: 256, seed: 41 }), new Linear({ inputSize: 256, outputSize: 1, seed: 41 })]);
    const x = { data: new Float32Array(2 ** 20), shape: [1, 2 ** 20, 1] }, y = { data: new Float32Array(1), shape: [1, 1] };
    tooBig(() => s.predict(x), ["inference buffers", "model buffers"]);
    tooBig(() => s.evaluate(x, y), ["inference buffers", "model buffers"]);
    const be = backend(), bytes = be.k.memory.buffer.byteLength, inUse = be.arena.inUse;
    const out = await attemptAsync(() => s.fit(x, y, { optimizer: new SGD({ lr: 0.1 }) }));
    expect(out.ok ? null : out.error).toBeInstanceOf(LSTMError);
    expect((out as { error: LSTMError }).error.message).toMatch(/\d{10,} bytes/);
    expect([be.k.memory.buffer.byteLength, be.arena.inUse]).toEqual([bytes, inUse]);
    expect(s.predict({ data: fill(6, 2), shape: [2, 3, 1] }).shape).toEqual([2, 1]);
    s.dispose();
  });

  it("the free clipGradNorm/clipGradValue over more than 4 GiB of gradients (257 views of one 16 MB array)", () => {
    const g = new Float32Array(2 ** 22).fill(1);
    const list = new Array(257).fill(g);
    tooBig(() => clipGradNorm(list, 1), ["tensors", "clipping scratch"]);
    tooBig(() => clipGradValue(list, 1), ["tensors", "clipping scratch"]);
    expect(g.every((v) => v === 1)).toBe(true);
  });

  it("reorderGates on an empty tensor whose gate axis claims 2^33 or 1e300 rows", () => {
    for (const s of [[0, 2 ** 33], [0, 1e300]]) {
      refused(() => reorderGates({ data: new Float32Array(0), shape: s }, "ifgo", "iofc", { axis: 1 }), "tensor");
    }
  });

  it("nested arrays claiming 2^32 − 1 rows (a sparse outer array) are refused without allocating for them in JS", () => {
    const sparse: unknown[] = [];
    sparse.length = 2 ** 32 - 1;
    sparse[0] = [[0]];
    const m = new LSTM({ inputSize: 1, hiddenSize: 2, seed: 42 });
    const s1 = new Sequential([new LSTM({ inputSize: 1, hiddenSize: 2, seed: 42 }), new Linear({ inputSize: 2, outputSize: 1, seed: 42 })]);
    // Watch the library's Float32Array allocations during the call (a subclass stands in for the global):
    // one for 2^32 − 1 floats is 16 GiB asked of the JS heap for rows that do not exist.
    const Original = globalThis.Float32Array;
    const asked: number[] = [];
    class Watching extends Original {
      constructor(...args: any[]) {
        if (typeof args[0] === "number" && args[0] > 2 ** 24) { asked.push(args[0]); throw new Boom(`new Float32Array(${args[0]})`); }
        super(...(args as [number]));
      }
    }
    for (const [name, call] of [["LSTM.forward", () => m.forward(any(sparse))], ["Sequential.predict", () => s1.predict(any(sparse))]] as const) {
      asked.length = 0;
      let out: Outcome;
      globalThis.Float32Array = Watching as unknown as Float32ArrayConstructor;
      try { out = attempt(call); } finally { globalThis.Float32Array = Original; }
      expect(asked, `${name} asked for a Float32Array of ${asked[0]} elements before refusing`).toEqual([]);
      refused(() => { if (!out.ok) throw out.error; }, "x");
    }
    m.dispose(); s1.dispose();
  });
});

// ------------------------------------------------------------------ NaN and Infinity

/** A float64 torch.nn.LSTM forward (PyTorch's semantics, packed sequences for lengths), written for the classes of its outputs. */
function torchForward(sd: Record<string, Tensor>, c: { I: number; H: number; L: number; D: number; reverse: boolean; T: number; B: number; lengths?: number[] },
  x: Float64Array, h0: Float64Array, c0: Float64Array) {
  const { H, L, D, T, B } = c;
  const sig = (v: number) => 1 / (1 + Math.exp(-v));
  const hn = new Float64Array(L * D * B * H), cn = new Float64Array(L * D * B * H);
  let input = x, In = c.I;
  for (let l = 0; l < L; l++) {
    const out = new Float64Array(T * B * D * H);
    for (let d = 0; d < D; d++) {
      const sfx = `_l${l}${d ? "_reverse" : ""}`, rev = d === 1 || c.reverse;
      const W = sd[`weight_ih${sfx}`].data, U = sd[`weight_hh${sfx}`].data, bi = sd[`bias_ih${sfx}`].data, bh = sd[`bias_hh${sfx}`].data;
      for (let b = 0; b < B; b++) {
        const k0 = ((l * D + d) * B + b) * H;
        const h = h0.slice(k0, k0 + H), cc = c0.slice(k0, k0 + H), a = new Float64Array(4 * H);
        const len = c.lengths ? c.lengths[b] : T;
        for (let s = 0; s < len; s++) {
          const t = rev ? len - 1 - s : s, xo = (t * B + b) * In;
          for (let r = 0; r < 4 * H; r++) {
            let v = 0;
            for (let k = 0; k < In; k++) v += W[r * In + k] * input[xo + k];
            v += bi[r];
            for (let k = 0; k < H; k++) v += U[r * H + k] * h[k];
            a[r] = v + bh[r];
          }
          for (let j = 0; j < H; j++) {
            cc[j] = sig(a[H + j]) * cc[j] + sig(a[j]) * Math.tanh(a[2 * H + j]);
            h[j] = sig(a[3 * H + j]) * Math.tanh(cc[j]);
            out[(t * B + b) * D * H + d * H + j] = h[j];
          }
        }
        hn.set(h, k0); cn.set(cc, k0);
      }
    }
    input = out; In = D * H;
  }
  return { y: input, hn, cn };
}
const cls = (a: ArrayLike<number>) => Array.from(a, (v) => (Number.isNaN(v) ? "N" : v === Infinity ? "+" : v === -Infinity ? "-" : ".")).join("");

describe("NaN and ±Infinity", () => {
  it(`propagate by default exactly where PyTorch's would: the NaN/±Inf pattern of y, hn, cn equals a float64 torch.nn.LSTM's, on every build (${RUNS} cases)`, async () => {
    const start = backend().name;
    const caseArb = fc.record({
      L: fc.integer({ min: 1, max: 2 }), bi: fc.boolean(), rev: fc.boolean(), T: fc.integer({ min: 1, max: 4 }), B: fc.integer({ min: 1, max: 3 }),
      I: fc.integer({ min: 1, max: 3 }), H: fc.integer({ min: 1, max: 5 }), lens: fc.option(fc.array(fc.nat(), { minLength: 3, maxLength: 3 })), seed: fc.nat(),
      inject: fc.array(fc.tuple(fc.constantFrom("x", "h0", "c0"), fc.nat(), fc.constantFrom(NaN, Infinity, -Infinity)), { minLength: 1, maxLength: 3 }),
    });
    await fc.assert(fc.asyncProperty(caseArb, async (c) => {
      const D = c.bi ? 2 : 1, S = c.L * D;
      const lengths = c.lens ? c.lens.slice(0, c.B).map((v) => 1 + (v % c.T)) : undefined;
      const x = fill(c.T * c.B * c.I, c.seed), h0 = fill(S * c.B * c.H, c.seed + 1), c0 = fill(S * c.B * c.H, c.seed + 2);
      for (const [where, at, v] of c.inject) { const a = where === "x" ? x : where === "h0" ? h0 : c0; a[at % a.length] = v; }
      let expected: string | null = null;
      for (const b of BUILDS) {
        await use(b);
        const m = new LSTM({ inputSize: c.I, hiddenSize: c.H, numLayers: c.L, bidirectional: c.bi, reverse: !c.bi && c.rev, seed: c.seed });
        try {
          const r = m.forward({ data: x, shape: [c.T, c.B, c.I] }, { h0: { data: h0, shape: [S, c.B, c.H] }, c0: { data: c0, shape: [S, c.B, c.H] }, lengths });
          if (expected === null) {
            const ref = torchForward(m.stateDict(), { I: c.I, H: c.H, L: c.L, D, reverse: !c.bi && c.rev, T: c.T, B: c.B, lengths }, Float64Array.from(x), Float64Array.from(h0), Float64Array.from(c0));
            expected = `y ${cls(ref.y)} hn ${cls(ref.hn)} cn ${cls(ref.cn)}`;
          }
          expect(`y ${cls(r.y.data)} hn ${cls(r.hn.data)} cn ${cls(r.cn.data)}`, `build ${b}`).toBe(expected);
        } finally { m.dispose(); }
      }
    }), FC);
    await use(start);
  }, TIMEOUT);

  it("gates returned for padded steps stay 0 and dx stays 0 when x holds NaN/±Inf at those (ignored) steps", () => {
    for (const opts of [{}, { bidirectional: true }, { reverse: true }]) {
      const m = new LSTM({ inputSize: I, hiddenSize: H, seed: 50, ...opts });
      const x = fill(T * B * I, 51);
      x[(2 * B + 0) * I] = NaN; x[(1 * B + 0) * I + 1] = Infinity; // element 0 has one valid step
      const r = m.forward({ data: x, shape: [T, B, I] }, { lengths: [1, T], train: true, returnGates: true });
      expect(cls(r.y.data)).not.toContain("N");
      for (const g of Object.values(r.gates!)) for (const t of Object.values(g)) expect(cls(t.data)).not.toContain("N");
      const back = m.backward({ dy: { data: fill(r.y.data.length, 52), shape: r.y.shape } });
      expect(cls(back.dx.data)).not.toMatch(/[N+-]/);
      m.dispose();
    }
  });

  it("x at padded steps never reaches the weight gradients (PyTorch's packed sequences never read it): NaN padding leaves every gradient finite", () => {
    for (const opts of [{}, { bidirectional: true }, { reverse: true }]) {
      const m = new LSTM({ inputSize: I, hiddenSize: H, seed: 53, ...opts });
      const x = fill(T * B * I, 54);
      for (let t = 1; t < T; t++) x.fill(NaN, (t * B + 0) * I, (t * B + 1) * I); // element 0: one valid step, NaN padding
      const r = m.forward({ data: x, shape: [T, B, I] }, { lengths: [1, T], train: true });
      m.backward({ dy: { data: fill(r.y.data.length, 55), shape: r.y.shape } });
      const bad = Object.entries(m.grads()).filter(([, g]) => !g.data.every(Number.isFinite)).map(([k]) => k);
      expect(bad, `${JSON.stringify(opts)}: non-finite gradients`).toEqual([]);
      m.dispose();
    }
  });

  it("Sequential.fit with lengths trains on NaN-padded sequences (the padding is ignored)", async () => {
    const s = new Sequential([new LSTM({ inputSize: 1, hiddenSize: 4, seed: 56 }), new Linear({ inputSize: 4, outputSize: 1, seed: 56 })]);
    const x = fill(4 * 3, 57);
    x[1] = NaN; x[2] = NaN; // sample 0: one valid step of three
    const out = await attemptAsync(() => s.fit({ data: x, shape: [4, 3, 1] }, { data: fill(4, 58), shape: [4, 1] }, { optimizer: new SGD({ lr: 0.1 }), lengths: [1, 3, 3, 2], epochs: 2 }));
    expect(out.ok, out.ok ? "" : (out.error as Error).message).toBe(true);
    s.dispose();
  });

  describe("with checkFinite: true they are refused, naming the tensor, and nothing changes", () => {
    const bad = (n: number, at: number, v: number) => { const a = fill(n, 60); a[at % n] = v; return a; };
    const VALUES = [NaN, Infinity, -Infinity];

    it("forward x, options.h0, options.c0; backward gradients.dy, dhn, dcn; step xt, state.h, state.c; loadStateDict", () => {
      const m = new LSTM({ inputSize: I, hiddenSize: H, numLayers: 2, checkFinite: true, seed: 61 });
      const x = { data: fill(T * B * I, 62), shape: [T, B, I] };
      const ref = () => { const r = m.forward(x); return [r.y.data, r.hn.data, r.cn.data].map(bits); };
      const base = ref(), sd = m.stateDict();
      for (const v of VALUES) for (const at of [0, 5, 1e9]) {
        refused(() => m.forward(bad(T * B * I, at, v), { seqLen: T, batch: B }), "x", /finite/);
        refused(() => m.forward(x, { h0: { data: bad(2 * B * H, at, v), shape: [2, B, H] } }), "options.h0", /finite/);
        refused(() => m.forward(x, { c0: { data: bad(2 * B * H, at, v), shape: [2, B, H] } }), "options.c0", /finite/);
        m.forward(x, { train: true });
        refused(() => m.backward({ dy: { data: bad(T * B * H, at, v), shape: [T, B, H] } }), "gradients.dy", /finite/);
        refused(() => m.backward({ dhn: { data: bad(2 * B * H, at, v), shape: [2, B, H] } }), "gradients.dhn", /finite/);
        refused(() => m.backward({ dcn: { data: bad(2 * B * H, at, v), shape: [2, B, H] } }), "gradients.dcn", /finite/);
        expect(Object.values(m.grads()).every((g) => g.data.every((z) => z === 0)), "a refused backward added gradients").toBe(true);
        const st = m.initialState(B);
        refused(() => m.step(bad(B * I, at, v), st), "xt", /finite/);
        refused(() => m.step(fill(B * I, 63), { h: { data: bad(2 * B * H, at, v), shape: [2, B, H] }, c: st.c }), "state.h", /finite/);
        const c = { data: bad(2 * B * H, at, v), shape: [2, B, H] }, snap = bits(c.data);
        refused(() => m.step(fill(B * I, 63), { h: st.h, c }), "state.c", /finite/);
        expect(bits(c.data)).toEqual(snap);
        expect(st.h.data.every((z) => z === 0) && st.c.data.every((z) => z === 0)).toBe(true);
        refused(() => m.loadStateDict({ ...sd, bias_hh_l1: { data: bad(4 * H, at, v), shape: [4 * H] } }), 'stateDict["bias_hh_l1"]', /finite/);
        expect(ref()).toEqual(base);
      }
      m.dispose();
    });

    it("Sequential fit x and y, predict x, evaluate x", async () => {
      const s = new Sequential([new LSTM({ inputSize: 1, hiddenSize: 3, checkFinite: true, seed: 64 }), new Linear({ inputSize: 3, outputSize: 1, seed: 64 })]);
      const x = { data: fill(12, 65), shape: [4, 3, 1] }, y = { data: fill(4, 66), shape: [4, 1] };
      const base = bits(s.predict(x).data);
      for (const v of VALUES) {
        const bx = { data: bad(12, 7, v), shape: [4, 3, 1] }, by = { data: bad(4, 2, v), shape: [4, 1] };
        for (const [what, call] of [["x", () => s.fit(bx, y, { optimizer: new SGD({ lr: 0.1 }) })], ["y", () => s.fit(x, by, { optimizer: new SGD({ lr: 0.1 }) })]] as const) {
          const out = await attemptAsync(call);
          refused(() => { if (out.ok) return; throw out.error; }, what, /finite/);
        }
        refused(() => s.predict(bx), "x", /finite/);
        refused(() => s.evaluate(bx, y), "x", /finite/);
        expect(bits(s.predict(x).data)).toEqual(base);
      }
      s.dispose();
    });
  });

  it("fit stops when the loss diverges to a non-finite value, keeping the weights of the last good step", async () => {
    const s = new Sequential([new LSTM({ inputSize: 1, hiddenSize: 4, seed: 67 }), new Linear({ inputSize: 4, outputSize: 1, seed: 67 })]);
    const x = { data: fill(8 * 3, 68), shape: [8, 3, 1] }, y = { data: fill(8, 69), shape: [8, 1] };
    const snapshots: string[] = [];
    const weights = () => JSON.stringify(s.stateDict(), (_k, v) => (v instanceof Float32Array ? Array.from(bits(v)) : v));
    const out = await attemptAsync(() => s.fit(x, y, { epochs: 5, batchSize: 2, shuffle: false, optimizer: new SGD({ lr: 1e20 }), onBatchEnd: () => { snapshots.push(weights()); } }));
    expect(out.ok, "SGD with lr 1e20 should have diverged").toBe(false);
    const e = refused(() => { throw (out as { error: unknown }).error; }, "fit");
    expect(e.received).toMatch(/loss (NaN|-?Infinity)|gradient norm (NaN|Infinity)/);
    expect(snapshots.length, "at least one step succeeded before the divergence").toBeGreaterThan(0);
    expect(weights() === snapshots[snapshots.length - 1], "the weights are not those of the last good step").toBe(true);
    expect(s.predict(x).shape).toEqual([8, 1]); // still usable
    s.dispose();
  });
});
