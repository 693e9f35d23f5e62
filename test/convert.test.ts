// Layout converters: a model imported from each foreign layout must compute what that tool's own
// math computes (test/helpers/foreign.ts, float64 loops in the foreign layout), exports must feed
// those loops correctly, round trips are exact, and bad input is an LSTMError.
import { describe, it, expect } from "vitest";
import {
  LSTM, LSTMError, fromOnnx, toOnnx, fromKeras, toKeras, fromChainer, toChainer, fromBlocked, toBlocked,
  reorderGates, configFromStateDict, type Tensor,
} from "../src/index";
import { BUILDS, use } from "./helpers/backends";
import { mulberry32, refParamShapes, type RefConfig } from "./helpers/ref";
import { expectClose, TOL } from "./helpers/close";
import { onnxLstm, kerasLstm, blockedLstm } from "./helpers/foreign";

const gen = (seed: number) => {
  const r = mulberry32(seed);
  return (n: number, s = 0.6) => Float32Array.from({ length: n }, () => (2 * r() - 1) * s);
};
const T_ = (data: Float32Array, shape: number[]): Tensor => ({ data, shape });
const bits = (t: Tensor) => ({ shape: t.shape, bits: Array.from(new Uint32Array(t.data.buffer, t.data.byteOffset, t.data.length)) });
/** [n0,n1,w] → [n1,n0,w], for each of `outer` blocks. */
function swap01(a: ArrayLike<number>, outer: number, n0: number, n1: number, w: number): Float64Array {
  const out = new Float64Array(a.length);
  for (let o = 0; o < outer; o++) for (let i = 0; i < n0; i++) for (let j = 0; j < n1; j++) for (let k = 0; k < w; k++) {
    out[((o * n1 + j) * n0 + i) * w + k] = a[((o * n0 + i) * n1 + j) * w + k];
  }
  return out;
}
/** A random state dict with torch.nn.LSTM names (from the float64 reference's shape list). */
function randomDict(cfg: Omit<RefConfig, "lengths">, seed: number): Record<string, Tensor> {
  const rand = gen(seed);
  return Object.fromEntries(refParamShapes(cfg).map(([k, s]) => [k, T_(rand(s.reduce((a, b) => a * b, 1)), s)]));
}
function expectErr(fn: () => unknown, argument: string, text: string): void {
  let err: unknown;
  try { fn(); } catch (e) { err = e; }
  expect(err, `expected an LSTMError for ${argument}`).toBeInstanceOf(LSTMError);
  expect((err as LSTMError).argument).toBe(argument);
  expect((err as LSTMError).message).toContain(text);
}
const plain = { numLayers: 1, bidirectional: false, projSize: 0, peephole: false };

describe("reorderGates", () => {
  const v = T_(Float32Array.from({ length: 8 }, (_, k) => k), [8]); // H = 2: blocks [0,1] [2,3] [4,5] [6,7]
  it("permutes blocks of H (ifgo → iofc, ONNX's order)", () => {
    expect(Array.from(reorderGates(v, "ifgo", "iofc").data)).toEqual([0, 1, 6, 7, 2, 3, 4, 5]);
    expect(Array.from(reorderGates(v, "iofc", "ifgo").data)).toEqual([0, 1, 4, 5, 6, 7, 2, 3]);
  });
  it("reads and writes Chainer's per-unit interleaving", () => {
    // interleaved a,i,f,o: unit 0 at 0..3, unit 1 at 4..7 → blocked i,f,g,o
    expect(Array.from(reorderGates(v, "aifo", "ifgo", { fromInterleaved: true }).data)).toEqual([1, 5, 2, 6, 0, 4, 3, 7]);
    const back = reorderGates(reorderGates(v, "aifo", "ifgo", { fromInterleaved: true }), "ifgo", "aifo", { toInterleaved: true });
    expect(Array.from(back.data)).toEqual(Array.from(v.data));
  });
  it("works along any axis and round-trips exactly", () => {
    const t = T_(gen(1)(3 * 12 * 2), [3, 12, 2]);
    const there = reorderGates(t, "ifgo", "cfoi", { axis: -2 });
    expect(there.shape).toEqual([3, 12, 2]);
    expect(there.data[(1 * 12 + 0) * 2 + 1]).toBe(t.data[(1 * 12 + 6) * 2 + 1]); // c (= g) block first
    expect(bits(reorderGates(there, "cfoi", "ifgo", { axis: 1 }))).toEqual(bits(t));
  });
  it("refuses bad orders, axes and sizes", () => {
    expectErr(() => reorderGates(v, "ifgx", "ifgo"), "fromOrder", 'string "ifgx"');
    expectErr(() => reorderGates(v, "ifgo", "ifga"), "toOrder", 'string "ifga"'); // g and a are the same gate
    expectErr(() => reorderGates(v, "ifgo", "iofc", { axis: 1 }), "options.axis", "number 1");
    expectErr(() => reorderGates(T_(new Float32Array(6), [6]), "ifgo", "iofc"), "tensor", "shape [6]");
    expectErr(() => reorderGates(v, "ifgo", "iofc", { interleaved: true } as never), "options.interleaved", "an unknown option");
  });
});

describe("configFromStateDict", () => {
  const configs = [
    { inputSize: 3, hiddenSize: 4, ...plain },
    { inputSize: 5, hiddenSize: 6, numLayers: 3, bidirectional: true, projSize: 2, peephole: true },
    { inputSize: 2, hiddenSize: 3, numLayers: 2, bidirectional: false, projSize: 0, peephole: true },
  ];
  it.each(configs)("infers %o from names and shapes, also from flat arrays", (cfg) => {
    const d = randomDict(cfg, 3);
    expect(configFromStateDict(d)).toEqual({ ...cfg, bias: true });
    expect(configFromStateDict(Object.fromEntries(Object.entries(d).map(([k, t]) => [k, t.data])))).toEqual({ ...cfg, bias: true });
  });
  const base = () => randomDict({ inputSize: 3, hiddenSize: 4, numLayers: 2, bidirectional: true, projSize: 0, peephole: false }, 4);
  const cases: Array<[string, (d: Record<string, unknown>) => unknown, string, string]> = [
    ["a missing key", (d) => { delete d.bias_hh_l1_reverse; return d; }, 'stateDict["bias_hh_l1_reverse"]', "a missing key"],
    ["a stray key", (d) => ({ ...d, "lstm.weight_ih_l0": d.weight_ih_l0 }), 'stateDict["lstm.weight_ih_l0"]', "an unknown key"],
    ["a leading-zero layer number", (d) => ({ ...d, weight_ih_l01: d.weight_ih_l0 }), 'stateDict["weight_ih_l01"]', "an unknown key"],
    ["a gap in the layer numbers", (d) => Object.fromEntries(Object.entries(d).map(([k, v]) => [k.replace("_l1", "_l2"), v])), 'stateDict["weight_ih_l1"]', "without gaps"],
    ["no layer 0", (d) => Object.fromEntries(Object.entries(d).filter(([k]) => k.includes("_l1"))), 'stateDict["weight_ih_l0"]', "a missing key"],
    ["an empty dict", () => ({}), 'stateDict["weight_ih_l0"]', "a missing key"],
    ["a shape that disagrees", (d) => ({ ...d, weight_hh_l1: T_(new Float32Array(16 * 3), [16, 3]) }), 'stateDict["weight_hh_l1"]', "shape [16,3]"],
    ["layer 1 sized for another input", (d) => ({ ...d, weight_ih_l1: T_(new Float32Array(16 * 4), [16, 4]) }), 'stateDict["weight_ih_l1"]', "shape [16,4]"],
    ["a row count not a multiple of 4", (d) => ({ ...d, weight_ih_l0: T_(new Float32Array(15), [5, 3]) }), 'stateDict["weight_ih_l0"]', "multiple of 4"],
    ["weight_hh_l0 wider than H without weight_hr", (d) => ({ ...d, weight_hh_l0: T_(new Float32Array(16 * 5), [16, 5]) }), 'stateDict["weight_hh_l0"]', "no weight_hr"],
    ["one peephole of three", (d) => ({ ...d, peephole_i_l0: T_(new Float32Array(4), [4]) }), 'stateDict["peephole_f_l0"]', "a missing key"],
    ["a projection only in layer 1", (d) => ({ ...d, weight_hr_l1: T_(new Float32Array(8), [2, 4]) }), 'stateDict["weight_hh_l0"]', "projSize"],
    ["not an object", () => [1, 2], "stateDict", "an array"],
  ];
  it.each(cases)("refuses %s, naming the key", (_l, edit, argument, text) => expectErr(() => configFromStateDict(edit(base()) as never), argument, text));
});

const DIRS = ["forward", "reverse", "bidirectional"] as const;
const ONNX_CASES = DIRS.flatMap((direction) => [false, true].flatMap((withB) => [false, true].flatMap((withP) =>
  ([0, 1] as const).map((layout) => ({ direction, withB, withP, layout })))));

// ONNX's operator tests for LSTM (onnx/backend/test/case/node/lstm.py), rebuilt: the inputs as there,
// expected values computed in float64 from the same float32 inputs with ONNX's reference helper
// math (every unit of a batch row is equal, so one value per row).
const f = Math.fround;
const NODE_CASES = [
  { name: "test_lstm_defaults", X: [1, 2, 3, 4, 5, 6], xShape: [1, 3, 2], H: 3, w: f(0.1), layout: 0 as const,
    rows: [0.09524119016897253, 0.2560644385934645, 0.4032377408704137] },
  { name: "test_lstm_with_initial_bias", X: [1, 2, 3, 4, 5, 6, 7, 8, 9], xShape: [1, 3, 3], H: 4, w: f(0.1), layout: 0 as const, bias: f(0.1),
    rows: [0.2560644385934645, 0.5367277720473449, 0.6672132527955749] },
  { name: "test_lstm_with_peepholes", X: [1, 2, 3, 4, 5, 6, 7, 8], xShape: [1, 2, 4], H: 3, w: f(0.1), layout: 0 as const, bias: 0, peep: f(0.1),
    rows: [0.3750691009872421, 0.6801309411971165] },
  { name: "test_lstm_batchwise", X: [1, 2, 3, 4, 5, 6], xShape: [3, 1, 2], H: 7, w: f(0.3), layout: 1 as const,
    rows: [0.33369261422383995, 0.622393194331914, 0.7185789685000031] },
];

describe.each(BUILDS)("converters with a model on the %s build", (build) => {
  it.each(ONNX_CASES)("ONNX $direction, B $withB, P $withP, layout $layout: our forward = ONNX's equations", async ({ direction, withB, withP, layout }) => {
    await use(build);
    const T = 5, N = 3, I = 4, H = 3, D = direction === "bidirectional" ? 2 : 1, G = 4 * H;
    const rand = gen(7 + ONNX_CASES.findIndex((c) => c.direction === direction && c.withB === withB && c.withP === withP && c.layout === layout));
    const W = rand(D * G * I), R = rand(D * G * H), B = rand(D * 2 * G), P = rand(D * 3 * H);
    const X = rand(T * N * I, 1.5), hInit = rand(D * N * H), cInit = rand(D * N * H);
    const weights = { W: T_(W, [D, G, I]), R: T_(R, [D, G, H]), ...(withB ? { B: T_(B, [D, 2 * G]) } : {}), ...(withP ? { P: T_(P, [D, 3 * H]) } : {}) };
    const { config, stateDict } = fromOnnx(weights, { hiddenSize: H, direction, layout });
    expect(config).toEqual({ inputSize: I, hiddenSize: H, bidirectional: D === 2, reverse: direction === "reverse", peephole: withP, batchFirst: layout === 1 });
    const lstm = new LSTM(config);
    lstm.loadStateDict(stateDict);
    // ONNX states are [D,N,H] (layout 0) or [N,D,H] (layout 1); ours are always [D,N,H].
    const toOurs = (s: Float32Array) => Float32Array.from(layout === 0 ? s : swap01(s, 1, N, D, H));
    const out = lstm.forward(T_(X, layout === 0 ? [T, N, I] : [N, T, I]), { h0: T_(toOurs(hInit), [D, N, H]), c0: T_(toOurs(cInit), [D, N, H]) });
    const ref = onnxLstm({ X, W, R, B: withB ? B : undefined, P: withP ? P : undefined, initialH: hInit, initialC: cInit, T, N, I, H, direction, layout });
    // Our y [T,N,D·H] is ONNX's [T,D,N,H] with N and D swapped per step; [N,T,D,H] is the same memory.
    expectClose("Y", layout === 0 ? swap01(out.y.data, T, N, D, H) : out.y.data, ref.Y, TOL.out);
    expectClose("Y_h", layout === 0 ? out.hn.data : swap01(out.hn.data, 1, D, N, H), ref.Yh, TOL.out);
    expectClose("Y_c", layout === 0 ? out.cn.data : swap01(out.cn.data, 1, D, N, H), ref.Yc, TOL.out);
    lstm.dispose();
  });

  it.each(NODE_CASES)("ONNX node test $name", async (c) => {
    await use(build);
    const [n0, n1, I] = c.xShape, H = c.H, G = 4 * H;
    const [T, N] = c.layout === 0 ? [n0, n1] : [n1, n0];
    const X = Float32Array.from(c.X), W = new Float32Array(G * I).fill(c.w), R = new Float32Array(G * H).fill(c.w);
    const B = c.bias === undefined ? undefined : Float32Array.from({ length: 2 * G }, (_, k) => (k < G ? c.bias! : 0));
    const P = c.peep === undefined ? undefined : new Float32Array(3 * H).fill(c.peep);
    const Yh = c.rows.flatMap((v) => new Array(H).fill(v)); // Y_h [1,N,H] (layout 0) or [N,1,H] (layout 1): same memory
    const ref = onnxLstm({ X, W, R, B, P, T, N, I, H, direction: "forward", layout: c.layout });
    expectClose(`${c.name} own loop`, ref.Yh, Yh, TOL.f64);
    const { config, stateDict } = fromOnnx({ W: T_(W, [1, G, I]), R: T_(R, [1, G, H]), ...(B ? { B } : {}), ...(P ? { P } : {}) }, { hiddenSize: H, layout: c.layout });
    const lstm = new LSTM(config);
    lstm.loadStateDict(stateDict);
    const out = lstm.forward(T_(X, c.xShape));
    expectClose(`${c.name} Y_h`, out.hn.data, Yh, TOL.out);
    if (T === 1) expectClose(`${c.name} Y`, out.y.data, Yh, TOL.out); // one step: Y holds Y_h
    lstm.dispose();
  });

  it.each([
    { ...plain, bidirectional: true, peephole: true, reverse: false, batchFirst: false },
    { ...plain, reverse: true, batchFirst: true },
  ])("toOnnx of an LSTM feeds ONNX's equations (%o)", async (opts) => {
    await use(build);
    const T = 4, N = 2, I = 3, H = 5, D = opts.bidirectional ? 2 : 1, layout = opts.batchFirst ? 1 : 0;
    const lstm = new LSTM({ inputSize: I, hiddenSize: H, ...opts, seed: 21 });
    const { W, R, B, P } = toOnnx(lstm);
    expect(W.shape).toEqual([D, 4 * H, I]);
    expect(P === undefined).toBe(!opts.peephole);
    const X = gen(22)(T * N * I, 1.5);
    const out = lstm.forward(T_(X, layout ? [N, T, I] : [T, N, I]));
    const direction = opts.bidirectional ? "bidirectional" : opts.reverse ? "reverse" : "forward";
    const ref = onnxLstm({ X, W: W.data, R: R.data, B: B.data, P: P?.data, T, N, I, H, direction, layout: layout as 0 | 1 });
    expectClose("Y", layout ? out.y.data : swap01(out.y.data, T, N, D, H), ref.Y, TOL.out);
    lstm.dispose();
  });

  it("Keras: fromKeras gives Keras' output; toKeras feeds Keras' equations", async () => {
    await use(build);
    const N = 3, T = 6, I = 4, H = 5, G = 4 * H, rand = gen(31);
    const kernel = rand(I * G), rk = rand(H * G), bias = rand(G), x = rand(N * T * I, 1.5);
    const { config, stateDict } = fromKeras({ kernel: T_(kernel, [I, G]), recurrentKernel: T_(rk, [H, G]), bias });
    expect(config).toEqual({ inputSize: I, hiddenSize: H, bidirectional: false, reverse: false, peephole: false, batchFirst: true });
    const lstm = new LSTM(config);
    lstm.loadStateDict(stateDict);
    const out = lstm.forward(T_(x, [N, T, I])), ref = kerasLstm(x, kernel, rk, bias, N, T, I, H);
    expectClose("y", out.y.data, ref.y, TOL.out);
    expectClose("c", out.cn.data, ref.c, TOL.out);
    const other = new LSTM({ inputSize: I, hiddenSize: H, batchFirst: true, seed: 32 });
    const k = toKeras(other);
    expectClose("toKeras", other.forward(T_(x, [N, T, I])).y.data, kerasLstm(x, k.kernel.data, k.recurrentKernel.data, k.bias.data, N, T, I, H).y, TOL.out);
    lstm.dispose();
    other.dispose();
  });

  it.each([
    ["Chainer (interleaved a,i,f,o)", "aifo", true],
    ["blocked 'aifo' (np.hsplit)", "aifo", false],
    ["blocked 'ifco'", "ifco", false],
  ] as const)("%s: import gives its output; export feeds its equations", async (_label, order, interleaved) => {
    await use(build);
    const T = 5, N = 2, I = 3, H = 4, G = 4 * H, rand = gen(41);
    const W = rand(G * I), U = rand(G * H), b = rand(G), x = rand(T * N * I, 1.5);
    const imported = interleaved
      ? fromChainer({ upwardW: T_(W, [G, I]), upwardB: b, lateralW: T_(U, [G, H]) })
      : fromBlocked({ W: T_(W, [G, I]), U: T_(U, [G, H]), b }, { order });
    expect(imported.config).toEqual({ inputSize: I, hiddenSize: H, bidirectional: false, reverse: false, peephole: false, batchFirst: false });
    const lstm = new LSTM(imported.config);
    lstm.loadStateDict(imported.stateDict);
    const ref = blockedLstm(x, W, U, b, order.replace("c", "a"), interleaved, T, N, I, H);
    const out = lstm.forward(T_(x, [T, N, I]));
    expectClose("y", out.y.data, ref.y, TOL.out);
    expectClose("c", out.cn.data, ref.c, TOL.out);
    const other = new LSTM({ inputSize: I, hiddenSize: H, seed: 42 });
    const e = interleaved ? (({ upwardW, upwardB, lateralW }) => ({ W: upwardW, b: upwardB, U: lateralW }))(toChainer(other)) : toBlocked(other, { order });
    expectClose("export", other.forward(T_(x, [T, N, I])).y.data, blockedLstm(x, e.W.data, e.U.data, e.b.data, order.replace("c", "a"), interleaved, T, N, I, H).y, TOL.out);
    lstm.dispose();
    other.dispose();
  });
});

describe("round trips are exact", () => {
  it("ONNX: toOnnx(fromOnnx(w)) = w and fromOnnx(toOnnx(model)) = its state dict", () => {
    const H = 3, I = 2, G = 4 * H, rand = gen(51);
    const w = { W: T_(rand(2 * G * I), [2, G, I]), R: T_(rand(2 * G * H), [2, G, H]), B: T_(rand(4 * G), [2, 2 * G]), P: T_(rand(6 * H), [2, 3 * H]) };
    const imported = fromOnnx(w, { hiddenSize: H, direction: "bidirectional" });
    const back = toOnnx(imported.stateDict);
    for (const k of ["W", "R", "B", "P"] as const) expect(bits(back[k]!), k).toEqual(bits(w[k]));
    const dict = randomDict({ inputSize: I, hiddenSize: H, ...plain, peephole: true }, 52);
    const again = fromOnnx(toOnnx({ config: { reverse: true }, stateDict: dict }), { hiddenSize: H, direction: "reverse" });
    expect(again.config.reverse).toBe(true);
    for (const [k, t] of Object.entries(dict)) expect(bits(again.stateDict[k]), k).toEqual(bits(t));
    expect(Object.keys(again.stateDict).sort()).toEqual(Object.keys(dict).sort());
  });
  it("ONNX with flat Float32Arrays and no B: zero biases", () => {
    const H = 2, G = 8, rand = gen(53), W = rand(G * 3), R = rand(G * H);
    const { config, stateDict } = fromOnnx({ W, R }, { hiddenSize: H });
    expect(config.inputSize).toBe(3);
    expect(Array.from(stateDict.bias_ih_l0.data)).toEqual(new Array(G).fill(0));
    expect(bits(toOnnx(stateDict).W)).toEqual(bits(T_(W, [1, G, 3])));
  });
  it("Keras, Chainer, blocked: to(from(w)) = w; from(to(d)) keeps the weights and sums the biases", () => {
    const I = 3, H = 2, G = 8, rand = gen(54);
    const k = { kernel: T_(rand(I * G), [I, G]), recurrentKernel: T_(rand(H * G), [H, G]), bias: T_(rand(G), [G]) };
    const kb = toKeras(fromKeras(k).stateDict);
    for (const n of ["kernel", "recurrentKernel", "bias"] as const) expect(bits(kb[n]), n).toEqual(bits(k[n]));
    const c = { upwardW: T_(rand(G * I), [G, I]), upwardB: T_(rand(G), [G]), lateralW: T_(rand(G * H), [G, H]) };
    const cb = toChainer(fromChainer(c).stateDict);
    for (const n of ["upwardW", "upwardB", "lateralW"] as const) expect(bits(cb[n]), n).toEqual(bits(c[n]));
    const bl = { W: T_(rand(G * I), [G, I]), U: T_(rand(G * H), [G, H]), b: T_(rand(G), [G]) };
    const bb = toBlocked(fromBlocked(bl, { order: "cfoi" }).stateDict, { order: "cfoi" });
    for (const n of ["W", "U", "b"] as const) expect(bits(bb[n]), n).toEqual(bits(bl[n]));
    const d = randomDict({ inputSize: I, hiddenSize: H, ...plain }, 55);
    for (const again of [fromKeras(toKeras(d)), fromChainer(toChainer(d)), fromBlocked(toBlocked(d, { order: "aifo" }), { order: "aifo" })]) {
      expect(bits(again.stateDict.weight_ih_l0)).toEqual(bits(d.weight_ih_l0));
      expect(bits(again.stateDict.weight_hh_l0)).toEqual(bits(d.weight_hh_l0));
      expect(Array.from(again.stateDict.bias_ih_l0.data)).toEqual(Array.from(d.bias_ih_l0.data, (v, j) => Math.fround(v + d.bias_hh_l0.data[j])));
      expect(Array.from(again.stateDict.bias_hh_l0.data)).toEqual(new Array(G).fill(0));
    }
  });
  it("Keras and Chainer accept flat arrays, shaped from the bias", () => {
    const I = 3, H = 2, G = 8, rand = gen(56);
    expect(fromKeras({ kernel: rand(I * G), recurrentKernel: rand(H * G), bias: rand(G) }).config.inputSize).toBe(I);
    expect(fromKeras({ kernel: rand(I * G), recurrentKernel: rand(H * G) }).config.hiddenSize).toBe(H); // no bias: √(len/4)
    expect(fromChainer({ upwardW: rand(G * I), upwardB: rand(G), lateralW: rand(G * H) }).config.inputSize).toBe(I);
  });
});

describe("converter refusals", () => {
  const H = 2, G = 8, z = (n: number) => new Float32Array(n);
  const onnx = { W: T_(z(G * 3), [1, G, 3]), R: T_(z(G * H), [1, G, H]) };
  const big = randomDict({ inputSize: 3, hiddenSize: H, numLayers: 2, bidirectional: false, projSize: 0, peephole: false }, 61);
  const proj = randomDict({ inputSize: 3, hiddenSize: 3, numLayers: 1, bidirectional: false, projSize: 2, peephole: false }, 62);
  const bidir = randomDict({ inputSize: 3, hiddenSize: H, numLayers: 1, bidirectional: true, projSize: 0, peephole: false }, 63);
  const one = randomDict({ inputSize: 3, hiddenSize: H, ...plain }, 64);
  const cases: Array<[string, () => unknown, string, string]> = [
    ["ONNX W for another hidden size", () => fromOnnx({ ...onnx, W: T_(z(12 * 3), [1, 12, 3]) }, { hiddenSize: H }), "weights.W", "shape [1,12,3]"],
    ["ONNX R with the wrong width", () => fromOnnx({ ...onnx, R: T_(z(G * 3), [1, G, 3]) }, { hiddenSize: H }), "weights.R", "shape [1,8,3]"],
    ["ONNX one direction for bidirectional", () => fromOnnx(onnx, { hiddenSize: H, direction: "bidirectional" }), "weights.W", "shape [1,8,3]"],
    ["ONNX B of 4H", () => fromOnnx({ ...onnx, B: z(G) }, { hiddenSize: H }), "weights.B", "Float32Array(8)"],
    ["ONNX P of 4H", () => fromOnnx({ ...onnx, P: T_(z(G), [1, G]) }, { hiddenSize: H }), "weights.P", "shape [1,8]"],
    ["ONNX flat W of a bad length", () => fromOnnx({ ...onnx, W: z(7) }, { hiddenSize: H }), "weights.W", "Float32Array(7)"],
    ["ONNX empty input size", () => fromOnnx({ ...onnx, W: T_(z(0), [1, G, 0]) }, { hiddenSize: H }), "weights.W", "shape [1,8,0]"],
    ["ONNX direction", () => fromOnnx(onnx, { hiddenSize: H, direction: "both" as never }), "options.direction", 'string "both"'],
    ["ONNX layout", () => fromOnnx(onnx, { hiddenSize: H, layout: 2 as never }), "options.layout", "number 2"],
    ["ONNX hidden size", () => fromOnnx(onnx, { hiddenSize: 0 }), "options.hiddenSize", "number 0"],
    ["an unknown ONNX input", () => fromOnnx({ ...onnx, Bias: z(16) } as never, { hiddenSize: H }), "weights.Bias", "an unknown key"],
    ["toOnnx of 2 layers", () => toOnnx(big), "model.config.numLayers", "number 2"],
    ["toOnnx with a projection", () => toOnnx(proj), "model.config.projSize", "number 2"],
    ["a config that contradicts the dict", () => toOnnx({ config: { hiddenSize: 5 }, stateDict: one }), "model.config.hiddenSize", "number 5"],
    ["a broken dict in toOnnx", () => toOnnx({ ...one, bias_hh_l0: z(3) }), 'stateDict["bias_hh_l0"]', "Float32Array(3)"],
    ["Keras kernel for another hidden size", () => fromKeras({ kernel: T_(z(3 * 12), [3, 12]), recurrentKernel: T_(z(H * G), [H, G]) }), "weights.kernel", "shape [3,12]"],
    ["Keras recurrent kernel not [H,4H]", () => fromKeras({ kernel: T_(z(3 * G), [3, G]), recurrentKernel: T_(z(G * H), [G, H]) }), "weights.recurrentKernel", "shape [8,2]"],
    ["Keras flat arrays with no size", () => fromKeras({ kernel: z(24), recurrentKernel: z(10) }), "weights.recurrentKernel", "Float32Array(10)"],
    ["toKeras of a bidirectional dict", () => toKeras(bidir), "model", "a bidirectional model"],
    ["toKeras of a reverse model", () => toKeras({ config: { reverse: true }, stateDict: one }), "model", "a reverse model"],
    ["toChainer of 2 layers", () => toChainer(big), "model", "2 layers"],
    ["Chainer upward bias of 3H", () => fromChainer({ upwardW: T_(z(G * 3), [G, 3]), upwardB: z(6), lateralW: T_(z(G * H), [G, H]) }), "weights.upwardB", "Float32Array(6)"],
    ["a blocked order with a repeated gate", () => fromBlocked({ W: z(24), U: z(16), b: z(8) }, { order: "aiff" }), "options.order", 'string "aiff"'],
    ["a blocked U of the wrong width", () => fromBlocked({ W: T_(z(24), [G, 3]), U: T_(z(24), [G, 3]), b: z(8) }, { order: "ifgo" }), "weights.U", "shape [8,3]"],
    ["toBlocked with peepholes", () => toBlocked(randomDict({ inputSize: 2, hiddenSize: H, ...plain, peephole: true }, 65), { order: "ifgo" }), "model", "peepholes"],
  ];
  it.each(cases)("refuses %s", (_l, fn, argument, text) => expectErr(fn, argument, text));
});
