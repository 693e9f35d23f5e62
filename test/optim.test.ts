// SGD, Adam and AdamW against float64 implementations of torch.optim's documented update rules,
// on every build: on a Linear layer's whole parameter block (gradients from its backward) and on
// a bare 11-float block (so the kernels' scalar tails run after the SIMD body). Also option
// validation and the rule that an optimizer moved to another model starts afresh.
import { describe, it, expect, beforeAll } from "vitest";
import { Linear, SGD, Adam, AdamW, LSTMError } from "../src/index";
import { backend, type Backend } from "../src/wasm/backend";
import { registerTrainable } from "../src/optim";
import { BUILDS, use } from "./helpers/backends";
import { mulberry32 } from "./helpers/ref";
import { expectClose } from "./helpers/close";

type Opt = SGD | Adam;
interface Target { be: Backend; params: number; grads: number; total: number; onDispose: (cb: () => void) => void }
interface Model { readonly target: Target }

// ---------------------------------------------------------------- float64 references (torch.optim docs)

interface SGDCfg { lr: number; momentum?: number; dampening?: number; nesterov?: boolean; weightDecay?: number }
interface AdamCfg { lr: number; betas?: [number, number]; eps?: number; weightDecay?: number; decoupled?: boolean }

/** torch.optim.SGD: g += wd·p; b = t>1 ? μb + (1−τ)g : g; g = nesterov ? g + μb : b; p −= lr·g. */
function refSGD(c: SGDCfg) {
  const mu = c.momentum ?? 0, tau = c.dampening ?? 0, wd = c.weightDecay ?? 0;
  let b: Float64Array | null = null;
  return (p: Float64Array, g: Float64Array) => {
    const first = b === null;
    if (!b) b = new Float64Array(p.length);
    for (let i = 0; i < p.length; i++) {
      let d = g[i] + wd * p[i];
      if (mu !== 0) {
        b[i] = first ? d : mu * b[i] + (1 - tau) * d;
        d = c.nesterov ? d + mu * b[i] : b[i];
      }
      p[i] -= c.lr * d;
    }
  };
}

/**
 * torch.optim.Adam / AdamW: Adam adds wd·p to g, AdamW multiplies p by 1 − lr·wd;
 * m = β1m + (1−β1)g, v = β2v + (1−β2)g², p −= lr/(1−β1^t) · m / (sqrt(v)/sqrt(1−β2^t) + eps).
 */
function refAdam(c: AdamCfg) {
  const [b1, b2] = c.betas ?? [0.9, 0.999], eps = c.eps ?? 1e-8, wd = c.weightDecay ?? 0;
  let m: Float64Array | null = null, v: Float64Array | null = null, t = 0;
  return (p: Float64Array, g: Float64Array) => {
    if (!m || !v) { m = new Float64Array(p.length); v = new Float64Array(p.length); }
    t++;
    for (let i = 0; i < p.length; i++) {
      let gi = g[i];
      if (c.decoupled) p[i] *= 1 - c.lr * wd;
      else gi += wd * p[i];
      m[i] = b1 * m[i] + (1 - b1) * gi;
      v[i] = b2 * v[i] + (1 - b2) * gi * gi;
      const den = Math.sqrt(v[i]) / Math.sqrt(1 - b2 ** t) + eps;
      p[i] -= (c.lr / (1 - b1 ** t)) * (m[i] / den);
    }
  };
}

// ---------------------------------------------------------------- blocks

const rand = (rng: () => number, n: number, s = 1) => Float32Array.from({ length: n }, () => (2 * rng() - 1) * s);
const readBlock = (t: Target, ptr: number) => t.be.f32.slice(ptr >>> 2, (ptr >>> 2) + t.total);

/** A bare parameter block of n floats, outside any layer. */
function bareBlock(n: number): Model & { free(): void } {
  const be = backend();
  const params = be.arena.alloc(n * 4), grads = be.arena.alloc(n * 4);
  be.f32.fill(0, params >>> 2, (params >>> 2) + n);
  be.f32.fill(0, grads >>> 2, (grads >>> 2) + n);
  const target = { be, params, grads, total: n, onDispose: () => {} };
  const model = { target, free: () => { be.arena.release(params); be.arena.release(grads); } };
  registerTrainable(model, () => target); // as a layer's constructor does: optimizers step only registered models
  return model;
}

/** Gradients for a step: written straight into a bare block, or from a Linear's backward on random data. */
function setGrads(model: Model, rng: () => number): void {
  if (model instanceof Linear) {
    model.zeroGrad();
    const N = 4, In = model.config.inputSize, O = model.config.outputSize;
    model.forward({ data: rand(rng, N * In, 2), shape: [N, In] }, { train: true });
    model.backward({ data: rand(rng, N * O), shape: [N, O] });
    return;
  }
  const t = model.target, g = rand(rng, t.total, 2);
  g[3] = 0; // a zero gradient, and a tiny one
  g[7] = 1e-6;
  t.be.f32.set(g, t.grads >>> 2);
}

/** `steps` optimizer steps on `model` beside the float64 rule; every parameter compared after each. */
function compare(model: Model, opt: Opt, ref: (p: Float64Array, g: Float64Array) => void, steps: number, seed: number): void {
  const rng = mulberry32(seed);
  const p = Float64Array.from(readBlock(model.target, model.target.params));
  for (let s = 1; s <= steps; s++) {
    setGrads(model, rng);
    const g = Float64Array.from(readBlock(model.target, model.target.grads));
    opt.step(model);
    ref(p, g);
    expect(opt.steps).toBe(s);
    expectClose(`params after step ${s}`, readBlock(model.target, model.target.params), p, { atol: 1e-7, rtol: 1e-6 });
  }
}

function linearModel(seed: number): Linear {
  const lin = new Linear({ inputSize: 3, outputSize: 2, seed });
  const rng = mulberry32(seed + 1);
  lin.loadStateDict({ weight: { data: rand(rng, 6), shape: [2, 3] }, bias: rand(rng, 2) });
  return lin;
}

function bareModel(seed: number) {
  const m = bareBlock(11);
  const p = rand(mulberry32(seed), 11);
  p[5] = 0;
  m.target.be.f32.set(p, m.target.params >>> 2);
  return m;
}

const SGD_CASES: Array<[string, SGDCfg]> = [
  ["plain", { lr: 0.1 }],
  ["plain with weight decay", { lr: 0.05, weightDecay: 0.1 }],
  ["momentum", { lr: 0.1, momentum: 0.9 }],
  ["momentum with dampening", { lr: 0.1, momentum: 0.9, dampening: 0.5 }],
  ["momentum, dampening and weight decay", { lr: 0.03, momentum: 0.8, dampening: 0.3, weightDecay: 0.01 }],
  ["Nesterov", { lr: 0.1, momentum: 0.9, nesterov: true }],
  ["Nesterov with weight decay", { lr: 0.05, momentum: 0.7, nesterov: true, weightDecay: 0.2 }],
];
const ADAM_CASES: Array<[string, AdamCfg]> = [
  ["Adam, defaults but lr", { lr: 0.01 }],
  ["Adam with L2 weight decay", { lr: 0.01, weightDecay: 0.1 }],
  ["Adam, betas (0.8, 0.99), eps 1e-6", { lr: 0.02, betas: [0.8, 0.99], eps: 1e-6 }],
  ["Adam, betas (0, 0.5), eps 0.1", { lr: 0.05, betas: [0, 0.5], eps: 0.1, weightDecay: 0.05 }],
  ["AdamW, default weight decay 0.01", { lr: 0.01, decoupled: true, weightDecay: 0.01 }],
  ["AdamW with weight decay 0.1", { lr: 0.02, decoupled: true, weightDecay: 0.1 }],
];
const makeSGD = (c: SGDCfg) => new SGD(c);
const makeAdam = (c: AdamCfg) => {
  const { decoupled, ...o } = c;
  return decoupled ? new AdamW(c.weightDecay === 0.01 ? { lr: o.lr } : o) : new Adam(o);
};

describe.each(BUILDS)("optimizers against torch.optim's rules in float64 on the %s build", (build) => {
  describe.each([["a Linear(3,2) with gradients from backward", "linear"], ["a bare 11-float block", "bare"]] as const)("on %s", (_label, kind) => {
    const make = (seed: number) => (kind === "linear" ? linearModel(seed) : bareModel(seed));
    const free = (m: Model) => (m instanceof Linear ? m.dispose() : (m as ReturnType<typeof bareBlock>).free());

    it.each(SGD_CASES)("SGD %s: 5 steps match to 1e-6", async (_name, cfg) => {
      await use(build);
      const m = make(5);
      compare(m, makeSGD(cfg), refSGD(cfg), 5, 50);
      free(m);
    });

    it.each(ADAM_CASES)("%s: 6 steps with bias correction match to 1e-6", async (_name, cfg) => {
      await use(build);
      const m = make(6);
      const opt = makeAdam(cfg);
      if (cfg.decoupled) expect(opt.weightDecay).toBe(cfg.weightDecay);
      compare(m, opt, refAdam(cfg), 6, 60);
      free(m);
    });
  });

  it("from p = 0 (no cancellation), each first step moves p by the documented amount to 1e-6 relative: −lr·g for SGD, −lr·g/(|g|+eps) for Adam and AdamW", async () => {
    await use(build);
    const g = Float32Array.from([1, -1, 0.5, -3, 2e-3, 7, -0.25, 1e-4, 4, -2, 0.75]);
    const cases: Array<[string, () => Opt, (g: number) => number]> = [
      ["SGD lr 0.1", () => new SGD({ lr: 0.1 }), (x) => -0.1 * x],
      ["SGD lr 0.1 momentum 0.9", () => new SGD({ lr: 0.1, momentum: 0.9, dampening: 0.5 }), (x) => -0.1 * x],
      ["Adam lr 0.01", () => new Adam({ lr: 0.01 }), (x) => -0.01 * x / (Math.abs(x) + 1e-8)],
      ["AdamW lr 0.01", () => new AdamW({ lr: 0.01 }), (x) => -0.01 * x / (Math.abs(x) + 1e-8)],
      ["Adam lr 0.01 betas (0.5, 0.9)", () => new Adam({ lr: 0.01, betas: [0.5, 0.9] }), (x) => -0.01 * x / (Math.abs(x) + 1e-8)],
    ];
    const bad: string[] = [];
    for (const [name, make, expected] of cases) {
      const m = bareBlock(g.length);
      m.target.be.f32.set(g, m.target.grads >>> 2);
      make().step(m);
      const p = readBlock(m.target, m.target.params);
      p.forEach((v, i) => {
        const e = expected(g[i]);
        if (Math.abs(v - e) > 1e-6 * Math.abs(e)) bad.push(`${name}: g ${g[i]} → p ${v}, expected ${e} (relative error ${((v - e) / e).toExponential(2)})`);
      });
      m.free();
    }
    expect(bad).toEqual([]);
  });

  it("one optimizer used on a second model restarts its moments there (and again on returning), matching a fresh optimizer bit for bit", async () => {
    await use(build);
    for (const make of [() => new Adam({ lr: 0.01 }), () => new SGD({ lr: 0.1, momentum: 0.9 }), () => new AdamW({ lr: 0.01 })]) {
      const a = linearModel(1), b = linearModel(2), bCopy = linearModel(2), aCopy = linearModel(1);
      const rng = mulberry32(3);
      const opt = make();
      for (let s = 0; s < 3; s++) { setGrads(a, rng); opt.step(a); }
      expect(opt.steps).toBe(3);
      // b (and a fresh optimizer on an identical copy) get the same gradients.
      const r1 = mulberry32(4), r2 = mulberry32(4);
      setGrads(b, r1); setGrads(bCopy, r2);
      opt.step(b);
      expect(opt.steps).toBe(1);
      make().step(bCopy);
      expect(Array.from(readBlock(b.target, b.target.params))).toEqual(Array.from(readBlock(bCopy.target, bCopy.target.params)));
      // Back on a: its old moments are gone, so the step equals a fresh optimizer's first step.
      aCopy.loadStateDict(a.stateDict());
      const r3 = mulberry32(5), r4 = mulberry32(5);
      setGrads(a, r3); setGrads(aCopy, r4);
      opt.step(a);
      make().step(aCopy);
      expect(Array.from(readBlock(a.target, a.target.params))).toEqual(Array.from(readBlock(aCopy.target, aCopy.target.params)));
      for (const m of [a, b, aCopy, bCopy]) m.dispose();
      opt.dispose();
    }
  });
});

describe("optimizer state and option checks", () => {
  beforeAll(async () => { await use("simd"); });

  it("an optimizer moved to a new model that took a disposed model's memory (same address and size) still starts afresh", () => {
    const opt = new Adam({ lr: 0.01 });
    const a = linearModel(1);
    const rng = mulberry32(8);
    for (let s = 0; s < 3; s++) { setGrads(a, rng); opt.step(a); }
    const oldPtr = a.target.params;
    a.dispose();
    // Create layers (kept alive so each takes a new block) until one gets a's old parameter block.
    const made: Linear[] = [];
    let b: Linear | undefined;
    for (let i = 0; i < 500 && !b; i++) {
      const m = linearModel(2);
      made.push(m);
      if (m.target.params === oldPtr) b = m;
    }
    expect(b, "precondition: some new Linear(3,2) reuses the disposed one's parameter block").toBeDefined();
    const bCopy = linearModel(2);
    const r1 = mulberry32(9), r2 = mulberry32(9);
    setGrads(b!, r1); setGrads(bCopy, r2);
    opt.step(b!);
    new Adam({ lr: 0.01 }).step(bCopy);
    expect(opt.steps, "steps counted on the new model").toBe(1);
    expect(Array.from(readBlock(b!.target, b!.target.params))).toEqual(Array.from(readBlock(bCopy.target, bCopy.target.params)));
    for (const m of made) m.dispose();
    bCopy.dispose(); opt.dispose();
  });

  it("dispose() forgets the moments: the next step is a first step again", () => {
    const a = linearModel(1), aCopy = linearModel(1);
    const opt = new SGD({ lr: 0.1, momentum: 0.9 });
    const rng = mulberry32(12);
    for (let s = 0; s < 2; s++) { setGrads(a, rng); opt.step(a); }
    aCopy.loadStateDict(a.stateDict());
    opt.dispose();
    const r1 = mulberry32(13), r2 = mulberry32(13);
    setGrads(a, r1); setGrads(aCopy, r2);
    opt.step(a);
    expect(opt.steps).toBe(1);
    new SGD({ lr: 0.1, momentum: 0.9 }).step(aCopy);
    expect(Array.from(readBlock(a.target, a.target.params))).toEqual(Array.from(readBlock(aCopy.target, aCopy.target.params)));
    a.dispose(); aCopy.dispose(); opt.dispose();
  });

  /** Asserts `fn` throws an LSTMError whose argument is `argument`. */
  function expectErr(fn: () => unknown, argument: string): void {
    let err: unknown = null;
    try { fn(); } catch (e) { err = e; }
    expect(err, `expected an LSTMError for ${argument}`).toBeInstanceOf(LSTMError);
    expect((err as LSTMError).argument).toBe(argument);
    expect((err as LSTMError).message.startsWith(`${argument}: expected `)).toBe(true);
  }
  const any = (v: unknown) => v as any;

  it("SGD refuses lr <= 0 or not finite, negative momentum, dampening outside [0,1], nesterov without momentum or with dampening, negative weight decay, unknown keys", () => {
    for (const lr of [0, -0.1, NaN, Infinity, undefined, "0.1"]) expectErr(() => new SGD({ lr: any(lr) }), "options.lr");
    expectErr(() => new SGD({ lr: 0.1, momentum: -0.5 }), "options.momentum");
    expectErr(() => new SGD({ lr: 0.1, momentum: 0.9, dampening: 1.5 }), "options.dampening");
    expectErr(() => new SGD({ lr: 0.1, momentum: 0.9, dampening: -0.1 }), "options.dampening");
    expectErr(() => new SGD({ lr: 0.1, nesterov: true }), "options.nesterov");
    expectErr(() => new SGD({ lr: 0.1, momentum: 0.9, dampening: 0.1, nesterov: true }), "options.nesterov");
    expectErr(() => new SGD({ lr: 0.1, momentum: 0.9, nesterov: any(1) }), "options.nesterov");
    expectErr(() => new SGD({ lr: 0.1, weightDecay: -1e-4 }), "options.weightDecay");
    expectErr(() => new SGD({ lr: 0.1, moment: 0.9 } as any), "options.moment");
    expectErr(() => new SGD(any(null)), "options");
  });

  it("Adam and AdamW refuse lr <= 0, betas outside [0,1) or not a pair, negative eps or weight decay, unknown keys", () => {
    for (const Ctor of [Adam, AdamW]) {
      for (const lr of [0, -1e-3, NaN]) expectErr(() => new Ctor({ lr }), "options.lr");
      expectErr(() => new Ctor({ betas: [1, 0.999] }), "options.betas[0]");
      expectErr(() => new Ctor({ betas: [-0.1, 0.999] }), "options.betas[0]");
      expectErr(() => new Ctor({ betas: [0.9, 1] }), "options.betas[1]");
      expectErr(() => new Ctor({ betas: [0.9, 1.5] }), "options.betas[1]");
      expectErr(() => new Ctor({ betas: [0.9, NaN] }), "options.betas[1]");
      expectErr(() => new Ctor({ betas: any([0.9]) }), "options.betas");
      expectErr(() => new Ctor({ betas: any(0.9) }), "options.betas");
      expectErr(() => new Ctor({ eps: -1e-8 }), "options.eps");
      expectErr(() => new Ctor({ weightDecay: -0.01 }), "options.weightDecay");
      expectErr(() => new Ctor({ beta1: 0.9 } as any), "options.beta1");
    }
    // The documented defaults.
    const a = new Adam(), w = new AdamW();
    expect([a.lr, a.beta1, a.beta2, a.eps, a.weightDecay]).toEqual([1e-3, 0.9, 0.999, 1e-8, 0]);
    expect([w.lr, w.beta1, w.beta2, w.eps, w.weightDecay]).toEqual([1e-3, 0.9, 0.999, 1e-8, 0.01]);
  });
});
