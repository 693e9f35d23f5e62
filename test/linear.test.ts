// Linear (y = x·Wᵀ + b, torch.nn.Linear's names) against a plain float64 loop on every build:
// odd sizes so every SIMD tail and partial 8-column panel runs, gradient accumulation, the state
// dict, the seeded initialisation and misuse.
import { describe, it, expect, beforeAll } from "vitest";
import { Linear, LSTMError, type Tensor } from "../src/index";
import { BUILDS, use } from "./helpers/backends";
import { mulberry32 } from "./helpers/ref";
import { refLinear, refLinearBackward } from "./helpers/ref_layers";
import { expectClose, TOL } from "./helpers/close";

const SIZES = [1, 3, 5, 8, 9, 17];
const ROWS = [1, 2, 7];
const PAIRS: Array<[number, number]> = SIZES.flatMap((In) => SIZES.map((O): [number, number] => [In, O]));

/** n values in (-s, s), exact in float32 so the float64 reference sees exactly the kernel's inputs. */
function rand(rng: () => number, n: number, s = 1): Float32Array {
  return Float32Array.from({ length: n }, () => (2 * rng() - 1) * s);
}

// The float64 twins (helpers/ref_layers.ts) with no activation: y = x·Wᵀ + b; dx = dy·W, dW = dyᵀ·x, db = Σ dy.
const refForward = (x: Float32Array, W: Float32Array, b: Float32Array, N: number, In: number, O: number) => refLinear(x, W, b, N, In, O, "none");
const refBackward = (x: Float32Array, W: Float32Array, dy: Float32Array, N: number, In: number, O: number) =>
  refLinearBackward(x, W, dy, dy, N, In, O, "none"); // (y is not read without an activation)

const add = (a: Float64Array, b: Float64Array) => a.map((v, k) => v + b[k]);

/** Asserts `fn` throws an LSTMError whose argument is `argument`. */
function expectErr(fn: () => unknown, argument: string): LSTMError {
  let err: unknown = null;
  try { fn(); } catch (e) { err = e; }
  expect(err, `expected an LSTMError for ${argument}`).toBeInstanceOf(LSTMError);
  const e = err as LSTMError;
  expect(e.argument).toBe(argument);
  expect(e.message.startsWith(`${argument}: expected `)).toBe(true);
  return e;
}

describe.each(BUILDS)("Linear against a float64 loop on the %s build", (build) => {
  it.each(PAIRS)("In=%i O=%i: forward, dx, dW and db match float64 for N in {1,2,7}, and gradients accumulate over two backward calls", async (In, O) => {
    await use(build);
    const rng = mulberry32(1000 * In + O);
    const lin = new Linear({ inputSize: In, outputSize: O, seed: 3 });
    for (const N of ROWS) {
      const W = rand(rng, O * In), b = rand(rng, O);
      lin.loadStateDict({ weight: { data: W, shape: [O, In] }, bias: { data: b, shape: [O] } });
      lin.zeroGrad();
      const x = rand(rng, N * In, 2);
      const y = lin.forward({ data: x, shape: [N, In] }, { train: true });
      expect(y.shape).toEqual([N, O]);
      expectClose(`y N=${N}`, y.data, refForward(x, W, b, N, In, O), TOL.out);

      const dy1 = rand(rng, N * O), dy2 = rand(rng, N * O);
      const r1 = refBackward(x, W, dy1, N, In, O), r2 = refBackward(x, W, dy2, N, In, O);
      const dx1 = lin.backward({ data: dy1, shape: [N, O] });
      expect(dx1.shape).toEqual([N, In]);
      expectClose(`dx N=${N}`, dx1.data, r1.dx, TOL.out);
      const g1 = lin.grads();
      expect(g1.weight.shape).toEqual([O, In]);
      expect(g1.bias.shape).toEqual([O]);
      expectClose(`dW N=${N}`, g1.weight.data, r1.dW, TOL.out);
      expectClose(`db N=${N}`, g1.bias.data, r1.db, TOL.out);

      // A second backward of the same forward adds into the gradients; dx is not accumulated.
      const dx2 = lin.backward({ data: dy2, shape: [N, O] });
      expectClose(`dx (second) N=${N}`, dx2.data, r2.dx, TOL.out);
      const g2 = lin.grads();
      expectClose(`dW1+dW2 N=${N}`, g2.weight.data, add(r1.dW, r2.dW), TOL.out);
      expectClose(`db1+db2 N=${N}`, g2.bias.data, add(r1.db, r2.db), TOL.out);
    }
    lin.zeroGrad();
    const z = lin.grads();
    expect(z.weight.data.every((v) => v === 0) && z.bias.data.every((v) => v === 0)).toBe(true);
    lin.dispose();
  });

  it("forward without train gives the same y as with it, and an out tensor is filled and returned", async () => {
    await use(build);
    const rng = mulberry32(7);
    const In = 9, O = 5, N = 7;
    const lin = new Linear({ inputSize: In, outputSize: O, seed: 11 });
    const x = rand(rng, N * In);
    const { weight, bias } = lin.stateDict();
    const a = lin.forward({ data: x, shape: [N, In] });
    const out: Tensor = { data: new Float32Array(N * O).fill(NaN), shape: [N, O] };
    const b = lin.forward({ data: x, shape: [N, In] }, { train: true, out });
    expect(b).toBe(out);
    expect(Array.from(b.data)).toEqual(Array.from(a.data));
    expectClose("y", a.data, refForward(x, weight.data, bias.data, N, In, O), TOL.out);
    lin.dispose();
  });
});

describe("Linear state, initialisation and errors", () => {
  beforeAll(async () => { await use("simd"); });

  it("stateDict has torch.nn.Linear's names and shapes, weight [O,In] and bias [O], and round-trips bit for bit", () => {
    const rng = mulberry32(21);
    const In = 17, O = 9;
    const a = new Linear({ inputSize: In, outputSize: O, seed: 1 });
    const sd = a.stateDict();
    expect(Object.keys(sd)).toEqual(["weight", "bias"]);
    expect(sd.weight.shape).toEqual([O, In]);
    expect(sd.bias.shape).toEqual([O]);
    expect(Object.keys(a.grads())).toEqual(["weight", "bias"]);

    const W = rand(rng, O * In), b = rand(rng, O);
    a.loadStateDict({ weight: { data: W, shape: [O, In] }, bias: Array.from(b) });
    const back = a.stateDict();
    expect(Array.from(back.weight.data)).toEqual(Array.from(W));
    expect(Array.from(back.bias.data)).toEqual(Array.from(b));
    // W[o][i] really is the weight from input i to output o: a one-hot input picks column i.
    const x = new Float32Array(In); x[4] = 1;
    const y = a.forward({ data: x, shape: [1, In] }).data;
    for (let o = 0; o < O; o++) expect(y[o]).toBeCloseTo(W[o * In + 4] + b[o], 6);

    // Carried to another layer, the outputs are bit-identical.
    const c = new Linear({ inputSize: In, outputSize: O, seed: 2 });
    c.loadStateDict(a.stateDict());
    const xs = rand(rng, 5 * In);
    expect(Array.from(c.forward({ data: xs, shape: [5, In] }).data)).toEqual(Array.from(a.forward({ data: xs, shape: [5, In] }).data));
    // stateDict() returns copies.
    back.weight.data.fill(0);
    expect(Array.from(a.stateDict().weight.data)).toEqual(Array.from(W));
    a.dispose();
    c.dispose();
  });

  it("a seed gives the same weights every time, another seed different ones, all within ±1/√In and spread over it", () => {
    for (const [In, O] of [[17, 9], [1, 3], [64, 8]] as const) {
      const sd1 = new Linear({ inputSize: In, outputSize: O, seed: 123 }).stateDict();
      const sd2 = new Linear({ inputSize: In, outputSize: O, seed: 123 }).stateDict();
      const sd3 = new Linear({ inputSize: In, outputSize: O, seed: 124 }).stateDict();
      expect(Array.from(sd2.weight.data)).toEqual(Array.from(sd1.weight.data));
      expect(Array.from(sd2.bias.data)).toEqual(Array.from(sd1.bias.data));
      expect(Array.from(sd3.weight.data)).not.toEqual(Array.from(sd1.weight.data));
      const bound = 1 / Math.sqrt(In);
      const all = [...sd1.weight.data, ...sd1.bias.data];
      for (const v of all) expect(Math.abs(v)).toBeLessThanOrEqual(bound);
      if (all.length >= 100) {
        const maxAbs = Math.max(...all.map(Math.abs));
        const mean = all.reduce((s, v) => s + v, 0) / all.length;
        expect(maxAbs).toBeGreaterThan(0.9 * bound);
        expect(Math.abs(mean)).toBeLessThan(0.15 * bound);
        expect(all.some((v) => v < -0.5 * bound) && all.some((v) => v > 0.5 * bound)).toBe(true);
      }
    }
  });

  it("bad constructor options are LSTMErrors naming the option", () => {
    expectErr(() => new Linear({ inputSize: 0, outputSize: 2 }), "options.inputSize");
    expectErr(() => new Linear({ inputSize: 3, outputSize: 2.5 }), "options.outputSize");
    expectErr(() => new Linear({ inputSize: 3 } as any), "options.outputSize");
    expectErr(() => new Linear({ inputSize: 3, outputSize: 2, seed: -1 }), "options.seed");
    expectErr(() => new Linear({ inputSize: 3, outputSize: 2, bias: 0 } as any), "options.bias");
    expectErr(() => new Linear({ inputSize: 3, outputSize: 2, activation: "gelu" } as any), "options.activation");
    expectErr(() => new Linear(null as any), "options");
  });

  it("bad shapes in forward, backward and loadStateDict are LSTMErrors naming the argument, and change nothing", () => {
    const In = 5, O = 3, N = 2;
    const lin = new Linear({ inputSize: In, outputSize: O, seed: 9 });
    const before = lin.stateDict();
    const x = new Float32Array(N * In).fill(0.5);
    expectErr(() => lin.forward({ data: new Float32Array(N * (In + 1)), shape: [N, In + 1] }), "x");
    expectErr(() => lin.forward({ data: x, shape: [1, N, In] }), "x");
    expectErr(() => lin.forward(x), "x"); // flat data cannot say N
    expectErr(() => lin.forward({ data: x, shape: [N, In] }, { out: { data: new Float32Array(N * O), shape: [O, N] } }), "options.out");
    expectErr(() => lin.forward({ data: x, shape: [N, In] }, { training: true } as any), "options.training");
    lin.forward({ data: x, shape: [N, In] }, { train: true });
    expectErr(() => lin.backward({ data: new Float32Array(N * (O + 1)), shape: [N, O + 1] }), "dy");
    expectErr(() => lin.backward({ data: new Float32Array((N + 1) * O), shape: [N + 1, O] }), "dy");
    expect(lin.grads().weight.data.every((v) => v === 0)).toBe(true);

    expectErr(() => lin.loadStateDict({ weight: { data: new Float32Array(O * In), shape: [In, O] }, bias: new Float32Array(O) }), 'stateDict["weight"]');
    expectErr(() => lin.loadStateDict({ weight: { data: new Float32Array(O * In), shape: [O, In] } }), 'stateDict["bias"]');
    expectErr(() => lin.loadStateDict({ ...before, extra: new Float32Array(1) }), 'stateDict["extra"]');
    expectErr(() => lin.loadStateDict({ weight: { data: new Float32Array(O * In), shape: [O, In] }, bias: new Float32Array(O + 1) }), 'stateDict["bias"]');
    const after = lin.stateDict();
    expect(Array.from(after.weight.data)).toEqual(Array.from(before.weight.data));
    expect(Array.from(after.bias.data)).toEqual(Array.from(before.bias.data));
    lin.dispose();
  });

  it("backward without a training forward is an LSTMError naming backward: on a new layer, after an inference forward, after loadStateDict", () => {
    const In = 3, O = 2, N = 2;
    const dy = { data: new Float32Array(N * O).fill(1), shape: [N, O] };
    const x = { data: new Float32Array(N * In).fill(1), shape: [N, In] };
    const lin = new Linear({ inputSize: In, outputSize: O, seed: 1 });
    expectErr(() => lin.backward(dy), "backward");
    lin.forward(x);
    expectErr(() => lin.backward(dy), "backward");
    lin.forward(x, { train: true });
    expect(() => lin.backward(dy)).not.toThrow();
    lin.forward(x, { train: true });
    lin.loadStateDict(lin.stateDict());
    expectErr(() => lin.backward(dy), "backward");
    lin.dispose();
  });

  it("every method after dispose() is an LSTMError naming linear; a second dispose() is harmless", () => {
    const lin = new Linear({ inputSize: 3, outputSize: 2, seed: 1 });
    const x = { data: new Float32Array(6), shape: [2, 3] };
    lin.forward(x, { train: true });
    const sd = lin.stateDict();
    lin.dispose();
    expect(() => lin.dispose()).not.toThrow();
    expectErr(() => lin.forward(x), "linear");
    expectErr(() => lin.backward({ data: new Float32Array(4), shape: [2, 2] }), "linear");
    expectErr(() => lin.stateDict(), "linear");
    expectErr(() => lin.grads(), "linear");
    expectErr(() => lin.loadStateDict(sd), "linear");
    expectErr(() => lin.zeroGrad(), "linear");
    expectErr(() => lin.target, "linear");
  });
});
