// Misuse of the public API: every case throws an LSTMError naming the argument and what was
// received, and no failed call disturbs the model.
import { describe, it, expect, beforeAll } from "vitest";
import { LSTM, LSTMError, clipGradNorm, clipGradValue, type LSTMOptions, type Tensor } from "../src/index";
import { backend } from "../src/wasm/backend";
import { use } from "./helpers/backends";
import { mulberry32 } from "./helpers/ref";

/** Asserts `fn` throws an LSTMError for `argument` whose message mentions `received`. */
function expectErr(fn: () => unknown, argument: string, received: string): LSTMError {
  let err: unknown = null;
  try { fn(); } catch (e) { err = e; }
  expect(err, `expected a throw for ${argument}`).toBeInstanceOf(LSTMError);
  const e = err as LSTMError;
  expect(e.argument).toBe(argument);
  expect(e.message).toBe(`${argument}: expected ${e.expected}, received ${e.received}`);
  expect(e.received).toContain(received);
  expect(e.message).toContain(received);
  expect(e.name).toBe("LSTMError");
  return e;
}

const any = (v: unknown) => v as any;
const rand = (n: number, seed: number) => { const r = mulberry32(seed); return Float32Array.from({ length: n }, () => 2 * r() - 1); };
const T = 4, B = 3, I = 5, H = 6;
const x = (): Tensor => ({ data: rand(T * B * I, 7), shape: [T, B, I] });
const nested = (t: number, b: number, i: number) => Array.from({ length: t }, () => Array.from({ length: b }, () => new Array(i).fill(0.5)));

beforeAll(async () => { await use("simd"); });

describe("constructor errors", () => {
  const base: LSTMOptions = { inputSize: 3, hiddenSize: 4 };
  const bad: Array<[string, unknown, string, string]> = [];
  for (const key of ["inputSize", "hiddenSize"] as const) {
    bad.push([`missing ${key}`, undefined, `options.${key}`, "undefined"]);
    for (const [label, v, got] of [["zero", 0, "number 0"], ["negative", -2, "number -2"], ["fractional", 2.5, "number 2.5"],
      ["NaN", NaN, "number NaN"], ["string", "4", 'string "4"']] as const) bad.push([`${label} ${key}`, v, `options.${key}`, got]);
  }
  it.each(bad)("rejects %s", (_label, v, argument, got) => {
    const key = argument.slice("options.".length);
    const opts: any = { ...base, [key]: v };
    if (v === undefined) delete opts[key];
    expectErr(() => new LSTM(opts), argument, got);
  });

  it("rejects numLayers 0, projSize >= hiddenSize and a non-boolean bidirectional", () => {
    expectErr(() => new LSTM({ ...base, numLayers: 0 }), "options.numLayers", "number 0");
    expectErr(() => new LSTM({ ...base, projSize: 4 }), "options.projSize", "number 4");
    expectErr(() => new LSTM({ ...base, projSize: 9 }), "options.projSize", "number 9");
    expectErr(() => new LSTM({ ...base, projSize: -1 }), "options.projSize", "number -1");
    expectErr(() => new LSTM({ ...base, bidirectional: any(1) }), "options.bidirectional", "number 1");
    expectErr(() => new LSTM({ ...base, reverse: true, bidirectional: true }), "options.reverse", "true");
    const rev = new LSTM({ ...base, reverse: true, seed: 1 });
    expectErr(() => rev.step([[1, 2, 3]], rev.initialState(1)), "step", "a reverse model");
    rev.dispose();
    expectErr(() => new LSTM({ ...base, peephole: any("yes") }), "options.peephole", 'string "yes"');
    expectErr(() => new LSTM({ ...base, seed: -1 }), "options.seed", "number -1");
  });

  it("rejects an unknown option key and options that are not an object", () => {
    const e = expectErr(() => new LSTM(any({ inputSize: 3, hiddenSzie: 4 })), "options.hiddenSzie", "an unknown option");
    expect(e.expected).toContain("hiddenSize");
    expectErr(() => new LSTM(any(undefined)), "options", "undefined");
    expectErr(() => new LSTM(any(null)), "options", "null");
    expectErr(() => new LSTM(any(8)), "options", "number 8");
    expectErr(() => new LSTM(any([3, 4])), "options", "an array of length 2");
  });

  it("refuses a model too large for wasm32 without growing memory", () => {
    const be = backend(), inUse = be.arena.inUse, bytes = be.k.memory.buffer.byteLength;
    expectErr(() => new LSTM({ inputSize: 1e6, hiddenSize: 1e5 }), "parameters", "bytes");
    expect(be.arena.inUse).toBe(inUse);
    expect(be.k.memory.buffer.byteLength).toBe(bytes);
  });
});

describe("model misuse", () => {
  let m: LSTM, before: { y: Float32Array; hn: Float32Array; cn: Float32Array }, dict: Record<string, Tensor>;
  const opts = { h0: { data: rand(B * H, 1), shape: [1, B, H] }, c0: { data: rand(B * H, 2), shape: [1, B, H] }, lengths: [4, 2, 3] };
  beforeAll(() => {
    m = new LSTM({ inputSize: I, hiddenSize: H, seed: 3 });
    const r = m.forward(x(), opts);
    before = { y: r.y.data, hn: r.hn.data, cn: r.cn.data };
    dict = m.stateDict();
  });

  it("forward rejects bad x", () => {
    expectErr(() => m.forward({ data: rand(T * B * 4, 1), shape: [T, B, 4] }), "x", "shape [4,3,4]");
    expectErr(() => m.forward(nested(T, B, I + 1)), "x", "shape [4,3,6]");
    expectErr(() => m.forward(nested(T, B, I)[0]), "x", "shape [3,5]"); // rank 2
    expectErr(() => m.forward([nested(T, B, I)]), "x", "shape [1,4,3,5]"); // rank 4
    const ragged: any = nested(T, B, I); ragged[2][1] = [1, 2];
    expectErr(() => m.forward(ragged), "x", "an array of length 2 at depth 2");
    const ragged2: any = nested(T, B, I); ragged2[3] = ragged2[3].slice(1);
    expectErr(() => m.forward(ragged2), "x", "an array of length 2 at depth 1");
    expectErr(() => m.forward(rand(T * B * I, 1)), "x", "Float32Array(60)");
    expectErr(() => m.forward(rand(T * B * I, 1), { seqLen: T }), "x", "Float32Array(60)");
    expectErr(() => m.forward(rand(T * B * I - 1, 1), { seqLen: T, batch: B }), "x", "Float32Array(59)");
    expectErr(() => m.forward(new Array(T * B * I + 5).fill(0), { seqLen: T, batch: B }), "x", "an array of length 65");
    expectErr(() => m.forward(any(new Float64Array(T * B * I)), { seqLen: T, batch: B }), "x", "Float64Array(60)");
    expectErr(() => m.forward(any(new Int32Array(T * B * I)), { seqLen: T, batch: B }), "x", "Int32Array(60)");
    expectErr(() => m.forward(any("abc")), "x", 'string "abc"');
    expectErr(() => m.forward(any(null)), "x", "null");
    expectErr(() => m.forward(any(undefined)), "x", "undefined");
    const flat: any[] = new Array(T * B * I).fill(0); flat[5] = "1";
    expectErr(() => m.forward(flat, { seqLen: T, batch: B }), "x[5]", 'string "1"');
    const deep: any = nested(T, B, I); deep[1][2][3] = [1];
    expectErr(() => m.forward(deep), "x", "an array of length 1");
    expectErr(() => m.forward({ data: any(new Float64Array(60)), shape: [T, B, I] }), "x.data", "Float64Array(60)");
    expectErr(() => m.forward({ data: rand(60, 1), shape: [T, B, 4] }), "x", "Float32Array(60)");
  });

  it("forward rejects bad h0/c0, lengths and options", () => {
    expectErr(() => m.forward(x(), { h0: { data: rand(2 * H, 1), shape: [1, 2, H] } }), "options.h0", "shape [1,2,6]");
    expectErr(() => m.forward(x(), { c0: nested(1, B, H + 1) }), "options.c0", "shape [1,3,7]");
    expectErr(() => m.forward(x(), { c0: nested(2, B, H) }), "options.c0", "shape [2,3,6]");
    expectErr(() => m.forward(x(), { lengths: [4, 4] }), "options.lengths", "2 lengths");
    expectErr(() => m.forward(x(), { lengths: [4, 0, 4] }), "options.lengths[1]", "number 0");
    expectErr(() => m.forward(x(), { lengths: [4, 4, 5] }), "options.lengths[2]", "number 5");
    expectErr(() => m.forward(x(), { lengths: [1.5, 4, 4] }), "options.lengths[0]", "number 1.5");
    expectErr(() => m.forward(x(), { lengths: [4, NaN, 4] }), "options.lengths[1]", "number NaN");
    expectErr(() => m.forward(x(), { lengths: any(3) }), "options.lengths", "number 3");
    expectErr(() => m.forward(x(), { lengths: any("443") }), "options.lengths", 'string "443"');
    expectErr(() => m.forward(x(), any({ lenghts: [4, 4, 4] })), "options.lenghts", "an unknown option");
    expectErr(() => m.forward(x(), any(null)), "options", "null");
    expectErr(() => m.forward(x(), { train: any(1) }), "options.train", "number 1");
    expectErr(() => m.forward(x(), { returnGates: any("yes") }), "options.returnGates", 'string "yes"');
    expectErr(() => m.forward(rand(60, 1), { seqLen: 0, batch: B }), "options.seqLen", "number 0");
    expectErr(() => m.forward(rand(60, 1), { seqLen: T, batch: 2.5 }), "options.batch", "number 2.5");
  });

  it("backward needs a training forward and dy shaped like y", () => {
    const fresh = new LSTM({ inputSize: I, hiddenSize: H, seed: 3 });
    expectErr(() => fresh.backward(), "backward", "no training forward");
    fresh.forward(x());
    expectErr(() => fresh.backward(), "backward", "no training forward");
    fresh.forward(x(), { train: true });
    expectErr(() => fresh.backward({ dy: { data: rand(T * B * I, 1), shape: [T, B, I] } }), "gradients.dy", "shape [4,3,5]");
    expectErr(() => fresh.backward({ dy: nested(T + 1, B, H) }), "gradients.dy", "shape [5,3,6]");
    expectErr(() => fresh.backward({ dhn: nested(1, 2, H) }), "gradients.dhn", "shape [1,2,6]");
    expectErr(() => fresh.backward({ dcn: rand(7, 1) }), "gradients.dcn", "Float32Array(7)");
    expectErr(() => fresh.backward(any({ dx: [] })), "gradients.dx", "an unknown option");
    expect(fresh.grads().weight_ih_l0.data.every((v) => v === 0)).toBe(true); // nothing was added
    expect(() => fresh.backward()).not.toThrow(); // the cache survived the refusals
    // New weights invalidate activations saved under the old ones (PyTorch refuses this too).
    fresh.loadStateDict(fresh.stateDict());
    expectErr(() => fresh.backward(), "backward", "weights were loaded");
    fresh.dispose();
  });

  it("every method throws after dispose(), naming the model", () => {
    const d = new LSTM({ inputSize: I, hiddenSize: H, seed: 3 });
    d.forward(x(), { train: true });
    const st = d.initialState(B), sd = d.stateDict();
    d.dispose();
    const calls: Array<[string, () => unknown]> = [
      ["forward", () => d.forward(x())], ["backward", () => d.backward()], ["step", () => d.step(nested(1, B, I)[0], st)],
      ["initialState", () => d.initialState(1)], ["stateDict", () => d.stateDict()], ["loadStateDict", () => d.loadStateDict(sd)],
      ["grads", () => d.grads()], ["zeroGrad", () => d.zeroGrad()], ["clipGradNorm", () => d.clipGradNorm(1)],
    ];
    for (const [name, call] of calls) {
      const e = expectErr(call, "lstm", "a disposed model");
      expect(e.message, name).toContain("disposed");
    }
  });

  it("step rejects a bidirectional model and bad states", () => {
    const bi = new LSTM({ inputSize: I, hiddenSize: H, bidirectional: true, seed: 1 });
    expectErr(() => bi.step(nested(1, B, I)[0], bi.initialState(B)), "step", "a bidirectional model");
    bi.dispose();
    const xt = nested(1, B, I)[0], st = m.initialState(B);
    expectErr(() => m.step(xt, { h: { data: new Float32Array(B * (H + 1)), shape: [1, B, H + 1] }, c: st.c }), "state.h", "shape [1,3,7]");
    expectErr(() => m.step(xt, { h: st.h, c: { data: new Float32Array(2 * H), shape: [1, 2, H] } }), "state.c", "shape [1,2,6]");
    expectErr(() => m.step(xt, { h: st.h, c: { data: new Float32Array(5), shape: [1, B, H] } }), "state.c", "Float32Array(5)");
    expectErr(() => m.step(xt, any({})), "state.h", "undefined");
    expectErr(() => m.step(xt, any({ h: nested(1, B, H), c: nested(1, B, H) })), "state.h", "an array of length 1");
    expectErr(() => m.step(xt, any(null)), "state", "null");
    expectErr(() => m.step(nested(1, 2, I)[0], st), "xt", "shape [2,5]");
    expect(st.h.data.every((v) => v === 0) && st.c.data.every((v) => v === 0)).toBe(true); // untouched
    expectErr(() => m.initialState(0), "batch", "number 0");
  });

  it("loadStateDict rejects missing, unknown and misshapen keys and non-objects", () => {
    const sd = m.stateDict();
    const { bias_hh_l0: _gone, ...missing } = sd;
    expectErr(() => m.loadStateDict(missing), 'stateDict["bias_hh_l0"]', "a missing key");
    expectErr(() => m.loadStateDict({ ...sd, weight_hr_l0: sd.bias_hh_l0 }), 'stateDict["weight_hr_l0"]', "an unknown key");
    expectErr(() => m.loadStateDict({ ...sd, weight_hh_l0: { data: new Float32Array(4 * H * H), shape: [H, 4 * H] } }),
      'stateDict["weight_hh_l0"]', "shape [6,24]");
    expectErr(() => m.loadStateDict({ ...sd, bias_ih_l0: new Float32Array(4 * H + 1) }), 'stateDict["bias_ih_l0"]', "Float32Array(25)");
    expectErr(() => m.loadStateDict(any(null)), "stateDict", "null");
    expectErr(() => m.loadStateDict(any([sd.bias_ih_l0])), "stateDict", "an array of length 1");
    expectErr(() => m.loadStateDict(any("weights")), "stateDict", 'string "weights"');
  });

  it("clipGradNorm and clipGradValue reject bad thresholds and tensor lists", () => {
    for (const [v, got] of [[-1, "number -1"], [NaN, "number NaN"], ["1", 'string "1"']] as const) {
      expectErr(() => m.clipGradNorm(any(v)), "maxNorm", got);
      expectErr(() => clipGradNorm([new Float32Array(3)], any(v)), "maxNorm", got);
      expectErr(() => clipGradValue([new Float32Array(3)], any(v)), "clipValue", got);
    }
    const ok = new Float32Array([5, -5]);
    expectErr(() => clipGradValue(any([ok, [1, 2]]), 1), "tensors[1]", "an array of length 2");
    expectErr(() => clipGradValue(any([ok, null]), 1), "tensors[1]", "null");
    expectErr(() => clipGradValue(any({ a: ok, b: new Float64Array(2) }), 1), 'tensors["b"]', "Float64Array(2)");
    expectErr(() => clipGradNorm(any([{ data: [1], shape: [1] }]), 1), "tensors[0].data", "an array of length 1");
    expectErr(() => clipGradValue(any(null), 1), "tensors", "null");
    expect(Array.from(ok)).toEqual([5, -5]); // a refused list is left alone
  });

  it("after every refused call the model's outputs and weights are bit-identical", () => {
    const r = m.forward(x(), opts);
    expect(r.y.data).toEqual(before.y);
    expect(r.hn.data).toEqual(before.hn);
    expect(r.cn.data).toEqual(before.cn);
    expect(m.stateDict()).toEqual(dict);
  });
});
