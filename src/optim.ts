// Optimizers. Each update is one kernel call over a model's whole parameter block; the moment
// buffers are blocks of the same size and layout, allocated in the model's wasm memory on first use.
import { LSTMError, describe } from "./errors";
import type { Backend } from "./wasm/backend";
import { checkKeys } from "./io";
import { Brand } from "./brand";

/** What an optimizer steps: a Sequential, LSTM or Linear (checked at run time). */
export type Trainable = object;

/** What an optimizer updates: a model's parameter and gradient blocks (n floats each). @internal */
export interface ParamTarget {
  be: Backend; params: number; grads: number; total: number;
  /** Run `cb` when the model is disposed (the optimizer then frees its moments). */
  onDispose: (cb: () => void) => void;
}

/**
 * A model's ParamTarget, reused while its block stays where it is (so an optimizer step allocates
 * nothing), and the callbacks its dispose() runs (`disposed()`). @internal
 */
export class TargetSlot {
  private last: ParamTarget | null = null;
  private hooks: (() => void)[] = [];
  private readonly onDispose = (cb: () => void): void => { this.hooks.push(cb); };

  get(be: Backend, params: number, grads: number, total: number): ParamTarget {
    const t = this.last;
    if (t && t.be === be && t.params === params && t.grads === grads && t.total === total) return t;
    return (this.last = { be, params, grads, total, onDispose: this.onDispose });
  }

  /** Run (once) what was registered for the model's dispose. */
  disposed(): void {
    for (const cb of this.hooks.splice(0)) cb();
  }
}

// The models an optimizer may update, recorded by their constructors: the block comes from the
// model's own fields, never from a property a caller could forge to point a kernel anywhere.
const trainables = new WeakMap<object, () => ParamTarget>();
/** @internal Record a model; `get` returns its block and throws an LSTMError once it is disposed. */
export function registerTrainable(model: object, get: () => ParamTarget): void {
  trainables.set(model, get);
}
const OPTIMIZERS = new Brand("optimizer", "an optimizer made with new SGD(…), new Adam(…) or new AdamW(…)");

/** @internal `opt` reserved for a fit on `model` (see Optimizer.claim), or an LSTMError. */
export function claimOptimizer(opt: unknown, model: object): () => void {
  OPTIMIZERS.check(opt, "options.optimizer");
  return (opt as SGD | Adam).claim(model);
}

function num(name: string, v: unknown, lo: number, hi = Infinity, loOpen = false): number {
  const ok = typeof v === "number" && Number.isFinite(v) && (loOpen ? v > lo : v >= lo) && v <= hi;
  if (!ok) throw new LSTMError(name, `a finite number ${loOpen ? ">" : ">="} ${lo}${hi < Infinity ? ` and <= ${hi}` : ""}`, describe(v));
  return v as number;
}

/** Shared bookkeeping: which block the state belongs to, and the state itself. */
abstract class Optimizer {
  /** @internal */
  protected target: ParamTarget | null = null;
  // The model object itself: a new model may get a disposed one's memory, and must start afresh.
  private owner: object | null = null;
  /** @internal */
  protected state: number[] = [];
  /** Updates taken since the state was (re)created. */
  steps = 0;
  private rate = 0;

  constructor() {
    OPTIMIZERS.add(this);
  }

  /** The learning rate. Writable, e.g. between epochs for a schedule; refused unless finite and > 0. */
  get lr(): number {
    return this.rate;
  }
  set lr(v: number) {
    this.rate = num("lr", v, 0, Infinity, true);
  }

  /**
   * Apply one update from the model's current gradients (a Sequential, LSTM or Linear).
   * The moments live in the model's wasm memory; using the optimizer on another model starts them afresh.
   */
  step(model: Trainable): void {
    OPTIMIZERS.check(this);
    const get = typeof model === "object" && model !== null ? trainables.get(model) : undefined;
    if (!get) throw new LSTMError("model", "a Sequential, LSTM or Linear made by this library", describe(model));
    if (this.fit !== null && this.fit !== model) {
      throw new LSTMError("model", "the model whose fit() is using this optimizer", "another model (one optimizer's moments belong to one model)");
    }
    const t = get(); // throws an LSTMError for a disposed model
    const same = this.owner === model && this.target?.params === t.params && this.target.be === t.be && this.target.total === t.total;
    if (!same) {
      this.bind(t);
      this.owner = model;
      t.onDispose(() => { if (this.owner === model) this.dispose(); });
    }
    this.steps++;
    this.update(t);
  }

  // The model whose running fit() uses this optimizer: another fit, or a step on another model,
  // would switch the moments to that model and back, silently training both wrongly.
  private fit: object | null = null;
  /** @internal Reserve the optimizer for a fit on `model`; returns the release function. */
  claim(model: object): () => void {
    if (this.fit !== null) {
      throw new LSTMError("options.optimizer", "an optimizer no running fit() is using", this.fit === model ? "the optimizer of this model's running fit" : "an optimizer in use by another model's running fit()");
    }
    this.fit = model;
    return () => { this.fit = null; };
  }

  private bind(t: ParamTarget): void {
    this.dispose();
    const n = this.buffers();
    for (let i = 0; i < n; i++) {
      const p = t.be.arena.alloc(t.total * 4, "optimizer state");
      t.be.f32.fill(0, p >>> 2, (p >>> 2) + t.total);
      this.state.push(p);
    }
    this.target = t;
    this.steps = 0;
  }

  /** Forget the moments (the next step starts afresh) and free their memory. */
  dispose(): void {
    OPTIMIZERS.check(this);
    if (this.target) for (const p of this.state) this.target.be.arena.release(p);
    this.state = [];
    this.target = null;
    this.owner = null;
  }

  /** @internal How many moment blocks the update needs. */
  protected abstract buffers(): number;
  /** @internal */
  protected abstract update(t: ParamTarget): void;
}

export interface SGDOptions { lr: number; momentum?: number; dampening?: number; nesterov?: boolean; weightDecay?: number }

/**
 * Stochastic gradient descent as torch.optim.SGD: optional momentum, dampening, Nesterov and L2 weight decay.
 * @example new SGD({ lr: 0.1, momentum: 0.9, nesterov: true })
 */
export class SGD extends Optimizer {
  readonly momentum: number; readonly dampening: number; readonly nesterov: boolean; readonly weightDecay: number;
  constructor(opts: SGDOptions) {
    super();
    checkKeys("options", opts, ["lr", "momentum", "dampening", "nesterov", "weightDecay"]);
    this.lr = num("options.lr", opts.lr, 0, Infinity, true);
    this.momentum = num("options.momentum", opts.momentum ?? 0, 0);
    this.dampening = num("options.dampening", opts.dampening ?? 0, 0, 1);
    this.weightDecay = num("options.weightDecay", opts.weightDecay ?? 0, 0);
    this.nesterov = opts.nesterov ?? false;
    if (typeof this.nesterov !== "boolean") throw new LSTMError("options.nesterov", "a boolean", describe(opts.nesterov));
    if (this.nesterov && (this.momentum === 0 || this.dampening !== 0)) {
      throw new LSTMError("options.nesterov", "momentum > 0 and dampening 0 (as PyTorch requires)", `momentum ${this.momentum}, dampening ${this.dampening}`);
    }
  }
  /** @internal */
  protected buffers(): number { return this.momentum > 0 ? 1 : 0; }
  /** @internal */
  protected update(t: ParamTarget): void {
    t.be.k.sgd_step(t.params, t.grads, this.state[0] ?? 0, t.total, this.lr, this.momentum, this.dampening,
      this.nesterov ? 1 : 0, this.weightDecay, this.steps === 1 ? 1 : 0);
  }
}

export interface AdamOptions { lr?: number; betas?: [number, number]; eps?: number; weightDecay?: number }

/**
 * Adam as torch.optim.Adam (weight decay as L2 added to the gradient).
 * @example new Adam({ lr: 1e-3 })
 */
export class Adam extends Optimizer {
  readonly beta1: number; readonly beta2: number; readonly eps: number; readonly weightDecay: number;
  /** @internal */
  protected readonly decoupled: boolean = false;
  constructor(opts: AdamOptions = {}, defaultDecay = 0) {
    super();
    checkKeys("options", opts, ["lr", "betas", "eps", "weightDecay"]);
    this.lr = num("options.lr", opts.lr ?? 1e-3, 0, Infinity, true);
    const betas = opts.betas ?? [0.9, 0.999];
    if (!Array.isArray(betas) || betas.length !== 2) throw new LSTMError("options.betas", "two numbers in [0, 1)", describe(betas));
    this.beta1 = num("options.betas[0]", betas[0], 0, 0.9999999);
    this.beta2 = num("options.betas[1]", betas[1], 0, 0.9999999);
    this.eps = num("options.eps", opts.eps ?? 1e-8, 0);
    this.weightDecay = num("options.weightDecay", opts.weightDecay ?? defaultDecay, 0);
  }
  /** @internal */
  protected buffers(): number { return 2; }
  /** @internal */
  protected update(t: ParamTarget): void {
    const n = this.steps;
    const bc1 = 1 - this.beta1 ** n, bc2 = Math.sqrt(1 - this.beta2 ** n);
    t.be.k.adam_step(t.params, t.grads, this.state[0], this.state[1], t.total, this.lr / bc1, this.beta1, 1 - this.beta1,
      this.beta2, 1 - this.beta2, this.eps, bc2, this.weightDecay, 1 - this.lr * this.weightDecay, this.decoupled ? 1 : 0);
  }
}

/**
 * AdamW as torch.optim.AdamW: weight decay decoupled from the gradient (p ← p·(1 − lr·wd)), default 0.01.
 * @example new AdamW({ lr: 1e-3, weightDecay: 0.01 })
 */
export class AdamW extends Adam {
  /** @internal */
  protected override readonly decoupled: boolean = true;
  constructor(opts: AdamOptions = {}) {
    super(opts, 0.01);
  }
}

export type { Optimizer };
