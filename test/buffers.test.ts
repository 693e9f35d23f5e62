// Caller arrays that change under a call: the memory-safety class of defects. A Float32Array over a
// resizable ArrayBuffer or a growable SharedArrayBuffer, grown or shrunk by a getter the library
// reads after validating it; a plain one detached (transferred) by such a getter; one with its own
// `length` property that lies; one with its own `set` method, which a careless copy-out would hand a
// view of wasm memory. Every entry point that copies caller data into wasm memory, out of it, or
// computes on it in JS is attacked at each point of its reading order. The property: the call ends
// with the clean call's results or an LSTMError (never a TypeError or RangeError), and a second,
// unrelated model's weights and outputs stay bit-identical.
import { describe, it, expect, beforeAll } from "vitest";
import {
  init, LSTM, Linear, Sequential, SGD, Adam, LSTMError, clipGradNorm, clipGradValue, writeSafetensors, readSafetensors,
  fromKeras, fromOnnx, reorderGates, toOnnx, type Tensor,
} from "../src/index";

type Kind = "resizable-grow" | "resizable-shrink" | "growable" | "detach" | "lying-length" | "own-set";
const KINDS: Kind[] = ["resizable-grow", "resizable-shrink", "growable", "detach", "lying-length", "own-set"];
const any = (v: unknown) => v as any;

function values(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.sin(seed * 7.1 + i * 1.3) * 0.8;
  return out;
}

/**
 * One attack: the arrays it made and when it strikes (the `fireAt`-th read of any getter or option).
 * Striking grows, shrinks or detaches every array it made, including ones validated already.
 */
class Attack {
  private arrays: Float32Array[] = [];
  private reads = 0;
  private stopped = false;
  ownSetCalled = false;
  constructor(readonly kind: Kind, readonly fireAt: number) {}

  /** An array of this attack's kind holding `v`. */
  array(v: Float32Array): Float32Array {
    const n = v.length;
    let a: Float32Array;
    if (this.kind === "resizable-grow" || this.kind === "resizable-shrink") a = new Float32Array(new (ArrayBuffer as any)(4 * n, { maxByteLength: 64 * n + 64 }));
    else if (this.kind === "growable") a = new Float32Array(new (SharedArrayBuffer as any)(4 * n, { maxByteLength: 64 * n + 64 }));
    else if (this.kind === "lying-length") {
      a = new Float32Array(16 * n + 16); // the real array is longer than it says
      Object.defineProperty(a, "length", { value: n });
    } else a = new Float32Array(n);
    for (let i = 0; i < n; i++) a[i] = v[i];
    if (this.kind === "own-set") {
      Object.defineProperty(a, "set", { value: (src: Float32Array) => { this.ownSetCalled = true; try { src.fill(1e30); } catch { /* not writable */ } } });
    }
    this.arrays.push(a);
    return a;
  }

  /** A { data, shape } tensor whose data getter counts as a read. */
  tensor(v: Float32Array, shape: number[]): Tensor {
    const a = this.array(v), self = this;
    return { get data() { self.read(); return a; }, shape };
  }

  /** An options object whose every property read counts. */
  options<T extends object>(o: T): T {
    return new Proxy(o, { get: (t, k, r) => { if (typeof k === "string") this.read(); return Reflect.get(t, k, r); } });
  }

  /** The call has returned: the test's own reads of the results do not count. */
  stop(): void {
    this.stopped = true;
  }

  read(): void {
    if (this.stopped || ++this.reads !== this.fireAt) return;
    for (const a of this.arrays) {
      const buf = a.buffer as any;
      if (this.kind === "resizable-grow") buf.resize(buf.maxByteLength);
      else if (this.kind === "resizable-shrink") buf.resize(0);
      else if (this.kind === "growable") buf.grow(buf.maxByteLength);
      else if (this.kind === "detach" && buf.byteLength > 0) structuredClone(buf, { transfer: [buf] });
    }
  }
}

const I = 3, H = 5, T = 4, B = 2, O = 2;
let victim: LSTM, victimHead: Linear, victimBits: string;
const bits = (a: ArrayLike<number>) => Buffer.from(new Float32Array(Array.from(a)).buffer).toString("base64");
function victimState(): string {
  const sd = victim.stateDict(), hd = victimHead.stateDict();
  const y = victim.forward({ data: values(T * B * I, 99), shape: [T, B, I] }).y.data;
  return [...Object.values(sd), ...Object.values(hd)].map((t) => bits(t.data)).join("|") + "#" + bits(y) + "#" + bits(victimHead.forward({ data: values(2 * H, 98), shape: [2, H] }).data);
}

const lstm = () => new LSTM({ inputSize: I, hiddenSize: H, seed: 1 });
const head = () => new Linear({ inputSize: H, outputSize: O, seed: 2 });
const flat = (r: unknown): number[][] => {
  if (r === undefined || r === null) return [];
  if (typeof r === "number") return [[r]];
  if (ArrayBuffer.isView(r)) return [Array.from(r as Float32Array)];
  if (typeof r === "object" && "data" in (r as object)) return [Array.from((r as Tensor).data)];
  return Object.keys(r as object).sort().flatMap((k) => flat((r as any)[k]));
};

/** Every entry point, as (attack) => result; a plain Attack with fireAt 0 never strikes and gives the clean call. */
const ENTRIES: Record<string, (a: Attack) => unknown | Promise<unknown>> = {
  "LSTM.forward x, h0, c0 and out tensors": (a) => {
    const m = lstm();
    const out = { y: a.tensor(new Float32Array(T * B * H), [T, B, H]), hn: a.tensor(new Float32Array(B * H), [1, B, H]), cn: a.tensor(new Float32Array(B * H), [1, B, H]) };
    m.forward(a.tensor(values(T * B * I, 1), [T, B, I]), a.options({ h0: a.tensor(values(B * H, 2), [1, B, H]), c0: a.tensor(values(B * H, 3), [1, B, H]), out }));
    a.stop();
    return [out.y.data, out.hn.data, out.cn.data].map((d) => Array.from(d));
  },
  "LSTM.forward flat x with seqLen and batch": (a) => lstm().forward(a.array(values(T * B * I, 4)), a.options({ seqLen: T, batch: B })),
  "LSTM.backward dy, dhn, dcn and out tensors": (a) => {
    const m = lstm();
    m.forward({ data: values(T * B * I, 5), shape: [T, B, I] }, { train: true });
    const out = { dx: a.tensor(new Float32Array(T * B * I), [T, B, I]), dh0: a.tensor(new Float32Array(B * H), [1, B, H]), dc0: a.tensor(new Float32Array(B * H), [1, B, H]) };
    m.backward(a.options({ dy: a.tensor(values(T * B * H, 6), [T, B, H]), dhn: a.tensor(values(B * H, 7), [1, B, H]), dcn: a.tensor(values(B * H, 8), [1, B, H]), out }));
    a.stop();
    return [out.dx.data, out.dh0.data, out.dc0.data, m.grads()].map(flat);
  },
  "LSTM.step xt, state and out": (a) => {
    const m = lstm(), state = { h: a.tensor(values(B * H, 9), [1, B, H]), c: a.tensor(values(B * H, 10), [1, B, H]) };
    const out = a.tensor(new Float32Array(B * H), [B, H]);
    m.step(a.tensor(values(B * I, 11), [B, I]), state, out);
    a.stop();
    return [state.h.data, state.c.data, out.data].map((d) => Array.from(d));
  },
  "LSTM.loadStateDict (a refusal keeps the old weights)": (a) => {
    const m = lstm(), before = m.stateDict();
    const dict = Object.fromEntries(Object.entries(before).map(([k, t], i) => [k, a.tensor(values(t.data.length, 20 + i), t.shape)]));
    try { m.loadStateDict(dict); } catch (e) { expect(flat(m.stateDict())).toEqual(flat(before)); throw e; }
    return m.stateDict();
  },
  "LSTM.fromStateDict": (a) => {
    const src = lstm().stateDict();
    return LSTM.fromStateDict(Object.fromEntries(Object.entries(src).map(([k, t], i) => [k, a.tensor(values(t.data.length, 30 + i), t.shape)]))).stateDict();
  },
  "Linear.forward x and out": (a) => {
    const out = a.tensor(new Float32Array(3 * O), [3, O]);
    head().forward(a.tensor(values(3 * H, 40), [3, H]), a.options({ out }));
    a.stop();
    return Array.from(out.data);
  },
  "Linear.backward dy": (a) => {
    const l = head();
    l.forward({ data: values(3 * H, 41), shape: [3, H] }, { train: true });
    return [l.backward(a.tensor(values(3 * O, 42), [3, O])), l.grads()];
  },
  "Sequential.predict and evaluate": (a) => {
    const s = new Sequential([lstm(), head()]);
    const x = a.tensor(values(3 * T * I, 50), [3, T, I]);
    return [s.predict(x, a.options({ batchSize: 2 })), s.evaluate(a.tensor(values(3 * T * I, 50), [3, T, I]), a.tensor(values(3 * O, 51), [3, O]), a.options({ batchSize: 2 }))];
  },
  "Sequential.fit, the arrays changed from onBatchEnd": async (a) => {
    const s = new Sequential([lstm(), head()]);
    const x = a.tensor(values(6 * T * I, 52), [6, T, I]), y = a.tensor(values(6 * O, 53), [6, O]);
    const hist = await s.fit(x, y, { epochs: 2, batchSize: 2, optimizer: new Adam({ lr: 0.01 }), shuffle: false, onBatchEnd: () => a.read() });
    return [hist.loss, s.predict({ data: values(6 * T * I, 52), shape: [6, T, I] })];
  },
  "clipGradNorm and clipGradValue on caller tensors": (a) => {
    const g = [a.tensor(values(7, 60), [7]), a.tensor(values(5, 61), [5])];
    const norm = clipGradNorm(g, 0.5);
    clipGradValue([a.tensor(values(4, 62), [4]), a.tensor(values(4, 63), [4])], 0.1);
    a.stop();
    return [norm, g.map((t) => Array.from(t.data))];
  },
  "writeSafetensors and readSafetensors": (a) => {
    const bytes = writeSafetensors({ a: a.tensor(values(6, 70), [2, 3]), b: a.tensor(values(4, 71), [4]) });
    return readSafetensors(bytes);
  },
  "converters: fromKeras, fromOnnx, reorderGates, toOnnx": (a) => {
    const k = fromKeras({ kernel: a.tensor(values(I * 4 * H, 80), [I, 4 * H]), recurrentKernel: a.tensor(values(H * 4 * H, 81), [H, 4 * H]), bias: a.tensor(values(4 * H, 82), [4 * H]) });
    const o = fromOnnx({ W: a.tensor(values(4 * H * I, 83), [1, 4 * H, I]), R: a.tensor(values(4 * H * H, 84), [1, 4 * H, H]) }, a.options({ hiddenSize: H }));
    const r = reorderGates(a.tensor(values(8 * 2, 85), [8, 2]), "ifgo", "iofg");
    const back = toOnnx(Object.fromEntries(Object.entries(lstm().stateDict()).map(([n, t], i) => [n, a.tensor(values(t.data.length, 86 + i), t.shape)])));
    return [k.stateDict, o.stateDict, r, back];
  },
};

beforeAll(async () => {
  await init();
  victim = new LSTM({ inputSize: I, hiddenSize: H, seed: 7 });
  victimHead = new Linear({ inputSize: H, outputSize: O, seed: 8 });
  victimBits = victimState();
});

async function outcome(run: () => unknown): Promise<{ ok: true; value: unknown } | { ok: false; error: unknown }> {
  try { return { ok: true, value: await run() }; } catch (error) { return { ok: false, error }; }
}

describe("caller arrays resized, detached or lying during a call", () => {
  for (const [entry, call] of Object.entries(ENTRIES)) {
    it(`${entry}: the clean result or an LSTMError at every point of the reading order; the other model is untouched`, async () => {
      const clean = await outcome(() => call(new Attack("detach", 0)));
      expect(clean.ok, `the clean call: ${clean.ok ? "" : (clean as { error: Error }).error}`).toBe(true);
      const want = flat((clean as { value: unknown }).value);
      let refusals = 0, struck = 0;
      for (const kind of KINDS) {
        for (let fireAt = 1; fireAt <= 8; fireAt++) {
          const attack = new Attack(kind, fireAt);
          const got = await outcome(() => call(attack));
          struck++;
          if (got.ok) expect(flat(got.value), `${kind} at read ${fireAt}: results`).toEqual(want);
          else {
            expect(got.error, `${kind} at read ${fireAt}: ${(got.error as Error)?.stack}`).toBeInstanceOf(LSTMError);
            refusals++;
          }
          // Buffers that can change length are refused outright; own `set` methods are never called.
          if (kind === "resizable-grow" || kind === "resizable-shrink" || kind === "growable") expect(got.ok, `${kind} at read ${fireAt}`).toBe(false);
          expect(attack.ownSetCalled, `${kind}: the caller's own set() was called`).toBe(false);
          expect(victimState(), `${kind} at read ${fireAt}: the victim model changed`).toBe(victimBits);
        }
      }
      expect(struck).toBe(KINDS.length * 8);
      expect(refusals).toBeGreaterThan(0);
    });
  }

  it("a detached x is named: the LSTMError says the buffer was detached during the call", () => {
    const x = values(T * B * I, 1);
    const y = { get data() { structuredClone(x.buffer, { transfer: [x.buffer] }); return new Float32Array(T * B * H); }, shape: [T, B, H] };
    const err = (() => { try { lstm().forward({ data: x, shape: [T, B, I] }, { out: { y } }); } catch (e) { return e as LSTMError; } })();
    expect(err).toBeInstanceOf(LSTMError);
    expect(err!.argument).toBe("x");
    expect(err!.received).toMatch(/detached during the call/);
  });
});

describe("optimizers and methods on objects the library did not make", () => {
  it("opt.step refuses look-alikes with a forged target, and methods called on foreign objects throw LSTMError", () => {
    const m = lstm();
    const real = (m as any).target;
    const forged = { target: { ...real, params: real.params + 4 * 64, total: 1 << 20 } };
    for (const opt of [new SGD({ lr: 0.1 }), new Adam()]) {
      for (const fake of [forged, Object.create(LSTM.prototype), Object.create(Linear.prototype), Object.create(Sequential.prototype), {}, null]) {
        expect(() => opt.step(any(fake))).toThrow(LSTMError);
      }
    }
    expect(victimState()).toBe(victimBits);
    const calls: Array<() => unknown> = [
      () => LSTM.prototype.forward.call(any({}), values(T * B * I, 1), { seqLen: T, batch: B }),
      () => LSTM.prototype.stateDict.call(Object.create(LSTM.prototype)),
      () => LSTM.prototype.dispose.call(any({})),
      () => Linear.prototype.forward.call(Object.create(Linear.prototype), values(H, 1)),
      () => Linear.prototype.forward.call(any(m), values(H, 1)),
      () => Sequential.prototype.predict.call(Object.create(Sequential.prototype), values(T * I, 1)),
      () => SGD.prototype.step.call(any({}), m),
      () => Adam.prototype.step.call(Object.create(Adam.prototype), m),
      () => new Sequential([Object.create(LSTM.prototype), head()]),
    ];
    for (const c of calls) expect(c).toThrow(LSTMError);
    expect(flat(m.stateDict())).toEqual(flat(lstm().stateDict()));
  });
});

describe("one optimizer, two models", () => {
  const data = (n: number, seed: number) => ({ x: { data: values(n * T * I, seed), shape: [n, T, I] }, y: { data: values(n * O, seed + 1), shape: [n, O] } });
  const model = () => new Sequential([lstm(), head()]);
  const FIT = { epochs: 2, batchSize: 2, shuffle: false };

  it("a second concurrent fit with the same optimizer is refused, and the first trains exactly as it does alone", async () => {
    const { x, y } = data(6, 1);
    const solo = model();
    const soloLoss = (await solo.fit(x, y, { ...FIT, optimizer: new Adam({ lr: 0.01 }) })).loss;
    const a = model(), b = model(), opt = new Adam({ lr: 0.01 });
    const first = a.fit(x, y, { ...FIT, optimizer: opt });
    await expect(b.fit(x, y, { ...FIT, optimizer: opt })).rejects.toThrow(LSTMError);
    expect((await first).loss).toEqual(soloLoss);
    expect(flat(a.predict(x))).toEqual(flat(solo.predict(x)));
    // Free again once the fit is over: b trains with it as with a fresh one (its moments start afresh).
    const fresh = model();
    expect((await b.fit(x, y, { ...FIT, optimizer: opt })).loss).toEqual((await fresh.fit(x, y, { ...FIT, optimizer: new Adam({ lr: 0.01 }) })).loss);
  });

  it("stepping a running fit's optimizer on another model from a callback is refused; the fit is undisturbed", async () => {
    const { x, y } = data(6, 3);
    const solo = model();
    const soloLoss = (await solo.fit(x, y, { ...FIT, optimizer: new SGD({ lr: 0.1, momentum: 0.9 }) })).loss;
    const a = model(), other = model(), opt = new SGD({ lr: 0.1, momentum: 0.9 });
    const refusals: unknown[] = [];
    const hist = await a.fit(x, y, { ...FIT, optimizer: opt, onBatchEnd: () => { try { opt.step(other); } catch (e) { refusals.push(e); } } });
    expect(refusals.length).toBe(6);
    for (const e of refusals) expect(e).toBeInstanceOf(LSTMError);
    expect(hist.loss).toEqual(soloLoss);
  });

  it("lr is writable between epochs (a schedule) and refused unless finite and > 0", async () => {
    const { x, y } = data(4, 5);
    const opt = new SGD({ lr: 0.1 });
    const a = model();
    await a.fit(x, y, { epochs: 2, batchSize: 2, shuffle: false, optimizer: opt, onEpochEnd: (e) => { opt.lr = 0.1 / (e + 2); } });
    expect(opt.lr).toBeCloseTo(0.1 / 3);
    // The same schedule done by hand: one epoch at 0.1, one at 0.05.
    const b = model(), o2 = new SGD({ lr: 0.1 });
    await b.fit(x, y, { epochs: 1, batchSize: 2, shuffle: false, optimizer: o2 });
    o2.lr = 0.05;
    await b.fit(x, y, { epochs: 1, batchSize: 2, shuffle: false, optimizer: o2 });
    expect(flat(a.predict(x))).toEqual(flat(b.predict(x)));
    for (const bad of [0, -1, NaN, Infinity, "0.1"]) expect(() => { opt.lr = bad as number; }).toThrow(LSTMError);
  });

  it("lengths may be any typed array of integers (Uint8Array, Float32Array, …) or number[]", () => {
    const m = lstm(), x = { data: values(T * B * I, 9), shape: [T, B, I] };
    const want = flat(m.forward(x, { lengths: [3, 4] }).y);
    for (const lengths of [new Uint8Array([3, 4]), new Float32Array([3, 4]), new Int16Array([3, 4]), new Float64Array([3, 4])]) {
      expect(flat(m.forward(x, { lengths }).y)).toEqual(want);
    }
    expect(() => m.forward(x, { lengths: new Float32Array([3.5, 4]) })).toThrow(LSTMError);
    expect(() => m.forward(x, { lengths: any(new BigInt64Array([3n, 4n])) })).toThrow(LSTMError);
  });
});
