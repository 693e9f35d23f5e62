// The public API's contracts beyond numerics: parameter naming and loading, seeded init, ownership
// of returned tensors, memory, gradient accumulation/clipping, batchFirst, flat input, padding.
import { describe, it, expect, beforeAll } from "vitest";
import { LSTM, LSTMError, type LSTMOptions, type Tensor } from "../src/index";
import { backend } from "../src/wasm/backend";
import { use } from "./helpers/backends";
import { mulberry32 } from "./helpers/ref";

const rand = (n: number, seed: number) => { const r = mulberry32(seed); return Float32Array.from({ length: n }, () => 2 * r() - 1); };
const t = (shape: number[], seed: number): Tensor => ({ data: rand(shape.reduce((a, b) => a * b, 1), seed), shape });
const sumSq = (d: Record<string, Tensor>) => Object.values(d).reduce((s, v) => s + v.data.reduce((a, x) => a + x * x, 0), 0);
const cloneDict = (d: Record<string, Tensor>) => Object.fromEntries(Object.entries(d).map(([k, v]) => [k, { data: v.data.slice(), shape: v.shape.slice() }]));

/** [A,B,W] -> [B,A,W]. */
function swap01(x: Tensor): Tensor {
  const [A, B, W] = x.shape, out = new Float32Array(x.data.length);
  for (let a = 0; a < A; a++) for (let b = 0; b < B; b++) out.set(x.data.subarray((a * B + b) * W, (a * B + b + 1) * W), (b * A + a) * W);
  return { data: out, shape: [B, A, W] };
}

beforeAll(async () => { await use("simd"); });

describe("stateDict", () => {
  const cfg: LSTMOptions = { inputSize: 3, hiddenSize: 5, numLayers: 2, bidirectional: true, projSize: 2, peephole: true };

  it("has torch.nn.LSTM's names, shapes and order (2 layers, bidirectional, projSize, peepholes)", () => {
    const m = new LSTM({ ...cfg, seed: 1 });
    const want: Array<[string, number[]]> = [];
    for (const s of ["_l0", "_l0_reverse", "_l1", "_l1_reverse"]) {
      const In = s.startsWith("_l0") ? 3 : 4; // layer 1 reads both directions' h: 2 * projSize
      want.push([`weight_ih${s}`, [20, In]], [`weight_hh${s}`, [20, 2]], [`bias_ih${s}`, [20]], [`bias_hh${s}`, [20]],
        [`weight_hr${s}`, [2, 5]], [`peephole_i${s}`, [5]], [`peephole_f${s}`, [5]], [`peephole_o${s}`, [5]]);
    }
    const sd = m.stateDict();
    expect(Object.entries(sd).map(([k, v]) => [k, v.shape])).toEqual(want);
    for (const [k, v] of Object.entries(sd)) expect(v.data.length, k).toBe(v.shape.reduce((a, b) => a * b, 1));
    expect(Object.keys(m.grads())).toEqual(want.map(([k]) => k));
    m.dispose();
  });

  it("round-trips: loadStateDict(stateDict()) leaves outputs identical, and carries a model over", () => {
    const a = new LSTM({ ...cfg, seed: 1 }), b = new LSTM({ ...cfg, seed: 2 });
    const x = t([4, 3, 3], 5), opts = { lengths: [4, 1, 3] };
    const y0 = a.forward(x, opts);
    a.loadStateDict(a.stateDict());
    expect(a.forward(x, opts)).toEqual(y0);
    expect(b.forward(x, opts).y.data).not.toEqual(y0.y.data);
    const reversed = Object.fromEntries(Object.entries(a.stateDict()).reverse()); // loads by name, not order
    b.loadStateDict(reversed);
    expect(b.stateDict()).toEqual(a.stateDict());
    expect(b.forward(x, opts)).toEqual(y0);
    a.dispose(); b.dispose();
  });

  it("loadStateDict is atomic: a dict valid except its last entry changes nothing", () => {
    const a = new LSTM({ ...cfg, seed: 1 }), other = new LSTM({ ...cfg, seed: 9 }).stateDict();
    const before = a.stateDict(), keys = Object.keys(other), last = keys[keys.length - 1];
    other[last] = { data: new Float32Array(6), shape: [6] };
    expect(() => a.loadStateDict(other)).toThrow(LSTMError);
    expect(a.stateDict()).toEqual(before);
    a.dispose();
  });
});

describe("seeded initialisation", () => {
  const cfg: LSTMOptions = { inputSize: 16, hiddenSize: 64, numLayers: 2, bidirectional: true };
  const flat = (m: LSTM) => Float32Array.from(Object.values(m.stateDict()).flatMap((v) => Array.from(v.data)));

  it("the same seed gives bit-identical parameters, another seed different ones", () => {
    const a = new LSTM({ ...cfg, seed: 42 }), b = new LSTM({ ...cfg, seed: 42 }), c = new LSTM({ ...cfg, seed: 43 });
    expect(b.stateDict()).toEqual(a.stateDict());
    const fa = flat(a), fc = flat(c);
    let same = 0;
    for (let i = 0; i < fa.length; i++) if (fa[i] === fc[i]) same++;
    expect(same).toBeLessThan(fa.length / 100);
    const d = new LSTM({ ...cfg }), e = new LSTM({ ...cfg }); // unseeded: random
    expect(flat(d)).not.toEqual(flat(e));
    for (const m of [a, b, c, d, e]) m.dispose();
  });

  it("every value lies in [-1/sqrt(H), 1/sqrt(H)], centred and spread evenly over it", () => {
    const m = new LSTM({ ...cfg, seed: 7 }), v = flat(m), k = 1 / Math.sqrt(64);
    let min = Infinity, max = -Infinity, sum = 0;
    const bins = new Array(10).fill(0);
    for (const x of v) {
      min = Math.min(min, x); max = Math.max(max, x); sum += x;
      bins[Math.min(9, Math.floor(((x + k) / (2 * k)) * 10))]++;
    }
    expect(min).toBeGreaterThanOrEqual(-k);
    expect(max).toBeLessThanOrEqual(k);
    expect(min).toBeLessThan(-0.9 * k);
    expect(max).toBeGreaterThan(0.9 * k);
    expect(Math.abs(sum / v.length)).toBeLessThan(0.02 * k);
    for (const n of bins) expect(Math.abs(n / v.length - 0.1)).toBeLessThan(0.01);
    m.dispose();
  });
});

describe("returned tensors belong to the caller", () => {
  it("outputs are not views: mutating them or running again leaves earlier results alone", () => {
    const m = new LSTM({ inputSize: 3, hiddenSize: 4, numLayers: 2, seed: 1 });
    const x = t([5, 2, 3], 1), xCopy = x.data.slice(), h0 = t([2, 2, 4], 2), h0Copy = h0.data.slice();
    const r1 = m.forward(x, { h0, returnGates: true, train: true });
    const snap = structuredClone(r1);
    expect(x.data).toEqual(xCopy); // inputs are not written either
    expect(h0.data).toEqual(h0Copy);
    m.forward(t([7, 3, 3], 3), { train: true, returnGates: true });
    m.step(t([2, 3], 4), m.initialState(2));
    expect(r1).toEqual(snap);
    r1.y.data.fill(9); r1.hn.data.fill(9); r1.cn.data.fill(9); r1.gates!.l0.i.data.fill(9);
    expect(m.forward(x, { h0, returnGates: true })).toEqual(snap);

    m.forward(x, { h0, train: true });
    const b1 = m.backward({ dy: t([5, 2, 4], 5) }), bSnap = structuredClone(b1);
    m.forward(t([7, 3, 3], 3), { train: true });
    m.backward({ dy: t([7, 3, 4], 6) });
    expect(b1).toEqual(bSnap);
    m.dispose();
  });

  it("stateDict() and grads() are copies", () => {
    const m = new LSTM({ inputSize: 3, hiddenSize: 4, projSize: 2, seed: 1 });
    const sd = m.stateDict(), keep = cloneDict(sd);
    for (const v of Object.values(sd)) v.data.fill(3);
    sd.weight_ih_l0.shape[0] = 99;
    expect(m.stateDict()).toEqual(keep);
    m.forward(t([3, 2, 3], 1), { train: true });
    m.backward({ dy: t([3, 2, 2], 2) });
    const g = m.grads(), gKeep = cloneDict(g);
    for (const v of Object.values(g)) v.data.fill(3);
    expect(m.grads()).toEqual(gKeep);
    m.dispose();
  });
});

describe("memory", () => {
  it("dispose twice is harmless", () => {
    const m = new LSTM({ inputSize: 3, hiddenSize: 4, seed: 1 });
    const use0 = backend().arena.inUse;
    m.dispose();
    const use1 = backend().arena.inUse;
    expect(use1).toBeLessThan(use0);
    expect(() => m.dispose()).not.toThrow();
    expect(backend().arena.inUse).toBe(use1);
  });

  it("300 create/forward/backward/step/dispose cycles neither leak arena blocks nor grow memory", () => {
    const cycle = (i: number) => {
      const m = new LSTM({ inputSize: 6, hiddenSize: 8, numLayers: 2, projSize: 4, peephole: true, seed: i });
      m.forward(t([6, 3, 6], i), { train: true, returnGates: true, lengths: [6, 2, 5] });
      m.backward({ dy: t([6, 3, 4], i + 1) });
      m.forward(t([6, 3, 6], i));
      m.step(t([3, 6], i), m.initialState(3));
      m.clipGradNorm(0.5);
      m.dispose();
    };
    const k = backend().k, arena = backend().arena, start = arena.inUse;
    cycle(0);
    expect(arena.inUse).toBe(start); // dispose() returns every block
    const inUse = arena.inUse, bytes = k.memory.buffer.byteLength;
    for (let i = 1; i <= 300; i++) {
      cycle(i);
      if (arena.inUse !== inUse || k.memory.buffer.byteLength !== bytes) {
        throw new Error(`cycle ${i}: inUse ${arena.inUse} (was ${inUse}), memory ${k.memory.buffer.byteLength} (was ${bytes})`);
      }
    }
  });
});

describe("gradients", () => {
  const cfg: LSTMOptions = { inputSize: 3, hiddenSize: 5, numLayers: 2, bidirectional: true, projSize: 3, peephole: true, seed: 4 };
  const x = t([6, 2, 3], 1), dy = t([6, 2, 6], 2), dhn = t([4, 2, 3], 3), dcn = t([4, 2, 5], 4);

  it("accumulate: two backward() calls give exactly twice one, and zeroGrad() zeroes them", () => {
    const m = new LSTM(cfg);
    m.forward(x, { train: true, lengths: [6, 4] });
    const r1 = m.backward({ dy, dhn, dcn }), g1 = m.grads();
    const r2 = m.backward({ dy, dhn, dcn }), g2 = m.grads();
    expect(r2).toEqual(r1); // backward is repeatable: the cache is read-only
    // Kernels add each step into the buffers, so rounding differs: 1e-6 of the tensor's largest entry.
    for (const [k, v] of Object.entries(g1)) {
      const scale = v.data.reduce((s, a) => Math.max(s, Math.abs(a)), 0);
      expect(scale, k).toBeGreaterThan(0);
      for (let i = 0; i < v.data.length; i++) {
        expect(Math.abs(g2[k].data[i] - 2 * v.data[i]), `${k}[${i}]`).toBeLessThanOrEqual(1e-6 * Math.max(Math.abs(2 * v.data[i]), scale));
      }
    }
    m.zeroGrad();
    for (const v of Object.values(m.grads())) expect(v.data.every((a) => a === 0)).toBe(true);
    m.backward({ dy, dhn, dcn });
    expect(m.grads()).toEqual(g1); // from zero again, one backward is bit-identical to the first
    m.dispose();
  });

  it("clipGradNorm returns sqrt(sum of squares of grads()) and scales to maxNorm only when above it", () => {
    const m = new LSTM(cfg);
    m.forward(x, { train: true });
    m.backward({ dy, dhn, dcn });
    const g = m.grads(), norm = Math.sqrt(sumSq(g));
    expect(m.clipGradNorm(norm * 2)).toBeCloseTo(norm, 10);
    expect(m.grads()).toEqual(g); // below the threshold: untouched
    expect(Math.abs(m.clipGradNorm(norm / 4) - norm)).toBeLessThanOrEqual(1e-9 * norm);
    const c = m.grads();
    expect(Math.abs(Math.sqrt(sumSq(c)) - norm / 4)).toBeLessThanOrEqual(1e-5 * norm);
    for (const [k, v] of Object.entries(g)) {
      for (let i = 0; i < v.data.length; i++) expect(Math.abs(c[k].data[i] - v.data[i] / 4)).toBeLessThanOrEqual(1e-6 * norm);
    }
    m.zeroGrad();
    expect(m.clipGradNorm(1)).toBe(0);
    m.dispose();
  });
});

describe("input layouts", () => {
  it("batchFirst gives the [B,T] transpose of the time-major y and dx, and the same hn/cn", () => {
    const cfg: LSTMOptions = { inputSize: 3, hiddenSize: 4, numLayers: 2, bidirectional: true, seed: 1 };
    const tm = new LSTM(cfg), bf = new LSTM({ ...cfg, batchFirst: true, seed: 2 });
    bf.loadStateDict(tm.stateDict());
    const x = t([5, 3, 3], 1), h0 = t([4, 3, 4], 2), c0 = t([4, 3, 4], 3), lengths = [5, 2, 4];
    const a = tm.forward(x, { h0, c0, lengths, train: true });
    const b = bf.forward(swap01(x), { h0, c0, lengths, train: true });
    expect(b.y).toEqual(swap01(a.y));
    expect(b.hn).toEqual(a.hn);
    expect(b.cn).toEqual(a.cn);
    const dy = t([5, 3, 8], 4), dhn = t([4, 3, 4], 5);
    const da = tm.backward({ dy, dhn }), db = bf.backward({ dy: swap01(dy), dhn });
    expect(db.dx).toEqual(swap01(da.dx));
    expect(db.dh0).toEqual(da.dh0);
    expect(db.dc0).toEqual(da.dc0);
    expect(bf.grads()).toEqual(tm.grads());
    const flat = bf.forward(swap01(x).data, { seqLen: 5, batch: 3, h0, c0, lengths });
    expect(flat.y).toEqual(b.y);
    tm.dispose(); bf.dispose();
  });

  it("flat Float32Array / number[] with seqLen and batch equal nested arrays and {data, shape}", () => {
    const m = new LSTM({ inputSize: 3, hiddenSize: 4, seed: 1 });
    const x = t([4, 2, 3], 1);
    const nested = Array.from({ length: 4 }, (_, i) => Array.from({ length: 2 }, (_, b) => Array.from(x.data.subarray((i * 2 + b) * 3, (i * 2 + b + 1) * 3))));
    const want = m.forward(x);
    expect(want.y.shape).toEqual([4, 2, 4]);
    expect(m.forward(x.data, { seqLen: 4, batch: 2 })).toEqual(want);
    expect(m.forward(Array.from(x.data), { seqLen: 4, batch: 2 })).toEqual(want);
    expect(m.forward(nested)).toEqual(want);
    expect(m.forward(nested, { seqLen: 4, batch: 2 })).toEqual(want);
    m.dispose();
  });
});

describe("returnGates with lengths", () => {
  it("gates, cell states and y are 0 at padded steps and live elsewhere", () => {
    const m = new LSTM({ inputSize: 3, hiddenSize: 5, numLayers: 2, bidirectional: true, projSize: 3, peephole: true, seed: 1 });
    const T = 6, B = 3, lengths = [6, 2, 4];
    const r = m.forward(t([T, B, 3], 1), { lengths, returnGates: true, h0: t([4, B, 3], 2), c0: t([4, B, 5], 3) });
    expect(Object.keys(r.gates!)).toEqual(["l0", "l0_reverse", "l1", "l1_reverse"]);
    const rows = (v: Tensor, tt: number, b: number) => { const w = v.shape[2]; return Array.from(v.data.subarray((tt * B + b) * w, (tt * B + b + 1) * w)); };
    const check = (name: string, v: Tensor) => {
      for (let tt = 0; tt < T; tt++) for (let b = 0; b < B; b++) {
        const row = rows(v, tt, b);
        if (tt >= lengths[b]) expect(row.every((a) => a === 0), `${name} t=${tt} b=${b}`).toBe(true);
        else expect(row.some((a) => a !== 0), `${name} t=${tt} b=${b}`).toBe(true);
      }
    };
    for (const [key, g] of Object.entries(r.gates!)) {
      expect(Object.keys(g).sort()).toEqual(["c", "f", "g", "h", "i", "m", "o"]);
      for (const [name, v] of Object.entries(g)) check(`${key}.${name}`, v);
    }
    check("y", r.y);
    m.dispose();
  });
});

describe("out options and steady state", () => {
  it("forward, backward and step write into caller-given tensors and return them, with the same values", () => {
    const m = new LSTM({ inputSize: 3, hiddenSize: 6, numLayers: 2, seed: 4 });
    const x = t([5, 2, 3], 1);
    const ref = m.forward(x, { train: true });
    const out = { y: t([5, 2, 6], 9), hn: t([2, 2, 6], 9), cn: t([2, 2, 6], 9) };
    const got = m.forward(x, { train: true, out });
    expect(got.y).toBe(out.y); expect(got.hn).toBe(out.hn); expect(got.cn).toBe(out.cn);
    expect(out.y.data).toEqual(ref.y.data); expect(out.hn.data).toEqual(ref.hn.data); expect(out.cn.data).toEqual(ref.cn.data);
    const refB = m.backward({ dy: ref.y });
    const bo = { dx: t([5, 2, 3], 8), dh0: t([2, 2, 6], 8), dc0: t([2, 2, 6], 8) };
    const gotB = m.backward({ dy: ref.y, out: bo });
    expect(gotB.dx).toBe(bo.dx);
    expect(bo.dx.data).toEqual(refB.dx.data); expect(bo.dh0.data).toEqual(refB.dh0.data); expect(bo.dc0.data).toEqual(refB.dc0.data);
    const s1 = m.initialState(2), s2 = m.initialState(2), h = t([2, 6], 3);
    const xt = t([2, 3], 5);
    expect(m.step(xt, s2, h)).toBe(h);
    expect(h.data).toEqual(m.step(xt, s1).data);
    m.dispose();
  });

  it("with every result in an out tensor, forward and backward return that out object; with some, a new one", () => {
    const m = new LSTM({ inputSize: 3, hiddenSize: 6, batchFirst: true, seed: 4 });
    const x = t([2, 5, 3], 1), dy = t([2, 5, 6], 2);
    const ref = m.forward(x, { train: true, lengths: [5, 3] });
    const refB = m.backward({ dy });
    const out = { y: t([2, 5, 6], 9), hn: t([1, 2, 6], 9), cn: t([1, 2, 6], 9) };
    expect(m.forward(x, { train: true, lengths: [5, 3], out })).toBe(out);
    expect(out.y.data).toEqual(ref.y.data); expect(out.hn.data).toEqual(ref.hn.data); expect(out.cn.data).toEqual(ref.cn.data);
    const bo = { dx: t([2, 5, 3], 8), dh0: t([1, 2, 6], 8), dc0: t([1, 2, 6], 8) };
    expect(m.backward({ dy, out: bo })).toBe(bo);
    expect(bo.dx.data).toEqual(refB.dx.data); expect(bo.dh0.data).toEqual(refB.dh0.data); expect(bo.dc0.data).toEqual(refB.dc0.data);
    const partial = { y: t([2, 5, 6], 7) };
    const r = m.forward(x, { lengths: [5, 3], out: partial });
    expect(r).not.toBe(partial);
    expect(r.y).toBe(partial.y);
    expect(r.hn.data).toEqual(ref.hn.data);
    m.dispose();
  });

  it("an out tensor of the wrong shape or kind is refused before anything runs", () => {
    const m = new LSTM({ inputSize: 3, hiddenSize: 6, seed: 4 });
    const x = t([5, 2, 3], 1);
    const bad: [unknown, string][] = [
      [{ out: { y: t([5, 2, 5], 1) } }, "options.out.y"],
      [{ out: { hn: { data: new Float64Array(12), shape: [1, 2, 6] } } }, "options.out.hn"],
      [{ out: { z: t([1], 1) } }, "options.out.z"],
    ];
    for (const [opts, arg] of bad) {
      let err: unknown;
      try { m.forward(x, opts as any); } catch (e) { err = e; }
      expect(err).toBeInstanceOf(LSTMError);
      expect((err as LSTMError).argument).toBe(arg);
    }
    let err: unknown;
    try { m.step(t([2, 3], 1), m.initialState(2), t([2, 5], 1)); } catch (e) { err = e; }
    expect((err as LSTMError).argument).toBe("out");
    m.dispose();
  });

  it("after the first step, a training loop and a stream of steps allocate no wasm memory and never grow it", () => {
    const m = new LSTM({ inputSize: 4, hiddenSize: 9, numLayers: 2, seed: 2 });
    const x = t([7, 3, 4], 1), dy = t([7, 3, 9], 2);
    const out = { y: t([7, 3, 9], 0), hn: t([2, 3, 9], 0), cn: t([2, 3, 9], 0) };
    const trainStep = () => { m.zeroGrad(); m.forward(x, { train: true, out }); m.backward({ dy }); m.clipGradNorm(1); };
    const st = m.initialState(1), xt = t([1, 4], 3), h = t([1, 9], 0);
    trainStep(); m.step(xt, st, h);
    const be = backend(), bytes = be.k.memory.buffer.byteLength, used = be.arena.inUse;
    for (let i = 0; i < 50; i++) { trainStep(); m.step(xt, st, h); }
    expect(be.k.memory.buffer.byteLength).toBe(bytes);
    expect(be.arena.inUse).toBe(used);
    m.dispose();
  });
});
